#include "shutdowndialog.h"

#include "themecolors.h"
#include "watchdogrecord.h"

#include <QtCore/QEvent>
#include <QtCore/QLocale>
#include <QtCore/QTimer>
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
constexpr int kMarkRole = Qt::UserRole + 2;    // the step's state, to draw its icon again on a palette change
constexpr int kElapsedRole = Qt::UserRole + 3; // how long it took, -1 while not finished
constexpr int kProgressMax = 1000;
// The share of a step's slot in the bar that time alone may fill: the rest fills when the step really ends.
constexpr double kTimeShare = 0.9;

QString headline(const QString &reason)
{
    if (reason == QLatin1StringView("window"))
        return ShutdownDialog::tr("Quiesce is shutting down because its window was closed.");
    if (reason == QLatin1StringView("quit"))
        return ShutdownDialog::tr("Quiesce is shutting down because you chose Quit.");
    if (reason == QLatin1StringView("sigterm"))
        return ShutdownDialog::tr("Quiesce is shutting down because the system asked it to (SIGTERM).");
    if (reason == QLatin1StringView("sigint"))
        return ShutdownDialog::tr("Quiesce is shutting down because it was interrupted (Ctrl+C).");
    if (reason == QLatin1StringView("logout"))
        return ShutdownDialog::tr("Quiesce is shutting down because the session is ending.");
    if (reason == QLatin1StringView("idle"))
        return ShutdownDialog::tr("Quiesce is shutting down because all work is done.");
    return ShutdownDialog::tr("Quiesce is shutting down (%1).").arg(reason);
}

QString seconds(qint64 ms)
{
    // Whole seconds while there are many (the text does not flicker), tenths near the end.
    const double s = double(std::max<qint64>(0, ms)) / 1000.0;
    return ShutdownDialog::tr("%1 s").arg(QLocale().toString(s, 'f', s >= 10 ? 0 : 1));
}

} // namespace

