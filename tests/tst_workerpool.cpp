#include <Quiesce/unixsignalnotifier.h>
#include <Quiesce/workerpool.h>

#include "procstatus.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QMutex>
#include <QtCore/QProcess>
#include <QtCore/QProcessEnvironment>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <memory>
#include <mutex>
#include <stdexcept>

using Quiesce::idsOf;
using Quiesce::Job;
using Quiesce::JobContext;
using Quiesce::JobFailure;
using Quiesce::JobOutcome;
using Quiesce::JobResult;
using Quiesce::StopReport;
using Quiesce::UnixSignalNotifier;
using Quiesce::WorkerPool;
using Quiesce::WorkerSnapshot;

namespace {

// Every warning that mentions QThread ("QThread: Destroyed while thread is still running", "QThread::wait:
// Thread tried to wait on itself", ...) is a defect of the pool. Recorded here, checked after each test.
QtMessageHandler s_previousHandler = nullptr;
QStringList s_threadWarnings;
QMutex s_threadWarningsMutex;

void failOnThreadWarnings(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type != QtDebugMsg && type != QtInfoMsg && message.contains(QLatin1StringView("QThread"))) {
        QMutexLocker locker(&s_threadWarningsMutex);
        s_threadWarnings.append(message);
    }
    if (s_previousHandler != nullptr)
        s_previousHandler(type, context, message);
}

/* The gate "hang" jobs block on, deaf to cancellation like a stuck blocking C call. Never destroyed: a leaked
   thread may still wait on it after its test. Each release() lets every job waiting now go; later ones wait. */
struct HangGate
{
    std::mutex mutex;
    std::condition_variable released;
    quint64 generation = 0;

    static HangGate &instance()
    {
        static auto *gate = new HangGate; // intentionally leaked, see above
        return *gate;
    }
    void wait()
    {
        std::unique_lock lock(mutex);
        const quint64 start = generation;
        released.wait(lock, [this, start] { return generation != start; });
    }
    static void release()
    {
        HangGate &gate = instance();
        {
            std::lock_guard lock(gate.mutex);
            ++gate.generation;
        }
        gate.released.notify_all();
    }
};

/* The tests' job function. Payload:
   "<ms>"         works that long in slices of at most 10 ms, giving back on cancellation, reporting progress;
   "hang"         setBlocking(true), then waits on HangGate ignoring cancellation, then done;
   "fail:<why>"   fails with that reason;
   "throw"        throws (the pool turns it into a failure);
   "wait"         waits for cancellation without a deadline, then gives back (only a wake-up can end it);
   "waitfor:<ms>" waits for cancellation at most that long: done if the deadline passed, given back if cancelled. */
JobResult testJob(const Job &job, JobContext &context)
{
    const QByteArray &p = job.payload;
    if (p == "hang") {
        context.setBlocking(true);
        HangGate::instance().wait();
        context.setBlocking(false);
        return JobOutcome::Done;
    }
    if (p.startsWith("fail:"))
        return JobResult(JobOutcome::Failed, QString::fromUtf8(p.mid(5)));
    if (p == "throw")
        throw std::runtime_error("bad input");
    if (p == "wait")
        return context.waitForCancellation(QDeadlineTimer(QDeadlineTimer::Forever)) ? JobOutcome::GiveBack
                                                                                    : JobOutcome::Done;
    if (p.startsWith("waitfor:")) {
        return context.waitForCancellation(QDeadlineTimer(p.mid(8).toInt())) ? JobOutcome::GiveBack : JobOutcome::Done;
    }
    const int costMs = p.toInt();
    for (int worked = 0; worked < costMs;) {
        const int slice = std::min(10, costMs - worked);
        if (context.isCancellationRequested() || context.waitForCancellation(QDeadlineTimer(slice)))
            return JobOutcome::GiveBack;
        worked += slice;
        context.setProgress(int(qint64(worked) * 100 / costMs));
    }
    return JobOutcome::Done;
}

Job makeJob(quint64 id, int costMs = 0, bool hang = false)
{
    Job job;
    job.id = id;
    job.payload = hang ? QByteArray("hang") : QByteArray::number(costMs);
    return job;
}

Job makeJob(quint64 id, const QByteArray &payload)
{
    Job job;
    job.id = id;
    job.payload = payload;
    return job;
}

// A WorkerPool running testJob().
class TestPool : public WorkerPool
{
public:
    TestPool() { setJobFunction(&testJob); }
};

// Everything a pool reports, in order.
struct Recorder
{
    explicit Recorder(WorkerPool *pool)
    {
        QObject::connect(pool, &WorkerPool::jobsStarted, pool, [this](const QList<quint64> &ids) {
            for (quint64 id : ids) {
                if (startedIds.contains(id))
                    errors.append(QStringLiteral("started twice: %1").arg(id));
                startedIds.insert(id);
            }
            startedOrder += ids;
        });
        QObject::connect(pool, &WorkerPool::jobsDone, pool, [this](const QList<Job> &jobs) {
            for (const Job &r : jobs) {
                if (!startedIds.contains(r.id))
                    errors.append(QStringLiteral("finished before started: %1").arg(r.id));
                finished.append(r.id);
            }
        });
        QObject::connect(pool, &WorkerPool::jobsGivenBack, pool, [this](const QList<Job> &jobs) {
            for (const Job &r : jobs)
                returned.append(r.id);
        });
        QObject::connect(pool, &WorkerPool::jobsFailed, pool, [this](const QList<JobFailure> &failures) {
            for (const JobFailure &f : failures) {
                if (!startedIds.contains(f.job.id))
                    errors.append(QStringLiteral("failed before started: %1").arg(f.job.id));
                failed.append(f);
            }
        });
    }
    QSet<quint64> startedIds;
    QList<quint64> startedOrder;
    QList<quint64> finished;
    QList<quint64> returned;
    QList<JobFailure> failed;
    QStringList errors;
};

