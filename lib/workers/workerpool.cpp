#include "workerpool.h"

#include "jobworker_p.h"
#include "poollogging_p.h"
#include "workerpool_p.h"
#include <Quiesce/threadowner.h>

#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <climits>

namespace Quiesce {

namespace {

// How long the destructor waits for threads that are still running (interrupted, so only a blocked one stays).
constexpr int DestructorWaitMs = 2000;

} // namespace

WorkerPoolPrivate::WorkerPoolPrivate(WorkerPool *pool)
    : q(pool)
    , shared(std::make_shared<WorkerPoolShared>())
    , stopTimer(new QTimer(q))
{}

WorkerPool::WorkerPool(QObject *parent)
    : JobPool(parent)
    , d(std::make_unique<WorkerPoolPrivate>(this))
{
    d->shared->pool = this;
    d->stopTimer->setSingleShot(true);
    connect(d->stopTimer, &QTimer::timeout, this, [this] { d->onStopDeadline(); });
}

WorkerPool::~WorkerPool()
{
    // Order matters: first cut the workers off from this object (no more deliveries to it, no more dispatch),
    // then ask every thread to stop, then wait a bounded time. Threads that finish are deleted; a blocked one is
    // leaked rather than destroyed running (which would abort) or terminated (which could leave locks held).
    {
        QMutexLocker locker(&d->shared->mutex);
        d->shared->pool = nullptr;
        d->shared->dispatch = false;
        d->shared->intakeOpen = false;
        d->shared->parked.clear();
    }
    for (const WorkerPoolPrivate::Worker &w : std::as_const(d->workers)) {
        w.thread->requestInterruption();
        w.thread->quit();
    }
    d->shared->notifyCancellation();
    // If stop() already reported stuck threads, do not make the exit wait for them a second time.
    const QDeadlineTimer bound(d->stopTimedOut ? 0 : DestructorWaitMs);
    QList<WorkerPoolPrivate::Worker> workers;
    {
        // Taken out under the list mutex, waited for outside it: a watchdog's snapshot() must not wait with us.
        QMutexLocker locker(&d->workersMutex);
        workers.swap(d->workers);
    }
    for (const WorkerPoolPrivate::Worker &w : std::as_const(workers)) {
        // Asked above already (all of them before the first wait); should a leaked one ever return, it deletes
        // itself.
        if (w.owner->stop(bound, ThreadOwner::StopRequest::AlreadyRequested) != ThreadOwner::StopResult::Leaked)
            continue;
        qCWarning(lcPool, "worker %s did not stop (job %llu); leaving its thread running on purpose",
                  qPrintable(w.state->threadName),
                  static_cast<unsigned long long>(WorkerPoolPrivate::snapshotOf(*w.state).jobId));
    }
}

WorkerSnapshot WorkerPoolPrivate::snapshotOf(const WorkerState &state)
{
    WorkerSnapshot s;
    s.index = state.index;
    s.threadName = state.threadName;
    const qint64 now = jobworker_nowMs();
    QMutexLocker locker(&state.mutex);
    s.busy = state.busy;
    s.jobId = state.jobId;
    s.hung = state.hung;
    if (state.busy) {
        s.elapsedMs = std::max<qint64>(0, now - state.startedAtMs);
        s.progressPercent = state.progressPercent;
    }
    s.state = state.busy ? QStringLiteral("busy") : QStringLiteral("idle");
    return s;
}

void WorkerPool::setJobFunction(JobFunction function)
{
    if (d->started)
        return; // the workers read it without a lock
    d->shared->function = std::move(function);
}

void WorkerPool::setThreadNamePrefix(const QString &prefix)
{
    if (!d->started)
        d->threadNamePrefix = prefix;
}

QString WorkerPool::threadNamePrefix() const
{
    return d->threadNamePrefix;
}

bool WorkerPool::start(int workerCount)
{
    const bool ok = startWithoutWaiting(workerCount);
    // The threads that did start, also after a failure: each runs under its name once this returns.
    waitUntilRunning();
    return ok;
}

bool WorkerPool::startWithoutWaiting(int workerCount)
{
    if (d->started || d->stopping) {
        d->errorString = QStringLiteral("the worker pool was already started");
        return false;
    }
    if (!d->shared->function) {
        d->errorString = QStringLiteral("no job function set");
        return false;
    }
    if (workerCount < 1) {
        d->errorString = QStringLiteral("invalid worker count %1 (must be at least 1)").arg(workerCount);
        return false;
    }
    d->started = true;
    bool ok = true;
    for (int i = 0; i < workerCount && ok; ++i)
        ok = d->addWorker();
    if (!ok) {
        d->errorString = QStringLiteral("only %1 of %2 worker threads could start (%3)")
                             .arg(d->workers.size())
                             .arg(workerCount)
                             .arg(d->errorString);
    }
    // A wake-up posted before a worker's event loop runs waits in its queue: nothing here needs them running.
    QMutexLocker locker(&d->shared->mutex);
    d->shared->wakeParkedLocked(qsizetype(d->shared->queue.size()));
    return ok;
}

void WorkerPool::waitUntilRunning()
{
    if (!d->stopping)
        d->waitUntilAllRunning();
}

QString WorkerPool::errorString() const
{
    return d->errorString;
}

int WorkerPool::workerCount() const
{
    if (d->stopping)
        return 0;
    return int(std::count_if(d->workers.cbegin(), d->workers.cend(), [](const WorkerPoolPrivate::Worker &w) {
        return !w.state->retiring.load(std::memory_order_relaxed);
    }));
}

bool WorkerPool::setWorkerCount(int n)
{
    if (!d->started || d->stopping)
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
    for (const WorkerPoolPrivate::Worker &w : std::as_const(d->workers)) {
        if (!w.state->retiring.load(std::memory_order_relaxed))
            active.append(Candidate {w.thread, WorkerPoolPrivate::snapshotOf(*w.state).busy, w.state->index});
    }
    if (n > active.size()) {
        // What started keeps working; a thread that could not start is reported, not retried.
        bool ok = true;
        for (qsizetype i = active.size(); i < n && ok; ++i)
            ok = d->addWorker();
        d->waitUntilAllRunning();
        QMutexLocker locker(&d->shared->mutex);
        d->shared->wakeParkedLocked(qsizetype(d->shared->queue.size()));
        return ok;
    }
    // Retire idle workers first (highest index first), then busy ones, which finish their job before leaving.
    std::sort(active.begin(), active.end(), [](const Candidate &a, const Candidate &b) {
        if (a.busy != b.busy)
            return !a.busy;
        return a.index > b.index;
    });
    for (qsizetype i = 0; i < active.size() - n; ++i)
        d->retireWorker(active.at(i).thread);
    return true;
}

int WorkerPool::runningThreadCount() const
{
    return int(std::count_if(d->workers.cbegin(), d->workers.cend(),
                             [](const WorkerPoolPrivate::Worker &w) { return !w.thread->isFinished(); }));
}

void WorkerPool::setQueueLimit(int limit)
{
    WorkerPoolShared &shared = *d->shared;
    QMutexLocker locker(&shared.mutex);
    shared.queueLimit = std::max(0, limit);
    if (shared.capacityWanted && shared.hasCapacityLocked()) {
        shared.capacityFreed = true;
        shared.postDeliveryLocked();
    }
}

int WorkerPool::queueLimit() const
{
    QMutexLocker locker(&d->shared->mutex);
    return d->shared->queueLimit;
}

bool WorkerPool::tryReserve()
{
    WorkerPoolShared &shared = *d->shared;
    QMutexLocker locker(&shared.mutex);
    if (!shared.intakeOpen)
        return false;
    if (!shared.hasCapacityLocked()) {
        ++d->backpressure;
        shared.capacityWanted = true;
        return false;
    }
    ++shared.reserved;
    return true;
}

void WorkerPool::cancelReservation()
{
    WorkerPoolShared &shared = *d->shared;
    QMutexLocker locker(&shared.mutex);
    if (shared.reserved > 0)
        --shared.reserved;
    if (shared.capacityWanted && shared.intakeOpen && shared.hasCapacityLocked()) {
        shared.capacityFreed = true;
        shared.postDeliveryLocked();
    }
}

void WorkerPool::submit(const Job &job)
{
    d->hadWork = true;
    WorkerPoolShared &shared = *d->shared;
    QMutexLocker locker(&shared.mutex);
    if (shared.reserved > 0)
        --shared.reserved;
    shared.queue.push_back(job);
    // At most one posted call per submit, and none while every worker is busy pulling from the queue anyway.
    shared.wakeParkedLocked(1);
}

void WorkerPool::stopIntake()
{
    WorkerPoolShared &shared = *d->shared;
    QMutexLocker locker(&shared.mutex);
    shared.intakeOpen = false;
    shared.dispatch = false;
    shared.capacityWanted = false;
    shared.capacityFreed = false;
    // A drain() waiting for the queue to empty may be satisfied now: have it looked at.
    shared.postDeliveryLocked();
}

void WorkerPool::drain()
{
    d->drainRequested = true;
    QMutexLocker locker(&d->shared->mutex);
    d->shared->postDeliveryLocked();
}

void WorkerPool::cancel()
{
    {
        std::lock_guard lock(d->shared->cancelMutex);
        d->shared->cancelEpoch.fetch_add(1, std::memory_order_acq_rel);
    }
    d->shared->cancelled.notify_all();
}

void WorkerPool::stop(QDeadlineTimer deadline)
{
    if (d->stopDone)
        return;
    if (!d->stopping) {
        d->stopping = true;
        d->workersAtStop = int(d->workers.size());
        {
            QMutexLocker locker(&d->shared->mutex);
            d->shared->dispatch = false;
            d->shared->intakeOpen = false;
            d->shared->capacityWanted = false;
            d->shared->parked.clear();
        }
        // Running jobs see cancellation, give their job back and return to their event loop, which then ends;
        // idle workers just leave their event loop.
        for (const WorkerPoolPrivate::Worker &w : std::as_const(d->workers)) {
            w.thread->requestInterruption();
            w.thread->quit();
        }
        d->shared->notifyCancellation();
    }
    if (!deadline.isForever()) {
        const qint64 ms = std::clamp<qint64>(deadline.remainingTime(), 0, INT_MAX);
        if (!d->stopTimer->isActive() || ms < d->stopTimer->remainingTime())
            d->stopTimer->start(int(ms));
    }
    // Asynchronous even when there is nothing to wait for.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (d->stopping && !d->stopDone && d->workers.isEmpty())
                d->finishStop(StopReport {});
        },
        Qt::QueuedConnection);
}

