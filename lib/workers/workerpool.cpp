#include "workerpool.h"

#include "requestworker_p.h"
#include <Quiesce/resourcelimits.h>
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <climits>

namespace Quiesce {

namespace {

// How long the destructor waits for threads that are still running (interrupted, so only a hung one stays).
constexpr int DestructorWaitMs = 2000;

} // namespace

QString StopReport::describe() const
{
    if (allStopped || stuck.isEmpty())
        return QStringLiteral("all worker threads stopped");
    QStringList parts;
    parts.reserve(stuck.size());
    for (const Stuck &s : stuck) {
        if (s.requestId != 0) {
            parts.append(QStringLiteral("%1 (worker %2) stuck in request %3 for %4 ms")
                             .arg(s.threadName)
                             .arg(s.worker)
                             .arg(s.requestId)
                             .arg(s.busyMs));
        } else {
            parts.append(QStringLiteral("%1 (worker %2) not finished, no request").arg(s.threadName).arg(s.worker));
        }
    }
    return QStringLiteral("%1 worker thread(s) still running: %2")
        .arg(stuck.size())
        .arg(parts.join(QStringLiteral("; ")));
}

WorkerPool::WorkerPool(QObject *parent)
    : QObject(parent)
    , m_shared(std::make_shared<WorkerPoolShared>())
    , m_stopTimer(new QTimer(this))
{
    m_shared->pool = this;
    m_stopTimer->setSingleShot(true);
    connect(m_stopTimer, &QTimer::timeout, this, &WorkerPool::onStopDeadline);
}

WorkerPool::~WorkerPool()
{
    // Order matters: first cut the workers off from this object (no more deliveries to it, no more dispatch),
    // then ask every thread to stop, then wait a bounded time. Threads that finish are deleted; a hung one is
    // leaked rather than destroyed running (which would abort) or terminated (which could leave locks held).
    {
        QMutexLocker locker(&m_shared->mutex);
        m_shared->pool = nullptr;
        m_shared->dispatch = false;
        m_shared->intakeOpen = false;
        m_shared->parked.clear();
    }
    for (const Worker &w : std::as_const(m_workers)) {
        w.thread->requestInterruption();
        w.thread->quit();
    }
    // If stop() already reported stuck threads, do not make the exit wait for them a second time.
    const QDeadlineTimer bound(m_stopTimedOut ? 0 : DestructorWaitMs);
    QList<Worker> workers;
    {
        // Taken out under the list mutex, waited for outside it: a watchdog's snapshot() must not wait with us.
        QMutexLocker locker(&m_workersMutex);
        workers.swap(m_workers);
    }
    for (const Worker &w : std::as_const(workers)) {
        if (w.thread->wait(bound)) {
            delete w.thread;
            continue;
        }
        qWarning("Quiesce: worker %s did not stop (request %llu); leaving its thread running on purpose",
                 qPrintable(w.state->threadName), static_cast<unsigned long long>(snapshotOf(*w.state).requestId));
        // Should it ever return, it cleans up after itself (~QThread waits for a thread that is in its finish).
        connect(w.thread, &QThread::finished, w.thread, &QObject::deleteLater);
    }
}

WorkerSnapshot WorkerPool::snapshotOf(const WorkerState &state)
{
    WorkerSnapshot s;
    s.index = state.index;
    s.threadName = state.threadName;
    const qint64 now = requestworker_nowMs();
    QMutexLocker locker(&state.mutex);
    s.busy = state.busy;
    s.requestId = state.requestId;
    s.hung = state.hung;
    if (state.busy) {
        s.elapsedMs = std::max<qint64>(0, now - state.startedAtMs);
        s.progressPercent = state.costMs > 0 ? int(qint64(state.workedMs) * 100 / state.costMs) : 0;
    }
    return s;
}

bool WorkerPool::start(int workerCount)
{
    if (m_started || m_stopping) {
        m_errorString = QStringLiteral("the worker pool was already started");
        return false;
    }
    if (workerCount < 1) {
        m_errorString = QStringLiteral("invalid worker count %1 (must be at least 1)").arg(workerCount);
        return false;
    }
    m_started = true;
    bool ok = true;
    for (int i = 0; i < workerCount && ok; ++i)
        ok = addWorker();
    if (!ok) {
        m_errorString = QStringLiteral("only %1 of %2 worker threads could start (%3)")
                            .arg(m_workers.size())
                            .arg(workerCount)
                            .arg(m_errorString);
    }
    QMutexLocker locker(&m_shared->mutex);
    m_shared->wakeParkedLocked(qsizetype(m_shared->queue.size()));
    return ok;
}

QString WorkerPool::errorString() const
{
    return m_errorString;
}

int WorkerPool::workerCount() const
{
    if (m_stopping)
        return 0;
    return int(std::count_if(m_workers.cbegin(), m_workers.cend(),
                             [](const Worker &w) { return !w.state->retiring.load(std::memory_order_relaxed); }));
}

bool WorkerPool::setWorkerCount(int n)
{
    if (!m_started || m_stopping)
        return true;
    n = std::max(1, n);
    // Busy state read once per worker: it changes under our feet, and std::sort needs a consistent order.
    struct Candidate
    {
        QThread *thread;
        bool busy;
        int index;
    };
    QList<Candidate> active;
    for (const Worker &w : std::as_const(m_workers)) {
        if (!w.state->retiring.load(std::memory_order_relaxed))
            active.append(Candidate {w.thread, snapshotOf(*w.state).busy, w.state->index});
    }
    if (n > active.size()) {
        // What started keeps working; a thread that could not start is reported, not retried.
        bool ok = true;
        for (qsizetype i = active.size(); i < n && ok; ++i)
            ok = addWorker();
        QMutexLocker locker(&m_shared->mutex);
        m_shared->wakeParkedLocked(qsizetype(m_shared->queue.size()));
        return ok;
    }
    // Retire idle workers first (highest index first), then busy ones, which finish their request before leaving.
    std::sort(active.begin(), active.end(), [](const Candidate &a, const Candidate &b) {
        if (a.busy != b.busy)
            return !a.busy;
        return a.index > b.index;
    });
    for (qsizetype i = 0; i < active.size() - n; ++i)
        retireWorker(active.at(i).thread);
    return true;
}

int WorkerPool::runningThreadCount() const
{
    return int(
        std::count_if(m_workers.cbegin(), m_workers.cend(), [](const Worker &w) { return !w.thread->isFinished(); }));
}

void WorkerPool::setQueueLimit(int limit)
{
    QMutexLocker locker(&m_shared->mutex);
    m_shared->queueLimit = std::max(0, limit);
    if (m_shared->capacityWanted && m_shared->hasCapacityLocked()) {
        m_shared->capacityFreed = true;
        m_shared->postDeliveryLocked();
    }
}

int WorkerPool::queueLimit() const
{
    QMutexLocker locker(&m_shared->mutex);
    return m_shared->queueLimit;
}

bool WorkerPool::tryReserve()
{
    QMutexLocker locker(&m_shared->mutex);
    if (!m_shared->intakeOpen)
        return false;
    if (!m_shared->hasCapacityLocked()) {
        ++m_backpressure;
        m_shared->capacityWanted = true;
        return false;
    }
    ++m_shared->reserved;
    return true;
}

void WorkerPool::cancelReservation()
{
    QMutexLocker locker(&m_shared->mutex);
    if (m_shared->reserved > 0)
        --m_shared->reserved;
    if (m_shared->capacityWanted && m_shared->intakeOpen && m_shared->hasCapacityLocked()) {
        m_shared->capacityFreed = true;
        m_shared->postDeliveryLocked();
    }
}

void WorkerPool::submit(const Request &request)
{
    m_hadWork = true;
    QMutexLocker locker(&m_shared->mutex);
    if (m_shared->reserved > 0)
        --m_shared->reserved;
    m_shared->queue.push_back(request);
    // At most one posted call per submit, and none while every worker is busy pulling from the queue anyway.
    m_shared->wakeParkedLocked(1);
}

void WorkerPool::stopIntake()
{
    QMutexLocker locker(&m_shared->mutex);
    m_shared->intakeOpen = false;
    m_shared->dispatch = false;
    m_shared->capacityWanted = false;
    m_shared->capacityFreed = false;
    // A drain() waiting for the queue to empty may be satisfied now: have it looked at.
    m_shared->postDeliveryLocked();
}

void WorkerPool::drain()
{
    m_drainRequested = true;
    QMutexLocker locker(&m_shared->mutex);
    m_shared->postDeliveryLocked();
}

void WorkerPool::cancel()
{
    m_shared->cancelEpoch.fetch_add(1, std::memory_order_acq_rel);
}

void WorkerPool::stop(QDeadlineTimer deadline)
{
    if (m_stopDone)
        return;
    if (!m_stopping) {
        m_stopping = true;
        {
            QMutexLocker locker(&m_shared->mutex);
            m_shared->dispatch = false;
            m_shared->intakeOpen = false;
            m_shared->capacityWanted = false;
            m_shared->parked.clear();
        }
        // Busy workers give their request back at the next slice boundary and return to their event loop, which
        // then ends; idle ones just leave their event loop.
        for (const Worker &w : std::as_const(m_workers)) {
            w.thread->requestInterruption();
            w.thread->quit();
        }
    }
    if (!deadline.isForever()) {
        const qint64 ms = std::clamp<qint64>(deadline.remainingTime(), 0, INT_MAX);
        if (!m_stopTimer->isActive() || ms < m_stopTimer->remainingTime())
            m_stopTimer->start(int(ms));
    }
    // Asynchronous even when there is nothing to wait for.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (m_stopping && !m_stopDone && m_workers.isEmpty())
                finishStop(StopReport {});
        },
        Qt::QueuedConnection);
}