ShutdownDialog::ShutdownDialog(ShutdownCoordinator *coordinator, QWidget *parent)
    : QDialog(parent)
    , m_coordinator(coordinator)
    , m_reasonLabel(new QLabel(this))
    , m_phaseLabel(new QLabel(this))
    , m_modeLabel(new QLabel(this))
    , m_workLabel(new QLabel(this))
    , m_keptLabel(new QLabel(this))
    , m_countdownLabel(new QLabel(this))
    , m_progressBar(new QProgressBar(this))
    , m_overrunLabel(new QLabel(this))
    , m_endLabel(new QLabel(this))
    , m_phases(new QListWidget(this))
    , m_stopNow(new QPushButton(tr("Stop now"), this))
    , m_exitNow(new QPushButton(tr("Exit immediately\u2026"), this))
    , m_hide(new QPushButton(tr("Hide"), this))
    , m_tick(new QTimer(this))
{
    setObjectName(QStringLiteral("shutdownDialog"));
    setWindowTitle(tr("Quiesce \u2014 shutting down"));
    setModal(false);
    // A title and a close button (which hides it), no minimize or maximize: it is a transient report.
    setWindowFlags(Qt::Dialog | Qt::CustomizeWindowHint | Qt::WindowTitleHint | Qt::WindowCloseButtonHint);
    m_reasonLabel->setObjectName(QStringLiteral("reasonLabel"));
    m_phaseLabel->setObjectName(QStringLiteral("phaseLabel"));
    m_modeLabel->setObjectName(QStringLiteral("modeLabel"));
    m_workLabel->setObjectName(QStringLiteral("workLabel"));
    m_keptLabel->setObjectName(QStringLiteral("keptLabel"));
    m_countdownLabel->setObjectName(QStringLiteral("countdownLabel"));
    m_progressBar->setObjectName(QStringLiteral("progressBar"));
    m_overrunLabel->setObjectName(QStringLiteral("overrunLabel"));
    m_endLabel->setObjectName(QStringLiteral("endLabel"));
    m_phases->setObjectName(QStringLiteral("phaseList"));
    m_stopNow->setObjectName(QStringLiteral("stopNowButton"));
    m_exitNow->setObjectName(QStringLiteral("exitNowButton"));
    m_hide->setObjectName(QStringLiteral("hideButton"));

    QFont bold = m_reasonLabel->font();
    bold.setBold(true);
    m_reasonLabel->setFont(bold);
    m_endLabel->setFont(bold);
    for (QLabel *label :
         {m_reasonLabel, m_phaseLabel, m_modeLabel, m_workLabel, m_keptLabel, m_overrunLabel, m_endLabel}) {
        label->setWordWrap(true);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    }
    // The countdown never wraps: a wrap point moving with every tick makes the dialog jump.
    m_countdownLabel->setWordWrap(false);
    m_overrunLabel->hide();
    m_endLabel->hide();
    m_progressBar->setRange(0, kProgressMax);
    m_progressBar->setValue(0);
    m_progressBar->setTextVisible(false);
    m_progressBar->setAccessibleName(tr("Shutdown progress"));
    m_phases->setAccessibleName(tr("Shutdown steps"));
    m_phases->setSelectionMode(QAbstractItemView::NoSelection);
    m_phases->setFocusPolicy(Qt::NoFocus);
    // As tall as its steps: the list is never cut, whatever the font size.
    m_phases->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    m_phases->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_phases->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
    m_phases->setFrameShape(QFrame::NoFrame);
    // One line per step, never a horizontal scroll bar and never "…": a step's text longer than the dialog is
    // wide ("… took too long (1.0 s)" at the default font) makes the dialog wider (setMark()).
    m_phases->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_phases->setTextElideMode(Qt::ElideNone);
    m_phases->setIconSize(Theme::markIconSize(fontMetrics()));

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
    layout->addWidget(m_phaseLabel);
    layout->addWidget(m_modeLabel);
    layout->addWidget(m_workLabel);
    layout->addWidget(m_keptLabel);
    layout->addWidget(m_progressBar);
    layout->addWidget(m_countdownLabel);
    layout->addWidget(m_overrunLabel);
    layout->addWidget(m_endLabel);
    layout->addWidget(m_phases);
    layout->addStretch(1);
    layout->addLayout(buttons);
    // Sized by its content (no fixed size): at least wide enough for a readable line, as tall as it needs.
    layout->setSizeConstraint(QLayout::SetMinimumSize);
    setMinimumWidth(fontMetrics().averageCharWidth() * 62);

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
    connect(m_coordinator, &ShutdownCoordinator::finished, this, [this] {
        m_progress = kProgressMax;
        refresh();
    });
    m_tick->setInterval(kTickMs);
    connect(m_tick, &QTimer::timeout, this, &ShutdownDialog::refresh);
}

ShutdownDialog::~ShutdownDialog() = default;

QString ShutdownDialog::humanPhaseName(const QString &phase)
{
    if (phase == QLatin1StringView("pre-stop"))
        return tr("Running the pre-stop command");
    if (phase == QLatin1StringView("stop-intake"))
        return tr("Accepting no new requests");
    if (phase == QLatin1StringView("drain"))
        return tr("Finishing requests in progress");
    if (phase == QLatin1StringView("cancel"))
        return tr("Cancelling requests in progress");
    if (phase == QLatin1StringView("save"))
        return tr("Saving");
    if (phase == QLatin1StringView("stop-threads"))
        return tr("Stopping the workers");
    return phase;
}

