#include "unixsignalnotifier.h"

#include "procstatus.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QScopeGuard>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

using Quiesce::SignalEvent;
using Quiesce::UnixSignalNotifier;

namespace {

// Raised before QCoreApplication exists (see main() at the bottom): must be delivered once the loop runs.
std::unique_ptr<UnixSignalNotifier> s_early;
int s_earlyRaiseResult = -1;

struct Disposition
{
    void *handler = nullptr;
    int flags = 0;
};

Disposition currentDisposition(int signo)
{
    struct sigaction action;
    ::sigaction(signo, nullptr, &action);
    Disposition d;
    d.flags = action.sa_flags;
    d.handler = (action.sa_flags & SA_SIGINFO) ? reinterpret_cast<void *>(action.sa_sigaction)
                                               : reinterpret_cast<void *>(action.sa_handler);
    return d;
}

using ProcStatus::signalBit;

/* Queues \a signo to this very thread with a siginfo of our making: rt_tgsigqueueinfo lets a process fabricate
   si_pid / si_code for itself (for another process the kernel refuses si_code >= 0), so "sent by pid 4242" and
   "sent by the kernel" (SI_KERNEL: si_pid 0, as for the terminal driver's Ctrl+C) go through the real handler.
   Delivered before the call returns, like raise(). */
bool queueToSelf(int signo, int code, pid_t fakePid)
{
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    info.si_signo = signo;
    info.si_code = code;
    info.si_pid = fakePid;
    info.si_uid = ::getuid();
    return ::syscall(SYS_rt_tgsigqueueinfo, ::getpid(), ::gettid(), signo, &info) == 0;
}

} // namespace

class tst_UnixSignalNotifier : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void earlySignalIsDeliveredOnceTheLoopRuns();
    void deliversEachWatchedSignal_data();
    void deliversEachWatchedSignal();
    void reportsTheSender();
    void mergesDuplicatesOfOneSender_data();
    void mergesDuplicatesOfOneSender();
    void preservesErrnoAcrossTheHandler();
    void refusesUncatchableSignals();
    void floodDoesNotHangAndStillDelivers();
    void twoListenersBothReceive();
    void restoresThePreviousDisposition();
    void socketsAreCloseOnExec();
    void workerThreadBlocksHandledSignals();
    void childProcessGetsCleanSignalState();
    void signalNames();
};

void tst_UnixSignalNotifier::earlySignalIsDeliveredOnceTheLoopRuns()
{
    QCOMPARE(s_earlyRaiseResult, 0);
    QSignalSpy spy(s_early.get(), &UnixSignalNotifier::received);
    QVERIFY(spy.wait(5000));
    const auto event = spy.at(0).at(0).value<SignalEvent>();
    QCOMPARE(event.signo, SIGUSR2);
    QCOMPARE(event.count, quint64(1));
    QCOMPARE(event.senderPid, qint64(::getpid()));
    s_early.reset();
}

void tst_UnixSignalNotifier::deliversEachWatchedSignal_data()
{
    QTest::addColumn<int>("signo");
    QTest::newRow("SIGTERM") << SIGTERM;
    QTest::newRow("SIGINT") << SIGINT;
    QTest::newRow("SIGHUP") << SIGHUP;
    QTest::newRow("SIGUSR1") << SIGUSR1;
    QTest::newRow("SIGUSR2") << SIGUSR2;
    QTest::newRow("SIGQUIT") << SIGQUIT;
}

void tst_UnixSignalNotifier::deliversEachWatchedSignal()
{
    QFETCH(int, signo);
    UnixSignalNotifier notifier;
    QVERIFY2(notifier.watch(signo), qPrintable(notifier.errorString()));
    QSignalSpy spy(&notifier, &UnixSignalNotifier::received);
    QCOMPARE(::kill(::getpid(), signo), 0);
    QVERIFY(spy.wait(5000));
    QCOMPARE(spy.count(), 1);
    const auto event = spy.at(0).at(0).value<SignalEvent>();
    QCOMPARE(event.signo, signo);
    QCOMPARE(event.count, quint64(1));
}

