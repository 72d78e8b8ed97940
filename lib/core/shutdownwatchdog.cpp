#include "shutdownwatchdog_p.h"

#include "unixsignalnotifier.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <system_error>

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

namespace Quiesce {

namespace {

// How long the exit paths wait for a descriptor to accept their line before they give up on it: the process must
// end even when nobody reads its output.
constexpr int WritableWaitMs = 1000;

bool waitWritable(int fd)
{
    pollfd pfd {fd, POLLOUT, 0};
    int rc;
    do {
        rc = ::poll(&pfd, 1, WritableWaitMs);
    } while (rc < 0 && errno == EINTR);
    return rc > 0 && (pfd.revents & POLLOUT) != 0;
}

} // namespace

void flushStdioWithoutWaiting()
{
    // ftrylockfile: a thread stuck inside printf() holds the stream's lock, and fflush() would wait for it forever.
    // stdio locks are recursive, so fflush() inside our own lock does not wait.
    for (FILE *stream : {stdout, stderr}) {
        if (::ftrylockfile(stream) != 0)
            continue;
        if (waitWritable(::fileno(stream)))
            std::fflush(stream);
        ::funlockfile(stream);
    }
}

void writeLineDirect(int fd, const QByteArray &line)
{
    if (fd < 0)
        return;
    const char *data = line.constData();
    qsizetype left = line.size();
    while (left > 0) {
        if (!waitWritable(fd))
            return;
        const ssize_t n = ::write(fd, data, size_t(left));
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return;
        }
        data += n;
        left -= n;
    }
}

ShutdownWatchdog::ShutdownWatchdog()
    : m_phase(QStringLiteral("pending"))
{}

ShutdownWatchdog::~ShutdownWatchdog()
{
    stop();
}

bool ShutdownWatchdog::park(QString *error)
{
    if (m_thread.joinable())
        return true;
    // A new thread inherits the creator's signal mask: block the bridge's signals around the creation, so that
    // the watchdog never has a moment in which it could take one. Pending signals arrive once the mask is back.
    const sigset_t handled = UnixSignalNotifier::handledSignals();
    sigset_t previous;
    const bool masked = ::pthread_sigmask(SIG_BLOCK, &handled, &previous) == 0;
    bool started = true;
    try {
        // The one place that meets an exception: std::thread reports a failed pthread_create by throwing.
        m_thread = std::thread([this] { run(); });
    } catch (const std::system_error &e) {
        if (error != nullptr)
            *error = QStringLiteral("cannot start the watchdog thread: %1").arg(QString::fromLocal8Bit(e.what()));
        started = false;
    }
    if (masked)
        ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (started) {
        // Named by the creator, so the name is there as soon as park() returns (15 characters is the limit).
        ::pthread_setname_np(m_thread.native_handle(), "quiesce-watchdg");
    }
    return started;
}

bool ShutdownWatchdog::start(Config config, QString *error)
{
    {
        std::lock_guard lock(m_mutex);
        m_config = std::move(config);
        m_deadline = std::chrono::steady_clock::now() + m_config.timeout;
        m_armed = true;
    }
    m_wakeUp.notify_all();
    // Parked already: nothing else to do, and nothing that can fail. Otherwise the thread is created now.
    return park(error);
}

void ShutdownWatchdog::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wakeUp.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

void ShutdownWatchdog::setPhase(const QString &name)
{
    std::lock_guard lock(m_mutex);
    m_phase = name;
}

bool ShutdownWatchdog::claimExit()
{
    return !m_exitClaimed.exchange(true, std::memory_order_acq_rel);
}

bool ShutdownWatchdog::hasFired() const
{
    return m_fired.load(std::memory_order_acquire);
}

void ShutdownWatchdog::run()
{
    // The bridge's signals belong to the main thread's event loop; the watchdog must not take them. start() had
    // them blocked already; this also covers a signal that was watched only in between. The handler would be
    // correct on this thread too, so a failure is not fatal.
    UnixSignalNotifier::blockHandledSignalsInCurrentThread();

    QString phase;
    Config config;
    {
        std::unique_lock lock(m_mutex);
        // Parked until the shutdown begins (or the owner goes away), then asleep until the deadline.
        m_wakeUp.wait(lock, [this] { return m_stop || m_armed; });
        if (m_stop)
            return;
        if (m_wakeUp.wait_until(lock, m_deadline, [this] { return m_stop; }))
            return;
        phase = m_phase;
        config = m_config;
    }
    // The main thread may be finishing right now: only one of us ends the process.
    if (!claimExit())
        return;
    m_fired.store(true, std::memory_order_release);

    QString diagnostics = config.diagnostics ? config.diagnostics() : QString();
    // One line, whatever the provider returns: the end-to-end tests and log scrapers read it line by line.
    diagnostics.replace(QLatin1Char('\n'), QLatin1Char(' ')).replace(QLatin1Char('\r'), QLatin1Char(' '));
    if (diagnostics.isEmpty())
        diagnostics = QStringLiteral("no diagnostics");
    const QString line = QStringLiteral("SHUTDOWN watchdog: hard deadline of %1 ms passed in phase %2; %3; exit=%4\n")
                             .arg(qint64(config.timeout.count()))
                             .arg(phase, diagnostics)
                             .arg(config.exitCode);
    // The main thread may be stuck holding the stdio lock: flush without waiting, then our line, then exit.
    flushStdioWithoutWaiting();
    writeLineDirect(config.fd, line.toUtf8());
    if (config.immediateExit)
        config.immediateExit(config.exitCode);
}

} // namespace Quiesce
