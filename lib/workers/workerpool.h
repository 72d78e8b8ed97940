#pragma once

#include <Quiesce/quiesce_workers_export.h>

#include <Quiesce/job.h>
#include <Quiesce/jobpool.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <memory>

namespace Quiesce {

class WorkerPoolPrivate;
struct WorkerPoolShared;

/*! \brief N worker threads running the application's jobs from one bounded FIFO queue.

    The application sets its JobFunction before start(); each worker thread (named threadNamePrefix() + index)
    first blocks the Unix signals the signal bridge handles, then calls the job function for the jobs it takes.
    Idle workers sit in their event loop; a submit() wakes one with a single posted call, after which a worker keeps
    pulling jobs from a mutex-guarded queue without any event per job. Results are collected in a buffer that wakes
    the pool's thread once while a wake-up is pending, so jobsStarted(), jobsDone(), jobsGivenBack() and jobsFailed()
    arrive in batches. jobsLost() is never emitted: a thread cannot die without taking the process with it.

    A job is cancelled through its JobContext: cancel() asks every job taken before the call to give up, stop() and
    the destructor ask every running job. A job blocked in a call deaf to cancellation (JobContext::setBlocking())
    keeps its thread; stop() then reports it stuck and the thread is leaked, never destroyed running.

    \code
    Quiesce::WorkerPool pool;
    pool.setJobFunction([](const Quiesce::Job &job, Quiesce::JobContext &context) -> Quiesce::JobResult {
        for (int step = 0; step < 100; ++step) {
            if (context.isCancellationRequested())
                return Quiesce::JobOutcome::GiveBack;
            process(job.payload, step);
            context.setProgress(step + 1);
        }
        return Quiesce::JobOutcome::Done;
    });
    pool.start(4);
    pool.submit(Quiesce::Job {1, "input", 0});
    \endcode

    All functions are for the pool's own thread, except snapshot(), which is thread-safe. All signals are emitted
    on the pool's thread. */
class QUIESCE_WORKERS_EXPORT WorkerPool : public JobPool
{
    Q_OBJECT

public:
    /*! An idle pool; set the job function, then start(). */
    explicit WorkerPool(QObject *parent = nullptr);
    /*! Stops the threads that still run, with a bounded wait (none if stop() already timed out). A thread that
        does not stop in time (blocked) is deliberately leaked: never destroyed running, never terminate()d; it
        deletes itself if it ever finishes while the event loop still runs. */
    ~WorkerPool() override;

    /*! The application's work, called in the worker threads (several at once). Set before start(); ignored
        after. */
    void setJobFunction(Quiesce::JobFunction function);
    /*! Worker threads are named \a prefix followed by their index (default "worker-"). Set before
        start(). */
    void setThreadNamePrefix(const QString &prefix);
    /*! See setThreadNamePrefix(). */
    QString threadNamePrefix() const;

    /*! Starts \a workerCount (>= 1) threads; jobs submitted before are dispatched now. Returns false and sets
        errorString() if no job function is set, the count is invalid, the pool was started or stopped before, or
        a thread could not be created (the threads that did start keep running; the destructor or stop() ends
        them). */
    bool start(int workerCount) override;
    /*! start() without its wait: creates the \a workerCount threads and returns as soon as they exist, without
        waiting for them to run. Checks and reports exactly what start() does (a thread that cannot be created is
        known at once: false and errorString()); jobs submitted before or after are dispatched once the workers run.
        The threads already have the signal bridge's signals blocked; each takes its name when it first runs,
        before any job. Lets the caller do other work (open a journal, build a window) while the threads start,
        then call waitUntilRunning() before anything looks at them by name (/proc, ps, a debugger). Until then,
        submit(), stop() and the destructor may be called as after start(). */
    bool startWithoutWaiting(int workerCount);
    /*! After startWithoutWaiting(): returns once every worker thread runs under its name. Returns at once if
        start() already waited, nothing was started, or the pool is stopping (stop() and the destructor wait for
        the threads' end instead). */
    void waitUntilRunning();
    QString errorString() const override;
    int workerCount() const override;
    /*! Adds threads, or retires workers (idle ones first; a busy one finishes its job first). Returns false and
        sets errorString() if a thread could not be created: the pool then keeps the workers it has. */
    bool setWorkerCount(int n) override;
    /*! Threads that have not finished yet (retiring, stopping and leaked ones included). */
    int runningThreadCount() const;

    /*! Recovered jobs submitted without a reservation may exceed the limit. */
    void setQueueLimit(int limit) override;
    int queueLimit() const override;
    /*! A refusal because the queue is full is counted in backpressureCount(); one because intake stopped is
        not. */
    bool tryReserve() override;
    void cancelReservation() override;
    /*! After stopIntake() the job simply stays queued. */
    void submit(const Quiesce::Job &job) override;

    void stopIntake() override;
    void drain() override;
    /*! Every job taken before this call sees JobContext::isCancellationRequested() and is woken from
        JobContext::waitForCancellation(). Jobs taken afterwards are processed normally. */
    void cancel() override;
    /*! Interrupts and quits every thread (running jobs see cancellation); stopped(report) as soon as all threads
        have finished, or when \a deadline passes (naming the stuck ones). Never blocks. A second call can only
        shorten the deadline. */
    void stop(QDeadlineTimer deadline) override;
    bool isStopping() const override;

    int queuedCount() const override;
    int inFlightCount() const override;
    QList<Quiesce::Job> queuedJobs() const override;
    /*! Also called from a watchdog while the pool's thread may be blocked: never waits for a worker that is
        working or blocked. */
    QList<Quiesce::WorkerSnapshot> snapshot() const override;
    int busyCount() const override;

    /*! Jobs reported done since start(). */
    quint64 doneCount() const;
    /*! Jobs reported given back since start(). */
    quint64 givenBackCount() const;
    /*! Jobs reported failed since start(). */
    quint64 failedCount() const;
    /*! tryReserve() calls refused because the queue was full. */
    quint64 backpressureCount() const;

private:
    friend class WorkerPoolPrivate;
    friend struct WorkerPoolShared;
    std::unique_ptr<WorkerPoolPrivate> d;
};

} // namespace Quiesce