// Runs the event loop until every event posted before this call has been delivered (FIFO): deterministic.
bool flushPostedEvents()
{
    bool ran = false;
    QMetaObject::invokeMethod(
        QCoreApplication::instance(), [&ran] { ran = true; }, Qt::QueuedConnection);
    return QTest::qWaitFor([&ran] { return ran; }, 5000);
}

// The kernel truncates thread names to 15 characters: a long prefix is cut; the default worker-<i> is whole.
QList<qint64> workerTids()
{
    return ProcStatus::threadsNamed(0, "worker-");
}

quint64 sigBlk(qint64 tid)
{
    return ProcStatus::mask(0, tid, "SigBlk");
}

using ProcStatus::signalBit;

std::optional<WorkerSnapshot> busyWith(const WorkerPool &pool, quint64 jobId)
{
    const QList<WorkerSnapshot> snapshot = pool.snapshot();
    for (const WorkerSnapshot &s : snapshot) {
        if (s.busy && s.jobId == jobId)
            return s;
    }
    return std::nullopt;
}

} // namespace

class tst_WorkerPool : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void messageHandlerCatchesThreadWarnings();
    void processesEveryJobExactlyOnce_data();
    void processesEveryJobExactlyOnce();
    void drainWaitsForInFlightAndLeavesQueued();
    void drainWhenIdleIsAsynchronous();
    void cancelGivesBackUnfinishedJobs();
    void cancelAffectsOnlyJobsInFlight();
    void queueLimitGivesBackpressure();
    void stopReturnsInFlightWorkThenReportsStopped();
    void stopIdlePoolIsAsynchronous();
    void stopWithBlockedJobNamesIt();
    void destroyWithHungWorkerLeaksItsThread_data();
    void destroyWithHungWorkerLeaksItsThread();
    void workerThreadsBlockHandledSignals();
    void setWorkerCountUpAndDown();
    void snapshotIsSafeFromAnotherThread();
    void startRefusesBadCounts();
    void stopReportDescribesStuckWorkers();
    void failedOutcomeReportsTheReason();
    void waitForCancellationWakesOnCancel();
    void waitForCancellationWakesOnStop();
    void threadNamePrefixNamesTheThreads();
    void startRefusesWithoutJobFunction();
    void startWithoutWaitingThenWaitNamesTheThreads();
    void stopBeforeWaitingStopsEveryThread();
    void destroyBeforeWaitingIsSafe();
    void startWithoutWaitingReportsAThreadThatCannotStart();
};

void tst_WorkerPool::initTestCase()
{
    s_previousHandler = qInstallMessageHandler(&failOnThreadWarnings);
}

void tst_WorkerPool::cleanup()
{
    // Whatever a failed test left hanging must not block the next one.
    HangGate::release();
    QTRY_COMPARE_WITH_TIMEOUT(workerTids().size(), qsizetype(0), 10000);
    QMutexLocker locker(&s_threadWarningsMutex);
    const QStringList warnings = std::exchange(s_threadWarnings, {});
    locker.unlock();
    QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(QLatin1Char('\n'))));
}

void tst_WorkerPool::messageHandlerCatchesThreadWarnings()
{
    // The guard in cleanup() is only worth something if it sees these warnings.
    QTest::ignoreMessage(QtWarningMsg, "QThread: self-test of the message guard");
    qWarning("QThread: self-test of the message guard");
    QMutexLocker locker(&s_threadWarningsMutex);
    QCOMPARE(s_threadWarnings.size(), 1);
    s_threadWarnings.clear();
}

void tst_WorkerPool::processesEveryJobExactlyOnce_data()
{
    QTest::addColumn<int>("workers");
    QTest::addColumn<int>("requests");
    QTest::addColumn<int>("costMs");
    QTest::addColumn<bool>("submitBeforeStart");
    QTest::newRow("1x1") << 1 << 1 << 0 << false;
    QTest::newRow("2x100") << 2 << 100 << 0 << false;
    QTest::newRow("4x1000") << 4 << 1000 << 0 << false;
    QTest::newRow("8x5000") << 8 << 5000 << 0 << false;
    QTest::newRow("8x5000 queued before start") << 8 << 5000 << 0 << true;
    QTest::newRow("3x60 with slices") << 3 << 60 << 25 << false;
}

void tst_WorkerPool::processesEveryJobExactlyOnce()
{
    QFETCH(int, workers);
    QFETCH(int, requests);
    QFETCH(int, costMs);
    QFETCH(bool, submitBeforeStart);

    TestPool pool;
    Recorder recorder(&pool);
    QSignalSpy idle(&pool, &WorkerPool::idle);
    auto submitAll = [&] {
        for (int i = 1; i <= requests; ++i)
            pool.submit(makeJob(quint64(i), costMs));
    };
    if (submitBeforeStart) {
        submitAll();
        QCOMPARE(pool.queuedCount(), requests);
    }
    QVERIFY2(pool.start(workers), qPrintable(pool.errorString()));
    QCOMPARE(pool.workerCount(), workers);
    if (!submitBeforeStart)
        submitAll();

    QVERIFY(idle.wait(60000));
    QVERIFY2(recorder.errors.isEmpty(), qPrintable(recorder.errors.join(QLatin1Char('\n'))));
    QList<quint64> finished = recorder.finished;
    std::sort(finished.begin(), finished.end());
    QList<quint64> expected;
    for (int i = 1; i <= requests; ++i)
        expected.append(quint64(i));
    QCOMPARE(finished, expected);
    QCOMPARE(recorder.startedIds.size(), qsizetype(requests));
    QVERIFY(recorder.returned.isEmpty());
    QCOMPARE(pool.doneCount(), quint64(requests));
    QCOMPARE(pool.givenBackCount(), quint64(0));
    QCOMPARE(pool.inFlightCount(), 0);
    QCOMPARE(pool.queuedCount(), 0);
    // FIFO: with one worker the start order is the submit order.
    if (workers == 1)
        QCOMPARE(recorder.startedOrder, expected);
    QCOMPARE(idle.count(), 1);
}

