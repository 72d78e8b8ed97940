#include <Quiesce/shutdowncoordinator.h>

#include "procstatus.h"
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QPointer>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace std::chrono_literals;
using Quiesce::PhaseOutcome;
using Quiesce::PhaseRecord;
using Quiesce::ShutdownCoordinator;
using Quiesce::ShutdownMode;
using Quiesce::ShutdownPhaseContext;
using Quiesce::ShutdownReport;
using Quiesce::ShutdownRequest;

namespace {

const QString kHint =
    QStringLiteral("SHUTDOWN hint: send the signal again (Ctrl+C) to stop fast, a third time to exit immediately");

ShutdownRequest makeRequest(const QString &reason, int signo = 0, qint64 senderPid = 0)
{
    ShutdownRequest request;
    request.reason = reason;
    request.signo = signo;
    request.senderPid = senderPid;
    return request;
}

// Phase durations vary from run to run; everything else in a line must be exact.
QStringList withoutTimes(const QStringList &lines)
{
    static const QRegularExpression ms(QStringLiteral(" ms=\\d+"));
    QStringList result;
    for (QString line : lines)
        result.append(line.replace(ms, QStringLiteral(" ms=N")));
    return result;
}

/* A coordinator with every outside effect captured: the sink's lines, the exit function's calls, the immediate
   exit function's calls (made on the main thread or the watchdog's, hence atomics) and the direct-output file. */
class Harness
{
public:
    Harness()
    {
        m_fd = ::open(QFile::encodeName(m_dir.filePath(QStringLiteral("direct.log"))).constData(),
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        coordinator = std::make_unique<ShutdownCoordinator>();
        coordinator->setDirectOutputFd(m_fd);
        coordinator->setOutput([this](const QString &line) { lines.append(line); });
        coordinator->setFirstRequestHint(kHint); // the application says it (the library has no words of its own)
        coordinator->setExitFunction([this](int code) { exits.append(code); });
        coordinator->setImmediateExitFunction([this](int code) {
            immediateCode.store(code);
            immediateCalls.fetch_add(1);
            immediateOnMainThread.store(QThread::currentThread() == qApp->thread());
        });
    }

    ~Harness()
    {
        coordinator.reset(); // joins the watchdog before what its exit function touches goes away
        if (m_fd >= 0)
            ::close(m_fd);
    }

    bool valid() const { return m_dir.isValid() && m_fd >= 0 && m_refused.isEmpty(); }

    /* Adds a phase whose hook records that it ran, then does \a behaviour. A refused phase shows in valid(). */
    void addPhase(const QString &name, int order, std::chrono::milliseconds budget,
                  std::function<void(ShutdownPhaseContext *)> behaviour)
    {
        const bool added =
            coordinator->addPhase(name, order, budget, [this, name, behaviour](ShutdownPhaseContext *ctx) {
                ran.append(name);
                contexts.insert(name, ctx);
                modeAtStart.insert(name, ctx->mode());
                if (behaviour)
                    behaviour(ctx);
            });
        if (!added)
            m_refused.append(name);
    }

    static std::function<void(ShutdownPhaseContext *)> completeNow(const QString &detail = {})
    {
        return [detail](ShutdownPhaseContext *ctx) { ctx->complete(detail); };
    }
    static std::function<void(ShutdownPhaseContext *)> never()
    {
        return [](ShutdownPhaseContext *) {};
    }

    QStringList directLines() const
    {
        QFile file(m_dir.filePath(QStringLiteral("direct.log")));
        if (!file.open(QIODevice::ReadOnly))
            return {};
        return QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    }

    std::unique_ptr<ShutdownCoordinator> coordinator;
    QStringList lines;
    QList<int> exits;
    QStringList ran;
    QHash<QString, QPointer<ShutdownPhaseContext>> contexts;
    QHash<QString, ShutdownMode> modeAtStart;
    std::atomic<int> immediateCalls {0};
    std::atomic<int> immediateCode {-1};
    std::atomic<bool> immediateOnMainThread {false};

private:
    QTemporaryDir m_dir;
    int m_fd = -1;
    QStringList m_refused;
};

// The threads of this process by name (/proc/self/task/<tid>/comm), to find the watchdog.
QList<qint64> threadsNamed(const QByteArray &name)
{
    return ProcStatus::threadsNamed(0, name);
}

quint64 blockedSignalsOf(qint64 tid)
{
    return ProcStatus::mask(0, tid, "SigBlk");
}

/* Parks \a h's watchdog (prepareWatchdog()) with a hard timeout of 60 s; the ids of the threads named "watchdog"
   then (one), or none if it could not be parked. */
QList<qint64> parkWatchdog(Harness &h)
{
    h.coordinator->setHardTimeout(60s);
    QString error;
    if (!h.coordinator->prepareWatchdog(&error)) {
        qWarning("prepareWatchdog: %s", qPrintable(error));
        return {};
    }
    return threadsNamed("watchdog");
}

/* Where thread \a tid sleeps: the system call it is blocked in and the file its first argument names
   (/proc/self/task/<tid>/syscall, then /proc/self/fd/<arg>), e.g. {SYS_read, "anon_inode:[timerfd]"}; {-1, ""}
   while it runs or if unreadable. */
QPair<long, QString> blockedIn(qint64 tid)
{
    QFile file(QStringLiteral("/proc/self/task/%1/syscall").arg(tid));
    if (!file.open(QIODevice::ReadOnly))
        return {-1, QString()};
    const QList<QByteArray> fields = file.readAll().trimmed().split(' ');
    bool ok = false;
    const long number = fields.value(0).toLong(&ok);
    if (!ok || fields.size() < 2)
        return {-1, QString()};
    const qint64 fd = fields.at(1).toLongLong(&ok, 16);
    char target[256];
    const QByteArray link = "/proc/self/fd/" + QByteArray::number(fd);
    const ssize_t n = ok ? ::readlink(link.constData(), target, sizeof target) : -1;
    return {number, n > 0 ? QString::fromLocal8Bit(target, n) : QString()};
}

// How often thread \a tid went to sleep (voluntary_ctxt_switches); -1 if unreadable.
qint64 sleepsOf(qint64 tid)
{
    QFile file(QStringLiteral("/proc/self/task/%1/status").arg(tid));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (line.startsWith("voluntary_ctxt_switches:"))
            return line.mid(line.indexOf(':') + 1).trimmed().toLongLong();
    }
    return -1;
}

// Made in main() before the test object exists and before any event loop ran: see requestBeforeTheEventLoop...
std::unique_ptr<Harness> s_early;
bool s_earlyAccepted = false;
qsizetype s_earlyRanInsideRequest = -1;
qsizetype s_earlyExitsInsideRequest = -1;

/* The default exit functions end the process, so they are tested in a child: this same executable, started with
   QUIESCE_TST_SCENARIO set, runs one scenario with the default exit and immediate exit in place. The library
   never picks stdout by itself: the scenario names it, for the lines (no sink: they go there) and the direct ones. */
int runScenario(int argc, char **argv, const QByteArray &scenario)
{
    QCoreApplication app(argc, argv);
    ShutdownCoordinator coordinator;
    if (!scenario.startsWith("silent"))
        coordinator.setDirectOutputFd(STDOUT_FILENO);
    coordinator.setHardTimeout(scenario == "watchdog" ? 300ms : 20s);
    coordinator.addPhase(QStringLiteral("stuck"), 100, 10s, [scenario](ShutdownPhaseContext *ctx) {
        if (scenario == "watchdog") {
            // Blocked in a system call for good: nobody ever writes to this pipe. Only the watchdog ends this.
            int fds[2];
            if (::pipe(fds) == 0) {
                char byte;
                while (::read(fds[0], &byte, 1) != 0) {}
            }
        } else if (scenario == "failed") {
            ctx->fail(74, QStringLiteral("disk full"));
        } else {
            ctx->complete();
        }
    });
    coordinator.setReady();
    const int requests = scenario.endsWith("immediate") ? 3 : 1;
    for (int i = 0; i < requests; ++i)
        coordinator.requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM, 1));
    return app.exec();
}

} // namespace