void tst_UnixSignalNotifier::reportsTheSender()
{
#if defined(__SANITIZE_THREAD__)
    QSKIP("TSan: QProcess forks a multi-threaded process, which TSan does not support");
#endif
    UnixSignalNotifier notifier;
    QVERIFY(notifier.watch(SIGUSR1));
    QSignalSpy spy(&notifier, &UnixSignalNotifier::received);

    // A real other process sends it: the event must name that process, not us.
    QProcess sender;
    sender.start(QStringLiteral("/bin/kill"), {QStringLiteral("-USR1"), QString::number(::getpid())});
    QVERIFY(sender.waitForStarted(5000));
    const qint64 senderPid = sender.processId();
    QVERIFY(spy.wait(5000));
    // It may have been reaped already while spy.wait() ran the event loop; waitForFinished() is then false.
    QVERIFY(sender.state() == QProcess::NotRunning || sender.waitForFinished(5000));
    QCOMPARE(sender.exitCode(), 0);
    const auto event = spy.at(0).at(0).value<SignalEvent>();
    QCOMPARE(event.senderPid, senderPid);
    QCOMPARE(event.senderUid, qint64(::getuid()));
}

void tst_UnixSignalNotifier::mergesDuplicatesOfOneSender_data()
{
    QTest::addColumn<int>("signo");
    QTest::addColumn<QList<int>>("senders"); // 0 = the kernel (SI_KERNEL), else a fabricated sender pid
    QTest::addColumn<bool>("windowOn");
    QTest::addColumn<quint64>("distinct");
    QTest::newRow("same sender twice: one") << SIGTERM << QList<int> {1, 1} << true << quint64(1);
    QTest::newRow("same sender thrice: one") << SIGINT << QList<int> {1, 1, 1} << true << quint64(1);
    QTest::newRow("two senders: two") << SIGTERM << QList<int> {1, 2} << true << quint64(2);
    QTest::newRow("A, B, A: two") << SIGTERM << QList<int> {1, 2, 1} << true << quint64(2);
    QTest::newRow("the kernel twice (Ctrl+C, Ctrl+C): two") << SIGINT << QList<int> {0, 0} << true << quint64(2);
    QTest::newRow("window off: two") << SIGTERM << QList<int> {1, 1} << false << quint64(2);
}

void tst_UnixSignalNotifier::mergesDuplicatesOfOneSender()
{
    QFETCH(int, signo);
    QFETCH(QList<int>, senders);
    QFETCH(bool, windowOn);
    QFETCH(quint64, distinct);
    // Fresh fabricated pids per row: the handler remembers the last sender per signal across rows.
    static int s_pidBase = 40000;
    s_pidBase += 10;
    QCOMPARE(UnixSignalNotifier::duplicateWindow(), UnixSignalNotifier::kDuplicateWindow);
    if (!windowOn)
        UnixSignalNotifier::setDuplicateWindow(std::chrono::milliseconds(0));
    auto restore = qScopeGuard([] { UnixSignalNotifier::setDuplicateWindow(UnixSignalNotifier::kDuplicateWindow); });

    UnixSignalNotifier notifier;
    QVERIFY(notifier.watch(signo));
    QSignalSpy spy(&notifier, &UnixSignalNotifier::received);
    for (int sender : std::as_const(senders))
        QVERIFY(queueToSelf(signo, sender == 0 ? SI_KERNEL : SI_QUEUE, sender == 0 ? 0 : s_pidBase + sender));
    auto sum = [&spy](quint64 SignalEvent::*field) {
        quint64 total = 0;
        for (const auto &args : std::as_const(spy))
            total += args.at(0).value<SignalEvent>().*field;
        return total;
    };
    // Every arrival is still counted; the repeats are marked, not hidden.
    QTRY_COMPARE(sum(&SignalEvent::count), quint64(senders.size()));
    quint64 distinctSum = 0;
    for (const auto &args : std::as_const(spy))
        distinctSum += args.at(0).value<SignalEvent>().distinctCount();
    QCOMPARE(distinctSum, distinct);
    QCOMPARE(sum(&SignalEvent::duplicates), quint64(senders.size()) - distinct);
}

