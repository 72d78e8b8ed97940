#include "engine.h"

#include "exitcodes.h"
#include "requestsource.h"
#include "statestore.h"
#include "systemdnotifier.h"
#include "unixsignalnotifier.h"
#include "workerpool.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonObject>
#include <QtCore/QPointer>
#include <QtCore/QProcess>

#include <csignal>

#include <unistd.h>

namespace Quiesce::App {

using namespace std::chrono_literals;

namespace {

// Phase order, like Spring's SmartLifecycle phases: an application built on the library adds its own between.
constexpr int kPreStopOrder = 50;
constexpr int kStopIntakeOrder = 100;
constexpr int kDrainOrder = 200;
constexpr int kCancelOrder = 300;
constexpr int kSaveOrder = 400;
constexpr int kStopThreadsOrder = 500;

constexpr auto kPreStopBudget = 5s;    // a --pre-stop command (deregister from a load balancer, ...)
constexpr auto kStopIntakeBudget = 2s; // the last accepts in the store's group commit (a few ms normally)
constexpr auto kCancelBudget = 500ms;  // cooperative: one slice (<= 10 ms) per worker; a hung one never returns
constexpr auto kSaveBudget = 10s;      // a transaction, a checkpoint and a close
constexpr auto kThreadJoinBudget = 2s; // workers are idle or hung by now

SourceConfig sourceConfig(const Options &o)
{
    SourceConfig c;
    c.ratePerSecond = o.tunables.rate;
    c.workMinMs = o.tunables.workMinMs;
    c.workMaxMs = o.tunables.workMaxMs;
    c.burst = o.burst;
    c.seed = o.seed;
    c.hangAt = o.simulateHang;
    return c;
}

} // namespace

Engine::Engine(const Options &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_store(std::make_unique<StateStore>())
    , m_pool(std::make_unique<WorkerPool>())
    , m_source(std::make_unique<RequestSource>())
    , m_coordinator(std::make_unique<ShutdownCoordinator>())
    , m_systemd(std::make_unique<SystemdNotifier>())
{
    m_coordinator->setOutput([this](const QString &text) { emitLines({text}); });
    m_coordinator->setHardTimeout(m_options.tunables.effectiveHardTimeout());
    // Runs on the watchdog thread: only the pool's thread-safe snapshot, nothing of the main thread's state.
    m_coordinator->setDiagnostics([pool = m_pool.get()] {
        QStringList busy;
        const auto workers = pool->snapshot();
        for (const WorkerSnapshot &w : workers) {
            if (w.busy)
                busy << QStringLiteral("%1 request %2 busy %3 ms%4")
                            .arg(w.threadName)
                            .arg(w.requestId)
                            .arg(w.elapsedMs)
                            .arg(w.hung ? QStringLiteral(" (hung)") : QString());
        }
        return busy.isEmpty() ? QStringLiteral("no worker busy") : busy.join(QStringLiteral("; "));
    });
    registerPhases();

    connect(m_coordinator.get(), &ShutdownCoordinator::shutdownStarted, this, [this] {
        m_systemd->stopping();
        Q_EMIT countersChanged();
    });
    connect(m_coordinator.get(), &ShutdownCoordinator::phaseStarted, this,
            [this](const QString &name) { m_systemd->status(QStringLiteral("shutting down: %1").arg(name)); });

    connect(m_source.get(), &RequestSource::generated, this, &Engine::onGenerated);
    connect(m_source.get(), &RequestSource::exhausted, this, &Engine::checkIdle);
    connect(m_source.get(), &RequestSource::pausedChanged, this, [this](bool paused) {
        m_counters.paused = paused;
        emitLines({QStringLiteral("INTAKE %1").arg(paused ? QStringLiteral("paused") : QStringLiteral("resumed"))});
        Q_EMIT countersChanged();
    });
    connect(m_store.get(), &StateStore::accepted, this, &Engine::onAccepted);
    connect(m_store.get(), &StateStore::completed, this, &Engine::onCompleted);
    connect(m_store.get(), &StateStore::commitFailed, this, [this](const QString &error) {
        emitLines({QStringLiteral("STATE write failed, retrying: %1").arg(error)});
    });
    connect(m_store.get(), &StateStore::commitRecovered, this,
            [this] { emitLines({QStringLiteral("STATE write recovered")}); });
    connect(m_pool.get(), &WorkerPool::started, m_store.get(), &StateStore::markInProgress);
    connect(m_pool.get(), &WorkerPool::finished, this, &Engine::onFinished);
    connect(m_pool.get(), &WorkerPool::returned, this, &Engine::onReturned);
    connect(m_pool.get(), &WorkerPool::capacityAvailable, this, &Engine::onCapacityAvailable);
    connect(m_pool.get(), &WorkerPool::idle, this, &Engine::checkIdle);

    m_throughputTimer.setInterval(1s);
    connect(&m_throughputTimer, &QTimer::timeout, this, [this] {
        m_counters.throughput = double(m_counters.done - m_doneAtLastTick);
        m_doneAtLastTick = m_counters.done;
        Q_EMIT countersChanged();
    });
}

Engine::~Engine() = default;

bool Engine::open(QString *error, int *exitCode)
{
    StoreOptions so;
    so.path = m_options.statePath.isEmpty() ? StateStore::defaultPath() : m_options.statePath;
    so.durability = m_options.durability;
    if (m_store->open(so))
        return true;
    if (m_options.resetState && StateStore::exitCode(m_store->error()) == ExitCode::DataError) {
        QString movedTo;
        if (!StateStore::moveAside(so.path, &movedTo, error)) {
            *exitCode = ExitCode::CantCreate;
            return false;
        }
        emitLines({QStringLiteral("STATE %1 moved aside to %2; starting fresh").arg(so.path, movedTo)});
        if (m_store->open(so))
            return true;
    }
    *error = m_store->errorString();
    *exitCode = StateStore::exitCode(m_store->error());
    if (*exitCode == ExitCode::DataError && !m_options.resetState)
        *error += QStringLiteral(" (the file was left untouched; --reset-state moves it aside and starts fresh)");
    return false;
}

void Engine::attachSignals(UnixSignalNotifier *notifier)
{
    connect(notifier, &UnixSignalNotifier::received, this, &Engine::onSignal);
}

void Engine::start()
{
    const RecoveryInfo recovery = m_store->recovery();
    if (recovery.previousUnclean)
        emitLines({QStringLiteral("RECOVERY previous run (pid %1) ended uncleanly: recovered %2 requests")
                       .arg(recovery.previousPid)
                       .arg(recovery.recovered)});

    m_pool->setQueueLimit(m_options.tunables.queueLimit);
    m_pool->start(m_options.tunables.workers);
    m_counters.workers = m_pool->workerCount();

    // Pending work from earlier runs goes first, before any new arrival.
    const QList<Request> pending = m_store->pendingRequests();
    for (const Request &r : pending)
        m_pool->submit(r);
    m_counters.recovered = quint64(pending.size());
    if (!pending.isEmpty())
        emitLines({QStringLiteral("RECOVERY %1 pending requests queued first").arg(pending.size())});

    m_source->setConfig(sourceConfig(m_options));
    m_source->setNextId(m_store->nextId());
    m_source->start();
    m_throughputTimer.start();

    // Startup is complete: a stop request that arrived during it (sticky) runs from here on, never earlier.
    m_coordinator->setReady();
    emitLines({QStringLiteral("READY pid=%1").arg(::getpid())});
    m_systemd->ready();
    m_systemd->status(QStringLiteral("running"));
    QMetaObject::invokeMethod(this, &Engine::checkIdle, Qt::QueuedConnection);
}

void Engine::requestShutdown(const QString &reason)
{
    ShutdownRequest request;
    request.reason = reason;
    m_coordinator->requestShutdown(request);
}

void Engine::onSignal(const SignalEvent &event)
{
    switch (event.signo) {
    case SIGTERM:
    case SIGINT: {
        ShutdownRequest request;
        request.reason = event.name();
        request.signo = event.signo;
        request.senderPid = event.senderPid;
        // Signals that arrived together still count one by one on the escalation ladder (at most three steps).
        for (quint64 i = 0; i < qMin<quint64>(event.count, 3); ++i)
            m_coordinator->requestShutdown(request);
        break;
    }
    case SIGHUP:
        reloadConfig();
        break;
    case SIGUSR1:
        emitLines({statusLine()});
        break;
    case SIGUSR2:
        // Each one toggles; an even number that arrived together cancels out.
        if (event.count % 2 == 1)
            setPaused(!m_source->isPaused());
        break;
    default:
        break;
    }
}

void Engine::registerPhases()
{
    if (!m_options.preStopCommand.isEmpty()) {
        // Like Kubernetes' preStop hook: runs before intake stops. The child gets a clean signal state (no
        // inherited blocked mask or ignored SIGPIPE, no bridge sockets) and is killed if it overruns its budget.
        m_coordinator->addPhase(
            QStringLiteral("pre-stop"), kPreStopOrder, kPreStopBudget, [this](ShutdownPhaseContext *ctx) {
                auto *process = new QProcess(ctx);
                UnixSignalNotifier::prepareChildProcess(*process);
                QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
                env.insert(QStringLiteral("QUIESCE_PID"), QString::number(::getpid()));
                env.insert(QStringLiteral("QUIESCE_REASON"), ctx->report().request.reason);
                process->setProcessEnvironment(env);
                process->setProcessChannelMode(QProcess::ForwardedChannels);
                connect(process, &QProcess::finished, ctx, [ctx, process](int code) {
                    ctx->complete(QStringLiteral("exit=%1").arg(code));
                    process->deleteLater();
                });
                connect(process, &QProcess::errorOccurred, ctx, [ctx, process](QProcess::ProcessError error) {
                    if (error == QProcess::FailedToStart) {
                        ctx->complete(process->errorString());
                        process->deleteLater();
                    }
                });
                connect(m_coordinator.get(), &ShutdownCoordinator::phaseFinished, process,
                        [process](const PhaseRecord &record) {
                            if (record.name == QLatin1StringView("pre-stop")
                                && process->state() != QProcess::NotRunning)
                                process->kill(); // overran: finished() follows and cleans up
                        });
                process->start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), m_options.preStopCommand});
            });
    }

    m_coordinator->addPhase(QStringLiteral("stop-intake"), kStopIntakeOrder, kStopIntakeBudget,
                            [this](ShutdownPhaseContext *ctx) {
                                m_intakeOpen = false;
                                m_source->stop();
                                m_pool->stopIntake();
                                // Requests given back under backpressure were never accepted (no row, no
                                // 'accepted' line): the source drops them with stop(), nothing is lost.
                                if (m_awaitingCommit.isEmpty()) {
                                    ctx->complete();
                                    return;
                                }
                                // Requests already handed to the store are being committed: intake is closed only
                                // once they are accepted, so no 'accepted' line follows this phase.
                                QPointer<ShutdownPhaseContext> guard(ctx);
                                m_intakeClosed = [guard] {
                                    if (guard)
                                        guard->complete();
                                };
                            });

    m_coordinator->addPhase(
        QStringLiteral("drain"), kDrainOrder, m_options.tunables.drainTimeout, [this](ShutdownPhaseContext *ctx) {
            auto finish = [this, ctx] {
                ctx->setCount(QStringLiteral("in_flight_after_drain"), m_pool->inFlightCount());
                ctx->complete();
            };
            if (m_pool->inFlightCount() == 0 || ctx->mode() != ShutdownMode::Graceful) {
                finish();
                return;
            }
            connect(m_pool.get(), &WorkerPool::drained, ctx, finish);
            connect(ctx, &ShutdownPhaseContext::modeChanged, ctx, finish);
            m_pool->drain();
            // Tell systemd we are making progress, so it does not kill us mid-drain.
            auto *progress = new QTimer(ctx);
            progress->setInterval(1s);
            connect(progress, &QTimer::timeout, ctx, [this, ctx, progress, last = m_pool->doneCount()]() mutable {
                if (ctx->isFinished()) {
                    progress->stop();
                    return;
                }
                if (m_pool->doneCount() != last)
                    m_systemd->extendTimeout(5s);
                last = m_pool->doneCount();
            });
            progress->start();
        });

    m_coordinator->addPhase(QStringLiteral("cancel"), kCancelOrder, kCancelBudget, [this](ShutdownPhaseContext *ctx) {
        auto finishIfDone = [this, ctx] {
            ctx->setCount(QStringLiteral("cancelled"), qint64(m_returnedIds.size()));
            if (m_pool->inFlightCount() == 0)
                ctx->complete();
        };
        if (m_pool->inFlightCount() == 0) {
            finishIfDone();
            return;
        }
        connect(m_pool.get(), &WorkerPool::returned, ctx, finishIfDone);
        connect(m_pool.get(), &WorkerPool::finished, ctx, finishIfDone);
        m_pool->cancel();
    });

    m_coordinator->addPhase(QStringLiteral("save"), kSaveOrder, kSaveBudget, [this](ShutdownPhaseContext *ctx) {
        // Requeue what was cancelled and what is still stuck in a worker: both are unfinished and stay pending.
        QList<quint64> requeue = m_returnedIds;
        const auto workers = m_pool->snapshot();
        for (const WorkerSnapshot &w : workers) {
            if (w.busy && !requeue.contains(w.requestId))
                requeue.append(w.requestId);
        }
        ctx->setCount(QStringLiteral("accepted"), qint64(m_counters.accepted));
        ctx->setCount(QStringLiteral("finished"), qint64(m_pool->doneCount()));
        ctx->setCount(QStringLiteral("requeued"), requeue.size());
        ctx->setCount(QStringLiteral("left_pending"), m_pool->queuedCount());
        ctx->setCount(QStringLiteral("shed"), qint64(m_counters.shed));
        const ShutdownReport report = ctx->report();
        SessionRecord record;
        record.reason = report.request.reason;
        record.senderPid = report.request.senderPid;
        record.exitCode = report.exitCode;
        record.report = report.toJson();
        connect(m_store.get(), &StateStore::saved, ctx, [ctx](bool ok, const QString &error) {
            if (ok)
                ctx->complete();
            else
                ctx->fail(ExitCode::IoError, error);
        });
        m_store->save(requeue, record);
    });

    // The budget reaches past the hard deadline on purpose: a thread that cannot be stopped is never destroyed
    // while running and never terminated, so the process must not leave exec() while one runs. The watchdog
    // ends such a process with exit code 70 at the hard deadline.
    m_coordinator->addPhase(
        QStringLiteral("stop-threads"), kStopThreadsOrder, m_options.tunables.effectiveHardTimeout() + 60s,
        [this](ShutdownPhaseContext *ctx) {
            connect(m_pool.get(), &WorkerPool::stopped, ctx, [this, ctx](const StopReport &report) {
                if (report.allStopped) {
                    m_throughputTimer.stop();
                    ctx->complete();
                    return;
                }
                m_stuckThreads = true;
                emitLines({QStringLiteral("SHUTDOWN stuck %1; left to the watchdog").arg(report.describe())});
            });
            m_pool->stop(QDeadlineTimer(kThreadJoinBudget));
        });
}