class tst_ShutdownCoordinator : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void requestBeforeTheEventLoopIsHandledOnceItRuns();
    void phasesRunInOrderOnce();
    void outputLinesAreExact();
    void phaseBudgetTimesOutAndTheMachineMovesOn_data();
    void phaseBudgetTimesOutAndTheMachineMovesOn();
    void setPhaseBudgetAppliesToTheNextRun();
    void lateCompleteAfterTimeoutIsIgnored();
    void failingPhaseSetsTheExitCodeAndContinues();
    void timeoutWithAnExitCodeFailsTheShutdown();
    void requestBeforeReadyIsSticky();
    void escalationBeforeReadyReachesTheFirstPhase();
    void secondRequestEscalatesToFast();
    void thirdRequestExitsImmediately_data();
    void thirdRequestExitsImmediately();
    void manyRequestsRunEachPhaseOnce();
    void requestFromInsideAHookDoesNotReenter();
    void requestsAfterTheEndAreIgnored();
    void phaseCanBeEndedFromAnotherThread();
    void requestFromAnotherThreadIsQueued();
    void reportCountsAndJson();
    void addPhaseRejectsDuplicatesAndLateAdditions();
    void watchdogFiresWhenAHookNeverCompletes();
    void watchdogFiresWhileTheMainThreadIsBlocked();
    void watchdogDoesNotFireAfterANormalFinish();
    void watchdogBlocksTheBridgesSignals();
    void noWatchdogWithoutAHardTimeout();
    void preparedWatchdogIsParkedUntilTheFirstRequest();
    void armingTheParkedWatchdogWakesNoThread();
    void watchdogSpeaksTheApplicationsWords();
    void libraryHasNoHintOfItsOwn();
    void defaultExitPathsEndTheProcess_data();
    void defaultExitPathsEndTheProcess();
    void libraryChoosesNoOutputOfItsOwn_data();
    void libraryChoosesNoOutputOfItsOwn();
};

void tst_ShutdownCoordinator::requestBeforeTheEventLoopIsHandledOnceItRuns()
{
    // main() asked to stop before QTest ran any event loop: accepted, but nothing ran inside that call ...
    QVERIFY(s_early);
    QVERIFY(s_earlyAccepted);
    QCOMPARE(s_earlyRanInsideRequest, qsizetype(0));
    QCOMPARE(s_earlyExitsInsideRequest, qsizetype(0));
    // ... and it runs, once, as soon as the loop does.
    QTRY_COMPARE(s_early->exits.size(), 1);
    QCOMPARE(s_early->exits.at(0), 0);
    QCOMPARE(s_early->ran, QStringList({QStringLiteral("first"), QStringLiteral("second")}));
    QCOMPARE(s_early->lines.first(), QStringLiteral("SHUTDOWN begin reason=api sender=0 mode=graceful"));
    s_early.reset();
}

void tst_ShutdownCoordinator::phasesRunInOrderOnce()
{
    Harness h;
    QVERIFY(h.valid());
    // Added out of order; "flush-logs" shares 200 with "drain" and was added later, so it runs after it.
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.addPhase(QStringLiteral("stop-intake"), 100, 1s, Harness::completeNow());
    h.addPhase(QStringLiteral("drain"), 200, 1s, [](ShutdownPhaseContext *ctx) {
        QTimer::singleShot(0, ctx, [ctx] { ctx->complete(); }); // asynchronous completion
    });
    h.addPhase(QStringLiteral("flush-logs"), 200, 1s, Harness::completeNow());
    h.addPhase(QStringLiteral("stop-threads"), 500, 1s, Harness::completeNow());
    QCOMPARE(h.coordinator->phaseNames(),
             QStringList({QStringLiteral("stop-intake"), QStringLiteral("drain"), QStringLiteral("flush-logs"),
                          QStringLiteral("save"), QStringLiteral("stop-threads")}));
    h.coordinator->setReady();

    QSignalSpy started(h.coordinator.get(), &ShutdownCoordinator::shutdownStarted);
    QSignalSpy phaseStarted(h.coordinator.get(), &ShutdownCoordinator::phaseStarted);
    QSignalSpy phaseFinished(h.coordinator.get(), &ShutdownCoordinator::phaseFinished);
    QSignalSpy finished(h.coordinator.get(), &ShutdownCoordinator::finished);

    QVERIFY(!h.coordinator->isShuttingDown());
    QVERIFY(h.coordinator->requestShutdown(makeRequest(QStringLiteral("quit"))));
    QVERIFY(h.coordinator->isShuttingDown());
    QCOMPARE(started.size(), 1);
    QVERIFY(h.ran.isEmpty()); // never inside the caller

    QVERIFY(finished.wait(5000));
    QCOMPARE(h.ran,
             QStringList({QStringLiteral("stop-intake"), QStringLiteral("drain"), QStringLiteral("flush-logs"),
                          QStringLiteral("save"), QStringLiteral("stop-threads")}));
    QCOMPARE(phaseStarted.size(), 5);
    QCOMPARE(phaseStarted.at(1).at(0).toString(), QStringLiteral("drain"));
    QCOMPARE(phaseStarted.at(1).at(1).toLongLong(), qint64(1000));
    QCOMPARE(phaseFinished.size(), 5);
    const auto drain = phaseFinished.at(1).at(0).value<PhaseRecord>();
    QCOMPARE(drain.name, QStringLiteral("drain"));
    QCOMPARE(drain.outcome, PhaseOutcome::Ok);
    QCOMPARE(finished.at(0).at(0).toInt(), 0);
    QCOMPARE(h.exits, QList<int>({0}));
    QVERIFY(h.coordinator->isFinished());
    QVERIFY(h.coordinator->currentPhase().isEmpty());
    QCOMPARE(h.immediateCalls.load(), 0);
}