void tst_UnixSignalNotifier::preservesErrnoAcrossTheHandler()
{
    UnixSignalNotifier notifier;
    QVERIFY(notifier.watch(SIGUSR1));
    QSignalSpy spy(&notifier, &UnixSignalNotifier::received);
    // raise() runs the handler synchronously in this thread, before raise() returns; the handler calls write(),
    // which sets errno on success paths too in some libcs. errno must be what we left in it.
    errno = ENOTBLK;
    QCOMPARE(::raise(SIGUSR1), 0);
    QCOMPARE(errno, ENOTBLK);
    // And with the socket full (write fails with EAGAIN inside the handler) too.
    for (int i = 0; i < 200000; ++i) {
        errno = EDOM;
        ::raise(SIGUSR1);
        if (errno != EDOM)
            QFAIL(qPrintable(QStringLiteral("errno changed to %1 after raise #%2").arg(errno).arg(i)));
    }
    QVERIFY(spy.wait(5000));
}

void tst_UnixSignalNotifier::refusesUncatchableSignals()
{
    UnixSignalNotifier notifier;
    QVERIFY(!notifier.watch(SIGKILL));
    QVERIFY(notifier.errorString().contains(QStringLiteral("cannot be caught")));
    QVERIFY(!notifier.watch(SIGSTOP));
    QVERIFY(!notifier.watch(0));
    QVERIFY(!notifier.watch(NSIG));
    QVERIFY(notifier.watchedSignals().isEmpty());
}

void tst_UnixSignalNotifier::floodDoesNotHangAndStillDelivers()
{
    UnixSignalNotifier notifier;
    QVERIFY(notifier.watch({SIGUSR1, SIGUSR2}));
    QSignalSpy spy(&notifier, &UnixSignalNotifier::received);
    // 100,000 signals with no event loop running: the socket fills up long before the end, so the handler's
    // write() must fail with EAGAIN instead of blocking, or this loop never ends.
    constexpr int flood = 100000;
    for (int i = 0; i < flood; ++i)
        QCOMPARE(::raise(SIGUSR1), 0);
    auto delivered = [&spy] {
        quint64 sum = 0;
        for (const auto &args : std::as_const(spy)) {
            const auto event = args.at(0).value<SignalEvent>();
            if (event.signo == SIGUSR1)
                sum += event.count;
        }
        return sum;
    };
    // raise() delivers synchronously, so no two coalesce in the kernel: every one is counted, none twice.
    QTRY_COMPARE(delivered(), quint64(flood));
    // The bridge still works afterwards.
    spy.clear();
    QCOMPARE(::raise(SIGUSR2), 0);
    QVERIFY(spy.wait(5000));
    QCOMPARE(spy.at(0).at(0).value<SignalEvent>().signo, SIGUSR2);
}

void tst_UnixSignalNotifier::twoListenersBothReceive()
{
    UnixSignalNotifier first;
    UnixSignalNotifier second;
    UnixSignalNotifier other;
    QVERIFY(first.watch(SIGUSR1));
    QVERIFY(second.watch(SIGUSR1));
    QVERIFY(other.watch(SIGUSR2));
    QSignalSpy firstSpy(&first, &UnixSignalNotifier::received);
    QSignalSpy secondSpy(&second, &UnixSignalNotifier::received);
    QSignalSpy otherSpy(&other, &UnixSignalNotifier::received);
    QCOMPARE(::kill(::getpid(), SIGUSR1), 0);
    QVERIFY(firstSpy.wait(5000));
    QTRY_COMPARE(secondSpy.count(), 1);
    QCOMPARE(otherSpy.count(), 0);

    // Unwatching one keeps the other working.
    first.unwatch(SIGUSR1);
    QCOMPARE(::kill(::getpid(), SIGUSR1), 0);
    QTRY_COMPARE(secondSpy.count(), 2);
    QCOMPARE(firstSpy.count(), 1);
}

