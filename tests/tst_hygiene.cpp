// Reliability: the real binary's process hygiene, read from /proc after READY. The handled signals are caught by
// the process and blocked in every worker thread and the store thread (never in the main thread, where the
// bridge wants them); SIGPIPE is ignored; a child started by the app (--pre-stop) inherits none of that — no
// blocked mask, no ignored SIGPIPE, not one of the bridge's sockets, not the state file.
#include "quiesceprocess.h"
#include "torturesupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>

#include <unistd.h>

using namespace std::chrono_literals;
using namespace Torture;

namespace {

const QList<int> kHandled {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

quint64 bit(int signo)
{
    return quint64(1) << (signo - 1);
}

quint64 handledMask()
{
    quint64 mask = 0;
    for (int signo : kHandled)
        mask |= bit(signo);
    return mask;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A "SigBlk:\t0000000000010000" style field of a /proc status text; ~0 when missing.
quint64 maskField(const QByteArray &status, const char *name)
{
    const QList<QByteArray> lines = status.split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith(QByteArray(QByteArray(name) + ':'))) {
            bool ok = false;
            const quint64 value = line.mid(qsizetype(qstrlen(name)) + 1).trimmed().toULongLong(&ok, 16);
            return ok ? value : ~quint64(0);
        }
    }
    return ~quint64(0);
}

QString hex(quint64 value)
{
    return QStringLiteral("0x%1").arg(value, 16, 16, QLatin1Char('0'));
}

struct Task
{
    QString tid;
    QString comm;
    quint64 blocked = 0;
};

QList<Task> tasks(qint64 pid)
{
    QList<Task> result;
    const QString dir = QStringLiteral("/proc/%1/task").arg(pid);
    const QStringList tids = QDir(dir).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &tid : tids) {
        Task t;
        t.tid = tid;
        t.comm = QString::fromLocal8Bit(readAll(QStringLiteral("%1/%2/comm").arg(dir, tid)).trimmed());
        t.blocked = maskField(readAll(QStringLiteral("%1/%2/status").arg(dir, tid)), "SigBlk");
        result << t;
    }
    return result;
}

QString describeTasks(const QList<Task> &list)
{
    QStringList text;
    for (const Task &t : list)
        text << QStringLiteral("%1 '%2' SigBlk=%3").arg(t.tid, t.comm, hex(t.blocked));
    return text.join(QStringLiteral("; "));
}

// Empty when the store thread and exactly \a workers worker threads exist and all block the handled signals.
QString threadProblem(qint64 pid, int workers)
{
    const QList<Task> list = tasks(pid);
    int seenWorkers = 0;
    int seenStore = 0;
    for (const Task &t : list) {
        const bool worker = t.comm.startsWith(QLatin1StringView("quiesce-worker-"));
        const bool store = t.comm == QLatin1StringView("quiesce-store");
        seenWorkers += worker ? 1 : 0;
        seenStore += store ? 1 : 0;
        if ((worker || store) && (t.blocked & handledMask()) != handledMask())
            return QStringLiteral("thread %1 does not block the handled signals: %2").arg(t.comm, describeTasks(list));
        if (t.tid == QString::number(pid) && (t.blocked & handledMask()) != 0)
            return QStringLiteral("the main thread blocks handled signals: %1").arg(describeTasks(list));
    }
    if (seenWorkers != workers || seenStore != 1)
        return QStringLiteral("%1 worker and %2 store threads: %3")
            .arg(seenWorkers)
            .arg(seenStore)
            .arg(describeTasks(list));
    return {};
}

// The inodes of every socket the process has open ("socket:[1234]").
QSet<QString> socketInodes(qint64 pid)
{
    QSet<QString> inodes;
    const QString dir = QStringLiteral("/proc/%1/fd").arg(pid);
    const QStringList fds = QDir(dir).entryList(QDir::System | QDir::NoDotAndDotDot);
    static const QRegularExpression socket(QStringLiteral("^socket:\\[(\\d+)\\]$"));
    for (const QString &fd : fds) {
        // The raw link text: QFile::symLinkTarget() would turn "socket:[1234]" into a path.
        char buffer[256];
        const QByteArray link = QFile::encodeName(QStringLiteral("%1/%2").arg(dir, fd));
        const ssize_t n = ::readlink(link.constData(), buffer, sizeof buffer - 1);
        if (n <= 0)
            continue;
        const QRegularExpressionMatch m = socket.match(QString::fromLatin1(buffer, int(n)));
        if (m.hasMatch())
            inodes.insert(m.captured(1));
    }
    return inodes;
}

} // namespace

class tst_Hygiene : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void signalStateThreadsAndChildren();
};

