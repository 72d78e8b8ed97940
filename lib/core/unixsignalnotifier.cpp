#include "unixsignalnotifier.h"

#include "corelogging_p.h"
#include "resourcelimits.h"
#include "unixsignalnotifier_p.h"

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QCoreApplication>
#include <QtCore/QHash>
#include <QtCore/QMutex>
#include <QtCore/QPointer>
#include <QtCore/QProcess>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>
#include <QtCore/QVarLengthArray>

#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

namespace Quiesce {

Q_LOGGING_CATEGORY(lcSignal, "quiesce.signal", QtWarningMsg)

namespace {

// Everything the handler touches: lock-free atomics and a file descriptor, nothing else. The storage is static
// (never destroyed), so a signal that arrives during static destruction still finds valid memory.
static_assert(std::atomic<quint64>::is_always_lock_free, "the per-signal counters must be lock-free");
static_assert(std::atomic<int>::is_always_lock_free, "the sender fields must be lock-free");
static_assert(std::atomic<qint64>::is_always_lock_free, "the duplicate window's times must be lock-free");

std::atomic<int> s_writeFd {-1};
// Per signal: the arrivals in the low 32 bits and, of those, the duplicates in the high 32 bits, in ONE atomic so
// that dispatch() takes both at the same instant (two counters could be read between a handler's two updates).
constexpr quint64 kOneArrival = 1;
constexpr quint64 kOneDuplicate = quint64(1) << 32;
std::array<std::atomic<quint64>, NSIG> s_counts {};
// One bit per signal with a count to take (bit signo - 1), so that dispatch() visits only those, not all NSIG
// counters. Set after the count; a bit without a count (taken by an earlier dispatch()) is skipped.
static_assert(NSIG - 1 <= 64, "one bit per signal must fit the pending mask");
static_assert(std::atomic<quint64>::is_always_lock_free, "the pending mask must be lock-free");
std::atomic<quint64> s_pending {0};
std::array<std::atomic<int>, NSIG> s_senderPid {};
std::array<std::atomic<unsigned>, NSIG> s_senderUid {};
// The recent arrivals that counted (were no duplicate), per signal: sender pid and CLOCK_MONOTONIC time. A few
// senders each, so that A, B, A within the window is still two requests; the oldest slot is reused.
constexpr int kRecentSenders = 4;
struct RecentSender
{
    std::atomic<int> pid {0};
    std::atomic<qint64> atNs {0};
};
std::array<std::array<RecentSender, kRecentSenders>, NSIG> s_recent {};
std::atomic<qint64> s_duplicateWindowNs {
    std::chrono::duration_cast<std::chrono::nanoseconds>(UnixSignalNotifier::kDuplicateWindow).count()};

// Async-signal-safe: clock_gettime() is on POSIX's list. CLOCK_MONOTONIC: wall-clock steps must not merge or split
// deliveries.
qint64 monotonicNs()
{
    timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/* The rule of UnixSignalNotifier::kDuplicateWindow, for one arrival of \a signo from \a pid (0 = the kernel or
   unknown). Two handlers for the same signal on two threads at once may both count: a missed merge is harmless,
   and a merge of two senders never happens (the pid must match). */
bool isDuplicate(int signo, int pid)
{
    if (pid == 0)
        return false; // the terminal driver, the kernel: a human's second Ctrl+C must still escalate
    const qint64 window = s_duplicateWindowNs.load(std::memory_order_relaxed);
    if (window <= 0)
        return false;
    const qint64 now = monotonicNs();
    auto &recent = s_recent[size_t(signo)];
    RecentSender *oldest = &recent[0];
    for (RecentSender &slot : recent) {
        const qint64 at = slot.atNs.load(std::memory_order_relaxed);
        if (slot.pid.load(std::memory_order_relaxed) == pid && now - at < window)
            return true;
        if (at < oldest->atNs.load(std::memory_order_relaxed))
            oldest = &slot;
    }
    oldest->pid.store(pid, std::memory_order_relaxed);
    oldest->atNs.store(now, std::memory_order_relaxed);
    return false;
}

extern "C" void quiesceSignalHandler(int signo, siginfo_t *info, void * /*context*/)
{
    // Async-signal-safe only: atomics and write(). No allocation, no locks, no Qt, no logging.
    const int savedErrno = errno;
    if (signo > 0 && signo < NSIG) {
        // si_pid/si_uid are meaningful only for signals sent by a process (kill, sigqueue, tgkill).
        const bool fromProcess = info != nullptr && info->si_code <= 0;
        const int pid = fromProcess ? int(info->si_pid) : 0;
        s_senderPid[signo].store(pid, std::memory_order_relaxed);
        s_senderUid[signo].store(fromProcess ? unsigned(info->si_uid) : 0u, std::memory_order_relaxed);
        // Release: whoever exchanges the counter sees the sender fields written above.
        s_counts[signo].fetch_add(kOneArrival + (isDuplicate(signo, pid) ? kOneDuplicate : 0),
                                  std::memory_order_release);
        s_pending.fetch_or(quint64(1) << (signo - 1), std::memory_order_release);
        const int fd = s_writeFd.load(std::memory_order_relaxed);
        if (fd >= 0) {
            const char byte = char(signo);
            ssize_t written;
            do {
                written = ::write(fd, &byte, 1);
            } while (written < 0 && errno == EINTR);
            // EAGAIN: the socket buffer is full, so a wake-up is already pending and the counter carries the rest.
        }
    }
    errno = savedErrno;
}

QString errnoString(const char *what, int error)
{
    return QStringLiteral("%1 failed: %2").arg(QLatin1StringView(what), QString::fromLocal8Bit(std::strerror(error)));
}

} // namespace

/* The process-wide half of the bridge: one socketpair, the saved dispositions, the listeners, and the one
   QSocketNotifier on the main thread. Created on first use and never destroyed: the handler may still run during
   static destruction, and the write end must stay valid as long as any handler can be installed. */
class SignalBridge
{
public:
    static SignalBridge &instance()
    {
        static auto *bridge = new SignalBridge; // intentionally leaked, see above
        return *bridge;
    }

