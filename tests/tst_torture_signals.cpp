// Reliability: the real binary tortured with signals. Signals at seeded moments under load, early signals right
// after spawn, dozens of mixed signals during a shutdown, a flood of tens of thousands of SIGUSR1/SIGHUP while it
// works, and a hung request that only the watchdog can end. Every wait waits for a line and is bounded; loops use
// fixed seeds; QUIESCE_TEST_LONG=1 runs many more rounds.
#include "quiesceprocess.h"
#include "torturesupport.h"

#include <QtCore/QFile>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <csignal>

using namespace std::chrono_literals;
using namespace Torture;

namespace {

const QStringList kAllPhases {QStringLiteral("stop-intake"), QStringLiteral("drain"), QStringLiteral("cancel"),
                              QStringLiteral("save"), QStringLiteral("stop-threads")};

QString signalWord(int signo)
{
    return signo == SIGTERM ? QStringLiteral("sigterm") : QStringLiteral("sigint");
}

// Reads whatever the child wrote so far without blocking (a flood must not let its stdout pipe fill up).
void pumpNow(QuiesceProcess &q)
{
    if (q.process().state() != QProcess::NotRunning)
        q.process().waitForReadyRead(0);
    q.pump();
}

} // namespace

class tst_TortureSignals : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void signalUnderLoad_data();
    void signalUnderLoad();
    void earlySignal_data();
    void earlySignal();
    void repeatedSignalsDuringShutdown_data();
    void repeatedSignalsDuringShutdown();
    void signalFloodWhileProcessing();
    void hungRequestIsNamedSavedAndPending();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QStringList args(const QStringList &extra) const;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_TortureSignals::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
    if (longMode())
        qInfo("QUIESCE_TEST_LONG=1: long mode, many more rounds");
}

void tst_TortureSignals::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QStringList tst_TortureSignals::args(const QStringList &extra) const
{
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"), statePath()} + extra;
}

// 1. SIGTERM / SIGINT at a seeded moment while requests arrive and workers are busy.
void tst_TortureSignals::signalUnderLoad_data()
{
    QTest::addColumn<quint32>("seed");
    const int rounds = iterations(8, 120);
    for (int i = 0; i < rounds; ++i)
        QTest::addRow("seed %d", 1000 + i) << quint32(1000 + i);
}

