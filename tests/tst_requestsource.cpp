#include "requestsource.h"
#include "simulatedjob.h"
#include <Quiesce/workerpool.h>

#include <QtCore/QCoreApplication>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <climits>
#include <limits>
#include <optional>

using Quiesce::Job;
using Quiesce::JobFailure;
using Quiesce::RequestSource;
using Quiesce::SourceConfig;
using Quiesce::WorkerPool;
using Quiesce::WorkerSnapshot;
using Quiesce::App::SimulatedJob;

namespace {

// A generated request's simulated cost: its payload, in ASCII decimal.
int costOf(const Job &job)
{
    bool ok = false;
    const int cost = job.payload.toInt(&ok);
    return ok ? cost : -1;
}

SourceConfig burstConfig(int burst, quint64 seed = 42)
{
    SourceConfig config;
    config.burst = burst;
    config.workMinMs = 5;
    config.workMaxMs = 500;
    config.seed = seed;
    return config;
}

// Collects everything a source generates.
struct Recorder
{
    explicit Recorder(RequestSource *source)
    {
        QObject::connect(source, &RequestSource::generated, source, [this](const Job &job) { requests.append(job); });
        QObject::connect(source, &RequestSource::hangChosen, source, [this](quint64 id) {
            // Announced before the job itself.
            if (std::any_of(requests.cbegin(), requests.cend(), [id](const Job &j) { return j.id == id; }))
                errors.append(QStringLiteral("hang announced after its job: %1").arg(id));
            hangIds.append(id);
        });
    }
    QList<Job> requests;
    QList<quint64> hangIds;
    QStringList errors;
};

// Runs the event loop until every event posted before this call has been delivered (a posted probe is FIFO
// behind them). Deterministic: no timing involved.
bool flushPostedEvents()
{
    bool ran = false;
    QMetaObject::invokeMethod(
        QCoreApplication::instance(), [&ran] { ran = true; }, Qt::QueuedConnection);
    return QTest::qWaitFor([&ran] { return ran; }, 5000);
}

} // namespace

class tst_RequestSource : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void idsStrictlyIncreaseFromNextId_data();
    void idsStrictlyIncreaseFromNextId();
    void sameSeedSameCosts_data();
    void sameSeedSameCosts();
    void costsStayInRange_data();
    void costsStayInRange();
    void burstEmitsExactlyNThenExhausted_data();
    void burstEmitsExactlyNThenExhausted();
    void burstIsChunkedAcrossLoopTurns();
    void addBurstAfterExhaustedEmitsMore();
    void holdInsideSlotStopsAtOnceAndResumes();
    void putBackIsEmittedFirstAgain();
    void hangAtMarksExactlyTheNth_data();
    void hangAtMarksExactlyTheNth();
    void rateArrivalsHappen_data();
    void rateArrivalsHappen();
    void pauseAndResumeStopAndRestartArrivals();
    void holdAndReleaseStopAndRestartArrivals();
    void stopIsFinalAndIdempotent();
    void stopInsideSlotEndsAtOnce();
    void liveRateChange();
    void randomSeedIsReported();
    // The app's job function, run by a real WorkerPool: what the source's requests turn into.
    void simulatedJobWorksAndGivesBackOnCancel();
    void simulatedHangIsChosenByIdAndDeafToCancel();
    void simulatedJobFailsOnABadPayload();
    void cleanup();
};

void tst_RequestSource::idsStrictlyIncreaseFromNextId_data()
{
    QTest::addColumn<quint64>("firstId");
    QTest::addColumn<int>("burst");
    QTest::newRow("from 1") << quint64(1) << 10;
    QTest::newRow("from 1000, 2500") << quint64(1000) << 2500;
    QTest::newRow("near the top") << (std::numeric_limits<quint64>::max() - 100) << 50;
}

