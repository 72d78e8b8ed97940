// The quit path under hostile conditions (issue 11, items 5, 11, 13, 14): a disk that stalls during the save, a
// --pre-stop hook that leaves children behind (also as PID 1 of a PID namespace), a commit backlog at stop-intake,
// and config files QSettings would silently misread. The real binary, real signals, real processes.

#include "quiesceprocess.h"
#include "torturesupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <cerrno>
#include <csignal>

#include <sys/types.h>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace Torture;

namespace {

// The pids a hook printed on lines of their own ("PRE-STOP 1234").
QList<qint64> hookPids(const QuiesceProcess &q)
{
    static const QRegularExpression re(QStringLiteral("^PRE-STOP (\\d+)$"));
    QList<qint64> pids;
    for (const QString &line : q.lines()) {
        const QRegularExpressionMatch m = re.match(line);
        if (m.hasMatch())
            pids << m.captured(1).toLongLong();
    }
    return pids;
}

// The children of \a pid (all its threads), as the kernel lists them; zombies included until reaped.
QList<qint64> childrenOf(qint64 pid)
{
    QList<qint64> children;
    const QStringList tasks =
        QDir(QStringLiteral("/proc/%1/task").arg(pid)).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &task : tasks) {
        const QList<QByteArray> ids =
            readFile(QStringLiteral("/proc/%1/task/%2/children").arg(pid).arg(task)).simplified().split(' ');
        for (const QByteArray &id : ids) {
            if (!id.isEmpty())
                children << id.toLongLong();
        }
    }
    return children;
}

// The state letter of /proc/<pid>/stat ('Z' for a zombie), 0 when the process is gone.
char processState(qint64 pid)
{
    const QByteArray stat = readFile(QStringLiteral("/proc/%1/stat").arg(pid));
    const qsizetype close = stat.lastIndexOf(')');
    return close < 0 || close + 2 >= stat.size() ? 0 : stat.at(close + 2);
}

} // namespace

class tst_HostileShutdown : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void saveTimeoutExits74();
    void preStopGroupIsKilledAndReaped_data();
    void preStopGroupIsKilledAndReaped();
    void preStopAsPid1LeavesNoZombie();
    void noAcceptedLineAfterStopIntake();
    void configLineThatIsNotKeyValue_data();
    void configLineThatIsNotKeyValue();
    void configReloadRefusesALineThatIsNotKeyValue();

private:
    QString statePath() const { return m_dir.filePath(QStringLiteral("state.sqlite")); }
    QStringList args(const QStringList &extra) const;

    QTemporaryDir m_dir;
};

void tst_HostileShutdown::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

QStringList tst_HostileShutdown::args(const QStringList &extra) const
{
    // A fresh journal per test function: the directory is shared, the file is not.
    QString name = QString::fromLatin1(QTest::currentTestFunction());
    if (QTest::currentDataTag() != nullptr)
        name += QLatin1Char('-') + QString::fromUtf8(QTest::currentDataTag());
    static const QRegularExpression unsafe(QStringLiteral("[^A-Za-z0-9_-]"));
    name.replace(unsafe, QStringLiteral("_"));
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"),
                        m_dir.filePath(name + QStringLiteral(".sqlite"))}
    + extra;
}

// Item 5: a disk that stalls 2.5 s per write, from READY on. The save cannot finish in its 10 s budget: that is a
// failed promise (74, "save timed out after N ms"), not "done exit=0", and the store thread stuck in the write
// neither hangs the exit nor is destroyed while running (so no watchdog 70 either).
void tst_HostileShutdown::saveTimeoutExits74()
{
    const QString shim = qEnvironmentVariable("QUIESCE_FAULTINJECT");
    if (shim.isEmpty() || !QFileInfo::exists(shim))
        QSKIP("QUIESCE_FAULTINJECT (the LD_PRELOAD shim) is not set: run through ctest");
    const QString trigger = m_dir.filePath(QStringLiteral("stall-trigger"));
    const QString log = m_dir.filePath(QStringLiteral("stall-log"));
    QuiesceProcess q(args(
        {QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--hard-timeout"), QStringLiteral("120s")}));
    const DumpOnFailure dump(q);
    const QString asan = asanRuntime();
    q.setEnvironmentValue(QStringLiteral("LD_PRELOAD"),
                          asan.isEmpty() ? shim : QString(asan + QLatin1Char(':') + shim));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_MATCH"), QStringLiteral("saveTimeoutExits74.sqlite"));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_TRIGGER"), trigger);
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_DELAY_MS"), QStringLiteral("2500"));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_LOG"), log);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY(writeFile(trigger, "armed\n")); // every write to the journal stalls from now on
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(90s), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 74);
    QVERIFY2(!readFile(log).isEmpty(), "no write ever stalled");

    const int saveEnd = q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=timed-out"));
    QVERIFY2(saveEnd >= 0, q.describe());
    QVERIFY2(q.lines().at(saveEnd).contains(QStringLiteral("detail=save timed out after ")),
             qPrintable(q.lines().at(saveEnd)));
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done exit=74")), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done exit=0")), 0);
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=stop-threads end outcome=ok")) > saveEnd, q.describe());
    QFile::remove(trigger);
}