void Engine::onGenerated(const Request &request)
{
    if (!m_intakeOpen)
        return;
    if (!m_pool->tryReserve()) {
        if (m_options.overflow == Overflow::Shed) {
            ++m_counters.shed;
            if (m_options.logRequests)
                emitLines({QStringLiteral("shed id=%1").arg(request.id)});
            return;
        }
        // Backpressure: give it back and hold intake until the pool has room again; nothing is dropped.
        m_source->putBack(request);
        m_source->setHeld(true);
        return;
    }
    m_awaitingCommit.insert(request.id, request);
    m_store->accept(request);
}

void Engine::onCapacityAvailable()
{
    if (m_intakeOpen)
        m_source->setHeld(false);
}

void Engine::onAccepted(const QList<quint64> &ids)
{
    QStringList lines;
    for (quint64 id : ids) {
        const auto it = m_awaitingCommit.constFind(id);
        if (it == m_awaitingCommit.cend())
            continue;
        const Request request = *it;
        m_awaitingCommit.erase(it);
        ++m_counters.accepted;
        if (m_options.logRequests)
            lines << QStringLiteral("accepted id=%1").arg(id);
        m_pool->submit(request);
    }
    emitLines(lines);
    if (m_awaitingCommit.isEmpty() && m_intakeClosed)
        std::exchange(m_intakeClosed, nullptr)();
}