void tst_WorkerPool::drainWaitsForInFlightAndLeavesQueued()
{
    TestPool pool;
    Recorder recorder(&pool);
    QVERIFY(pool.start(1));
    // The only worker is stuck in job 1 until released: in flight for as long as the test wants.
    pool.submit(makeJob(1, 0, true));
    QTRY_VERIFY(recorder.startedIds.contains(1));
    pool.submit(makeJob(2));
    pool.submit(makeJob(3));

    pool.stopIntake();
    QVERIFY(!pool.tryReserve());
    qsizetype finishedWhenDrained = -1;
    connect(&pool, &WorkerPool::drained, this, [&] { finishedWhenDrained = recorder.finished.size(); });
    QSignalSpy drained(&pool, &WorkerPool::drained);
    pool.drain();
    // Every event the pool posted so far has been handled, and still nothing: job 1 is in flight.
    QVERIFY(flushPostedEvents());
    QVERIFY(flushPostedEvents());
    QCOMPARE(drained.count(), 0);
    QCOMPARE(pool.inFlightCount(), 1);

    HangGate::release();
    QVERIFY(drained.wait(10000));
    QCOMPARE(drained.count(), 1);
    // drained() came after job 1 was reported finished ...
    QCOMPARE(finishedWhenDrained, qsizetype(1));
    QCOMPARE(recorder.finished, QList<quint64> {1});
    // ... and the queued ones were never dispatched: they stay pending for the next run.
    QCOMPARE(pool.queuedCount(), 2);
    QCOMPARE(idsOf(pool.queuedJobs()), (QList<quint64> {2, 3}));
    QCOMPARE(recorder.startedOrder, QList<quint64> {1});
    QCOMPARE(pool.inFlightCount(), 0);
}

void tst_WorkerPool::drainWhenIdleIsAsynchronous()
{
    TestPool pool;
    QVERIFY(pool.start(2));
    QSignalSpy drained(&pool, &WorkerPool::drained);
    pool.drain();
    QCOMPARE(drained.count(), 0); // never from inside drain()
    QVERIFY(drained.wait(5000));
    QCOMPARE(drained.count(), 1);
}

void tst_WorkerPool::cancelGivesBackUnfinishedJobs()
{
    TestPool pool;
    Recorder recorder(&pool);
    QVERIFY(pool.start(2));
    for (quint64 id = 1; id <= 4; ++id)
        pool.submit(makeJob(id, 60000));
    QTRY_COMPARE(recorder.startedIds.size(), qsizetype(2));
    // Progress is published while the job is worked on (1% of 60 s is 600 ms).
    const quint64 busyId = *recorder.startedIds.cbegin();
    QTRY_VERIFY_WITH_TIMEOUT(busyWith(pool, busyId) && busyWith(pool, busyId)->progressPercent >= 1, 10000);
    QVERIFY(!busyWith(pool, busyId)->hung);

    pool.stopIntake();
    QSignalSpy returned(&pool, &WorkerPool::jobsGivenBack);
    pool.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(recorder.returned.size(), qsizetype(2), 10000);
    QList<quint64> returnedIds = recorder.returned;
    std::sort(returnedIds.begin(), returnedIds.end());
    QList<quint64> startedIds = recorder.startedIds.values();
    std::sort(startedIds.begin(), startedIds.end());
    QCOMPARE(returnedIds, startedIds);
    QVERIFY(recorder.finished.isEmpty());
    QCOMPARE(pool.givenBackCount(), quint64(2));
    QCOMPARE(pool.doneCount(), quint64(0));
    QCOMPARE(pool.inFlightCount(), 0);
    QCOMPARE(pool.queuedCount(), 2);
    // The returned jobs come back as they went in (attempts is the store's business).
    const Job back = returned.at(0).at(0).value<QList<Job>>().at(0);
    QCOMPARE(back.payload, QByteArray("60000"));
}

void tst_WorkerPool::cancelAffectsOnlyJobsInFlight()
{
    TestPool pool;
    Recorder recorder(&pool);
    QSignalSpy idle(&pool, &WorkerPool::idle);
    QVERIFY(pool.start(1));
    pool.submit(makeJob(1, 60000));
    QTRY_VERIFY(recorder.startedIds.contains(1));
    pool.submit(makeJob(2, 20));
    pool.cancel();
    QVERIFY(idle.wait(10000));
    QCOMPARE(recorder.returned, QList<quint64> {1});
    QCOMPARE(recorder.finished, QList<quint64> {2});
}