bool WorkerPool::isStopping() const
{
    return m_stopping;
}

int WorkerPool::queuedCount() const
{
    QMutexLocker locker(&m_shared->mutex);
    return int(m_shared->queue.size());
}

int WorkerPool::inFlightCount() const
{
    QMutexLocker locker(&m_shared->mutex);
    return m_shared->inFlight;
}

quint64 WorkerPool::doneCount() const
{
    return m_done;
}

quint64 WorkerPool::returnedCount() const
{
    return m_returned;
}

quint64 WorkerPool::backpressureCount() const
{
    return m_backpressure;
}

QList<Request> WorkerPool::queuedRequests() const
{
    QMutexLocker locker(&m_shared->mutex);
    return QList<Request>(m_shared->queue.cbegin(), m_shared->queue.cend());
}

QList<WorkerSnapshot> WorkerPool::snapshot() const
{
    // Copy the shared states under the (pool-thread-only) list mutex, then read each under its own tiny mutex:
    // never the queue mutex, never anything a working or hung worker holds.
    QList<std::shared_ptr<WorkerState>> states;
    {
        QMutexLocker locker(&m_workersMutex);
        states.reserve(m_workers.size());
        for (const Worker &w : m_workers)
            states.append(w.state);
    }
    QList<WorkerSnapshot> result;
    result.reserve(states.size());
    for (const auto &state : std::as_const(states))
        result.append(snapshotOf(*state));
    return result;
}

