#pragma once

// Private to the worker pool: the state shared between the pool and its worker threads, and the worker object
// that runs in each thread. Not part of the library's API.

#include <Quiesce/job.h>

#include "jobcontext_p.h"

#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

class QThread;

namespace Quiesce {

class JobWorker;
class WorkerPool;

/* What one worker publishes about itself, read by WorkerPool::snapshot() from any thread (a watchdog included).
   The mutex is held for a few instructions at a time and never while a job runs, so a reader never waits for more
   than that. Owned jointly by the pool and the worker, so it outlives a pool that leaks a blocked thread. */
struct WorkerState
{
    int index = 0;
    QString threadName; // set before the thread starts, never changed

    mutable QMutex mutex;
    bool busy = false;
    quint64 jobId = 0;
    int progressPercent = 0;
    qint64 startedAtMs = 0; // jobworker_nowMs() when the job was taken
    bool hung = false;      // JobContext::setBlocking(true)

    std::atomic<bool> retiring {false}; // setWorkerCount() asked this one to leave after its job
};

/* Everything the pool's thread and the workers exchange. One mutex: the queue, the parked workers and the result
   buffers change together, and a worker reports a result and takes its next job in one critical section.
   Held jointly (shared_ptr) by the pool and every worker, so a leaked blocked worker never touches freed memory. */
struct WorkerPoolShared
{
    QMutex mutex;

    // --- guarded by mutex ---
    std::deque<Job> queue;
    QList<JobWorker *> parked; // idle workers back in their event loop, to be woken by a posted work() call
    bool dispatch = true;      // false after stopIntake()/stop(): queued jobs stay queued
    bool intakeOpen = true;    // false after stopIntake(): tryReserve() refuses
    int inFlight = 0;          // taken by a worker and not yet reported on the pool's thread
    int reserved = 0;
    int queueLimit = 0;          // 0 = unbounded
    bool capacityWanted = false; // a tryReserve() failed; capacityAvailable() is owed once a slot frees
    bool capacityFreed = false;  // ... and a slot has freed since

    WorkerPool *pool = nullptr;  // null once the pool is gone (a leaked worker may still report)
    bool deliveryPosted = false; // one coalesced wake-up of the pool's thread at a time
    QList<quint64> startedIds;
    QList<Job> done;
    QList<Job> givenBack;
    QList<JobFailure> failed;
    // --- end of mutex-guarded fields ---

    JobFunction function; // set before start(), read-only while workers run

    // Bumped by cancel(): every job taken before the bump sees cancellation. Changed under cancelMutex (read
    // without it), so that waitForCancellation() cannot miss the notification on `cancelled`. std:: primitives
    // rather than QMutex + QWaitCondition: ThreadSanitizer understands them.
    std::atomic<quint64> cancelEpoch {0};
    std::mutex cancelMutex;
    std::condition_variable cancelled; // notified by cancel(), stop() and the pool's destructor

    bool hasCapacityLocked() const;
    void postDeliveryLocked();
    void wakeParkedLocked(qsizetype max);
    /* Wakes every waitForCancellation(): after an epoch bump or a thread interruption. */
    void notifyCancellation();
};

/* The JobContext of the job a worker thread is running: cancelled by a newer cancel epoch or by the thread's
   interruption; progress and blocking go to the worker's published state. */
class ThreadJobContext final : public JobContextPrivate
{
public:
    ThreadJobContext(WorkerPoolShared &shared, WorkerState &state, QThread *thread, quint64 epoch);

    bool isCancellationRequested() const override;
    bool waitForCancellation(QDeadlineTimer deadline) const override;
    void setProgress(int percent) override;
    void setBlocking(bool blocking) override;

private:
    WorkerPoolShared &m_shared;
    WorkerState &m_state;
    QThread *m_thread;
    quint64 m_epoch;
};

/* The worker object living in one worker thread. work() pulls jobs from the shared queue in a loop and returns
   to the thread's event loop when there is nothing to take, when intake is stopped, or when it is asked to leave
   (retire, interruption); the pool calls work() again with a posted call when new jobs arrive. */
class JobWorker : public QObject
{
    Q_OBJECT

public:
    JobWorker(std::shared_ptr<WorkerPoolShared> shared, std::shared_ptr<WorkerState> state, QObject *parent = nullptr);
    ~JobWorker() override;

    void work();

private:
    bool canTakeLocked() const;
    void publishStart(const Job &job);
    void publishIdle();

    std::shared_ptr<WorkerPoolShared> m_shared;
    std::shared_ptr<WorkerState> m_state;
};

/* Milliseconds on the monotonic clock, the time base of WorkerState::startedAtMs. */
qint64 jobworker_nowMs();

} // namespace Quiesce
