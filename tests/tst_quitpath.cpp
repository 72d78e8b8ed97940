// End-to-end: the one quit path of the real binary — phases in order, early signals, the escalation ladder,
// the watchdog's hard deadline, SIGHUP reloads and sd_notify, all driven with real signals.
#include "quiesceprocess.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <csignal>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace std::chrono_literals;

class tst_QuitPath : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void busyShutdownRunsPhasesInOrder();
    void earlySignalNeverHangs_data();
    void earlySignalNeverHangs();
    void secondSignalStopsFast_data();
    void secondSignalStopsFast();
    void thirdSignalExitsImmediately_data();
    void thirdSignalExitsImmediately();
    void hungRequestEndsWithWatchdog();
    void nextStartNamesTheHungRequest_data();
    void nextStartNamesTheHungRequest();
    void exitWhenIdle();
    void sighupReloadsConfig();
    void notifiesSystemd();

private:
    QStringList args(const QStringList &extra) const;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_QuitPath::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_QuitPath::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QStringList tst_QuitPath::args(const QStringList &extra) const
{
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"),
                        m_dir->filePath(QStringLiteral("state.sqlite"))}
    + extra;
}

void tst_QuitPath::busyShutdownRunsPhasesInOrder()
{
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("40"), QStringLiteral("--workers"),
                           QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("20-150"),
                           QStringLiteral("--seed"), QStringLiteral("7"), QStringLiteral("--log-requests")}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(!q.waitForLine(QStringLiteral("done id=")).isEmpty(), q.describe()); // it is really working
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());

    int previous = q.indexOf(QStringLiteral("SHUTDOWN begin reason=sigterm"));
    QVERIFY2(previous >= 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN hint")) > previous, q.describe());
    for (const char *phase : {"stop-intake", "drain", "cancel", "save", "stop-threads"}) {
        const int begin = q.indexOf(QStringLiteral("SHUTDOWN phase=%1 begin").arg(QLatin1StringView(phase)));
        const int end = q.indexOf(QStringLiteral("SHUTDOWN phase=%1 end outcome=ok").arg(QLatin1StringView(phase)));
        QVERIFY2(begin > previous && end > begin,
                 qPrintable(QStringLiteral("phase %1 out of order\n%2")
                                .arg(QLatin1StringView(phase), QString::fromUtf8(q.describe()))));
        previous = end;
    }
    const int report = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(report > 0 && q.lines().at(report).contains(QStringLiteral("finished=")), q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN done exit=0")) > previous, q.describe());

    // Intake is closed by the end of stop-intake: nothing is accepted after it.
    const int intakeClosed = q.indexOf(QStringLiteral("SHUTDOWN phase=stop-intake end"));
    for (int i = intakeClosed; i < q.lines().size(); ++i)
        QVERIFY2(!q.lines().at(i).startsWith(QStringLiteral("accepted ")), q.describe());
}

void tst_QuitPath::earlySignalNeverHangs_data()
{
    QTest::addColumn<int>("delayMs");
    QTest::addColumn<int>("signo");
    for (int delay : {0, 1, 5, 20}) {
        QTest::addRow("SIGTERM after %d ms", delay) << delay << SIGTERM;
        QTest::addRow("SIGINT after %d ms", delay) << delay << SIGINT;
    }
}

void tst_QuitPath::earlySignalNeverHangs()
{
    QFETCH(int, delayMs);
    QFETCH(int, signo);
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0")}));
    QVERIFY(q.start());
    // The stimulus: the moment after spawn at which the signal lands. Nothing waits for a condition here.
    if (delayMs > 0)
        QThread::usleep(ulong(delayMs) * 1000);
    QVERIFY(q.sendSignal(signo));
    QVERIFY2(q.waitForExit(), q.describe()); // never hangs
    if (q.indexOf(QStringLiteral("READY")) >= 0) {
        // Once READY is out, the bridge owns the signal: the process stops in order, it never dies by it.
        QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
        QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN done exit=0")) >= 0, q.describe());
    } else {
        // Before main() installed the handler the default action may still apply; it must be one or the other.
        QVERIFY2(!q.exitedNormally() || q.exitCode() == 0, q.describe());
    }
}

void tst_QuitPath::secondSignalStopsFast_data()
{
    QTest::addColumn<int>("signo");
    QTest::newRow("SIGINT twice") << SIGINT;
    QTest::newRow("SIGTERM twice") << SIGTERM;
}

void tst_QuitPath::secondSignalStopsFast()
{
    QFETCH(int, signo);
    // Two long requests in flight and a drain deadline far away: only FAST can end this quickly.
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("2"), QStringLiteral("--workers"), QStringLiteral("2"),
                           QStringLiteral("--work-ms"), QStringLiteral("600000"), QStringLiteral("--drain-timeout"),
                           QStringLiteral("600s"), QStringLiteral("--hard-timeout"), QStringLiteral("660s")}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(q.waitUntilBusy(2), q.describe());
    QVERIFY(q.sendSignal(signo));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=drain begin")).isEmpty(), q.describe());
    // A second sender: the same one within 250 ms would be the same request (timeout's pid + group case).
    QVERIFY(q.sendSignalFromNewProcess(signo));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN escalate mode=fast")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    const int report = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(report >= 0, q.describe());
    QVERIFY2(q.lines().at(report).contains(QStringLiteral("cancelled=2")), q.describe());
    QVERIFY2(q.lines().at(report).contains(QStringLiteral("requeued=2")), q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN phase=save begin")), 1);
}

void tst_QuitPath::thirdSignalExitsImmediately_data()
{
    QTest::addColumn<int>("signo");
    QTest::addColumn<int>("code");
    QTest::newRow("SIGINT x3") << SIGINT << 130;
    QTest::newRow("SIGTERM x3") << SIGTERM << 143;
}

void tst_QuitPath::thirdSignalExitsImmediately()
{
    QFETCH(int, signo);
    QFETCH(int, code);
    // A hung request keeps the quit path busy after FAST, so the third signal finds it still running.
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("1"), QStringLiteral("--workers"), QStringLiteral("1"),
                           QStringLiteral("--simulate-hang"), QStringLiteral("1"), QStringLiteral("--drain-timeout"),
                           QStringLiteral("600s"), QStringLiteral("--hard-timeout"), QStringLiteral("660s")}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(q.waitUntilBusy(1), q.describe());
    // Three senders: repeats by one sender within 250 ms would be one request.
    QVERIFY(q.sendSignal(signo));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN begin")).isEmpty(), q.describe());
    QVERIFY(q.sendSignalFromNewProcess(signo));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN escalate mode=fast")).isEmpty(), q.describe());
    QVERIFY(q.sendSignalFromNewProcess(signo));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), code);
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN immediate exit=%1").arg(code)) >= 0, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done")), 0);
}

