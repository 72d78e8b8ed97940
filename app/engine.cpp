#include "engine.h"

#include "requestsource.h"
#include "watchdogrecord.h"
#include <Quiesce/exitcodes.h>
#include <Quiesce/processpool.h>
#include <Quiesce/resourcelimits.h>
#include <Quiesce/statestore.h>
#include <Quiesce/systemdnotifier.h>
#include <Quiesce/unixsignalnotifier.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonObject>
#include <QtCore/QPointer>
#include <QtCore/QProcess>
#include <QtCore/QScopeGuard>
#include <QtCore/QThread>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>

#include <cerrno>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace Quiesce::App {

using namespace std::chrono_literals;

namespace {

// Phase order, like Spring's SmartLifecycle phases: the library's standard ones, and ours before them.
constexpr int kPreStopOrder = PhaseOrder::StopIntake - 50;
constexpr int kStopIntakeOrder = PhaseOrder::StopIntake;
constexpr int kDrainOrder = PhaseOrder::Drain;
constexpr int kCancelOrder = PhaseOrder::Cancel;
constexpr int kSaveOrder = PhaseOrder::Save;
constexpr int kStopThreadsOrder = PhaseOrder::StopThreads;

// The phases' budgets derive from the grace period (budgets.h); this one is inside stop-threads, past them all.
constexpr auto kThreadJoinBudget = 2s; // workers are idle or hung by now
// Process mode: the pool's stop() SIGTERMs a worker still alive shortly before its deadline and SIGKILLs its group at
// it. That deadline is what the hard deadline leaves, less this much for reaping, the report and the exit.
constexpr auto kAfterWorkersKilled = 300ms;
constexpr auto kShortestWorkerStop = 200ms;

std::unique_ptr<JobPool> makePool(const Options &o)
{
    if (o.tunables.isolation != Isolation::Process)
        return std::make_unique<WorkerPool>();
    auto pool = std::make_unique<ProcessPool>();
    pool->setWorkerProgram(Engine::workerProgram(), {});
    pool->setHeartbeatTimeout(int(o.tunables.workerTimeout.count()));
    // --simulate-crash aborts a worker on purpose: no core file for it (DECISIONS: RLIMIT_CORE 0).
    pool->setWorkerCoreDumps(o.simulateCrash == 0);
    pool->setThreadNamePrefix(QStringLiteral("quiesce-worker-")); // the slots' names, as the threads' below
    return pool;
}

Budgets budgetsOf(const Options &o)
{
    // The command line and every reload checked these already; a caller that did not gets the defaults.
    Budgets budgets;
    QString error;
    QString notice;
    if (!computeBudgets(o.tunables, !o.preStopCommand.isEmpty(), &budgets, &error, &notice))
        computeBudgets(Tunables {}, !o.preStopCommand.isEmpty(), &budgets, &error, &notice);
    return budgets;
}

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

/* One --pre-stop run: "/bin/sh -c CMD" at the head of its own process group, its output turned into prefixed lines,
   and the whole group ended and reaped before the phase is over.

   The hook's job is done when its shell exits: whatever it left running in the background (`sleep 100 &`) is
   ended at once (SIGTERM, SIGKILL after kLeftoverGrace), not allowed to outlive the hook. A hook that overruns gets
   SIGTERM for the whole group a grace period before its budget and SIGKILL at the budget (the phase is then
   recorded timed-out). Members are reaped with waitpid(-pgid, WNOHANG) only after QProcess reaped the shell
   itself, never waitpid(-1): the shell's orphans come back to us because we are a child subreaper for the run (or
   PID 1). A member that left the group (setsid, setpgid) is out of reach by design. */
class PreStopRun : public QObject
{
public:
    static constexpr std::chrono::milliseconds kLeftoverGrace {500}; // SIGTERM -> SIGKILL for what the hook left
    static constexpr std::chrono::milliseconds kOverrunGrace {1000}; // SIGTERM this long before the budget
    static constexpr std::chrono::milliseconds kReapInterval {10};

    PreStopRun(ShutdownPhaseContext *ctx, std::function<void(const QString &)> line)
        : QObject(ctx)
        , m_ctx(ctx)
        , m_line(std::move(line))
        , m_process(new QProcess(this))
    {
        m_reaper.setInterval(kReapInterval);
        connect(&m_reaper, &QTimer::timeout, this, &PreStopRun::reap);
        m_killLeftovers.setSingleShot(true);
        connect(&m_killLeftovers, &QTimer::timeout, this, [this] { signalGroup(SIGKILL); });
        m_overrun.setSingleShot(true);
        connect(&m_overrun, &QTimer::timeout, this, [this] {
            m_overran = true;
            signalGroup(SIGTERM);
        });
    }

    ~PreStopRun() override { endGroupNow(); }

    void start(const QString &command, const QProcessEnvironment &env)
    {
        // Orphans of the hook (its shell exited first) are re-parented to us, not to init, so we can reap them.
        m_subreaper = ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
        UnixSignalNotifier::prepareChildProcess(*m_process, UnixSignalNotifier::ChildProcessGroup::Own);
        m_process->setProcessEnvironment(env);
        m_process->setProcessChannelMode(QProcess::MergedChannels);
        m_process->setStandardInputFile(QProcess::nullDevice());
        connect(m_process, &QProcess::readyReadStandardOutput, this, [this] { takeOutput(false); });
        connect(m_process, &QProcess::finished, this, &PreStopRun::onShellFinished);
        connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
            if (error != QProcess::FailedToStart)
                return;
            m_groupGone = true;
            clearSubreaper();
            m_ctx->complete(m_process->errorString());
        });
        m_process->start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
        const qint64 pid = m_process->processId();
        if (pid > 0) {
            m_pgid = pid_t(pid);
            ::setpgid(m_pgid, m_pgid); // fails harmlessly once the child did it (or exec'd): no race either way
        }
        const qint64 left = m_ctx->deadline().remainingTime();
        // SIGTERM to the group kOverrunGrace before the budget, so the hook can still clean up before SIGKILL; but a
        // short budget (derived from a small grace period) keeps at least half of it for the hook's own work.
        if (left >= 0)
            m_overrun.start(std::chrono::milliseconds(std::max(left - qint64(kOverrunGrace.count()), left / 2)));
    }

    /*! At the budget (the phase ended timed out) or at the very end of the quit path: nothing of the hook may stay. */
    void endGroupNow()
    {
        if (!m_groupGone)
            signalGroup(SIGKILL);
    }

