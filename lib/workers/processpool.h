#pragma once

#include <Quiesce/quiesce_workers_export.h>

#include <Quiesce/job.h>
#include <Quiesce/jobpool.h>

#include <QtCore/QStringList>

#include <memory>

namespace Quiesce {

class ProcessPoolPrivate;

/*! \brief A JobPool whose workers are child processes: a crash, a leak or an OOM kill in a job takes down one
    worker process, never the application, and the job is reported instead of lost.

    Each worker slot runs the program given by setWorkerProgram(), whose \c main() calls runWorkerProcess() with
    the application's JobFunction. The parent and each child talk over a private socketpair with length-framed,
    batched CBOR messages; the parent's side never blocks.

    Spawning (from the main thread only, so that \c PR_SET_PDEATHSIG is tied to the process's life): \c fork +
    \c exec with a pidfd (\c pidfd_open). Between the two, only async-signal-safe calls: the child gets an empty
    signal mask and default dispositions, its own process group, \c PR_SET_PDEATHSIG(SIGKILL) followed by a
    \c getppid() re-check, no descriptor but its channel (as fd 3), stdin and stdout on \c /dev/null (stdout is
    often the application's machine-readable protocol; stderr stays for diagnostics), the soft \c RLIMIT_NOFILE
    the parent was started with (ResourceLimits) and an environment without \c NOTIFY_SOCKET, \c LISTEN_FDS,
    \c LISTEN_PID and \c LISTEN_FDNAMES. Each child is watched through its pidfd: on exit, the pool first learns
    of it without reaping (\c waitid(P_PIDFD, WEXITED | WNOWAIT)), SIGKILLs the child's process group (its own
    children), and only then reaps, so a recycled process group id is never hit. The pool never calls
    \c waitpid(-1) and never uses QProcess.

    Supervision while running:
    - A worker that dies (crash, signal, OOM kill) is reaped at once; the job it was running comes back through
      jobsLost() with Job::crashes raised (known exactly, from a page the worker shares with the pool, even when
      its last reports never left it); jobs it had started as far as the pool knows but was no longer running
      come back through jobsGivenBack(); jobs it had been sent but not started go back to their places in the
      queue. A replacement starts after a backoff (restartBackoff(): 100 ms doubling to 10 s, reset once a
      worker ran for a healthy minute).
    - Each child sends a heartbeat from a thread of its own; a child silent for heartbeatTimeout() (stopped,
      wedged) is SIGKILLed with its group and replaced the same way. Silence is counted only over time the parent
      itself was running: a periodic check whose wall-clock gap shows that the parent was stopped (Ctrl+Z) or
      starved counts just one check interval, and every channel is read before a child is judged.
    - A worker that exits 0 on its own (someone sent it SIGTERM: it finishes its job, gives back the rest and
      exits) is replaced without counting a crash.
    - Crash-loop guard: more crashes than crashLoopLimit() within crashLoopWindowMs() disable the slot;
      degradedChanged(true) tells that the pool runs on fewer slots, noSlotsLeft() that every slot is disabled
      (the application then stops in order; the Quiesce app exits with 69).
    - Nothing is respawned once stopIntake() or stop() was called.

    Shutdown: stopIntake() asks every child to give back the jobs it was sent but has not started (they return to
    the queue) and dispatches nothing more; drain() -> drained() once the started jobs are finished; cancel() asks
    every running job to give up (JobContext) -> jobsGivenBack(); stop(deadline) asks every child to give its job
    back and exit 0, then, shortly before the deadline, sends SIGTERM to the group of every child still alive and
    at the deadline SIGKILL; stopped(report) follows once every child is reaped, with StopReport::killed and
    StopReport::lostJobIds (the jobs of killed children: requeue them). For the immediate exit there is
    killAllNow().

    Dispatch is batched both ways: a child is sent as many jobs as make about 2 ms of its work (at most
    dispatchBatch()) and reports outcomes in batches, which keeps the per-job cost of a round trip small; jobs are
    spread over the slots with the fewest jobs first.

    Diagnostics go to the logging category \c quiesce.pool; the pool prints nothing.

    \code
    // main.cpp of the application; the worker executable's main() is
    //     return Quiesce::runWorkerProcess(argc, argv, myJobFunction);
    Quiesce::ProcessPool pool;
    pool.setWorkerProgram(QCoreApplication::applicationDirPath() + QStringLiteral("/my-worker"), {});
    QObject::connect(&pool, &Quiesce::JobPool::jobsLost, &pool, [&](const QList<Quiesce::JobFailure> &lost) {
        for (const Quiesce::JobFailure &f : lost)
            f.job.crashes >= 3 ? journal.markFailed(f) : pool.submit(f.job); // a poison job stops here
    });
    if (!pool.start(4))
        return fail(Quiesce::ExitCode::OsError, pool.errorString());
    \endcode

    All functions are for the main thread (the thread that spawns), except snapshot(), which is thread-safe. */
class QUIESCE_WORKERS_EXPORT ProcessPool : public JobPool
{
    Q_OBJECT

public:
    /*! A pool with no worker program yet (setWorkerProgram()) and the default supervision parameters. */
    explicit ProcessPool(QObject *parent = nullptr);
    /*! Kills what still runs (SIGKILL to every worker's group) and reaps it. Call stop() first for an orderly
        end; the destructor is the last resort and does not wait for jobs. */
    ~ProcessPool() override;