void tst_Hygiene::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_Hygiene::signalStateThreadsAndChildren()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // The child the app starts is "/bin/sh -c CMD"; exec makes perl that very process (a grandchild would show the
    // shell's doing, not the app's). It prints its own signal state and descriptors to the app's stdout, which the
    // pre-stop phase forwards with its prefix: "PRE-STOP CHILD SigBlk: ..." and "PRE-STOP CHILDFD 3 -> socket:[1234]".
    const QString preStop = QStringLiteral(
        "exec perl -e 'open(my $s, \"<\", \"/proc/self/status\"); while (<$s>) { print \"CHILD $_\" if /^Sig/ } "
        "close $s; opendir(my $d, \"/proc/self/fd\"); for (readdir $d) { next if /^\\./; "
        "my $l = readlink(\"/proc/self/fd/$_\"); print \"CHILDFD $_ -> $l\\n\" if defined $l }'");
    const int workers = 3;
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"),
                      dir.filePath(QStringLiteral("state.sqlite")), QStringLiteral("--rate"), QStringLiteral("0"),
                      QStringLiteral("--workers"), QString::number(workers), QStringLiteral("--pre-stop"), preStop});
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    const qint64 pid = q.pid();

    // The process catches the handled signals and ignores SIGPIPE.
    const QByteArray status = readAll(QStringLiteral("/proc/%1/status").arg(pid));
    const quint64 caught = maskField(status, "SigCgt");
    QVERIFY2((caught & handledMask()) == handledMask(), qPrintable(hex(caught)));
    QVERIFY2(maskField(status, "SigIgn") & bit(SIGPIPE), qPrintable(hex(maskField(status, "SigIgn"))));
    QCOMPARE(maskField(status, "SigIgn") & handledMask(), quint64(0));

    // Every worker thread and the store thread block them, the main thread does not. A thread blocks them first
    // thing once it runs, which may be just after READY: wait for it (bounded), never sleep.
    QTRY_VERIFY2_WITH_TIMEOUT(threadProblem(pid, workers).isEmpty(), qPrintable(threadProblem(pid, workers)), 10000);

    // The bridge's socketpair, as the parent holds it.
    const QSet<QString> parentSockets = socketInodes(pid);
    QVERIFY2(parentSockets.size() >= 2,
             qPrintable(QStringList(parentSockets.cbegin(), parentSockets.cend()).join(QLatin1Char(' '))));

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=pre-stop end outcome=ok")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally() && q.exitCode() == 0, q.describe());

    // The child: nothing blocked, SIGPIPE (and every handled signal) at its default, no inherited socket or state
    // file, no descriptor of the event loop.
    QByteArray child;
    QStringList fdLines;
    const QString prefix = QStringLiteral("PRE-STOP ");
    for (const QString &prefixed : q.lines()) {
        if (!prefixed.startsWith(prefix))
            continue;
        const QString line = prefixed.mid(prefix.size());
        if (line.startsWith(QStringLiteral("CHILD ")))
            child += line.mid(6).toLatin1() + '\n';
        else if (line.startsWith(QStringLiteral("CHILDFD ")))
            fdLines << line.mid(8);
    }
    QVERIFY2(!child.isEmpty(), "the --pre-stop command did not run");
    QCOMPARE(hex(maskField(child, "SigBlk")), hex(0));
    QCOMPARE(hex(maskField(child, "SigIgn") & (bit(SIGPIPE) | handledMask())), hex(0));
    const QString fdText = fdLines.join(QLatin1Char('\n'));
    static const QRegularExpression entry(QStringLiteral("^(\\d+) -> (.*)$"), QRegularExpression::MultilineOption);
    int entries = 0;
    for (auto it = entry.globalMatch(fdText); it.hasNext();) {
        const QString target = it.next().captured(2).trimmed();
        ++entries;
        // What the app opened itself must stay with it: the bridge's sockets, the event loop's eventfds, the
        // state file and its side files. (Descriptors the test runner itself passed down may show up; they are
        // not the app's.)
        for (const QString &inode : parentSockets)
            QVERIFY2(target != QStringLiteral("socket:[%1]").arg(inode),
                     qPrintable(QStringLiteral("the child inherited the parent's socket %1\n%2").arg(inode, fdText)));
        QVERIFY2(!target.startsWith(QStringLiteral("anon_inode:")), qPrintable(fdText));
        QVERIFY2(!target.contains(QStringLiteral("state.sqlite")), qPrintable(fdText));
    }
    QVERIFY2(entries >= 3, qPrintable(fdText));
}

QTEST_GUILESS_MAIN(tst_Hygiene)
#include "tst_hygiene.moc"