void WorkerPool::releaseSimulatedHangs()
{
    RequestWorker::releaseSimulatedHangs();
}

bool WorkerPool::addWorker()
{
    int index = 0;
    for (;; ++index) {
        const bool used = std::any_of(m_workers.cbegin(), m_workers.cend(),
                                      [index](const Worker &w) { return w.state->index == index; });
        if (!used)
            break;
    }
    auto state = std::make_shared<WorkerState>();
    state->index = index;
    state->threadName = QStringLiteral("quiesce-worker-%1").arg(index);

    auto *thread = new QThread; // no parent: deleted only once it has finished, see onThreadFinished()
    thread->setObjectName(state->threadName);
    auto *worker = new RequestWorker(m_shared, state); // no parent: it moves
    worker->moveToThread(thread);

    // Runs in the new thread before its event loop, i.e. before any work: no worker system call may be
    // interrupted by (or steal) a signal the bridge handles.
    connect(
        thread, &QThread::started, thread,
        [state] {
            QString error;
            const bool ok = UnixSignalNotifier::blockHandledSignalsInCurrentThread(&error);
            state->signalsBlocked.store(ok, std::memory_order_relaxed);
            if (!ok)
                qWarning("Quiesce: %s could not block the handled signals: %s", qPrintable(state->threadName),
                         qPrintable(error));
        },
        Qt::DirectConnection);
    connect(thread, &QThread::finished, worker, &QObject::deleteLater);
    connect(thread, &QThread::finished, this, [this, thread] { onThreadFinished(thread); });

    // Started before it is listed anywhere: a thread that never runs must not be waited for, woken or reported.
    QString error;
    if (!ResourceLimits::startThread(thread, &error)) {
        m_errorString = error;
        delete worker; // it never ran on its thread: nothing else can have touched it
        delete thread;
        return false;
    }
    {
        // Parked until there is something to do; a wake-up posted before the loop runs waits in the queue.
        QMutexLocker locker(&m_shared->mutex);
        m_shared->parked.append(worker);
    }
    {
        QMutexLocker locker(&m_workersMutex);
        m_workers.append(Worker {thread, worker, state});
    }
    return true;
}