    /*! The worker executable and its arguments (argv[1...]). An absolute or relative path, or a bare name looked
        up in PATH. Must be set before start(). */
    void setWorkerProgram(const QString &program, const QStringList &arguments);
    /*! The program set by setWorkerProgram(), as given. */
    QString workerProgram() const;
    /*! The arguments set by setWorkerProgram(). */
    QStringList workerArguments() const;
    /*! Each worker slot is named \a prefix followed by its index (default "worker-"): WorkerSnapshot::threadName
        and StopReport::Stuck::threadName, as WorkerPool names its threads. Set before start(). */
    void setThreadNamePrefix(const QString &prefix);
    /*! See setThreadNamePrefix(). */
    QString threadNamePrefix() const;

    /*! A child silent for longer than \a ms (default 30000) is SIGKILLed and replaced. Clamped to >= 50. The
        child's heartbeat interval is a fifth of it. Takes effect for children started afterwards (the heartbeat
        interval) and at once (the judgement). */
    void setHeartbeatTimeout(int ms);
    /*! The timeout set by setHeartbeatTimeout(). */
    int heartbeatTimeout() const;

    /*! The crash-loop guard: more than \a crashes crashes of one slot within \a windowMs disable the slot
        (defaults: 5 within 10000 ms). */
    void setCrashLoopLimit(int crashes, int windowMs);
    /*! The crash count of setCrashLoopLimit(). */
    int crashLoopLimit() const;
    /*! The window of setCrashLoopLimit(), in ms. */
    int crashLoopWindowMs() const;
    /*! The delay before a crashed worker is replaced: \a initialMs (default 100), doubled after each further
        crash up to \a maxMs (default 10000), back to \a initialMs once a worker ran for \a healthyMs (default
        60000) before it crashed. */
    void setRestartBackoff(int initialMs, int maxMs, int healthyMs);
    /*! The initial delay of setRestartBackoff(), in ms. */
    int restartBackoff() const;

    /*! At most \a jobs (>= 1, default 1024) jobs are sent to one child before it reports back. Within that
        limit the batch adapts to how long the child's jobs take (about 2 ms of work per batch; one job while the
        duration is not known yet), so short jobs travel in large batches and long ones spread over the children.
        1 gives the strictest spread. */
    void setDispatchBatch(int jobs);
    /*! The batch size set by setDispatchBatch(). */
    int dispatchBatch() const;

    /*! With false, workers start with \c RLIMIT_CORE 0 (set between fork and exec): a crash leaves no core file,
        e.g. while crashes are simulated on purpose. Default true: the limit is inherited. */
    void setWorkerCoreDumps(bool enabled);
    /*! The setting of setWorkerCoreDumps(). */
    bool workerCoreDumps() const;

