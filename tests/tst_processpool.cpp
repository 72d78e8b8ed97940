// ProcessPool with real worker processes (tests/processpool_worker.cpp), real signals and /proc.

#include <Quiesce/processpool.h>
#include <Quiesce/resourcelimits.h>

#include "procstatus.h"

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSet>
#include <QtCore/QSocketNotifier>
#include <QtCore/QTemporaryFile>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <csignal>
#include <memory>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace Quiesce;

namespace {

Job job(quint64 id, const QByteArray &payload)
{
    Job j;
    j.id = id;
    j.payload = payload;
    return j;
}

std::unique_ptr<ProcessPool> makePool()
{
    auto pool = std::make_unique<ProcessPool>();
    pool->setWorkerProgram(QStringLiteral(QUIESCE_TEST_WORKER), {});
    return pool;
}

// The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ...
QList<QByteArray> statFields(qint64 pid)
{
    QFile file(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    const QByteArray text = file.readAll();
    const qsizetype end = text.lastIndexOf(')');
    return end < 0 ? QList<QByteArray>() : text.mid(end + 2).split(' ');
}

// Our child (alive or a zombie): /proc names us as its parent.
bool isOurChild(qint64 pid)
{
    const QList<QByteArray> f = statFields(pid);
    return f.size() > 1 && f.at(1).toLongLong() == ::getpid();
}

QList<qint64> zombieChildren()
{
    QList<qint64> zombies;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &e : entries) {
        bool ok = false;
        const qint64 pid = e.toLongLong(&ok);
        if (!ok)
            continue;
        const QList<QByteArray> f = statFields(pid);
        if (f.size() > 1 && f.at(1).toLongLong() == ::getpid() && f.at(0) == "Z")
            zombies.append(pid);
    }
    return zombies;
}

int openDescriptorCount()
{
    return int(QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System).size());
}

QHash<int, QString> descriptorTargets(qint64 pid)
{
    QHash<int, QString> targets;
    const QString dir = pid == 0 ? QStringLiteral("/proc/self/fd") : QStringLiteral("/proc/%1/fd").arg(pid);
    const QStringList entries = QDir(dir).entryList(QDir::Files | QDir::System);
    for (const QString &e : entries) {
        char target[4096];
        const ssize_t n = ::readlink(QFile::encodeName(dir + QLatin1Char('/') + e).constData(), target, sizeof target);
        if (n > 0)
            targets.insert(e.toInt(), QString::fromLocal8Bit(target, n));
    }
    return targets;
}

QList<qint64> pidsOf(const ProcessPool &pool)
{
    QList<qint64> pids;
    const QList<WorkerSnapshot> snap = pool.snapshot();
    for (const WorkerSnapshot &w : snap)
        pids.append(w.pid);
    return pids;
}

bool allIdle(const ProcessPool &pool, int count)
{
    const QList<WorkerSnapshot> snap = pool.snapshot();
    if (snap.size() != count)
        return false;
    for (const WorkerSnapshot &w : snap) {
        if (w.state != QLatin1String("idle") || w.pid == 0)
            return false;
    }
    return true;
}

QList<quint64> idsFrom(const QSignalSpy &spy)
{
    QList<quint64> ids;
    for (const QList<QVariant> &args : spy)
        ids += args.at(0).value<QList<quint64>>();
    return ids;
}

QList<Job> jobsFrom(const QSignalSpy &spy)
{
    QList<Job> jobs;
    for (const QList<QVariant> &args : spy)
        jobs += args.at(0).value<QList<Job>>();
    return jobs;
}

QList<JobFailure> failuresFrom(const QSignalSpy &spy)
{
    QList<JobFailure> failures;
    for (const QList<QVariant> &args : spy)
        failures += args.at(0).value<QList<JobFailure>>();
    return failures;
}

StopReport stopAndWait(ProcessPool &pool, int deadlineMs)
{
    QSignalSpy stopped(&pool, &JobPool::stopped);
    pool.stop(QDeadlineTimer(deadlineMs));
    if (!stopped.wait(deadlineMs + 5000))
        return StopReport {false, {}, -1, -1, {}};
    return stopped.first().at(0).value<StopReport>();
}

} // namespace

