#include "shutdowncoordinator.h"

#include "corelogging_p.h"
#include "directoutput.h"
#include "shutdowncoordinator_p.h"
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

Q_LOGGING_CATEGORY(lcCoordinator, "quiesce.coordinator", QtWarningMsg)

using Phase = ShutdownCoordinatorPrivate::Phase;

namespace {

// How long a line written straight to the descriptor may wait for a reader: the quit path must go on without one.
constexpr int kDirectWriteMs = 1000;

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

// Out of line: ShutdownWatchdog is complete here.
ShutdownCoordinatorPrivate::ShutdownCoordinatorPrivate() = default;
ShutdownCoordinatorPrivate::~ShutdownCoordinatorPrivate() = default;

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
    // Appended in one buffer: the "SHUTDOWN report" line is on the stop path (QString::arg() per count cost some
    // 5 k instructions each).
    QString text;
    text.reserve(counts.size() * 24);
    for (auto it = counts.cbegin(); it != counts.cend(); ++it) {
        if (!text.isEmpty())
            text += QLatin1Char(' ');
        text += it.key();
        text += QLatin1Char('=');
        text += QString::number(it.value());
    }
    return text;
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
    , d(std::make_unique<ShutdownPhaseContextPrivate>(ShutdownPhaseContextPrivate {coordinator, name, deadline}))
{}

ShutdownPhaseContext::~ShutdownPhaseContext() = default;

QString ShutdownPhaseContext::phaseName() const
{
    return d->name;
}

ShutdownMode ShutdownPhaseContext::mode() const
{
    return d->coordinator->mode();
}

QDeadlineTimer ShutdownPhaseContext::deadline() const
{
    return d->deadline;
}

const ShutdownReport &ShutdownPhaseContext::report() const
{
    return d->coordinator->d->report;
}

bool ShutdownPhaseContext::isFinished() const
{
    return d->finished;
}

void ShutdownPhaseContext::setCount(const QString &key, qint64 value)
{
    if (QThread::currentThread() != thread()) {
        QMetaObject::invokeMethod(
            this, [this, key, value] { setCount(key, value); }, Qt::QueuedConnection);
        return;
    }
    d->coordinator->d->report.counts.insert(key, value);
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
    if (d->finished)
        return; // a second call, or a late one after the budget ran out: the phase already ended
    d->finished = true;
    d->coordinator->onPhaseFinished(this, outcome, exitCode, detail);
}

// ---------------------------------------------------------------------------------------------------------------

ShutdownCoordinator::ShutdownCoordinator(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<ShutdownCoordinatorPrivate>())
{
    d->budgetTimer = new QTimer(this);
    d->exit = [](int code) { QCoreApplication::exit(code); };
    d->immediateExit = &defaultImmediateExit;
    d->budgetTimer->setSingleShot(true);
    // Precise: a coarse timer may be 5 % late, half a second on a 10 s drain budget.
    d->budgetTimer->setTimerType(Qt::PreciseTimer);
    connect(d->budgetTimer, &QTimer::timeout, this, &ShutdownCoordinator::onBudgetExpired);
}

ShutdownCoordinator::~ShutdownCoordinator()
{
    stopWatchdog();
}

bool ShutdownCoordinator::addPhase(const QString &name, int order, std::chrono::milliseconds budget, PhaseHook hook)
{
    if (d->state != ShutdownCoordinatorPrivate::State::Idle) {
        qCWarning(lcCoordinator, "phase %s added after the shutdown began; ignored", qPrintable(name));
        return false;
    }
    const bool exists =
        std::any_of(d->phases.cbegin(), d->phases.cend(), [&name](const Phase &phase) { return phase.name == name; });
    if (exists || name.isEmpty()) {
        qCWarning(lcCoordinator, "phase name \"%s\" is empty or taken; ignored", qPrintable(name));
        return false;
    }
    d->phases.append(Phase {name, order, budget, std::move(hook), 0});
    // Stable: equal orders keep the order in which they were added.
    std::stable_sort(d->phases.begin(), d->phases.end(),
                     [](const Phase &a, const Phase &b) { return a.order < b.order; });
    return true;
}

bool ShutdownCoordinator::setPhaseBudget(const QString &name, std::chrono::milliseconds budget)
{
    for (Phase &phase : d->phases) {
        if (phase.name == name) {
            phase.budget = budget;
            return true;
        }
    }
    return false;
}

std::chrono::milliseconds ShutdownCoordinator::phaseBudget(const QString &name) const
{
    for (const Phase &phase : d->phases) {
        if (phase.name == name)
            return phase.budget;
    }
    return NoBudget;
}

bool ShutdownCoordinator::setPhaseTimeoutExitCode(const QString &name, int exitCode)
{
    for (Phase &phase : d->phases) {
        if (phase.name == name) {
            phase.timeoutExitCode = exitCode;
            return true;
        }
    }
    return false;
}

int ShutdownCoordinator::phaseTimeoutExitCode(const QString &name) const
{
    for (const Phase &phase : d->phases) {
        if (phase.name == name)
            return phase.timeoutExitCode;
    }
    return 0;
}

QStringList ShutdownCoordinator::phaseNames() const
{
    QStringList names;
    for (const Phase &phase : d->phases)
        names.append(phase.name);
    return names;
}

void ShutdownCoordinator::setHardTimeout(std::chrono::milliseconds timeout)
{
    d->hardTimeout = timeout;
}

std::chrono::milliseconds ShutdownCoordinator::hardTimeout() const
{
    return d->hardTimeout;
}

void ShutdownCoordinator::setDiagnostics(std::function<QString()> provider)
{
    d->diagnostics = std::move(provider);
}

void ShutdownCoordinator::setExitFunction(std::function<void(int)> exit)
{
    d->exit = std::move(exit);
}

void ShutdownCoordinator::setImmediateExitFunction(std::function<void(int)> exit)
{
    d->immediateExit = std::move(exit);
}

void ShutdownCoordinator::setOutput(std::function<void(const QString &)> sink)
{
    d->output = std::move(sink);
}

void ShutdownCoordinator::setDirectOutputFd(int fd)
{
    d->directFd = fd;
}

int ShutdownCoordinator::directOutputFd() const
{
    return d->directFd;
}

void ShutdownCoordinator::setLineFormatter(ShutdownLineFormatter formatter)
{
    d->lineFormatter = std::move(formatter);
}

QString ShutdownCoordinator::defaultLine(const ShutdownLine &line)
{
    switch (line.kind) {
    case ShutdownLine::Kind::Begin:
        return QStringLiteral("SHUTDOWN begin reason=%1 sender=%2 mode=%3")
            .arg(line.request.reason)
            .arg(line.request.senderPid)
            .arg(shutdownModeName(line.mode));
    case ShutdownLine::Kind::Escalate:
        return QStringLiteral("SHUTDOWN escalate mode=%1 reason=%2 sender=%3")
            .arg(shutdownModeName(line.mode), line.request.reason)
            .arg(line.request.senderPid);
    case ShutdownLine::Kind::PhaseBegin:
        return QStringLiteral("SHUTDOWN phase=%1 begin budget_ms=%2").arg(line.phase).arg(line.budgetMs);
    case ShutdownLine::Kind::PhaseEnd: {
        QString text = QStringLiteral("SHUTDOWN phase=%1 end outcome=%2 ms=%3")
                           .arg(line.record.name, phaseOutcomeName(line.record.outcome))
                           .arg(line.record.elapsedMs);
        if (!line.record.detail.isEmpty())
            text += QStringLiteral(" detail=") + line.record.detail;
        return text;
    }
    case ShutdownLine::Kind::Report:
        return line.summary.isEmpty() ? QStringLiteral("SHUTDOWN report")
                                      : QStringLiteral("SHUTDOWN report ") + line.summary;
    case ShutdownLine::Kind::Done:
        return QStringLiteral("SHUTDOWN done exit=%1").arg(line.exitCode);
    case ShutdownLine::Kind::Immediate:
        return QStringLiteral("SHUTDOWN immediate exit=%1 reason=%2").arg(line.exitCode).arg(line.request.reason);
    case ShutdownLine::Kind::Watchdog:
        return QStringLiteral("SHUTDOWN watchdog: hard deadline of %1 ms passed in phase %2; %3; exit=%4")
            .arg(line.hardTimeoutMs)
            .arg(line.phase, line.diagnostics)
            .arg(line.exitCode);
    }
    return {};
}

void ShutdownCoordinator::setWatchdogThreadName(const QString &name)
{
    d->watchdogThreadName = name;
}

void ShutdownCoordinator::setFirstRequestHint(const QString &line)
{
    d->firstRequestHint = line;
}

void ShutdownCoordinator::setReady()
{
    d->ready = true;
    if (d->state == ShutdownCoordinatorPrivate::State::Pending)
        scheduleAdvance(); // the sticky request: runs once the event loop gets to it
}

bool ShutdownCoordinator::isReady() const
{
    return d->ready;
}

bool ShutdownCoordinator::requestShutdown(const ShutdownRequest &request)
{
    if (!isOwnThread()) {
        QMetaObject::invokeMethod(
            this, [this, request] { requestShutdown(request); }, Qt::QueuedConnection);
        return true;
    }

    switch (d->state) {
    case ShutdownCoordinatorPrivate::State::Finished:
        return false;

    case ShutdownCoordinatorPrivate::State::Idle:
        d->state = ShutdownCoordinatorPrivate::State::Pending;
        d->mode = ShutdownMode::Graceful;
        d->report.request = request;
        d->report.mode = d->mode;
        d->report.requests = 1;
        // The hard deadline counts from the first request, even one that waits for startup to finish.
        startWatchdog();
        {
            ShutdownLine line;
            line.kind = ShutdownLine::Kind::Begin;
            line.request = request;
            line.mode = d->mode;
            emitLine(line);
        }
        // What a second and a third request do, in the application's words (none by default).
        if (!d->firstRequestHint.isEmpty())
            emitText(d->firstRequestHint);
        Q_EMIT shutdownStarted(request);
        // Never run the phases inside the caller (a signal slot, closeEvent, a hook): always from the loop.
        if (d->ready && d->state == ShutdownCoordinatorPrivate::State::Pending)
            scheduleAdvance();
        return true;

    case ShutdownCoordinatorPrivate::State::Pending:
    case ShutdownCoordinatorPrivate::State::Running:
        ++d->report.requests;
        if (d->mode == ShutdownMode::Graceful) {
            d->mode = ShutdownMode::Fast;
            d->report.mode = d->mode;
            ShutdownLine line;
            line.kind = ShutdownLine::Kind::Escalate;
            line.request = request;
            line.mode = d->mode;
            emitLine(line);
            Q_EMIT escalated(d->mode, request);
            // The running phase decides what fast means for it (the drain completes at once). A hook that ends
            // its phase from here is recorded now and the machine moves on from the event loop.
            if (d->context != nullptr && !d->context->isFinished() && d->mode == ShutdownMode::Fast)
                Q_EMIT d->context->modeChanged(d->mode);
            return true;
        }
        exitImmediately(request);
        return true;
    }
    return false;
}

bool ShutdownCoordinator::isShuttingDown() const
{
    return d->state != ShutdownCoordinatorPrivate::State::Idle;
}

bool ShutdownCoordinator::isFinished() const
{
    return d->state == ShutdownCoordinatorPrivate::State::Finished;
}

ShutdownMode ShutdownCoordinator::mode() const
{
    return d->mode;
}

QString ShutdownCoordinator::currentPhase() const
{
    return d->context != nullptr ? d->context->phaseName() : QString();
}

ShutdownReport ShutdownCoordinator::report() const
{
    return d->report;
}

int ShutdownCoordinator::exitCode() const
{
    if (d->watchdog && d->watchdog->hasFired())
        return ExitHardTimeout;
    return d->report.exitCode;
}

void ShutdownCoordinator::scheduleAdvance()
{
    if (d->advanceScheduled)
        return;
    d->advanceScheduled = true;
    // Queued: runs only once the event loop runs (so a request made before exec() waits for it), and never inside
    // whoever completed a phase or asked to stop.
    QMetaObject::invokeMethod(
        this, [this] { advance(); }, Qt::QueuedConnection);
}

void ShutdownCoordinator::advance()
{
    d->advanceScheduled = false;
    if (d->inAdvance || !d->ready)
        return;
    if (d->state == ShutdownCoordinatorPrivate::State::Pending)
        d->state = ShutdownCoordinatorPrivate::State::Running;
    d->inAdvance = true;
    // One step at a time until a phase waits for its hook: hooks that complete synchronously run back to back
    // without recursion. A hook, or a slot of our signals, may end the machine (immediate exit): check each time.
    while (d->state == ShutdownCoordinatorPrivate::State::Running) {
        if (d->context != nullptr) {
            if (!d->phaseEnded)
                break; // the hook completes later, or the budget timer ends the phase
            endCurrentPhase();
            continue;
        }
        if (d->watchdog && d->watchdog->hasFired()) {
            d->state =
                ShutdownCoordinatorPrivate::State::Finished; // the watchdog ends the process; nothing more to run
            break;
        }
        if (!startNextPhase())
            finishShutdown();
    }
    d->inAdvance = false;
}

bool ShutdownCoordinator::startNextPhase()
{
    ++d->phaseIndex;
    if (d->phaseIndex >= d->phases.size())
        return false;
    const Phase phase = d->phases.at(d->phaseIndex); // a copy: a hook must not see its own entry move
    const qint64 budgetMs = phase.budget.count() < 0 ? -1 : qint64(phase.budget.count());
    const QDeadlineTimer deadline =
        budgetMs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(budgetMs, Qt::PreciseTimer);

    d->context = new ShutdownPhaseContext(this, phase.name, deadline);
    d->phaseEnded = false;
    d->pendingOutcome = PhaseOutcome::Ok;
    d->pendingDetail.clear();
    d->pendingElapsedMs = 0;
    d->phaseClock.start();
    if (d->watchdog)
        d->watchdog->setPhase(phase.name);

    ShutdownLine line;
    line.kind = ShutdownLine::Kind::PhaseBegin;
    line.mode = d->mode;
    line.phase = phase.name;
    line.budgetMs = budgetMs;
    emitLine(line);
    Q_EMIT phaseStarted(phase.name, budgetMs);
    if (d->state != ShutdownCoordinatorPrivate::State::Running || d->context == nullptr)
        return true; // a slot exited immediately; advance() stops

    if (budgetMs >= 0) {
        // QTimer takes an int: a budget beyond 24 days is as good as none.
        d->budgetTimer->start(int(std::min<qint64>(budgetMs, std::numeric_limits<int>::max())));
    }
    if (phase.hook)
        phase.hook(d->context);
    else
        d->context->skip();
    return true;
}

void ShutdownCoordinator::endCurrentPhase()
{
    PhaseRecord record;
    record.name = d->context->phaseName();
    record.elapsedMs = d->pendingElapsedMs;
    record.outcome = d->pendingOutcome;
    record.detail = d->pendingDetail;
    d->report.phases.append(record);
    // The context stays alive (a child of ours) so that a late complete() from a hook is safe and ignored.
    d->context = nullptr;
    d->phaseEnded = false;

    ShutdownLine line;
    line.kind = ShutdownLine::Kind::PhaseEnd;
    line.mode = d->mode;
    line.record = record;
    emitLine(line);
    Q_EMIT phaseFinished(record);
}

void ShutdownCoordinator::onPhaseFinished(ShutdownPhaseContext *context, PhaseOutcome outcome, int exitCode,
                                          const QString &detail)
{
    if (context != d->context || d->phaseEnded || d->state != ShutdownCoordinatorPrivate::State::Running)
        return;
    d->budgetTimer->stop();
    d->phaseEnded = true;
    d->pendingOutcome = outcome;
    d->pendingDetail = detail;
    d->pendingElapsedMs = d->phaseClock.elapsed();
    // The first failure is the root cause; what fails after it is usually a consequence.
    if (outcome == PhaseOutcome::Failed && exitCode != 0 && d->report.exitCode == 0)
        d->report.exitCode = exitCode;
    if (!d->inAdvance)
        scheduleAdvance();
}

void ShutdownCoordinator::onBudgetExpired()
{
    if (d->context == nullptr || d->phaseEnded)
        return;
    // Mark the context first: the hook's late complete() must be ignored, not end the next phase.
    ShutdownPhaseContext *context = d->context;
    context->d->finished = true;
    // The entry that is running (d->phases is fixed once the shutdown began); a copy was handed to the hook.
    const Phase &phase = d->phases.at(d->phaseIndex);
    if (phase.timeoutExitCode == 0) {
        onPhaseFinished(context, PhaseOutcome::TimedOut, 0, QString());
        return;
    }
    // A timeout that breaks a promise (an unfinished save) is a failure of the shutdown, not just a slow phase.
    if (d->report.exitCode == 0)
        d->report.exitCode = phase.timeoutExitCode;
    onPhaseFinished(context, PhaseOutcome::TimedOut, 0,
                    QStringLiteral("%1 timed out after %2 ms").arg(phase.name).arg(d->phaseClock.elapsed()));
}

void ShutdownCoordinator::finishShutdown()
{
    d->state = ShutdownCoordinatorPrivate::State::Finished;
    if (d->watchdog)
        d->watchdog->setPhase(QStringLiteral("finish")); // a slot of finished() that hangs is named as such
    const int code = d->report.exitCode;

    ShutdownLine line;
    line.mode = d->mode;
    line.kind = ShutdownLine::Kind::Report;
    line.summary = d->report.summary();
    emitLine(line);
    line.kind = ShutdownLine::Kind::Done;
    line.exitCode = code;
    emitLine(line);
    Q_EMIT finished(code, d->report);

    // The watchdog guards up to here (a slot of finished() may still write the session record); from now on the
    // exit is ours, and the watchdog stands down.
    if (d->watchdog && !d->watchdog->claimExit())
        return;
    stopWatchdog();
    if (d->exit)
        d->exit(code);
}

void ShutdownCoordinator::exitImmediately(const ShutdownRequest &request)
{
    d->mode = ShutdownMode::Immediate;
    d->report.mode = d->mode;
    // 128 + signo, as a shell reports a death by that signal; a request without a signal counts as Ctrl+C.
    const int code = ExitCode::SignalBase + (request.signo > 0 ? request.signo : SIGINT);
    d->report.exitCode = code;
    d->state = ShutdownCoordinatorPrivate::State::Finished;
    d->budgetTimer->stop();

    if (d->watchdog && !d->watchdog->claimExit())
        return; // the watchdog is ending the process right now
    // Straight to the descriptor: the sink may take locks or touch the GUI, and nothing after this line runs.
    flushStdioWithoutWaiting();
    ShutdownLine line;
    line.kind = ShutdownLine::Kind::Immediate;
    line.request = request;
    line.mode = d->mode;
    line.exitCode = code;
    const QString text = d->lineFormatter ? d->lineFormatter(line) : defaultLine(line);
    if (!text.isEmpty())
        writeLineDirect(d->directFd, QString(oneLine(text) + QLatin1Char('\n')).toUtf8(),
                        QDeadlineTimer(kDirectWriteMs));
    if (d->immediateExit)
        d->immediateExit(code);
    // Only an injected (test) function returns; the watchdog must not fire after it.
    stopWatchdog();
}

void ShutdownCoordinator::emitLine(const ShutdownLine &line)
{
    emitText(d->lineFormatter ? d->lineFormatter(line) : defaultLine(line));
}

void ShutdownCoordinator::emitText(const QString &text)
{
    if (text.isEmpty())
        return; // the formatter wants no line for this
    // One line, whatever a hook put in a detail or a formatter returned.
    const QString line = oneLine(text);
    if (d->output) {
        d->output(line);
        return;
    }
    // No sink: never stdout of our own accord.
    if (d->directFd >= 0)
        writeLineDirect(d->directFd, QString(line + QLatin1Char('\n')).toUtf8(), QDeadlineTimer(kDirectWriteMs));
    else
        qCInfo(lcCoordinator, "%s", qPrintable(line));
}

bool ShutdownCoordinator::prepareWatchdog(QString *error)
{
    if (!d->watchdog)
        d->watchdog = std::make_unique<ShutdownWatchdog>(d->watchdogThreadName);
    return d->watchdog->park(error);
}

void ShutdownCoordinator::startWatchdog()
{
    if (d->hardTimeout.count() <= 0)
        return; // a parked thread stays parked and is joined with the coordinator
    ShutdownWatchdog::Config config;
    config.timeout = d->hardTimeout;
    config.diagnostics = d->diagnostics;
    config.formatter = d->lineFormatter;
    config.immediateExit = d->immediateExit;
    config.fd = d->directFd;
    config.exitCode = ExitHardTimeout;
    if (!d->watchdog)
        d->watchdog = std::make_unique<ShutdownWatchdog>(d->watchdogThreadName);
    QString error;
    if (!d->watchdog->start(std::move(config), &error)) {
        qCWarning(lcCoordinator,
                  "the shutdown watchdog could not start (%s); only the phase budgets bound the shutdown",
                  qPrintable(error));
        d->watchdog.reset();
    }
}

void ShutdownCoordinator::stopWatchdog()
{
    if (d->watchdog)
        d->watchdog->stop();
}

bool ShutdownCoordinator::isOwnThread() const
{
    return QThread::currentThread() == thread();
}

} // namespace Quiesce
