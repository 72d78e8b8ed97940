// End-to-end: resource limits set by a hostile environment are errors with one line and a documented exit code,
// never a crash (SIGXFSZ, GLib's abort) or a hang. Real rlimits in the child (setrlimit between fork and exec) and
// an LD_PRELOAD shim that fails pthread_create (tests/failthreads.c; root ignores RLIMIT_NPROC).
#include "quiesceprocess.h"
#include "torturesupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>

#include <fcntl.h>
#include <sys/resource.h>

using namespace std::chrono_literals;
using namespace Torture;

namespace {

// Hang guards only: each bounds a wait that ends on a line or an exit long before it.
constexpr auto kExitGuard = 30s;

// Waits for the exit and checks that it was exit code 71 after exactly one stderr line, which it returns (empty
// when anything of that did not hold; the caller's message is q.describe()).
QString oneLineAndExit71(QuiesceProcess &q)
{
    if (!q.waitForExit(kExitGuard) || !q.exitedNormally() || q.exitCode() != 71)
        return {};
    const QStringList lines = q.stderrText().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    return lines.size() == 1 ? lines.constFirst() : QString();
}

} // namespace

class tst_HostileLimits : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void fileSizeLimitTakesFullDiskPath();
    void threadCreationFailsBeforeReady_data();
    void threadCreationFailsBeforeReady();
    void threadCreationFailsAtShutdown_data();
    void threadCreationFailsAtShutdown();
    void threadCreationFailsOnReload();
    void descriptorLimitRefusedAtStart_data();
    void descriptorLimitRefusedAtStart();
    void descriptorLimitRefusesReload();
    void signalHandlersFailExit71();
    void childrenGetTheOriginalDescriptorLimit();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QStringList args(const QStringList &extra) const;
    bool preloadFailThreads(QuiesceProcess &q);
    QString armFailThreadsOnTrigger(QuiesceProcess &q);
    int descriptorsNeeded(int workers);
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_HostileLimits::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_HostileLimits::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QStringList tst_HostileLimits::args(const QStringList &extra) const
{
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"), statePath()} + extra;
}

// The shim fails every pthread_create once the returned file exists: the test creates it when the moment comes.
QString tst_HostileLimits::armFailThreadsOnTrigger(QuiesceProcess &q)
{
    const QString trigger = m_dir->filePath(QStringLiteral("no-more-threads"));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAILTHREADS_TRIGGER"), trigger);
    return trigger;
}

bool tst_HostileLimits::preloadFailThreads(QuiesceProcess &q)
{
    const QString shim = qEnvironmentVariable("QUIESCE_FAILTHREADS");
    if (shim.isEmpty() || !QFileInfo::exists(shim))
        return false;
    // Under ASan the sanitizer runtime has to be preloaded first.
    const QString asan = asanRuntime();
    q.setEnvironmentValue(QStringLiteral("LD_PRELOAD"),
                          asan.isEmpty() ? shim : QString(asan + QLatin1Char(':') + shim));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAILTHREADS_LOG"),
                          m_dir->filePath(QStringLiteral("failthreads.log")));
    return true;
}

