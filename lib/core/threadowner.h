#pragma once

#include <Quiesce/quiesce_core_export.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QString>
#include <QtCore/QtGlobal>

#include <chrono>
#include <functional>
#include <memory>

class QThread;

namespace Quiesce {

class ThreadOwnerPrivate;

/*! \brief Owns a QThread: starts it safely and stops it with a deadline, join-or-leak.

    - start() creates the thread with the signal bridge's signals blocked (UnixSignalNotifier::handledSignals(),
      blocked around the creation and again in the thread, so it never has a moment in which it could take one),
      reports a failed \c pthread_create (ResourceLimits::startThread()) and returns once the thread runs under its
      name (setName(), 15 characters at most on Linux).
    - stop() asks the thread to end (QThread::requestInterruption() and QThread::quit(): a worker loop polls the
      first, an event loop ends on the second) and waits for it until the deadline. A thread that ends in time is
      destroyed; one that does not is LEAKED: never destroyed while it runs, never terminate()d. It deletes itself
      (QObject::deleteLater on its owner thread's loop) once it finishes, whenever that is, and the process may
      end with it still running.

    A thread that must not depend on Qt at all (a watchdog that ends a process whose main thread is stuck) is a
    Kind::PlainThread: the same start and stop rules on a std::thread, without an event loop or a QThread object.

    The owner lives on the thread that created it; so does the QThread object. Whatever runs in the thread and
    needs more than the interruption request or the end of its event loop to stop (a condition variable, a socket)
    is told so by the caller before stop().

    \code
    Quiesce::ThreadOwner owner(new QThread);
    owner.setName(QStringLiteral("store"));
    worker->moveToThread(owner.thread());
    QObject::connect(owner.thread(), &QThread::finished, worker, &QObject::deleteLater);
    QString error;
    if (!owner.start(&error))
        return fail(Quiesce::ExitCode::OsError, error);
    ...
    if (owner.stop(QDeadlineTimer(2000)) == Quiesce::ThreadOwner::StopResult::Leaked)
        log(QStringLiteral("the store thread did not end in time; left running"));
    \endcode */
class QUIESCE_CORE_EXPORT ThreadOwner
{
public:
    /*! \brief How stop() ended. */
    enum class StopResult {
        NotRunning, //!< the thread never started (or stop() ran before): nothing to wait for
        Stopped,    //!< the thread ended within the deadline and was destroyed
        Leaked,     //!< the deadline passed first: the thread is left running and deletes itself when it finishes
    };

    /*! \brief How stop() asks the thread to end. */
    enum class StopRequest {
        InterruptAndQuit, //!< QThread::requestInterruption() and QThread::quit(), then wait
        AlreadyRequested, //!< only wait: the caller told the thread to end its own way (a queued last call that ends
                          //!< its event loop), which a quit() now could cut short before that call ran
    };

    /*! \brief What runs \a function in ThreadOwner(std::function<void()>, Kind). */
    enum class Kind {
        QtThread,    //!< a QThread (QThread::create()): thread() is it, it has an event dispatcher
        PlainThread, //!< a std::thread: no QThread, no event dispatcher; thread() is nullptr. stop() cannot
                     //!< interrupt it: tell \a function to return first (a flag, a condition variable). What it
                     //!< uses must stay valid should it be leaked (capture shared state, not the owner's members).
    };

    /*! \brief Takes ownership of \a thread, which must have no parent and must not be running. */
    explicit ThreadOwner(QThread *thread);
    /*! \brief Owns a new thread that runs \a function instead of an event loop. */
    explicit ThreadOwner(std::function<void()> function, Kind kind = Kind::QtThread);
    /*! \brief stop() with destructionTimeout(): a running thread is never destroyed, at worst leaked. */
    ~ThreadOwner();

    ThreadOwner(const ThreadOwner &) = delete;
    ThreadOwner &operator=(const ThreadOwner &) = delete;

    /*! \brief The owned QThread; nullptr once it was stopped or leaked, and for a Kind::PlainThread. */
    QThread *thread() const;
    /*! \brief The thread's name, set before start() (15 characters at most on Linux): the QThread's objectName, or
        the name a Kind::PlainThread gets from its creator, visible as soon as start() returns. */
    void setName(const QString &name);

    /*! \brief Starts the thread (see the class comment) and returns whether it runs. Returns false and fills
        \a error if the thread could not be created: it is then never started, and stop() has nothing to do. */
    bool start(QString *error);
    /*! \brief start() without its wait: returns as soon as the thread was created (or could not be). The thread
        already has the bridge's signals blocked (it was created with them blocked); it takes its name when it first
        runs, before anything else runs there. Lets a caller create several threads and wait once
        (waitUntilRunning()) instead of once per thread. A Kind::PlainThread is named by its creator: the same as
        start(). */
    bool startWithoutWaiting(QString *error);
    /*! \brief After startWithoutWaiting(): returns once the thread runs under its name (at once after start(), or
        when nothing was started). */
    void waitUntilRunning();
    /*! \brief True from a successful start() until stop(). */
    bool isRunning() const;

    /*! \brief Asks the thread to end and waits for it until \a deadline: destroyed if it ended, leaked otherwise
        (see the class comment). Call it on the owner's thread, never on the owned one. With
        StopRequest::AlreadyRequested it only waits. */
    StopResult stop(QDeadlineTimer deadline, StopRequest request = StopRequest::InterruptAndQuit);

    /*! \brief How long the destructor waits for a thread still running. Default 5 s. */
    void setDestructionTimeout(std::chrono::milliseconds timeout);
    /*! \brief See setDestructionTimeout(). */
    std::chrono::milliseconds destructionTimeout() const;

private:
    std::unique_ptr<ThreadOwnerPrivate> d;
};

} // namespace Quiesce
