// End-to-end: the real binary under supervisors. One grace period rules the budgets, so it always ends itself
// before a supervisor's SIGKILL, driven like `docker stop` (SIGTERM, SIGKILL once the grace period passes) would
// drive it; and it speaks sd_notify to a socket the test binds, stopped by a harness that enforces
// TimeoutStopSec= the way systemd does.
#include "quiesceprocess.h"
#include "supervisorharness.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QMap>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>
#include <memory>

using namespace std::chrono_literals;

using BudgetMap = QMap<QString, int>;

class tst_Supervisors : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void derivesBudgetsFromTheGracePeriod_data();
    void derivesBudgetsFromTheGracePeriod();
    void widensTheGracePeriodWithoutOne_data();
    void widensTheGracePeriodWithoutOne();
    void reloadKeepsTheBudgetsFitting();
    void dockerStopNeverNeedsItsKill_data();
    void dockerStopNeverNeedsItsKill();
    void exampleUnitAndConfigAgree();
    void notifiesSystemdAlongTheQuitPath_data();
    void notifiesSystemdAlongTheQuitPath();
    void notifiesSystemdAroundAReload();
    void systemdDoesNotKillADrainWithinItsBudget();

private:
    QStringList args(const QStringList &extra) const;
    static BudgetMap phaseBudgets(const QuiesceProcess &q);
    void writeConfig(const QByteArray &text) const;
    QString configPath() const;

    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_Supervisors::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_Supervisors::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QStringList tst_Supervisors::args(const QStringList &extra) const
{
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"),
                        m_dir->filePath(QStringLiteral("state.sqlite")), QStringLiteral("--rate"), QStringLiteral("0")}
    + extra;
}

QString tst_Supervisors::configPath() const
{
    return m_dir->filePath(QStringLiteral("quiesce.ini"));
}

void tst_Supervisors::writeConfig(const QByteArray &text) const
{
    QFile f(configPath());
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(text), qint64(text.size()));
}

// The budget of every phase as the SHUTDOWN lines printed it, and the hard deadline from the CONFIG budgets line.
BudgetMap tst_Supervisors::phaseBudgets(const QuiesceProcess &q)
{
    BudgetMap budgets;
    static const QRegularExpression phase(QStringLiteral("^SHUTDOWN phase=(\\S+) begin budget_ms=(-?\\d+)"));
    static const QRegularExpression hard(QStringLiteral("^CONFIG budgets .*\\bgrace_ms=(\\d+) hard_ms=(\\d+)"));
    for (const QString &line : q.lines()) {
        if (const auto m = phase.match(line); m.hasMatch())
            budgets.insert(m.captured(1), m.captured(2).toInt());
        if (const auto m = hard.match(line); m.hasMatch()) {
            budgets.insert(QStringLiteral("grace"), m.captured(1).toInt());
            budgets.insert(QStringLiteral("hard"), m.captured(2).toInt());
        }
    }
    budgets.remove(QStringLiteral("stop-threads")); // past the hard deadline on purpose: the watchdog bounds it
    return budgets;
}

void tst_Supervisors::derivesBudgetsFromTheGracePeriod_data()
{
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<BudgetMap>("expected");
    // The table in README.md and docs/ARCHITECTURE.md: margin max(1 s, 10 %), hard = grace - margin; of the hard
    // deadline stop-intake 5 % (<= 2 s), cancel 5 % (<= 500 ms), save 20 %, pre-stop 15 %, 5 % reserve; the
    // drain gets the rest.
    const BudgetMap tenSeconds {{QStringLiteral("grace"), 10000},     {QStringLiteral("hard"), 9000},
                                {QStringLiteral("stop-intake"), 450}, {QStringLiteral("drain"), 5850},
                                {QStringLiteral("cancel"), 450},      {QStringLiteral("save"), 1800}};
    QTest::newRow("default") << QStringList() << tenSeconds;
    QTest::newRow("10s") << QStringList {QStringLiteral("--grace-period"), QStringLiteral("10s")} << tenSeconds;
    QTest::newRow("30s") << QStringList {QStringLiteral("--grace-period"), QStringLiteral("30s")}
                         << BudgetMap {{QStringLiteral("grace"), 30000},      {QStringLiteral("hard"), 27000},
                                       {QStringLiteral("stop-intake"), 1350}, {QStringLiteral("drain"), 18400},
                                       {QStringLiteral("cancel"), 500},       {QStringLiteral("save"), 5400}};
    QTest::newRow("30s with --pre-stop") << QStringList {
        QStringLiteral("--grace-period"), QStringLiteral("30s"), QStringLiteral("--pre-stop"),
        QStringLiteral("true")} << BudgetMap {{QStringLiteral("grace"), 30000},   {QStringLiteral("hard"), 27000},
                                              {QStringLiteral("pre-stop"), 4050}, {QStringLiteral("stop-intake"), 1350},
                                              {QStringLiteral("drain"), 14350},   {QStringLiteral("cancel"), 500},
                                              {QStringLiteral("save"), 5400}};
    QTest::newRow("30s from the config file")
        << QStringList {QStringLiteral("--config"), QStringLiteral("CONFIG")}
        << BudgetMap {{QStringLiteral("grace"), 30000},      {QStringLiteral("hard"), 27000},
                      {QStringLiteral("stop-intake"), 1350}, {QStringLiteral("drain"), 18400},
                      {QStringLiteral("cancel"), 500},       {QStringLiteral("save"), 5400}};
}