void tst_RequestSource::idsStrictlyIncreaseFromNextId()
{
    QFETCH(quint64, firstId);
    QFETCH(int, burst);
    RequestSource source;
    source.setConfig(burstConfig(burst));
    source.setNextId(firstId);
    QCOMPARE(source.nextId(), firstId);
    Recorder recorder(&source);
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QVERIFY(exhausted.wait(10000));
    QCOMPARE(recorder.requests.size(), burst);
    for (int i = 0; i < burst; ++i)
        QCOMPARE(recorder.requests.at(i).id, firstId + quint64(i));
    QCOMPARE(source.nextId(), firstId + quint64(burst));
    // Going back is refused once ids were handed out.
    source.setNextId(firstId);
    QCOMPARE(source.nextId(), firstId + quint64(burst));
}

void tst_RequestSource::sameSeedSameCosts_data()
{
    QTest::addColumn<quint64>("seed");
    QTest::newRow("seed 1") << quint64(1);
    QTest::newRow("seed 42") << quint64(42);
    QTest::newRow("seed 2^40+7") << ((quint64(1) << 40) + 7);
}

void tst_RequestSource::sameSeedSameCosts()
{
    QFETCH(quint64, seed);
    auto run = [](quint64 s) {
        RequestSource source;
        source.setConfig(burstConfig(300, s));
        Recorder recorder(&source);
        QSignalSpy exhausted(&source, &RequestSource::exhausted);
        source.start();
        exhausted.wait(10000);
        QList<int> costs;
        for (const Job &r : std::as_const(recorder.requests))
            costs.append(costOf(r));
        return costs;
    };
    const QList<int> first = run(seed);
    const QList<int> second = run(seed);
    QCOMPARE(first.size(), 300);
    QCOMPARE(second, first);
    // And a different seed gives a different sequence (300 draws from 496 values: equal only if broken).
    QVERIFY(run(seed + 1) != first);
}

void tst_RequestSource::costsStayInRange_data()
{
    QTest::addColumn<int>("minMs");
    QTest::addColumn<int>("maxMs");
    QTest::addColumn<int>("expectedLow");
    QTest::addColumn<int>("expectedHigh");
    QTest::newRow("zero") << 0 << 0 << 0 << 0;
    QTest::newRow("fixed") << 7 << 7 << 7 << 7;
    QTest::newRow("range") << 10 << 20 << 10 << 20;
    QTest::newRow("swapped") << 20 << 10 << 10 << 20;
    QTest::newRow("negative clamped") << -5 << 3 << 0 << 3;
}

void tst_RequestSource::costsStayInRange()
{
    QFETCH(int, minMs);
    QFETCH(int, maxMs);
    QFETCH(int, expectedLow);
    QFETCH(int, expectedHigh);
    RequestSource source;
    SourceConfig config = burstConfig(500);
    config.workMinMs = minMs;
    config.workMaxMs = maxMs;
    source.setConfig(config);
    Recorder recorder(&source);
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QVERIFY(exhausted.wait(10000));
    int seenLow = INT_MAX;
    int seenHigh = INT_MIN;
    for (const Job &r : std::as_const(recorder.requests)) {
        const int cost = costOf(r);
        QVERIFY2(cost >= expectedLow && cost <= expectedHigh, r.payload.constData());
        seenLow = std::min(seenLow, cost);
        seenHigh = std::max(seenHigh, cost);
        QCOMPARE(r.attempts, 0);
    }
    // 500 uniform draws over at most 11 values hit both ends.
    QCOMPARE(seenLow, expectedLow);
    QCOMPARE(seenHigh, expectedHigh);
}

void tst_RequestSource::burstEmitsExactlyNThenExhausted_data()
{
    QTest::addColumn<int>("burst");
    QTest::newRow("0") << 0;
    QTest::newRow("1") << 1;
    QTest::newRow("999") << 999;
    QTest::newRow("1000") << 1000;
    QTest::newRow("1001") << 1001;
    QTest::newRow("25000") << 25000;
}

void tst_RequestSource::burstEmitsExactlyNThenExhausted()
{
    QFETCH(int, burst);
    RequestSource source;
    source.setConfig(burstConfig(burst));
    QVERIFY(!source.isExhausted());
    int count = 0;
    int countAtExhausted = -1;
    connect(&source, &RequestSource::generated, this, [&count] { ++count; });
    connect(&source, &RequestSource::exhausted, this, [&] { countAtExhausted = count; });
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QCOMPARE(count, 0); // nothing from inside start()
    QVERIFY(exhausted.wait(20000));
    QCOMPARE(countAtExhausted, burst);
    QCOMPARE(source.generatedCount(), quint64(burst));
    QVERIFY(source.isExhausted());
    // Exactly once, and nothing after it.
    QVERIFY(flushPostedEvents());
    QCOMPARE(exhausted.count(), 1);
    QCOMPARE(count, burst);
}