void Engine::onCompleted(const QList<quint64> &ids)
{
    m_counters.done += quint64(ids.size());
    if (m_options.logRequests) {
        QStringList lines;
        lines.reserve(ids.size());
        for (quint64 id : ids)
            lines << QStringLiteral("done id=%1").arg(id);
        emitLines(lines);
    }
    checkIdle();
}

void Engine::onFinished(const QList<Request> &requests)
{
    m_store->markDone(idsOf(requests));
}

void Engine::onReturned(const QList<Request> &requests)
{
    m_returnedIds += idsOf(requests);
}

void Engine::checkIdle()
{
    if (!m_options.exitWhenIdle || m_coordinator->isShuttingDown())
        return;
    const bool idle = m_source->isExhausted() && m_awaitingCommit.isEmpty() && m_pool->queuedCount() == 0
        && m_pool->inFlightCount() == 0 && m_pool->doneCount() == m_counters.done;
    if (idle)
        requestShutdown(QStringLiteral("idle"));
}

void Engine::reloadConfig()
{
    if (m_options.configPath.isEmpty()) {
        emitLines({QStringLiteral("CONFIG SIGHUP ignored: no --config file to reload")});
        return;
    }
    Tunables next = m_options.tunables;
    QString error;
    if (!readConfigFile(m_options.configPath, &next, &error)) {
        emitLines({QStringLiteral("CONFIG reload failed, keeping the current settings: %1").arg(error)});
        return;
    }
    const QString changes = describeChanges(m_options.tunables, next);
    applyTunables(next);
    emitLines({QStringLiteral("CONFIG reloaded %1: %2")
                   .arg(m_options.configPath, changes.isEmpty() ? QStringLiteral("no changes") : changes)});
}