// 8. `ulimit -f`: a journal that outgrows it fails its writes with EFBIG (SIGXFSZ is ignored), which takes the
//    full-disk path: retried while running, the save fails with 74; the file stays intact and keeps every request
//    that was ever printed as accepted.
void tst_HostileLimits::fileSizeLimitTakesFullDiskPath()
{
    QuiesceProcess q(
        args({QStringLiteral("--rate"), QStringLiteral("300"), QStringLiteral("--workers"), QStringLiteral("2"),
              QStringLiteral("--work-ms"), QStringLiteral("1-5"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    // Room for the start (a fresh journal: a few pages), not for a few seconds of requests.
    const quint64 limit = 200 * 1024;
    q.setChildRlimit(RLIMIT_FSIZE, limit, limit);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(!q.waitForLine(QStringLiteral("STATE write failed, retrying: ")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(kExitGuard), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe()); // not killed by SIGXFSZ (153)
    // The full-disk path: the save fails with 74 — unless stop-intake discarded the failing batch's accepts (never
    // acknowledged) and what is left fits under the limit, in which case the save succeeds and says so with 0.
    const bool saveFailed = q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=failed")) >= 0;
    QVERIFY2(saveFailed || q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=ok")) >= 0, q.describe());
    QCOMPARE(q.exitCode(), saveFailed ? 74 : 0);

    QCOMPARE(integrityProblem(statePath()), QString());
    QString error;
    const QJsonObject state = inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QSet<quint64> kept = stateIds(state, "pending") + stateIds(state, "in_progress") + stateIds(state, "done");
    const QSet<quint64> accepted = toSet(idsWithPrefix(q.lines(), QStringLiteral("accepted id=")));
    QVERIFY2(!accepted.isEmpty(), q.describe());
    QVERIFY2(accepted - kept == QSet<quint64>(), qPrintable(describeIds(accepted - kept)));
}

// 6. A thread that cannot be created before READY (the parked watchdog, a worker, the store thread — the shim
//    fails the N-th pthread_create): one line, exit 71, no hang, the state file never created.
void tst_HostileLimits::threadCreationFailsBeforeReady_data()
{
    QTest::addColumn<int>("after");
    for (int after = 0; after < 4; ++after)
        QTest::addRow("after %d threads", after) << after;
}

void tst_HostileLimits::threadCreationFailsBeforeReady()
{
    QFETCH(int, after);
    QuiesceProcess q(
        args({QStringLiteral("--rate"), QStringLiteral("10"), QStringLiteral("--workers"), QStringLiteral("2")}));
    const DumpOnFailure dump(q);
    if (!preloadFailThreads(q))
        QSKIP("QUIESCE_FAILTHREADS (the LD_PRELOAD shim) is not set: run through ctest");
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAILTHREADS_AFTER"), QString::number(after));
    QVERIFY(q.start());
    const QString error = oneLineAndExit71(q);
    QVERIFY2(error.startsWith(QLatin1StringView("quiesce: ")) && error.contains(QLatin1StringView("thread")),
             q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("READY")) < 0, q.describe());
    QVERIFY2(QFileInfo::exists(m_dir->filePath(QStringLiteral("failthreads.log"))), "the shim failed no call");
    QVERIFY2(!QFileInfo::exists(statePath()), "the state file was touched");
}

// 6. Threads cannot be created any more once the process runs (a pids limit reached): the stop creates none, so
//    it completes (0), and a stop that hangs still ends at the hard deadline through the watchdog (70) — never
//    "SHUTDOWN done exit=0" and then 70 a minute later.
void tst_HostileLimits::threadCreationFailsAtShutdown_data()
{
    QTest::addColumn<bool>("hang");
    QTest::newRow("stop completes") << false;
    QTest::newRow("hung worker") << true;
}

void tst_HostileLimits::threadCreationFailsAtShutdown()
{
    QFETCH(bool, hang);
    QStringList extra {QStringLiteral("--rate"),
                       QStringLiteral("0"),
                       QStringLiteral("--burst"),
                       QStringLiteral("5"),
                       QStringLiteral("--workers"),
                       QStringLiteral("2"),
                       QStringLiteral("--work-ms"),
                       QStringLiteral("1-5"),
                       QStringLiteral("--log-requests"),
                       QStringLiteral("--drain-timeout"),
                       QStringLiteral("1s"),
                       QStringLiteral("--hard-timeout"),
                       QStringLiteral("3s")};
    if (hang)
        extra << QStringLiteral("--simulate-hang") << QStringLiteral("1");
    QuiesceProcess q(args(extra));
    const DumpOnFailure dump(q);
    if (!preloadFailThreads(q))
        QSKIP("QUIESCE_FAILTHREADS (the LD_PRELOAD shim) is not set: run through ctest");
    const QString trigger = armFailThreadsOnTrigger(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    // Request 1 hangs (if asked to); another one done means the workers run.
    QVERIFY2(!q.waitForLine(QRegularExpression(QStringLiteral("^done id=[2-5]$"))).isEmpty(), q.describe());
    QVERIFY(writeBytes(trigger, "armed\n")); // every pthread_create fails from now on
    QVERIFY(q.sendSignal(SIGTERM));
    // A hang guard well below the 60 s that the stop-threads budget adds beyond the hard deadline.
    QVERIFY2(q.waitForExit(20s), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    if (hang) {
        QCOMPARE(q.exitCode(), 70);
        QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN watchdog: hard deadline of 3000 ms passed")) >= 0, q.describe());
        QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN done")) < 0, q.describe());
    } else {
        QCOMPARE(q.exitCode(), 0);
        QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN done exit=0")) >= 0, q.describe());
    }
    QVERIFY2(!q.stderrText().contains(QLatin1StringView("watchdog could not start")), q.describe());
}

// 6. After READY only a reload creates threads: one the system refuses leaves the workers that exist running,
//    says so in one CONFIG line, and the process stops in order later (a reload never stops a running service).
void tst_HostileLimits::threadCreationFailsOnReload()
{
    const QString config = m_dir->filePath(QStringLiteral("quiesce.ini"));
    QVERIFY(writeBytes(config, "workers=2\n"));
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("100"), QStringLiteral("--work-ms"),
                           QStringLiteral("1-5"), QStringLiteral("--config"), config}));
    const DumpOnFailure dump(q);
    if (!preloadFailThreads(q))
        QSKIP("QUIESCE_FAILTHREADS (the LD_PRELOAD shim) is not set: run through ctest");
    const QString trigger = armFailThreadsOnTrigger(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());

    QVERIFY(writeBytes(trigger, "armed\n"));
    QVERIFY(writeBytes(config, "workers=4\n"));
    QVERIFY(q.sendSignal(SIGHUP));
    const QString refused = q.waitForLine(QStringLiteral("CONFIG workers 2 -> 4 refused, running 2: "));
    QVERIFY2(refused.contains(QLatin1StringView("cannot start thread quiesce-worker-")), q.describe());
    QVERIFY(q.sendSignal(SIGUSR1));
    QVERIFY2(q.waitForLine(QStringLiteral("STATUS ")).contains(QLatin1StringView(" workers=2 ")), q.describe());

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(kExitGuard), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);
    QCOMPARE(q.stderrText(), QString()); // Qt's own thread warning is not a second line
}

// The descriptor need the binary reports for \a workers: run it with a limit too small for anything and read the
// line (the first check counts one worker, before the application object exists; the second, after parsing, the
// given count). -1 if no such line came.
int tst_HostileLimits::descriptorsNeeded(int workers)
{
    static const QRegularExpression needs(QStringLiteral("needs about (\\d+) descriptors, the limit is (\\d+)"));
    quint64 limit = 12;
    for (int attempt = 0; attempt < 2; ++attempt) {
        QuiesceProcess q(args(
            {QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--workers"), QString::number(workers)}));
        q.setChildRlimit(RLIMIT_NOFILE, limit, limit);
        if (!q.start() || !q.waitForExit(kExitGuard) || q.exitCode() != 71)
            return -1;
        const QRegularExpressionMatch m = needs.match(q.stderrText());
        if (!m.hasMatch())
            return -1;
        if (q.stderrText().contains(QStringLiteral("--workers %1 needs").arg(workers)))
            return m.captured(1).toInt();
        limit = m.captured(1).toULongLong(); // enough for the start with one worker: now the count is checked
    }
    return -1;
}

// 9 and 14. Too few descriptors is one line and 71 before anything is opened, never GLib's abort (SIGTRAP, 133)
//    when a thread cannot get its wake-up descriptor.
void tst_HostileLimits::descriptorLimitRefusedAtStart_data()
{
    QTest::addColumn<int>("limit");
    QTest::addColumn<int>("workers");
    QTest::newRow("ulimit -n 12, 2 workers") << 12 << 2;
    QTest::newRow("ulimit -n 8") << 8 << 1;
}

void tst_HostileLimits::descriptorLimitRefusedAtStart()
{
    QFETCH(int, limit);
    QFETCH(int, workers);
    QuiesceProcess q(
        args({QStringLiteral("--rate"), QStringLiteral("300"), QStringLiteral("--workers"), QString::number(workers)}));
    const DumpOnFailure dump(q);
    q.setChildRlimit(RLIMIT_NOFILE, quint64(limit), quint64(limit));
    QVERIFY(q.start());
    // Not GLib's abort (SIGTRAP, 133), not three lines and 73.
    const QRegularExpression needs(
        QStringLiteral("^quiesce: .* needs about \\d+ descriptors, the limit is %1 \\(ulimit -n\\)$").arg(limit));
    QVERIFY2(needs.match(oneLineAndExit71(q)).hasMatch(), q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("READY")) < 0, q.describe());
    QVERIFY2(!QFileInfo::exists(statePath()), "the state file was touched");
}

// 9. A reload that raises the worker count beyond what the descriptor limit carries is refused with one CONFIG
//    line; the process keeps running with the workers it has and stops in order.
void tst_HostileLimits::descriptorLimitRefusesReload()
{
    const int needFor8 = descriptorsNeeded(8);
    QVERIFY2(needFor8 > 0, "no descriptor need reported for 8 workers");
    // Fits 2 workers (each needs at least one descriptor), not 8.
    const quint64 limit = quint64(needFor8 - 1);
    const QString config = m_dir->filePath(QStringLiteral("quiesce.ini"));
    QVERIFY(writeBytes(config, "workers=2\n"));
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("300"), QStringLiteral("--work-ms"),
                           QStringLiteral("1-5"), QStringLiteral("--config"), config}));
    const DumpOnFailure dump(q);
    q.setChildRlimit(RLIMIT_NOFILE, limit, limit);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());

    QVERIFY(writeBytes(config, "workers=8\n"));
    QVERIFY(q.sendSignal(SIGHUP));
    const QString refused = q.waitForLine(QStringLiteral("CONFIG workers 2 -> 8 refused, keeping 2: "));
    QVERIFY2(!refused.isEmpty(), q.describe());
    QVERIFY2(refused.endsWith(QStringLiteral("the limit is %1 (ulimit -n)").arg(limit)), q.describe());
    QVERIFY(q.sendSignal(SIGUSR1));
    const QString status = q.waitForLine(QStringLiteral("STATUS "));
    QVERIFY2(status.contains(QLatin1StringView(" workers=2 ")), q.describe());

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(kExitGuard), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe()); // not GLib's abort
    QCOMPARE(q.exitCode(), 0);
    QCOMPARE(q.stderrText(), QString());
}