void tst_WorkerPool::queueLimitGivesBackpressure()
{
    TestPool pool;
    Recorder recorder(&pool);
    pool.setQueueLimit(2);
    QCOMPARE(pool.queueLimit(), 2);
    QSignalSpy capacity(&pool, &WorkerPool::capacityAvailable);
    QSignalSpy idle(&pool, &WorkerPool::idle);
    QVERIFY(pool.start(1));
    // A recovered job needs no reservation; the worker hangs in it, so nothing leaves the queue.
    pool.submit(makeJob(1, 0, true));
    QTRY_VERIFY(recorder.startedIds.contains(1));

    QVERIFY(pool.tryReserve());
    pool.submit(makeJob(2));
    QVERIFY(pool.tryReserve()); // held, not yet submitted: it counts
    QVERIFY(!pool.tryReserve());
    QVERIFY(!pool.tryReserve());
    QCOMPARE(pool.backpressureCount(), quint64(2));
    QCOMPARE(pool.queuedCount(), 1);

    // Giving a reservation back frees a slot.
    pool.cancelReservation();
    QVERIFY(capacity.wait(5000));
    QCOMPARE(capacity.count(), 1);
    QVERIFY(pool.tryReserve());
    pool.submit(makeJob(3));
    QVERIFY(!pool.tryReserve());
    QCOMPARE(pool.backpressureCount(), quint64(3));

    // A worker taking a queued job frees a slot too.
    HangGate::release();
    QVERIFY(capacity.wait(5000));
    // idle() may come in the same batch as capacityAvailable().
    QTRY_COMPARE(idle.count(), 1);
    QCOMPARE(capacity.count(), 2);
    QCOMPARE(pool.doneCount(), quint64(3));

    // No failed attempt, no capacityAvailable(); raising the limit after a failure announces it.
    QVERIFY(flushPostedEvents());
    QCOMPARE(capacity.count(), 2);
    QVERIFY(pool.tryReserve());
    QVERIFY(pool.tryReserve());
    QVERIFY(!pool.tryReserve());
    pool.setQueueLimit(3);
    QVERIFY(capacity.wait(5000));
    QVERIFY(pool.tryReserve());
    pool.cancelReservation();
    pool.cancelReservation();
    pool.cancelReservation();

    // After stopIntake(): refused, but that is not backpressure.
    const quint64 before = pool.backpressureCount();
    pool.stopIntake();
    QVERIFY(!pool.tryReserve());
    QCOMPARE(pool.backpressureCount(), before);
}

void tst_WorkerPool::stopReturnsInFlightWorkThenReportsStopped()
{
    TestPool pool;
    Recorder recorder(&pool);
    QVERIFY(pool.start(2));
    pool.submit(makeJob(1, 60000));
    pool.submit(makeJob(2, 60000));
    pool.submit(makeJob(3, 60000));
    QTRY_COMPARE(recorder.startedIds.size(), qsizetype(2));
    qsizetype returnedWhenStopped = -1;
    connect(&pool, &WorkerPool::stopped, this, [&] { returnedWhenStopped = recorder.returned.size(); });
    QSignalSpy stopped(&pool, &WorkerPool::stopped);
    pool.stop(QDeadlineTimer(20000));
    QVERIFY(pool.isStopping());
    QCOMPARE(stopped.count(), 0);
    QVERIFY(stopped.wait(20000));
    const auto report = stopped.at(0).at(0).value<StopReport>();
    QVERIFY2(report.allStopped, qPrintable(report.describe()));
    QVERIFY(report.stuck.isEmpty());
    QCOMPARE(returnedWhenStopped, qsizetype(2));
    QVERIFY(recorder.finished.isEmpty());
    QCOMPARE(pool.runningThreadCount(), 0);
    QCOMPARE(pool.workerCount(), 0);
    QCOMPARE(idsOf(pool.queuedJobs()), QList<quint64> {3});
    // The kernel task may outlive QThread's "finished" state by a moment: a bounded wait, not a timing check.
    QTRY_VERIFY(workerTids().isEmpty());
}

void tst_WorkerPool::stopIdlePoolIsAsynchronous()
{
    {
        TestPool pool;
        QVERIFY(pool.start(3));
        QSignalSpy stopped(&pool, &WorkerPool::stopped);
        pool.stop(QDeadlineTimer(QDeadlineTimer::Forever));
        QCOMPARE(stopped.count(), 0);
        QVERIFY(stopped.wait(10000));
        QVERIFY(stopped.at(0).at(0).value<StopReport>().allStopped);
        QCOMPARE(pool.runningThreadCount(), 0);
        // Once stopped, stays stopped.
        QVERIFY(!pool.start(1));
        pool.stop(QDeadlineTimer(0));
        QVERIFY(flushPostedEvents());
        QCOMPARE(stopped.count(), 1);
    }
    {
        TestPool never;
        QSignalSpy stopped(&never, &WorkerPool::stopped);
        never.stop(QDeadlineTimer(1000));
        QVERIFY(stopped.wait(5000));
        QVERIFY(stopped.at(0).at(0).value<StopReport>().allStopped);
    }
}