    bool watch(UnixSignalNotifier *listener, int signo, QString *error)
    {
        QMutexLocker locker(&m_mutex);
        if (!ensureSocketLocked(error))
            return false;
        Slot &slot = m_slots[size_t(signo)];
        if (slot.refs == 0) {
            struct sigaction action;
            std::memset(&action, 0, sizeof action);
            action.sa_sigaction = &quiesceSignalHandler;
            action.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&action.sa_mask);
            s_counts[size_t(signo)].store(0, std::memory_order_relaxed);
            if (::sigaction(signo, &action, &slot.previous) == -1) {
                *error = errnoString("sigaction", errno);
                return false;
            }
        }
        ++slot.refs;
        m_listeners.insert(signo, listener);
        locker.unlock();
        ensureNotifier();
        return true;
    }

    void unwatch(UnixSignalNotifier *listener, int signo)
    {
        QMutexLocker locker(&m_mutex);
        if (m_listeners.remove(signo, listener) == 0)
            return;
        Slot &slot = m_slots[size_t(signo)];
        if (--slot.refs == 0) {
            // Restore exactly what was there before the first watch (handler, flags and mask).
            if (::sigaction(signo, &slot.previous, nullptr) == -1)
                qCWarning(lcSignal, "restoring the disposition of signal %d failed: %s", signo, std::strerror(errno));
            s_counts[size_t(signo)].store(0, std::memory_order_relaxed);
        }
    }

    sigset_t handledSignals()
    {
        sigset_t set;
        sigemptyset(&set);
        QMutexLocker locker(&m_mutex);
        for (int signo = 1; signo < NSIG; ++signo) {
            if (m_slots[size_t(signo)].refs > 0)
                sigaddset(&set, signo);
        }
        return set;
    }

    /* Creates the QSocketNotifier on the application's thread as soon as that is possible: now if the application
       and its event dispatcher exist, otherwise from a pre-routine that QCoreApplication's constructor runs (and
       runs again should the application be re-created). Bytes written before then wait in the socket, so the
       notifier fires on the loop's first iteration: nothing that arrived early is lost. */
    void ensureNotifier()
    {
        static std::once_flag preRoutineOnce;
        std::call_once(preRoutineOnce, [] { qAddPreRoutine(&SignalBridge::attachToApplication); });
        attachToApplication();
    }

private:
    struct Slot
    {
        int refs = 0;
        struct sigaction previous;
    };