void tst_UnixSignalNotifier::restoresThePreviousDisposition()
{
    // Something else owns SIGWINCH and SIGUSR1 before us: an ignored one and a handler with its own flags.
    struct sigaction ignore;
    std::memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    QCOMPARE(::sigaction(SIGWINCH, &ignore, nullptr), 0);
    struct sigaction custom;
    std::memset(&custom, 0, sizeof custom);
    custom.sa_handler = [](int) {};
    custom.sa_flags = SA_NODEFER;
    struct sigaction saved;
    QCOMPARE(::sigaction(SIGPROF, &custom, &saved), 0);

    const Disposition winchBefore = currentDisposition(SIGWINCH);
    const Disposition profBefore = currentDisposition(SIGPROF);
    {
        auto a = std::make_unique<UnixSignalNotifier>();
        auto b = std::make_unique<UnixSignalNotifier>();
        QVERIFY(a->watch({SIGWINCH, SIGPROF}));
        QVERIFY(b->watch(SIGPROF));
        QVERIFY(currentDisposition(SIGWINCH).handler != winchBefore.handler);
        QVERIFY(currentDisposition(SIGPROF).flags & SA_SIGINFO);
        a->unwatch(SIGWINCH);
        QCOMPARE(currentDisposition(SIGWINCH).handler, winchBefore.handler);
        a.reset();
        // b still watches SIGPROF: still ours.
        QVERIFY(currentDisposition(SIGPROF).handler != profBefore.handler);
    }
    QCOMPARE(currentDisposition(SIGPROF).handler, profBefore.handler);
    QCOMPARE(currentDisposition(SIGPROF).flags, profBefore.flags);
    QCOMPARE(::sigaction(SIGPROF, &saved, nullptr), 0);
}

void tst_UnixSignalNotifier::socketsAreCloseOnExec()
{
    UnixSignalNotifier notifier;
    QVERIFY(notifier.watch(SIGUSR1));
    int sockets = 0;
    const QDir fdDir(QStringLiteral("/proc/self/fd"));
    const QStringList entries = fdDir.entryList(QDir::NoDotAndDotDot | QDir::System | QDir::Files);
    for (const QString &entry : entries) {
        const int fd = entry.toInt();
        char target[256] = {};
        const QByteArray link = QFile::encodeName(fdDir.filePath(entry));
        if (::readlink(link.constData(), target, sizeof target - 1) <= 0 || std::strncmp(target, "socket:", 7) != 0)
            continue;
        // Unix sockets show as "socket:[inode]" links.
        ++sockets;
        const int fdFlags = ::fcntl(fd, F_GETFD);
        QVERIFY2(fdFlags & FD_CLOEXEC, qPrintable(QStringLiteral("fd %1 is not close-on-exec").arg(fd)));
        const int flFlags = ::fcntl(fd, F_GETFL);
        QVERIFY2(flFlags & O_NONBLOCK, qPrintable(QStringLiteral("fd %1 is blocking").arg(fd)));
    }
    QVERIFY2(sockets >= 2, "the bridge's socketpair was not found in /proc/self/fd");
}