bool WorkerPool::isStopping() const
{
    return d->stopping;
}

int WorkerPool::queuedCount() const
{
    QMutexLocker locker(&d->shared->mutex);
    return int(d->shared->queue.size());
}

int WorkerPool::inFlightCount() const
{
    QMutexLocker locker(&d->shared->mutex);
    return d->shared->inFlight;
}

quint64 WorkerPool::doneCount() const
{
    return d->done;
}

quint64 WorkerPool::givenBackCount() const
{
    return d->givenBack;
}

quint64 WorkerPool::failedCount() const
{
    return d->failed;
}

quint64 WorkerPool::backpressureCount() const
{
    return d->backpressure;
}

QList<Job> WorkerPool::queuedJobs() const
{
    QMutexLocker locker(&d->shared->mutex);
    return QList<Job>(d->shared->queue.cbegin(), d->shared->queue.cend());
}

QList<WorkerSnapshot> WorkerPool::snapshot() const
{
    // Copy the shared states under the (pool-thread-only) list mutex, then read each under its own tiny mutex:
    // never the queue mutex, never anything a working or blocked worker holds.
    QList<std::shared_ptr<WorkerState>> states;
    {
        QMutexLocker locker(&d->workersMutex);
        states.reserve(d->workers.size());
        for (const WorkerPoolPrivate::Worker &w : std::as_const(d->workers))
            states.append(w.state);
    }
    QList<WorkerSnapshot> result;
    result.reserve(states.size());
    for (const auto &state : std::as_const(states))
        result.append(WorkerPoolPrivate::snapshotOf(*state));
    return result;
}

