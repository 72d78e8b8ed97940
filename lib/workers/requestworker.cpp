#include "requestworker_p.h"

#include "workerpool.h"

#include <QtCore/QThread>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace Quiesce {

namespace {

// Work is simulated in slices of at most this length; cancellation and interruption are checked between slices,
// so either is noticed within one slice.
constexpr int SliceMs = 10;

/* The gate hang=true requests block on. Process-wide and never destroyed: a leaked hung thread may still wait on
   it (or be released through it) while the process is shutting down. std:: primitives rather than QMutex +
   QWaitCondition: ThreadSanitizer understands them, so a TSan run of the tests stays free of false reports. */
struct HangGate
{
    std::mutex mutex;
    std::condition_variable released;
    quint64 generation = 0;
};

HangGate &hangGate()
{
    static auto *gate = new HangGate; // intentionally leaked, see above
    return *gate;
}

void waitLikeAStuckBlockingCall()
{
    HangGate &gate = hangGate();
    std::unique_lock lock(gate.mutex);
    const quint64 generation = gate.generation;
    // Deliberately deaf to cancel() and QThread::requestInterruption(): that is what a stuck C call looks like.
    gate.released.wait(lock, [&gate, generation] { return gate.generation != generation; });
}

} // namespace

qint64 requestworker_nowMs()
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
        target, [target] { target->deliver(); }, Qt::QueuedConnection);
}

void WorkerPoolShared::wakeParkedLocked(qsizetype max)
{
    if (!dispatch)
        return;
    while (max-- > 0 && !parked.isEmpty()) {
        // The most recently parked worker is the likeliest to still be warm.
        RequestWorker *worker = parked.takeLast();
        QMetaObject::invokeMethod(worker, &RequestWorker::work, Qt::QueuedConnection);
    }
}

RequestWorker::RequestWorker(std::shared_ptr<WorkerPoolShared> shared, std::shared_ptr<WorkerState> state,
                             QObject *parent)
    : QObject(parent)
    , m_shared(std::move(shared))
    , m_state(std::move(state))
{}

RequestWorker::~RequestWorker()
{
    // Nobody may post work() to a deleted worker. ~QObject drops a call posted before this point.
    QMutexLocker locker(&m_shared->mutex);
    m_shared->parked.removeAll(this);
}

void RequestWorker::releaseSimulatedHangs()
{
    HangGate &gate = hangGate();
    {
        std::lock_guard lock(gate.mutex);
        ++gate.generation;
    }
    gate.released.notify_all();
}

bool RequestWorker::canTakeLocked() const
{
    return m_shared->dispatch && !m_shared->queue.empty() && !m_state->retiring.load(std::memory_order_relaxed)
        && !QThread::currentThread()->isInterruptionRequested();
}

void RequestWorker::work()
{
    WorkerPoolShared &shared = *m_shared;
    Request current;
    Outcome outcome = Outcome::Done;
    bool haveResult = false;
    for (;;) {
        quint64 epoch = 0;
        {
            // Report the previous result and take the next request in one critical section: one lock per request.
            QMutexLocker locker(&shared.mutex);
            if (haveResult) {
                (outcome == Outcome::Done ? shared.finished : shared.returned).append(current);
                shared.postDeliveryLocked();
                haveResult = false;
            }
            if (!canTakeLocked()) {
                const bool leaving = m_state->retiring.load(std::memory_order_relaxed)
                    || QThread::currentThread()->isInterruptionRequested();
                if (leaving) {
                    // Whoever is still parked picks up what this one leaves behind.
                    shared.wakeParkedLocked(qsizetype(shared.queue.size()));
                } else if (!shared.parked.contains(this)) {
                    shared.parked.append(this);
                }
                return; // back to the event loop: quit(), deleteLater() and the next work() get their turn
            }
            current = shared.queue.front();
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
        outcome = process(current, epoch);
        publishIdle();
        haveResult = true;
    }
}

Outcome RequestWorker::process(const Request &request, quint64 epoch)
{
    if (request.hang) {
        publishHung(true);
        waitLikeAStuckBlockingCall();
        publishHung(false);
    }
    QThread *thread = QThread::currentThread();
    int worked = 0;
    while (worked < request.costMs) {
        if (m_shared->cancelEpoch.load(std::memory_order_relaxed) != epoch || thread->isInterruptionRequested())
            return Outcome::Returned;
        const int slice = std::min(SliceMs, request.costMs - worked);
        // The sleep *is* the simulated work of this slice.
        QThread::msleep(ulong(slice));
        worked += slice;
        publishProgress(worked);
    }
    return Outcome::Done;
}

void RequestWorker::publishStart(const Request &request)
{
    const qint64 now = requestworker_nowMs();
    QMutexLocker locker(&m_state->mutex);
    m_state->busy = true;
    m_state->requestId = request.id;
    m_state->costMs = request.costMs;
    m_state->workedMs = 0;
    m_state->startedAtMs = now;
    m_state->hung = false;
}

void RequestWorker::publishProgress(int workedMs)
{
    QMutexLocker locker(&m_state->mutex);
    m_state->workedMs = workedMs;
}

void RequestWorker::publishHung(bool hung)
{
    QMutexLocker locker(&m_state->mutex);
    m_state->hung = hung;
}

void RequestWorker::publishIdle()
{
    QMutexLocker locker(&m_state->mutex);
    m_state->busy = false;
    m_state->requestId = 0;
    m_state->costMs = 0;
    m_state->workedMs = 0;
    m_state->hung = false;
}

} // namespace Quiesce