    static void attachToApplication()
    {
        QCoreApplication *app = QCoreApplication::instance();
        if (app == nullptr)
            return;
        const bool sameThread = QThread::currentThread() == app->thread();
        if (sameThread && QAbstractEventDispatcher::instance(app->thread()) != nullptr) {
            instance().createNotifier(app);
            return;
        }
        QMetaObject::invokeMethod(
            app, [app] { instance().createNotifier(app); }, Qt::QueuedConnection);
    }

    void createNotifier(QCoreApplication *app)
    {
        QMutexLocker locker(&m_mutex);
        if (m_notifier != nullptr || m_readFd < 0)
            return;
        // Parented to the application: it goes with it, and a new application gets a new one.
        m_notifier = new QSocketNotifier(qintptr(m_readFd), QSocketNotifier::Read, app);
        m_notifier->setObjectName(QStringLiteral("quiesce-signal-bridge"));
        QObject::connect(m_notifier, &QObject::destroyed, [] {
            QMutexLocker lock(&instance().m_mutex);
            instance().m_notifier = nullptr;
        });
        QObject::connect(m_notifier, &QSocketNotifier::activated, m_notifier, [] { instance().dispatch(); });
    }

    bool ensureSocketLocked(QString *error)
    {
        if (m_readFd >= 0)
            return true;
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1) {
            *error = errnoString("socketpair", errno);
            return false;
        }
        // Both ends non-blocking: the handler must never block, and dispatch() drains until EAGAIN.
        for (int fd : fds) {
            const int flags = ::fcntl(fd, F_GETFL);
            if (flags == -1 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
                *error = errnoString("fcntl(O_NONBLOCK)", errno);
                ::close(fds[0]);
                ::close(fds[1]);
                return false;
            }
        }
        m_readFd = fds[0];
        s_writeFd.store(fds[1], std::memory_order_release);
        return true;
    }

    void dispatch()
    {
        // Drain the wake-up bytes first, then take the counters: a signal that lands in between leaves a byte
        // behind and is picked up by the next activation, so none is lost. A read that returns less than the
        // buffer has emptied the stream socket, so no second read just to see EAGAIN (a system call per signal).
        char buffer[256];
        for (;;) {
            const ssize_t n = ::read(m_readFd, buffer, sizeof buffer);
            if (n == ssize_t(sizeof buffer) || (n < 0 && errno == EINTR))
                continue;
            break;
        }
        quint64 pending = s_pending.exchange(0, std::memory_order_acquire);
        while (pending != 0) {
            const int signo = std::countr_zero(pending) + 1;
            pending &= pending - 1;
            const quint64 counts = s_counts[size_t(signo)].exchange(0, std::memory_order_acquire);
            if (counts == 0)
                continue;
            SignalEvent event;
            event.signo = signo;
            event.count = counts & 0xffffffffu;
            event.duplicates = counts >> 32;
            event.senderPid = s_senderPid[size_t(signo)].load(std::memory_order_relaxed);
            event.senderUid = s_senderUid[size_t(signo)].load(std::memory_order_relaxed);

            // On the stack for the usual one or two listeners: no allocation between the signal and its delivery.
            QVarLengthArray<UnixSignalNotifier *, 4> listeners;
            {
                QMutexLocker locker(&m_mutex);
                auto [it, end] = m_listeners.equal_range(signo);
                for (; it != end; ++it)
                    listeners.append(*it);
            }
            if (listeners.isEmpty())
                continue;
            // QMultiHash lists the newest first; deliver in the order listeners started watching. Notifiers live on
            // this (the main) thread, so only a slot run here can delete one: the first is delivered to before any
            // slot ran, the later ones are guarded.
            QVarLengthArray<QPointer<UnixSignalNotifier>, 4> later;
            for (qsizetype i = listeners.size() - 2; i >= 0; --i)
                later.append(QPointer<UnixSignalNotifier>(listeners[i]));
            listeners.last()->deliver(event);
            for (const auto &target : std::as_const(later)) {
                if (target)
                    target->deliver(event);
            }
        }
    }

