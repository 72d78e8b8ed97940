#include "shutdowncoordinator.h"

#include "shutdownwatchdog_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QJsonArray>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <csignal>
#include <limits>

#include <unistd.h>

namespace Quiesce {

namespace {

// Keeps a SHUTDOWN line one line whatever a hook puts in its detail.
QString oneLine(QString text)
{
    text.replace(QLatin1Char('\n'), QLatin1Char(' ')).replace(QLatin1Char('\r'), QLatin1Char(' '));
    return text;
}

void defaultImmediateExit(int code)
{
    flushStdioWithoutWaiting();
    ::_exit(code);
}

ShutdownMode modeFromName(const QString &name)
{
    if (name == QLatin1StringView("fast"))
        return ShutdownMode::Fast;
    if (name == QLatin1StringView("immediate"))
        return ShutdownMode::Immediate;
    return ShutdownMode::Graceful;
}

PhaseOutcome outcomeFromName(const QString &name)
{
    if (name == QLatin1StringView("failed"))
        return PhaseOutcome::Failed;
    if (name == QLatin1StringView("timed-out"))
        return PhaseOutcome::TimedOut;
    if (name == QLatin1StringView("skipped"))
        return PhaseOutcome::Skipped;
    return PhaseOutcome::Ok;
}

} // namespace

QString shutdownModeName(ShutdownMode mode)
{
    switch (mode) {
    case ShutdownMode::Graceful:
        return QStringLiteral("graceful");
    case ShutdownMode::Fast:
        return QStringLiteral("fast");
    case ShutdownMode::Immediate:
        return QStringLiteral("immediate");
    }
    return QStringLiteral("graceful");
}

QString phaseOutcomeName(PhaseOutcome outcome)
{
    switch (outcome) {
    case PhaseOutcome::Ok:
        return QStringLiteral("ok");
    case PhaseOutcome::Failed:
        return QStringLiteral("failed");
    case PhaseOutcome::TimedOut:
        return QStringLiteral("timed-out");
    case PhaseOutcome::Skipped:
        return QStringLiteral("skipped");
    }
    return QStringLiteral("ok");
}

QString ShutdownReport::summary() const
{
    QStringList parts;
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
        parts << QStringLiteral("%1=%2").arg(it.key()).arg(it.value());
    return parts.join(QLatin1Char(' '));
}

QJsonObject ShutdownReport::toJson() const
{
    QJsonArray phaseArray;
    for (const PhaseRecord &phase : phases) {
        QJsonObject entry {
            {QStringLiteral("name"), phase.name},
            {QStringLiteral("ms"), phase.elapsedMs},
            {QStringLiteral("outcome"), phaseOutcomeName(phase.outcome)},
        };
        if (!phase.detail.isEmpty())
            entry.insert(QStringLiteral("detail"), phase.detail);
        phaseArray.append(entry);
    }
    QJsonObject countObject;
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
        countObject.insert(it.key(), it.value());
    return QJsonObject {
        {QStringLiteral("reason"), request.reason},
        {QStringLiteral("signo"), request.signo},
        {QStringLiteral("sender"), request.senderPid},
        {QStringLiteral("mode"), shutdownModeName(mode)},
        {QStringLiteral("phases"), phaseArray},
        {QStringLiteral("counts"), countObject},
        {QStringLiteral("exit"), exitCode},
        {QStringLiteral("requests"), requests},
    };
}

ShutdownReport ShutdownReport::fromJson(const QJsonObject &json)
{
    ShutdownReport report;
    report.request.reason = json.value(QStringLiteral("reason")).toString();
    report.request.signo = json.value(QStringLiteral("signo")).toInt();
    report.request.senderPid = json.value(QStringLiteral("sender")).toInteger();
    report.mode = modeFromName(json.value(QStringLiteral("mode")).toString());
    const QJsonArray phaseArray = json.value(QStringLiteral("phases")).toArray();
    for (const QJsonValue &value : phaseArray) {
        const QJsonObject entry = value.toObject();
        PhaseRecord record;
        record.name = entry.value(QStringLiteral("name")).toString();
        record.elapsedMs = entry.value(QStringLiteral("ms")).toInteger();
        record.outcome = outcomeFromName(entry.value(QStringLiteral("outcome")).toString());
        record.detail = entry.value(QStringLiteral("detail")).toString();
        report.phases.append(record);
    }
    const QJsonObject countObject = json.value(QStringLiteral("counts")).toObject();
    for (auto it = countObject.constBegin(); it != countObject.constEnd(); ++it)
        report.counts.insert(it.key(), it.value().toInteger());
    report.exitCode = json.value(QStringLiteral("exit")).toInt();
    report.requests = json.value(QStringLiteral("requests")).toInt();
    return report;
}

// ---------------------------------------------------------------------------------------------------------------

ShutdownPhaseContext::ShutdownPhaseContext(ShutdownCoordinator *coordinator, const QString &name,
                                           QDeadlineTimer deadline)
    : QObject(coordinator)
    , m_coordinator(coordinator)
    , m_name(name)
    , m_deadline(deadline)
{}

ShutdownPhaseContext::~ShutdownPhaseContext() = default;

QString ShutdownPhaseContext::phaseName() const
{
    return m_name;
}

ShutdownMode ShutdownPhaseContext::mode() const
{
    return m_coordinator->mode();
}

QDeadlineTimer ShutdownPhaseContext::deadline() const
{
    return m_deadline;
}

const ShutdownReport &ShutdownPhaseContext::report() const
{
    return m_coordinator->m_report;
}

bool ShutdownPhaseContext::isFinished() const
{
    return m_finished;
}

void ShutdownPhaseContext::setCount(const QString &key, qint64 value)
{
    if (QThread::currentThread() != thread()) {
        QMetaObject::invokeMethod(
            this, [this, key, value] { setCount(key, value); }, Qt::QueuedConnection);
        return;
    }
    m_coordinator->m_report.counts.insert(key, value);
}

void ShutdownPhaseContext::complete(const QString &detail)
{
    finish(PhaseOutcome::Ok, 0, detail);
}

void ShutdownPhaseContext::fail(int exitCode, const QString &detail)
{
    finish(PhaseOutcome::Failed, exitCode, detail);
}

void ShutdownPhaseContext::skip(const QString &detail)
{
    finish(PhaseOutcome::Skipped, 0, detail);
}

void ShutdownPhaseContext::finish(PhaseOutcome outcome, int exitCode, const QString &detail)
{
    if (QThread::currentThread() != thread()) {
        // A worker thread ended the phase: the state machine is the main thread's alone.
        QMetaObject::invokeMethod(
            this, [this, outcome, exitCode, detail] { finish(outcome, exitCode, detail); }, Qt::QueuedConnection);
        return;
    }
    if (m_finished)
        return; // a second call, or a late one after the budget ran out: the phase already ended
    m_finished = true;
    m_coordinator->onPhaseFinished(this, outcome, exitCode, detail);
}

// ---------------------------------------------------------------------------------------------------------------

struct ShutdownCoordinator::Phase
{
    QString name;
    int order = 0;
    std::chrono::milliseconds budget {0};
    PhaseHook hook;
    int timeoutExitCode = 0;
};

ShutdownCoordinator::ShutdownCoordinator(QObject *parent)
    : QObject(parent)
    , m_budgetTimer(new QTimer(this))
    , m_exit([](int code) { QCoreApplication::exit(code); })
    , m_immediateExit(&defaultImmediateExit)
    , m_directFd(STDOUT_FILENO)
{
    m_budgetTimer->setSingleShot(true);
    // Precise: a coarse timer may be 5 % late, half a second on a 10 s drain budget.
    m_budgetTimer->setTimerType(Qt::PreciseTimer);
    connect(m_budgetTimer, &QTimer::timeout, this, &ShutdownCoordinator::onBudgetExpired);
}

ShutdownCoordinator::~ShutdownCoordinator()
{
    stopWatchdog();
}

bool ShutdownCoordinator::addPhase(const QString &name, int order, std::chrono::milliseconds budget, PhaseHook hook)
{
    if (m_state != State::Idle) {
        qWarning("Quiesce: phase %s added after the shutdown began; ignored", qPrintable(name));
        return false;
    }
    const bool exists =
        std::any_of(m_phases.cbegin(), m_phases.cend(), [&name](const Phase &phase) { return phase.name == name; });
    if (exists || name.isEmpty()) {
        qWarning("Quiesce: phase name \"%s\" is empty or taken; ignored", qPrintable(name));
        return false;
    }
    m_phases.append(Phase {name, order, budget, std::move(hook), 0});
    // Stable: equal orders keep the order in which they were added.
    std::stable_sort(m_phases.begin(), m_phases.end(),
                     [](const Phase &a, const Phase &b) { return a.order < b.order; });
    return true;
}

bool ShutdownCoordinator::setPhaseBudget(const QString &name, std::chrono::milliseconds budget)
{
    for (Phase &phase : m_phases) {
        if (phase.name == name) {
            phase.budget = budget;
            return true;
        }
    }
    return false;
}

std::chrono::milliseconds ShutdownCoordinator::phaseBudget(const QString &name) const
{
    for (const Phase &phase : m_phases) {
        if (phase.name == name)
            return phase.budget;
    }
    return NoBudget;
}

bool ShutdownCoordinator::setPhaseTimeoutExitCode(const QString &name, int exitCode)
{
    for (Phase &phase : m_phases) {
        if (phase.name == name) {
            phase.timeoutExitCode = exitCode;
            return true;
        }
    }
    return false;
}

int ShutdownCoordinator::phaseTimeoutExitCode(const QString &name) const
{
    for (const Phase &phase : m_phases) {
        if (phase.name == name)
            return phase.timeoutExitCode;
    }
    return 0;
}

QStringList ShutdownCoordinator::phaseNames() const
{
    QStringList names;
    for (const Phase &phase : m_phases)
        names.append(phase.name);
    return names;
}

void ShutdownCoordinator::setHardTimeout(std::chrono::milliseconds timeout)
{
    m_hardTimeout = timeout;
}

std::chrono::milliseconds ShutdownCoordinator::hardTimeout() const
{
    return m_hardTimeout;
}

void ShutdownCoordinator::setDiagnostics(std::function<QString()> provider)
{
    m_diagnostics = std::move(provider);
}

void ShutdownCoordinator::setExitFunction(std::function<void(int)> exit)
{
    m_exit = std::move(exit);
}

void ShutdownCoordinator::setImmediateExitFunction(std::function<void(int)> exit)
{
    m_immediateExit = std::move(exit);
}

void ShutdownCoordinator::setOutput(std::function<void(const QString &)> sink)
{
    m_output = std::move(sink);
}

void ShutdownCoordinator::setDirectOutputFd(int fd)
{
    m_directFd = fd;
}

int ShutdownCoordinator::directOutputFd() const
{
    return m_directFd;
}

void ShutdownCoordinator::setReady()
{
    m_ready = true;
    if (m_state == State::Pending)
        scheduleAdvance(); // the sticky request: runs once the event loop gets to it
}

bool ShutdownCoordinator::isReady() const
{
    return m_ready;
}

bool ShutdownCoordinator::requestShutdown(const ShutdownRequest &request)
{
    if (!isOwnThread()) {
        QMetaObject::invokeMethod(
            this, [this, request] { requestShutdown(request); }, Qt::QueuedConnection);
        return true;
    }

    switch (m_state) {
    case State::Finished:
        return false;

    case State::Idle:
        m_state = State::Pending;
        m_mode = ShutdownMode::Graceful;
        m_report.request = request;
        m_report.mode = m_mode;
        m_report.requests = 1;
        // The hard deadline counts from the first request, even one that waits for startup to finish.
        startWatchdog();
        emitLine(QStringLiteral("SHUTDOWN begin reason=%1 sender=%2 mode=graceful")
                     .arg(request.reason)
                     .arg(request.senderPid));
        emitLine(QStringLiteral("SHUTDOWN hint: send the signal again (Ctrl+C) to stop fast, "
                                "a third time to exit immediately"));
        Q_EMIT shutdownStarted(request);
        // Never run the phases inside the caller (a signal slot, closeEvent, a hook): always from the loop.
        if (m_ready && m_state == State::Pending)
            scheduleAdvance();
        return true;

    case State::Pending:
    case State::Running:
        ++m_report.requests;
        if (m_mode == ShutdownMode::Graceful) {
            m_mode = ShutdownMode::Fast;
            m_report.mode = m_mode;
            emitLine(QStringLiteral("SHUTDOWN escalate mode=fast reason=%1 sender=%2")
                         .arg(request.reason)
                         .arg(request.senderPid));
            Q_EMIT escalated(m_mode, request);
            // The running phase decides what fast means for it (the drain completes at once). A hook that ends
            // its phase from here is recorded now and the machine moves on from the event loop.
            if (m_context != nullptr && !m_context->isFinished() && m_mode == ShutdownMode::Fast)
                Q_EMIT m_context->modeChanged(m_mode);
            return true;
        }
        exitImmediately(request);
        return true;
    }
    return false;
}

bool ShutdownCoordinator::isShuttingDown() const
{
    return m_state != State::Idle;
}

bool ShutdownCoordinator::isFinished() const
{
    return m_state == State::Finished;
}

ShutdownMode ShutdownCoordinator::mode() const
{
    return m_mode;
}

QString ShutdownCoordinator::currentPhase() const
{
    return m_context != nullptr ? m_context->phaseName() : QString();
}

ShutdownReport ShutdownCoordinator::report() const
{
    return m_report;
}

int ShutdownCoordinator::exitCode() const
{
    if (m_watchdog && m_watchdog->hasFired())
        return ExitHardTimeout;
    return m_report.exitCode;
}

void ShutdownCoordinator::scheduleAdvance()
{
    if (m_advanceScheduled)
        return;
    m_advanceScheduled = true;
    // Queued: runs only once the event loop runs (so a request made before exec() waits for it), and never inside
    // whoever completed a phase or asked to stop.
    QMetaObject::invokeMethod(
        this, [this] { advance(); }, Qt::QueuedConnection);
}

void ShutdownCoordinator::advance()
{
    m_advanceScheduled = false;
    if (m_inAdvance || !m_ready)
        return;
    if (m_state == State::Pending)
        m_state = State::Running;
    m_inAdvance = true;
    // One step at a time until a phase waits for its hook: hooks that complete synchronously run back to back
    // without recursion. A hook, or a slot of our signals, may end the machine (immediate exit): check each time.
    while (m_state == State::Running) {
        if (m_context != nullptr) {
            if (!m_phaseEnded)
                break; // the hook completes later, or the budget timer ends the phase
            endCurrentPhase();
            continue;
        }
        if (m_watchdog && m_watchdog->hasFired()) {
            m_state = State::Finished; // the watchdog ends the process; nothing more to run
            break;
        }
        if (!startNextPhase())
            finishShutdown();
    }
    m_inAdvance = false;
}

bool ShutdownCoordinator::startNextPhase()
{
    ++m_phaseIndex;
    if (m_phaseIndex >= m_phases.size())
        return false;
    const Phase phase = m_phases.at(m_phaseIndex); // a copy: a hook must not see its own entry move
    const qint64 budgetMs = phase.budget.count() < 0 ? -1 : qint64(phase.budget.count());
    const QDeadlineTimer deadline =
        budgetMs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(budgetMs, Qt::PreciseTimer);

    m_context = new ShutdownPhaseContext(this, phase.name, deadline);
    m_phaseEnded = false;
    m_pendingOutcome = PhaseOutcome::Ok;
    m_pendingDetail.clear();
    m_pendingElapsedMs = 0;
    m_phaseClock.start();
    if (m_watchdog)
        m_watchdog->setPhase(phase.name);

    emitLine(QStringLiteral("SHUTDOWN phase=%1 begin budget_ms=%2").arg(phase.name).arg(budgetMs));
    Q_EMIT phaseStarted(phase.name, budgetMs);
    if (m_state != State::Running || m_context == nullptr)
        return true; // a slot exited immediately; advance() stops

    if (budgetMs >= 0) {
        // QTimer takes an int: a budget beyond 24 days is as good as none.
        m_budgetTimer->start(int(std::min<qint64>(budgetMs, std::numeric_limits<int>::max())));
    }
    if (phase.hook)
        phase.hook(m_context);
    else
        m_context->skip();
    return true;
}

void ShutdownCoordinator::endCurrentPhase()
{
    PhaseRecord record;
    record.name = m_context->phaseName();
    record.elapsedMs = m_pendingElapsedMs;
    record.outcome = m_pendingOutcome;
    record.detail = m_pendingDetail;
    m_report.phases.append(record);
    // The context stays alive (a child of ours) so that a late complete() from a hook is safe and ignored.
    m_context = nullptr;
    m_phaseEnded = false;

    QString line = QStringLiteral("SHUTDOWN phase=%1 end outcome=%2 ms=%3")
                       .arg(record.name, phaseOutcomeName(record.outcome))
                       .arg(record.elapsedMs);
    if (!record.detail.isEmpty())
        line += QStringLiteral(" detail=") + oneLine(record.detail);
    emitLine(line);
    Q_EMIT phaseFinished(record);
}

void ShutdownCoordinator::onPhaseFinished(ShutdownPhaseContext *context, PhaseOutcome outcome, int exitCode,
                                          const QString &detail)
{
    if (context != m_context || m_phaseEnded || m_state != State::Running)
        return;
    m_budgetTimer->stop();
    m_phaseEnded = true;
    m_pendingOutcome = outcome;
    m_pendingDetail = detail;
    m_pendingElapsedMs = m_phaseClock.elapsed();
    // The first failure is the root cause; what fails after it is usually a consequence.
    if (outcome == PhaseOutcome::Failed && exitCode != 0 && m_report.exitCode == 0)
        m_report.exitCode = exitCode;
    if (!m_inAdvance)
        scheduleAdvance();
}

void ShutdownCoordinator::onBudgetExpired()
{
    if (m_context == nullptr || m_phaseEnded)
        return;
    // Mark the context first: the hook's late complete() must be ignored, not end the next phase.
    ShutdownPhaseContext *context = m_context;
    context->m_finished = true;
    // The entry that is running (m_phases is fixed once the shutdown began); a copy was handed to the hook.
    const Phase &phase = m_phases.at(m_phaseIndex);
    if (phase.timeoutExitCode == 0) {
        onPhaseFinished(context, PhaseOutcome::TimedOut, 0, QString());
        return;
    }
    // A timeout that breaks a promise (an unfinished save) is a failure of the shutdown, not just a slow phase.
    if (m_report.exitCode == 0)
        m_report.exitCode = phase.timeoutExitCode;
    onPhaseFinished(context, PhaseOutcome::TimedOut, 0,
                    QStringLiteral("%1 timed out after %2 ms").arg(phase.name).arg(m_phaseClock.elapsed()));
}

void ShutdownCoordinator::finishShutdown()
{
    m_state = State::Finished;
    if (m_watchdog)
        m_watchdog->setPhase(QStringLiteral("finish")); // a slot of finished() that hangs is named as such
    const int code = m_report.exitCode;

    const QString summary = m_report.summary();
    emitLine(summary.isEmpty() ? QStringLiteral("SHUTDOWN report") : QStringLiteral("SHUTDOWN report ") + summary);
    emitLine(QStringLiteral("SHUTDOWN done exit=%1").arg(code));
    Q_EMIT finished(code, m_report);

    // The watchdog guards up to here (a slot of finished() may still write the session record); from now on the
    // exit is ours, and the watchdog stands down.
    if (m_watchdog && !m_watchdog->claimExit())
        return;
    stopWatchdog();
    if (m_exit)
        m_exit(code);
}

void ShutdownCoordinator::exitImmediately(const ShutdownRequest &request)
{
    m_mode = ShutdownMode::Immediate;
    m_report.mode = m_mode;
    // 128 + signo, as a shell reports a death by that signal; a request without a signal counts as Ctrl+C.
    const int code = ExitCode::SignalBase + (request.signo > 0 ? request.signo : SIGINT);
    m_report.exitCode = code;
    m_state = State::Finished;
    m_budgetTimer->stop();

    if (m_watchdog && !m_watchdog->claimExit())
        return; // the watchdog is ending the process right now
    // Straight to the descriptor: the sink may take locks or touch the GUI, and nothing after this line runs.
    flushStdioWithoutWaiting();
    writeLineDirect(m_directFd,
                    QStringLiteral("SHUTDOWN immediate exit=%1 reason=%2\n").arg(code).arg(request.reason).toUtf8());
    if (m_immediateExit)
        m_immediateExit(code);
    // Only an injected (test) function returns; the watchdog must not fire after it.
    stopWatchdog();
}

void ShutdownCoordinator::emitLine(const QString &line)
{
    if (m_output) {
        m_output(line);
        return;
    }
    writeLineDirect(m_directFd, QString(line + QLatin1Char('\n')).toUtf8());
}

void ShutdownCoordinator::startWatchdog()
{
    if (m_watchdog || m_hardTimeout.count() <= 0)
        return;
    ShutdownWatchdog::Config config;
    config.timeout = m_hardTimeout;
    config.diagnostics = m_diagnostics;
    config.immediateExit = m_immediateExit;
    config.fd = m_directFd;
    config.exitCode = ExitHardTimeout;
    m_watchdog = std::make_unique<ShutdownWatchdog>(std::move(config));
    QString error;
    if (!m_watchdog->start(&error)) {
        qWarning("Quiesce: the shutdown watchdog could not start (%s); only the phase budgets bound the shutdown",
                 qPrintable(error));
        m_watchdog.reset();
    }
}

void ShutdownCoordinator::stopWatchdog()
{
    if (m_watchdog)
        m_watchdog->stop();
}

bool ShutdownCoordinator::isOwnThread() const
{
    return QThread::currentThread() == thread();
}

} // namespace Quiesce