int WorkerPool::busyCount() const
{
    // snapshot()'s locking without its copies: a STATUS line on every SIGUSR1 asks for this.
    QMutexLocker locker(&d->workersMutex);
    int busy = 0;
    for (const WorkerPoolPrivate::Worker &w : std::as_const(d->workers)) {
        QMutexLocker stateLocker(&w.state->mutex);
        busy += w.state->busy ? 1 : 0;
    }
    return busy;
}

void WorkerPoolPrivate::waitUntilAllRunning()
{
    // addWorker() does not wait for each thread it creates: the threads start side by side, and this is the one
    // wait, so that every worker runs under its name once start() or setWorkerCount() returns.
    for (const Worker &w : std::as_const(workers))
        w.owner->waitUntilRunning();
}

bool WorkerPoolPrivate::addWorker()
{
    int index = 0;
    for (;; ++index) {
        const bool used =
            std::any_of(workers.cbegin(), workers.cend(), [index](const Worker &w) { return w.state->index == index; });
        if (!used)
            break;
    }
    auto state = std::make_shared<WorkerState>();
    state->index = index;
    state->threadName = threadNamePrefix + QString::number(index);

    // The owner starts the thread with the bridge's signals blocked, i.e. before any work: no worker system call
    // may be interrupted by (or steal) a signal the bridge handles. The thread is deleted only once it has
    // finished (onThreadFinished()), or leaked by the destructor.
    auto owner = std::make_shared<ThreadOwner>(new QThread);
    owner->setName(state->threadName);
    QThread *thread = owner->thread();
    auto *worker = new JobWorker(shared, state); // no parent: it moves
    worker->moveToThread(thread);
    QObject::connect(thread, &QThread::finished, worker, &QObject::deleteLater);
    QObject::connect(thread, &QThread::finished, q, [this, thread] { onThreadFinished(thread); });

    // Started before it is listed anywhere: a thread that never runs must not be waited for, woken or reported.
    QString error;
    if (!owner->startWithoutWaiting(&error)) {
        errorString = error;
        delete worker; // it never ran on its thread: nothing else can have touched it (the owner deletes the thread)
        return false;
    }
    {
        // Parked until there is something to do; a wake-up posted before the loop runs waits in the queue.
        QMutexLocker locker(&shared->mutex);
        shared->parked.append(worker);
    }
    {
        QMutexLocker locker(&workersMutex);
        workers.append(Worker {thread, std::move(owner), worker, state});
    }
    return true;
}

