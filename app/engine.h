#pragma once

#include "budgets.h"
#include "options.h"
#include "simulatedjob.h"
#include "watchdogrecord.h"
#include <Quiesce/job.h>
#include <Quiesce/shutdowncoordinator.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtCore/QTimer>

#include <memory>

namespace Quiesce {
class RequestSource;
class JobPool;
class ProcessPool;
class StateStore;
class SystemdNotifier;
class UnixSignalNotifier;
struct SignalEvent;
struct RecoveryInfo;
struct StopReport;
struct StoreOptions;
struct JobFailure;
} // namespace Quiesce

namespace Quiesce::App {

/*! Counters shown in the STATUS line and the window. */
struct EngineCounters
{
    quint64 accepted = 0;  //!< committed as pending in this run
    quint64 done = 0;      //!< committed as done in this run
    quint64 shed = 0;      //!< refused because the queue was full (--overflow shed); never accepted
    quint64 recovered = 0; //!< pending from earlier runs, processed first
    int queued = 0;
    int inFlight = 0;
    int workers = 0;
    int busy = 0;
    int disabledWorkers = 0; //!< --isolation process: slots the crash-loop guard disabled (the pool is degraded)
    quint64 failed = 0;      //!< --isolation process: requests marked failed in this run (poison: --max-attempts)
    double throughput = 0;   //!< done per second over the last second
    bool paused = false;
};

/*! \brief Wires the library's parts into the application; shared by the headless and the windowed front end.

    Owns the state store, the worker pool, the request source and the shutdown coordinator, routes every stop
    trigger (signals, window, logout, --exit-when-idle) into the coordinator, and registers the quit path's
    phases in order: stop-intake, drain, cancel, save, stop-threads. It prints nothing itself: every lifecycle
    line goes out through line(), which main() writes to stdout and the window shows in its log. */
class Engine : public QObject
{
    Q_OBJECT

public:
    /*! \a store, when given, is the journal with its thread started already (startStoreThread()): main() starts it
        before any other thread, because the journal's open is the longest step before READY and the SQL driver
        loads on that thread meanwhile. Without it the engine makes its own in open(). */
    explicit Engine(const Options &options, std::unique_ptr<StateStore> store = nullptr, QObject *parent = nullptr);
    ~Engine() override;

    /*! A StateStore whose thread (named as the engine names it) runs and loads the SQL driver, for the constructor;
        touches no file. nullptr and a one-line \a error ("cannot start thread ...", exit 71) if it cannot start. */
    static std::unique_ptr<StateStore> startStoreThread(QString *error);

    /*! Starts every thread (the parked watchdog, the workers), then opens the state (and recovers it) before the
        event loop runs. On failure returns false with a one-line error and the documented exit code (71 when a
        thread could not be created; the state file is not touched then); nothing runs then. */
    bool open(QString *error, int *exitCode);
    /*! \brief open() in two halves, for a front end with work of its own while the journal opens (the window is
        built meanwhile): starts every thread, as open() does (worker threads are created but not waited for), and
        hands the journal's open to the store thread.
        False with open()'s error and exit code when a thread could not be created (nothing was touched); otherwise
        finishOpen() must follow before anything else uses the engine. */
    bool beginOpen(QString *error, int *exitCode);
    /*! \brief Waits for the worker threads to run under their names and for the open that beginOpen() started
        (with --reset-state, retries as open() does) and returns exactly what open() would have. */
    bool finishOpen(QString *error, int *exitCode);
    /*! Descriptors the process needs with \a workers worker threads or processes (and a window): the figure the
       descriptor limit is checked against at start and when a reload raises the worker count. */
    static int descriptorsNeeded(int workers, bool window, Isolation isolation = Isolation::Thread);
    /*! Connects the signal bridge (created first thing in main()) to the quit path and the other handlers. */
    void attachSignals(UnixSignalNotifier *notifier);
    /*! Starts the workers and intake, marks startup complete and prints READY. */
    void start();

    /*! The single entry to the quit path for the front ends ("window", "quit", "logout", "api"). */
    void requestShutdown(const QString &reason);