void tst_QuitPath::hungRequestEndsWithWatchdog()
{
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("1"), QStringLiteral("--workers"), QStringLiteral("1"),
                           QStringLiteral("--simulate-hang"), QStringLiteral("1"), QStringLiteral("--drain-timeout"),
                           QStringLiteral("200"), QStringLiteral("--hard-timeout"), QStringLiteral("3000")}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(q.waitUntilBusy(1), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(30s), q.describe()); // bounded by the hard deadline, generously
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 70);
    const int watchdog = q.indexOf(QStringLiteral("SHUTDOWN watchdog"));
    QVERIFY2(watchdog >= 0, q.describe());
    const QString line = q.lines().at(watchdog);
    QVERIFY2(line.contains(QStringLiteral("quiesce-worker-0")) && line.contains(QStringLiteral("request 1")),
             q.describe());
    // It was reported before the watchdog fired, and the state was saved (the request stays pending).
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN stuck")) >= 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=ok")) >= 0, q.describe());
}

void tst_QuitPath::nextStartNamesTheHungRequest_data()
{
    QTest::addColumn<bool>("deleteSidecar");
    QTest::newRow("watchdog's sidecar record") << false;
    // The sidecar may be lost (its write failed, someone cleaned up): the journal's record of the stuck request,
    // committed by the quit path when the step overran, still names it.
    QTest::newRow("journal only") << true;
}

