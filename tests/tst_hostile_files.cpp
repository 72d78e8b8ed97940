// End-to-end: the state file in a hostile environment. The single-instance lock after a restart in a fresh PID
// namespace (PID 1 again) and through a symlink; FIFOs where the journal's side files belong; the journal deleted or
// replaced while running. The real binary, real namespaces, real FIFOs and links.
#include "filesupport.h"
#include "quiesceprocess.h"
#include "torturesupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonObject>
#include <QtCore/QRegularExpression>
#include <QtCore/QScopeGuard>
#include <QtCore/QSet>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using TestFiles::fileType;
using TestFiles::writeBytes;

namespace {

// The processes whose parent is \a parent (from /proc/<pid>/stat: "pid (comm) state ppid ...").
QList<qint64> childrenOf(qint64 parent)
{
    QList<qint64> children;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool numeric = false;
        const qint64 pid = entry.toLongLong(&numeric);
        if (!numeric)
            continue;
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray text = stat.readAll();
        const qsizetype close = text.lastIndexOf(')');
        if (close < 0)
            continue;
        const QList<QByteArray> fields = text.mid(close + 2).split(' ');
        if (fields.size() > 1 && fields.at(1).toLongLong() == parent)
            children.append(pid);
    }
    return children;
}

// Every id an inspect --ids object lists, whatever its state.
QSet<quint64> idsInJournal(const QJsonObject &state)
{
    return Torture::stateIds(state, "pending") + Torture::stateIds(state, "in_progress")
        + Torture::stateIds(state, "done");
}

} // namespace

class tst_HostileFiles : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void restartAsPid1InAFreshPidNamespace();
    void symlinkedStateIsOneInstance();
    void restartThroughASymlinkAfterKill9();
    void stateLostWhileRunningExits74_data();
    void stateLostWhileRunningExits74();
    void fifoNextToTheStateIsRefused_data();
    void fifoNextToTheStateIsRefused();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QStringList runArgs(const QString &state) const;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_HostileFiles::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_HostileFiles::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QStringList tst_HostileFiles::runArgs(const QString &state) const
{
    return {QStringLiteral("--headless"), QStringLiteral("--state"),       state,
            QStringLiteral("--rate"),     QStringLiteral("200"),           QStringLiteral("--work-ms"),
            QStringLiteral("1-20"),       QStringLiteral("--log-requests")};
}

// A container restarted after a crash: quiesce is PID 1 again, like the process that left the lock file. The lock
// is free (the kernel released the flock when that process died), so the restart must start, not see "process 1"
// alive and exit 73.
void tst_HostileFiles::restartAsPid1InAFreshPidNamespace()
{
    const QString unshare = QStandardPaths::findExecutable(QStringLiteral("unshare"));
    if (unshare.isEmpty())
        QSKIP("unshare (util-linux) is not installed");
    QSet<quint64> accepted;
    for (int round = 0; round < 2; ++round) {
        QuiesceProcess q(runArgs(statePath()));
        // --kill-child: should the test die, the namespace dies with it.
        q.process().setProgram(unshare);
        q.process().setArguments(QStringList {QStringLiteral("--pid"), QStringLiteral("--fork"),
                                              QStringLiteral("--mount-proc"), QStringLiteral("--kill-child"),
                                              QuiesceProcess::binary()}
                                 + runArgs(statePath()));
        QVERIFY(q.start());
        const QString ready = q.waitForLine(QStringLiteral("READY"));
        if (ready.isEmpty() && round == 0 && q.waitForExit(10s)
            && (q.stderrText().contains(QLatin1StringView("Operation not permitted"))
                || q.stderrText().contains(QLatin1StringView("Permission denied")))) {
            QSKIP(qPrintable(QStringLiteral("cannot make a PID namespace here: %1").arg(q.stderrText().trimmed())));
        }
        QVERIFY2(!ready.isEmpty(), q.describe());
        QCOMPARE(ready, QStringLiteral("READY pid=1")); // really PID 1, as the previous round was
        const QList<qint64> children = childrenOf(q.pid());
        QCOMPARE(children.size(), 1);
        const qint64 quiesce = children.first();

        if (round == 0) {
            for (int i = 0; i < 20; ++i)
                QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=")).isEmpty(), q.describe());
            // SIGKILL the namespace's init: the whole namespace goes, the lock file stays behind naming pid 1.
            QCOMPARE(::kill(pid_t(quiesce), SIGKILL), 0);
            QVERIFY2(q.waitForExit(), q.describe());
            QVERIFY(QFileInfo::exists(statePath() + QStringLiteral(".lock")));
            accepted = Torture::toSet(Torture::idsWithPrefix(q.lines(), QStringLiteral("accepted id=")));
        } else {
            QVERIFY2(q.indexOf(QStringLiteral("RECOVERY previous run (pid 1) ended uncleanly")) >= 0, q.describe());
            // A handler is installed, so the namespace's init gets SIGTERM from outside; unshare passes its exit on.
            QCOMPARE(::kill(pid_t(quiesce), SIGTERM), 0);
            QVERIFY2(q.waitForExit(), q.describe());
            QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
        }
    }
    QVERIFY(accepted.size() >= 20);
    QString error;
    const QJsonObject state = Torture::inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QSet<quint64> missing = accepted - idsInJournal(state);
    QVERIFY2(missing.isEmpty(), qPrintable(Torture::describeIds(missing) + QStringLiteral(" accepted but missing")));
}