void tst_Supervisors::derivesBudgetsFromTheGracePeriod()
{
    QFETCH(QStringList, extra);
    QFETCH(BudgetMap, expected);
    writeConfig("grace-period=30s\n");
    extra.replaceInStrings(QStringLiteral("CONFIG"), configPath());
    QuiesceProcess q(args(extra));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QCOMPARE(phaseBudgets(q), expected);
    QVERIFY2(q.stderrText().isEmpty(), q.describe()); // nothing was widened
}

void tst_Supervisors::widensTheGracePeriodWithoutOne_data()
{
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("fitted");
    QTest::addColumn<int>("drainMs");
    QTest::addColumn<int>("hardMs");
    QTest::newRow("drain") << QStringList {QStringLiteral("--drain-timeout"), QStringLiteral("20s")}
                           << QStringLiteral("drain-timeout 20000 ms") << 20000 << -1;
    QTest::newRow("hard") << QStringList {QStringLiteral("--hard-timeout"), QStringLiteral("660s")}
                          << QStringLiteral("hard-timeout 660000 ms") << -1 << 660000;
    QTest::newRow("both, as the torture tests give them")
        << QStringList {QStringLiteral("--drain-timeout"), QStringLiteral("600s"), QStringLiteral("--hard-timeout"),
                        QStringLiteral("660s")}
        << QStringLiteral("hard-timeout 660000 ms") << 600000 << 660000;
}

void tst_Supervisors::widensTheGracePeriodWithoutOne()
{
    QFETCH(QStringList, extra);
    QFETCH(QString, fitted);
    QFETCH(int, drainMs);
    QFETCH(int, hardMs);
    QuiesceProcess q(args(extra));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());

    // One line says so, and the run goes on with the explicit budgets kept and the others fitted around them.
    const QString err = q.stderrText().trimmed();
    QVERIFY2(!err.contains(QLatin1Char('\n')), q.describe());
    QVERIFY2(err.startsWith(QStringLiteral("quiesce: grace period widened from 10000 ms to "))
                 && err.endsWith(QStringLiteral("to fit %1 (give --grace-period to refuse budgets that do not fit "
                                                "instead)")
                                     .arg(fitted)),
             q.describe());
    const BudgetMap budgets = phaseBudgets(q);
    if (drainMs > 0)
        QCOMPARE(budgets.value(QStringLiteral("drain")), drainMs);
    if (hardMs > 0)
        QCOMPARE(budgets.value(QStringLiteral("hard")), hardMs);
    // Everything still ends with a margin before the (widened) grace period.
    int phases = 0;
    for (auto it = budgets.cbegin(); it != budgets.cend(); ++it) {
        if (it.key() != QStringLiteral("grace") && it.key() != QStringLiteral("hard"))
            phases += it.value();
    }
    QVERIFY2(phases <= budgets.value(QStringLiteral("hard")), q.describe());
    QVERIFY2(budgets.value(QStringLiteral("hard")) + 1000 <= budgets.value(QStringLiteral("grace")), q.describe());
}

