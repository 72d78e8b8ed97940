#include "shutdowndialog.h"

#include <QtCore/QTimer>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QProgressBar>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>

namespace Quiesce::App {

namespace {

constexpr int kTickMs = 100;
constexpr int kPhaseNameRole = Qt::UserRole + 1;

QString describeReason(const QString &reason)
{
    if (reason == QLatin1StringView("window"))
        return ShutdownDialog::tr("the window was closed");
    if (reason == QLatin1StringView("quit"))
        return ShutdownDialog::tr("File \u2192 Quit");
    if (reason == QLatin1StringView("sigterm"))
        return ShutdownDialog::tr("SIGTERM (a service manager or kill)");
    if (reason == QLatin1StringView("sigint"))
        return ShutdownDialog::tr("SIGINT (Ctrl+C)");
    if (reason == QLatin1StringView("logout"))
        return ShutdownDialog::tr("the session is ending");
    if (reason == QLatin1StringView("idle"))
        return ShutdownDialog::tr("no work left (--exit-when-idle)");
    return reason;
}

QString seconds(qint64 ms)
{
    return ShutdownDialog::tr("%1 s").arg(double(std::max<qint64>(0, ms)) / 1000.0, 0, 'f', 1);
}

} // namespace

ShutdownDialog::ShutdownDialog(ShutdownCoordinator *coordinator, QWidget *parent)
    : QDialog(parent)
    , m_coordinator(coordinator)
    , m_reasonLabel(new QLabel(this))
    , m_modeLabel(new QLabel(this))
    , m_phaseLabel(new QLabel(this))
    , m_workLabel(new QLabel(this))
    , m_drainLabel(new QLabel(this))
    , m_drainBar(new QProgressBar(this))
    , m_hardLabel(new QLabel(this))
    , m_phases(new QListWidget(this))
    , m_stopNow(new QPushButton(tr("Stop now"), this))
    , m_tick(new QTimer(this))
{
    setObjectName(QStringLiteral("shutdownDialog"));
    setWindowTitle(tr("Quiesce \u2014 shutting down"));
    setModal(false);
    m_reasonLabel->setObjectName(QStringLiteral("reasonLabel"));
    m_modeLabel->setObjectName(QStringLiteral("modeLabel"));
    m_phaseLabel->setObjectName(QStringLiteral("phaseLabel"));
    m_workLabel->setObjectName(QStringLiteral("workLabel"));
    m_drainLabel->setObjectName(QStringLiteral("drainLabel"));
    m_drainBar->setObjectName(QStringLiteral("drainBar"));
    m_hardLabel->setObjectName(QStringLiteral("hardLabel"));
    m_phases->setObjectName(QStringLiteral("phaseList"));
    m_stopNow->setObjectName(QStringLiteral("stopNowButton"));

    QFont bold = m_reasonLabel->font();
    bold.setBold(true);
    m_reasonLabel->setFont(bold);
    m_reasonLabel->setWordWrap(true);
    m_hardLabel->setWordWrap(true);
    m_drainBar->setTextVisible(false);
    m_drainBar->setRange(0, 1000);
    m_phases->setSelectionMode(QAbstractItemView::NoSelection);
    m_phases->setFocusPolicy(Qt::NoFocus);

    auto *form = new QFormLayout;
    form->addRow(tr("Mode:"), m_modeLabel);
    form->addRow(tr("Phase:"), m_phaseLabel);
    form->addRow(tr("Work left:"), m_workLabel);
    form->addRow(tr("Drain:"), m_drainLabel);
    form->addRow(QString(), m_drainBar);

    auto *buttons = new QDialogButtonBox(this);
    buttons->addButton(m_stopNow, QDialogButtonBox::DestructiveRole);
    // Not the default button: Enter in the dialog must not escalate by accident.
    m_stopNow->setAutoDefault(false);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_reasonLabel);
    layout->addLayout(form);
    layout->addWidget(m_phases, 1);
    layout->addWidget(m_hardLabel);
    layout->addWidget(buttons);
    resize(420, 330);