void tst_ShutdownCoordinator::outputLinesAreExact()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("stop-intake"), 100, 1000ms, [](ShutdownPhaseContext *ctx) {
        ctx->setCount(QStringLiteral("saved"), 7);
        ctx->complete();
    });
    h.addPhase(QStringLiteral("drain"), 200, 10000ms, [](ShutdownPhaseContext *ctx) {
        ctx->setCount(QStringLiteral("finished"), 5);
        ctx->complete(QStringLiteral("drained 5\nrequests")); // a detail never breaks the line
    });
    h.addPhase(QStringLiteral("save"), 400, 2000ms, [](ShutdownPhaseContext *ctx) {
        ctx->setCount(QStringLiteral("cancelled"), 0);
        ctx->fail(74, QStringLiteral("disk full"));
    });
    h.addPhase(QStringLiteral("flush-logs"), 450, 0ms, Harness::never());
    QVERIFY(h.coordinator->addPhase(QStringLiteral("optional"), 460, ShutdownCoordinator::NoBudget, {}));
    h.coordinator->setReady();

    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM, 4242));
    QTRY_COMPARE(h.exits.size(), 1);
    const QStringList expected {
        QStringLiteral("SHUTDOWN begin reason=sigterm sender=4242 mode=graceful"),
        kHint,
        QStringLiteral("SHUTDOWN phase=stop-intake begin budget_ms=1000"),
        QStringLiteral("SHUTDOWN phase=stop-intake end outcome=ok ms=N"),
        QStringLiteral("SHUTDOWN phase=drain begin budget_ms=10000"),
        QStringLiteral("SHUTDOWN phase=drain end outcome=ok ms=N detail=drained 5 requests"),
        QStringLiteral("SHUTDOWN phase=save begin budget_ms=2000"),
        QStringLiteral("SHUTDOWN phase=save end outcome=failed ms=N detail=disk full"),
        QStringLiteral("SHUTDOWN phase=flush-logs begin budget_ms=0"),
        QStringLiteral("SHUTDOWN phase=flush-logs end outcome=timed-out ms=N"),
        QStringLiteral("SHUTDOWN phase=optional begin budget_ms=-1"),
        QStringLiteral("SHUTDOWN phase=optional end outcome=skipped ms=N"),
        QStringLiteral("SHUTDOWN report cancelled=0 finished=5 saved=7"),
        QStringLiteral("SHUTDOWN done exit=74"),
    };
    QCOMPARE(withoutTimes(h.lines), expected);
    QCOMPARE(h.exits, QList<int>({74}));
    // The sink got everything: nothing went to the direct descriptor.
    QVERIFY(h.directLines().isEmpty());
}

void tst_ShutdownCoordinator::phaseBudgetTimesOutAndTheMachineMovesOn_data()
{
    QTest::addColumn<int>("budgetMs");
    QTest::addColumn<bool>("completes");
    QTest::addColumn<PhaseOutcome>("outcome");
    QTest::newRow("zero budget, never completes") << 0 << false << PhaseOutcome::TimedOut;
    QTest::newRow("30 ms, never completes") << 30 << false << PhaseOutcome::TimedOut;
    QTest::newRow("200 ms, never completes") << 200 << false << PhaseOutcome::TimedOut;
    QTest::newRow("long budget, completes from the loop") << 60000 << true << PhaseOutcome::Ok;
}

void tst_ShutdownCoordinator::phaseBudgetTimesOutAndTheMachineMovesOn()
{
    QFETCH(int, budgetMs);
    QFETCH(bool, completes);
    QFETCH(PhaseOutcome, outcome);

    Harness h;
    QVERIFY(h.valid());
    QDeadlineTimer seenDeadline;
    h.addPhase(QStringLiteral("slow"), 100, std::chrono::milliseconds(budgetMs),
               [&seenDeadline, completes](ShutdownPhaseContext *ctx) {
                   seenDeadline = ctx->deadline();
                   if (completes)
                       QTimer::singleShot(0, ctx, [ctx] { ctx->complete(); });
               });
    h.addPhase(QStringLiteral("after"), 200, 1s, Harness::completeNow());
    h.coordinator->setReady();
    QSignalSpy phaseStarted(h.coordinator.get(), &ShutdownCoordinator::phaseStarted);
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));

    QTRY_COMPARE(h.exits.size(), 1);
    QCOMPARE(h.exits.at(0), 0); // a timeout does not change the exit code
    QCOMPARE(phaseStarted.at(0).at(1).toLongLong(), qint64(budgetMs));
    QVERIFY(!seenDeadline.isForever());
    QVERIFY(seenDeadline.remainingTime() <= budgetMs);
    const ShutdownReport report = h.coordinator->report();
    QCOMPARE(report.phases.size(), 2);
    QCOMPARE(report.phases.at(0).outcome, outcome);
    QCOMPARE(report.phases.at(1).name, QStringLiteral("after"));
    QCOMPARE(report.phases.at(1).outcome, PhaseOutcome::Ok);
    QCOMPARE(h.ran, QStringList({QStringLiteral("slow"), QStringLiteral("after")}));
}

void tst_ShutdownCoordinator::setPhaseBudgetAppliesToTheNextRun()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("drain"), 200, 10s, Harness::never());
    QCOMPARE(h.coordinator->phaseBudget(QStringLiteral("drain")), std::chrono::milliseconds(10s));
    QVERIFY(h.coordinator->setPhaseBudget(QStringLiteral("drain"), 20ms)); // a config reload
    QVERIFY(!h.coordinator->setPhaseBudget(QStringLiteral("nope"), 20ms));
    QCOMPARE(h.coordinator->phaseBudget(QStringLiteral("drain")), std::chrono::milliseconds(20ms));
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTRY_COMPARE(h.exits.size(), 1);
    QVERIFY(h.lines.contains(QStringLiteral("SHUTDOWN phase=drain begin budget_ms=20")));
    QCOMPARE(h.coordinator->report().phases.at(0).outcome, PhaseOutcome::TimedOut);
}

void tst_ShutdownCoordinator::lateCompleteAfterTimeoutIsIgnored()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("slow"), 100, 10ms, Harness::never());
    h.addPhase(QStringLiteral("next"), 200, 60s, Harness::never());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTRY_COMPARE(h.coordinator->currentPhase(), QStringLiteral("next"));
    QPointer<ShutdownPhaseContext> slow = h.contexts.value(QStringLiteral("slow"));
    QVERIFY(slow); // still alive after its phase ended: late calls are safe
    QVERIFY(slow->isFinished());
    QCOMPARE(h.coordinator->report().phases.at(0).outcome, PhaseOutcome::TimedOut);

    // The slow hook finally completes, and fails too: neither ends "next" nor changes the record or the code.
    slow->complete(QStringLiteral("late"));
    slow->fail(74, QStringLiteral("late"));
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    QCOMPARE(h.coordinator->currentPhase(), QStringLiteral("next"));
    QCOMPARE(h.coordinator->report().phases.size(), 1);
    QCOMPARE(h.coordinator->report().phases.at(0).outcome, PhaseOutcome::TimedOut);
    QCOMPARE(h.coordinator->exitCode(), 0);

    // Completing twice counts once.
    ShutdownPhaseContext *next = h.contexts.value(QStringLiteral("next"));
    next->complete(QStringLiteral("first"));
    next->complete(QStringLiteral("second"));
    QTRY_COMPARE(h.exits.size(), 1);
    QCOMPARE(h.coordinator->report().phases.at(1).detail, QStringLiteral("first"));
    QCOMPARE(h.exits, QList<int>({0}));
}