// One instance on the real path, a second one through a symlink to it: one journal, one instance.
void tst_HostileFiles::symlinkedStateIsOneInstance()
{
    const QString link = m_dir->filePath(QStringLiteral("link.sqlite"));
    QVERIFY(QFile::link(QStringLiteral("state.sqlite"), link));
    QuiesceProcess first(runArgs(statePath()));
    QVERIFY(first.start());
    QVERIFY2(!first.waitForLine(QStringLiteral("READY")).isEmpty(), first.describe());

    QuiesceProcess second(runArgs(link));
    QVERIFY(second.start());
    QVERIFY2(second.waitForExit() && second.exitedNormally(), second.describe());
    QCOMPARE(second.exitCode(), 73);
    const QString err = second.stderrText().trimmed();
    QVERIFY2(!err.contains(QLatin1Char('\n')), second.describe());
    QVERIFY2(err.startsWith(QLatin1StringView("quiesce: ")), second.describe());
    QVERIFY2(err.contains(QStringLiteral("%1 is in use (locked by process %2)")
                              .arg(QFileInfo(statePath()).canonicalFilePath())
                              .arg(first.pid())),
             second.describe());
    QCOMPARE(second.indexOf(QStringLiteral("READY")), -1);

    QVERIFY(first.sendSignal(SIGTERM));
    QVERIFY2(first.waitForExit() && first.exitedNormally() && first.exitCode() == 0, first.describe());
    QCOMPARE(first.indexOf(QStringLiteral("RECOVERY")), -1); // nobody "recovered" its in-progress rows
}

