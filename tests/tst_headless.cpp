// End-to-end: the real `quiesce --headless` driven like a terminal or a supervisor would.
#include "quiesceprocess.h"

#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>

#include <unistd.h>

class tst_Headless : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void stopsInOrderOnSignal_data();
    void stopsInOrderOnSignal();
    void statusOnSigusr1();
    void survivesAClosedStdout();
    void sigusr2PausesAndResumesIntake();
    void fullQueueShedsCountedNeverSilently();
    void fullQueueWaitsWithoutLosingAny();
    void badFlagExits64_data();
    void badFlagExits64();
    void helpAndVersion();

private:
    QStringList baseArgs() const;
    QTemporaryDir m_dir;
};

void tst_Headless::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
    QVERIFY(m_dir.isValid());
}

QStringList tst_Headless::baseArgs() const
{
    return {QStringLiteral("--headless"), QStringLiteral("--state"), m_dir.filePath(QStringLiteral("state.sqlite")),
            QStringLiteral("--rate"), QStringLiteral("0")};
}

void tst_Headless::stopsInOrderOnSignal_data()
{
    QTest::addColumn<int>("signo");
    QTest::addColumn<QString>("reason");
    QTest::newRow("SIGTERM") << SIGTERM << QStringLiteral("sigterm");
    QTest::newRow("SIGINT") << SIGINT << QStringLiteral("sigint");
}

void tst_Headless::stopsInOrderOnSignal()
{
    QFETCH(int, signo);
    QFETCH(QString, reason);
    QuiesceProcess q(baseArgs());
    QVERIFY(q.start());
    const QString ready = q.waitForLine(QStringLiteral("READY pid="));
    QVERIFY2(!ready.isEmpty(), q.describe());
    QCOMPARE(ready, QStringLiteral("READY pid=%1").arg(q.pid()));

    QVERIFY(q.sendSignal(signo));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe()); // it returned from exec(), it did not die by the signal
    QCOMPARE(q.exitCode(), 0);

    const int begin = q.indexOf(QStringLiteral("SHUTDOWN begin reason=%1 sender=%2").arg(reason).arg(::getpid()));
    const int done = q.indexOf(QStringLiteral("SHUTDOWN done exit=0"));
    QVERIFY2(begin >= 0, q.describe());
    QVERIFY2(done > begin, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done")), 1);
}

void tst_Headless::statusOnSigusr1()
{
    QuiesceProcess q(baseArgs());
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGUSR1));
    const QString status = q.waitForLine(QStringLiteral("STATUS "));
    QVERIFY2(status.contains(QStringLiteral("phase=running")), q.describe());
    QCOMPARE(q.count(QStringLiteral("STATUS ")), 1);
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

void tst_Headless::survivesAClosedStdout()
{
    // stdout becomes a pipe without a reader: every later line fails with EPIPE. SIGPIPE must not kill it.
    QuiesceProcess q(baseArgs());
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    q.process().closeReadChannel(QProcess::StandardOutput);
    QVERIFY(q.sendSignal(SIGUSR1)); // writes a STATUS line into the closed pipe
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);
}

void tst_Headless::sigusr2PausesAndResumesIntake()
{
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"),
                      m_dir.filePath(QStringLiteral("pause.sqlite")), QStringLiteral("--rate"), QStringLiteral("50"),
                      QStringLiteral("--work-ms"), QStringLiteral("1"), QStringLiteral("--log-requests")});
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGUSR2));
    QVERIFY2(!q.waitForLine(QStringLiteral("INTAKE paused")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGUSR1));
    QVERIFY2(q.waitForLine(QStringLiteral("STATUS ")).contains(QStringLiteral(" paused=1 ")), q.describe());
    // That the source emits nothing while paused is proven deterministically in tst_requestsource; here: the
    // signal reaches it, STATUS says so, and a second SIGUSR2 brings arrivals back.
    QVERIFY(q.sendSignal(SIGUSR2));
    QVERIFY2(!q.waitForLine(QStringLiteral("INTAKE resumed")).isEmpty(), q.describe());
    const int resumedAt = q.indexOf(QStringLiteral("INTAKE resumed"));
    QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=")).isEmpty(), q.describe());
    QVERIFY(q.lines().lastIndexOf(QRegularExpression(QStringLiteral("accepted id=\\d+"))) > resumedAt);
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

void tst_Headless::fullQueueShedsCountedNeverSilently()
{
    // One slow worker, a queue of 2, 20 requests at once: most cannot be queued and are shed, each one reported.
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"),
                      m_dir.filePath(QStringLiteral("shed.sqlite")), QStringLiteral("--rate"), QStringLiteral("0"),
                      QStringLiteral("--burst"), QStringLiteral("20"), QStringLiteral("--workers"), QStringLiteral("1"),
                      QStringLiteral("--queue-limit"), QStringLiteral("2"), QStringLiteral("--overflow"),
                      QStringLiteral("shed"), QStringLiteral("--work-ms"), QStringLiteral("50"),
                      QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")});
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    const int accepted = q.count(QStringLiteral("accepted id="));
    const int shed = q.count(QStringLiteral("shed id="));
    QVERIFY2(shed > 0, q.describe());
    QCOMPARE(accepted + shed, 20); // every request either accepted or reported as shed
    QCOMPARE(q.count(QStringLiteral("done id=")), accepted);
    const int report = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(report >= 0 && q.lines().at(report).contains(QStringLiteral("shed=%1").arg(shed)), q.describe());
}