void tst_ShutdownCoordinator::failingPhaseSetsTheExitCodeAndContinues()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("save"), 400, 1s, [](ShutdownPhaseContext *ctx) {
        QTimer::singleShot(0, ctx, [ctx] { ctx->fail(74, QStringLiteral("disk full")); });
    });
    h.addPhase(QStringLiteral("flush-logs"), 450, 1s, [](ShutdownPhaseContext *ctx) {
        ctx->fail(75, QStringLiteral("later failure")); // the first failure's code wins
    });
    h.addPhase(QStringLiteral("stop-threads"), 500, 1s, Harness::completeNow()); // threads must still stop
    h.coordinator->setReady();
    QSignalSpy finished(h.coordinator.get(), &ShutdownCoordinator::finished);
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));
    QVERIFY(finished.wait(5000));
    QCOMPARE(h.ran,
             QStringList({QStringLiteral("save"), QStringLiteral("flush-logs"), QStringLiteral("stop-threads")}));
    QCOMPARE(h.exits, QList<int>({74}));
    QCOMPARE(finished.at(0).at(0).toInt(), 74);
    QCOMPARE(h.coordinator->exitCode(), 74);
    const ShutdownReport report = finished.at(0).at(1).value<ShutdownReport>();
    QCOMPARE(report.exitCode, 74);
    QCOMPARE(report.phases.at(0).outcome, PhaseOutcome::Failed);
    QCOMPARE(report.phases.at(0).detail, QStringLiteral("disk full"));
    QCOMPARE(report.phases.at(2).outcome, PhaseOutcome::Ok);
    QVERIFY(h.lines.contains(QStringLiteral("SHUTDOWN done exit=74")));
}

// A save that never ends must not end the process with 0: the phase's timeout exit code makes the timeout a failure
// of the shutdown, says so in the record, and the quit path still goes on (threads must stop).
void tst_ShutdownCoordinator::timeoutWithAnExitCodeFailsTheShutdown()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("save"), 400, 30ms, Harness::never());
    h.addPhase(QStringLiteral("slow-but-harmless"), 450, 10ms, Harness::never());
    h.addPhase(QStringLiteral("stop-threads"), 500, 1s, Harness::completeNow());
    QVERIFY(h.coordinator->setPhaseTimeoutExitCode(QStringLiteral("save"), 74));
    QVERIFY(h.coordinator->setPhaseTimeoutExitCode(QStringLiteral("slow-but-harmless"), 0));
    QVERIFY(!h.coordinator->setPhaseTimeoutExitCode(QStringLiteral("nope"), 74));
    QCOMPARE(h.coordinator->phaseTimeoutExitCode(QStringLiteral("save")), 74);
    QCOMPARE(h.coordinator->phaseTimeoutExitCode(QStringLiteral("nope")), 0);
    h.coordinator->setReady();
    QSignalSpy finished(h.coordinator.get(), &ShutdownCoordinator::finished);
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));
    QVERIFY(finished.wait(5000));
    QCOMPARE(finished.at(0).at(0).toInt(), 74);
    QCOMPARE(h.exits, QList<int>({74}));
    const ShutdownReport report = finished.at(0).at(1).value<ShutdownReport>();
    QCOMPARE(report.exitCode, 74);
    QCOMPARE(report.phases.size(), 3);
    QCOMPARE(report.phases.at(0).outcome, PhaseOutcome::TimedOut);
    QVERIFY2(report.phases.at(0).detail.startsWith(QStringLiteral("save timed out after ")),
             qPrintable(report.phases.at(0).detail));
    QCOMPARE(report.phases.at(1).outcome, PhaseOutcome::TimedOut);
    QCOMPARE(report.phases.at(1).detail, QString()); // no exit code: a plain timeout, as before
    QCOMPARE(report.phases.at(2).outcome, PhaseOutcome::Ok);
    const auto saveEnd = std::find_if(h.lines.cbegin(), h.lines.cend(), [](const QString &line) {
        return line.startsWith(QStringLiteral("SHUTDOWN phase=save end outcome=timed-out"));
    });
    QVERIFY(saveEnd != h.lines.cend());
    QVERIFY2(saveEnd->contains(QStringLiteral("detail=save timed out after ")), qPrintable(*saveEnd));
    QVERIFY(h.lines.contains(QStringLiteral("SHUTDOWN done exit=74")));
}

void tst_ShutdownCoordinator::requestBeforeReadyIsSticky()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("stop-intake"), 100, 1s, Harness::completeNow());
    QVERIFY(!h.coordinator->isReady());
    QVERIFY(h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigint"), SIGINT, 77)));
    QVERIFY(h.coordinator->isShuttingDown());
    QCOMPARE(h.lines.first(), QStringLiteral("SHUTDOWN begin reason=sigint sender=77 mode=graceful"));

    // The loop runs, but startup is not finished: nothing may run.
    for (int i = 0; i < 5; ++i) {
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
    }
    QVERIFY(h.ran.isEmpty());
    QVERIFY(h.exits.isEmpty());

    h.coordinator->setReady();
    QVERIFY(h.ran.isEmpty()); // not inside setReady() either: from the loop
    QTRY_COMPARE(h.exits.size(), 1);
    QCOMPARE(h.ran, QStringList({QStringLiteral("stop-intake")}));
    QCOMPARE(h.coordinator->report().request.reason, QStringLiteral("sigint"));
    QCOMPARE(h.coordinator->report().request.senderPid, qint64(77));
}

void tst_ShutdownCoordinator::escalationBeforeReadyReachesTheFirstPhase()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("drain"), 200, 60s, [](ShutdownPhaseContext *ctx) {
        // What the app's drain does: nothing to wait for in FAST mode.
        if (ctx->mode() != ShutdownMode::Graceful)
            ctx->complete(QStringLiteral("fast"));
    });
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));
    QVERIFY(h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM)));
    QCOMPARE(h.coordinator->mode(), ShutdownMode::Fast);
    h.coordinator->setReady();
    QTRY_COMPARE(h.exits.size(), 1);
    QCOMPARE(h.modeAtStart.value(QStringLiteral("drain")), ShutdownMode::Fast);
    QCOMPARE(h.coordinator->report().phases.at(0).detail, QStringLiteral("fast"));
    QCOMPARE(h.coordinator->report().mode, ShutdownMode::Fast);
    QCOMPARE(h.coordinator->report().requests, 2);
}

