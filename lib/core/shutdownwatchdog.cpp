#include "shutdownwatchdog_p.h"

#include "directoutput.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace Quiesce {

namespace {

// How long the exit paths wait for a descriptor to accept their line before they give up on it: the process must
// end even when nobody reads its output.
constexpr int WritableWaitMs = 1000;

// How long stop() waits for the thread: it returns at once unless it is firing, i.e. ending the process anyway.
constexpr std::chrono::milliseconds kStopTimeout {5000};

} // namespace

void flushStdioWithoutWaiting()
{
    // ftrylockfile: a thread stuck inside printf() holds the stream's lock, and fflush() would wait for it forever.
    // stdio locks are recursive, so fflush() inside our own lock does not wait.
    for (FILE *stream : {stdout, stderr}) {
        if (::ftrylockfile(stream) != 0)
            continue;
        pollfd pfd {::fileno(stream), POLLOUT, 0};
        int rc;
        do {
            rc = ::poll(&pfd, 1, WritableWaitMs);
        } while (rc < 0 && errno == EINTR);
        if (rc > 0 && (pfd.revents & POLLOUT) != 0)
            std::fflush(stream);
        ::funlockfile(stream);
    }
}

ShutdownWatchdog::State::~State()
{
    if (timerFd >= 0)
        ::close(timerFd);
}

ShutdownWatchdog::ShutdownWatchdog(const QString &threadName)
    : m_state(std::make_shared<State>())
    , m_threadName(threadName)
{
    m_state->phase = QStringLiteral("pending");
}

ShutdownWatchdog::~ShutdownWatchdog()
{
    stop();
}

bool ShutdownWatchdog::park(QString *error)
{
    if (m_thread)
        return true;
    // The timer before the thread, which finds it there (and never sees it change). Without one (no descriptor
    // left, a seccomp filter), the thread sleeps on the condition variable: one wake-up more when it is armed.
    if (m_state->timerFd < 0)
        m_state->timerFd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    // A plain thread: the hard deadline must not depend on Qt's thread machinery either (it ends the process from
    // there, _exit() included).
    auto thread = std::make_unique<ThreadOwner>([state = m_state] { run(state); }, ThreadOwner::Kind::PlainThread);
    thread->setName(m_threadName);
    thread->setDestructionTimeout(kStopTimeout);
    // Started with the bridge's signals blocked, and running under its name once this returns.
    if (!thread->start(error)) {
        if (error != nullptr)
            *error = QStringLiteral("cannot start the watchdog thread: %1").arg(*error);
        return false;
    }
    m_thread = std::move(thread);
    return true;
}

bool ShutdownWatchdog::start(Config config, QString *error)
{
    if (!m_thread && m_state->timerFd < 0)
        m_state->timerFd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); // as park() would, before the thread
    std::chrono::steady_clock::time_point deadline;
    {
        std::lock_guard lock(m_state->mutex);
        m_state->config = std::move(config);
        deadline = std::chrono::steady_clock::now() + m_state->config.timeout;
        m_state->deadline = deadline;
        m_state->armed = true;
    }
    // The kernel holds the deadline: the parked thread sleeps on until it passes. The notification only reaches a
    // thread that waits on the condition variable (no timerfd); with none waiting it makes no system call.
    if (m_state->timerFd >= 0)
        setTimer(*m_state, deadline);
    m_state->wakeUp.notify_all();
    // Parked already: nothing else to do, and nothing that can fail. Otherwise the thread is created now.
    return park(error);
}

void ShutdownWatchdog::stop()
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->stop = true;
    }
    if (m_state->timerFd >= 0)
        setTimer(*m_state, std::nullopt); // expires at once: the thread wakes, finds stop and returns
    m_state->wakeUp.notify_all();
    if (m_thread)
        m_thread->stop(QDeadlineTimer(kStopTimeout));
}

void ShutdownWatchdog::setTimer(const State &state, std::optional<std::chrono::steady_clock::time_point> deadline)
{
    itimerspec spec {};
    int flags = 0;
    if (deadline) {
        // steady_clock is CLOCK_MONOTONIC, the timer's clock: the deadline as an absolute time on it. One that has
        // passed already expires at once.
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
        spec.it_value.tv_sec = time_t(ns / 1000000000);
        spec.it_value.tv_nsec = long(ns % 1000000000);
        flags = TFD_TIMER_ABSTIME;
        if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
            spec.it_value.tv_nsec = 1; // zero would disarm it
    } else {
        spec.it_value.tv_nsec = 1; // relative: now
    }
    ::timerfd_settime(state.timerFd, flags, &spec, nullptr);
}

bool ShutdownWatchdog::waitForDeadline(State &state)
{
    std::unique_lock lock(state.mutex);
    if (state.timerFd >= 0) {
        // The timer expires only at the deadline (armed) or for stop(); anything else (EINTR) sleeps on.
        for (;;) {
            if (state.stop)
                return false;
            if (state.armed && std::chrono::steady_clock::now() >= state.deadline)
                return true;
            lock.unlock();
            std::uint64_t expirations = 0;
            const ssize_t n = ::read(state.timerFd, &expirations, sizeof expirations);
            const int readError = errno;
            lock.lock();
            if (n < 0 && readError != EINTR && readError != EAGAIN)
                break; // cannot happen on a timerfd of ours; should it, the condition variable takes over
        }
    }
    // Parked until the shutdown begins (or the owner goes away), then asleep until the deadline.
    state.wakeUp.wait(lock, [&state] { return state.stop || state.armed; });
    if (state.stop)
        return false;
    return !state.wakeUp.wait_until(lock, state.deadline, [&state] { return state.stop; });
}

void ShutdownWatchdog::setPhase(const QString &name)
{
    std::lock_guard lock(m_state->mutex);
    m_state->phase = name;
}

bool ShutdownWatchdog::claimExit()
{
    return !m_state->exitClaimed.exchange(true, std::memory_order_acq_rel);
}

bool ShutdownWatchdog::hasFired() const
{
    return m_state->fired.load(std::memory_order_acquire);
}

void ShutdownWatchdog::run(const std::shared_ptr<State> &state)
{
    ShutdownLine expiry;
    expiry.kind = ShutdownLine::Kind::Watchdog;
    Config config;
    if (!waitForDeadline(*state))
        return;
    {
        std::lock_guard lock(state->mutex);
        expiry.phase = state->phase;
        config = state->config;
    }
    // The main thread may be finishing right now: only one of us ends the process.
    if (state->exitClaimed.exchange(true, std::memory_order_acq_rel))
        return;
    state->fired.store(true, std::memory_order_release);

    // One line, whatever the provider or the formatter returns: log scrapers read it line by line.
    expiry.diagnostics = config.diagnostics ? oneLine(config.diagnostics()) : QString();
    if (expiry.diagnostics.isEmpty())
        expiry.diagnostics = QStringLiteral("no diagnostics");
    expiry.hardTimeoutMs = qint64(config.timeout.count());
    expiry.exitCode = config.exitCode;
    const QString line =
        oneLine(config.formatter ? config.formatter(expiry) : ShutdownCoordinator::defaultLine(expiry));
    // The main thread may be stuck holding the stdio lock: flush without waiting, then our line, then exit.
    flushStdioWithoutWaiting();
    if (!line.isEmpty())
        writeLineDirect(config.fd, QString(line + QLatin1Char('\n')).toUtf8(), QDeadlineTimer(WritableWaitMs));
    if (config.immediateExit)
        config.immediateExit(config.exitCode);
}

} // namespace Quiesce