void tst_WorkerPool::stopWithBlockedJobNamesIt()
{
    TestPool pool;
    Recorder recorder(&pool);
    QVERIFY(pool.start(2));
    QCOMPARE(pool.busyCount(), 0);
    pool.submit(makeJob(7, 0, true));
    QTRY_VERIFY(recorder.startedIds.contains(7));
    QTRY_VERIFY(busyWith(pool, 7) && busyWith(pool, 7)->hung);
    QCOMPARE(pool.busyCount(), 1); // the other worker is idle
    // Its elapsed time keeps growing while it hangs.
    const qint64 firstElapsed = busyWith(pool, 7)->elapsedMs;
    QTRY_VERIFY(busyWith(pool, 7)->elapsedMs > firstElapsed);
    pool.cancel(); // deaf to it

    QSignalSpy stopped(&pool, &WorkerPool::stopped);
    pool.stop(QDeadlineTimer(1000));
    QCOMPARE(stopped.count(), 0);
    QVERIFY(stopped.wait(10000));
    const auto report = stopped.at(0).at(0).value<StopReport>();
    QVERIFY(!report.allStopped);
    QCOMPARE(report.stuck.size(), qsizetype(1));
    const StopReport::Stuck stuck = report.stuck.at(0);
    QCOMPARE(stuck.jobId, quint64(7));
    QCOMPARE(stuck.threadName, QStringLiteral("worker-%1").arg(stuck.worker));
    QVERIFY(stuck.busyMs >= 0);
    const QString line = report.describe();
    QVERIFY2(line.contains(QStringLiteral("job 7")) && line.contains(stuck.threadName), qPrintable(line));
    QVERIFY(!line.contains(QLatin1Char('\n')));
    // The other worker stopped; the hung one is still there, and the main thread was never blocked.
    QCOMPARE(pool.runningThreadCount(), 1);
    QVERIFY(recorder.returned.isEmpty());

    // Once released, the thread ends and the pool cleans it up.
    HangGate::release();
    QTRY_COMPARE_WITH_TIMEOUT(pool.runningThreadCount(), 0, 10000);
    QTRY_VERIFY(pool.snapshot().isEmpty());
    QCOMPARE(stopped.count(), 1);
}

void tst_WorkerPool::destroyWithHungWorkerLeaksItsThread_data()
{
    QTest::addColumn<bool>("stopFirst");
    QTest::newRow("after a stop that timed out") << true;
    QTest::newRow("without stop (bounded wait)") << false;
}

void tst_WorkerPool::destroyWithHungWorkerLeaksItsThread()
{
    QFETCH(bool, stopFirst);
    auto pool = std::make_unique<TestPool>();
    Recorder recorder(pool.get());
    QVERIFY(pool->start(2));
    pool->submit(makeJob(9, 0, true));
    pool->submit(makeJob(10, 60000));
    QTRY_COMPARE(recorder.startedIds.size(), qsizetype(2));
    if (stopFirst) {
        QSignalSpy stopped(pool.get(), &WorkerPool::stopped);
        pool->stop(QDeadlineTimer(500));
        QVERIFY(stopped.wait(10000));
        QVERIFY(!stopped.at(0).at(0).value<StopReport>().allStopped);
    }
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("worker worker-\\d did not stop \\(job 9\\)")));
    // Must neither abort ("destroyed while running") nor hang.
    pool.reset();
    QTRY_COMPARE(workerTids().size(), qsizetype(1));

    // Released later, the leaked thread finishes and deletes itself.
    HangGate::release();
    QTRY_COMPARE_WITH_TIMEOUT(workerTids().size(), qsizetype(0), 10000);
}

void tst_WorkerPool::workerThreadsBlockHandledSignals()
{
    UnixSignalNotifier notifier;
    QVERIFY2(notifier.watch({SIGUSR1, SIGUSR2}), qPrintable(notifier.errorString()));

    TestPool pool;
    QVERIFY(pool.start(3));
    auto allBlocked = [](qsizetype expected) {
        const QList<qint64> tids = workerTids();
        if (tids.size() != expected)
            return false;
        return std::all_of(tids.cbegin(), tids.cend(), [](qint64 tid) {
            const quint64 mask = sigBlk(tid);
            return (mask & signalBit(SIGUSR1)) && (mask & signalBit(SIGUSR2));
        });
    };
    QTRY_VERIFY(allBlocked(3));
    // Threads added at runtime too.
    pool.setWorkerCount(5);
    QTRY_VERIFY(allBlocked(5));
    // The main thread keeps them unblocked: it is the one that should see them.
    QCOMPARE(sigBlk(QCoreApplication::applicationPid()) & signalBit(SIGUSR1), quint64(0));
}

void tst_WorkerPool::setWorkerCountUpAndDown()
{
    TestPool pool;
    Recorder recorder(&pool);
    QSignalSpy idle(&pool, &WorkerPool::idle);
    pool.setWorkerCount(4); // before start: nothing
    QCOMPARE(pool.workerCount(), 0);
    QVERIFY(pool.start(2));
    QList<QString> names;
    const QList<WorkerSnapshot> initial = pool.snapshot();
    for (const WorkerSnapshot &s : initial)
        names.append(s.threadName);
    QCOMPARE(names, (QList<QString> {QStringLiteral("worker-0"), QStringLiteral("worker-1")}));

    pool.setWorkerCount(5);
    QCOMPARE(pool.workerCount(), 5);
    QCOMPARE(pool.snapshot().size(), qsizetype(5));
    QTRY_COMPARE(workerTids().size(), qsizetype(5));
    for (quint64 id = 1; id <= 200; ++id)
        pool.submit(makeJob(id));
    QVERIFY(idle.wait(10000));
    QCOMPARE(pool.doneCount(), quint64(200));

    // Two workers busy (hung), three idle. Down to one: the three idle ones go at once, one busy one is retired
    // but finishes its job first.
    pool.submit(makeJob(1001, 0, true));
    pool.submit(makeJob(1002, 0, true));
    QTRY_VERIFY(busyWith(pool, 1001) && busyWith(pool, 1002));
    pool.setWorkerCount(1);
    QCOMPARE(pool.workerCount(), 1);
    QTRY_COMPARE(pool.runningThreadCount(), 2);
    QTRY_COMPARE(workerTids().size(), qsizetype(2));
    HangGate::release();
    QVERIFY(idle.wait(10000));
    QVERIFY(recorder.finished.contains(1001) && recorder.finished.contains(1002));
    QVERIFY(recorder.returned.isEmpty());
    QTRY_COMPARE(pool.runningThreadCount(), 1);
    // The finished thread leaves the snapshot once the pool has handled its finished() notification.
    QTRY_COMPARE(pool.snapshot().size(), qsizetype(1));

    // The one left still works, and the pool can grow again.
    for (quint64 id = 2001; id <= 2050; ++id)
        pool.submit(makeJob(id));
    QVERIFY(idle.wait(10000));
    pool.setWorkerCount(3);
    QCOMPARE(pool.workerCount(), 3);
    for (quint64 id = 3001; id <= 3100; ++id)
        pool.submit(makeJob(id));
    QVERIFY(idle.wait(10000));
    QCOMPARE(pool.doneCount(), quint64(200 + 2 + 50 + 100));
    QVERIFY2(recorder.errors.isEmpty(), qPrintable(recorder.errors.join(QLatin1Char('\n'))));
    // Names stay unique.
    QSet<QString> unique;
    const QList<WorkerSnapshot> finalSnapshot = pool.snapshot();
    for (const WorkerSnapshot &s : finalSnapshot)
        unique.insert(s.threadName);
    QCOMPARE(unique.size(), qsizetype(3));
}