void ShutdownDialog::begin(const ShutdownRequest &request)
{
    m_reason = request.reason;
    m_reasonLabel->setText(headline(request.reason));
    m_hardDeadline = m_coordinator->hardTimeout().count() > 0 ? QDeadlineTimer(m_coordinator->hardTimeout())
                                                              : QDeadlineTimer(QDeadlineTimer::Forever);
    m_drainBudgetMs = m_coordinator->phaseBudget(QStringLiteral("drain")).count();

    m_phases->clear();
    m_phasesDone = 0;
    const QStringList names = m_coordinator->phaseNames();
    for (const QString &name : names) {
        auto *item = new QListWidgetItem(m_phases);
        item->setData(kPhaseNameRole, name);
        setMark(item, Mark::Pending);
    }
    // Phases that already ran (the dialog may come up late, e.g. after a confirmation) are shown as they ended.
    const ShutdownReport report = m_coordinator->report();
    for (const PhaseRecord &record : report.phases)
        onPhaseFinished(record);
    m_phase = m_coordinator->currentPhase();
    if (!m_phase.isEmpty()) {
        m_phaseClock.start();
        m_phaseBudgetMs = m_coordinator->phaseBudget(m_phase).count();
        if (QListWidgetItem *item = phaseItem(m_phase))
            setMark(item, Mark::Running);
    }
    onModeChanged(m_coordinator->mode());
    m_tick->start();
    adjustSize();
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
    m_inFlight = inFlight;
    m_queued = queued;
    refresh();
}

void ShutdownDialog::setWorkers(const QList<WorkerSnapshot> &workers)
{
    m_workers = workers;
}

QString ShutdownDialog::describeWork(int inFlight, int queued)
{
    return tr("%1, %2").arg(tr("%Ln request(s) in progress", nullptr, inFlight), tr("%Ln queued", nullptr, queued));
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
    m_phaseClock.start();
    m_phaseBudgetMs = budgetMs;
    if (QListWidgetItem *item = phaseItem(name))
        setMark(item, Mark::Running);
    if (name == QLatin1StringView("drain")) {
        m_drainBudgetMs = budgetMs;
        m_drainDeadline = budgetMs >= 0 ? QDeadlineTimer(budgetMs) : QDeadlineTimer(QDeadlineTimer::Forever);
    }
    refresh();
}

void ShutdownDialog::onPhaseFinished(const PhaseRecord &record)
{
    if (record.name == m_phase)
        m_phase.clear();
    if (record.name == QLatin1StringView("drain"))
        m_drainOver = true;
    ++m_phasesDone;
    Mark mark = Mark::Done;
    switch (record.outcome) {
    case PhaseOutcome::Ok:
        break;
    case PhaseOutcome::Failed:
        mark = Mark::Failed;
        break;
    case PhaseOutcome::TimedOut:
        mark = Mark::TimedOut;
        if (m_overrunPhase.isEmpty())
            m_overrunPhase = record.name;
        break;
    case PhaseOutcome::Skipped:
        mark = Mark::Skipped;
        break;
    }
    if (QListWidgetItem *item = phaseItem(record.name)) {
        setMark(item, mark, record.elapsedMs);
        // The technical detail (and the phase's own name) stays available for those who look for it.
        item->setToolTip(record.detail.isEmpty() ? record.name
                                                 : QStringLiteral("%1: %2").arg(record.name, record.detail));
    }
    refresh();
}