    ShutdownCoordinator *coordinator() const;
    /*! The workers: a WorkerPool (threads) or a ProcessPool (--isolation process), driven through one path. */
    JobPool *pool() const;
    /*! The worker executable of --isolation process: $QUIESCE_WORKER if set (tests, packagers), else
        quiesce-worker next to this executable. */
    static QString workerProgram();
    /*! For the immediate exit (third stop request): SIGKILL to every worker process group, synchronously, on the
        main thread only (the watchdog's exit leaves them to PR_SET_PDEATHSIG and the closed channels). */
    void killWorkersNow();
    RequestSource *source() const;
    EngineCounters counters() const;
    Tunables tunables() const;
    /*! The quit path's budgets now in force, derived from the grace period (budgets.h). */
    Budgets budgets() const;
    /*! Applies \a tunables; their budgets must fit (computeBudgets(), as the command line and reload check). */
    void applyTunables(const Tunables &tunables);
    /*! Records that the window set \a key (a tunable's name) to \a text, so that a SIGHUP reload keeps it unless
        the config file or the command line sets that key (settings precedence). Applying is applyTunables()'s job. */
    void setWindowTunable(const QString &key, const QString &text);
    /*! Forgets every value set in the window (Settings → Restore defaults). */
    void clearWindowTunables();
    void setPaused(bool paused);
    void submitBurst(int count);
    void simulateHangNext();
    QString statusLine() const;
    /*! True when a worker thread could not be stopped (hung): the process must then end through the watchdog. */
    bool hasStuckThreads() const;
    /*! What open() found of the previous session (unclean end, requests recovered), for the window to show. */
    Quiesce::RecoveryInfo recovery() const;
    /*! What the watchdog recorded when it ended the previous run (exit 70): its sidecar file first, else the
        "stuck" record the previous quit path committed to the journal; present == false otherwise. */
    WatchdogRecord watchdogRecord() const;
    /*! True when the store thread still runs after the quit path: a save that timed out, blocked in the disk. It
        must not be destroyed while running, nor joined without end: the process then ends with _exit. */
    bool isStoreRunning() const;

Q_SIGNALS:
    void line(const QString &text);
    void countersChanged();

private:
    void registerPhases();
    void onSignal(const Quiesce::SignalEvent &event);
    void onGenerated(const Quiesce::Job &job);
    void onAccepted(const QList<quint64> &ids);
    void onIntakeClosed(const QList<quint64> &discardedIds);
    void onCompleted(const QList<quint64> &ids);
    void onJobsDone(const QList<Quiesce::Job> &jobs);
    void onJobsGivenBack(const QList<Quiesce::Job> &jobs);
    void onJobsFailed(const QList<Quiesce::JobFailure> &failures);
    void onCapacityAvailable();
    bool startThreads(QString *error, int *exitCode);
    Quiesce::StoreOptions storeOptions() const;
    void reloadConfig();
    void checkIdle();
    void emitLines(const QStringList &lines);

    Options m_options;
    Budgets m_budgets;
    SimulatedJob m_simulatedJob; //!< the workers' job function; declared before the pool, which runs it
    std::unique_ptr<StateStore> m_store;
    std::unique_ptr<JobPool> m_pool;
    ProcessPool *m_processPool = nullptr; //!< m_pool in process mode, else null
    std::unique_ptr<RequestSource> m_source;
    std::unique_ptr<ShutdownCoordinator> m_coordinator;
    std::unique_ptr<SystemdNotifier> m_systemd;

    QHash<quint64, Job> m_awaitingCommit; //!< handed to the store, not yet committed
    QList<quint64> m_returnedIds;         //!< cancelled work to requeue in the save phase
    EngineCounters m_counters;
    WatchdogRecord m_watchdogRecord; //!< read (and removed) at open()
    QJsonObject m_stuckNote;         //!< the "stuck" record committed when drain or cancel overran; {} if none
    bool m_intakeOpen = true;
    bool m_stuckThreads = false;
    bool m_threadsStarted = false;
    QTimer m_throughputTimer;
    quint64 m_doneAtLastTick = 0;
    std::function<void()> m_intakeClosed; //!< completes the stop-intake phase once the store closed its intake
    bool m_intakeSealed = false;          //!< the stop-intake phase ended: nothing is accepted or printed any more
    quint64 m_discarded = 0;              //!< generated, never committed: dropped when intake closed
    quint64 m_acceptedLate = 0;           //!< committed after stop-intake ended (a commit that outlasted its budget)

    // Process isolation (--isolation process).
    void connectProcessPool();
    void onJobsLost(const QList<Quiesce::JobFailure> &lost);
    void onNoSlotsLeft();
    QString workersStatus() const;
    /*! How long stop-threads gives the pool's stop(): within the hard deadline for worker processes. */
    std::chrono::milliseconds workerStopBudget() const;
    quint64 m_crashId = 0;         //!< --simulate-crash: the id of the request that crashes its worker, 0 = none
    QSet<quint64> m_hangIds;       //!< process mode: --simulate-hang's request, marked in the payload the pool gets
    bool m_noSlotLeft = false;     //!< every slot crash-looped: the drain phase fails with 69
    quint64 m_jobsDone = 0;        //!< reported done by the pool (committed ones: m_counters.done)
    quint64 m_failedCommitted = 0; //!< committed as failed (StateStore::failed); handed over: m_counters.failed
    QElapsedTimer m_shutdownClock; //!< since the first stop request: what is left of the hard deadline
    //! The pool's stop() report when the save phase already stopped the idle worker threads (stop-threads takes it)
    std::unique_ptr<Quiesce::StopReport> m_earlyStop;
    QMetaObject::Connection m_earlyStopConnection; //!< set while the save phase's stop of idle threads runs
};

} // namespace Quiesce::App
