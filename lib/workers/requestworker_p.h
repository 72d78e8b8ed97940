#pragma once

// Private to the worker pool: the state shared between the pool and its worker threads, and the worker object
// that runs in each thread. Not part of the library's API.

#include "request.h"

#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <atomic>
#include <deque>
#include <memory>

namespace Quiesce {

class RequestWorker;
class WorkerPool;

/* What one worker publishes about itself, read by WorkerPool::snapshot() from any thread (a watchdog included).
   The mutex is held for a few instructions at a time and never while working or hanging, so a reader never waits
   for more than that. Owned jointly by the pool and the worker, so it outlives a pool that leaks a hung thread. */
struct WorkerState
{
    int index = 0;
    QString threadName; // set before the thread starts, never changed

    mutable QMutex mutex;
    bool busy = false;
    quint64 requestId = 0;
    int costMs = 0;
    int workedMs = 0;
    qint64 startedAtMs = 0; // requestworker_nowMs() when the request was taken
    bool hung = false;

    std::atomic<bool> retiring {false};       // setWorkerCount() asked this one to leave after its request
    std::atomic<bool> signalsBlocked {false}; // the handled Unix signals are blocked in its thread
};

/* Everything the pool's thread and the workers exchange. One mutex: the queue, the parked workers and the result
   buffers change together, and a worker reports a result and takes its next request in one critical section.
   Held jointly (shared_ptr) by the pool and every worker, so a leaked hung worker never touches freed memory. */
struct WorkerPoolShared
{
    QMutex mutex;

    // --- guarded by mutex ---
    std::deque<Request> queue;
    QList<RequestWorker *> parked; // idle workers back in their event loop, to be woken by a posted work() call
    bool dispatch = true;          // false after stopIntake()/stop(): queued requests stay queued
    bool intakeOpen = true;        // false after stopIntake(): tryReserve() refuses
    int inFlight = 0;              // taken by a worker and not yet reported on the pool's thread
    int reserved = 0;
    int queueLimit = 0;          // 0 = unbounded
    bool capacityWanted = false; // a tryReserve() failed; capacityAvailable() is owed once a slot frees
    bool capacityFreed = false;  // ... and a slot has freed since

    WorkerPool *pool = nullptr;  // null once the pool is gone (a leaked worker may still report)
    bool deliveryPosted = false; // one coalesced wake-up of the pool's thread at a time
    QList<quint64> startedIds;
    QList<Request> finished;
    QList<Request> returned;
    // --- end of mutex-guarded fields ---

    // Bumped by cancel(): every request taken before the bump is given back at its next slice boundary.
    std::atomic<quint64> cancelEpoch {0};

    bool hasCapacityLocked() const;
    void postDeliveryLocked();
    void wakeParkedLocked(qsizetype max);
};

/* The worker object living in one worker thread. work() pulls requests from the shared queue in a loop and returns
   to the thread's event loop when there is nothing to take, when intake is stopped, or when it is asked to leave
   (retire, interruption); the pool calls work() again with a posted call when new requests arrive. */
class RequestWorker : public QObject
{
    Q_OBJECT

public:
    RequestWorker(std::shared_ptr<WorkerPoolShared> shared, std::shared_ptr<WorkerState> state,
                  QObject *parent = nullptr);
    ~RequestWorker() override;

    void work();

    /* The process-wide gate that hang=true requests wait on, ignoring cancellation like a stuck blocking call.
       Each call releases every request waiting now; later ones wait again. */
    static void releaseSimulatedHangs();

private:
    bool canTakeLocked() const;
    Outcome process(const Request &request, quint64 epoch);
    void publishStart(const Request &request);
    void publishProgress(int workedMs);
    void publishHung(bool hung);
    void publishIdle();

    std::shared_ptr<WorkerPoolShared> m_shared;
    std::shared_ptr<WorkerState> m_state;
};

/* Milliseconds on the monotonic clock, the time base of WorkerState::startedAtMs. */
qint64 requestworker_nowMs();

} // namespace Quiesce