void ShutdownDialog::setMark(QListWidgetItem *item, Mark mark, qint64 elapsedMs)
{
    item->setData(kMarkRole, int(mark));
    item->setData(kElapsedRole, elapsedMs);
    const QString name = humanPhaseName(item->data(kPhaseNameRole).toString());
    QString state;
    Theme::Mark icon = Theme::Mark::Pending;
    switch (mark) {
    case Mark::Pending:
        state = tr("to do");
        break;
    case Mark::Running:
        state = tr("now");
        icon = Theme::Mark::Running;
        break;
    case Mark::Done:
        state = tr("done");
        icon = Theme::Mark::Done;
        break;
    case Mark::TimedOut:
        state = tr("took too long");
        icon = Theme::Mark::Warning;
        break;
    case Mark::Failed:
        state = tr("failed");
        icon = Theme::Mark::Failed;
        break;
    case Mark::Skipped:
        state = tr("not needed");
        icon = Theme::Mark::Skipped;
        break;
    }
    // Icons of one size (no glyphs: ⌛ is missing from most fonts, ✓ ▶ differ in width), and a text that says
    // the state in words, so a screen reader reads "Saving: done", not "check mark".
    item->setIcon(Theme::markIcon(icon, palette(), m_phases->iconSize()));
    item->setData(Qt::AccessibleTextRole, tr("%1: %2").arg(name, state));
    if (mark == Mark::Pending)
        item->setText(name);
    else if (elapsedMs < 0)
        item->setText(tr("%1 \u2014 %2").arg(name, state));
    else
        item->setText(tr("%1 \u2014 %2 (%3)").arg(name, state, seconds(elapsedMs)));
    // The whole text on its line: the dialog grows to the widest step (icon, the delegate's margins with room to
    // spare, the layout's margins), never cutting it with "…".
    const QMargins margins = layout() ? layout()->contentsMargins() : QMargins();
    const int rowWidth = m_phases->fontMetrics().horizontalAdvance(item->text()) + m_phases->iconSize().width()
        + 3 * m_phases->fontMetrics().averageCharWidth() + 2 * m_phases->frameWidth();
    const int needed = rowWidth + margins.left() + margins.right();
    if (minimumWidth() < needed)
        setMinimumWidth(needed);
    // Steps to come are dimmer, yet readable (Qt's placeholder colour is translucent and may be too faint).
    const QColor base = palette().color(QPalette::Base);
    item->setForeground(mark == Mark::Pending ? Theme::readable(palette().color(QPalette::PlaceholderText), base, 4.5)
                                              : palette().color(QPalette::Text));
}

void ShutdownDialog::changeEvent(QEvent *event)
{
    QDialog::changeEvent(event);
    // The marks are drawn in the palette's colours: a light ↔ dark switch draws them again.
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) {
        for (int i = 0; i < m_phases->count(); ++i) {
            QListWidgetItem *item = m_phases->item(i);
            setMark(item, Mark(item->data(kMarkRole).toInt()), item->data(kElapsedRole).toLongLong());
        }
    }
}

void ShutdownDialog::onModeChanged(ShutdownMode mode)
{
    switch (mode) {
    case ShutdownMode::Graceful:
        m_stopNow->setText(tr("Stop now"));
        m_stopNow->setEnabled(true);
        m_stopNow->setToolTip(
            tr("Cancel the requests in progress now and save them; they run again first on the next start"));
        m_exitNow->hide();
        break;
    case ShutdownMode::Fast:
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
        m_stopNow->setEnabled(false);
        m_exitNow->setEnabled(false);
        break;
    }
    refresh();
}