void WorkerPoolPrivate::retireWorker(QThread *thread)
{
    const auto it =
        std::find_if(workers.cbegin(), workers.cend(), [thread](const Worker &w) { return w.thread == thread; });
    Q_ASSERT(it != workers.cend());
    const Worker &w = *it;
    w.state->retiring.store(true, std::memory_order_relaxed);
    {
        QMutexLocker locker(&shared->mutex);
        shared->parked.removeAll(w.worker);
        // If it had been woken for a job, someone else has to take that one.
        shared->wakeParkedLocked(qsizetype(shared->queue.size()));
    }
    // A busy worker finishes its job, sees `retiring` and returns to its event loop, which then ends.
    w.thread->quit();
}

void WorkerPoolPrivate::deliver()
{
    QList<quint64> startedIds;
    QList<Job> doneJobs;
    QList<Job> givenBackJobs;
    QList<JobFailure> failures;
    bool capacity = false;
    {
        QMutexLocker locker(&shared->mutex);
        shared->deliveryPosted = false;
        startedIds.swap(shared->startedIds);
        doneJobs.swap(shared->done);
        givenBackJobs.swap(shared->givenBack);
        failures.swap(shared->failed);
        shared->inFlight -= int(doneJobs.size() + givenBackJobs.size() + failures.size());
        if (shared->capacityFreed) {
            shared->capacityFreed = false;
            shared->capacityWanted = false;
            capacity = true;
        }
    }
    done += quint64(doneJobs.size());
    givenBack += quint64(givenBackJobs.size());
    failed += quint64(failures.size());
    // Started before the outcomes: a job started and ended within one batch is seen in that order.
    if (!startedIds.isEmpty())
        Q_EMIT q->jobsStarted(startedIds);
    if (!doneJobs.isEmpty())
        Q_EMIT q->jobsDone(doneJobs);
    if (!givenBackJobs.isEmpty())
        Q_EMIT q->jobsGivenBack(givenBackJobs);
    if (!failures.isEmpty())
        Q_EMIT q->jobsFailed(failures);
    if (capacity)
        Q_EMIT q->capacityAvailable();
    checkDrainedAndIdle();
}

