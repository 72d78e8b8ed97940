#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: the data of a ThreadOwner.
//

#include <QtCore/QThread>

#include <atomic>
#include <chrono>
#include <memory>

namespace Quiesce {

class ThreadOwnerPrivate
{
public:
    /* Decides which side deletes a leaked thread: the owner (it finished just as the owner gave up on it) or the
       thread's own finished() (it finishes later). Shared with the connection, which may outlive the owner. */
    enum : int { Owned, Leaked, Finished };

    QThread *thread = nullptr;
    bool started = false;
    std::shared_ptr<std::atomic<int>> fate = std::make_shared<std::atomic<int>>(Owned);
    std::chrono::milliseconds destructionTimeout {5000};
};

} // namespace Quiesce