class tst_ProcessPool : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void idleStopReapsEveryChild();
    void childStartsClean();
    void drainFinishesStartedJobs();
    void cancelGivesBack();
    void outcomesAndFailures();
    void hungChildKilledAtDeadline_data();
    void hungChildKilledAtDeadline();
    void killedChildIsReplaced_data();
    void killedChildIsReplaced();
    void grandchildrenDieWithTheirWorker();
    void terminatedChildIsReplacedWithoutCrash();
    void crashChargedToItsJobInABatch();
    void crashLoopDisablesSlots();
    void stoppedChildKilledAfterHeartbeatTimeout();
    void parentStallIsNotChildSilence();
    void descriptorsStableOverCrashCycles();
    void growAndShrink();
    void killAllNowKillsEveryGroup();
    void badProgramRefused();
    void workerExitsWhenTheChannelCloses();
    void workerOutsideAPoolRefuses();
    void coreDumpsOff();
    void spawnOnlyFromTheMainThread();

private:
    rlimit m_startLimit {};
};

void tst_ProcessPool::initTestCase()
{
    qRegisterMetaType<StopReport>();
    qRegisterMetaType<QList<quint64>>();
    qRegisterMetaType<QList<Job>>();
    qRegisterMetaType<QList<JobFailure>>();
    // Under a sanitizer the worker is instrumented too, and would turn its SIGSEGV into a report and exit 66 (TSan)
    // or 1 (ASan): the tests want the signal death a crash is. Read when a child starts, not by us.
    for (const char *name : {"ASAN_OPTIONS", "TSAN_OPTIONS"}) {
        const QByteArray value = qgetenv(name);
        qputenv(name, value.isEmpty() ? QByteArray("handle_segv=0") : value + ":handle_segv=0");
    }
    QVERIFY(::getrlimit(RLIMIT_NOFILE, &m_startLimit) == 0);
    QString error;
    QVERIFY2(ResourceLimits::raiseDescriptorLimit(&error), qPrintable(error));
}

void tst_ProcessPool::idleStopReapsEveryChild()
{
    auto pool = makePool();
    QVERIFY2(pool->start(3), qPrintable(pool->errorString()));
    QTRY_VERIFY(allIdle(*pool, 3));
    const QList<qint64> pids = pidsOf(*pool);
    for (qint64 pid : pids)
        QVERIFY(isOurChild(pid));

    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    const StopReport report = stopAndWait(*pool, 5000);
    QVERIFY(report.allStopped);
    QCOMPARE(report.stopped, 3);
    QCOMPARE(report.killed, 0);
    QVERIFY(report.lostJobIds.isEmpty());
    QCOMPARE(exited.size(), 3);
    for (const QList<QVariant> &args : std::as_const(exited))
        QCOMPARE(args.at(2).toString(), QStringLiteral("exited 0"));
    for (qint64 pid : pids)
        QVERIFY2(!isOurChild(pid), "a worker is still our child (alive or zombie)");
    QCOMPARE(pool->runningProcessCount(), 0);
}

