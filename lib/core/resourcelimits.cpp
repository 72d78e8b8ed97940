#include "resourcelimits.h"

#include <QtCore/QMutex>
#include <QtCore/QThread>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

namespace Quiesce {

namespace {

static_assert(std::atomic<rlim_t>::is_always_lock_free, "the child reads the saved limit after fork()");

// Written once by raiseDescriptorLimit() before any child can be forked; read in the child (async-signal-safe).
std::atomic<bool> s_raised {false};
std::atomic<rlim_t> s_originalSoft {0};
std::atomic<rlim_t> s_hard {0};
std::atomic<int> s_openAtStart {0};

QString errnoText(const char *what, int error)
{
    return QStringLiteral("%1 failed: %2").arg(QLatin1StringView(what), QString::fromLocal8Bit(std::strerror(error)));
}

// Descriptors open now whose number is below \a limit: only those take the slots the limit counts (open()
// returns the lowest free number and fails with EMFILE once none below the limit is free).
int openDescriptorsBelow(rlim_t limit)
{
    int count = 0;
    if (DIR *dir = ::opendir("/proc/self/fd")) {
        const int own = ::dirfd(dir); // the listing's own descriptor is closed again below
        while (const dirent *entry = ::readdir(dir)) {
            char *end = nullptr;
            const unsigned long fd = std::strtoul(entry->d_name, &end, 10);
            if (end != entry->d_name && *end == '\0' && fd < limit && int(fd) != own)
                ++count;
        }
        ::closedir(dir);
        return count;
    }
    // No /proc: ask every descriptor number up to a sane bound.
    const rlim_t bound = std::min<rlim_t>(limit, 65536);
    for (rlim_t fd = 0; fd < bound; ++fd) {
        if (::fcntl(int(fd), F_GETFD) != -1)
            ++count;
    }
    return count;
}

// QThread::start() reports a failed pthread_create() only with this warning (Qt 6.4, qthread_unix.cpp); the
// caller of startThread() reports the failure itself, once, so the warning is taken out of the log.
constexpr QLatin1StringView kThreadCreationWarning("QThread::start: Thread creation error");

QMutex s_startMutex; // one startThread() at a time: the filter below is process-wide while it is installed
QtMessageHandler s_previousHandler = nullptr;
QString s_swallowed;

void filterThreadCreationWarning(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    // Any thread may log while the filter is installed: everything but Qt's thread creation warning goes on.
    if (message.startsWith(kThreadCreationWarning)) {
        s_swallowed = message;
        return;
    }
    s_previousHandler(type, context, message);
}

} // namespace

bool ResourceLimits::raiseDescriptorLimit(QString *error)
{
    rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        *error = errnoText("getrlimit(RLIMIT_NOFILE)", errno);
        return false;
    }
    s_originalSoft.store(limit.rlim_cur, std::memory_order_relaxed);
    s_hard.store(limit.rlim_max, std::memory_order_relaxed);
    if (limit.rlim_cur != limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
            *error = errnoText("setrlimit(RLIMIT_NOFILE)", errno);
            s_openAtStart.store(openDescriptorsBelow(limit.rlim_cur), std::memory_order_relaxed);
            return false;
        }
    }
    s_openAtStart.store(openDescriptorsBelow(limit.rlim_max), std::memory_order_relaxed);
    s_raised.store(true, std::memory_order_release);
    return true;
}

quint64 ResourceLimits::descriptorLimit()
{
    rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 0;
    return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<quint64>::max() : quint64(limit.rlim_cur);
}

int ResourceLimits::descriptorsOpenAtStart()
{
    return s_openAtStart.load(std::memory_order_relaxed);
}

void ResourceLimits::restoreDescriptorLimitInChild() noexcept
{
    // Between fork() and exec(): atomics and setrlimit() only.
    if (!s_raised.load(std::memory_order_acquire))
        return;
    rlimit limit {};
    limit.rlim_cur = s_originalSoft.load(std::memory_order_relaxed);
    limit.rlim_max = s_hard.load(std::memory_order_relaxed);
    ::setrlimit(RLIMIT_NOFILE, &limit);
}

bool ResourceLimits::startThread(QThread *thread, QString *error)
{
    const QMutexLocker locker(&s_startMutex);
    s_swallowed.clear();
    s_previousHandler = qInstallMessageHandler(&filterThreadCreationWarning);
    thread->start();
    // Put the previous handler back; should someone have installed another one in between, that one stays.
    const QtMessageHandler current = qInstallMessageHandler(s_previousHandler);
    if (current != &filterThreadCreationWarning)
        qInstallMessageHandler(current);
    // A thread that started and already ended still started; one that never ran is neither running nor finished.
    if (thread->isRunning() || thread->isFinished())
        return true;
    if (error != nullptr) {
        QString reason = s_swallowed.mid(kThreadCreationWarning.size()).trimmed();
        if (reason.startsWith(QLatin1Char(':')))
            reason = reason.mid(1).trimmed();
        if (reason.startsWith(QLatin1Char('(')) && reason.endsWith(QLatin1Char(')')))
            reason = reason.mid(1, reason.size() - 2);
        *error = QStringLiteral("cannot start thread %1: %2")
                     .arg(thread->objectName(), reason.isEmpty() ? QStringLiteral("pthread_create failed") : reason);
    }
    return false;
}

} // namespace Quiesce