    connect(m_stopNow, &QPushButton::clicked, this, &ShutdownDialog::stopNowRequested);
    connect(m_coordinator, &ShutdownCoordinator::phaseStarted, this, &ShutdownDialog::onPhaseStarted);
    connect(m_coordinator, &ShutdownCoordinator::phaseFinished, this, &ShutdownDialog::onPhaseFinished);
    connect(m_coordinator, &ShutdownCoordinator::escalated, this,
            [this](Quiesce::ShutdownMode mode) { onModeChanged(mode); });
    m_tick->setInterval(kTickMs);
    connect(m_tick, &QTimer::timeout, this, &ShutdownDialog::updateCountdowns);
}

ShutdownDialog::~ShutdownDialog() = default;

void ShutdownDialog::begin(const ShutdownRequest &request)
{
    m_reason = request.reason;
    m_reasonLabel->setText(tr("Shutting down: %1").arg(describeReason(request.reason)));
    m_hardDeadline = m_coordinator->hardTimeout().count() > 0 ? QDeadlineTimer(m_coordinator->hardTimeout())
                                                              : QDeadlineTimer(QDeadlineTimer::Forever);
    m_drainBudgetMs = m_coordinator->phaseBudget(QStringLiteral("drain")).count();

    m_phases->clear();
    const QStringList names = m_coordinator->phaseNames();
    for (const QString &name : names) {
        auto *item = new QListWidgetItem(QStringLiteral("\u25cb  %1").arg(name), m_phases);
        item->setData(kPhaseNameRole, name);
        item->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
    }
    // Phases that already ran (the dialog may come up late, e.g. after a confirmation) are shown as they ended.
    const ShutdownReport report = m_coordinator->report();
    for (const PhaseRecord &record : report.phases)
        onPhaseFinished(record);
    m_phase = m_coordinator->currentPhase();
    m_phaseLabel->setText(m_phase.isEmpty() ? tr("starting") : m_phase);
    if (!m_phase.isEmpty()) {
        if (QListWidgetItem *item = phaseItem(m_phase))
            item->setText(QStringLiteral("\u25b6  %1").arg(m_phase));
    }
    onModeChanged(m_coordinator->mode());
    updateCountdowns();
    m_tick->start();
    show();
    raise();
    activateWindow();
}

void ShutdownDialog::setWorkLeft(int inFlight, int queued)
{
    m_workLabel->setText(describeWork(inFlight, queued));
}

QString ShutdownDialog::describeWork(int inFlight, int queued)
{
    const QString flying = inFlight == 1 ? tr("1 request in flight") : tr("%1 requests in flight").arg(inFlight);
    return tr("%1, %2 queued").arg(flying).arg(queued);
}

QString ShutdownDialog::reason() const
{
    return m_reason;
}

QString ShutdownDialog::phase() const
{
    return m_phase;
}

QDeadlineTimer ShutdownDialog::drainDeadline() const
{
    return m_drainDeadline;
}

void ShutdownDialog::reject()
{
    // Deliberately empty: QDialog would hide itself, but the shutdown it shows goes on regardless.
}

void ShutdownDialog::onPhaseStarted(const QString &name, qint64 budgetMs)
{
    m_phase = name;
    m_phaseLabel->setText(name);
    if (QListWidgetItem *item = phaseItem(name)) {
        item->setText(QStringLiteral("\u25b6  %1").arg(name));
        item->setForeground(palette().color(QPalette::Active, QPalette::Text));
        m_phases->scrollToItem(item);
    }
    if (name == QLatin1StringView("drain")) {
        m_drainBudgetMs = budgetMs;
        m_drainDeadline = budgetMs >= 0 ? QDeadlineTimer(budgetMs) : QDeadlineTimer(QDeadlineTimer::Forever);
    }
    updateCountdowns();
}