void tst_HostileShutdown::preStopGroupIsKilledAndReaped_data()
{
    QTest::addColumn<QString>("hook");
    QTest::addColumn<QString>("lastLine");
    QTest::addColumn<QString>("outcome");
    // Overruns its budget; two background children; a last line without a newline.
    QTest::newRow("overruns") << QStringLiteral("sleep 100 & echo $!; sleep 100 & echo $!; printf started; sleep 100")
                              << QStringLiteral("PRE-STOP started") << QStringLiteral("timed-out");
    // Exits at once, leaving children behind: one that ignores SIGTERM (SIGKILL ends it).
    QTest::newRow("exits, leaves children")
        << QStringLiteral("sleep 100 & echo $!; (trap '' TERM; exec sleep 100) & echo $!; printf bye")
        << QStringLiteral("PRE-STOP bye") << QStringLiteral("ok");
}

// Item 11: the hook's whole process group is ended and reaped, its output arrives as prefixed lines of their own.
void tst_HostileShutdown::preStopGroupIsKilledAndReaped()
{
    QFETCH(QString, hook);
    QFETCH(QString, lastLine);
    QFETCH(QString, outcome);
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--pre-stop"), hook}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);

    const QList<qint64> pids = hookPids(q);
    QCOMPARE(pids.size(), 2);
    for (qint64 pid : pids) {
        // Gone, not even a zombie: kill(pid, 0) succeeds on a zombie too.
        errno = 0;
        QVERIFY2(::kill(pid_t(pid), 0) == -1 && errno == ESRCH,
                 qPrintable(QStringLiteral("hook child %1 outlived quiesce (state %2)")
                                .arg(pid)
                                .arg(QLatin1Char(processState(pid)))));
    }
    QVERIFY2(q.lines().contains(lastLine), q.describe()); // completed as a line of its own
    for (const QString &line : q.lines())
        QVERIFY2(!line.contains(QStringLiteral("SHUTDOWN")) || line.startsWith(QStringLiteral("SHUTDOWN")),
                 qPrintable(line));
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=pre-stop end outcome=%1").arg(outcome)) >= 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=pre-stop end")) > q.indexOf(lastLine), q.describe());
}

// Item 11 as PID 1 (a container): orphans of the hook are re-parented to quiesce itself and must be reaped, not
// left as zombies.
void tst_HostileShutdown::preStopAsPid1LeavesNoZombie()
{
    const QString unshare = QStandardPaths::findExecutable(QStringLiteral("unshare"));
    if (unshare.isEmpty())
        QSKIP("unshare(1) is not installed");
    {
        QProcess probe;
        probe.start(unshare,
                    {QStringLiteral("--pid"), QStringLiteral("--fork"), QStringLiteral("--mount-proc"),
                     QStringLiteral("true")});
        if (!probe.waitForFinished(20000) || probe.exitStatus() != QProcess::NormalExit || probe.exitCode() != 0)
            QSKIP(qPrintable(QStringLiteral("cannot make a PID namespace here (unshare --pid --fork --mount-proc: %1)")
                                 .arg(QString::fromLocal8Bit(probe.readAllStandardError()).trimmed())));
    }
    // The subshell's child is orphaned at once and ends right away: a zombie of PID 1 unless PID 1 reaps it. Busy
    // workers keep the quit path in its drain while the test looks.
    QStringList inner =
        args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("2"),
              QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("600000"),
              QStringLiteral("--drain-timeout"), QStringLiteral("3s"), QStringLiteral("--pre-stop"),
              QStringLiteral("(sleep 0 &); echo pid=$$; sleep 0.3")});
    QuiesceProcess q;
    const DumpOnFailure dump(q);
    q.process().setProgram(unshare);
    q.process().setArguments(QStringList {QStringLiteral("--pid"), QStringLiteral("--fork"),
                                          QStringLiteral("--mount-proc"), QuiesceProcess::binary()}
                             + inner);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=1")).isEmpty(), q.describe());
    const QList<qint64> outer = childrenOf(q.pid());
    QCOMPARE(outer.size(), 1);
    const qint64 quiesce = outer.first(); // PID 1 inside, this pid outside
    QVERIFY(::kill(pid_t(quiesce), SIGTERM) == 0);
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=pre-stop end")).isEmpty(), q.describe());
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=drain begin")).isEmpty(), q.describe());
    QStringList zombies;
    for (qint64 child : childrenOf(quiesce)) {
        if (processState(child) == 'Z')
            zombies << QString::number(child);
    }
    QVERIFY2(zombies.isEmpty(),
             qPrintable(QStringLiteral("zombie children of PID 1: ") + zombies.join(QLatin1Char(' '))));
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0); // unshare exits with quiesce's code; the namespace is gone with it
    QVERIFY(processState(quiesce) == 0);
}