void tst_Supervisors::reloadKeepsTheBudgetsFitting()
{
    writeConfig("grace-period=10s\n");
    {
        // At start, a grace period from the file refuses a drain from the command line that cannot fit it.
        QuiesceProcess refused(
            args({QStringLiteral("--config"), configPath(), QStringLiteral("--drain-timeout"), QStringLiteral("20s")}));
        QVERIFY(refused.start());
        QVERIFY2(refused.waitForExit() && refused.exitedNormally() && refused.exitCode() == 64, refused.describe());
        QVERIFY2(refused.stderrText().contains(QStringLiteral("does not fit grace-period 10000 ms")),
                 refused.describe());
    }
    QuiesceProcess q(args({QStringLiteral("--config"), configPath()}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());

    // Does not fit the grace period the file gives: refused, the current budgets stay.
    writeConfig("grace-period=10s\ndrain-timeout=20s\n");
    QVERIFY(q.sendSignal(SIGHUP));
    const QString refused = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(refused.startsWith(QStringLiteral("CONFIG reload failed, keeping the current settings: "))
                 && refused.contains(QStringLiteral("drain-timeout 20000 ms does not fit grace-period 10000 ms")),
             q.describe());

    // Fits: the budgets follow the new grace period, and the reload line says what they come to.
    writeConfig("grace-period=30s\n");
    QVERIFY(q.sendSignal(SIGHUP));
    const QString reloaded = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(reloaded.startsWith(QStringLiteral("CONFIG reloaded "))
                 && reloaded.contains(QStringLiteral("grace-period 10000 -> 30000"))
                 && reloaded.contains(QStringLiteral("budgets grace_ms=30000 hard_ms=27000 ")),
             q.describe());

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QCOMPARE(phaseBudgets(q).value(QStringLiteral("drain")), 18400);
}

void tst_Supervisors::dockerStopNeverNeedsItsKill_data()
{
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<int>("graceMs");
    QTest::addColumn<int>("busy");
    QTest::addColumn<int>("exitCode");
    // Issue 12: the drain used to be exactly docker's 10 s, so a drain that used its budget was always killed.
    QTest::newRow("a drain that uses its whole budget, default grace period")
        << QStringList {QStringLiteral("--burst"), QStringLiteral("2"),         QStringLiteral("--workers"),
                        QStringLiteral("2"),       QStringLiteral("--work-ms"), QStringLiteral("60000")}
        << 10000 << 2 << 0;
    // A request that ignores cancellation: the watchdog ends the stop (exit 70) before the grace period does.
    QTest::newRow("a hung request") << QStringList {QStringLiteral("--grace-period"),  QStringLiteral("4s"),
                                                    QStringLiteral("--simulate-hang"), QStringLiteral("1"),
                                                    QStringLiteral("--burst"),         QStringLiteral("1"),
                                                    QStringLiteral("--workers"),       QStringLiteral("1")}
                                    << 4000 << 1 << 70;
}

void tst_Supervisors::dockerStopNeverNeedsItsKill()
{
    QFETCH(QStringList, extra);
    QFETCH(int, graceMs);
    QFETCH(int, busy);
    QFETCH(int, exitCode);
    QuiesceProcess q(args(extra));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    QVERIFY2(q.waitUntilBusy(busy), q.describe());

    const bool killed = stopLikeDocker(q, std::chrono::milliseconds(graceMs));
    QVERIFY2(!killed, q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), exitCode);
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=drain end outcome=timed-out")) >= 0, q.describe());
}