    /*! How long before the stop() deadline a still-running child gets SIGTERM (default 100 ms; the SIGKILL to
        its group follows at the deadline). */
    void setTerminateGrace(int ms);
    /*! The grace set by setTerminateGrace(). */
    int terminateGrace() const;

    bool start(int workerCount) override;
    QString errorString() const override;
    int workerCount() const override;
    /*! Grows at once (new slots spawn); shrinks gracefully: disabled slots go first, then idle ones; a busy child
        finishes its job, gives back what it had not started and exits 0. */
    bool setWorkerCount(int n) override;

    void setQueueLimit(int limit) override;
    int queueLimit() const override;
    bool tryReserve() override;
    void cancelReservation() override;
    void submit(const Quiesce::Job &job) override;

    void stopIntake() override;
    void drain() override;
    void cancel() override;
    void stop(QDeadlineTimer deadline) override;
    bool isStopping() const override;

    int queuedCount() const override;
    int inFlightCount() const override;
    QList<Quiesce::Job> queuedJobs() const override;
    QList<Quiesce::WorkerSnapshot> snapshot() const override;

    /*! For the immediate exit: SIGKILL to the process group of every worker, synchronously, without reaping or
        emitting anything. Safe to call right before \c _exit() or \c exit(); the pool is useless afterwards
        (its destructor only reaps). */
    void killAllNow();

    /*! Worker processes alive now (started and not yet reaped), retiring ones included. */
    int runningProcessCount() const;
    /*! Slots disabled by the crash-loop guard. */
    int disabledSlotCount() const;
    /*! At least one slot is disabled by the crash-loop guard. */
    bool isDegraded() const;

Q_SIGNALS:
    /*! The pool became degraded (a slot was disabled by the crash-loop guard) or whole again (a disabled slot
        was removed by setWorkerCount()). */
    void degradedChanged(bool degraded);
    /*! Every slot is disabled by the crash-loop guard: nothing will be processed any more. */
    void noSlotsLeft();
    /*! A worker process started (for a log or a status view). */
    void workerStarted(int slot, qint64 pid);
    /*! A worker process was reaped. \a how is a short, C-locale text: "exited 0", "exited 3", "killed by
        sigsegv", "killed by sigkill (heartbeat timeout)", ... */
    void workerExited(int slot, qint64 pid, const QString &how);

private:
    friend class ProcessPoolPrivate;
    std::unique_ptr<ProcessPoolPrivate> d;
};

/*! \brief The child side: what a worker executable's \c main() returns.

    Finds its channel from the environment variable \c QUIESCE_WORKER_FD that ProcessPool sets (and removes it,
    with the channel marked close-on-exec, so the worker's own children inherit neither), says hello, and runs
    the jobs it is sent one after another in a job thread with a JobContext whose cancellation follows
    ProcessPool::cancel() and ProcessPool::stop(). A second thread sends the heartbeat and the batched outcomes.

    - EOF on the channel (the parent is gone): \c _exit(0) at once, whatever a job is doing.
    - SIGTERM or SIGINT: finish the current job, give back the ones not started, return 0 (systemd's
      \c KillMode=control-group signals every process of the service at once).
    - ProcessPool::stop(): the running job is asked to give up, the rest are given back, then return 0.

    Returns 0 after an orderly end, ExitCode::Usage (64) when the process was not started by a ProcessPool, and
    ExitCode::OsError (71) when a thread could not be started. Prints nothing. \a argc and \a argv are not used
    yet (reserved for options of the helper). */
QUIESCE_WORKERS_EXPORT int runWorkerProcess(int argc, char **argv, const JobFunction &function);

/*! \brief True in a process started by a ProcessPool (the environment names a channel): lets one executable
    serve as both the application and its worker. */
QUIESCE_WORKERS_EXPORT bool isWorkerProcess();

} // namespace Quiesce
