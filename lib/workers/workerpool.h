#pragma once

#include <Quiesce/quiesce_workers_export.h>

#include <Quiesce/request.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <memory>

class QThread;
class QTimer;

namespace Quiesce {

class RequestWorker;
struct WorkerPoolShared;
struct WorkerState;

/*! \brief What one worker is doing, as seen by WorkerPool::snapshot(). */
struct QUIESCE_WORKERS_EXPORT WorkerSnapshot
{
    int index = 0; //!< 0-based; the thread is named quiesce-worker-<index>
    bool busy = false;
    quint64 requestId = 0;   //!< 0 when idle
    int progressPercent = 0; //!< simulated work done of the request's costMs
    qint64 elapsedMs = 0;    //!< since the worker took the request (keeps growing while it hangs)
    bool hung = false;       //!< blocked in a simulated hang (deaf to cancel and interruption)
    QString threadName;
};

/*! \brief The outcome of WorkerPool::stop(). */
struct QUIESCE_WORKERS_EXPORT StopReport
{
    bool allStopped = true;
    struct Stuck
    {
        int worker = 0;
        QString threadName;
        quint64 requestId = 0; //!< 0 if the thread was not busy with a request
        qint64 busyMs = 0;
    };
    QList<Stuck> stuck; //!< threads still running when the deadline passed

    /*! One line naming each stuck worker, its request and for how long it has been at it. */
    QString describe() const;
};

/*! \brief N worker threads processing requests from one bounded FIFO queue.

    Each worker is a RequestWorker QObject moved to its own QThread (named quiesce-worker-<i>), which first blocks
    the Unix signals the signal bridge handles. Idle workers sit in their event loop; a submit() wakes one with a
    single posted call, after which a worker keeps pulling requests from a mutex-guarded queue without any event
    per request. Results are collected in a buffer that wakes the pool's thread once while a wake-up is pending,
    so started(), finished() and returned() arrive in batches.

    Requests are worked on in slices of at most 10 ms, with cancel() and thread interruption checked between
    slices. A request with hang=true blocks like a stuck blocking C call, deaf to both, until
    releaseSimulatedHangs().

    Shutdown order (Sidekiq-style): stopIntake() -> drain() -> cancel() -> stop(deadline). Queued requests that no
    worker has taken stay queued: they are still pending in the store for the next run. Nothing here blocks the
    pool's thread except the destructor's bounded wait.

    All functions are for the pool's own thread, except snapshot() and releaseSimulatedHangs(), which are
    thread-safe. All signals are emitted on the pool's thread. */
class QUIESCE_WORKERS_EXPORT WorkerPool : public QObject
{
    Q_OBJECT

public:
    explicit WorkerPool(QObject *parent = nullptr);
    /*! Stops the threads that still run, with a bounded wait (none if stop() already timed out). A thread that
        does not stop in time (hung) is deliberately leaked: never destroyed running, never terminate()d; it
        deletes itself if it ever finishes while the event loop still runs. */
    ~WorkerPool() override;

    /*! Starts \a workerCount (>= 1) threads; requests submitted before are dispatched now. Returns false and sets
        errorString() if the count is invalid, the pool was started or stopped before, or a thread could not be
        created (the threads that did start keep running; the destructor or stop() ends them). */
    bool start(int workerCount);
    QString errorString() const;
    /*! The number of workers, not counting ones retiring. */
    int workerCount() const;
    /*! Runtime change: adds threads, or retires workers (idle ones first; a busy one finishes its request
        first). \a n is clamped to >= 1. No-op before start() and after stop(). Returns false and sets
        errorString() if a thread could not be created: the pool then keeps the workers it has (workerCount()). */
    bool setWorkerCount(int n);
    /*! Threads that have not finished yet (retiring, stopping and leaked ones included). */
    int runningThreadCount() const;

    /*! 0 = unbounded. Counts queued requests plus outstanding reservations. Recovered requests submitted without
        a reservation may exceed it. */
    void setQueueLimit(int limit);
    int queueLimit() const;

    /*! Takes a slot in the bounded queue for a request about to be submitted. false = full (counted in
        backpressureCount(); capacityAvailable() follows once a slot frees up) or intake stopped (not counted). */
    bool tryReserve();
    /*! Gives back a reserved slot (e.g. the store failed to accept the request). */
    void cancelReservation();
    /*! Enqueues \a request (FIFO), using a reservation if one is held. Always accepted, also after
        stopIntake(): the request then simply stays queued. */
    void submit(const Quiesce::Request &request);

    /*! No more tryReserve(), and no more dispatch of queued requests to workers. Irreversible. */
    void stopIntake();
    /*! drained() once nothing is in flight (and, while dispatch is still on, the queue is empty too). Always
        emitted asynchronously, even if already idle. */
    void drain();
    /*! Cooperative: every request being worked on now is given back within one slice -> returned(). Requests
        taken afterwards are processed normally. A hung request is not affected. */
    void cancel();
    /*! Asynchronous: interrupts and quits every thread; stopped(report) as soon as all threads have finished, or
        when \a deadline passes (naming the stuck ones). Never blocks. A second call can only shorten the
        deadline. */
    void stop(QDeadlineTimer deadline);
    bool isStopping() const;

    int queuedCount() const;
    /*! Requests taken by a worker whose outcome has not yet been reported (by finished()/returned()). */
    int inFlightCount() const;
    quint64 doneCount() const;
    quint64 returnedCount() const;
    quint64 backpressureCount() const;
    QList<Quiesce::Request> queuedRequests() const;

    /*! Thread-safe and cheap (also called from a watchdog while the pool's thread may be blocked): never waits
        for a worker that is working or hung. */
    QList<Quiesce::WorkerSnapshot> snapshot() const;

    /*! Test hook: lets every request with hang=true that is blocked now return. */
    static void releaseSimulatedHangs();

Q_SIGNALS:
    void started(const QList<quint64> &ids);
    void finished(const QList<Quiesce::Request> &requests);
    void returned(const QList<Quiesce::Request> &requests);
    void drained();
    /*! Queue empty and nothing in flight, after having had work (once per such transition). */
    void idle();
    void capacityAvailable();
    void stopped(const Quiesce::StopReport &report);

private:
    friend struct WorkerPoolShared;

    struct Worker
    {
        QThread *thread = nullptr;
        RequestWorker *worker = nullptr;
        std::shared_ptr<WorkerState> state;
    };

    bool addWorker();
    void retireWorker(QThread *thread);
    void deliver();
    void checkDrainedAndIdle();
    void onThreadFinished(QThread *thread);
    void onStopDeadline();
    void finishStop(const StopReport &report);
    static WorkerSnapshot snapshotOf(const WorkerState &state);

    std::shared_ptr<WorkerPoolShared> m_shared;

    // Modified only on the pool's thread, always under m_workersMutex, so snapshot() can copy it from any thread.
    QList<Worker> m_workers;
    mutable QMutex m_workersMutex;

    QTimer *m_stopTimer = nullptr;
    QString m_errorString;
    quint64 m_done = 0;
    quint64 m_returned = 0;
    quint64 m_backpressure = 0;
    bool m_started = false;
    bool m_stopping = false;
    bool m_stopDone = false;
    bool m_stopTimedOut = false;
    bool m_drainRequested = false;
    bool m_hadWork = false;
};

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::WorkerSnapshot)
Q_DECLARE_METATYPE(Quiesce::StopReport)