// The descriptor limit that leaves a child exactly one free descriptor once stdin, stdout and stderr are open and
// what this process passes on (descriptors without FD_CLOEXEC, e.g. from the test runner) is inherited.
static quint64 limitWithOneFreeDescriptor()
{
    QList<int> inherited;
    const QStringList fds = QDir(QStringLiteral("/proc/self/fd"))
                                .entryList(QDir::AllEntries | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot);
    for (const QString &name : fds) {
        const int fd = name.toInt();
        const int flags = ::fcntl(fd, F_GETFD);
        if (fd > 2 && flags != -1 && (flags & FD_CLOEXEC) == 0)
            inherited << fd;
    }
    for (quint64 limit = 4;; ++limit) {
        const auto below =
            std::count_if(inherited.cbegin(), inherited.cend(), [limit](int fd) { return quint64(fd) < limit; });
        if (limit - 3 - quint64(below) == 1)
            return limit;
    }
}

// The signal bridge cannot be installed (its socketpair needs two descriptors; the limit leaves one, enough for
// the dynamic loader, which opens one library at a time): one line, exit 71.
void tst_HostileLimits::signalHandlersFailExit71()
{
    if (!asanRuntime().isEmpty())
        QSKIP("under ASan + UBSan: UBSan's vptr check probes memory through a pipe of its own, which this limit "
              "(one free descriptor) refuses, and it then reports a false 'invalid vptr'");
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0")}));
    const DumpOnFailure dump(q);
    const quint64 limit = limitWithOneFreeDescriptor();
    q.setChildRlimit(RLIMIT_NOFILE, limit, limit);
    QVERIFY(q.start());
    QVERIFY2(oneLineAndExit71(q).startsWith(QLatin1StringView("quiesce: cannot install the signal handlers: ")),
             q.describe());
}

