#pragma once

#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <csignal>

class QProcess;

namespace Quiesce {

/*! \brief One delivery of a Unix signal on the event loop.

    Signals of one number that arrive before the loop gets to them are coalesced: \c count says how many arrived
    since the previous delivery of that number, \c senderPid / \c senderUid name the last sender (0 when the
    kernel did not say, e.g. for a signal raised by the terminal driver on some systems). */
struct SignalEvent
{
    int signo = 0;
    quint64 count = 0;
    qint64 senderPid = 0;
    qint64 senderUid = 0;

    /*! "sigterm", "sigint", ... the lowercase name used in logs and reasons. */
    QString name() const;
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
class UnixSignalNotifier : public QObject
{
    Q_OBJECT

public:
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

    QList<int> watchedSignals() const;
    QString errorString() const;

    /*! Every signal that some notifier in the process watches now. */
    static sigset_t handledSignals();

    /*! Blocks handledSignals() in the calling thread (pthread_sigmask), so that only threads that want them see
        them and no worker system call is interrupted. Call it first thing in a worker thread (e.g. from a
        DirectConnection to QThread::started). Returns false and fills \a error on failure. */
    static bool blockHandledSignalsInCurrentThread(QString *error = nullptr);

    /*! Async-signal-safe: resets every signal's disposition to SIG_DFL and empties the signal mask. Meant to
        run in a forked child before exec (QProcess::setChildProcessModifier), so that a child never inherits an
        ignored SIGPIPE or a blocked mask from us. The bridge's sockets are close-on-exec already. */
    static void resetSignalStateInChild() noexcept;

    /*! Makes \a process start its child with a clean signal state (see resetSignalStateInChild()) and the
        descriptor limit the process was started with (ResourceLimits::restoreDescriptorLimitInChild()). */
    static void prepareChildProcess(QProcess &process);

    /*! The lowercase name of \a signo ("sigterm"), or "signal<N>". */
    static QString signalName(int signo);

Q_SIGNALS:
    void received(const Quiesce::SignalEvent &event);

private:
    friend class SignalBridge;
    void deliver(const SignalEvent &event);

    QList<int> m_signals;
    QString m_errorString;
};

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::SignalEvent)