void tst_RequestSource::burstIsChunkedAcrossLoopTurns()
{
    RequestSource source;
    source.setConfig(burstConfig(2500));
    int count = 0;
    connect(&source, &RequestSource::generated, this, [&count] { ++count; });
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    // The first chunk runs before this probe (posted later) and must not be the whole burst.
    QVERIFY(flushPostedEvents());
    QVERIFY2(count > 0 && count <= RequestSource::chunkSize(), qPrintable(QString::number(count)));
    QVERIFY(exhausted.wait(10000));
    QCOMPARE(count, 2500);
}

void tst_RequestSource::addBurstAfterExhaustedEmitsMore()
{
    RequestSource source;
    source.setConfig(burstConfig(3));
    source.setNextId(10);
    QList<quint64> ids;
    connect(&source, &RequestSource::generated, this, [&ids](const Job &r) { ids.append(r.id); });
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.addBurst(5); // before start(): ignored
    source.start();
    QVERIFY(exhausted.wait(5000));
    QCOMPARE(ids.size(), 3);
    source.addBurst(4);
    QVERIFY(!source.isExhausted());
    QVERIFY(exhausted.wait(5000)); // exhausted again, once the extra burst is out
    QCOMPARE(ids, (QList<quint64> {10, 11, 12, 13, 14, 15, 16}));
    source.stop();
    source.addBurst(2); // after stop(): ignored
    QVERIFY(flushPostedEvents());
    QCOMPARE(ids.size(), 7);
}

void tst_RequestSource::holdInsideSlotStopsAtOnceAndResumes()
{
    RequestSource source;
    source.setConfig(burstConfig(3000));
    Recorder recorder(&source);
    connect(&source, &RequestSource::generated, this, [&source](const Job &request) {
        if (request.id == 1)
            source.setHeld(true);
    });
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QVERIFY(flushPostedEvents());
    QVERIFY(source.isHeld());
    QCOMPARE(recorder.requests.size(), 1);
    // Held: further loop turns emit nothing.
    QVERIFY(flushPostedEvents());
    QVERIFY(flushPostedEvents());
    QCOMPARE(recorder.requests.size(), 1);
    QVERIFY(!source.isExhausted());
    // Released: the rest of the burst comes, nothing lost, ids contiguous.
    source.setHeld(false);
    QVERIFY(exhausted.wait(10000));
    QCOMPARE(recorder.requests.size(), 3000);
    for (int i = 0; i < 3000; ++i)
        QCOMPARE(recorder.requests.at(i).id, quint64(i + 1));
}

void tst_RequestSource::putBackIsEmittedFirstAgain()
{
    RequestSource source;
    source.setConfig(burstConfig(5));
    Recorder recorder(&source);
    bool gaveBack = false;
    connect(&source, &RequestSource::generated, this, [&](const Job &request) {
        if (request.id == 2 && !gaveBack) {
            gaveBack = true;
            source.setHeld(true); // what the engine does when the queue is full
            source.putBack(request);
        }
    });
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QVERIFY(flushPostedEvents());
    QCOMPARE(recorder.requests.size(), 2);
    QCOMPARE(source.putBackCount(), 1);
    source.setHeld(false);
    QVERIFY(exhausted.wait(10000));
    QList<quint64> ids;
    for (const Job &r : std::as_const(recorder.requests))
        ids.append(r.id);
    QCOMPARE(ids, (QList<quint64> {1, 2, 2, 3, 4, 5}));
    QCOMPARE(recorder.requests.at(1).payload, recorder.requests.at(2).payload);
    QCOMPARE(source.generatedCount(), quint64(5));
    QCOMPARE(source.putBackCount(), 0);
}

