#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: an implementation detail of ShutdownCoordinator.
//

#include "shutdowncoordinator.h"
#include "threadowner.h"

#include <QtCore/QString>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace Quiesce {

/* The hard deadline of the quit path, on a thread of its own. It must fire even when the main thread is stuck (a
   busy loop, a blocking system call, a deadlock), so it depends on nothing of the main thread: no event loop of
   its, no QObject of its, no Qt lock. The thread may be parked long before the shutdown (see park()). It sleeps in
   a read() of a timerfd that start() arms with the deadline, so arming it wakes nobody: the thread first runs when
   the deadline passes or when stop() makes the timer expire at once. (A wake-up of a sleeping thread costs some
   0.1-0.3 ms on a small virtual machine, on the path from the stop signal to its first line.) Without a timerfd
   (none could be created), it sleeps on a condition variable that start() and stop() notify.

   Exactly one party may end the process: the coordinator (normal or immediate exit) or the watchdog. Both claim
   the exit through claimExit() first; whoever loses stands down. */
class ShutdownWatchdog
{
public:
    struct Config
    {
        std::chrono::milliseconds timeout {0};
        std::function<QString()> diagnostics; // runs on the watchdog thread
        ShutdownLineFormatter formatter;      // runs on the watchdog thread; empty: defaultLine()
        std::function<void(int)> immediateExit;
        int fd = 1;
        int exitCode = 70;
    };

    /* \a threadName: the thread's name (15 characters at most on Linux). */
    explicit ShutdownWatchdog(const QString &threadName);
    /* Stops and joins the thread (bounded; see stop()). */
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
    /* Wakes the thread and joins it. A thread told to stop returns at once, unless it is in the middle of firing
       (then it is ending the process anyway): the join waits kStopTimeout at most, then leaves it (ThreadOwner).
       Safe to call more than once. */
    void stop();

    /* The phase named in the watchdog line; called by the main thread as phases start. */
    void setPhase(const QString &name);

    /* Returns true if the caller may end the process, false if the other party already does. */
    bool claimExit();
    /* True once the watchdog claimed the exit (it wrote its line and called the immediate exit function). */
    bool hasFired() const;

private:
    // Shared with the thread: a thread left running by a bounded stop() must never find it gone.
    struct State
    {
        State() = default;
        State(const State &) = delete;
        State &operator=(const State &) = delete;
        ~State(); // closes timerFd: nobody waits on it any more

        int timerFd = -1; // CLOCK_MONOTONIC; -1: the condition variable instead. Set before the thread starts.
        std::mutex mutex;
        std::condition_variable wakeUp;
        Config config;                                  // guarded by mutex
        bool armed = false;                             // guarded by mutex
        bool stop = false;                              // guarded by mutex
        QString phase;                                  // guarded by mutex
        std::chrono::steady_clock::time_point deadline; // guarded by mutex
        std::atomic<bool> exitClaimed {false};
        std::atomic<bool> fired {false};
    };
    static void run(const std::shared_ptr<State> &state);
    // Sleeps until the watchdog must fire (true) or stop (false).
    static bool waitForDeadline(State &state);
    // Makes the timer expire at \a deadline, or at once (a wake-up for stop()) if \a deadline is empty.
    static void setTimer(const State &state, std::optional<std::chrono::steady_clock::time_point> deadline);

    std::shared_ptr<State> m_state;
    QString m_threadName;
    std::unique_ptr<ThreadOwner> m_thread;
};

/* Flushes stdout and stderr unless another thread holds their locks or the descriptor would block for long: the
   caller is about to _exit() and must not hang on a stdio lock that a stuck thread holds. */
void flushStdioWithoutWaiting();

} // namespace Quiesce