void tst_UnixSignalNotifier::workerThreadBlocksHandledSignals()
{
    UnixSignalNotifier notifier;
    QVERIFY(notifier.watch({SIGTERM, SIGUSR1}));

    std::atomic<long> tid {0};
    std::atomic<bool> blocked {false};
    QThread worker;
    worker.setObjectName(QStringLiteral("tst-worker"));
    connect(
        &worker, &QThread::started, &worker,
        [&] {
            blocked = UnixSignalNotifier::blockHandledSignalsInCurrentThread();
            tid = long(::syscall(SYS_gettid));
        },
        Qt::DirectConnection);
    worker.start();
    QTRY_VERIFY(tid.load() != 0);
    QVERIFY(blocked.load());
    const quint64 sigBlk = ProcStatus::mask(0, tid.load(), "SigBlk");
    QVERIFY2((sigBlk & signalBit(SIGTERM)) && (sigBlk & signalBit(SIGUSR1)), qPrintable(QString::number(sigBlk, 16)));
    // The main thread keeps them unblocked, and the process catches them.
    const quint64 mainBlk = ProcStatus::mask(0, ::getpid(), "SigBlk");
    QCOMPARE(mainBlk & signalBit(SIGTERM), quint64(0));
    const quint64 sigCgt = ProcStatus::mask(0, 0, "SigCgt");
    QVERIFY(sigCgt & signalBit(SIGTERM));
    worker.quit();
    QVERIFY(worker.wait(5000));
}

void tst_UnixSignalNotifier::childProcessGetsCleanSignalState()
{
#if defined(__SANITIZE_THREAD__)
    QSKIP("TSan: QProcess forks a multi-threaded process, which TSan does not support");
#endif
    UnixSignalNotifier notifier;
    QVERIFY(notifier.watch(SIGTERM));
    // Make the parent's state dirty: SIGPIPE ignored and SIGUSR2 blocked would both survive exec().
    struct sigaction ignore;
    std::memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    struct sigaction previousPipe;
    QCOMPARE(::sigaction(SIGPIPE, &ignore, &previousPipe), 0);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigset_t previousMask;
    QCOMPARE(::pthread_sigmask(SIG_BLOCK, &usr2, &previousMask), 0);

    auto childStatus = [](bool prepared) {
        QProcess child;
        if (prepared)
            UnixSignalNotifier::prepareChildProcess(child);
        child.start(QStringLiteral("/bin/cat"), {QStringLiteral("/proc/self/status")});
        child.waitForFinished(5000);
        return QString::fromLatin1(child.readAllStandardOutput());
    };
    auto field = [](const QString &status, const QString &name) {
        return ProcStatus::maskFromText(status.toLatin1(), name.toLatin1());
    };
    const QString dirty = childStatus(false);
    const QString clean = childStatus(true);

    QCOMPARE(::pthread_sigmask(SIG_SETMASK, &previousMask, nullptr), 0);
    QCOMPARE(::sigaction(SIGPIPE, &previousPipe, nullptr), 0);

    // Without the helper the child inherits both (this proves the check can fail) ...
    QVERIFY(field(dirty, QStringLiteral("SigBlk")) & signalBit(SIGUSR2));
    // ... with it, neither.
    QVERIFY(!clean.isEmpty());
    QCOMPARE(field(clean, QStringLiteral("SigBlk")), quint64(0));
    QCOMPARE(field(clean, QStringLiteral("SigIgn")) & signalBit(SIGPIPE), quint64(0));
}

void tst_UnixSignalNotifier::signalNames()
{
    QCOMPARE(UnixSignalNotifier::signalName(SIGTERM), QStringLiteral("sigterm"));
    QCOMPARE(UnixSignalNotifier::signalName(SIGINT), QStringLiteral("sigint"));
    SignalEvent event;
    event.signo = SIGHUP;
    QCOMPARE(event.name(), QStringLiteral("sighup"));
}

int main(int argc, char **argv)
{
    // Before QCoreApplication exists: install the bridge and raise a signal. It must wait in the socket and be
    // delivered by the first test, once an event loop runs.
    s_early = std::make_unique<UnixSignalNotifier>();
    if (s_early->watch(SIGUSR2))
        s_earlyRaiseResult = ::raise(SIGUSR2);

    QCoreApplication app(argc, argv);
    tst_UnixSignalNotifier test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_unixsignalnotifier.moc"