void tst_ProcessPool::childStartsClean()
{
    // What a service manager hands us must not reach the worker; nor may any descriptor of ours.
    qputenv("NOTIFY_SOCKET", "/run/quiesce-test-notify");
    qputenv("LISTEN_FDS", "1");
    QTemporaryFile leak;
    QVERIFY(leak.open());
    const int inheritable = ::dup(leak.handle()); // no close-on-exec: only the pool's cleanup keeps it out
    QVERIFY(inheritable >= 0);
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    QVERIFY(::pthread_sigmask(SIG_BLOCK, &blocked, nullptr) == 0); // must not be inherited either
    const auto ignored = ::signal(SIGUSR2, SIG_IGN);

    auto pool = makePool();
    const bool started = pool->start(1);
    ::pthread_sigmask(SIG_UNBLOCK, &blocked, nullptr);
    ::signal(SIGUSR2, ignored);
    qunsetenv("NOTIFY_SOCKET");
    qunsetenv("LISTEN_FDS");
    QVERIFY2(started, qPrintable(pool->errorString()));
    QTRY_VERIFY(allIdle(*pool, 1));
    const qint64 pid = pool->snapshot().first().pid;

    // Descriptors: 0 and 1 on /dev/null, 3 the channel, nothing the parent holds (stderr is shared on purpose).
    const QHash<int, QString> child = descriptorTargets(pid);
    const QHash<int, QString> parent = descriptorTargets(0);
    QCOMPARE(child.value(0), QStringLiteral("/dev/null"));
    QCOMPARE(child.value(1), QStringLiteral("/dev/null"));
    QVERIFY(child.value(3).startsWith(QLatin1String("socket:")));
    const QSet<QString> parentTargets(parent.cbegin(), parent.cend());
    for (auto it = child.cbegin(); it != child.cend(); ++it) {
        if (it.key() == 2 || it.value() == QLatin1String("/dev/null"))
            continue;
        QVERIFY2(!parentTargets.contains(it.value()),
                 qPrintable(QStringLiteral("fd %1 -> %2 inherited").arg(it.key()).arg(it.value())));
    }

    // Its own process group, an empty mask, nothing ignored.
    const QList<QByteArray> stat = statFields(pid);
    QVERIFY(stat.size() > 2);
    QCOMPARE(stat.at(2).toLongLong(), pid);
    QVERIFY(QFile::exists(QStringLiteral("/proc/%1/status").arg(pid)));
    QCOMPARE(ProcStatus::mask(pid, 0, "SigBlk"), quint64(0));
    QCOMPARE(ProcStatus::mask(pid, 0, "SigIgn"), quint64(0));

    // The environment, and the descriptor limit we were started with.
    QFile environment(QStringLiteral("/proc/%1/environ").arg(pid));
    QVERIFY(environment.open(QIODevice::ReadOnly));
    const QList<QByteArray> vars = environment.readAll().split('\0');
    for (const QByteArray &v : vars) {
        QVERIFY2(!v.startsWith("NOTIFY_SOCKET=") && !v.startsWith("LISTEN_FDS="), v.constData());
    }
    QFile limits(QStringLiteral("/proc/%1/limits").arg(pid));
    QVERIFY(limits.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = limits.readAll().split('\n');
    bool sawNoFile = false;
    for (const QByteArray &line : lines) {
        if (line.startsWith("Max open files")) {
            sawNoFile = true;
            const QList<QByteArray> f = line.simplified().split(' ');
            QCOMPARE(f.at(3).toULongLong(), quint64(m_startLimit.rlim_cur));
        }
    }
    QVERIFY(sawNoFile);
    ::close(inheritable);
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::drainFinishesStartedJobs()
{
    auto pool = makePool();
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy done(pool.get(), &JobPool::jobsDone);
    QSignalSpy drained(pool.get(), &JobPool::drained);
    QVERIFY(pool->start(2));
    for (quint64 id = 1; id <= 6; ++id)
        pool->submit(job(id, "sleep:300"));
    QTRY_COMPARE(idsFrom(started).size(), 2); // one per child; the rest wait in the children's batches

    pool->stopIntake();
    pool->drain();
    QVERIFY(drained.wait(5000));
    const QList<quint64> startedIds = idsFrom(started);
    QCOMPARE(startedIds.size(), 2); // nothing started after stopIntake()
    QList<quint64> doneIds = idsOf(jobsFrom(done));
    QList<quint64> startedSorted = startedIds;
    std::sort(doneIds.begin(), doneIds.end());
    std::sort(startedSorted.begin(), startedSorted.end());
    QCOMPARE(doneIds, startedSorted); // every started job finished (in whichever order the two children did)
    QCOMPARE(pool->inFlightCount(), 0);
    // The rest came back from the children to the queue, in order.
    QList<quint64> expectedQueued;
    for (quint64 id = 1; id <= 6; ++id) {
        if (!startedIds.contains(id))
            expectedQueued.append(id);
    }
    QCOMPARE(idsOf(pool->queuedJobs()), expectedQueued);
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::cancelGivesBack()
{
    auto pool = makePool();
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy givenBack(pool.get(), &JobPool::jobsGivenBack);
    QCOMPARE(pool->threadNamePrefix(), QStringLiteral("worker-")); // neutral: the application names its slots
    pool->setThreadNamePrefix(QStringLiteral("tst-slot-"));
    QVERIFY(pool->start(1));
    pool->setThreadNamePrefix(QStringLiteral("too-late-")); // after start(): ignored
    pool->submit(job(7, "sleep:60000"));
    QVERIFY(started.wait(5000));
    QTRY_VERIFY(pool->snapshot().first().busy);
    QCOMPARE(pool->snapshot().first().jobId, quint64(7));
    QCOMPARE(pool->snapshot().first().threadName, QStringLiteral("tst-slot-0"));
    pool->cancel();
    QVERIFY(givenBack.wait(5000));
    QCOMPARE(idsOf(jobsFrom(givenBack)), QList<quint64>({7}));
    const StopReport report = stopAndWait(*pool, 5000);
    QCOMPARE(report.killed, 0);
    QCOMPARE(report.stopped, 1);
}

void tst_ProcessPool::outcomesAndFailures()
{
    // Many short jobs through two children: every one reported exactly once, in batches; a failure with reason.
    auto pool = makePool();
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy done(pool.get(), &JobPool::jobsDone);
    QSignalSpy failed(pool.get(), &JobPool::jobsFailed);
    QSignalSpy idle(pool.get(), &JobPool::idle);
    QVERIFY(pool->start(2));
    const quint64 count = 500;
    for (quint64 id = 1; id <= count; ++id)
        pool->submit(job(id, id == 250 ? QByteArray("fail") : QByteArray("0")));
    QVERIFY(idle.wait(10000));
    QList<quint64> doneIds = idsOf(jobsFrom(done));
    std::sort(doneIds.begin(), doneIds.end());
    QCOMPARE(doneIds.size(), int(count - 1));
    QCOMPARE(QSet<quint64>(doneIds.cbegin(), doneIds.cend()).size(), int(count - 1));
    QCOMPARE(idsFrom(started).size(), int(count));
    const QList<JobFailure> failures = failuresFrom(failed);
    QCOMPARE(failures.size(), 1);
    QCOMPARE(failures.first().job.id, quint64(250));
    QCOMPARE(failures.first().reason, QStringLiteral("asked to fail"));
    QVERIFY(done.size() < int(count)); // batched, not one signal per job
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::hungChildKilledAtDeadline_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::newRow("hang") << QByteArray("hang");
    QTest::newRow("ignore-term") << QByteArray("ignore-term");
}

void tst_ProcessPool::hungChildKilledAtDeadline()
{
    QFETCH(QByteArray, payload);
    auto pool = makePool();
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QVERIFY(pool->start(1));
    pool->submit(job(11, payload));
    QVERIFY(started.wait(5000));
    QTRY_VERIFY(pool->snapshot().first().hung); // the job said so (JobContext::setBlocking)
    const qint64 pid = pool->snapshot().first().pid;

    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    const StopReport report = stopAndWait(*pool, 300);
    QVERIFY(report.allStopped);
    QCOMPARE(report.killed, 1);
    QCOMPARE(report.stopped, 0);
    QCOMPARE(report.lostJobIds, QList<quint64>({11}));
    QCOMPARE(exited.size(), 1);
    QVERIFY(exited.first().at(2).toString().startsWith(QLatin1String("killed by sigkill")));
    QVERIFY(!isOurChild(pid));
}

void tst_ProcessPool::killedChildIsReplaced_data()
{
    QTest::addColumn<int>("signo");
    QTest::addColumn<QString>("how");
    QTest::newRow("SIGSEGV") << int(SIGSEGV) << QStringLiteral("killed by sigsegv");
    QTest::newRow("SIGKILL") << int(SIGKILL) << QStringLiteral("killed by sigkill");
}

void tst_ProcessPool::killedChildIsReplaced()
{
    QFETCH(int, signo);
    QFETCH(QString, how);
    auto pool = makePool();
    pool->setDispatchBatch(1);
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy lost(pool.get(), &JobPool::jobsLost);
    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    QVERIFY(pool->start(2));
    pool->submit(job(21, "sleep:60000"));
    pool->submit(job(22, "sleep:60000"));
    QTRY_COMPARE(idsFrom(started).size(), 2);
    QTRY_VERIFY(pool->snapshot().at(0).busy && pool->snapshot().at(1).busy);
    const WorkerSnapshot victim = pool->snapshot().at(0);
    const WorkerSnapshot sibling = pool->snapshot().at(1);

    QVERIFY(::kill(pid_t(victim.pid), signo) == 0);
    QVERIFY(lost.wait(5000));
    const QList<JobFailure> lostJobs = failuresFrom(lost);
    QCOMPARE(lostJobs.size(), 1);
    QCOMPARE(lostJobs.first().job.id, victim.jobId);
    QCOMPARE(lostJobs.first().job.crashes, 1);
    QCOMPARE(exited.size(), 1);
    QVERIFY2(exited.first().at(2).toString().startsWith(how), qPrintable(exited.first().at(2).toString()));
    QVERIFY(!isOurChild(victim.pid)); // reaped at once

    // Replaced after the backoff; the sibling untouched, still at its job.
    QTRY_VERIFY(pool->snapshot().at(0).pid != 0 && pool->snapshot().at(0).pid != victim.pid);
    QCOMPARE(pool->snapshot().at(0).restarts, 1);
    QCOMPARE(pool->snapshot().at(1).pid, sibling.pid);
    QCOMPARE(pool->snapshot().at(1).restarts, 0);
    QVERIFY(pool->snapshot().at(1).busy);
    QCOMPARE(pool->snapshot().at(1).jobId, sibling.jobId);
    QVERIFY(!pool->isDegraded());

    const StopReport report = stopAndWait(*pool, 5000);
    QCOMPARE(report.killed, 0);
    QCOMPARE(report.stopped, 2);
}

void tst_ProcessPool::grandchildrenDieWithTheirWorker()
{
    auto pool = makePool();
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy lost(pool.get(), &JobPool::jobsLost);
    QVERIFY(pool->start(1));
    pool->submit(job(31, "grandchild"));
    QVERIFY(started.wait(5000));
    const qint64 worker = pool->snapshot().first().pid;
    // The worker's own child, in the worker's process group.
    qint64 grandchild = 0;
    QTRY_VERIFY([&] {
        const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
        for (const QString &e : entries) {
            const QList<QByteArray> f = statFields(e.toLongLong());
            if (f.size() > 2 && f.at(1).toLongLong() == worker
                && QFileInfo(QStringLiteral("/proc/%1/exe").arg(e)).symLinkTarget().endsWith(QLatin1String("sleep"))) {
                grandchild = e.toLongLong();
                return true;
            }
        }
        return false;
    }());
    QVERIFY(::kill(pid_t(worker), SIGKILL) == 0);
    QVERIFY(lost.wait(5000));
    // Gone, or at most a zombie waiting for whoever inherited it.
    QTRY_VERIFY(statFields(grandchild).isEmpty() || statFields(grandchild).at(0) == "Z");
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::terminatedChildIsReplacedWithoutCrash()
{
    // systemd's KillMode=control-group signals every process: a worker finishes its job and exits 0 by itself.
    auto pool = makePool();
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy done(pool.get(), &JobPool::jobsDone);
    QSignalSpy lost(pool.get(), &JobPool::jobsLost);
    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    QVERIFY(pool->start(1));
    pool->submit(job(41, "sleep:300"));
    QVERIFY(started.wait(5000));
    const qint64 pid = pool->snapshot().first().pid;
    QVERIFY(::kill(pid_t(pid), SIGTERM) == 0);
    QVERIFY(exited.wait(5000));
    QCOMPARE(exited.first().at(2).toString(), QStringLiteral("exited 0"));
    QCOMPARE(idsOf(jobsFrom(done)), QList<quint64>({41})); // finished, not cut off
    QVERIFY(lost.isEmpty());
    QTRY_VERIFY(pool->snapshot().first().pid != 0 && pool->snapshot().first().pid != pid);
    QCOMPARE(pool->snapshot().first().restarts, 1);
    QVERIFY(!pool->isDegraded());
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::crashChargedToItsJobInABatch()
{
    // Short jobs travel in large batches, and a worker dies before its last reports leave it: still, only the job
    // it was running is charged; the others come back uncharged or are done.
    auto pool = makePool();
    QSignalSpy done(pool.get(), &JobPool::jobsDone);
    QSignalSpy lost(pool.get(), &JobPool::jobsLost);
    QSignalSpy idle(pool.get(), &JobPool::idle);
    connect(pool.get(), &JobPool::jobsGivenBack, pool.get(), [&](const QList<Job> &jobs) {
        for (const Job &j : jobs)
            pool->submit(j);
    });
    QVERIFY(pool->start(1));
    pool->submit(job(1, "0")); // teaches the pool that its jobs are short: the next batch is large
    QVERIFY(idle.wait(5000));
    for (quint64 id = 2; id <= 200; ++id)
        pool->submit(job(id, id == 100 ? QByteArray("crash") : QByteArray("0")));
    QVERIFY(lost.wait(5000));
    const QList<JobFailure> charged = failuresFrom(lost);
    QCOMPARE(charged.size(), 1);
    QCOMPARE(charged.first().job.id, quint64(100));
    QCOMPARE(charged.first().job.crashes, 1);
    QTRY_COMPARE(idsOf(jobsFrom(done)).size(), 199); // every other job done, the replacement included
    QSet<quint64> doneIds;
    for (quint64 id : idsOf(jobsFrom(done)))
        doneIds.insert(id);
    QCOMPARE(doneIds.size(), 199);
    QVERIFY(!doneIds.contains(100));
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::crashLoopDisablesSlots()
{
    auto pool = makePool();
    pool->setCrashLoopLimit(3, 60000);
    pool->setRestartBackoff(5, 40, 60000);
    QSignalSpy degraded(pool.get(), &ProcessPool::degradedChanged);
    QSignalSpy noSlots(pool.get(), &ProcessPool::noSlotsLeft);
    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    int maxCrashes = 0;
    // A poison job: requeued every time it takes its worker down.
    connect(pool.get(), &JobPool::jobsLost, pool.get(), [&](const QList<JobFailure> &lost) {
        for (const JobFailure &f : lost) {
            maxCrashes = qMax(maxCrashes, f.job.crashes);
            pool->submit(f.job);
        }
    });
    QVERIFY(pool->start(2));
    pool->submit(job(51, "crash"));
    pool->submit(job(52, "crash"));
    QVERIFY(noSlots.wait(20000));
    QVERIFY(!degraded.isEmpty());
    QCOMPARE(degraded.first().at(0).toBool(), true);
    QVERIFY(pool->isDegraded());
    QCOMPARE(pool->disabledSlotCount(), 2);
    QCOMPARE(pool->runningProcessCount(), 0);
    // Bounded: the 4th crash within the window disables a slot, so 3 replacements each and 8 exits in all.
    for (const WorkerSnapshot &w : pool->snapshot()) {
        QCOMPARE(w.state, QStringLiteral("disabled"));
        QCOMPARE(w.restarts, 3);
    }
    QCOMPARE(exited.size(), 8);
    QVERIFY(maxCrashes >= 4);
    QCOMPARE(noSlots.size(), 1);
    QVERIFY(stopAndWait(*pool, 1000).allStopped);
}

void tst_ProcessPool::stoppedChildKilledAfterHeartbeatTimeout()
{
    auto pool = makePool();
    pool->setHeartbeatTimeout(400);
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy lost(pool.get(), &JobPool::jobsLost);
    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    QVERIFY(pool->start(1));
    pool->submit(job(61, "sleep:60000"));
    QVERIFY(started.wait(5000));
    const qint64 pid = pool->snapshot().first().pid;
    QVERIFY(::kill(pid_t(pid), SIGSTOP) == 0);
    QVERIFY(exited.wait(10000));
    QVERIFY2(exited.first().at(2).toString().contains(QLatin1String("heartbeat timeout")),
             qPrintable(exited.first().at(2).toString()));
    QTRY_COMPARE(failuresFrom(lost).size(), 1);
    QCOMPARE(failuresFrom(lost).first().job.crashes, 1);
    QTRY_VERIFY(pool->snapshot().first().pid != 0 && pool->snapshot().first().pid != pid);
    QVERIFY(!isOurChild(pid));
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::parentStallIsNotChildSilence()
{
    // The parent itself not running (stopped, starved) for longer than the timeout: the children's heartbeats
    // are waiting in the channels, and no child is judged by a gap the parent caused.
    auto pool = makePool();
    pool->setHeartbeatTimeout(200);
    QVERIFY(pool->start(2));
    QTRY_VERIFY(allIdle(*pool, 2));
    const QList<qint64> pids = pidsOf(*pool);
    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    QElapsedTimer stall;
    stall.start();
    while (stall.elapsed() < 1000) {
        // the event loop does not run: exactly what a SIGSTOP of the parent looks like to the pool
    }
    QVERIFY(!exited.wait(600)); // several check intervals after the stall: nobody was killed
    QCOMPARE(pidsOf(*pool), pids);
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::descriptorsStableOverCrashCycles()
{
    const int cycles = qEnvironmentVariableIsSet("QUIESCE_TEST_LONG") ? 500 : 25;
    auto pool = makePool();
    pool->setCrashLoopLimit(1000000, 1000);
    pool->setRestartBackoff(0, 0, 60000);
    QSignalSpy started(pool.get(), &ProcessPool::workerStarted);
    QVERIFY(pool->start(1));
    QTRY_VERIFY(allIdle(*pool, 1));
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    const int before = openDescriptorCount();

    int crashes = 0;
    connect(pool.get(), &JobPool::jobsLost, pool.get(), [&](const QList<JobFailure> &lost) {
        crashes += int(lost.size());
        if (crashes < cycles)
            pool->submit(job(quint64(1000 + crashes), "crash"));
    });
    pool->submit(job(1000, "crash"));
    QTRY_VERIFY_WITH_TIMEOUT(crashes >= cycles, 60000);
    QTRY_VERIFY(allIdle(*pool, 1));
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    QCOMPARE(openDescriptorCount(), before);
    QVERIFY(zombieChildren().isEmpty());
    QCOMPARE(pool->snapshot().first().restarts, cycles);
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
    QVERIFY(zombieChildren().isEmpty());
}

void tst_ProcessPool::growAndShrink()
{
    auto pool = makePool();
    QSignalSpy exited(pool.get(), &ProcessPool::workerExited);
    QSignalSpy started(pool.get(), &JobPool::jobsStarted);
    QSignalSpy done(pool.get(), &JobPool::jobsDone);
    QVERIFY(pool->start(3));
    QTRY_VERIFY(allIdle(*pool, 3));
    pool->setDispatchBatch(1);
    pool->submit(job(71, "sleep:300"));
    QVERIFY(started.wait(5000));

    pool->setWorkerCount(1); // the two idle ones go; the busy one stays
    QCOMPARE(pool->workerCount(), 1);
    QTRY_COMPARE(exited.size(), 2);
    for (const QList<QVariant> &args : std::as_const(exited))
        QCOMPARE(args.at(2).toString(), QStringLiteral("exited 0"));
    QCOMPARE(pool->runningProcessCount(), 1);
    QTRY_COMPARE(idsOf(jobsFrom(done)), QList<quint64>({71}));

    pool->setWorkerCount(2);
    QCOMPARE(pool->workerCount(), 2);
    QTRY_VERIFY(allIdle(*pool, 2));
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

void tst_ProcessPool::killAllNowKillsEveryGroup()
{
    auto pool = makePool();
    QVERIFY(pool->start(2));
    QTRY_VERIFY(allIdle(*pool, 2));
    const QList<qint64> pids = pidsOf(*pool);
    pool->killAllNow(); // synchronous: dead (not yet reaped) when it returns
    for (qint64 pid : pids) {
        const QList<QByteArray> f = statFields(pid);
        // Dead or dying: a zombie, or still marked as exiting for a moment.
        QTRY_VERIFY(statFields(pid).value(0) == "Z" || statFields(pid).isEmpty());
        Q_UNUSED(f);
    }
    pool.reset(); // reaps
    for (qint64 pid : pids)
        QVERIFY(!isOurChild(pid));
}

void tst_ProcessPool::coreDumpsOff()
{
    const rlimit some {1024 * 1024, RLIM_INFINITY};
    rlimit before {};
    QVERIFY(::getrlimit(RLIMIT_CORE, &before) == 0);
    if (before.rlim_max != RLIM_INFINITY)
        QSKIP("the hard RLIMIT_CORE is limited here: cannot give the parent a non-zero soft limit to compare");
    QVERIFY(::setrlimit(RLIMIT_CORE, &some) == 0);
    auto pool = makePool();
    pool->setWorkerCoreDumps(false);
    const bool started = pool->start(1);
    ::setrlimit(RLIMIT_CORE, &before);
    QVERIFY(started);
    QTRY_VERIFY(allIdle(*pool, 1));
    QFile limits(QStringLiteral("/proc/%1/limits").arg(pool->snapshot().first().pid));
    QVERIFY(limits.open(QIODevice::ReadOnly));
    bool saw = false;
    for (const QByteArray &line : limits.readAll().split('\n')) {
        if (line.startsWith("Max core file size")) {
            saw = true;
            QCOMPARE(line.simplified().split(' ').at(4), QByteArray("0")); // "Max core file size <soft> <hard>"
        }
    }
    QVERIFY(saw);
    QVERIFY(stopAndWait(*pool, 5000).allStopped);
}

namespace {

// Starts the test worker by hand (posix_spawn, not QProcess, so that TSan follows it), with \a channel as fd 3
// when it is >= 0. Returns its pid and a pidfd to wait on.
struct HandStarted
{
    pid_t pid = -1;
    int pidfd = -1;
};

HandStarted spawnWorkerByHand(int channel)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (channel >= 0)
        posix_spawn_file_actions_adddup2(&actions, channel, 3);
    QByteArrayList envStore;
    for (char **e = environ; *e; ++e) {
        if (!QByteArray(*e).startsWith("QUIESCE_WORKER_FD="))
            envStore.append(QByteArray(*e));
    }
    if (channel >= 0)
        envStore.append("QUIESCE_WORKER_FD=3");
    std::vector<char *> envp;
    for (QByteArray &e : envStore)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    QByteArray program(QUIESCE_TEST_WORKER);
    char *argv[] = {program.data(), nullptr};
    HandStarted started;
    if (::posix_spawn(&started.pid, program.constData(), &actions, nullptr, argv, envp.data()) != 0)
        started.pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    if (started.pid > 0)
        started.pidfd = int(::syscall(SYS_pidfd_open, started.pid, 0));
    return started;
}

// Waits (on the event loop) for the hand-started worker to end; its exit code, or -1.
int waitForExit(const HandStarted &worker)
{
    QSocketNotifier exited(worker.pidfd, QSocketNotifier::Read);
    QSignalSpy spy(&exited, &QSocketNotifier::activated);
    if (!spy.wait(5000))
        return -1;
    exited.setEnabled(false);
    siginfo_t info {};
    if (::waitid(P_PIDFD, id_t(worker.pidfd), &info, WEXITED) != 0)
        return -1;
    ::close(worker.pidfd);
    return info.si_code == CLD_EXITED ? info.si_status : -1;
}

} // namespace

void tst_ProcessPool::workerExitsWhenTheChannelCloses()
{
    // The parent's death as the worker sees it: EOF on its channel (PostgreSQL's postmaster-death pipe). Started
    // by hand here, so nothing but the channel can tell it.
    int pair[2];
    QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    const HandStarted worker = spawnWorkerByHand(pair[1]);
    ::close(pair[1]);
    QVERIFY(worker.pid > 0 && worker.pidfd >= 0);
    QCOMPARE(::write(pair[0], "Q", 1), ssize_t(1)); // the pool's first byte (here without the shared page)
    {
        // Its hello arrives: it runs and listens.
        QSocketNotifier readable(pair[0], QSocketNotifier::Read);
        QSignalSpy hello(&readable, &QSocketNotifier::activated);
        QVERIFY(hello.wait(5000));
        readable.setEnabled(false);
    }
    ::close(pair[0]);
    QCOMPARE(waitForExit(worker), 0);
}

void tst_ProcessPool::workerOutsideAPoolRefuses()
{
    const HandStarted worker = spawnWorkerByHand(-1);
    QVERIFY(worker.pid > 0 && worker.pidfd >= 0);
    QCOMPARE(waitForExit(worker), 64);
}

void tst_ProcessPool::badProgramRefused()
{
    ProcessPool pool;
    pool.setWorkerProgram(QStringLiteral("/nonexistent/quiesce-worker"), {});
    QVERIFY(!pool.start(1));
    QVERIFY(pool.errorString().contains(QLatin1String("/nonexistent/quiesce-worker")));
    QCOMPARE(pool.runningProcessCount(), 0);
}

void tst_ProcessPool::spawnOnlyFromTheMainThread()
{
    // PR_SET_PDEATHSIG follows the thread that forked: a worker spawned from a thread that ends would be killed.
    bool started = true;
    QString error;
    std::thread other([&] {
        ProcessPool pool;
        pool.setWorkerProgram(QStringLiteral(QUIESCE_TEST_WORKER), {});
        started = pool.start(1);
        error = pool.errorString();
    });
    other.join();
    QVERIFY(!started);
    QVERIFY2(error.contains(QLatin1String("main thread")), qPrintable(error));
}

QTEST_GUILESS_MAIN(tst_ProcessPool)
#include "tst_processpool.moc"