void tst_RequestSource::hangAtMarksExactlyTheNth_data()
{
    QTest::addColumn<quint64>("hangAt");
    QTest::addColumn<int>("burst");
    QTest::newRow("off") << quint64(0) << 20;
    QTest::newRow("first") << quint64(1) << 20;
    QTest::newRow("fourth") << quint64(4) << 20;
    QTest::newRow("last") << quint64(20) << 20;
    QTest::newRow("beyond") << quint64(21) << 20;
    QTest::newRow("second chunk") << quint64(1500) << 2000;
}

void tst_RequestSource::hangAtMarksExactlyTheNth()
{
    QFETCH(quint64, hangAt);
    QFETCH(int, burst);
    RequestSource source;
    SourceConfig config = burstConfig(burst);
    config.hangAt = hangAt;
    source.setConfig(config);
    source.setNextId(100); // hangAt counts generated requests, not ids
    Recorder recorder(&source);
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QVERIFY(exhausted.wait(10000));
    QCOMPARE(recorder.requests.size(), burst);
    QVERIFY2(recorder.errors.isEmpty(), qPrintable(recorder.errors.join(QLatin1Char('\n'))));
    QVERIFY(recorder.hangIds.size() <= 1);
    for (int i = 0; i < burst; ++i)
        QCOMPARE(recorder.hangIds.contains(recorder.requests.at(i).id), quint64(i + 1) == hangAt);
}

void tst_RequestSource::rateArrivalsHappen_data()
{
    QTest::addColumn<double>("rate");
    QTest::addColumn<int>("wanted");
    QTest::newRow("100/s") << 100.0 << 5;
    QTest::newRow("200000/s") << 200000.0 << 5000;
}

void tst_RequestSource::rateArrivalsHappen()
{
    QFETCH(double, rate);
    QFETCH(int, wanted);
    RequestSource source;
    SourceConfig config;
    config.ratePerSecond = rate;
    config.seed = 7;
    source.setConfig(config);
    source.setNextId(10);
    Recorder recorder(&source);
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QTRY_VERIFY_WITH_TIMEOUT(recorder.requests.size() >= wanted, 20000);
    QVERIFY(!source.isExhausted());
    QCOMPARE(exhausted.count(), 0);
    for (qsizetype i = 1; i < recorder.requests.size(); ++i)
        QVERIFY(recorder.requests.at(i).id > recorder.requests.at(i - 1).id);
    QCOMPARE(recorder.requests.constFirst().id, quint64(10));
    source.stop();
    QCOMPARE(exhausted.count(), 1);
}

void tst_RequestSource::pauseAndResumeStopAndRestartArrivals()
{
    RequestSource source;
    SourceConfig config;
    config.ratePerSecond = 2000;
    source.setConfig(config);
    QSignalSpy generated(&source, &RequestSource::generated);
    QSignalSpy paused(&source, &RequestSource::pausedChanged);
    source.start();
    QVERIFY(generated.wait(5000));

    source.setPaused(true);
    QVERIFY(source.isPaused());
    QCOMPARE(paused.count(), 1);
    QCOMPARE(paused.at(0).at(0).toBool(), true);
    source.setPaused(true); // no change, no signal
    QCOMPARE(paused.count(), 1);
    generated.clear();
    // ~600 arrivals would fall due in this window at 2000/s.
    QVERIFY(!generated.wait(300));
    QCOMPARE(generated.count(), 0);

    source.setPaused(false);
    QCOMPARE(paused.count(), 2);
    QCOMPARE(paused.at(1).at(0).toBool(), false);
    QVERIFY(generated.wait(5000));
}

void tst_RequestSource::holdAndReleaseStopAndRestartArrivals()
{
    RequestSource source;
    SourceConfig config;
    config.ratePerSecond = 2000;
    config.burst = 10;
    source.setConfig(config);
    QSignalSpy generated(&source, &RequestSource::generated);
    QSignalSpy paused(&source, &RequestSource::pausedChanged);
    source.start();
    QTRY_VERIFY_WITH_TIMEOUT(generated.count() > 10, 5000); // burst and some arrivals

    source.setHeld(true);
    QVERIFY(source.isHeld());
    generated.clear();
    QVERIFY(!generated.wait(300));
    // Held arrivals are delayed, not piled up: releasing does not release a flood of what fell due meanwhile
    // (that flood would be ~600 in the first turn).
    source.setHeld(false);
    QVERIFY(flushPostedEvents());
    QVERIFY2(generated.count() < 300, qPrintable(QString::number(generated.count())));
    QVERIFY(generated.wait(5000));
    QCOMPARE(paused.count(), 0); // hold is not quiet mode
}

