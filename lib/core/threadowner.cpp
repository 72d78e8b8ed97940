#include "threadowner.h"

#include "resourcelimits.h"
#include "threadowner_p.h"
#include "unixsignalnotifier.h"

#include <QtCore/QSemaphore>

#include <csignal>

#include <pthread.h>

namespace Quiesce {

ThreadOwner::ThreadOwner(QThread *thread)
    : d(std::make_unique<ThreadOwnerPrivate>())
{
    Q_ASSERT(thread != nullptr && thread->parent() == nullptr && !thread->isRunning());
    d->thread = thread;
}

ThreadOwner::ThreadOwner(std::function<void()> function)
    : ThreadOwner(QThread::create(std::move(function)))
{}

ThreadOwner::~ThreadOwner()
{
    if (d->thread != nullptr && !d->started) {
        delete d->thread; // never ran: nothing to wait for
        return;
    }
    stop(QDeadlineTimer(d->destructionTimeout));
}

QThread *ThreadOwner::thread() const
{
    return d->thread;
}

bool ThreadOwner::start(QString *error)
{
    if (d->thread == nullptr || d->started)
        return d->started;
    QThread *thread = d->thread;
    const auto running = std::make_shared<QSemaphore>();
    // First thing in the thread (Qt named it just before): block what the bridge watches by now, too; then let
    // start() return, so that a caller sees the thread under its name and with its mask.
    QObject::connect(
        thread, &QThread::started, thread,
        [running] {
            UnixSignalNotifier::blockHandledSignalsInCurrentThread();
            running->release();
        },
        Qt::DirectConnection);
    // The last thing the thread does: if its owner gave up on it, it deletes itself (on the owner's loop).
    QObject::connect(
        thread, &QThread::finished, thread,
        [thread, fate = d->fate] {
            if (fate->exchange(ThreadOwnerPrivate::Finished) == ThreadOwnerPrivate::Leaked)
                thread->deleteLater();
        },
        Qt::DirectConnection);

    // A new thread inherits its creator's mask: with the bridge's signals blocked around the creation it never has
    // a moment in which the handler could run on it. Pending signals arrive here once the mask is back.
    sigset_t previous;
    const bool masked = UnixSignalNotifier::blockHandledSignalsInCurrentThread(nullptr, &previous);
    const bool ok = ResourceLimits::startThread(thread, error);
    if (masked)
        ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (!ok)
        return false;
    running->acquire();
    d->started = true;
    return true;
}

bool ThreadOwner::isRunning() const
{
    return d->thread != nullptr && d->started;
}

ThreadOwner::StopResult ThreadOwner::stop(QDeadlineTimer deadline)
{
    QThread *thread = d->thread;
    if (thread == nullptr || !d->started)
        return StopResult::NotRunning;
    Q_ASSERT(QThread::currentThread() != thread);
    d->thread = nullptr;
    d->started = false;
    thread->requestInterruption();
    thread->quit();
    if (thread->wait(deadline)) {
        delete thread;
        return StopResult::Stopped;
    }
    // Join-or-leak: never destroy a running thread, never terminate() one. Whoever comes second deletes it.
    if (d->fate->exchange(ThreadOwnerPrivate::Leaked) == ThreadOwnerPrivate::Finished) {
        thread->wait(); // it emitted finished() already: only Qt's last steps are left
        delete thread;
        return StopResult::Stopped;
    }
    return StopResult::Leaked;
}

void ThreadOwner::setDestructionTimeout(std::chrono::milliseconds timeout)
{
    d->destructionTimeout = timeout;
}

std::chrono::milliseconds ThreadOwner::destructionTimeout() const
{
    return d->destructionTimeout;
}

} // namespace Quiesce
