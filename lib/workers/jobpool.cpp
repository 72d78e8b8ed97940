#include <Quiesce/jobpool.h>

#include "poollogging_p.h"

#include <QtCore/QStringList>

#include <algorithm>

namespace Quiesce {

Q_LOGGING_CATEGORY(lcPool, "quiesce.pool")

JobPool::JobPool(QObject *parent)
    : QObject(parent)
{}

JobPool::~JobPool() = default;

int JobPool::busyCount() const
{
    const QList<WorkerSnapshot> workers = snapshot();
    return int(std::count_if(workers.cbegin(), workers.cend(), [](const WorkerSnapshot &w) { return w.busy; }));
}

QString StopReport::describe() const
{
    if (allStopped || stuck.isEmpty())
        return QStringLiteral("all workers stopped");
    QStringList parts;
    parts.reserve(stuck.size());
    for (const Stuck &s : stuck) {
        if (s.jobId != 0) {
            parts.append(QStringLiteral("%1 (worker %2) stuck in job %3 for %4 ms")
                             .arg(s.threadName)
                             .arg(s.worker)
                             .arg(s.jobId)
                             .arg(s.busyMs));
        } else {
            parts.append(QStringLiteral("%1 (worker %2) not finished, no job").arg(s.threadName).arg(s.worker));
        }
    }
    return QStringLiteral("%1 worker(s) still running: %2").arg(stuck.size()).arg(parts.join(QStringLiteral("; ")));
}

} // namespace Quiesce