void tst_ShutdownCoordinator::secondRequestEscalatesToFast()
{
    Harness h;
    QVERIFY(h.valid());
    QList<ShutdownMode> seenByDrain;
    h.addPhase(QStringLiteral("stop-intake"), 100, 1s, Harness::completeNow());
    h.addPhase(QStringLiteral("drain"), 200, 60s, [&seenByDrain](ShutdownPhaseContext *ctx) {
        QObject::connect(ctx, &ShutdownPhaseContext::modeChanged, ctx, [ctx, &seenByDrain](ShutdownMode mode) {
            seenByDrain.append(mode);
            ctx->complete(QStringLiteral("escalated"));
        });
    });
    h.addPhase(QStringLiteral("cancel"), 300, 1s, Harness::completeNow());
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.coordinator->setReady();
    QSignalSpy escalated(h.coordinator.get(), &ShutdownCoordinator::escalated);

    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigint"), SIGINT, 11));
    QTRY_COMPARE(h.coordinator->currentPhase(), QStringLiteral("drain"));
    QCOMPARE(h.coordinator->mode(), ShutdownMode::Graceful);

    QVERIFY(h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM, 12)));
    QCOMPARE(h.coordinator->mode(), ShutdownMode::Fast);
    QCOMPARE(escalated.size(), 1);
    QCOMPARE(escalated.at(0).at(0).value<ShutdownMode>(), ShutdownMode::Fast);
    QCOMPARE(escalated.at(0).at(1).value<ShutdownRequest>().reason, QStringLiteral("sigterm"));
    QCOMPARE(seenByDrain, QList<ShutdownMode>({ShutdownMode::Fast}));

    // Still orderly: cancel and save run, and the exit is a normal one with 0.
    QTRY_COMPARE(h.exits.size(), 1);
    QCOMPARE(h.exits.at(0), 0);
    QCOMPARE(h.ran,
             QStringList({QStringLiteral("stop-intake"), QStringLiteral("drain"), QStringLiteral("cancel"),
                          QStringLiteral("save")}));
    QCOMPARE(h.modeAtStart.value(QStringLiteral("cancel")), ShutdownMode::Fast);
    QCOMPARE(h.immediateCalls.load(), 0);
    const QStringList lines = withoutTimes(h.lines);
    const qsizetype escalate = lines.indexOf(QStringLiteral("SHUTDOWN escalate mode=fast reason=sigterm sender=12"));
    QVERIFY2(escalate > 0, qPrintable(lines.join(QLatin1Char('\n'))));
    QCOMPARE(lines.at(escalate - 1), QStringLiteral("SHUTDOWN phase=drain begin budget_ms=60000"));
    QCOMPARE(lines.at(escalate + 1), QStringLiteral("SHUTDOWN phase=drain end outcome=ok ms=N detail=escalated"));
    QCOMPARE(lines.count(kHint), 1); // the hint is for the first request only
    QCOMPARE(h.coordinator->report().mode, ShutdownMode::Fast);
    QCOMPARE(h.coordinator->report().request.reason, QStringLiteral("sigint")); // the first request
}

void tst_ShutdownCoordinator::thirdRequestExitsImmediately_data()
{
    QTest::addColumn<QString>("reason");
    QTest::addColumn<int>("signo");
    QTest::addColumn<int>("code");
    QTest::newRow("SIGINT") << QStringLiteral("sigint") << int(SIGINT) << 130;
    QTest::newRow("SIGTERM") << QStringLiteral("sigterm") << int(SIGTERM) << 143;
    QTest::newRow("no signal counts as SIGINT") << QStringLiteral("window") << 0 << 130;
}

void tst_ShutdownCoordinator::thirdRequestExitsImmediately()
{
    QFETCH(QString, reason);
    QFETCH(int, signo);
    QFETCH(int, code);

    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("drain"), 200, 60s, Harness::never()); // ignores FAST: hangs
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigint"), SIGINT));
    QTRY_COMPARE(h.coordinator->currentPhase(), QStringLiteral("drain"));
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigint"), SIGINT));
    QCOMPARE(h.immediateCalls.load(), 0);
    const qsizetype linesBefore = h.lines.size();

    QVERIFY(h.coordinator->requestShutdown(makeRequest(reason, signo, 99)));
    QCOMPARE(h.immediateCalls.load(), 1);
    QCOMPARE(h.immediateCode.load(), code);
    QVERIFY(h.immediateOnMainThread.load());
    QCOMPARE(h.coordinator->mode(), ShutdownMode::Immediate);
    QCOMPARE(h.coordinator->exitCode(), code);
    // One line, straight to the descriptor, not through the sink.
    QCOMPARE(h.directLines(),
             QStringList({QStringLiteral("SHUTDOWN immediate exit=%1 reason=%2").arg(code).arg(reason)}));
    QCOMPARE(h.lines.size(), linesBefore);

    // Nothing else happens afterwards (only a test's exit function returns at all).
    h.contexts.value(QStringLiteral("drain"))->complete();
    QVERIFY(!h.coordinator->requestShutdown(makeRequest(reason, signo)));
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    QCOMPARE(h.ran, QStringList({QStringLiteral("drain")}));
    QVERIFY(h.exits.isEmpty());
    QCOMPARE(h.immediateCalls.load(), 1);
    QVERIFY(h.coordinator->isFinished());
}

void tst_ShutdownCoordinator::manyRequestsRunEachPhaseOnce()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("stop-intake"), 100, 1s, Harness::completeNow());
    h.addPhase(QStringLiteral("drain"), 200, 60s, [](ShutdownPhaseContext *ctx) {
        QObject::connect(ctx, &ShutdownPhaseContext::modeChanged, ctx, [ctx] { ctx->complete(); });
    });
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.coordinator->setReady();
    QSignalSpy started(h.coordinator.get(), &ShutdownCoordinator::shutdownStarted);
    QSignalSpy escalated(h.coordinator.get(), &ShutdownCoordinator::escalated);

    // A burst of the same kind before the loop gets to anything: one start, one escalation, then IMMEDIATE.
    for (int i = 0; i < 10; ++i)
        h.coordinator->requestShutdown(makeRequest(QStringLiteral("window")));
    QCOMPARE(started.size(), 1);
    QCOMPARE(escalated.size(), 1);
    QCOMPARE(h.immediateCalls.load(), 1);
    QCOMPARE(h.immediateCode.load(), 130);
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    QVERIFY(h.ran.isEmpty());
    QVERIFY(h.exits.isEmpty());
}

void tst_ShutdownCoordinator::requestFromInsideAHookDoesNotReenter()
{
    Harness h;
    QVERIFY(h.valid());
    bool returnedBeforeNextPhase = false;
    h.addPhase(QStringLiteral("drain"), 200, 60s, [&h, &returnedBeforeNextPhase](ShutdownPhaseContext *ctx) {
        QObject::connect(ctx, &ShutdownPhaseContext::modeChanged, ctx, [ctx] { ctx->complete(); });
        // E.g. the idle check fires from inside the phase: escalates, completes this phase through modeChanged,
        // but the next phase must not start inside this hook.
        h.coordinator->requestShutdown(makeRequest(QStringLiteral("idle")));
        returnedBeforeNextPhase = !h.ran.contains(QStringLiteral("save"));
    });
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTRY_COMPARE(h.exits.size(), 1);
    QVERIFY(returnedBeforeNextPhase);
    QCOMPARE(h.ran, QStringList({QStringLiteral("drain"), QStringLiteral("save")}));
    QCOMPARE(h.coordinator->report().mode, ShutdownMode::Fast);
}

void tst_ShutdownCoordinator::requestsAfterTheEndAreIgnored()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("quit")));
    QTRY_COMPARE(h.exits.size(), 1);
    const qsizetype lines = h.lines.size();
    for (int i = 0; i < 5; ++i)
        QVERIFY(!h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigint"), SIGINT)));
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    QCOMPARE(h.exits, QList<int>({0})); // exactly once
    QCOMPARE(h.ran, QStringList({QStringLiteral("save")}));
    QCOMPARE(h.immediateCalls.load(), 0);
    QCOMPARE(h.lines.size(), lines);
}