void WorkerPool::retireWorker(QThread *thread)
{
    const auto it =
        std::find_if(m_workers.cbegin(), m_workers.cend(), [thread](const Worker &w) { return w.thread == thread; });
    Q_ASSERT(it != m_workers.cend());
    const Worker &w = *it;
    w.state->retiring.store(true, std::memory_order_relaxed);
    {
        QMutexLocker locker(&m_shared->mutex);
        m_shared->parked.removeAll(w.worker);
        // If it had been woken for a request, someone else has to take that one.
        m_shared->wakeParkedLocked(qsizetype(m_shared->queue.size()));
    }
    // A busy worker finishes its request, sees `retiring` and returns to its event loop, which then ends.
    w.thread->quit();
}

void WorkerPool::deliver()
{
    QList<quint64> startedIds;
    QList<Request> finishedRequests;
    QList<Request> returnedRequests;
    bool capacity = false;
    {
        QMutexLocker locker(&m_shared->mutex);
        m_shared->deliveryPosted = false;
        startedIds.swap(m_shared->startedIds);
        finishedRequests.swap(m_shared->finished);
        returnedRequests.swap(m_shared->returned);
        m_shared->inFlight -= int(finishedRequests.size() + returnedRequests.size());
        if (m_shared->capacityFreed) {
            m_shared->capacityFreed = false;
            m_shared->capacityWanted = false;
            capacity = true;
        }
    }
    m_done += quint64(finishedRequests.size());
    m_returned += quint64(returnedRequests.size());
    // started before finished: a request started and done within one batch is seen in that order.
    if (!startedIds.isEmpty())
        Q_EMIT started(startedIds);
    if (!finishedRequests.isEmpty())
        Q_EMIT finished(finishedRequests);
    if (!returnedRequests.isEmpty())
        Q_EMIT returned(returnedRequests);
    if (capacity)
        Q_EMIT capacityAvailable();
    checkDrainedAndIdle();
}

void WorkerPool::checkDrainedAndIdle()
{
    // Re-read after emitting: the receivers of finished() may have submitted more.
    int inFlight = 0;
    bool queueEmpty = false;
    bool dispatch = false;
    {
        QMutexLocker locker(&m_shared->mutex);
        inFlight = m_shared->inFlight;
        queueEmpty = m_shared->queue.empty();
        dispatch = m_shared->dispatch;
    }
    if (m_drainRequested && inFlight == 0 && (queueEmpty || !dispatch)) {
        m_drainRequested = false;
        Q_EMIT drained();
    }
    if (m_hadWork && inFlight == 0 && queueEmpty) {
        m_hadWork = false;
        Q_EMIT idle();
    }
}

void WorkerPool::onThreadFinished(QThread *thread)
{
    const auto it =
        std::find_if(m_workers.cbegin(), m_workers.cend(), [thread](const Worker &w) { return w.thread == thread; });
    if (it == m_workers.cend())
        return;
    // finished() is emitted from the thread right before it ends: this wait returns at once.
    thread->wait();
    {
        QMutexLocker locker(&m_workersMutex);
        m_workers.erase(it);
    }
    delete thread;
    if (m_stopping && !m_stopDone && m_workers.isEmpty())
        finishStop(StopReport {});
}

void WorkerPool::onStopDeadline()
{
    if (m_stopDone)
        return;
    StopReport report;
    for (const Worker &w : std::as_const(m_workers)) {
        if (w.thread->isFinished())
            continue; // finished; its finished() notification is on its way
        const WorkerSnapshot s = snapshotOf(*w.state);
        report.stuck.append(StopReport::Stuck {s.index, s.threadName, s.busy ? s.requestId : 0, s.elapsedMs});
    }
    report.allStopped = report.stuck.isEmpty();
    m_stopTimedOut = !report.allStopped;
    finishStop(report);
}

void WorkerPool::finishStop(const StopReport &report)
{
    m_stopDone = true;
    m_stopTimer->stop();
    // Report what the workers gave back before saying they stopped.
    deliver();
    Q_EMIT stopped(report);
}

} // namespace Quiesce