void tst_Headless::fullQueueWaitsWithoutLosingAny()
{
    // The same pressure with --overflow wait (the default): intake is held, nothing is shed, all 20 get done.
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"),
                      m_dir.filePath(QStringLiteral("wait.sqlite")), QStringLiteral("--rate"), QStringLiteral("0"),
                      QStringLiteral("--burst"), QStringLiteral("20"), QStringLiteral("--workers"), QStringLiteral("1"),
                      QStringLiteral("--queue-limit"), QStringLiteral("2"), QStringLiteral("--work-ms"),
                      QStringLiteral("5"), QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")});
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QCOMPARE(q.count(QStringLiteral("shed id=")), 0);
    QCOMPARE(q.count(QStringLiteral("accepted id=")), 20);
    QCOMPARE(q.count(QStringLiteral("done id=")), 20);
}

void tst_Headless::badFlagExits64_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown flag") << QStringList {QStringLiteral("--bogus")} << QStringLiteral("bogus");
    QTest::newRow("negative drain") << QStringList {QStringLiteral("--drain-timeout"), QStringLiteral("-5")}
                                    << QStringLiteral("drain-timeout");
    QTest::newRow("non-numeric hard") << QStringList {QStringLiteral("--hard-timeout"), QStringLiteral("soon")}
                                      << QStringLiteral("hard-timeout");
    QTest::newRow("hard < drain") << QStringList {QStringLiteral("--drain-timeout"), QStringLiteral("5s"),
                                                  QStringLiteral("--hard-timeout"), QStringLiteral("2s")}
                                  << QStringLiteral("must be longer");
    // Budgets must fit an explicitly given grace period (issue 12).
    QTest::newRow("drain longer than the grace period")
        << QStringList {QStringLiteral("--grace-period"), QStringLiteral("10s"), QStringLiteral("--drain-timeout"),
                        QStringLiteral("20s")}
        << QStringLiteral("drain-timeout 20000 ms does not fit grace-period 10000 ms");
    QTest::newRow("drain leaving the other phases no room")
        << QStringList {QStringLiteral("--grace-period"), QStringLiteral("10s"), QStringLiteral("--drain-timeout"),
                        QStringLiteral("8s")}
        << QStringLiteral("does not fit grace-period");
    QTest::newRow("hard deadline past the margin")
        << QStringList {QStringLiteral("--grace-period"), QStringLiteral("10s"), QStringLiteral("--hard-timeout"),
                        QStringLiteral("9500ms")}
        << QStringLiteral("hard-timeout 9500 ms does not fit grace-period 10000 ms");
    QTest::newRow("grace period too short")
        << QStringList {QStringLiteral("--grace-period"), QStringLiteral("1s")} << QStringLiteral("at least 2000 ms");
    QTest::newRow("grace period not a duration")
        << QStringList {QStringLiteral("--grace-period"), QStringLiteral("soon")} << QStringLiteral("grace-period");
    QTest::newRow("bad work range") << QStringList {QStringLiteral("--work-ms"), QStringLiteral("9-3")}
                                    << QStringLiteral("work-ms");
    QTest::newRow("keep-done not a duration")
        << QStringList {QStringLiteral("--keep-done"), QStringLiteral("forever")} << QStringLiteral("keep-done");
    QTest::newRow("bad durability") << QStringList {QStringLiteral("--durability"), QStringLiteral("maybe")}
                                    << QStringLiteral("durability");
    QTest::newRow("stray argument") << QStringList {QStringLiteral("frobnicate")} << QStringLiteral("frobnicate");
}

void tst_Headless::badFlagExits64()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    QuiesceProcess q(QStringList {QStringLiteral("--headless")} + arguments);
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 64);
    const QString err = q.stderrText().trimmed();
    QVERIFY2(!err.contains(QLatin1Char('\n')), q.describe()); // one clear line
    QVERIFY2(err.startsWith(QStringLiteral("quiesce: ")) && err.contains(message), q.describe());
    QVERIFY2(q.lines().isEmpty(), q.describe()); // nothing started
}

void tst_Headless::helpAndVersion()
{
    QuiesceProcess help({QStringLiteral("--help")});
    QVERIFY(help.start());
    QVERIFY(help.waitForExit());
    QCOMPARE(help.exitCode(), 0);
    const QString text = help.stdoutText();
    QVERIFY2(text.contains(QStringLiteral("Exit codes")) && text.contains(QStringLiteral("--drain-timeout"))
                 && text.contains(QStringLiteral("--grace-period")) && text.contains(QStringLiteral("SIGUSR1")),
             help.describe());

    QuiesceProcess version({QStringLiteral("--version")});
    QVERIFY(version.start());
    QVERIFY(version.waitForExit());
    QCOMPARE(version.exitCode(), 0);
    QVERIFY2(version.stdoutText().startsWith(QStringLiteral("quiesce ")), version.describe());
}

QTEST_GUILESS_MAIN(tst_Headless)
#include "tst_headless.moc"
