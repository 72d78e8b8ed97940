#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: the data of a ThreadOwner.
//

#include <QtCore/QSemaphore>
#include <QtCore/QThread>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include <pthread.h>

namespace Quiesce {

class ThreadOwnerPrivate
{
public:
    /* Decides which side deletes a leaked thread: the owner (it finished just as the owner gave up on it) or the
       thread's own finished() (it finishes later). Shared with the connection, which may outlive the owner. */
    enum : int { Owned, Leaked, Finished };

    QThread *thread = nullptr;
    // Kind::PlainThread: the function and, once started, its pthread. A raw pthread rather than a std::thread, so
    // that stop() can wait for its end with a deadline in one join (pthread_timedjoin_np), without a hand-off from
    // the thread first.
    std::function<void()> plainFunction;
    bool plain = false;
    pthread_t plainThread {};
    QString name;
    bool started = false;
    std::shared_ptr<QSemaphore> running; //!< released by the QThread when it runs; null once waited for
    std::shared_ptr<std::atomic<int>> fate = std::make_shared<std::atomic<int>>(Owned);
    std::chrono::milliseconds destructionTimeout {5000};
};

} // namespace Quiesce