// The soft descriptor limit is raised to the hard one for us, never for our children (select() users break above
// FD_SETSIZE): --pre-stop's shell sees what quiesce was started with.
void tst_HostileLimits::childrenGetTheOriginalDescriptorLimit()
{
    rlimit own {};
    QCOMPARE(::getrlimit(RLIMIT_NOFILE, &own), 0);
    if (own.rlim_max != RLIM_INFINITY && own.rlim_max <= 256)
        QSKIP("the hard descriptor limit leaves no room between a soft and a raised limit");
    const quint64 hard = own.rlim_max == RLIM_INFINITY ? 4096 : std::min<quint64>(own.rlim_max, 4096);
    const quint64 soft = 128;
    const QString seen = m_dir->filePath(QStringLiteral("limits.txt"));
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--pre-stop"),
                           QStringLiteral("ulimit -Sn > '%1'; ulimit -Hn >> '%1'").arg(seen)}));
    const DumpOnFailure dump(q);
    q.setChildRlimit(RLIMIT_NOFILE, soft, hard);
    QVERIFY(q.start());
    const QString ready = q.waitForLine(QStringLiteral("READY pid="));
    QVERIFY2(!ready.isEmpty(), q.describe());
    // quiesce itself runs with the hard limit ...
    QFile limits(QStringLiteral("/proc/%1/limits").arg(q.pid()));
    QVERIFY(limits.open(QIODevice::ReadOnly));
    const QString text = QString::fromLatin1(limits.readAll());
    QVERIFY2(QRegularExpression(QStringLiteral("Max open files\\s+%1\\s+%1\\s").arg(hard)).match(text).hasMatch(),
             qPrintable(text));
    // ... its children get the original back.
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(kExitGuard), q.describe());
    QCOMPARE(q.exitCode(), 0);
    QFile file(seen);
    QVERIFY2(file.open(QIODevice::ReadOnly), q.describe());
    QCOMPARE(QString::fromLatin1(file.readAll()), QStringLiteral("%1\n%2\n").arg(soft).arg(hard));
}

QTEST_GUILESS_MAIN(tst_HostileLimits)
#include "tst_hostile_limits.moc"