void tst_RequestSource::stopIsFinalAndIdempotent()
{
    RequestSource source;
    SourceConfig config = burstConfig(5000);
    config.ratePerSecond = 1000;
    source.setConfig(config);
    QSignalSpy generated(&source, &RequestSource::generated);
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    QVERIFY(generated.wait(5000));
    source.stop();
    QVERIFY(source.isExhausted());
    QCOMPARE(exhausted.count(), 1);
    const auto countAtStop = generated.count();
    source.stop();
    source.start();
    source.setPaused(false);
    source.setHeld(false);
    source.putBack(Job {});
    QCOMPARE(exhausted.count(), 1);
    QVERIFY(!generated.wait(200));
    QCOMPARE(generated.count(), countAtStop);
    QVERIFY(countAtStop < 5000);
}

void tst_RequestSource::stopInsideSlotEndsAtOnce()
{
    RequestSource source;
    source.setConfig(burstConfig(500));
    int count = 0;
    connect(&source, &RequestSource::generated, this, [&] {
        if (++count == 3)
            source.stop();
    });
    source.start();
    QVERIFY(flushPostedEvents());
    QVERIFY(flushPostedEvents());
    QCOMPARE(count, 3);
    QVERIFY(source.isExhausted());
}

void tst_RequestSource::liveRateChange()
{
    RequestSource source;
    source.setConfig(burstConfig(0));
    QSignalSpy generated(&source, &RequestSource::generated);
    QSignalSpy exhausted(&source, &RequestSource::exhausted);
    source.start();
    // Rate 0 and no burst: exhausted right away.
    QVERIFY(exhausted.wait(5000));
    QVERIFY(source.isExhausted());
    // A rate set live starts arrivals, and the source is no longer exhausted ...
    SourceConfig config = source.config();
    config.ratePerSecond = 500;
    source.setConfig(config);
    QVERIFY(!source.isExhausted());
    QVERIFY(generated.wait(5000));
    // ... until the rate goes back to 0, which exhausts it again.
    config.ratePerSecond = 0;
    source.setConfig(config);
    QVERIFY(source.isExhausted());
    QCOMPARE(exhausted.count(), 2);
    generated.clear();
    QVERIFY(!generated.wait(200));
}

void tst_RequestSource::randomSeedIsReported()
{
    RequestSource source;
    source.setConfig(burstConfig(1, 0));
    QCOMPARE(source.effectiveSeed(), quint64(0));
    source.start();
    QVERIFY(source.effectiveSeed() != 0);
    RequestSource fixed;
    fixed.setConfig(burstConfig(1, 99));
    fixed.start();
    QCOMPARE(fixed.effectiveSeed(), quint64(99));
}

namespace {

Job costJob(quint64 id, const QByteArray &payload)
{
    Job job;
    job.id = id;
    job.payload = payload;
    return job;
}

std::optional<WorkerSnapshot> busyWith(const WorkerPool &pool, quint64 id)
{
    const QList<WorkerSnapshot> snapshot = pool.snapshot();
    for (const WorkerSnapshot &s : snapshot) {
        if (s.busy && s.jobId == id)
            return s;
    }
    return std::nullopt;
}

// Collects the ids of every outcome a pool reports.
struct Outcomes
{
    explicit Outcomes(WorkerPool *pool)
    {
        QObject::connect(pool, &WorkerPool::jobsDone, pool, [this](const QList<Job> &jobs) { done += idsOf(jobs); });
        QObject::connect(pool, &WorkerPool::jobsGivenBack, pool,
                         [this](const QList<Job> &jobs) { givenBack += idsOf(jobs); });
        QObject::connect(pool, &WorkerPool::jobsFailed, pool, [this](const QList<JobFailure> &failures) {
            for (const JobFailure &f : failures)
                failed.append(f);
        });
    }
    QList<quint64> done;
    QList<quint64> givenBack;
    QList<JobFailure> failed;
};

// A WorkerPool running the app's job function, with its outcomes and idle() recorded.
struct SimulatedPool
{
    SimulatedPool() { pool.setJobFunction(simulated.function()); }
    SimulatedJob simulated;
    WorkerPool pool;
    Outcomes outcomes {&pool};
    QSignalSpy idle {&pool, &WorkerPool::idle};
};

} // namespace

