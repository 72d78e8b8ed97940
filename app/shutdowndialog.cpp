#include "shutdowndialog.h"

#include <QtCore/QTimer>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QMessageBox>
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
    , m_exitNow(new QPushButton(tr("Exit immediately\u2026"), this))
    , m_hide(new QPushButton(tr("Hide"), this))
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
    m_exitNow->setObjectName(QStringLiteral("exitNowButton"));
    m_hide->setObjectName(QStringLiteral("hideButton"));

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

    // "Exit immediately…" sits on the far left, away from "Stop now" on the right, and only appears once stopping
    // fast: a double click on Stop now (or a second Space) can never turn into an immediate exit.
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_exitNow);
    buttons->addStretch(1);
    buttons->addWidget(m_hide);
    buttons->addWidget(m_stopNow);
    m_exitNow->hide();
    // Neither is the default button: Enter in the dialog must not escalate by accident. Hide is the safe default.
    m_stopNow->setAutoDefault(false);
    m_exitNow->setAutoDefault(false);
    m_hide->setDefault(true);
    m_hide->setToolTip(tr("Hide this window; the shutdown goes on (closing the main window shows it again)"));

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_reasonLabel);
    layout->addLayout(form);
    layout->addWidget(m_phases, 1);
    layout->addWidget(m_hardLabel);
    layout->addLayout(buttons);
    resize(420, 330);

    connect(m_stopNow, &QPushButton::clicked, this, [this] {
        // Only from graceful: a click that lands after the escalation (a double click) does nothing.
        if (m_coordinator->mode() == ShutdownMode::Graceful)
            Q_EMIT stopNowRequested();
    });
    connect(m_exitNow, &QPushButton::clicked, this, &ShutdownDialog::confirmExitImmediately);
    connect(m_hide, &QPushButton::clicked, this, &QDialog::hide);
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
    showAgain();
}

void ShutdownDialog::showAgain()
{
    show();
    raise();
    activateWindow();
    // The focus goes to the harmless button, never to one that escalates: a stray Space or Enter only hides.
    m_hide->setFocus(Qt::ActiveWindowFocusReason);
}

void ShutdownDialog::confirmExitImmediately()
{
    if (m_confirmExit) {
        m_confirmExit->raise();
        m_confirmExit->activateWindow();
        return;
    }
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Exit immediately?"),
                                tr("Exit now, without waiting for the cancelled requests and without the remaining "
                                   "steps?"),
                                QMessageBox::NoButton, this);
    box->setObjectName(QStringLiteral("confirmExitBox"));
    box->setInformativeText(tr("Every accepted request is already saved and runs again on the next start, but the "
                               "next start has to recover the requests that were in progress."));
    QPushButton *exitButton = box->addButton(tr("Exit immediately"), QMessageBox::DestructiveRole);
    exitButton->setObjectName(QStringLiteral("confirmExitButton"));
    QPushButton *cancel = box->addButton(QMessageBox::Cancel);
    // The safe answer is the default: Enter or Space right after the question appears does not exit.
    box->setDefaultButton(cancel);
    box->setEscapeButton(cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    // Non-blocking (open(), not exec()): the quit path goes on while the question is up.
    connect(box, &QMessageBox::finished, this, [this, box, exitButton] {
        if (box->clickedButton() == exitButton && m_coordinator->mode() == ShutdownMode::Fast)
            Q_EMIT exitImmediatelyRequested();
    });
    m_confirmExit = box;
    box->open();
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
    // Hide only: the shutdown it shows goes on regardless, and a repeated close of the window shows it again.
    hide();
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
        m_stopNow->setEnabled(true);
        m_stopNow->setToolTip(tr("Cancel the requests in flight now and save; they run again on the next start"));
        m_exitNow->hide();
        break;
    case ShutdownMode::Fast:
        m_modeLabel->setText(tr("fast \u2014 cancelling the requests in flight"));
        m_stopNow->setText(tr("Stopping now"));
        m_stopNow->setEnabled(false);
        m_exitNow->setToolTip(tr("Exit at once without the remaining steps (asks first); every accepted request is "
                                 "already saved and runs again on the next start"));
        m_exitNow->show();
        // Disabling the focused Stop now would hand the focus on, possibly to "Exit immediately…": keep it safe.
        if (isVisible())
            m_hide->setFocus(Qt::OtherFocusReason);
        break;
    case ShutdownMode::Immediate:
        m_modeLabel->setText(tr("immediate"));
        m_stopNow->setEnabled(false);
        m_exitNow->setEnabled(false);
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