void WorkerPoolPrivate::checkDrainedAndIdle()
{
    // Re-read after emitting: the receivers of jobsDone() may have submitted more.
    int inFlight = 0;
    bool queueEmpty = false;
    bool dispatch = false;
    {
        QMutexLocker locker(&shared->mutex);
        inFlight = shared->inFlight;
        queueEmpty = shared->queue.empty();
        dispatch = shared->dispatch;
    }
    if (drainRequested && inFlight == 0 && (queueEmpty || !dispatch)) {
        drainRequested = false;
        Q_EMIT q->drained();
    }
    if (hadWork && inFlight == 0 && queueEmpty) {
        hadWork = false;
        Q_EMIT q->idle();
    }
}

void WorkerPoolPrivate::onThreadFinished(QThread *thread)
{
    const auto it =
        std::find_if(workers.cbegin(), workers.cend(), [thread](const Worker &w) { return w.thread == thread; });
    if (it == workers.cend())
        return;
    const std::shared_ptr<ThreadOwner> owner = it->owner;
    {
        QMutexLocker locker(&workersMutex);
        workers.erase(it);
    }
    // finished() is emitted from the thread right before it ends: this wait returns at once, then it is deleted.
    owner->stop(QDeadlineTimer(QDeadlineTimer::Forever), ThreadOwner::StopRequest::AlreadyRequested);
    if (stopping && !stopDone && workers.isEmpty())
        finishStop(StopReport {});
}

void WorkerPoolPrivate::onStopDeadline()
{
    if (stopDone)
        return;
    StopReport report;
    for (const Worker &w : std::as_const(workers)) {
        if (w.thread->isFinished())
            continue; // finished; its finished() notification is on its way
        const WorkerSnapshot s = snapshotOf(*w.state);
        report.stuck.append(StopReport::Stuck {s.index, s.threadName, s.busy ? s.jobId : 0, s.elapsedMs});
    }
    report.allStopped = report.stuck.isEmpty();
    stopTimedOut = !report.allStopped;
    finishStop(report);
}

void WorkerPoolPrivate::finishStop(const StopReport &report)
{
    stopDone = true;
    stopTimer->stop();
    // Report what the workers gave back before saying they stopped.
    deliver();
    // The jobs of threads still running (stuck) are the caller's to requeue; a thread never loses one otherwise.
    StopReport full = report;
    full.stopped = std::max(0, workersAtStop - int(report.stuck.size()));
    for (const StopReport::Stuck &s : std::as_const(report.stuck)) {
        if (s.jobId != 0)
            full.lostJobIds.append(s.jobId);
    }
    Q_EMIT q->stopped(full);
}

} // namespace Quiesce