private:
    void takeOutput(bool final)
    {
        m_partial += m_process->readAllStandardOutput();
        qsizetype start = 0;
        for (qsizetype nl = m_partial.indexOf('\n'); nl >= 0; nl = m_partial.indexOf('\n', start)) {
            emitHookLine(m_partial.mid(start, nl - start));
            start = nl + 1;
        }
        m_partial.remove(0, start);
        // A last line without its newline is still one line of its own, never glued onto the next SHUTDOWN line.
        if (final && !m_partial.isEmpty()) {
            emitHookLine(m_partial);
            m_partial.clear();
        }
    }

    void emitHookLine(QByteArray text)
    {
        if (text.endsWith('\r'))
            text.chop(1);
        m_line(QStringLiteral("PRE-STOP ") + QString::fromUtf8(text));
    }

    void onShellFinished(int code, QProcess::ExitStatus status)
    {
        takeOutput(true);
        m_detail = status == QProcess::NormalExit ? QStringLiteral("exit=%1").arg(code) : QStringLiteral("killed");
        m_overrun.stop();
        // QProcess reaped the shell: what is left of its group is ours to end and reap.
        signalGroup(SIGTERM);
        const qint64 left = m_ctx->deadline().remainingTime();
        const qint64 grace = left < 0 ? qint64(kLeftoverGrace.count()) : std::min<qint64>(kLeftoverGrace.count(), left);
        m_killLeftovers.start(std::chrono::milliseconds(grace));
        m_reaper.start();
        reap();
    }

    void reap()
    {
        if (m_pgid <= 0 || m_groupGone)
            return;
        for (;;) {
            int status = 0;
            const pid_t pid = ::waitpid(-m_pgid, &status, WNOHANG);
            if (pid > 0) {
                ++m_reaped;
                continue;
            }
            if (pid == 0)
                return; // members still run: the next tick looks again
            if (errno == EINTR)
                continue;
            break; // ECHILD: no child of ours is left in the group
        }
        m_groupGone = true;
        m_reaper.stop();
        m_killLeftovers.stop();
        clearSubreaper();
        if (m_overran)
            return; // the budget records it as timed out
        m_ctx->complete(m_reaped == 0 ? m_detail : QStringLiteral("%1 ended=%2").arg(m_detail).arg(m_reaped));
    }

    void signalGroup(int signo)
    {
        if (m_pgid > 0 && !m_groupGone)
            ::kill(-m_pgid, signo); // ESRCH once the group is empty: nothing to do
    }

    void clearSubreaper()
    {
        if (m_subreaper)
            ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
        m_subreaper = false;
    }

    ShutdownPhaseContext *m_ctx;
    std::function<void(const QString &)> m_line;
    QProcess *m_process;
    QByteArray m_partial;
    QString m_detail;
    QTimer m_reaper;
    QTimer m_killLeftovers;
    QTimer m_overrun;
    pid_t m_pgid = 0;
    int m_reaped = 0;
    bool m_overran = false;
    bool m_groupGone = false;
    bool m_subreaper = false;
};

} // namespace