void tst_WorkerPool::snapshotIsSafeFromAnotherThread()
{
    TestPool pool;
    QSignalSpy idle(&pool, &WorkerPool::idle);
    QVERIFY(pool.start(4));
    std::atomic<bool> done {false};
    std::atomic<int> calls {0};
    std::atomic<int> sawBusy {0};
    std::atomic<int> badBusyCount {0};
    // A watchdog-like reader hammering snapshot() while the pool works and changes size.
    std::unique_ptr<QThread> reader(QThread::create([&] {
        while (!done.load()) {
            const QList<WorkerSnapshot> s = pool.snapshot();
            if (std::any_of(s.cbegin(), s.cend(), [](const WorkerSnapshot &w) { return w.busy; }))
                ++sawBusy;
            const int busy = pool.busyCount();
            if (busy < 0 || busy > 6)
                ++badBusyCount;
            ++calls;
        }
    }));
    reader->start();
    for (quint64 id = 1; id <= 3000; ++id)
        pool.submit(makeJob(id, id % 100 == 0 ? 1 : 0));
    pool.setWorkerCount(6);
    pool.setWorkerCount(2);
    QVERIFY(idle.wait(30000));
    QTRY_VERIFY(calls.load() > 100);
    done = true;
    QVERIFY(reader->wait(10000));
    QCOMPARE(pool.doneCount(), quint64(3000));
    QCOMPARE(badBusyCount.load(), 0);
    QCOMPARE(pool.busyCount(), 0);
}

void tst_WorkerPool::startRefusesBadCounts()
{
    TestPool pool;
    QVERIFY(!pool.start(0));
    QVERIFY(!pool.errorString().isEmpty());
    QVERIFY(!pool.start(-3));
    QVERIFY(pool.start(1));
    QVERIFY(!pool.start(1));
    QVERIFY(pool.errorString().contains(QStringLiteral("already")));
}

void tst_WorkerPool::stopReportDescribesStuckWorkers()
{
    StopReport clean;
    QCOMPARE(clean.describe(), QStringLiteral("all workers stopped"));
    StopReport report;
    report.allStopped = false;
    report.stuck.append({2, QStringLiteral("quiesce-worker-2"), 42, 5012});
    report.stuck.append({3, QStringLiteral("quiesce-worker-3"), 43, 17});
    const QString line = report.describe();
    QVERIFY2(line.contains(QStringLiteral("quiesce-worker-2")) && line.contains(QStringLiteral("job 42"))
                 && line.contains(QStringLiteral("5012 ms")) && line.contains(QStringLiteral("job 43")),
             qPrintable(line));
    QVERIFY(!line.contains(QLatin1Char('\n')));
}

void tst_WorkerPool::failedOutcomeReportsTheReason()
{
    TestPool pool;
    Recorder recorder(&pool);
    QSignalSpy idle(&pool, &WorkerPool::idle);
    QVERIFY(pool.start(2));
    pool.submit(makeJob(1, QByteArray("fail:payload is not a number")));
    pool.submit(makeJob(2));
    pool.submit(makeJob(3, QByteArray("throw")));
    QVERIFY(idle.wait(10000));
    QVERIFY2(recorder.errors.isEmpty(), qPrintable(recorder.errors.join(QLatin1Char('\n'))));
    QCOMPARE(recorder.finished, QList<quint64> {2});
    QVERIFY(recorder.returned.isEmpty());
    QCOMPARE(recorder.failed.size(), qsizetype(2));
    std::sort(recorder.failed.begin(), recorder.failed.end(),
              [](const JobFailure &a, const JobFailure &b) { return a.job.id < b.job.id; });
    QCOMPARE(recorder.failed.at(0).job.id, quint64(1));
    QCOMPARE(recorder.failed.at(0).job.payload, QByteArray("fail:payload is not a number"));
    QCOMPARE(recorder.failed.at(0).reason, QStringLiteral("payload is not a number"));
    // An exception does not unwind through the worker's event loop: it is a failure with its message.
    QCOMPARE(recorder.failed.at(1).job.id, quint64(3));
    QVERIFY2(recorder.failed.at(1).reason.contains(QStringLiteral("bad input")),
             qPrintable(recorder.failed.at(1).reason));
    QCOMPARE(pool.failedCount(), quint64(2));
    QCOMPARE(pool.doneCount(), quint64(1));
    QCOMPARE(pool.inFlightCount(), 0);
    // The workers are still there and keep working.
    pool.submit(makeJob(4));
    QVERIFY(idle.wait(10000));
    QCOMPARE(recorder.finished, (QList<quint64> {2, 4}));
}

