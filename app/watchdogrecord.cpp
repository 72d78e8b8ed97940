#include "watchdogrecord.h"

#include <QtCore/QFile>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace Quiesce::App {

const WorkerSnapshot *stuckWorker(const QList<WorkerSnapshot> &workers)
{
    for (const WorkerSnapshot &w : workers) {
        if (w.hung)
            return &w;
    }
    for (const WorkerSnapshot &w : workers) {
        if (w.busy)
            return &w;
    }
    return nullptr;
}

QJsonObject stuckNote(const WorkerSnapshot &worker, const QString &phase)
{
    return {{QStringLiteral("request"), qint64(worker.jobId)},
            {QStringLiteral("worker"), worker.threadName},
            {QStringLiteral("phase"), phase}};
}

WatchdogRecord withJournalRecord(WatchdogRecord sidecar, const RecoveryInfo &recovery)
{
    if (!recovery.previousStuck)
        return sidecar;
    if (sidecar.present) {
        // The same run (the sidecar names the pid that wrote it): the journal adds the step that overran.
        if (sidecar.pid == recovery.previousPid
            && (sidecar.requestId == 0 || sidecar.requestId == recovery.previousStuckRequest))
            sidecar.phase = recovery.previousStuckPhase;
        return sidecar;
    }
    WatchdogRecord record;
    record.present = true;
    record.fromJournal = true;
    record.pid = recovery.previousPid;
    record.requestId = recovery.previousStuckRequest;
    record.worker = recovery.previousStuckWorker;
    record.phase = recovery.previousStuckPhase;
    return record;
}

QString watchdogRecoveryLine(const WatchdogRecord &record)
{
    QString line = QStringLiteral("RECOVERY previous run (pid %1) was ended by the watchdog (exit 70)").arg(record.pid);
    if (!record.phase.isEmpty())
        line += QStringLiteral(" in phase %1").arg(record.phase);
    if (record.requestId != 0)
        line += QStringLiteral(": request %1 on %2 did not respond").arg(record.requestId).arg(record.worker);
    return line;
}

QString watchdogRecordPath(const QString &statePath)
{
    return statePath + QStringLiteral(".watchdog");
}

void writeWatchdogRecord(const QByteArray &path, const QList<WorkerSnapshot> &workers)
{
    const WorkerSnapshot *stuck = stuckWorker(workers);
    QByteArray line = "pid=" + QByteArray::number(qint64(::getpid()));
    if (stuck != nullptr) {
        line += " request=" + QByteArray::number(stuck->jobId) + " worker=" + stuck->threadName.toUtf8()
            + " elapsed_ms=" + QByteArray::number(stuck->elapsedMs);
    }
    line += '\n';
    const int fd = ::open(path.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    qsizetype written = 0;
    while (written < line.size()) {
        const ssize_t n = ::write(fd, line.constData() + written, size_t(line.size() - written));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        written += n;
    }
    ::close(fd);
}

WatchdogRecord takeWatchdogRecord(const QString &statePath)
{
    WatchdogRecord record;
    QFile file(watchdogRecordPath(statePath));
    if (!file.open(QIODevice::ReadOnly))
        return record;
    const QByteArray line = file.readLine(4096).trimmed();
    file.close();
    file.remove();
    record.present = true;
    for (const QByteArray &pair : line.split(' ')) {
        const qsizetype eq = pair.indexOf('=');
        if (eq <= 0)
            continue;
        const QByteArray key = pair.left(eq);
        const QByteArray value = pair.mid(eq + 1);
        if (key == "pid")
            record.pid = value.toLongLong();
        else if (key == "request")
            record.requestId = value.toULongLong();
        else if (key == "worker")
            record.worker = QString::fromUtf8(value);
        else if (key == "elapsed_ms")
            record.elapsedMs = value.toLongLong();
    }
    return record;
}

} // namespace Quiesce::App