Engine::Engine(const Options &options, std::unique_ptr<StateStore> store, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_budgets(budgetsOf(options))
    , m_store(store ? std::move(store) : std::make_unique<StateStore>())
    , m_pool(makePool(options))
    , m_source(std::make_unique<RequestSource>())
    , m_coordinator(std::make_unique<ShutdownCoordinator>())
    , m_systemd(std::make_unique<SystemdNotifier>())
{
    // The app's work: simulated requests (the payload is the cost in ms). The thread names are the ones the
    // README, the watchdog's lines and the tests show.
    if (auto *threads = qobject_cast<WorkerPool *>(m_pool.get())) {
        threads->setJobFunction(m_simulatedJob.function());
        threads->setThreadNamePrefix(QStringLiteral("quiesce-worker-"));
    }
    m_coordinator->setOutput([this](const QString &text) { emitLines({text}); });
    // Our words on the quit path (README "Stopping"): the library's SHUTDOWN lines (its default wording, which the
    // README documents), our hint after the first one, our thread name.
    m_coordinator->setFirstRequestHint(
        QStringLiteral("SHUTDOWN hint: send the signal again (Ctrl+C) to stop fast, a third time to exit immediately"));
    m_coordinator->setWatchdogThreadName(QStringLiteral("quiesce-watchdg"));
    m_coordinator->setHardTimeout(m_budgets.hard);
    // Runs on the watchdog thread: only the pool's thread-safe snapshot, nothing of the main thread's state.
    // It also leaves the watchdog's record next to the state (raw write(2): the store may be what hung), so the
    // next start can say which request did not respond.
    const QByteArray recordPath = QFile::encodeName(
        watchdogRecordPath(m_options.statePath.isEmpty() ? StateStore::defaultPath() : m_options.statePath));
    m_coordinator->setDiagnostics([pool = m_pool.get(), recordPath] {
        QStringList busy;
        const auto workers = pool->snapshot();
        writeWatchdogRecord(recordPath, workers);
        for (const WorkerSnapshot &w : workers) {
            if (w.busy)
                busy << QStringLiteral("%1 request %2 busy %3 ms%4")
                            .arg(w.threadName)
                            .arg(w.jobId)
                            .arg(w.elapsedMs)
                            .arg(w.hung ? QStringLiteral(" (hung)") : QString());
        }
        return busy.isEmpty() ? QStringLiteral("no worker busy") : busy.join(QStringLiteral("; "));
    });
    registerPhases();

    connect(m_coordinator.get(), &ShutdownCoordinator::shutdownStarted, this, [this] { Q_EMIT countersChanged(); });
    // A step that overran with a worker stuck: say which request in the journal before moving on, committed with
    // the store's next batch, so that the next start can name it even if the watchdog ends this process and its
    // sidecar record is lost.
    connect(m_coordinator.get(), &ShutdownCoordinator::phaseFinished, this, [this](const PhaseRecord &record) {
        if (record.outcome != PhaseOutcome::TimedOut
            || (record.name != QLatin1StringView("drain") && record.name != QLatin1StringView("cancel")))
            return;
        const auto workers = m_pool->snapshot();
        const WorkerSnapshot *stuck = stuckWorker(workers);
        if (stuck == nullptr)
            return;
        m_stuckNote = stuckNote(*stuck, record.name);
        m_store->noteSession(QStringLiteral("stuck"), m_stuckNote);
    });

    // systemd: STOPPING=1, a STATUS= per phase saying what it does, and EXTEND_TIMEOUT_USEC covering the rest of
    // the hard deadline plus the grace margin, so TimeoutStopSec= never cuts a stop that is within its budgets.
    m_systemd->setExtendMargin(m_budgets.grace - m_budgets.hard);
    m_systemd->setPhaseStatus(QStringLiteral("pre-stop"), QStringLiteral("running the --pre-stop command"));
    m_systemd->setPhaseStatus(QStringLiteral("stop-intake"),
                              QStringLiteral("intake closed, committing the last accepted requests"));
    m_systemd->setPhaseStatus(QStringLiteral("drain"), QStringLiteral("waiting for the requests in flight"));
    m_systemd->setPhaseStatus(QStringLiteral("cancel"), QStringLiteral("cancelling the requests still in flight"));
    m_systemd->setPhaseStatus(QStringLiteral("save"), QStringLiteral("saving the state, requeueing unfinished work"));
    m_systemd->setPhaseStatus(QStringLiteral("stop-threads"), QStringLiteral("stopping the worker threads"));
    // The STATUS= texts are ours: what each mode means for this application's requests.
    m_systemd->setStatusFormatter([](const SystemdStatus &status) {
        switch (status.kind) {
        case SystemdStatus::Kind::Stopping:
            return QStringLiteral("Stopping (%1): intake closes, work in flight may finish").arg(status.reason);
        case SystemdStatus::Kind::Escalate:
            return QStringLiteral("Stopping %1 (%2, first %3): work in flight is cancelled now")
                .arg(shutdownModeName(status.mode), status.request.reason, status.reason);
        case SystemdStatus::Kind::PhaseBegin:
        case SystemdStatus::Kind::Stopped:
            break;
        }
        return SystemdNotifier::defaultStatus(status);
    });
    m_systemd->attach(m_coordinator.get());

    connect(m_source.get(), &RequestSource::generated, this, &Engine::onGenerated);
    connect(m_source.get(), &RequestSource::hangChosen, this, [this](quint64 id) {
        // A worker process has its own SimulatedJob: the hang travels in the payload it gets (onAccepted()).
        if (m_processPool)
            m_hangIds.insert(id);
        else
            m_simulatedJob.addHang(id);
    });
    connect(m_source.get(), &RequestSource::exhausted, this, &Engine::checkIdle);
    connect(m_source.get(), &RequestSource::pausedChanged, this, [this](bool paused) {
        m_counters.paused = paused;
        emitLines({QStringLiteral("INTAKE %1").arg(paused ? QStringLiteral("paused") : QStringLiteral("resumed"))});
        Q_EMIT countersChanged();
    });
    connect(m_store.get(), &StateStore::accepted, this, &Engine::onAccepted);
    connect(m_store.get(), &StateStore::intakeClosed, this, &Engine::onIntakeClosed);
    connect(m_store.get(), &StateStore::completed, this, &Engine::onCompleted);
    connect(m_store.get(), &StateStore::failed, this, [this](const QList<quint64> &ids) {
        m_failedCommitted += quint64(ids.size()); // closed: what checkIdle() waits for
        checkIdle();
    });
    connect(m_store.get(), &StateStore::commitFailed, this, [this](const QString &error) {
        emitLines({QStringLiteral("STATE write failed, retrying: %1").arg(error)});
    });
    connect(m_store.get(), &StateStore::commitRecovered, this,
            [this] { emitLines({QStringLiteral("STATE write recovered")}); });
    connect(m_pool.get(), &JobPool::jobsStarted, m_store.get(), &StateStore::markInProgress);
    connect(m_pool.get(), &JobPool::jobsDone, this, &Engine::onJobsDone);
    connect(m_pool.get(), &JobPool::jobsGivenBack, this, &Engine::onJobsGivenBack);
    connect(m_pool.get(), &JobPool::jobsFailed, this, &Engine::onJobsFailed);
    connect(m_pool.get(), &JobPool::capacityAvailable, this, &Engine::onCapacityAvailable);
    connect(m_pool.get(), &JobPool::idle, this, &Engine::checkIdle);

    connectProcessPool();

    m_throughputTimer.setInterval(1s);
    connect(&m_throughputTimer, &QTimer::timeout, this, [this] {
        m_counters.throughput = double(m_counters.done - m_doneAtLastTick);
        m_doneAtLastTick = m_counters.done;
        Q_EMIT countersChanged();
    });
}

Engine::~Engine() = default;

int Engine::descriptorsNeeded(int workers, bool window, Isolation isolation)
{
    // Measured headless with /proc/self/fd at READY: 14 descriptors with 1 worker, 21 with 8 — 5 inherited and
    // 8 + workers of our own (and the lowest `ulimit -n` that ran was 8 + workers + what was inherited below it,
    // before the worker threads moved ahead of the journal's transients). Counted part by part with room, so that
    // no thread start and no open can meet EMFILE where Qt or GLib abort (GLib's "Creating pipes for GWakeup",
    // Qt's "Can not continue without a thread pipe"):
    //   2  the signal bridge's socketpair
    //   2  the event dispatcher's wake-up descriptor of the main thread and of the store thread (one eventfd each,
    //      GLib's GWakeup or, with QT_NO_GLIB, Qt's QThreadPipe: 21 descriptors at READY with 8 workers either way)
    //   4  the journal: SQLite's database, -wal and -shm descriptors, and the lock file
    //   5  while opening: the validation connection (database, -wal), the directory SQLite syncs, the plugin
    //      directory scan and the QSQLITE plugin being loaded
    //   2  the output writer thread's event dispatcher wake-up (a QThread, though it runs no event loop), spare
    //   4  --pre-stop's child at shutdown: its process descriptor and pipes
    //   1  the shutdown watchdog's timer (a timerfd, made when its thread is parked)
    //   1  per worker thread: its event dispatcher's wake-up eventfd (the watchdog's is a plain thread: none);
    //      2 per worker process instead: its channel (a socketpair end) and its pidfd
    //  48  with a window: the display connection, fonts, input method, D-Bus, icon themes (a guess with room)
    // plus whatever was open when main() began (stdin, stdout, stderr and anything inherited).
    constexpr int kFixed = 2 + 2 + 4 + 5 + 2 + 4 + 1;
    const int kPerWorker = isolation == Isolation::Process ? 2 : 1;
    constexpr int kWindow = 48;
    return ResourceLimits::descriptorsOpenAtStart() + kFixed + kPerWorker * std::max(1, workers)
        + (window ? kWindow : 0);
}

namespace {
const QString kStoreThreadName = QStringLiteral("quiesce-store");
} // namespace

std::unique_ptr<StateStore> Engine::startStoreThread(QString *error)
{
    auto store = std::make_unique<StateStore>();
    if (!store->startThread(kStoreThreadName, error))
        return nullptr;
    return store;
}

bool Engine::startThreads(QString *error, int *exitCode)
{
    if (m_threadsStarted)
        return true;
    // Every thread the process needs, before the journal is touched: a thread that cannot be created (a pids
    // cgroup, RLIMIT_NPROC, address space) is one line and exit 71 with the file untouched, never a hang or an
    // abort later. The watchdog is parked here, so the shutdown itself creates no thread. The store thread comes
    // first: it loads the SQL driver plugin (about 0.5 M instructions, no file touched) while this thread creates
    // the others, and open() below runs on it.
    *exitCode = ExitCode::OsError;
    if (!m_store->startThread(kStoreThreadName, error)) // main() may have started it already
        return false;
    if (!m_coordinator->prepareWatchdog(error))
        return false;
    m_pool->setQueueLimit(m_options.tunables.queueLimit);
    // Worker threads are created here (a failure is known at once) but not waited for: they get going while the
    // journal opens, and finishOpen() waits for them. The open is handed over as soon as the store thread has loaded
    // the SQL driver, not after the workers' start (0.5-0.7 ms on the main thread, which outlasted that load).
    auto *threads = qobject_cast<WorkerPool *>(m_pool.get());
    const bool started = threads != nullptr ? threads->startWithoutWaiting(m_options.tunables.workers)
                                            : m_pool->start(m_options.tunables.workers);
    if (!started) {
        *error = m_pool->errorString();
        return false;
    }
    m_threadsStarted = true;
    *exitCode = ExitCode::Ok;
    return true;
}

StoreOptions Engine::storeOptions() const
{
    StoreOptions so;
    so.path = m_options.statePath.isEmpty() ? StateStore::defaultPath() : m_options.statePath;
    so.durability = m_options.durability;
    so.keepDoneMs = m_options.tunables.keepDone.count();
    so.threadName = kStoreThreadName;
    return so;
}

bool Engine::open(QString *error, int *exitCode)
{
    return beginOpen(error, exitCode) && finishOpen(error, exitCode);
}

bool Engine::beginOpen(QString *error, int *exitCode)
{
    if (!startThreads(error, exitCode))
        return false;
    // Cannot fail here: the store thread runs (startThreads()) and nothing has opened the store yet. Should it
    // anyway, finishOpen() reports it as open() would.
    m_store->beginOpen(storeOptions());
    return true;
}

bool Engine::finishOpen(QString *error, int *exitCode)
{
    // From here on the workers run under their names (ps, /proc, a debugger), as after WorkerPool::start().
    if (auto *threads = qobject_cast<WorkerPool *>(m_pool.get()))
        threads->waitUntilRunning();
    StoreOptions so = storeOptions();
    if (m_store->finishOpen()) {
        // Ours to take now: we hold the state's lock. The sidecar first, else the journal's "stuck" record.
        m_watchdogRecord = withJournalRecord(takeWatchdogRecord(so.path), m_store->recovery());
        return true;
    }
    if (m_options.resetState && StateStore::exitCode(m_store->error()) == ExitCode::DataError) {
        QString movedTo;
        if (!StateStore::moveAside(so.path, &movedTo, error)) {
            *exitCode = ExitCode::CantCreate;
            return false;
        }
        emitLines({QStringLiteral("STATE %1 moved aside to %2; starting fresh").arg(so.path, movedTo)});
        // The real file was moved (a symlinked --state is resolved): start fresh there, so the link points at it.
        so.path = m_store->path();
        if (m_store->open(so)) {
            m_watchdogRecord = withJournalRecord(takeWatchdogRecord(so.path), m_store->recovery());
            return true;
        }
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
    if (m_watchdogRecord.present)
        emitLines({watchdogRecoveryLine(m_watchdogRecord)});
    if (recovery.migratedFrom > 0)
        emitLines({QStringLiteral("RECOVERY state upgraded from schema %1; the previous file is kept at %2")
                       .arg(recovery.migratedFrom)
                       .arg(recovery.backupPath)});
    if (recovery.failed > 0)
        emitLines({QStringLiteral("RECOVERY %1 failed requests kept (inspect --ids lists them; requeue-failed or "
                                  "purge-failed decides)")
                       .arg(recovery.failed)});
    // What SQLite's recovery dropped from the WAL (checked before it opened the journal), never silently.
    // Machine-readable key=value pairs (README "RECOVERY wal=").
    if (recovery.walDamaged)
        emitLines({QStringLiteral("RECOVERY wal=damaged damage=%1 first_bad_frame=%2 frames_dropped=%3 "
                                  "commits_dropped=%4 missing_from_id=%5 next_id=%6: the journal's write-ahead log "
                                  "was damaged; accepted requests from id %5 on may be missing")
                       .arg(recovery.walHeaderDamaged ? QStringLiteral("header") : QStringLiteral("frame"))
                       .arg(recovery.walFirstBadFrame)
                       .arg(recovery.walFramesDropped)
                       .arg(recovery.walCommitsDropped)
                       .arg(recovery.highestId + 1)
                       .arg(m_store->nextId())});
    else if (recovery.walTorn)
        emitLines({QStringLiteral("RECOVERY wal=torn frames_dropped=%1 commits_dropped=%2 next_id=%3: an uncommitted "
                                  "transaction was cut off by the crash; nothing accepted is lost")
                       .arg(recovery.walFramesDropped)
                       .arg(recovery.walCommitsDropped)
                       .arg(m_store->nextId())});

    m_counters.workers = m_pool->workerCount(); // started by open(), before the journal

    // Pending work from earlier runs goes first, before any new arrival.
    const QList<Job> pending = m_store->pendingJobs();
    for (const Job &job : pending)
        m_pool->submit(job);
    m_counters.recovered = quint64(pending.size());
    if (!pending.isEmpty())
        emitLines({QStringLiteral("RECOVERY %1 pending requests queued first").arg(pending.size())});

    m_source->setConfig(sourceConfig(m_options));
    m_source->setNextId(m_store->nextId());
    // The N-th request generated in this run gets the N-th new id.
    if (m_options.simulateCrash != 0)
        m_crashId = m_store->nextId() + m_options.simulateCrash - 1;
    m_source->start();
    m_throughputTimer.start();

    // Startup is complete: a stop request that arrived during it (sticky) runs from here on, never earlier.
    m_coordinator->setReady();
    emitLines({QStringLiteral("CONFIG budgets %1").arg(m_budgets.describe()),
               QStringLiteral("READY pid=%1").arg(::getpid())});
    m_systemd->ready();
    m_systemd->status(m_processPool && m_processPool->isDegraded()
                          ? QStringLiteral("Running degraded: accepting requests")
                          : QStringLiteral("Running: accepting requests"));
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
        // Signals that arrived together still count one by one on the escalation ladder (at most three steps);
        // a repeat by the same sender within the bridge's duplicate window (timeout's kill(pid) + kill(-pgid)) is
        // the same request, not a second one.
        for (quint64 i = 0; i < qMin<quint64>(event.distinctCount(), 3); ++i)
            m_coordinator->requestShutdown(request);
        break;
    }
    case SIGHUP:
        if (m_options.onHangup != OnHangup::Stop) {
            reloadConfig();
            break;
        }
        // The terminal went away: a stop request that never escalates. The kernel's SIGHUP and the shell's
        // arrive together, so every SIGHUP once a stop is under way is ignored (a SIGTERM still escalates).
        if (!m_coordinator->isShuttingDown()) {
            ShutdownRequest request;
            request.reason = QStringLiteral("hangup");
            request.signo = SIGHUP;
            request.senderPid = event.senderPid;
            m_coordinator->requestShutdown(request);
        }
        break;
    case SIGUSR1:
        Q_EMIT line(statusLine()); // straight out: no list around the one line
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
    // From the grace period (budgets.h); a reload changes them with setPhaseBudget(), see applyTunables().
    const Budgets &budget = m_budgets;
    if (!m_options.preStopCommand.isEmpty()) {
        // Like Kubernetes' preStop hook: runs before intake stops. The child gets a clean signal state (no
        // inherited blocked mask or ignored SIGPIPE, no bridge sockets) and its own process group, which is ended
        // and reaped as a whole (PreStopRun).
        m_coordinator->addPhase(
            QStringLiteral("pre-stop"), kPreStopOrder, budget.preStop, [this](ShutdownPhaseContext *ctx) {
                auto *run = new PreStopRun(ctx, [this](const QString &text) { emitLines({text}); });
                QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
                env.insert(QStringLiteral("QUIESCE_PID"), QString::number(::getpid()));
                env.insert(QStringLiteral("QUIESCE_REASON"), ctx->report().request.reason);
                // SIGKILL for the whole group at the budget, and again as the quit path ends (whatever phase
                // it reached): no hook process outlives us.
                connect(m_coordinator.get(), &ShutdownCoordinator::phaseFinished, run,
                        [run](const PhaseRecord &record) {
                            if (record.name == QLatin1StringView("pre-stop"))
                                run->endGroupNow();
                        });
                connect(m_coordinator.get(), &ShutdownCoordinator::finished, run, [run] { run->endGroupNow(); });
                run->start(m_options.preStopCommand, env);
            });
    }

    m_coordinator->addPhase(
        QStringLiteral("stop-intake"), kStopIntakeOrder, budget.stopIntake, [this](ShutdownPhaseContext *ctx) {
            m_intakeOpen = false;
            m_source->stop();
            m_pool->stopIntake();
            // Requests given back under backpressure were never accepted (no row, no 'accepted' line): the source
            // drops them with stop(), nothing is lost. Those handed to the store are committed while the budget
            // allows and discarded after that (never acknowledged, so nothing is lost either): the store answers
            // with intakeClosed() once no accept can follow, so no 'accepted' line comes after this phase, backlog
            // or failing disk alike. A quarter of the budget (at most 500 ms) is left for that answer to arrive.
            QPointer<ShutdownPhaseContext> guard(ctx);
            m_intakeClosed = [this, guard] {
                if (!guard)
                    return;
                guard->setCount(QStringLiteral("discarded"), qint64(m_discarded));
                guard->complete(m_discarded == 0
                                    ? QString()
                                    : QStringLiteral("%1 uncommitted requests discarded").arg(m_discarded));
            };
            // A phase without a budget (library users may run one so) commits every queued accept.
            const qint64 remaining = ctx->deadline().remainingTime();
            if (remaining < 0)
                m_store->closeIntake(QDeadlineTimer(QDeadlineTimer::Forever));
            else
                m_store->closeIntake(
                    QDeadlineTimer(remaining - std::min<qint64>(remaining / 4, 500), Qt::PreciseTimer));
            // Nothing handed to the store waits for its commit: no 'accepted' line can follow (onAccepted() only
            // reports what is awaited) and nothing can be discarded, so the store's answer would say nothing new.
            // The phase ends now instead of a round trip to the store thread later; the store still closes its
            // intake, ahead of the save queued behind it, and its answer finds no phase to complete.
            if (m_awaitingCommit.isEmpty())
                std::exchange(m_intakeClosed, nullptr)();
        });
    connect(m_coordinator.get(), &ShutdownCoordinator::phaseFinished, this, [this](const PhaseRecord &record) {
        if (record.name == QLatin1StringView("stop-intake"))
            m_intakeSealed = true;
    });

    m_coordinator->addPhase(QStringLiteral("drain"), kDrainOrder, budget.drain, [this](ShutdownPhaseContext *ctx) {
        auto finish = [this, ctx] {
            ctx->setCount(QStringLiteral("in_flight_after_drain"), m_pool->inFlightCount());
            // Every worker slot crash-looped: nothing could drain. The stop is orderly all the same (the phases
            // after this one run, the state is saved); the exit code says what happened (69).
            if (m_noSlotLeft)
                ctx->fail(ExitCode::NoWorkerSlot,
                          QStringLiteral("no worker slot left: every worker process crash-looped"));
            else
                ctx->complete();
        };
        if (m_pool->inFlightCount() == 0 || ctx->mode() != ShutdownMode::Graceful) {
            finish();
            return;
        }
        connect(m_pool.get(), &JobPool::drained, ctx, finish);
        connect(ctx, &ShutdownPhaseContext::modeChanged, ctx, finish);
        m_pool->drain();
    });

    m_coordinator->addPhase(QStringLiteral("cancel"), kCancelOrder, budget.cancel, [this](ShutdownPhaseContext *ctx) {
        auto finishIfDone = [this, ctx] {
            ctx->setCount(QStringLiteral("cancelled"), qint64(m_returnedIds.size()));
            if (m_pool->inFlightCount() == 0)
                ctx->complete();
        };
        if (m_pool->inFlightCount() == 0) {
            finishIfDone();
            return;
        }
        connect(m_pool.get(), &JobPool::jobsGivenBack, ctx, finishIfDone);
        connect(m_pool.get(), &JobPool::jobsDone, ctx, finishIfDone);
        connect(m_pool.get(), &JobPool::jobsFailed, ctx, finishIfDone);
        m_pool->cancel();
    });

    m_coordinator->addPhase(QStringLiteral("save"), kSaveOrder, budget.save, [this](ShutdownPhaseContext *ctx) {
        // Requeue what was cancelled and what is still stuck in a worker: both are unfinished and stay pending.
        QList<quint64> requeue = m_returnedIds;
        const auto workers = m_pool->snapshot();
        for (const WorkerSnapshot &w : workers) {
            if (w.busy && !requeue.contains(w.jobId))
                requeue.append(w.jobId);
        }
        ctx->setCount(QStringLiteral("accepted"), qint64(m_counters.accepted));
        ctx->setCount(QStringLiteral("finished"), qint64(m_jobsDone));
        if (m_processPool)
            ctx->setCount(QStringLiteral("failed"), qint64(m_counters.failed));
        ctx->setCount(QStringLiteral("requeued"), requeue.size());
        ctx->setCount(QStringLiteral("left_pending"), m_pool->queuedCount());
        ctx->setCount(QStringLiteral("shed"), qint64(m_counters.shed));
        if (m_acceptedLate > 0)
            ctx->setCount(QStringLiteral("accepted_late"), qint64(m_acceptedLate));
        const ShutdownReport report = ctx->report();
        SessionRecord record;
        record.reason = report.request.reason;
        record.senderPid = report.request.senderPid;
        record.exitCode = report.exitCode;
        record.report = report.toJson();
        if (!m_stuckNote.isEmpty()) {
            // The final word on the note: still stuck (the watchdog will most likely end the process), or null
            // when the worker came free after all. A worker process never waits for the watchdog: stop-threads
            // kills it, and the run ends in order.
            const quint64 id = quint64(m_stuckNote.value(QStringLiteral("request")).toInteger());
            const bool stillBusy = !m_processPool
                && std::any_of(workers.cbegin(), workers.cend(),
                               [id](const WorkerSnapshot &w) { return w.busy && w.jobId == id; });
            record.report.insert(QStringLiteral("stuck"), stillBusy ? QJsonValue(m_stuckNote) : QJsonValue());
        }
        connect(m_store.get(), &StateStore::saved, ctx, [ctx](bool ok, const QString &error) {
            if (ok)
                ctx->complete();
            else
                ctx->fail(ExitCode::IoError, error);
        });
        m_store->save(requeue, record);
        // Worker threads with nothing in flight have nothing left to do but end: they end now, on the other core
        // while the store thread waits for the disk, instead of one after the other once the save is over.
        // stop-threads still waits for them (and bounds that wait) and reports them as before. Worker processes
        // and busy threads keep their place in stop-threads: a process is ended with signals, and a busy thread
        // keeps its job until the save has recorded it as requeued.
        if (!m_processPool && m_pool->inFlightCount() == 0) {
            m_earlyStopConnection = connect(m_pool.get(), &JobPool::stopped, this, [this](const StopReport &stop) {
                m_earlyStop = std::make_unique<StopReport>(stop);
            });
            m_pool->stop(QDeadlineTimer(QDeadlineTimer::Forever));
        }
    });
    // A save that does not end within its budget (a stalled disk) broke the promise as surely as a failed one:
    // 74, with "save timed out after N ms" in the phase's line. Its thread is never destroyed while running: see
    // stop-threads and main().
    m_coordinator->setPhaseTimeoutExitCode(QStringLiteral("save"), ExitCode::IoError);

    // The budget reaches past the hard deadline on purpose: a thread that cannot be stopped is never destroyed
    // while running and never terminated, so the process must not leave exec() while one runs. The watchdog
    // ends such a process with exit code 70 at the hard deadline.
    m_coordinator->addPhase(
        QStringLiteral("stop-threads"), kStopThreadsOrder, m_budgets.hard + 60s, [this](ShutdownPhaseContext *ctx) {
            const auto onStopped = [this, ctx](const StopReport &report) {
                if (m_processPool) {
                    ctx->setCount(QStringLiteral("workers_stopped"), report.stopped);
                    ctx->setCount(QStringLiteral("workers_killed"), report.killed);
                }
                // Worker processes are always ended: killed at the deadline if need be (their jobs were requeued by
                // the save phase, as busy ones), and reaped before stopped() comes.
                if (report.allStopped || m_processPool) {
                    m_throughputTimer.stop();
                    // The store thread ends with its save; one still saving after the save phase timed out is
                    // blocked in the disk. Waiting for it would only trade 74 for the watchdog's 70, and joining it
                    // could hang: main() leaves without destroying it (isStoreRunning()).
                    if (m_store->isOpen())
                        emitLines({QStringLiteral("SHUTDOWN store thread still saving; exiting without it")});
                    ctx->complete();
                    return;
                }
                m_stuckThreads = true;
                emitLines({QStringLiteral("SHUTDOWN stuck %1; left to the watchdog").arg(report.describe())});
            };
            // Stopped during the save already (idle threads): that report is the one. Otherwise this phase's
            // deadline bounds the stop, also for threads the save phase asked to end that have not yet.
            if (m_earlyStop) {
                onStopped(*m_earlyStop);
                return;
            }
            disconnect(m_earlyStopConnection);
            connect(m_pool.get(), &JobPool::stopped, ctx, onStopped);
            m_pool->stop(QDeadlineTimer(workerStopBudget()));
        });
}

void Engine::onGenerated(const Job &request)
{
    if (!m_intakeOpen)
        return;
    if (!m_pool->tryReserve()) {
        // The queue is full, partly of accepts waiting for their commit: nothing more can join their batch until
        // it commits, so it should not wait for the flush interval.
        m_store->commitSoon();
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
    Job job = request;
    // --simulate-crash: the marker goes into the journal with the job, so the crash follows it across attempts and
    // runs (the worker process's SimulatedJob acts on it; thread mode ignores it).
    if (m_crashId != 0 && job.id == m_crashId)
        job.payload += " crash";
    m_awaitingCommit.insert(job.id, job);
    m_store->accept(job);
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
        Job request = *it;
        m_awaitingCommit.erase(it);
        // --simulate-hang in a worker process: only the copy the pool gets says so (a recovered job never hangs).
        if (m_processPool && m_hangIds.remove(id))
            request.payload += " hang";
        if (m_intakeSealed) {
            // Only a batch whose commit outlasted the stop-intake budget lands here: the row is pending and runs
            // first at the next start, but intake is closed, so it is neither printed nor counted as accepted.
            ++m_acceptedLate;
            m_pool->cancelReservation(); // never submitted: its queue slot goes back
            continue;
        }
        ++m_counters.accepted;
        if (m_options.logRequests)
            lines << QStringLiteral("accepted id=%1").arg(id);
        m_pool->submit(request);
    }
    emitLines(lines);
}

void Engine::onIntakeClosed(const QList<quint64> &discardedIds)
{
    for (quint64 id : discardedIds) {
        if (m_awaitingCommit.remove(id)) {
            ++m_discarded;
            m_pool->cancelReservation(); // never submitted: its queue slot goes back
        }
    }
    if (m_intakeClosed)
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

void Engine::onJobsDone(const QList<Job> &jobs)
{
    m_jobsDone += quint64(jobs.size());
    m_store->markDone(idsOf(jobs));
}

void Engine::onJobsGivenBack(const QList<Job> &jobs)
{
    m_returnedIds += idsOf(jobs);
}

void Engine::onJobsFailed(const QList<JobFailure> &failures)
{
    // The simulated job fails only on a payload it cannot read: retrying it could never succeed, so it is kept as
    // failed with the reason (inspect shows it; requeue-failed brings it back), never dropped.
    QStringList lines;
    for (const JobFailure &f : failures)
        lines << QStringLiteral("failed id=%1: %2").arg(f.job.id).arg(f.reason);
    emitLines(lines);
    m_counters.failed += quint64(failures.size());
    m_store->markFailed(failures);
    checkIdle();
}

void Engine::checkIdle()
{
    if (!m_options.exitWhenIdle || m_coordinator->isShuttingDown())
        return;
    const bool idle = m_source->isExhausted() && m_awaitingCommit.isEmpty() && m_pool->queuedCount() == 0
        && m_pool->inFlightCount() == 0 && m_jobsDone == m_counters.done && m_counters.failed == m_failedCommitted;
    if (idle)
        requestShutdown(QStringLiteral("idle"));
}

void Engine::reloadConfig()
{
    // systemd: RELOADING=1 (with MONOTONIC_USEC) until READY=1, whatever the reload's outcome; never while
    // stopping, where READY=1 would say the opposite of STOPPING=1.
    const bool announce = !m_coordinator->isShuttingDown();
    if (announce)
        m_systemd->reloading();
    const auto reloaded = qScopeGuard([this, announce] {
        if (announce)
            m_systemd->ready();
    });
    if (m_options.configPath.isEmpty()) {
        emitLines({QStringLiteral("CONFIG SIGHUP ignored: no --config file to reload")});
        return;
    }
    // Recomputed from scratch (defaults, the file, the command line), never read over the values in force: the
    // command line keeps winning, and a key removed from the file goes back to its default.
    // The budgets must fit the grace period as at start (resolveTunables() checks them): one refusal wording for
    // every reason, the current settings kept.
    Tunables next;
    QString error;
    QString notice;
    if (!resolveTunables(m_options, &next, &error, &notice)) {
        emitLines({QStringLiteral("CONFIG reload failed, keeping the current settings: %1").arg(error)});
        return;
    }
    // Described after applying: a refused worker count is not reported as a change.
    const Tunables previous = m_options.tunables;
    const Budgets before = m_budgets;
    applyTunables(next);
    QString changes = describeChanges(previous, m_options.tunables);
    // The widened grace period is news only when the budgets moved (at start it went to stderr already).
    if (m_budgets != before) {
        changes += (changes.isEmpty() ? QString() : QStringLiteral("; ")) + QStringLiteral("budgets ")
            + m_budgets.describe() + (notice.isEmpty() ? QString() : QStringLiteral("; ") + notice);
    }
    QString text = QStringLiteral("CONFIG reloaded %1: %2")
                       .arg(m_options.configPath, changes.isEmpty() ? QStringLiteral("no changes") : changes);
    if (!m_options.explicitTunables.isEmpty())
        text += QStringLiteral("; kept from the command line: %1")
                    .arg(m_options.explicitTunables.join(QStringLiteral(", ")));
    emitLines({text});
}

void Engine::applyTunables(const Tunables &tunables)
{
    const Isolation running = m_options.tunables.isolation;
    m_options.tunables = tunables;
    if (tunables.isolation != running) {
        // Threads cannot become processes under running work: the mode is chosen at start.
        m_options.tunables.isolation = running;
        emitLines({QStringLiteral("CONFIG isolation %1 -> %2 needs a restart; keeping %1")
                       .arg(isolationName(running), isolationName(tunables.isolation))});
    }
    if (m_processPool)
        m_processPool->setHeartbeatTimeout(int(tunables.workerTimeout.count()));
    SourceConfig config = m_source->config();
    config.ratePerSecond = tunables.rate;
    config.workMinMs = tunables.workMinMs;
    config.workMaxMs = tunables.workMaxMs;
    m_source->setConfig(config);
    const int current = m_pool->workerCount();
    if (tunables.workers > 0 && tunables.workers != current && !m_coordinator->isShuttingDown()) {
        // A reload never stops a running service: more workers than the descriptor limit carries, or threads the
        // system refuses, leave the count where it is (or where the threads that did start brought it).
        const int needed = descriptorsNeeded(tunables.workers, !m_options.headless, running);
        const quint64 limit = ResourceLimits::descriptorLimit();
        if (tunables.workers > current && quint64(needed) > limit) {
            emitLines({QStringLiteral("CONFIG workers %1 -> %2 refused, keeping %1: %2 workers need about %3 "
                                      "descriptors, the limit is %4 (ulimit -n)")
                           .arg(current)
                           .arg(tunables.workers)
                           .arg(needed)
                           .arg(limit)});
        } else if (!m_pool->setWorkerCount(tunables.workers)) {
            emitLines({QStringLiteral("CONFIG workers %1 -> %2 refused, running %3: %4")
                           .arg(current)
                           .arg(tunables.workers)
                           .arg(m_pool->workerCount())
                           .arg(m_pool->errorString())});
        }
        m_options.tunables.workers = m_pool->workerCount();
    }
    m_pool->setQueueLimit(tunables.queueLimit);
    const Budgets budgets = budgetsOf(m_options);
    if (budgets != m_budgets) {
        m_budgets = budgets;
        m_coordinator->setPhaseBudget(QStringLiteral("pre-stop"), budgets.preStop);
        m_coordinator->setPhaseBudget(QStringLiteral("stop-intake"), budgets.stopIntake);
        m_coordinator->setPhaseBudget(QStringLiteral("drain"), budgets.drain);
        m_coordinator->setPhaseBudget(QStringLiteral("cancel"), budgets.cancel);
        m_coordinator->setPhaseBudget(QStringLiteral("save"), budgets.save);
        m_coordinator->setPhaseBudget(QStringLiteral("stop-threads"), budgets.hard + 60s);
        m_coordinator->setHardTimeout(budgets.hard);
        m_systemd->setExtendMargin(budgets.grace - budgets.hard);
    }
    Q_EMIT countersChanged();
}

Budgets Engine::budgets() const
{
    return m_budgets;
}

void Engine::setWindowTunable(const QString &key, const QString &text)
{
    auto &layer = m_options.windowTunables;
    layer.removeIf([&key](const std::pair<QString, QString> &entry) { return entry.first == key; });
    layer.append({key, text});
}

void Engine::clearWindowTunables()
{
    m_options.windowTunables.clear();
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

WatchdogRecord Engine::watchdogRecord() const
{
    return m_watchdogRecord;
}

RecoveryInfo Engine::recovery() const
{
    return m_store->recovery();
}

ShutdownCoordinator *Engine::coordinator() const
{
    return m_coordinator.get();
}

JobPool *Engine::pool() const
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
    c.busy = m_pool->busyCount();
    c.paused = m_source->isPaused();
    c.disabledWorkers = m_processPool ? m_processPool->disabledSlotCount() : 0;
    return c;
}

std::chrono::milliseconds Engine::workerStopBudget() const
{
    if (!m_processPool || !m_shutdownClock.isValid())
        return kThreadJoinBudget;
    // A worker process that does not stop is killed, so its stop must end inside the hard deadline (a thread that
    // does not stop is left to the watchdog instead).
    const auto left = m_budgets.hard - std::chrono::milliseconds(m_shutdownClock.elapsed()) - kAfterWorkersKilled;
    return std::clamp<std::chrono::milliseconds>(left, kShortestWorkerStop, kThreadJoinBudget);
}

QString Engine::workerProgram()
{
    const QString configured = qEnvironmentVariable("QUIESCE_WORKER");
    if (!configured.isEmpty())
        return configured;
    return QCoreApplication::applicationDirPath() + QStringLiteral("/quiesce-worker");
}

void Engine::killWorkersNow()
{
    // The immediate exit function also runs on the watchdog thread, where the pool must not be touched: there the
    // workers go with us (PR_SET_PDEATHSIG, EOF on their channels).
    if (m_processPool && QThread::currentThread() == thread())
        m_processPool->killAllNow();
}

void Engine::connectProcessPool()
{
    m_processPool = qobject_cast<ProcessPool *>(m_pool.get());
    if (!m_processPool)
        return;
    connect(m_pool.get(), &JobPool::jobsLost, this, &Engine::onJobsLost);
    connect(m_processPool, &ProcessPool::noSlotsLeft, this, &Engine::onNoSlotsLeft);
    connect(m_processPool, &ProcessPool::degradedChanged, this, [this](bool degraded) {
        const int disabled = m_processPool->disabledSlotCount();
        if (degraded)
            emitLines({QStringLiteral("WORKERS degraded disabled=%1 workers=%2: a worker slot crashed more than %3 "
                                      "times in %4 ms and is not restarted; running on the others")
                           .arg(disabled)
                           .arg(m_pool->workerCount())
                           .arg(m_processPool->crashLoopLimit())
                           .arg(m_processPool->crashLoopWindowMs())});
        else
            emitLines({QStringLiteral("WORKERS whole again: no slot is disabled")});
        if (!m_coordinator->isShuttingDown())
            m_systemd->status(degraded ? QStringLiteral("Running degraded: %1 of %2 worker processes disabled after "
                                                        "crashing repeatedly; accepting requests")
                                             .arg(disabled)
                                             .arg(m_pool->workerCount())
                                       : QStringLiteral("Running: accepting requests"));
        Q_EMIT countersChanged();
    });
    connect(m_processPool, &ProcessPool::workerStarted, this, [this](int slot, qint64 pid) {
        emitLines({QStringLiteral("WORKER slot=%1 pid=%2 started").arg(slot).arg(pid)});
    });
    connect(m_processPool, &ProcessPool::workerExited, this, [this](int slot, qint64 pid, const QString &how) {
        emitLines({QStringLiteral("WORKER slot=%1 pid=%2 %3").arg(slot).arg(pid).arg(how)});
    });
    connect(m_coordinator.get(), &ShutdownCoordinator::shutdownStarted, this, [this] { m_shutdownClock.start(); });
}

void Engine::onJobsLost(const QList<JobFailure> &lost)
{
    // The parent is the only writer of the journal: a job whose worker died goes back to pending with its crash
    // count raised, or, once it has taken down --max-attempts workers, is marked failed (a poison job), never
    // requeued forever and never dropped silently.
    QStringList lines;
    QList<JobFailure> poison;
    QList<Job> again;
    for (const JobFailure &f : lost) {
        if (f.job.crashes >= m_options.tunables.maxAttempts) {
            poison.append({f.job,
                           QStringLiteral("its worker process died under it %1 times, the last time: %2")
                               .arg(f.job.crashes)
                               .arg(f.reason)});
            lines << QStringLiteral("LOST id=%1 crashes=%2 failed: %3").arg(f.job.id).arg(f.job.crashes).arg(f.reason);
        } else {
            again.append(f.job);
            lines
                << QStringLiteral("LOST id=%1 crashes=%2 requeued: %3").arg(f.job.id).arg(f.job.crashes).arg(f.reason);
        }
    }
    emitLines(lines);
    if (!poison.isEmpty()) {
        m_store->markFailed(poison);
        m_counters.failed += quint64(poison.size());
    }
    if (!again.isEmpty()) {
        m_store->requeueCrashed(idsOf(again));
        for (const Job &job : std::as_const(again))
            m_pool->submit(job);
    }
    Q_EMIT countersChanged();
    QMetaObject::invokeMethod(this, &Engine::checkIdle, Qt::QueuedConnection);
}

void Engine::onNoSlotsLeft()
{
    // Nothing can be processed any more: stop in order (intake closes, queued work stays pending for the next
    // start) and end with 69, which a supervisor may well restart (the unit's Restart=on-failure).
    m_noSlotLeft = true;
    emitLines({QStringLiteral("WORKERS no slot left: every worker process crash-looped; stopping (exit %1)")
                   .arg(ExitCode::NoWorkerSlot)});
    requestShutdown(QStringLiteral("no-worker-slot"));
}

QString Engine::workersStatus() const
{
    // Machine-readable, one comma-separated list per key, in slot order (README, "Process isolation").
    QStringList pids;
    QStringList states;
    QStringList restarts;
    const auto workers = m_pool->snapshot();
    for (const WorkerSnapshot &w : workers) {
        pids << QString::number(w.pid);
        states << (w.state.isEmpty() ? (w.busy ? QStringLiteral("busy") : QStringLiteral("idle")) : w.state);
        restarts << QString::number(w.restarts);
    }
    return QStringLiteral(" isolation=process degraded=%1 failed=%2 pids=%3 states=%4 restarts=%5")
        .arg(m_processPool->disabledSlotCount())
        .arg(m_counters.failed)
        .arg(pids.join(QLatin1Char(',')), states.join(QLatin1Char(',')), restarts.join(QLatin1Char(',')));
}

namespace {

/* The numbers of the STATUS line, formatted into one buffer on the stack: no QString, allocation or locale per
   number. SIGUSR1 -> STATUS is a latency figure, and on a machine where the caches went cold since the last signal
   every allocation and every page of formatting code touched shows in it. The text is what QString::number() gives
   (C locale; 'g' with 6 digits for the doubles, whose usual values, whole numbers below 10^6, print as integers). */
class StatusNumbers
{
public:
    template<typename Int>
    void add(QLatin1StringView key, Int value)
    {
        append(key);
        const auto [end, error] = std::to_chars(m_text + m_size, m_text + sizeof m_text, value);
        if (error == std::errc())
            m_size = std::size_t(end - m_text);
    }

    void add(QLatin1StringView key, double value)
    {
        if (std::isfinite(value) && value == std::trunc(value) && std::abs(value) < 1e6
            && !(value == 0 && std::signbit(value))) {
            add(key, qint64(value));
            return;
        }
        append(key);
        append(QLatin1StringView(QString::number(value, 'g', 6).toLatin1()));
    }

    QLatin1StringView text() const { return QLatin1StringView(m_text, qsizetype(m_size)); }

private:
    void append(QLatin1StringView part)
    {
        const std::size_t n = std::min(std::size_t(part.size()), sizeof m_text - m_size);
        std::memcpy(m_text + m_size, part.data(), n);
        m_size += n;
    }

    char m_text[512]; // ten keys and numbers take less than 300
    std::size_t m_size = 0;
};

} // namespace

QString Engine::statusLine() const
{
    const EngineCounters c = counters();
    const QString phase = m_coordinator->isShuttingDown() ? m_coordinator->currentPhase() : QStringLiteral("running");
    using namespace Qt::Literals::StringLiterals;
    StatusNumbers numbers;
    numbers.add(" accepted="_L1, c.accepted);
    numbers.add(" done="_L1, c.done);
    numbers.add(" queued="_L1, c.queued);
    numbers.add(" in_flight="_L1, c.inFlight);
    numbers.add(" shed="_L1, c.shed);
    numbers.add(" recovered="_L1, c.recovered);
    numbers.add(" workers="_L1, c.workers);
    numbers.add(" busy="_L1, c.busy);
    numbers.add(" paused="_L1, c.paused ? 1 : 0);
    numbers.add(" rate="_L1, m_options.tunables.rate);
    numbers.add(" throughput="_L1, c.throughput);
    // One allocation for the whole line (the process pool's part, when there is one, adds a second).
    const QString shownPhase = phase.isEmpty() ? QStringLiteral("exiting") : phase;
    const QLatin1StringView head("STATUS phase=");
    QString text(head.size() + shownPhase.size() + numbers.text().size(), Qt::Uninitialized);
    QChar *out = text.data();
    out = std::transform(head.begin(), head.end(), out, [](char ch) { return QChar::fromLatin1(ch); });
    out = std::copy(shownPhase.cbegin(), shownPhase.cend(), out);
    std::transform(numbers.text().begin(), numbers.text().end(), out, [](char ch) { return QChar::fromLatin1(ch); });
    if (m_processPool)
        text += workersStatus();
    return text;
}

bool Engine::hasStuckThreads() const
{
    return m_stuckThreads;
}

bool Engine::isStoreRunning() const
{
    return m_store->isOpen();
}

void Engine::emitLines(const QStringList &lines)
{
    for (const QString &text : lines)
        Q_EMIT line(text);
}

} // namespace Quiesce::App
