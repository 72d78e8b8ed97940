#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: an implementation detail of ShutdownCoordinator.
//

#include <QtCore/QByteArray>
#include <QtCore/QString>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace Quiesce {

/* The hard deadline of the quit path, on a thread of its own. It must fire even when the main thread is stuck (a
   busy loop, a blocking system call, a deadlock), so it depends on nothing of the main thread: no event loop, no
   QObject, no Qt lock. It sleeps on a condition variable until start() (the thread may be parked long before, see
   park()), then until the deadline or until stop().

   Exactly one party may end the process: the coordinator (normal or immediate exit) or the watchdog. Both claim
   the exit through claimExit() first; whoever loses stands down. */
class ShutdownWatchdog
{
public:
    struct Config
    {
        std::chrono::milliseconds timeout {0};
        std::function<QString()> diagnostics; // runs on the watchdog thread
        std::function<void(int)> immediateExit;
        int fd = 1;
        int exitCode = 70;
    };

    ShutdownWatchdog();
    /* Stops and joins the thread: the watchdog never outlives its owner. */
    ~ShutdownWatchdog();

    ShutdownWatchdog(const ShutdownWatchdog &) = delete;
    ShutdownWatchdog &operator=(const ShutdownWatchdog &) = delete;

    /* Creates the thread ahead of time; it sleeps until start() or stop(). With the thread parked at startup, the
       shutdown itself creates no thread: the hard deadline holds even when the system cannot create one any more
       by then (a pids limit, memory), and the stop path saves a clone(). Returns false (and fills \a error) if no
       thread could be created. */
    bool park(QString *error);
    /* Arms the watchdog with \a config; the deadline counts from now. Wakes the parked thread, or creates it if
       park() was not called. Returns false (and fills \a error) if no thread could be created, in which case
       nothing bounds the shutdown but the phases' budgets. */
    bool start(Config config, QString *error);
    /* Wakes the thread and joins it. Joining is bounded: a thread told to stop returns at once, unless it is in
       the middle of firing (then it is ending the process anyway). Safe to call more than once. */
    void stop();

    /* The phase named in the watchdog line; called by the main thread as phases start. */
    void setPhase(const QString &name);

    /* Returns true if the caller may end the process, false if the other party already does. */
    bool claimExit();
    /* True once the watchdog claimed the exit (it wrote its line and called the immediate exit function). */
    bool hasFired() const;

private:
    void run();

    std::thread m_thread;
    std::mutex m_mutex;
    std::condition_variable m_wakeUp;
    Config m_config;                                  // guarded by m_mutex
    bool m_armed = false;                             // guarded by m_mutex
    bool m_stop = false;                              // guarded by m_mutex
    QString m_phase;                                  // guarded by m_mutex
    std::chrono::steady_clock::time_point m_deadline; // guarded by m_mutex
    std::atomic<bool> m_exitClaimed {false};
    std::atomic<bool> m_fired {false};
};

/* Flushes stdout and stderr unless another thread holds their locks or the descriptor would block for long: the
   caller is about to _exit() and must not hang on a stdio lock that a stuck thread holds. */
void flushStdioWithoutWaiting();

/* Writes \a line to \a fd with ::write() (no Qt, no locks), retrying on EINTR and partial writes, giving up after
   a bounded wait if the descriptor stays unwritable (e.g. a full pipe nobody reads). */
void writeLineDirect(int fd, const QByteArray &line);

} // namespace Quiesce
