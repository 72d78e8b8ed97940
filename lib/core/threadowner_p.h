#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: the data of a ThreadOwner.
//

#include <QtCore/QThread>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace Quiesce {

class ThreadOwnerPrivate
{
public:
    /* Decides which side deletes a leaked thread: the owner (it finished just as the owner gave up on it) or the
       thread's own finished() (it finishes later). Shared with the connection, which may outlive the owner. */
    enum : int { Owned, Leaked, Finished };

    // Kind::PlainThread: the function, its thread, and whether it returned (shared: a leaked thread outlives us).
    struct Plain
    {
        std::mutex mutex;
        std::condition_variable returned;
        bool done = false; // guarded by mutex
    };

    QThread *thread = nullptr;
    std::function<void()> plainFunction;
    std::thread plainThread;
    std::shared_ptr<Plain> plain;
    QString name;
    bool started = false;
    std::shared_ptr<std::atomic<int>> fate = std::make_shared<std::atomic<int>>(Owned);
    std::chrono::milliseconds destructionTimeout {5000};
};

} // namespace Quiesce