void tst_ShutdownCoordinator::phaseCanBeEndedFromAnotherThread()
{
    Harness h;
    QVERIFY(h.valid());
    std::thread worker;
    h.addPhase(QStringLiteral("cancel"), 300, 60s, [&worker](ShutdownPhaseContext *ctx) {
        worker = std::thread([ctx] {
            ctx->setCount(QStringLiteral("cancelled"), 3);
            ctx->complete(QStringLiteral("from a worker"));
        });
    });
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTRY_COMPARE(h.exits.size(), 1);
    worker.join();
    QCOMPARE(h.coordinator->report().phases.at(0).detail, QStringLiteral("from a worker"));
    QCOMPARE(h.coordinator->report().counts.value(QStringLiteral("cancelled")), qint64(3));
}

void tst_ShutdownCoordinator::requestFromAnotherThreadIsQueued()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.coordinator->setReady();
    bool accepted = false;
    std::thread other(
        [&h, &accepted] { accepted = h.coordinator->requestShutdown(makeRequest(QStringLiteral("api"))); });
    other.join();
    QVERIFY(accepted);
    QTRY_COMPARE(h.exits.size(), 1);
    QCOMPARE(h.coordinator->report().request.reason, QStringLiteral("api"));
}

void tst_ShutdownCoordinator::reportCountsAndJson()
{
    Harness h;
    QVERIFY(h.valid());
    h.addPhase(QStringLiteral("drain"), 200, 1s, [](ShutdownPhaseContext *ctx) {
        ctx->setCount(QStringLiteral("finished"), 4);
        ctx->setCount(QStringLiteral("finished"), 5); // last value wins
        ctx->complete();
    });
    h.addPhase(QStringLiteral("save"), 400, 1s, [](ShutdownPhaseContext *ctx) {
        // A later phase sees what the earlier ones did.
        QCOMPARE(ctx->report().counts.value(QStringLiteral("finished")), qint64(5));
        QCOMPARE(ctx->report().phases.size(), 1);
        ctx->setCount(QStringLiteral("requeued"), 2);
        ctx->fail(74, QStringLiteral("disk full"));
    });
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM, 31337));
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("logout")));
    QTRY_COMPARE(h.exits.size(), 1);
    QVERIFY(h.lines.contains(QStringLiteral("SHUTDOWN report finished=5 requeued=2")));

    const ShutdownReport report = h.coordinator->report();
    QCOMPARE(report.requests, 2);
    const QJsonObject json = report.toJson();
    QCOMPARE(json.value(QStringLiteral("reason")).toString(), QStringLiteral("sigterm"));
    QCOMPARE(json.value(QStringLiteral("signo")).toInt(), int(SIGTERM));
    QCOMPARE(json.value(QStringLiteral("sender")).toInteger(), qint64(31337));
    QCOMPARE(json.value(QStringLiteral("mode")).toString(), QStringLiteral("fast"));
    QCOMPARE(json.value(QStringLiteral("exit")).toInt(), 74);
    QCOMPARE(json.value(QStringLiteral("requests")).toInt(), 2);
    const QJsonObject counts = json.value(QStringLiteral("counts")).toObject();
    QCOMPARE(counts.value(QStringLiteral("finished")).toInteger(), qint64(5));
    QCOMPARE(counts.value(QStringLiteral("requeued")).toInteger(), qint64(2));
    const QJsonArray phases = json.value(QStringLiteral("phases")).toArray();
    QCOMPARE(phases.size(), 2);
    QCOMPARE(phases.at(0).toObject().value(QStringLiteral("name")).toString(), QStringLiteral("drain"));
    QCOMPARE(phases.at(0).toObject().value(QStringLiteral("outcome")).toString(), QStringLiteral("ok"));
    QVERIFY(phases.at(0).toObject().value(QStringLiteral("ms")).isDouble());
    QCOMPARE(phases.at(1).toObject().value(QStringLiteral("outcome")).toString(), QStringLiteral("failed"));
    QCOMPARE(phases.at(1).toObject().value(QStringLiteral("detail")).toString(), QStringLiteral("disk full"));

    // Stored with the session record and read back: the same report.
    const QByteArray stored = QJsonDocument(json).toJson(QJsonDocument::Compact);
    const ShutdownReport back = ShutdownReport::fromJson(QJsonDocument::fromJson(stored).object());
    QCOMPARE(back.toJson(), json);
    QCOMPARE(back.mode, ShutdownMode::Fast);
    QCOMPARE(back.phases.at(1).outcome, PhaseOutcome::Failed);
    QCOMPARE(Quiesce::phaseOutcomeName(PhaseOutcome::TimedOut), QStringLiteral("timed-out"));
    QCOMPARE(Quiesce::shutdownModeName(ShutdownMode::Immediate), QStringLiteral("immediate"));
}

void tst_ShutdownCoordinator::addPhaseRejectsDuplicatesAndLateAdditions()
{
    Harness h;
    QVERIFY(h.valid());
    QVERIFY(
        h.coordinator->addPhase(QStringLiteral("save"), 400, 1s, [](ShutdownPhaseContext *ctx) { ctx->complete(); }));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("taken")));
    QVERIFY(!h.coordinator->addPhase(QStringLiteral("save"), 100, 1s, {}));
    QCOMPARE(h.coordinator->phaseNames(), QStringList({QStringLiteral("save")}));
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("after the shutdown began")));
    QVERIFY(!h.coordinator->addPhase(QStringLiteral("late"), 500, 1s, {}));
    h.coordinator->setReady();
    QTRY_COMPARE(h.exits.size(), 1);
    QCOMPARE(h.coordinator->report().phases.size(), 1);
}

void tst_ShutdownCoordinator::watchdogFiresWhenAHookNeverCompletes()
{
    Harness h;
    QVERIFY(h.valid());
    std::atomic<bool> diagnosticsOnMainThread {true};
    // Long enough for the loop to reach "drain" first even on a loaded machine; the test waits for the firing.
    h.coordinator->setHardTimeout(500ms);
    h.coordinator->setDiagnostics([&diagnosticsOnMainThread] {
        diagnosticsOnMainThread = QThread::currentThread() == qApp->thread();
        return QStringLiteral("worker quiesce-worker-2 request 17 busy 4.2 s");
    });
    h.addPhase(QStringLiteral("stop-intake"), 100, 1s, Harness::completeNow());
    h.addPhase(QStringLiteral("drain"), 200, ShutdownCoordinator::NoBudget, Harness::never());
    h.addPhase(QStringLiteral("save"), 400, 1s, Harness::completeNow());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));

    QTRY_COMPARE(h.immediateCalls.load(), 1);
    QCOMPARE(h.immediateCode.load(), 70);
    QVERIFY(!h.immediateOnMainThread.load());
    QVERIFY(!diagnosticsOnMainThread.load());
    QCOMPARE(h.directLines(),
             QStringList({QStringLiteral("SHUTDOWN watchdog: hard deadline of 500 ms passed in phase drain; "
                                         "worker quiesce-worker-2 request 17 busy 4.2 s; exit=70")}));
    QCOMPARE(h.coordinator->exitCode(), ShutdownCoordinator::ExitHardTimeout);

    // Should the stuck hook come back after all, the quit path does not go on to a second exit.
    h.contexts.value(QStringLiteral("drain"))->complete();
    QTRY_VERIFY(h.coordinator->isFinished());
    QVERIFY(h.exits.isEmpty());
    QVERIFY(!h.ran.contains(QStringLiteral("save")));
    QCOMPARE(h.immediateCalls.load(), 1);
}