void ShutdownDialog::onPhaseFinished(const PhaseRecord &record)
{
    if (record.name == m_phase) {
        m_phase.clear();
        m_phaseLabel->setText(tr("%1 ended").arg(record.name));
    }
    if (record.name == QLatin1StringView("drain"))
        m_drainOver = true;
    QString mark;
    switch (record.outcome) {
    case PhaseOutcome::Ok:
        mark = QStringLiteral("\u2713");
        break;
    case PhaseOutcome::Failed:
        mark = QStringLiteral("\u2717");
        break;
    case PhaseOutcome::TimedOut:
        mark = QStringLiteral("\u231b");
        break;
    case PhaseOutcome::Skipped:
        mark = QStringLiteral("\u2013");
        break;
    }
    if (QListWidgetItem *item = phaseItem(record.name)) {
        item->setText(tr("%1  %2 \u2014 %3, %4 ms")
                          .arg(mark, record.name, phaseOutcomeName(record.outcome))
                          .arg(record.elapsedMs));
        item->setForeground(palette().color(QPalette::Active, QPalette::Text));
        if (!record.detail.isEmpty())
            item->setToolTip(record.detail);
    }
    updateCountdowns();
}

void ShutdownDialog::onModeChanged(ShutdownMode mode)
{
    switch (mode) {
    case ShutdownMode::Graceful:
        m_modeLabel->setText(tr("graceful \u2014 the requests in flight may finish"));
        m_stopNow->setText(tr("Stop now"));
        m_stopNow->setToolTip(tr("Cancel the requests in flight now and save (like a second Ctrl+C)"));
        break;
    case ShutdownMode::Fast:
        m_modeLabel->setText(tr("fast \u2014 cancelling the requests in flight"));
        m_stopNow->setText(tr("Exit immediately"));
        m_stopNow->setToolTip(tr("Exit at once without the remaining phases (like a third Ctrl+C); every accepted "
                                 "request is already in the journal and runs again on the next start"));
        break;
    case ShutdownMode::Immediate:
        m_modeLabel->setText(tr("immediate"));
        m_stopNow->setEnabled(false);
        break;
    }
    updateCountdowns();
}

void ShutdownDialog::updateCountdowns()
{
    if (m_drainOver) {
        m_drainLabel->setText(tr("over"));
        m_drainBar->setValue(0);
    } else if (m_coordinator->mode() != ShutdownMode::Graceful) {
        m_drainLabel->setText(tr("cut short (stopping fast)"));
        m_drainBar->setValue(0);
    } else if (m_drainDeadline.isForever()) {
        // Not started yet: show the budget it will get.
        m_drainLabel->setText(m_drainBudgetMs >= 0 ? tr("up to %1 once it starts").arg(seconds(m_drainBudgetMs))
                                                   : tr("no time limit"));
        m_drainBar->setValue(m_drainBar->maximum());
    } else {
        const qint64 left = m_drainDeadline.remainingTime();
        m_drainLabel->setText(tr("deadline in %1").arg(seconds(left)));
        m_drainBar->setValue(m_drainBudgetMs > 0 ? int(m_drainBar->maximum() * left / m_drainBudgetMs) : 0);
    }
    if (m_hardDeadline.isForever())
        m_hardLabel->setText(tr("No hard deadline is set."));
    else
        m_hardLabel->setText(tr("Should the shutdown hang, the watchdog ends the process in %1.")
                                 .arg(seconds(m_hardDeadline.remainingTime())));
}

QListWidgetItem *ShutdownDialog::phaseItem(const QString &name) const
{
    for (int i = 0; i < m_phases->count(); ++i) {
        if (m_phases->item(i)->data(kPhaseNameRole).toString() == name)
            return m_phases->item(i);
    }
    return nullptr;
}

} // namespace Quiesce::App
