#include "threadowner.h"

#include "resourcelimits.h"
#include "threadowner_p.h"
#include "unixsignalnotifier.h"

#include <QtCore/QSemaphore>

#include <csignal>
#include <cstring>
#include <ctime>
#include <utility>

#include <pthread.h>

namespace Quiesce {

namespace {

// A new thread inherits its creator's mask: with the bridge's signals blocked around the creation it never has a
// moment in which the handler could run on it. Pending signals arrive on the creator once the mask is back.
template<typename Create>
bool createWithHandledSignalsBlocked(Create create)
{
    sigset_t previous;
    const bool masked = UnixSignalNotifier::blockHandledSignalsInCurrentThread(nullptr, &previous);
    const bool ok = create();
    if (masked)
        ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return ok;
}

// The start routine of a Kind::PlainThread: runs the function start() put on the heap for it, then frees it.
void *runPlainThread(void *argument)
{
    const std::unique_ptr<std::function<void()>> body(static_cast<std::function<void()> *>(argument));
    (*body)();
    return nullptr;
}

} // namespace

ThreadOwner::ThreadOwner(QThread *thread)
    : d(std::make_unique<ThreadOwnerPrivate>())
{
    Q_ASSERT(thread != nullptr && thread->parent() == nullptr && !thread->isRunning());
    d->thread = thread;
}

ThreadOwner::ThreadOwner(std::function<void()> function, Kind kind)
    : d(std::make_unique<ThreadOwnerPrivate>())
{
    if (kind == Kind::QtThread) {
        d->thread = QThread::create(std::move(function));
        return;
    }
    d->plainFunction = std::move(function);
    d->plain = true;
}

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

void ThreadOwner::setName(const QString &name)
{
    d->name = name;
    if (d->thread != nullptr)
        d->thread->setObjectName(name);
}

bool ThreadOwner::start(QString *error)
{
    if (!startWithoutWaiting(error))
        return false;
    waitUntilRunning();
    return true;
}

void ThreadOwner::waitUntilRunning()
{
    if (const std::shared_ptr<QSemaphore> running = std::exchange(d->running, nullptr))
        running->acquire();
}

bool ThreadOwner::startWithoutWaiting(QString *error)
{
    if (d->started)
        return true;
    if (d->plain) {
        // The function is the thread's own (a copy on the heap, freed by the thread): a leaked thread keeps it.
        auto *body = new std::function<void()>([function = d->plainFunction] {
            UnixSignalNotifier::blockHandledSignalsInCurrentThread(); // what was watched since the creation
            function();
        });
        int rc = 0;
        createWithHandledSignalsBlocked([this, body, &rc] {
            rc = ::pthread_create(&d->plainThread, nullptr, &runPlainThread, body);
            return rc == 0;
        });
        if (rc != 0) {
            delete body;
            if (error != nullptr)
                *error = QStringLiteral("cannot start thread %1: %2")
                             .arg(d->name, QString::fromLocal8Bit(std::strerror(rc)));
            return false;
        }
        // Named by the creator, so the name is there as soon as start() returns.
        if (!d->name.isEmpty())
            ::pthread_setname_np(d->plainThread, d->name.left(15).toLocal8Bit().constData());
        d->started = true;
        return true;
    }

    if (d->thread == nullptr)
        return false;
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
    if (!createWithHandledSignalsBlocked([thread, error] { return ResourceLimits::startThread(thread, error); }))
        return false;
    d->running = running;
    d->started = true;
    return true;
}

bool ThreadOwner::isRunning() const
{
    return d->started;
}

ThreadOwner::StopResult ThreadOwner::stop(QDeadlineTimer deadline, StopRequest request)
{
    if (!d->started)
        return StopResult::NotRunning;
    d->started = false;
    d->running.reset(); // nobody waits for the start any more: the join below (or the leak) is the wait

    if (d->plain) {
        // One wait for the thread's very end (the kernel wakes us as it exits), not a hand-off from the thread
        // first and then the join: on a loaded machine each wake-up of the owner is another wait for a CPU.
        if (deadline.isForever())
            return ::pthread_join(d->plainThread, nullptr) == 0 ? StopResult::Stopped : StopResult::Leaked;
        // pthread_timedjoin_np() takes a CLOCK_REALTIME time: the remaining time from now on that clock.
        const qint64 leftNs = qMax<qint64>(0, deadline.remainingTimeNSecs());
        timespec until {};
        ::clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += time_t(leftNs / 1000000000);
        until.tv_nsec += long(leftNs % 1000000000);
        if (until.tv_nsec >= 1000000000) {
            ++until.tv_sec;
            until.tv_nsec -= 1000000000;
        }
        if (::pthread_timedjoin_np(d->plainThread, nullptr, &until) == 0)
            return StopResult::Stopped;
        ::pthread_detach(d->plainThread); // join-or-leak: it holds what it uses
        return StopResult::Leaked;
    }

    QThread *thread = d->thread;
    Q_ASSERT(QThread::currentThread() != thread);
    d->thread = nullptr;
    if (request == StopRequest::InterruptAndQuit) {
        thread->requestInterruption();
        thread->quit();
    }
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