void tst_ShutdownCoordinator::watchdogFiresWhileTheMainThreadIsBlocked()
{
    Harness h;
    QVERIFY(h.valid());
    h.coordinator->setHardTimeout(500ms);
    bool firedWhileBlocked = false;
    h.addPhase(QStringLiteral("stop-threads"), 500, 60s, [&h, &firedWhileBlocked](ShutdownPhaseContext *ctx) {
        // A busy main thread: no event loop runs until the watchdog has fired. Bounded so that a broken
        // watchdog fails the test instead of hanging it.
        const QDeadlineTimer bound(20000);
        while (h.immediateCalls.load() == 0 && !bound.hasExpired()) {}
        firedWhileBlocked = h.immediateCalls.load() == 1;
        ctx->complete();
    });
    h.addPhase(QStringLiteral("after"), 600, 1s, Harness::completeNow());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigint"), SIGINT));
    QTRY_VERIFY(h.ran.contains(QStringLiteral("stop-threads")));
    QVERIFY(firedWhileBlocked);
    QCOMPARE(h.immediateCode.load(), 70);
    QCOMPARE(h.directLines(),
             QStringList({QStringLiteral(
                 "SHUTDOWN watchdog: hard deadline of 500 ms passed in phase stop-threads; no diagnostics; exit=70")}));
    QTRY_VERIFY(h.coordinator->isFinished());
    QVERIFY(!h.ran.contains(QStringLiteral("after")));
    QVERIFY(h.exits.isEmpty());
}

void tst_ShutdownCoordinator::watchdogDoesNotFireAfterANormalFinish()
{
    Harness h;
    QVERIFY(h.valid());
    // Long enough that the test finishes the shutdown well before it, even on a loaded machine.
    h.coordinator->setHardTimeout(1500ms);
    h.addPhase(QStringLiteral("drain"), 200, 60s, Harness::never());
    h.coordinator->setReady();
    QVERIFY(threadsNamed("watchdog").isEmpty()); // started by the first request, not before
    const QDeadlineTimer pastTheDeadline(1700);
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));
    QTRY_COMPARE(h.coordinator->currentPhase(), QStringLiteral("drain"));
    QCOMPARE(threadsNamed("watchdog").size(), 1);

    h.contexts.value(QStringLiteral("drain"))->complete();
    QTRY_COMPARE(h.exits.size(), 1);
    // Joined at the finish: it cannot fire any more ...
    QVERIFY(threadsNamed("watchdog").isEmpty());
    // ... and indeed does not, once its deadline has passed.
    QTRY_VERIFY(pastTheDeadline.hasExpired());
    QCOMPARE(h.immediateCalls.load(), 0);
    QVERIFY(h.directLines().isEmpty());
    QCOMPARE(h.coordinator->exitCode(), 0);
}

void tst_ShutdownCoordinator::watchdogBlocksTheBridgesSignals()
{
    Quiesce::UnixSignalNotifier bridge;
    QVERIFY(bridge.watch({SIGUSR1, SIGTERM}));
    Harness h;
    QVERIFY(h.valid());
    h.coordinator->setHardTimeout(60s);
    h.addPhase(QStringLiteral("drain"), 200, 60s, Harness::never());
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTRY_COMPARE(threadsNamed("watchdog").size(), 1);
    const qint64 tid = threadsNamed("watchdog").constFirst();
    const quint64 wanted = (quint64(1) << (SIGUSR1 - 1)) | (quint64(1) << (SIGTERM - 1));
    QTRY_COMPARE(blockedSignalsOf(tid) & wanted, wanted);
    // The main thread keeps them.
    QCOMPARE(blockedSignalsOf(::getpid()) & wanted, quint64(0));
}

void tst_ShutdownCoordinator::preparedWatchdogIsParkedUntilTheFirstRequest()
{
    {
        // Parked and never armed: joined with its coordinator, never fires.
        Harness h;
        QVERIFY(h.valid());
        QString error;
        QVERIFY2(h.coordinator->prepareWatchdog(&error), qPrintable(error));
        QCOMPARE(threadsNamed("watchdog").size(), 1);
        h.coordinator.reset();
        QVERIFY(threadsNamed("watchdog").isEmpty());
        QCOMPARE(h.immediateCalls.load(), 0);
    }
    Harness h;
    QVERIFY(h.valid());
    // Taken at the first request, not at prepareWatchdog(): a reload may change it in between.
    h.coordinator->setHardTimeout(60s);
    QString error;
    QVERIFY2(h.coordinator->prepareWatchdog(&error), qPrintable(error));
    const QList<qint64> parked = threadsNamed("watchdog");
    QCOMPARE(parked.size(), 1);
    h.coordinator->setHardTimeout(500ms);
    h.addPhase(QStringLiteral("drain"), 200, ShutdownCoordinator::NoBudget, Harness::never());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));
    // The stop created no thread: the parked one was armed.
    QCOMPARE(threadsNamed("watchdog"), parked);
    QTRY_COMPARE(h.immediateCalls.load(), 1);
    QCOMPARE(h.immediateCode.load(), 70);
    QCOMPARE(h.directLines(),
             QStringList({QStringLiteral("SHUTDOWN watchdog: hard deadline of 500 ms passed in phase drain; "
                                         "no diagnostics; exit=70")}));
}

void tst_ShutdownCoordinator::armingTheParkedWatchdogWakesNoThread()
{
    Harness h;
    QVERIFY(h.valid());
    const QList<qint64> parked = parkWatchdog(h);
    QCOMPARE(parked.size(), 1);
    const qint64 tid = parked.constFirst();
    // Parked on its timer: the kernel holds the deadline, so arming it is a timerfd_settime(), not a wake-up (a
    // thread woken on the stop path costs its first line some 0.1-0.3 ms on a small machine).
    const QPair<long, QString> onTimer {long(SYS_read), QStringLiteral("anon_inode:[timerfd]")};
    QTRY_COMPARE(blockedIn(tid), onTimer);
    const qint64 sleeps = sleepsOf(tid);
    QVERIFY(sleeps > 0);

    h.addPhase(QStringLiteral("drain"), 200, 60s, Harness::never());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));
    QTRY_COMPARE(h.coordinator->currentPhase(), QStringLiteral("drain"));
    // Armed, and still in the same sleep.
    QCOMPARE(blockedIn(tid), onTimer);
    QCOMPARE(sleepsOf(tid), sleeps);

    // The finish wakes it to end, and joins it before the exit.
    h.contexts.value(QStringLiteral("drain"))->complete();
    QTRY_COMPARE(h.exits.size(), 1);
    QVERIFY(threadsNamed("watchdog").isEmpty());
    QCOMPARE(h.immediateCalls.load(), 0);
}