void Engine::applyTunables(const Tunables &tunables)
{
    m_options.tunables = tunables;
    SourceConfig config = m_source->config();
    config.ratePerSecond = tunables.rate;
    config.workMinMs = tunables.workMinMs;
    config.workMaxMs = tunables.workMaxMs;
    m_source->setConfig(config);
    if (tunables.workers > 0 && tunables.workers != m_pool->workerCount() && !m_coordinator->isShuttingDown())
        m_pool->setWorkerCount(tunables.workers);
    m_pool->setQueueLimit(tunables.queueLimit);
    m_coordinator->setPhaseBudget(QStringLiteral("drain"), tunables.drainTimeout);
    m_coordinator->setHardTimeout(tunables.effectiveHardTimeout());
    Q_EMIT countersChanged();
}

void Engine::setPaused(bool paused)
{
    if (!m_coordinator->isShuttingDown())
        m_source->setPaused(paused);
}

void Engine::submitBurst(int count)
{
    // Through the source, so a burst from the window gets the same ids, costs and backpressure as any other.
    if (m_intakeOpen)
        m_source->addBurst(count);
}

void Engine::simulateHangNext()
{
    SourceConfig config = m_source->config();
    config.hangAt = m_source->generatedCount() + 1;
    m_source->setConfig(config);
}