void tst_RequestSource::cleanup()
{
    // A hang a failed test left behind must not keep its thread.
    SimulatedJob::releaseHangsForTesting();
}

void tst_RequestSource::simulatedJobWorksAndGivesBackOnCancel()
{
    SimulatedPool p;
    WorkerPool &pool = p.pool;
    Outcomes &outcomes = p.outcomes;
    QSignalSpy &idle = p.idle;
    QVERIFY(pool.start(2));
    pool.submit(costJob(1, "0"));
    pool.submit(costJob(2, "25"));
    QVERIFY(idle.wait(10000));
    std::sort(outcomes.done.begin(), outcomes.done.end()); // two workers: either may report first
    QCOMPARE(outcomes.done, (QList<quint64> {1, 2}));

    // A minute of work reports progress (1% is 600 ms) and is given back on cancel(), long before its end.
    pool.submit(costJob(3, "60000"));
    QTRY_VERIFY_WITH_TIMEOUT(busyWith(pool, 3) && busyWith(pool, 3)->progressPercent >= 1, 10000);
    QVERIFY(!busyWith(pool, 3)->hung);
    pool.cancel();
    QVERIFY(idle.wait(10000));
    QCOMPARE(outcomes.givenBack, QList<quint64> {3});
    QCOMPARE(outcomes.done, (QList<quint64> {1, 2}));
}

void tst_RequestSource::simulatedHangIsChosenByIdAndDeafToCancel()
{
    SimulatedPool p;
    WorkerPool &pool = p.pool;
    Outcomes &outcomes = p.outcomes;
    QSignalSpy &idle = p.idle;
    QVERIFY(pool.start(2));
    // What the engine does with RequestSource::hangChosen(): the job with that id hangs, the others do not.
    p.simulated.addHang(7);
    pool.submit(costJob(7, "0"));
    pool.submit(costJob(8, "60000"));
    QTRY_VERIFY(busyWith(pool, 7) && busyWith(pool, 7)->hung);
    QTRY_VERIFY(busyWith(pool, 8));
    QVERIFY(!busyWith(pool, 8)->hung);
    pool.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(outcomes.givenBack, QList<quint64> {8}, 10000);
    // Deaf to the cancel: still blocked, still reported as such.
    QVERIFY(busyWith(pool, 7) && busyWith(pool, 7)->hung);
    SimulatedJob::releaseHangsForTesting();
    QVERIFY(idle.wait(10000));
    QCOMPARE(outcomes.done, QList<quint64> {7});
    // A hang is simulated once: the same id run again goes through.
    pool.submit(costJob(7, "0"));
    QVERIFY(idle.wait(10000));
    QCOMPARE(outcomes.done, (QList<quint64> {7, 7}));
}

void tst_RequestSource::simulatedJobFailsOnABadPayload()
{
    SimulatedPool p;
    WorkerPool &pool = p.pool;
    Outcomes &outcomes = p.outcomes;
    QSignalSpy &idle = p.idle;
    QVERIFY(pool.start(1));
    pool.submit(costJob(1, "twelve"));
    pool.submit(costJob(2, "-5"));
    QVERIFY(idle.wait(10000));
    QCOMPARE(outcomes.failed.size(), qsizetype(2));
    QCOMPARE(outcomes.failed.at(0).job.id, quint64(1));
    QVERIFY2(outcomes.failed.at(0).reason.contains(QStringLiteral("not a cost")),
             qPrintable(outcomes.failed.at(0).reason));
    QCOMPARE(outcomes.failed.at(1).job.id, quint64(2));
    QVERIFY(outcomes.done.isEmpty());
}

QTEST_GUILESS_MAIN(tst_RequestSource)

#include "tst_requestsource.moc"