void tst_ShutdownCoordinator::watchdogSpeaksTheApplicationsWords()
{
    Harness h;
    QVERIFY(h.valid());
    h.coordinator->setHardTimeout(300ms);
    h.coordinator->setWatchdogThreadName(QStringLiteral("svc-guard"));
    h.coordinator->setDiagnostics([] { return QStringLiteral("worker 2\nbusy"); });
    // The application's words for the lines it cares about, the library's for the others, none for one kind.
    h.coordinator->setLineFormatter([](const Quiesce::ShutdownLine &line) {
        switch (line.kind) {
        case Quiesce::ShutdownLine::Kind::Watchdog:
            return QStringLiteral("GUARD %1 %2 [%3] -> %4\nsecond line")
                .arg(line.hardTimeoutMs)
                .arg(line.phase, line.diagnostics)
                .arg(line.exitCode);
        case Quiesce::ShutdownLine::Kind::Begin:
            return QStringLiteral("STOP asked by %1").arg(line.request.reason);
        case Quiesce::ShutdownLine::Kind::PhaseEnd:
            return QString();
        default:
            return ShutdownCoordinator::defaultLine(line);
        }
    });
    QString error;
    QVERIFY2(h.coordinator->prepareWatchdog(&error), qPrintable(error));
    QCOMPARE(threadsNamed("svc-guard").size(), 1);
    QVERIFY(threadsNamed("watchdog").isEmpty());
    h.addPhase(QStringLiteral("drain"), Quiesce::PhaseOrder::Drain, ShutdownCoordinator::NoBudget, Harness::never());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("sigterm"), SIGTERM));
    QTRY_COMPARE(h.immediateCalls.load(), 1);
    // The formatter's text, on one line whatever it and the diagnostics put in it.
    QCOMPARE(h.directLines(), QStringList({QStringLiteral("GUARD 300 drain [worker 2 busy] -> 70 second line")}));
    QCOMPARE(h.lines,
             QStringList({QStringLiteral("STOP asked by sigterm"), kHint,
                          QStringLiteral("SHUTDOWN phase=drain begin budget_ms=-1")}));
}

void tst_ShutdownCoordinator::libraryHasNoHintOfItsOwn()
{
    Harness h;
    QVERIFY(h.valid());
    h.coordinator->setFirstRequestHint({});
    h.addPhase(QStringLiteral("save"), Quiesce::PhaseOrder::Save, 1s, Harness::completeNow());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTRY_COMPARE(h.exits.size(), 1);
    const QStringList lines = withoutTimes(h.lines);
    QCOMPARE(lines.at(0), QStringLiteral("SHUTDOWN begin reason=api sender=0 mode=graceful"));
    QCOMPARE(lines.at(1), QStringLiteral("SHUTDOWN phase=save begin budget_ms=1000"));
    QVERIFY(!lines.join(QLatin1Char('\n')).contains(QStringLiteral("hint")));
}

void tst_ShutdownCoordinator::noWatchdogWithoutAHardTimeout()
{
    Harness h;
    QVERIFY(h.valid());
    h.coordinator->setHardTimeout(0ms);
    h.addPhase(QStringLiteral("drain"), 200, 60s, Harness::never());
    h.coordinator->setReady();
    h.coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    QTRY_COMPARE(h.coordinator->currentPhase(), QStringLiteral("drain"));
    QVERIFY(threadsNamed("watchdog").isEmpty());
    h.contexts.value(QStringLiteral("drain"))->complete();
    QTRY_COMPARE(h.exits.size(), 1);
}

void tst_ShutdownCoordinator::defaultExitPathsEndTheProcess_data()
{
    QTest::addColumn<QByteArray>("scenario");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("lastLine");
    QTest::newRow("graceful: return from exec()")
        << QByteArray("graceful") << 0 << QStringLiteral("SHUTDOWN done exit=0");
    QTest::newRow("failed phase") << QByteArray("failed") << 74 << QStringLiteral("SHUTDOWN done exit=74");
    QTest::newRow("immediate") << QByteArray("immediate") << 143
                               << QStringLiteral("SHUTDOWN immediate exit=143 reason=sigterm");
    QTest::newRow("watchdog, main thread stuck in read()")
        << QByteArray("watchdog") << 70
        << QStringLiteral("SHUTDOWN watchdog: hard deadline of 300 ms passed in phase stuck; no diagnostics; exit=70");
}

void tst_ShutdownCoordinator::defaultExitPathsEndTheProcess()
{
    QFETCH(QByteArray, scenario);
    QFETCH(int, exitCode);
    QFETCH(QString, lastLine);

    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QUIESCE_TST_SCENARIO"), QString::fromLatin1(scenario));
    child.setProcessEnvironment(env);
    child.start(QCoreApplication::applicationFilePath(), {});
    QVERIFY2(child.waitForFinished(30000), "the child did not end");
    QCOMPARE(child.exitStatus(), QProcess::NormalExit);
    QCOMPARE(child.exitCode(), exitCode);
    const QStringList lines =
        QString::fromUtf8(child.readAllStandardOutput()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QVERIFY(!lines.isEmpty());
    QCOMPARE(lines.first(), QStringLiteral("SHUTDOWN begin reason=sigterm sender=1 mode=graceful"));
    QCOMPARE(lines.last(), lastLine);
}

void tst_ShutdownCoordinator::libraryChoosesNoOutputOfItsOwn_data()
{
    QTest::addColumn<QByteArray>("scenario");
    QTest::addColumn<int>("exitCode");
    QTest::newRow("graceful") << QByteArray("silent") << 0;
    QTest::newRow("immediate") << QByteArray("silent-immediate") << 143;
}

void tst_ShutdownCoordinator::libraryChoosesNoOutputOfItsOwn()
{
    // No sink, no direct descriptor: the quit path runs and ends the process as usual, and prints nothing.
    QFETCH(QByteArray, scenario);
    QFETCH(int, exitCode);
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QUIESCE_TST_SCENARIO"), QString::fromLatin1(scenario));
    env.remove(QStringLiteral("QT_LOGGING_RULES"));
    child.setProcessEnvironment(env);
    child.start(QCoreApplication::applicationFilePath(), {});
    QVERIFY2(child.waitForFinished(30000), "the child did not end");
    QCOMPARE(child.exitStatus(), QProcess::NormalExit);
    QCOMPARE(child.exitCode(), exitCode);
    QCOMPARE(child.readAllStandardOutput(), QByteArray());
    QCOMPARE(child.readAllStandardError(), QByteArray());
}

int main(int argc, char **argv)
{
    const QByteArray scenario = qgetenv("QUIESCE_TST_SCENARIO");
    if (!scenario.isEmpty())
        return runScenario(argc, argv, scenario);

    QCoreApplication app(argc, argv);

    // Everything is set up and the request made before any event loop ran (as an app would do when a trigger
    // fires during startup): the first test checks that it is handled once a loop runs.
    s_early = std::make_unique<Harness>();
    s_early->addPhase(QStringLiteral("first"), 100, 1s, Harness::completeNow());
    s_early->addPhase(QStringLiteral("second"), 200, 1s, Harness::completeNow());
    s_early->coordinator->setReady();
    s_earlyAccepted = s_early->coordinator->requestShutdown(makeRequest(QStringLiteral("api")));
    s_earlyRanInsideRequest = s_early->ran.size();
    s_earlyExitsInsideRequest = s_early->exits.size();

    tst_ShutdownCoordinator test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_shutdowncoordinator.moc"