RecoveryInfo Engine::recovery() const
{
    return m_store->recovery();
}

ShutdownCoordinator *Engine::coordinator() const
{
    return m_coordinator.get();
}

WorkerPool *Engine::pool() const
{
    return m_pool.get();
}

RequestSource *Engine::source() const
{
    return m_source.get();
}

Tunables Engine::tunables() const
{
    return m_options.tunables;
}

EngineCounters Engine::counters() const
{
    EngineCounters c = m_counters;
    c.queued = m_pool->queuedCount();
    c.inFlight = m_pool->inFlightCount();
    c.workers = m_pool->workerCount();
    c.busy = 0;
    const auto workers = m_pool->snapshot();
    for (const WorkerSnapshot &w : workers)
        c.busy += w.busy ? 1 : 0;
    c.paused = m_source->isPaused();
    return c;
}

QString Engine::statusLine() const
{
    const EngineCounters c = counters();
    const QString phase = m_coordinator->isShuttingDown() ? m_coordinator->currentPhase() : QStringLiteral("running");
    return QStringLiteral("STATUS phase=%1 accepted=%2 done=%3 queued=%4 in_flight=%5 shed=%6 recovered=%7 "
                          "workers=%8 busy=%9 paused=%10 rate=%11 throughput=%12")
        .arg(phase.isEmpty() ? QStringLiteral("exiting") : phase)
        .arg(c.accepted)
        .arg(c.done)
        .arg(c.queued)
        .arg(c.inFlight)
        .arg(c.shed)
        .arg(c.recovered)
        .arg(c.workers)
        .arg(c.busy)
        .arg(c.paused ? 1 : 0)
        .arg(m_options.tunables.rate)
        .arg(c.throughput);
}

bool Engine::hasStuckThreads() const
{
    return m_stuckThreads;
}

void Engine::emitLines(const QStringList &lines)
{
    for (const QString &text : lines)
        Q_EMIT line(text);
}

} // namespace Quiesce::App
