#include "jobworker_p.h"

#include "workerpool_p.h"

#include <QtCore/QThread>

#include <algorithm>
#include <chrono>

namespace Quiesce {

qint64 jobworker_nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

bool WorkerPoolShared::hasCapacityLocked() const
{
    return queueLimit <= 0 || qsizetype(queue.size()) + reserved < queueLimit;
}

void WorkerPoolShared::postDeliveryLocked()
{
    if (deliveryPosted || pool == nullptr)
        return;
    deliveryPosted = true;
    // One wake-up of the pool's thread while one is pending: results pile up in the buffers meanwhile and are
    // delivered as one batch. Posted under the mutex, so the pool cannot be destroyed in between (its destructor
    // clears `pool` under the same mutex, and ~QObject drops the event if it is still pending).
    WorkerPool *target = pool;
    QMetaObject::invokeMethod(
        target, [target] { target->d->deliver(); }, Qt::QueuedConnection);
}

void WorkerPoolShared::wakeParkedLocked(qsizetype max)
{
    if (!dispatch)
        return;
    while (max-- > 0 && !parked.isEmpty()) {
        // The most recently parked worker is the likeliest to still be warm.
        JobWorker *worker = parked.takeLast();
        QMetaObject::invokeMethod(worker, &JobWorker::work, Qt::QueuedConnection);
    }
}

void WorkerPoolShared::notifyCancellation()
{
    {
        // Taken (and released) so that a waiter between its check and its wait cannot miss this notification.
        std::lock_guard lock(cancelMutex);
    }
    cancelled.notify_all();
}

ThreadJobContext::ThreadJobContext(WorkerPoolShared &shared, WorkerState &state, QThread *thread, quint64 epoch)
    : m_shared(shared)
    , m_state(state)
    , m_thread(thread)
    , m_epoch(epoch)
{}

bool ThreadJobContext::isCancellationRequested() const
{
    return m_shared.cancelEpoch.load(std::memory_order_acquire) != m_epoch || m_thread->isInterruptionRequested();
}

bool ThreadJobContext::waitForCancellation(QDeadlineTimer deadline) const
{
    // No polling: everything that requests cancellation (cancel(), and stop() and the destructor, the only ones
    // that interrupt the pool's threads) notifies `cancelled` after changing what the predicate reads.
    std::unique_lock lock(m_shared.cancelMutex);
    const auto cancelled = [this] { return isCancellationRequested(); };
    if (deadline.isForever()) {
        m_shared.cancelled.wait(lock, cancelled);
        return true;
    }
    return m_shared.cancelled.wait_until(lock, deadline.deadline<std::chrono::steady_clock>(), cancelled);
}

void ThreadJobContext::setProgress(int percent)
{
    QMutexLocker locker(&m_state.mutex);
    m_state.progressPercent = percent;
}

void ThreadJobContext::setBlocking(bool blocking)
{
    QMutexLocker locker(&m_state.mutex);
    m_state.hung = blocking;
}

JobWorker::JobWorker(std::shared_ptr<WorkerPoolShared> shared, std::shared_ptr<WorkerState> state, QObject *parent)
    : QObject(parent)
    , m_shared(std::move(shared))
    , m_state(std::move(state))
{}

JobWorker::~JobWorker()
{
    // Nobody may post work() to a deleted worker. ~QObject drops a call posted before this point.
    QMutexLocker locker(&m_shared->mutex);
    m_shared->parked.removeAll(this);
}

bool JobWorker::canTakeLocked() const
{
    return m_shared->dispatch && !m_shared->queue.empty() && !m_state->retiring.load(std::memory_order_relaxed)
        && !QThread::currentThread()->isInterruptionRequested();
}

void JobWorker::work()
{
    WorkerPoolShared &shared = *m_shared;
    QThread *thread = QThread::currentThread();
    Job current;
    JobResult result;
    bool haveResult = false;
    for (;;) {
        quint64 epoch = 0;
        {
            // Report the previous result and take the next job in one critical section: one lock per job.
            QMutexLocker locker(&shared.mutex);
            if (haveResult) {
                switch (result.outcome) {
                case JobOutcome::Done:
                    shared.done.append(current);
                    break;
                case JobOutcome::GiveBack:
                    shared.givenBack.append(current);
                    break;
                case JobOutcome::Failed:
                    shared.failed.append(JobFailure {current, result.reason});
                    break;
                }
                shared.postDeliveryLocked();
                haveResult = false;
            }
            if (!canTakeLocked()) {
                const bool leaving =
                    m_state->retiring.load(std::memory_order_relaxed) || thread->isInterruptionRequested();
                if (leaving) {
                    // Whoever is still parked picks up what this one leaves behind.
                    shared.wakeParkedLocked(qsizetype(shared.queue.size()));
                } else if (!shared.parked.contains(this)) {
                    shared.parked.append(this);
                }
                return; // back to the event loop: quit(), deleteLater() and the next work() get their turn
            }
            current = std::move(shared.queue.front());
            shared.queue.pop_front();
            ++shared.inFlight;
            shared.startedIds.append(current.id);
            if (shared.capacityWanted && shared.hasCapacityLocked())
                shared.capacityFreed = true;
            shared.postDeliveryLocked();
            // Read under the mutex: a cancel() that the pool's thread issued before this take covers it.
            epoch = shared.cancelEpoch.load(std::memory_order_acquire);
        }
        publishStart(current);
        ThreadJobContext context(shared, *m_state, thread, epoch);
        result = context.run(shared.function, current);
        publishIdle();
        haveResult = true;
    }
}

void JobWorker::publishStart(const Job &job)
{
    const qint64 now = jobworker_nowMs();
    QMutexLocker locker(&m_state->mutex);
    m_state->busy = true;
    m_state->jobId = job.id;
    m_state->progressPercent = 0;
    m_state->startedAtMs = now;
    m_state->hung = false;
}

void JobWorker::publishIdle()
{
    QMutexLocker locker(&m_state->mutex);
    m_state->busy = false;
    m_state->jobId = 0;
    m_state->progressPercent = 0;
    m_state->hung = false;
}

} // namespace Quiesce
