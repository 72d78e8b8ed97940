#pragma once

#include <Quiesce/quiesce_core_export.h>

#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>
#include <csignal>
#include <memory>

class QProcess;

namespace Quiesce {

class UnixSignalNotifierPrivate;

/*! \brief One delivery of a Unix signal on the event loop.

    Signals of one number that arrive before the loop gets to them are coalesced: \c count says how many arrived
    since the previous delivery of that number, \c senderPid / \c senderUid name the last sender (0 when the
    kernel did not say, e.g. for a signal raised by the terminal driver on some systems).

    \c duplicates says how many of those \c count arrivals were repeats: the same signal from the same non-zero
    sender pid within UnixSignalNotifier::duplicateWindow() of that sender's last arrival that counted. A process
    that signals us twice in a row meant one thing once: GNU \c timeout sends SIGTERM to its child and then to
    the child's process group, so the child receives two. The kernel (sender 0: the terminal driver's Ctrl+C, a
    hangup) is never merged, so a human's second Ctrl+C still counts. Only the handler sees every arrival's
    sender, so the rule is applied there; distinctCount() is what a consumer counting requests wants. */
struct QUIESCE_CORE_EXPORT SignalEvent
{
    int signo = 0;          //!< the signal number (SIGTERM, ...)
    quint64 count = 0;      //!< arrivals since the previous delivery of this number
    quint64 duplicates = 0; //!< of \c count, the repeats by the same sender within the duplicate window
    qint64 senderPid = 0;   //!< the last sender's process id, 0 when the kernel did not say
    qint64 senderUid = 0;   //!< the last sender's real user id, 0 when the kernel did not say

    /*! "sigterm", "sigint", ... the lowercase name used in logs and reasons. */
    QString name() const;
    /*! \brief The arrivals that count as requests of their own: \c count minus \c duplicates. */
    quint64 distinctCount() const;
};

/*! \brief Bridges Unix signals to the Qt event loop, safely.

    The handler is installed with \c sigaction (\c SA_SIGINFO | \c SA_RESTART). It saves and restores \c errno,
    counts the signal in a lock-free per-signal counter, remembers the sender's pid/uid, writes one byte to a
    non-blocking, close-on-exec socketpair, and does nothing else. The read end is watched by a QSocketNotifier on
    the main thread, which emits received() once per signal number that arrived.

    A notifier may be created and may watch signals before QCoreApplication exists; what arrives before the event
    loop runs is delivered once it does. Any number of notifiers may watch the same signal; the previous
    disposition is saved on the first watch and restored exactly when the last watcher unwatches or is destroyed.

    Notifiers live on the main thread (the one that creates QCoreApplication); connect to received() from any
    thread with a queued connection. */
class QUIESCE_CORE_EXPORT UnixSignalNotifier : public QObject
{
    Q_OBJECT

public:
    /*! \brief A notifier that watches nothing yet; see watch(). */
    explicit UnixSignalNotifier(QObject *parent = nullptr);
    ~UnixSignalNotifier() override;

    /*! Installs the handler for \a signo (if this is its first watcher). Returns false and sets errorString() if
        the signal cannot be caught (SIGKILL, SIGSTOP, out of range) or a system call failed. Watching a signal
        twice from the same notifier is a no-op. */
    bool watch(int signo);
    /*! Watches every signal in \a signos; stops at the first failure. */
    bool watch(const QList<int> &signos);
    /*! Stops watching \a signo; restores the previous disposition once nobody watches it. */
    void unwatch(int signo);

    /*! \brief The signals this notifier watches, in the order watch() added them. */
    QList<int> watchedSignals() const;
    /*! \brief Why the last watch() failed. */
    QString errorString() const;

    /*! Every signal that some notifier in the process watches now. */
    static sigset_t handledSignals();

    /*! Blocks handledSignals() in the calling thread (pthread_sigmask), so that only threads that want them see
        them and no worker system call is interrupted. A new thread inherits its creator's mask: ThreadOwner::start()
        calls this around the creation, so the thread never has a moment with the signals open, and every thread of
        the library starts that way. Returns false and fills \a error on failure; fills \a previous (if given) with
        the mask before, for pthread_sigmask(SIG_SETMASK, previous, nullptr). */
    static bool blockHandledSignalsInCurrentThread(QString *error = nullptr, sigset_t *previous = nullptr);

    /*! Async-signal-safe: resets every signal's disposition to SIG_DFL and empties the signal mask. Meant to
        run in a forked child before exec (QProcess::setChildProcessModifier), so that a child never inherits an
        ignored SIGPIPE or a blocked mask from us. The bridge's sockets are close-on-exec already. */
    static void resetSignalStateInChild() noexcept;

    /*! \brief Where prepareChildProcess() puts the child: in our process group, or at the head of its own. */
    enum class ChildProcessGroup {
        Inherit, //!< the child shares our process group (a terminal's Ctrl+C reaches both)
        Own,     //!< setpgid(0, 0) before exec: the child and everything it starts can be signalled as one group
                 //!< with kill(-pid, ...), and a terminal's Ctrl+C to us does not reach it
    };

    /*! Makes \a process start its child with a clean signal state (see resetSignalStateInChild()), the
        descriptor limit the process was started with (ResourceLimits::restoreDescriptorLimitInChild()) and, with
        ChildProcessGroup::Own, in a process group of its own. Sets the process's one child modifier: do not set
        another after this. */
    static void prepareChildProcess(QProcess &process, ChildProcessGroup group = ChildProcessGroup::Inherit);

    /*! \brief The default duplicate window: a repeat of a signal by the same sender pid within it is one
        arrival (see SignalEvent::duplicates). Long enough for \c timeout's kill(pid) + kill(-pgid) even on a
        loaded machine, far shorter than a person can press Ctrl+C twice on purpose. */
    static constexpr std::chrono::milliseconds kDuplicateWindow {250};

    /*! \brief Sets the process-wide duplicate window for every signal (measured on the monotonic clock from the
        sender's last arrival that counted); 0 turns the merging off. Default kDuplicateWindow. */
    static void setDuplicateWindow(std::chrono::milliseconds window);
    /*! \brief The duplicate window in use. */
    static std::chrono::milliseconds duplicateWindow();

    /*! The lowercase name of \a signo ("sigterm"), or "signal<N>". */
    static QString signalName(int signo);

Q_SIGNALS:
    /*! \brief Signal \a event.signo arrived (\a event.count times since its previous delivery), emitted on the
        main thread's event loop, never in the handler. */
    void received(const Quiesce::SignalEvent &event);

private:
    friend class SignalBridge;
    void deliver(const SignalEvent &event);

    std::unique_ptr<UnixSignalNotifierPrivate> d;
};

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::SignalEvent)