void tst_TortureSignals::signalUnderLoad()
{
    QFETCH(quint32, seed);
    QRandomGenerator rng(seed);
    const int rate = 100 + int(rng.bounded(300));
    const int workers = 2 + int(rng.bounded(3));
    const int workMax = 10 + int(rng.bounded(70));
    const int signo = rng.bounded(2) ? SIGTERM : SIGINT;
    const int moment = int(rng.bounded(3)); // after k accepted, after k done, or a few ms after READY
    const int k = 1 + int(rng.bounded(60));
    const int delayUs = int(rng.bounded(20000));

    QuiesceProcess q(args({QStringLiteral("--rate"), QString::number(rate), QStringLiteral("--workers"),
                           QString::number(workers), QStringLiteral("--work-ms"), QStringLiteral("5-%1").arg(workMax),
                           QStringLiteral("--seed"), QString::number(seed), QStringLiteral("--drain-timeout"),
                           QStringLiteral("30s"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    // The moment is counted in the app's own events, then shifted by a short seeded delay (a stimulus, not a wait).
    if (moment < 2) {
        const QString prefix = moment == 0 ? QStringLiteral("accepted id=") : QStringLiteral("done id=");
        for (int i = 0; i < k; ++i)
            QVERIFY2(!q.waitForLine(prefix).isEmpty(), q.describe());
    }
    QThread::usleep(ulong(delayUs));
    QVERIFY(q.sendSignal(signo));
    QVERIFY2(q.waitForExit(90s), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());

    // The quit path ran once, every phase in order and ok.
    const QString problem =
        phasesInOrder(q, kAllPhases, QStringLiteral("SHUTDOWN begin reason=%1").arg(signalWord(signo)));
    QVERIFY2(problem.isEmpty(), qPrintable(problem + QLatin1Char('\n') + QString::fromUtf8(q.describe())));
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN begin")), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN escalate")), 0);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done exit=0")), 1);
    // Intake closes at the end of stop-intake: no accepted line after it, no commit at all after the save.
    QVERIFY2(linesAfter(q, QStringLiteral("SHUTDOWN phase=stop-intake end"), QStringLiteral("accepted ")).isEmpty(),
             q.describe());
    QVERIFY2(linesAfter(q, QStringLiteral("SHUTDOWN phase=save end"), QStringLiteral("done ")).isEmpty(), q.describe());

    const QList<quint64> acceptedList = idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    const QList<quint64> doneList = idsWithPrefix(q.lines(), QStringLiteral("done id="));
    QVERIFY2(duplicates(acceptedList).isEmpty() && duplicates(doneList).isEmpty(), q.describe());
    const QSet<quint64> accepted = toSet(acceptedList);
    const QSet<quint64> done = toSet(doneList);
    QVERIFY2(!accepted.isEmpty() || moment == 2, q.describe());
    QVERIFY2((done - accepted).isEmpty(), q.describe());

    // The report agrees with the lines.
    const int reportAt = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(reportAt >= 0, q.describe());
    const QString report = q.lines().at(reportAt);
    QCOMPARE(field(report, QStringLiteral("accepted")), qint64(accepted.size()));
    QCOMPARE(field(report, QStringLiteral("finished")), qint64(done.size()));

    // And the journal agrees with both: every accepted id is done or pending, nothing is in progress.
    QString error;
    const QJsonObject state = inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QSet<quint64> filePending = stateIds(state, "pending");
    const QSet<quint64> fileDone = stateIds(state, "done");
    QVERIFY2(stateIds(state, "in_progress").isEmpty(), qPrintable(describeIds(stateIds(state, "in_progress"))));
    QVERIFY2(fileDone == done,
             qPrintable(QStringLiteral("done in file %1, printed %2").arg(describeIds(fileDone), describeIds(done))));
    const QSet<quint64> lost = accepted - filePending - fileDone;
    QVERIFY2(lost.isEmpty(), qPrintable(QStringLiteral("accepted but neither done nor pending: ") + describeIds(lost)));
    QCOMPARE(qint64(filePending.size() + fileDone.size()), qint64(accepted.size()));
    QCOMPARE(qint64(filePending.size()),
             field(report, QStringLiteral("left_pending")) + field(report, QStringLiteral("requeued")));
}

// 2. SIGTERM 0-100 ms after spawn: never a hang; once READY is out, never a death by the signal.
void tst_TortureSignals::earlySignal_data()
{
    QTest::addColumn<quint32>("seed");
    const int rounds = iterations(16, 300);
    for (int i = 0; i < rounds; ++i)
        QTest::addRow("seed %d", 2000 + i) << quint32(2000 + i);
}

void tst_TortureSignals::earlySignal()
{
    QFETCH(quint32, seed);
    QRandomGenerator rng(seed);
    const int delayMs = int(rng.bounded(101));
    const bool twice = rng.bounded(4) == 0; // now and then a second one right behind it (FAST, still exit 0)
    QuiesceProcess q(
        args({QStringLiteral("--rate"), QStringLiteral("50"), QStringLiteral("--burst"), QStringLiteral("5"),
              QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("1-20"),
              QStringLiteral("--seed"), QString::number(seed)}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QThread::usleep(ulong(delayMs) * 1000); // the stimulus' timing: where the signal lands in the startup
    QVERIFY(q.sendSignal(SIGTERM));
    if (twice)
        QVERIFY(q.sendSignal(SIGTERM) || q.process().state() == QProcess::NotRunning);
    QVERIFY2(q.waitForExit(60s), q.describe()); // never hangs

    const bool ready = q.indexOf(QStringLiteral("READY")) >= 0;
    if (!q.exitedNormally()) {
        // Only possible before main() installed the bridge, i.e. before anything was printed.
        QVERIFY2(!ready,
                 qPrintable(QStringLiteral("died by a signal after READY (%1 ms)\n%2")
                                .arg(delayMs)
                                .arg(QString::fromUtf8(q.describe()))));
        QVERIFY2(q.lines().isEmpty(), q.describe());
        return;
    }
    QVERIFY2(ready, q.describe());
    QCOMPARE(q.exitCode(), 0);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN begin reason=sigterm")), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done exit=0")), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN immediate")), 0);
    // The quit path ran only once READY was out (a request during startup is sticky, never early).
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=")) > q.indexOf(QStringLiteral("READY")), q.describe());
}

// 3. Dozens of mixed signals while shutting down: HUP and USR1 never count as stop requests, the 2nd TERM/INT
//    escalates to FAST, the 3rd exits at once with 128+signo; one save at most, one exit.
//
//    The kernel does not queue standard signals: a second SIGTERM sent while the first is still pending (no thread
//    has taken it yet) merges with it. So the "stepped" rows send each stop signal only once the previous one was
//    acknowledged (its SHUTDOWN line is out) and expect the exact ladder; the "burst" rows fire 3-8 stop signals
//    back to back and check that whatever number got through, the outcome is the ladder's for that number.
//    And the process merges too: a repeat of a signal by the same sender within 250 ms is one request (timeout's
//    kill(pid) + kill(-pgid)). The stepped rows send each stop signal after the first from a new process, a
//    distinct sender, as a second operator would; the burst rows send all from this process, so "burst-same" now
//    gets one request through (all repeats), "burst-mixed" one or two (TERM and INT are different signals).
void tst_TortureSignals::repeatedSignalsDuringShutdown_data()
{
    QTest::addColumn<QString>("mode");
    QTest::addColumn<quint32>("seed");
    const int rounds = iterations(1, 12);
    for (int i = 0; i < rounds; ++i) {
        for (const char *mode : {"one-stop", "stepped-2", "stepped-3", "burst-same", "burst-mixed"})
            QTest::addRow("%s seed %d", mode, 3000 + i) << QString::fromLatin1(mode) << quint32(3000 + i);
    }
}

void tst_TortureSignals::repeatedSignalsDuringShutdown()
{
    QFETCH(QString, mode);
    QFETCH(quint32, seed);
    QRandomGenerator rng(seed);
    const bool burst = mode.startsWith(QLatin1StringView("burst"));

    // HUP reloads a real config file (unchanged values) during the shutdown.
    const QString config = m_dir->filePath(QStringLiteral("quiesce.ini"));
    {
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("rate=0\n");
    }
    QStringList extra {QStringLiteral("--rate"),  QStringLiteral("0"), QStringLiteral("--workers"), QStringLiteral("2"),
                       QStringLiteral("--burst"), QStringLiteral("2"), QStringLiteral("--config"),  config};
    if (mode == QLatin1StringView("one-stop")) {
        // Work that a graceful drain waits for.
        extra << QStringLiteral("--work-ms") << QStringLiteral("300-600") << QStringLiteral("--drain-timeout")
              << QStringLiteral("600s") << QStringLiteral("--hard-timeout") << QStringLiteral("660s");
    } else if (mode == QLatin1StringView("stepped-2")) {
        // Work that only FAST ends (a graceful drain would take 10 minutes).
        extra << QStringLiteral("--work-ms") << QStringLiteral("600000") << QStringLiteral("--drain-timeout")
              << QStringLiteral("600s") << QStringLiteral("--hard-timeout") << QStringLiteral("660s");
    } else if (mode == QLatin1StringView("stepped-3")) {
        // A request that ignores cancellation keeps the quit path alive until the third request ends it.
        extra << QStringLiteral("--work-ms") << QStringLiteral("600000") << QStringLiteral("--simulate-hang")
              << QStringLiteral("1") << QStringLiteral("--drain-timeout") << QStringLiteral("600s")
              << QStringLiteral("--hard-timeout") << QStringLiteral("660s");
    } else {
        // Whatever number of stop requests gets through, the process ends: a graceful drain times out after 1 s.
        extra << QStringLiteral("--work-ms") << QStringLiteral("600000") << QStringLiteral("--drain-timeout")
              << QStringLiteral("1s") << QStringLiteral("--hard-timeout") << QStringLiteral("60s");
    }
    QuiesceProcess q(args(extra));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(waitUntilBusy(q, 2), q.describe());

    // A handful to dozens of HUP/USR1, in a seeded mix; a signal to a process that already ended is no error.
    int others = 0;
    auto flood = [&] {
        const int n = 5 + int(rng.bounded(20));
        for (int i = 0; i < n; ++i) {
            if (q.sendSignal(rng.bounded(2) ? SIGHUP : SIGUSR1))
                ++others;
        }
    };
    auto stopSignal = [&] { return rng.bounded(2) ? SIGTERM : SIGINT; };

    int stops = 0;     // stop signals sent
    int expected = -1; // the exact exit code, when the test can know it
    if (!burst) {
        const int wanted = mode == QLatin1StringView("one-stop") ? 1 : mode == QLatin1StringView("stepped-2") ? 2 : 3;
        const QString acks[] = {QStringLiteral("SHUTDOWN begin"), QStringLiteral("SHUTDOWN escalate mode=fast")};
        int last = 0;
        flood();
        for (int i = 0; i < wanted; ++i) {
            if (i == 2)
                QThread::usleep(ulong(rng.bounded(800)) * 1000); // the third lands in cancel, save or stop-threads
            last = stopSignal();
            QVERIFY(i == 0 ? q.sendSignal(last) : q.sendSignalFromNewProcess(last));
            ++stops;
            flood();
            if (i < 2 && i + 1 < wanted) // acknowledged before the next one, so the kernel cannot merge them
                QVERIFY2(!q.waitForLine(acks[i]).isEmpty(), q.describe());
            flood();
        }
        expected = wanted < 3 ? 0 : 128 + last;
    } else {
        const int same = stopSignal();
        const int n = 3 + int(rng.bounded(6));
        flood();
        for (int i = 0; i < n; ++i) {
            if (q.sendSignal(mode == QLatin1StringView("burst-same") ? same : stopSignal()))
                ++stops;
            flood();
        }
    }

    QVERIFY2(q.waitForExit(90s), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QVERIFY2(others >= 5, q.describe());
    // One quit path, one save at most, one end, and never the watchdog.
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN begin")), 1);
    QVERIFY2(q.count(QStringLiteral("SHUTDOWN phase=save begin")) <= 1, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done")) + q.count(QStringLiteral("SHUTDOWN immediate")), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN watchdog")), 0);
    QVERIFY2(q.count(QStringLiteral("SHUTDOWN escalate")) <= 1, q.describe());
    if (expected >= 0)
        QCOMPARE(q.exitCode(), expected);

    if (q.exitCode() == 0) {
        // One or two stop requests got through: the stored report counts them, and not the dozens of HUP/USR1.
        QCOMPARE(q.count(QStringLiteral("SHUTDOWN done exit=0")), 1);
        QCOMPARE(q.count(QStringLiteral("SHUTDOWN phase=save end outcome=ok")), 1);
        QString error;
        const QJsonObject state = inspect(statePath(), false, &error);
        QVERIFY2(!state.isEmpty(), qPrintable(error));
        const QJsonArray sessions = state.value(QStringLiteral("sessions")).toArray();
        QCOMPARE(sessions.size(), 1);
        const QJsonObject report = sessions.at(0).toObject().value(QStringLiteral("report")).toObject();
        const int requests = report.value(QStringLiteral("requests")).toInt();
        QVERIFY2(requests >= 1 && requests <= 2 && requests <= stops, qPrintable(QString::number(requests)));
        if (!burst)
            QCOMPARE(requests, stops);
        QCOMPARE(q.count(QStringLiteral("SHUTDOWN escalate mode=fast")), requests - 1);
        QCOMPARE(report.value(QStringLiteral("mode")).toString(),
                 requests == 1 ? QStringLiteral("graceful") : QStringLiteral("fast"));
        return;
    }
    // Three stop requests got through: begin, escalate, immediate; the code names the third one's signal.
    QVERIFY2(stops >= 3, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN escalate mode=fast")), 1);
    const int immediateAt = q.indexOf(QStringLiteral("SHUTDOWN immediate exit="));
    QVERIFY2(immediateAt > q.indexOf(QStringLiteral("SHUTDOWN escalate")), q.describe());
    QCOMPARE(qint64(q.exitCode()), field(q.lines().at(immediateAt), QStringLiteral("exit")));
    QVERIFY2(q.exitCode() == 128 + SIGTERM || q.exitCode() == 128 + SIGINT, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done")), 0);
}

// 4. Tens of thousands of SIGUSR1/SIGHUP while a burst is processed: nothing fails, nothing hangs, every count
//    is exact.
void tst_TortureSignals::signalFloodWhileProcessing()
{
    const int burst = iterations(2000, 20000);
    const int maxSignals = iterations(60000, 1000000);
    const QString config = m_dir->filePath(QStringLiteral("quiesce.ini"));
    {
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("rate=0\nwork-ms=1-3\n");
    }
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QString::number(burst), QStringLiteral("--workers"), QStringLiteral("2"),
                           QStringLiteral("--work-ms"), QStringLiteral("1-3"), QStringLiteral("--config"), config,
                           QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());

    QRandomGenerator rng(4242);
    int sent = 0;
    int sentUsr1 = 0;
    while (sent < maxSignals) {
        bool alive = true;
        for (int i = 0; i < 64 && alive; ++i) {
            const int signo = rng.bounded(2) ? SIGUSR1 : SIGHUP;
            alive = q.sendSignal(signo);
            if (alive) {
                ++sent;
                sentUsr1 += signo == SIGUSR1 ? 1 : 0;
            }
        }
        pumpNow(q);
        if (!alive || q.indexOf(QStringLiteral("SHUTDOWN begin")) >= 0)
            break; // it finished the burst (the flood is over once the quit path begins)
    }
    QVERIFY2(q.waitForExit(120s), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(sent >= 10000, qPrintable(QStringLiteral("only %1 signals sent before the burst was done").arg(sent)));
    qInfo("%d signals sent (%d SIGUSR1) while %d requests were processed", sent, sentUsr1, burst);

    // Every accepted id done exactly once, nothing failed, nothing shed.
    const QList<quint64> acceptedList = idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    const QList<quint64> doneList = idsWithPrefix(q.lines(), QStringLiteral("done id="));
    QCOMPARE(acceptedList.size(), burst);
    QCOMPARE(doneList.size(), burst);
    QVERIFY(duplicates(acceptedList).isEmpty());
    QVERIFY(duplicates(doneList).isEmpty());
    QCOMPARE(toSet(doneList), toSet(acceptedList));
    QCOMPARE(q.count(QStringLiteral("STATE ")), 0);
    QCOMPARE(q.count(QStringLiteral("shed ")), 0);
    QCOMPARE(q.count(QStringLiteral("CONFIG reload failed")), 0);
    QVERIFY2(q.count(QStringLiteral("CONFIG reloaded")) >= 1, q.describe());

    // The STATUS lines (coalesced: at most one per SIGUSR1) never go backwards and never exceed the burst.
    const int statusLines = q.count(QStringLiteral("STATUS "));
    QVERIFY2(statusLines >= 1 && statusLines <= sentUsr1, qPrintable(QString::number(statusLines)));
    qint64 lastAccepted = 0;
    qint64 lastDone = 0;
    for (const QString &line : q.lines()) {
        if (!line.startsWith(QStringLiteral("STATUS ")))
            continue;
        const qint64 a = field(line, QStringLiteral("accepted"));
        const qint64 d = field(line, QStringLiteral("done"));
        QVERIFY2(a >= lastAccepted && d >= lastDone && d <= a && a <= burst, qPrintable(line));
        lastAccepted = a;
        lastDone = d;
    }
    const int reportAt = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(reportAt >= 0, q.describe());
    QCOMPARE(field(q.lines().at(reportAt), QStringLiteral("accepted")), qint64(burst));
    QCOMPARE(field(q.lines().at(reportAt), QStringLiteral("finished")), qint64(burst));
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN begin reason=idle")) >= 0, q.describe());

    QString error;
    const QJsonObject state = inspect(statePath(), false, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QCOMPARE(stateCount(state, "done"), qint64(burst));
    QCOMPARE(stateCount(state, "pending"), qint64(0));
    QCOMPARE(stateCount(state, "in_progress"), qint64(0));
}

// 6. A request that ignores cancellation: the watchdog ends the process with 70 at the hard deadline, names the
//    worker and the request, the session was saved first, and the request is pending for the next start, which
//    finishes it.
void tst_TortureSignals::hungRequestIsNamedSavedAndPending()
{
    QuiesceProcess q(
        args({QStringLiteral("--simulate-hang"), QStringLiteral("1"), QStringLiteral("--burst"), QStringLiteral("1"),
              QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--workers"), QStringLiteral("1"),
              QStringLiteral("--drain-timeout"), QStringLiteral("200"), QStringLiteral("--hard-timeout"),
              QStringLiteral("3000"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=1")).isEmpty(), q.describe());
    QVERIFY2(waitUntilBusy(q, 1), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(60s), q.describe()); // the hard deadline is 3 s; generous bound, no timing assertion
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 70);
    const int watchdogAt = q.indexOf(QStringLiteral("SHUTDOWN watchdog:"));
    QVERIFY2(watchdogAt >= 0, q.describe());
    const QString watchdog = q.lines().at(watchdogAt);
    QVERIFY2(watchdog.contains(QStringLiteral("quiesce-worker-0")) && watchdog.contains(QStringLiteral("request 1 ")),
             q.describe());
    QVERIFY2(watchdog.contains(QStringLiteral("exit=70")), q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=ok")) >= 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=save end")) < watchdogAt, q.describe());
    QCOMPARE(q.count(QStringLiteral("done id=")), 0);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done")), 0);

    QString error;
    const QJsonObject state = inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QCOMPARE(stateIds(state, "pending"), QSet<quint64> {1});
    QVERIFY(stateIds(state, "in_progress").isEmpty());
    QVERIFY(stateIds(state, "done").isEmpty());

    // The next start runs it first and finishes it.
    QuiesceProcess next(
        args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--work-ms"), QStringLiteral("1"),
              QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    QVERIFY(next.start());
    QVERIFY2(next.waitForExit(60s) && next.exitedNormally() && next.exitCode() == 0, next.describe());
    QVERIFY2(next.indexOf(QStringLiteral("RECOVERY 1 pending requests queued first")) >= 0, next.describe());
    QVERIFY2(next.indexOf(QStringLiteral("done id=1")) >= 0, next.describe());
    const QJsonObject after = inspect(statePath(), true, &error);
    QCOMPARE(stateIds(after, "done"), QSet<quint64> {1});
}

QTEST_GUILESS_MAIN(tst_TortureSignals)
#include "tst_torture_signals.moc"
