#pragma once

#include <Quiesce/quiesce_workers_export.h>

#include <Quiesce/job.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QObject>
#include <QtCore/QString>

namespace Quiesce {

/*! \brief What one worker is doing, as seen by JobPool::snapshot(). */
struct QUIESCE_WORKERS_EXPORT WorkerSnapshot
{
    int index = 0;           //!< 0-based slot number
    bool busy = false;       //!< working on a job
    quint64 jobId = 0;       //!< 0 when idle
    int progressPercent = 0; //!< as the job last reported it (JobContext::setProgress())
    qint64 elapsedMs = 0;    //!< since the worker took the job (keeps growing while it is blocked)
    bool hung = false;       //!< the job said it is blocked in a call deaf to cancellation (JobContext::setBlocking())
    QString threadName;      //!< thread mode: the worker thread's name; process mode: the same name for the slot
    qint64 pid = 0;          //!< process mode: the worker process, 0 while none runs; thread mode: 0
    int restarts = 0;        //!< process mode: replacements started for this slot
    QString state;           //!< "idle", "busy", "draining", "starting", "backoff", "disabled", "stopped", ...
};

/*! \brief The outcome of JobPool::stop(). */
struct QUIESCE_WORKERS_EXPORT StopReport
{
    bool allStopped = true; //!< every worker ended before the deadline
    /*! \brief A worker still running when the deadline passed. */
    struct Stuck
    {
        int worker = 0;     //!< slot index
        QString threadName; //!< its name (see WorkerSnapshot::threadName)
        quint64 jobId = 0;  //!< 0 if it was not busy with a job
        qint64 busyMs = 0;  //!< how long it had been at that job
    };
    QList<Stuck> stuck;        //!< workers still running when the deadline passed
    int stopped = 0;           //!< workers that ended by themselves
    int killed = 0;            //!< process mode: workers killed at the deadline (SIGTERM, then SIGKILL to the group)
    QList<quint64> lostJobIds; //!< jobs in flight on a killed or stuck worker: the caller requeues them

    /*! One line naming each stuck worker, its job and for how long it has been at it. */
    QString describe() const;
};

/*! \brief The face shared by WorkerPool (threads) and ProcessPool (processes): N workers running the
    application's jobs from one bounded FIFO queue, drained and cancelled on the way out.

    Shutdown order (Sidekiq-style): stopIntake() -> drain() -> cancel() -> stop(deadline). Queued jobs that no
    worker has taken stay queued (still pending in the journal for the next run). Nothing here blocks the calling
    thread. All functions are for the pool's own thread, except snapshot(), which is thread-safe and cheap. All
    signals are emitted on the pool's thread, in batches. */
class QUIESCE_WORKERS_EXPORT JobPool : public QObject
{
    Q_OBJECT

public:
    /*! \brief A pool with no workers yet; start() starts them. */
    explicit JobPool(QObject *parent = nullptr);
    /*! \brief Implementations end their workers as their own destructors document. */
    ~JobPool() override;

    /*! Starts \a workerCount (>= 1) workers; jobs submitted before are dispatched now. Returns false and sets
        errorString() if the count is invalid, the pool was started or stopped before, or a worker could not be
        created. */
    virtual bool start(int workerCount) = 0;
    /*! Why the last start() or setWorkerCount() failed. */
    virtual QString errorString() const = 0;
    /*! The number of workers, not counting ones retiring. */
    virtual int workerCount() const = 0;
    /*! Runtime change: adds workers, or retires some (idle ones first; a busy one finishes its job first).
        Clamped to >= 1; no-op before start() and after stop(). */
    virtual bool setWorkerCount(int n) = 0;

    /*! 0 = unbounded. Counts queued jobs plus outstanding reservations. */
    virtual void setQueueLimit(int limit) = 0;
    /*! The limit set by setQueueLimit(). */
    virtual int queueLimit() const = 0;
    /*! Takes a slot in the bounded queue for a job about to be submitted. false = full (capacityAvailable()
        follows once a slot frees up) or intake stopped. */
    virtual bool tryReserve() = 0;
    /*! Gives back a reserved slot. */
    virtual void cancelReservation() = 0;
    /*! Enqueues \a job (FIFO), using a reservation if one is held. Always accepted, also after stopIntake(). */
    virtual void submit(const Quiesce::Job &job) = 0;

    /*! No more tryReserve(), and no more dispatch of queued jobs to workers. Irreversible. */
    virtual void stopIntake() = 0;
    /*! drained() once nothing is in flight (and, while dispatch is still on, the queue is empty). Always
        asynchronous. */
    virtual void drain() = 0;
    /*! Cooperative: every job being worked on now is asked to give up (JobContext) -> jobsGivenBack(). */
    virtual void cancel() = 0;
    /*! Asynchronous: ends every worker; stopped(report) once all have ended, or when \a deadline passes. */
    virtual void stop(QDeadlineTimer deadline) = 0;
    /*! stop() was called. */
    virtual bool isStopping() const = 0;

    /*! Jobs waiting for a worker. */
    virtual int queuedCount() const = 0;
    /*! Jobs taken by a worker whose outcome has not been reported yet. */
    virtual int inFlightCount() const = 0;
    /*! The jobs waiting for a worker, in order. */
    virtual QList<Quiesce::Job> queuedJobs() const = 0;
    /*! Thread-safe and cheap: never waits for a busy worker. */
    virtual QList<Quiesce::WorkerSnapshot> snapshot() const = 0;
    /*! How many workers are busy with a job now: snapshot()'s busy entries, without building the snapshot.
        Thread-safe like snapshot(). The default implementation counts snapshot(). */
    virtual int busyCount() const;

Q_SIGNALS:
    /*! Workers took these jobs. */
    void jobsStarted(const QList<quint64> &ids);
    /*! These jobs finished with JobOutcome::Done. */
    void jobsDone(const QList<Quiesce::Job> &jobs);
    /*! These jobs were given back unfinished (JobOutcome::GiveBack, cancel()): requeue them. */
    void jobsGivenBack(const QList<Quiesce::Job> &jobs);
    /*! These jobs ended with JobOutcome::Failed. */
    void jobsFailed(const QList<Quiesce::JobFailure> &failures);
    /*! Process mode: the worker running these jobs died (crash, signal, heartbeat timeout) while the pool was not
        stopping. Job::crashes is already raised; the caller requeues (resubmits) or marks them failed. */
    void jobsLost(const QList<Quiesce::JobFailure> &lost);
    /*! The drain() asked for is complete. */
    void drained();
    /*! Queue empty and nothing in flight, after having had work (once per such transition). */
    void idle();
    /*! A tryReserve() failed earlier and a slot has freed since. */
    void capacityAvailable();
    /*! stop() is complete (or its deadline passed). */
    void stopped(const Quiesce::StopReport &report);
};

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::WorkerSnapshot)
Q_DECLARE_METATYPE(Quiesce::StopReport)