void tst_QuitPath::nextStartNamesTheHungRequest()
{
    QFETCH(bool, deleteSidecar);
    const QString sidecar = m_dir->filePath(QStringLiteral("state.sqlite.watchdog"));
    qint64 hungPid = 0;
    {
        QuiesceProcess q(
            args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("1"),
                  QStringLiteral("--workers"), QStringLiteral("1"), QStringLiteral("--simulate-hang"),
                  QStringLiteral("1"), QStringLiteral("--grace-period"), QStringLiteral("4s")}));
        QVERIFY(q.start());
        QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
        QVERIFY2(q.waitUntilBusy(1), q.describe());
        hungPid = q.pid();
        QVERIFY(q.sendSignal(SIGTERM));
        QVERIFY2(q.waitForExit(30s), q.describe());
        QVERIFY2(q.exitedNormally(), q.describe());
        QCOMPARE(q.exitCode(), 70);
    }
    QVERIFY(QFile::exists(sidecar));
    if (deleteSidecar)
        QVERIFY(QFile::remove(sidecar));

    QuiesceProcess next(args({QStringLiteral("--rate"), QStringLiteral("0")}));
    QVERIFY(next.start());
    QVERIFY2(!next.waitForLine(QStringLiteral("READY")).isEmpty(), next.describe());
    const QString expected = QStringLiteral("RECOVERY previous run (pid %1) was ended by the watchdog (exit 70) in "
                                            "phase cancel: request 1 on quiesce-worker-0 did not respond")
                                 .arg(hungPid);
    QCOMPARE(next.count(QStringLiteral("RECOVERY previous run")), 1);
    QVERIFY2(next.indexOf(expected) >= 0, QByteArray(expected.toUtf8() + "\n" + next.describe()).constData());
    QVERIFY(!QFile::exists(sidecar)); // read once
    QVERIFY(next.sendSignal(SIGTERM));
    QVERIFY2(next.waitForExit(), next.describe());
    QCOMPARE(next.exitCode(), 0);

    // Said once: the start after a clean stop says nothing about it any more.
    QuiesceProcess third(args({QStringLiteral("--rate"), QStringLiteral("0")}));
    QVERIFY(third.start());
    QVERIFY2(!third.waitForLine(QStringLiteral("READY")).isEmpty(), third.describe());
    QCOMPARE(third.count(QStringLiteral("RECOVERY previous run")), 0);
    QVERIFY(third.sendSignal(SIGTERM));
    QVERIFY2(third.waitForExit(), third.describe());
    QCOMPARE(third.exitCode(), 0);
}

void tst_QuitPath::exitWhenIdle()
{
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("25"), QStringLiteral("--work-ms"), QStringLiteral("0-3"),
                           QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QCOMPARE(q.count(QStringLiteral("accepted id=")), 25);
    QCOMPARE(q.count(QStringLiteral("done id=")), 25);
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN begin reason=idle")) >= 0, q.describe());
}

void tst_QuitPath::sighupReloadsConfig()
{
    const QString config = m_dir->filePath(QStringLiteral("quiesce.ini"));
    auto writeConfig = [&config](const QByteArray &text) {
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        QCOMPARE(f.write(text), qint64(text.size()));
    };
    writeConfig("rate=0\nworkers=2\ndrain-timeout=3s\n");
    QuiesceProcess q(args({QStringLiteral("--config"), config}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());

    writeConfig("rate=0\nworkers=3\ndrain-timeout=4s\n");
    QVERIFY(q.sendSignal(SIGHUP));
    const QString reloaded = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(reloaded.startsWith(QStringLiteral("CONFIG reloaded")), q.describe());
    QVERIFY2(reloaded.contains(QStringLiteral("workers 2 -> 3")), q.describe());
    QVERIFY2(reloaded.contains(QStringLiteral("drain-timeout 3000 -> 4000")), q.describe());

    writeConfig("rate=fast\nworkers=5\n");
    QVERIFY(q.sendSignal(SIGHUP));
    const QString failed = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(failed.startsWith(QStringLiteral("CONFIG reload failed")) && failed.contains(QStringLiteral("rate")),
             q.describe());

    // The bad file changed nothing: still 3 workers.
    QVERIFY(q.sendSignal(SIGUSR1));
    const QString status = q.waitForLine(QStringLiteral("STATUS "));
    QVERIFY2(status.contains(QStringLiteral(" workers=3 ")), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

void tst_QuitPath::notifiesSystemd()
{
    // A real AF_UNIX datagram socket, as systemd would bind it.
    const QByteArray path = QFile::encodeName(m_dir->filePath(QStringLiteral("notify.sock")));
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    QVERIFY(fd >= 0);
    auto closeFd = qScopeGuard([fd] { ::close(fd); });
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    QVERIFY(size_t(path.size()) < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.constData(), size_t(path.size()));
    QCOMPARE(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
    timeval timeout {10, 0};
    QCOMPARE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);

    QStringList messages;
    auto receiveUntil = [&](const QString &wanted) {
        for (int i = 0; i < 100; ++i) {
            char buffer[4096];
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0)
                return false; // 10 s without a datagram
            const QString message = QString::fromUtf8(buffer, n);
            messages << message;
            if (message.contains(wanted))
                return true;
        }
        return false;
    };

    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0")}));
    q.setEnvironmentValue(QStringLiteral("NOTIFY_SOCKET"), QString::fromUtf8(path));
    QVERIFY(q.start());
    QVERIFY2(receiveUntil(QStringLiteral("READY=1")), qPrintable(messages.join(QLatin1Char('|'))));
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(receiveUntil(QStringLiteral("STOPPING=1")), qPrintable(messages.join(QLatin1Char('|'))));
    QVERIFY2(receiveUntil(QStringLiteral("STATUS=")), qPrintable(messages.join(QLatin1Char('|'))));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

QTEST_GUILESS_MAIN(tst_QuitPath)
#include "tst_quitpath.moc"