void tst_WorkerPool::waitForCancellationWakesOnCancel()
{
    TestPool pool;
    Recorder recorder(&pool);
    QSignalSpy idle(&pool, &WorkerPool::idle);
    QVERIFY(pool.start(2));
    // Job 1 waits without a deadline: only cancel() can end it. Job 2's short deadline passes: not cancelled.
    pool.submit(makeJob(1, QByteArray("wait")));
    pool.submit(makeJob(2, QByteArray("waitfor:20")));
    QTRY_VERIFY(recorder.finished.contains(2));
    QTRY_VERIFY(busyWith(pool, 1));
    QVERIFY(recorder.returned.isEmpty());
    pool.cancel();
    QVERIFY(idle.wait(10000));
    QCOMPARE(recorder.returned, QList<quint64> {1});
    QCOMPARE(recorder.finished, QList<quint64> {2});
    // A job taken after the cancel() is not cancelled by it: it waits again until the next one.
    pool.submit(makeJob(3, QByteArray("wait")));
    QTRY_VERIFY(busyWith(pool, 3));
    QVERIFY(flushPostedEvents());
    QCOMPARE(recorder.returned, QList<quint64> {1});
    pool.cancel();
    QVERIFY(idle.wait(10000));
    QCOMPARE(recorder.returned, (QList<quint64> {1, 3}));
}

void tst_WorkerPool::waitForCancellationWakesOnStop()
{
    TestPool pool;
    Recorder recorder(&pool);
    QVERIFY(pool.start(1));
    pool.submit(makeJob(5, QByteArray("wait")));
    QTRY_VERIFY(busyWith(pool, 5));
    QSignalSpy stopped(&pool, &WorkerPool::stopped);
    pool.stop(QDeadlineTimer(QDeadlineTimer::Forever));
    QVERIFY(stopped.wait(10000));
    const auto report = stopped.at(0).at(0).value<StopReport>();
    QVERIFY2(report.allStopped, qPrintable(report.describe()));
    QCOMPARE(report.stopped, 1);
    QCOMPARE(recorder.returned, QList<quint64> {5});
}

void tst_WorkerPool::threadNamePrefixNamesTheThreads()
{
    TestPool pool;
    Recorder recorder(&pool);
    QCOMPARE(pool.threadNamePrefix(), QStringLiteral("worker-"));
    pool.setThreadNamePrefix(QStringLiteral("tst-job-"));
    QVERIFY(pool.start(2));
    pool.setThreadNamePrefix(QStringLiteral("too-late-")); // after start(): ignored
    QCOMPARE(pool.threadNamePrefix(), QStringLiteral("tst-job-"));
    QList<QString> names;
    const QList<WorkerSnapshot> snapshot = pool.snapshot();
    for (const WorkerSnapshot &s : snapshot)
        names.append(s.threadName);
    QCOMPARE(names, (QList<QString> {QStringLiteral("tst-job-0"), QStringLiteral("tst-job-1")}));
    // The kernel sees the names too, and no thread has the default one.
    QTRY_COMPARE(ProcStatus::threadsNamed(0, "tst-job-").size(), qsizetype(2));
    QVERIFY(workerTids().isEmpty());

    // A stuck worker is named with the prefix as well.
    pool.submit(makeJob(8, QByteArray("hang")));
    QTRY_VERIFY(busyWith(pool, 8) && busyWith(pool, 8)->hung);
    QSignalSpy stopped(&pool, &WorkerPool::stopped);
    pool.stop(QDeadlineTimer(200));
    QVERIFY(stopped.wait(10000));
    const auto report = stopped.at(0).at(0).value<StopReport>();
    QCOMPARE(report.stuck.size(), qsizetype(1));
    QVERIFY(report.stuck.at(0).threadName.startsWith(QStringLiteral("tst-job-")));
    QCOMPARE(report.lostJobIds, QList<quint64> {8});
    HangGate::release();
    QTRY_COMPARE_WITH_TIMEOUT(ProcStatus::threadsNamed(0, "tst-job-").size(), qsizetype(0), 10000);
}

void tst_WorkerPool::startRefusesWithoutJobFunction()
{
    WorkerPool pool;
    QVERIFY(!pool.start(1));
    QVERIFY2(pool.errorString().contains(QStringLiteral("job function")), qPrintable(pool.errorString()));
    QCOMPARE(pool.runningThreadCount(), 0);
    pool.setJobFunction(&testJob);
    QVERIFY2(pool.start(1), qPrintable(pool.errorString()));
}

void tst_WorkerPool::startWithoutWaitingThenWaitNamesTheThreads()
{
    TestPool pool;
    Recorder recorder(&pool);
    QSignalSpy idle(&pool, &WorkerPool::idle);
    pool.submit(makeJob(1)); // before: dispatched once the workers run
    QVERIFY2(pool.startWithoutWaiting(3), qPrintable(pool.errorString()));
    QCOMPARE(pool.workerCount(), 3);
    pool.submit(makeJob(2)); // before the wait: queued for them too
    pool.waitUntilRunning();
    // The promise of the wait: every worker runs under its name now (no polling), with the bridge's signals blocked.
    QCOMPARE(workerTids().size(), qsizetype(3));
    pool.waitUntilRunning(); // a second wait returns at once
    QVERIFY(!pool.start(1));
    QVERIFY(pool.errorString().contains(QStringLiteral("already")));
    QVERIFY(!pool.startWithoutWaiting(1));
    pool.submit(makeJob(3));
    QTRY_COMPARE(pool.doneCount(), quint64(3));
    std::sort(recorder.finished.begin(), recorder.finished.end());
    QCOMPARE(recorder.finished, (QList<quint64> {1, 2, 3}));
    QVERIFY2(recorder.errors.isEmpty(), qPrintable(recorder.errors.join(QLatin1Char('\n'))));
}