// Item 13: under a commit backlog, stop-intake really stops: no "accepted" line after it, and everything printed
// as accepted is in the journal. Arrivals far faster than durable commits (an fsync per batch) build the backlog.
void tst_HostileShutdown::noAcceptedLineAfterStopIntake()
{
    const QStringList a = args({QStringLiteral("--log-requests"), QStringLiteral("--rate"), QStringLiteral("300000"),
                                QStringLiteral("--queue-limit"), QStringLiteral("0"), QStringLiteral("--work-ms"),
                                QStringLiteral("0"), QStringLiteral("--durability"), QStringLiteral("full")});
    const QString state = a.at(2);
    QuiesceProcess q(a);
    const DumpOnFailure dump(q, 60);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    // Well into the flood: an id of six digits has been accepted.
    QVERIFY2(!q.waitForLine(QRegularExpression(QStringLiteral("^accepted id=\\d{6}$")), 60s).isEmpty(),
             "no accepted lines");
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(120s) && q.exitedNormally(), "no orderly exit");
    QCOMPARE(q.exitCode(), 0);

    const QStringList late =
        linesAfter(q, QStringLiteral("SHUTDOWN phase=stop-intake end"), QStringLiteral("accepted "));
    QVERIFY2(
        late.isEmpty(),
        qPrintable(
            QStringLiteral("%1 accepted lines after stop-intake end, first: %2").arg(late.size()).arg(late.value(0))));
    const QList<quint64> printed = idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    const QString report = q.lines().value(q.indexOf(QStringLiteral("SHUTDOWN report ")));
    // A reader that falls behind (this test under load) may cost request lines: the writer counts them in its last
    // "OUTPUT dropped accepted=N ..." line, and printed + dropped is the report's count (tst_hostile_output).
    qint64 dropped = 0;
    for (const QString &line : q.lines()) {
        if (line.startsWith(QLatin1StringView("OUTPUT dropped ")))
            dropped = field(line, QStringLiteral("accepted"));
    }
    QCOMPARE(field(report, QStringLiteral("accepted")), qint64(printed.size()) + dropped);

    QString error;
    const QJsonObject json = inspect(state, true, &error);
    QVERIFY2(!json.isEmpty(), qPrintable(error));
    const QSet<quint64> inJournal = stateIds(json, "pending") + stateIds(json, "in_progress") + stateIds(json, "done");
    const QSet<quint64> missing = toSet(printed) - inJournal;
    QVERIFY2(missing.isEmpty(), qPrintable(describeIds(missing)));
    // Nothing in the journal that was never acknowledged: the journal holds exactly what was accepted (printed, or
    // counted as dropped when the reader fell behind).
    QCOMPARE(qint64(inJournal.size()), qint64(printed.size()) + dropped);
    if (dropped == 0) {
        const QSet<quint64> unacknowledged = inJournal - toSet(printed);
        QVERIFY2(unacknowledged.isEmpty(), qPrintable(describeIds(unacknowledged)));
    }
}

void tst_HostileShutdown::configLineThatIsNotKeyValue_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("why");
    QTest::newRow("no equals sign") << QByteArray("[quiesce]\n; a comment\n# another\nrate = 5\nworkers\n")
                                    << QStringLiteral("line 5: 'workers' is not key=value");
    QTest::newRow("empty key") << QByteArray("rate=5\n=5\n") << QStringLiteral("line 2: '=5' has an empty key");
}

// Item 14: a line QSettings would skip in silence, or warn about by itself, is one error line and 64.
void tst_HostileShutdown::configLineThatIsNotKeyValue()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, why);
    const QString config = m_dir.filePath(QStringLiteral("bad.ini"));
    QVERIFY(writeFile(config, text));
    QuiesceProcess q(args({QStringLiteral("--config"), config, QStringLiteral("--rate"), QStringLiteral("0"),
                           QStringLiteral("--exit-when-idle")}));
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(30s) && q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 64);
    const QStringList errors = q.stderrText().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.first().startsWith(QStringLiteral("quiesce: config file ")) && errors.first().contains(why),
             qPrintable(errors.first()));
    QVERIFY2(q.lines().isEmpty(), q.describe()); // never started
}

void tst_HostileShutdown::configReloadRefusesALineThatIsNotKeyValue()
{
    const QString config = m_dir.filePath(QStringLiteral("reload.ini"));
    QVERIFY(writeFile(config, "rate=0\n"));
    QuiesceProcess q(args({QStringLiteral("--config"), config}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY(writeFile(config, "rate=0\nworkers 4\n"));
    QVERIFY(q.sendSignal(SIGHUP));
    const QString failed = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(failed.startsWith(QStringLiteral("CONFIG reload failed, keeping the current settings: ")), q.describe());
    QVERIFY2(failed.contains(QStringLiteral("'workers 4' is not key=value")), qPrintable(failed));
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

QTEST_GUILESS_MAIN(tst_HostileShutdown)
#include "tst_hostile_shutdown.moc"