    QMutex m_mutex;
    int m_readFd = -1;
    std::array<Slot, NSIG> m_slots {};
    QMultiHash<int, UnixSignalNotifier *> m_listeners;
    QSocketNotifier *m_notifier = nullptr;
};

QString SignalEvent::name() const
{
    return UnixSignalNotifier::signalName(signo);
}

quint64 SignalEvent::distinctCount() const
{
    return count - duplicates;
}

UnixSignalNotifier::UnixSignalNotifier(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<UnixSignalNotifierPrivate>())
{}

UnixSignalNotifier::~UnixSignalNotifier()
{
    const auto signos = d->signos;
    for (int signo : signos)
        unwatch(signo);
}

bool UnixSignalNotifier::watch(int signo)
{
    if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP) {
        d->errorString = QStringLiteral("signal %1 cannot be caught").arg(signo);
        return false;
    }
    if (d->signos.contains(signo))
        return true;
    if (!SignalBridge::instance().watch(this, signo, &d->errorString))
        return false;
    d->signos.append(signo);
    return true;
}

bool UnixSignalNotifier::watch(const QList<int> &signos)
{
    for (int signo : signos) {
        if (!watch(signo))
            return false;
    }
    return true;
}

void UnixSignalNotifier::unwatch(int signo)
{
    if (!d->signos.removeOne(signo))
        return;
    SignalBridge::instance().unwatch(this, signo);
}

QList<int> UnixSignalNotifier::watchedSignals() const
{
    return d->signos;
}

QString UnixSignalNotifier::errorString() const
{
    return d->errorString;
}

sigset_t UnixSignalNotifier::handledSignals()
{
    return SignalBridge::instance().handledSignals();
}

bool UnixSignalNotifier::blockHandledSignalsInCurrentThread(QString *error, sigset_t *previous)
{
    const sigset_t set = handledSignals();
    const int rc = ::pthread_sigmask(SIG_BLOCK, &set, previous);
    if (rc != 0) {
        if (error != nullptr)
            *error = errnoString("pthread_sigmask", rc);
        return false;
    }
    return true;
}

void UnixSignalNotifier::resetSignalStateInChild() noexcept
{
    // Runs between fork() and exec(): async-signal-safe calls only. Caught signals are reset by exec() anyway;
    // this also resets ignored ones (an ignored SIGPIPE survives exec) and the inherited mask.
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    for (int signo = 1; signo < NSIG; ++signo) {
        if (signo != SIGKILL && signo != SIGSTOP)
            ::sigaction(signo, &action, nullptr); // EINVAL for the C library's reserved real-time signals: fine
    }
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
}

void UnixSignalNotifier::prepareChildProcess(QProcess &process, ChildProcessGroup group)
{
    // QProcess takes one modifier: every step the child needs runs in this one function, async-signal-safe only.
    const bool ownGroup = group == ChildProcessGroup::Own;
    process.setChildProcessModifier([ownGroup] {
        UnixSignalNotifier::resetSignalStateInChild();
        ResourceLimits::restoreDescriptorLimitInChild();
        if (ownGroup)
            ::setpgid(0, 0); // the parent does the same after fork: whichever runs first wins, both are fine
    });
}

void UnixSignalNotifier::setDuplicateWindow(std::chrono::milliseconds window)
{
    s_duplicateWindowNs.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(qMax(window, std::chrono::milliseconds(0))).count(),
        std::memory_order_relaxed);
}

std::chrono::milliseconds UnixSignalNotifier::duplicateWindow()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds(s_duplicateWindowNs.load(std::memory_order_relaxed)));
}

QString UnixSignalNotifier::signalName(int signo)
{
    if (const char *abbrev = ::sigabbrev_np(signo))
        return QStringLiteral("sig") + QString::fromLatin1(abbrev).toLower();
    return QStringLiteral("signal%1").arg(signo);
}

void UnixSignalNotifier::deliver(const SignalEvent &event)
{
    if (d->signos.contains(event.signo))
        Q_EMIT received(event);
}

} // namespace Quiesce