void tst_WorkerPool::stopBeforeWaitingStopsEveryThread()
{
    // A stop right after the threads were created, maybe before one of them ran at all: each still ends (a quit()
    // before its event loop starts must not be lost), the report counts every one, nothing is stuck.
    for (int round = 0; round < 20; ++round) {
        TestPool pool;
        QSignalSpy stopped(&pool, &WorkerPool::stopped);
        QVERIFY2(pool.startWithoutWaiting(4), qPrintable(pool.errorString()));
        pool.submit(makeJob(1, 5000)); // given back, not worked on for 5 s
        pool.stop(QDeadlineTimer(QDeadlineTimer::Forever));
        pool.waitUntilRunning(); // after stop(): returns, nothing to promise any more
        QVERIFY(stopped.wait(10000));
        const auto report = stopped.at(0).at(0).value<StopReport>();
        QVERIFY2(report.allStopped, qPrintable(report.describe()));
        QCOMPARE(report.stopped, 4);
        QCOMPARE(pool.runningThreadCount(), 0);
        QCOMPARE(pool.doneCount(), quint64(0));
    }
    QTRY_VERIFY(workerTids().isEmpty());
}

void tst_WorkerPool::destroyBeforeWaitingIsSafe()
{
    // Destroyed before the wait (a journal that did not open): every thread ends within the destructor's bound,
    // none is reported as not stopping, and none is destroyed running (cleanup() checks QThread's warnings).
    QTest::failOnWarning(QRegularExpression(QStringLiteral("did not stop")));
    for (int round = 0; round < 20; ++round) {
        TestPool pool;
        QVERIFY2(pool.startWithoutWaiting(4), qPrintable(pool.errorString()));
        pool.submit(makeJob(1, 5000));
    }
    QTRY_VERIFY(workerTids().isEmpty());
}

void tst_WorkerPool::startWithoutWaitingReportsAThreadThatCannotStart()
{
    // Thread creation fails through the LD_PRELOAD shim (tests/failthreads.c) while a trigger file exists, as a
    // pids cgroup or RLIMIT_NPROC make it fail (root ignores the latter). The shim goes into a copy of this test
    // that runs only this function.
    static constexpr char kChildVariable[] = "QUIESCE_TST_WORKERPOOL_CHILD";
    const QString trigger = qEnvironmentVariable("QUIESCE_FAILTHREADS_TRIGGER");
    if (qEnvironmentVariableIsSet(kChildVariable)) {
        TestPool pool;
        QFile armed(trigger);
        QVERIFY(armed.open(QIODevice::WriteOnly));
        armed.close();
        const bool started = pool.startWithoutWaiting(3);
        QVERIFY(QFile::remove(trigger));
        if (!QFile::exists(qEnvironmentVariable("QUIESCE_FAILTHREADS_LOG")))
            QSKIP("shim inactive: pthread_create was not failed");
        QVERIFY(!started);
        QVERIFY2(pool.errorString().contains(QStringLiteral("only 0 of 3 worker threads could start"))
                     && pool.errorString().contains(QStringLiteral("cannot start thread worker-0: ")),
                 qPrintable(pool.errorString()));
        pool.waitUntilRunning(); // nothing to wait for: returns
        QCOMPARE(pool.workerCount(), 0);
        QCOMPARE(pool.runningThreadCount(), 0);
        QVERIFY(workerTids().isEmpty());
        // A pool that could not start is not started: the failure is final, as with start().
        QVERIFY(!pool.startWithoutWaiting(1));
        return;
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    QSKIP("a preloaded shim cannot come before the sanitizer's runtime");
#endif
    const QString shim = qEnvironmentVariable("QUIESCE_FAILTHREADS");
    if (shim.isEmpty())
        QSKIP("QUIESCE_FAILTHREADS (the LD_PRELOAD shim) is not set: run through ctest");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QString::fromLatin1(kChildVariable), QStringLiteral("1"));
    env.insert(QStringLiteral("LD_PRELOAD"), shim);
    env.insert(QStringLiteral("QUIESCE_FAILTHREADS_TRIGGER"), dir.filePath(QStringLiteral("trigger")));
    env.insert(QStringLiteral("QUIESCE_FAILTHREADS_LOG"), dir.filePath(QStringLiteral("failthreads.log")));
    QProcess child;
    child.setProcessEnvironment(env);
    child.setProcessChannelMode(QProcess::MergedChannels);
    child.start(QCoreApplication::applicationFilePath(),
                {QStringLiteral("startWithoutWaitingReportsAThreadThatCannotStart")});
    QVERIFY(child.waitForFinished(60000));
    const QString output = QString::fromLocal8Bit(child.readAll());
    QCOMPARE(child.exitStatus(), QProcess::NormalExit);
    QVERIFY2(child.exitCode() == 0, qPrintable(output));
    QVERIFY2(
        output.contains(QStringLiteral("PASS   : tst_WorkerPool::startWithoutWaitingReportsAThreadThatCannotStart")),
        qPrintable(output));
    QVERIFY2(QFile::exists(dir.filePath(QStringLiteral("failthreads.log"))), "the shim failed no call");
}

QTEST_GUILESS_MAIN(tst_WorkerPool)

#include "tst_workerpool.moc"