void tst_Supervisors::exampleUnitAndConfigAgree()
{
    const QString sources = qEnvironmentVariable("QUIESCE_SOURCE_DIR");
    if (sources.isEmpty())
        QSKIP("QUIESCE_SOURCE_DIR is not set (run through ctest)");
    QFile unitFile(sources + QStringLiteral("/resources/quiesce.service"));
    QVERIFY(unitFile.open(QIODevice::ReadOnly));
    const QString unit = QString::fromUtf8(unitFile.readAll());
    auto setting = [&unit](const char *key) {
        const auto m = QRegularExpression(QStringLiteral("^%1=(.*)$").arg(QLatin1StringView(key)),
                                          QRegularExpression::MultilineOption)
                           .match(unit);
        return m.hasMatch() ? m.captured(1).trimmed() : QString();
    };

    // The unit reads its config file, reloads it for real, and gives the grace period that TimeoutStopSec= says.
    const QString execStart = setting("ExecStart");
    // The headless executable: a service maps no GUI library (tst_headless).
    QVERIFY2(execStart.startsWith(QStringLiteral("/usr/local/bin/quiesce-nox ")), qPrintable(execStart));
    QVERIFY2(execStart.contains(QStringLiteral("--config ${CONFIGURATION_DIRECTORY}/quiesce.ini")), qPrintable(unit));
    const auto grace = QRegularExpression(QStringLiteral("--grace-period (\\S+)")).match(execStart);
    QVERIFY2(grace.hasMatch(), qPrintable(execStart));
    QCOMPARE(setting("TimeoutStopSec"), grace.captured(1));
    QCOMPARE(setting("ExecReload"), QStringLiteral("/bin/kill -HUP $MAINPID"));
    const QStringList prevent = setting("RestartPreventExitStatus").split(QLatin1Char(' '));
    for (const char *code : {"64", "65", "73"})
        QVERIFY2(prevent.contains(QLatin1StringView(code)), qPrintable(setting("RestartPreventExitStatus")));

    // The example INI documents every tunable key, and its values, commented ones included, fit together.
    QFile iniFile(sources + QStringLiteral("/resources/quiesce.ini"));
    QVERIFY(iniFile.open(QIODevice::ReadOnly));
    QByteArray ini = iniFile.readAll();
    for (const char *key : {"rate", "work-ms", "workers", "queue-limit", "grace-period", "drain-timeout",
                            "hard-timeout", "isolation", "worker-timeout", "max-attempts"})
        QVERIFY2(QRegularExpression(QStringLiteral("^;?%1 = ").arg(QLatin1StringView(key)),
                                    QRegularExpression::MultilineOption)
                     .match(QString::fromUtf8(ini))
                     .hasMatch(),
                 key);
    for (const char *key : {"workers", "queue-limit", "grace-period", "drain-timeout", "hard-timeout"})
        ini.replace(QByteArray(QByteArray("\n;") + key + " = "), QByteArray(QByteArray("\n") + key + " = "));
    writeConfig(ini);

    QuiesceProcess q(args({QStringLiteral("--config"), configPath()}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("CONFIG budgets grace_ms=30000 hard_ms=27000 ")) >= 0, q.describe());
    QVERIFY(q.sendSignal(SIGHUP));
    QVERIFY2(q.waitForLine(QStringLiteral("CONFIG ")).startsWith(QStringLiteral("CONFIG reloaded ")), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.stderrText().isEmpty(), q.describe());
}

void tst_Supervisors::notifiesSystemdAlongTheQuitPath_data()
{
    QTest::addColumn<int>("address");
    QTest::newRow("path") << int(NotifySocket::Address::Path);
    QTest::newRow("abstract") << int(NotifySocket::Address::Abstract);
}

void tst_Supervisors::notifiesSystemdAlongTheQuitPath()
{
    QFETCH(int, address);
    NotifySocket socket {NotifySocket::Address(address)};
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    NotifyRecorder recorder(socket);
    QVERIFY(recorder.isValid());

    // One request that outlives a short drain, so every phase runs and the cancel phase has work.
    QuiesceProcess q(args({QStringLiteral("--grace-period"), QStringLiteral("10s"), QStringLiteral("--burst"),
                           QStringLiteral("1"), QStringLiteral("--work-ms"), QStringLiteral("60000"),
                           QStringLiteral("--drain-timeout"), QStringLiteral("300ms")}));
    q.setEnvironmentValue(QStringLiteral("NOTIFY_SOCKET"), QString::fromLocal8Bit(socket.name()));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    const qsizetype ready = recorder.waitForKey("READY");
    QVERIFY2(ready >= 0, QByteArray(q.describe() + recorder.describe()));

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    // The final STATUS is the last message, sent before the exit: wait for it in case the reader lags.
    QVERIFY2(recorder.waitFor([](const QList<NotifyMessage> &list) {
        return !list.isEmpty() && list.constLast().value("STATUS").startsWith("Stopped");
    }),
             QByteArray(q.describe() + recorder.describe()));
    const QList<NotifyMessage> messages = recorder.messages();
    const QByteArray all = q.describe() + recorder.describe();

    // At STOPPING=1 the extension already covers the whole hard deadline (9 s with a 10 s grace period).
    const qsizetype stopping = recorder.waitForKey("STOPPING", ready);
    QVERIFY2(stopping > ready, all);
    QVERIFY2(messages.at(stopping).value("EXTEND_TIMEOUT_USEC").toLongLong() >= 9000000, all);
    QVERIFY2(messages.at(stopping).value("STATUS").startsWith("Stopping (sigterm)"), all);

    // Each phase the process printed refreshes the extension, with a STATUS that names it and says what it does.
    QStringList phases;
    for (const QString &line : q.lines()) {
        const auto match = QRegularExpression(QStringLiteral("^SHUTDOWN phase=(\\S+) begin")).match(line);
        if (match.hasMatch())
            phases << match.captured(1);
    }
    QVERIFY2(phases.size() >= 5, all); // stop-intake, drain, cancel, save, stop-threads
    qsizetype at = stopping + 1;
    for (const QString &phase : std::as_const(phases)) {
        const QByteArray prefix = "Stopping (sigterm): " + phase.toUtf8() + " - ";
        while (at < messages.size() && !messages.at(at).value("STATUS").startsWith(prefix))
            ++at;
        QVERIFY2(at < messages.size(), qPrintable(phase + QLatin1Char('\n') + QString::fromUtf8(all)));
        QVERIFY2(messages.at(at).value("EXTEND_TIMEOUT_USEC").toLongLong() > 0, all);
    }

    // The last one is the report's summary, the same counts as the SHUTDOWN report line.
    const QString report = q.waitForLine(QStringLiteral("SHUTDOWN report"));
    QVERIFY2(!report.isEmpty(), all);
    QCOMPARE(QString::fromUtf8(messages.constLast().value("STATUS")),
             QStringLiteral("Stopped exit=0 mode=graceful: ") + report.mid(QStringLiteral("SHUTDOWN report ").size()));
}