void ShutdownDialog::refresh()
{
    const bool finished = m_coordinator->isFinished();
    const ShutdownMode mode = m_coordinator->mode();

    // What is happening now, in words.
    QString now;
    if (finished)
        now = tr("Done. Quiesce ends now.");
    else if (!m_phase.isEmpty())
        now = tr("Now: %1.").arg(humanPhaseName(m_phase));
    else if (m_phasesDone == 0)
        now = tr("Now: getting ready to stop.");
    else
        now = m_phaseLabel->text();
    if (m_phaseLabel->text() != now)
        m_phaseLabel->setText(now);

    // How the requests in progress fare: they may finish, until the time for that is up or a stop asked for speed.
    QString how;
    if (mode == ShutdownMode::Immediate)
        how = tr("Exiting immediately.");
    else if (mode == ShutdownMode::Fast)
        how = tr("Stopping now: requests in progress are cancelled, saved and run again first on the next start.");
    else if (m_drainOver)
        how = tr("The time for the requests in progress is up: they are cancelled, saved and run again first on the "
                 "next start.");
    else
        how = tr("Requests in progress may finish. Nothing new is accepted.");
    if (m_modeLabel->text() != how)
        m_modeLabel->setText(how);

    const QString work = m_inFlight > 0 ? tr("%Ln request(s) still in progress.", nullptr, m_inFlight)
                                        : tr("No request is in progress.");
    if (m_workLabel->text() != work)
        m_workLabel->setText(work);
    // Queued requests are not worked off before exiting: they are kept and run first next time.
    const QString kept = m_queued > 0
        ? tr("%Ln queued request(s) are saved and run first next time.", nullptr, m_queued)
        : tr("No request is waiting in the queue.");
    if (m_keptLabel->text() != kept)
        m_keptLabel->setText(kept);

    // The one countdown: the drain's while it runs; the watchdog's once a step has overrun.
    const qint64 phaseElapsed = m_phaseClock.isValid() ? m_phaseClock.elapsed() : 0;
    const bool overrunNow = !m_phase.isEmpty() && m_phaseBudgetMs > 0 && phaseElapsed > m_phaseBudgetMs;
    const QString overrunPhase = !m_overrunPhase.isEmpty() ? m_overrunPhase : overrunNow ? m_phase : QString();
    const WorkerSnapshot *stuck = overrunPhase.isEmpty() ? nullptr : stuckWorker(m_workers);
    QString countdown;
    if (finished || mode == ShutdownMode::Immediate) {
        countdown.clear();
    } else if (m_phase == QLatin1StringView("drain") && mode == ShutdownMode::Graceful
               && !m_drainDeadline.isForever()) {
        countdown =
            tr("Waiting up to %1 more for the requests in progress.").arg(seconds(m_drainDeadline.remainingTime()));
    } else if (m_phasesDone == 0 && m_phase.isEmpty() && mode == ShutdownMode::Graceful && m_drainBudgetMs > 0) {
        countdown = tr("Requests in progress get up to %1 to finish.").arg(seconds(m_drainBudgetMs));
    }
    m_countdownLabel->setVisible(!countdown.isEmpty());
    if (m_countdownLabel->text() != countdown)
        m_countdownLabel->setText(countdown);

    QString overrun;
    if (!overrunPhase.isEmpty() && !finished) {
        overrun = tr("\u201c%1\u201d took longer than allowed.").arg(humanPhaseName(overrunPhase));
        if (stuck) {
            overrun += QLatin1Char(' ')
                + (stuck->hung ? tr("Request %1 on worker %2 does not respond.")
                               : tr("Request %1 on worker %2 is still running."))
                      .arg(QLocale().toString(stuck->jobId), stuck->threadName);
        }
    }
    m_overrunLabel->setVisible(!overrun.isEmpty());
    if (m_overrunLabel->text() != overrun)
        m_overrunLabel->setText(overrun);

    // Before the watchdog acts: say plainly that the app ends now and that nothing accepted is lost.
    QString end;
    if (stuck && !finished && mode != ShutdownMode::Immediate) {
        const QString id = QLocale().toString(stuck->jobId);
        end = m_hardDeadline.isForever()
            ? tr("Quiesce cannot stop request %1; it ends once the request does. Nothing accepted is lost.").arg(id)
            : tr("Quiesce will now end within %1 without waiting for request %2. Nothing accepted is lost: it is "
                 "saved and runs again first next time.")
                  .arg(seconds(m_hardDeadline.remainingTime()), id);
    }
    m_endLabel->setVisible(!end.isEmpty());
    if (m_endLabel->text() != end)
        m_endLabel->setText(end);

    // The bar fills: finished steps, plus the running step's share by time (never more than most of its slot).
    const int steps = std::max(1, m_phases->count());
    double fraction = 0;
    if (!m_phase.isEmpty() && m_phaseBudgetMs > 0)
        fraction = std::min(kTimeShare, double(phaseElapsed) / double(m_phaseBudgetMs));
    const int value = finished ? kProgressMax : int(kProgressMax * (m_phasesDone + fraction) / steps);
    m_progress = std::clamp(value, m_progress, kProgressMax);
    m_progressBar->setValue(m_progress);
    m_progressBar->setAccessibleDescription(tr("%1 %").arg(QLocale().toString(m_progress / (kProgressMax / 100))));
    // Lines that appear (an overrun, the end) or wrap differently need more height: grow, never cut the step list.
    // (A word-wrapped label's height depends on the width, which the layout's minimum size does not account for.)
    if (isVisible() && layout()) {
        const int needed = layout()->hasHeightForWidth() ? layout()->totalHeightForWidth(width()) : sizeHint().height();
        if (height() < needed)
            resize(width(), needed);
    }
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