// kill -9 of an instance started through a link to a fresh file (everything it committed is still in the -wal next
// to the real file); the restart through the link must find all of it.
void tst_HostileFiles::restartThroughASymlinkAfterKill9()
{
    QVERIFY(QDir(m_dir->path()).mkdir(QStringLiteral("data")));
    const QString real = m_dir->filePath(QStringLiteral("data/state.sqlite"));
    QVERIFY(writeBytes(real, QByteArray())); // a fresh (0-byte) journal
    const QString link = m_dir->filePath(QStringLiteral("state-link.sqlite"));
    QVERIFY(QFile::link(QStringLiteral("data/state.sqlite"), link));

    QuiesceProcess crashed(runArgs(link));
    QVERIFY(crashed.start());
    QVERIFY2(!crashed.waitForLine(QStringLiteral("READY")).isEmpty(), crashed.describe());
    for (int i = 0; i < 20; ++i)
        QVERIFY2(!crashed.waitForLine(QStringLiteral("accepted id=")).isEmpty(), crashed.describe());
    const qint64 crashedPid = crashed.pid();
    QVERIFY(crashed.sendSignal(SIGKILL));
    QVERIFY(crashed.waitForExit());
    const QSet<quint64> accepted =
        Torture::toSet(Torture::idsWithPrefix(crashed.lines(), QStringLiteral("accepted id=")));

    QuiesceProcess restarted(runArgs(link));
    QVERIFY(restarted.start());
    QVERIFY2(!restarted.waitForLine(QStringLiteral("READY")).isEmpty(), restarted.describe());
    QVERIFY2(restarted.indexOf(QRegularExpression(
                 QStringLiteral("^RECOVERY previous run \\(pid %1\\) ended uncleanly").arg(crashedPid)))
                 >= 0,
             restarted.describe());
    QVERIFY(restarted.sendSignal(SIGTERM));
    QVERIFY2(restarted.waitForExit() && restarted.exitedNormally() && restarted.exitCode() == 0, restarted.describe());

    // inspect through the link shows the real journal, every accepted id included.
    QString error;
    const QJsonObject state = Torture::inspect(link, true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QCOMPARE(state.value(QStringLiteral("path")).toString(), QFileInfo(real).canonicalFilePath());
    const QSet<quint64> missing = accepted - idsInJournal(state);
    QVERIFY2(missing.isEmpty(), qPrintable(Torture::describeIds(missing) + QStringLiteral(" accepted but missing")));
    QCOMPARE(state.value(QStringLiteral("sessions")).toArray().size(), 2);
}

void tst_HostileFiles::stateLostWhileRunningExits74_data()
{
    QTest::addColumn<bool>("replace");
    QTest::newRow("deleted") << false;
    QTest::newRow("replaced (another file renamed over it)") << true;
}

// Saving into an unlinked inode is not "saved": the save phase fails and says why, exit 74.
void tst_HostileFiles::stateLostWhileRunningExits74()
{
    QFETCH(bool, replace);
    const QString other = m_dir->filePath(QStringLiteral("other"));
    QVERIFY(writeBytes(other, "not the journal"));
    const QByteArray otherHash = Torture::sha256(other);

    QuiesceProcess q(runArgs(statePath()));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=")).isEmpty(), q.describe());
    if (replace)
        QCOMPARE(::rename(QFile::encodeName(other).constData(), QFile::encodeName(statePath()).constData()), 0);
    else
        QVERIFY(QFile::remove(statePath()));

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 74);
    const int saveEndAt = q.indexOf(QStringLiteral("SHUTDOWN phase=save end"));
    QVERIFY2(saveEndAt >= 0, q.describe());
    const QString saveEnd = q.lines().at(saveEndAt);
    QVERIFY2(saveEnd.contains(QLatin1StringView("outcome=failed")), q.describe());
    QVERIFY2(saveEnd.contains(QStringLiteral("state file %1 was deleted or replaced while running").arg(statePath())),
             q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN done exit=74")) >= 0, q.describe());
    if (replace)
        QCOMPARE(Torture::sha256(statePath()), otherHash); // the file there now is not ours and was never written
}

void tst_HostileFiles::fifoNextToTheStateIsRefused_data()
{
    QTest::addColumn<QString>("suffix");
    QTest::newRow(".lock") << QStringLiteral(".lock");
    QTest::newRow("-shm") << QStringLiteral("-shm");
    QTest::newRow("-wal") << QStringLiteral("-wal");
}

// A FIFO where the lock file or a side file belongs: refused at once with one line (73), never opened (which would
// block start-up, out of reach of SIGTERM), never deleted.
void tst_HostileFiles::fifoNextToTheStateIsRefused()
{
    QFETCH(QString, suffix);
    {
        QuiesceProcess make({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(),
                             QStringLiteral("--burst"), QStringLiteral("5"), QStringLiteral("--rate"),
                             QStringLiteral("0"), QStringLiteral("--work-ms"), QStringLiteral("1"),
                             QStringLiteral("--exit-when-idle")});
        QVERIFY(make.start());
        QVERIFY2(make.waitForExit() && make.exitedNormally() && make.exitCode() == 0, make.describe());
    }
    const QByteArray before = Torture::sha256(statePath());
    const QString fifo = statePath() + suffix;
    QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
    // Both ends open here: a binary that wrongly opens the FIFO then fails this test rather than hang in open().
    const int peer = ::open(QFile::encodeName(fifo).constData(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    QVERIFY(peer >= 0);
    const auto closePeer = qScopeGuard([peer] { ::close(peer); });

    QuiesceProcess q(runArgs(statePath()));
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(), q.describe()); // promptly: the wait is bounded, nothing else is asserted about time
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 73);
    const QString err = q.stderrText().trimmed();
    QVERIFY2(!err.contains(QLatin1Char('\n')) && err.startsWith(QLatin1StringView("quiesce: ")), q.describe());
    QVERIFY2(err.contains(QStringLiteral("%1 is a FIFO, not a regular file").arg(fifo)), q.describe());
    QCOMPARE(q.indexOf(QStringLiteral("READY")), -1);

    QCOMPARE(fileType(fifo), mode_t(S_IFIFO));
    char byte = 0;
    QCOMPARE(::read(peer, &byte, 1), ssize_t(-1)); // nothing was written into it
    QCOMPARE(errno, EAGAIN);
    QCOMPARE(Torture::sha256(statePath()), before);
}

QTEST_GUILESS_MAIN(tst_HostileFiles)
#include "tst_hostile_files.moc"