void tst_Supervisors::notifiesSystemdAroundAReload()
{
    const QString config = m_dir->filePath(QStringLiteral("quiesce.ini"));
    {
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("rate=0\n");
    }
    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    NotifyRecorder recorder(socket);
    QVERIFY(recorder.isValid());

    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"),
                      m_dir->filePath(QStringLiteral("state.sqlite")), QStringLiteral("--config"), config});
    q.setEnvironmentValue(QStringLiteral("NOTIFY_SOCKET"), QString::fromLocal8Bit(socket.name()));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    const qsizetype ready = recorder.waitForKey("READY");
    QVERIFY2(ready >= 0, QByteArray(q.describe() + recorder.describe()));

    {
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write("rate=0\nworkers=3\n");
    }
    const qint64 before = monotonicMicroseconds();
    QVERIFY(q.sendSignal(SIGHUP));
    QVERIFY2(!q.waitForLine(QStringLiteral("CONFIG reloaded")).isEmpty(), q.describe());
    const qsizetype reloading = recorder.waitForKey("RELOADING", ready + 1);
    QVERIFY2(reloading > ready, QByteArray(q.describe() + recorder.describe()));
    const qint64 stamp = recorder.messages().at(reloading).value("MONOTONIC_USEC").toLongLong();
    QVERIFY2(stamp >= before && stamp <= monotonicMicroseconds(), recorder.describe());
    QVERIFY2(recorder.waitForKey("READY", reloading + 1) > reloading, QByteArray(q.describe() + recorder.describe()));

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

void tst_Supervisors::systemdDoesNotKillADrainWithinItsBudget()
{
    // Issue 12: TimeoutStopSec=2s, a 6 s drain, requests of 10 s. Nothing finishes during the drain, so nothing
    // but the STOPPING=1 extension keeps systemd from killing a stop that is within its budget.
    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    NotifyRecorder recorder(socket);
    QVERIFY(recorder.isValid());

    QuiesceProcess q(args({QStringLiteral("--burst"), QStringLiteral("2"), QStringLiteral("--workers"),
                           QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("10000"),
                           QStringLiteral("--drain-timeout"), QStringLiteral("6s"), QStringLiteral("--log-requests")}));
    q.setEnvironmentValue(QStringLiteral("NOTIFY_SOCKET"), QString::fromLocal8Bit(socket.name()));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    QVERIFY2(recorder.waitForKey("READY") >= 0, QByteArray(q.describe() + recorder.describe()));
    // Both requests are durable and in the workers' hands before the stop ("accepted" alone is not enough: the
    // pool may not have handed them to a worker yet, and a queued request does not keep the drain going).
    QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=2")).isEmpty(), q.describe());
    QVERIFY2(q.waitUntilBusy(2), q.describe());

    const bool killed = stopLikeSystemd(q, recorder, 2s);
    QVERIFY2(!killed, QByteArray(q.describe() + recorder.describe()));
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=drain end outcome=timed-out")) >= 0, q.describe());
}

QTEST_GUILESS_MAIN(tst_Supervisors)
#include "tst_supervisors.moc"
