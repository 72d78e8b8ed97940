#include "procstatus.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QString>

namespace ProcStatus {

namespace {

QString processDir(qint64 pid)
{
    return pid == 0 ? QStringLiteral("/proc/self") : QStringLiteral("/proc/%1").arg(pid);
}

} // namespace

quint64 maskFromText(const QByteArray &statusText, const QByteArray &field)
{
    const QByteArray key = field + ':';
    const QList<QByteArray> lines = statusText.split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith(key))
            return line.mid(key.size()).trimmed().toULongLong(nullptr, 16);
    }
    return 0;
}

quint64 mask(qint64 pid, qint64 tid, const QByteArray &field)
{
    const QString path = tid == 0 ? processDir(pid) + QStringLiteral("/status")
                                  : processDir(pid) + QStringLiteral("/task/%1/status").arg(tid);
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return 0;
    return maskFromText(file.readAll(), field);
}

quint64 signalBit(int signo)
{
    return quint64(1) << (signo - 1);
}

QList<qint64> threadsNamed(qint64 pid, const QByteArray &prefix)
{
    QList<qint64> tids;
    const QDir taskDir(processDir(pid) + QStringLiteral("/task"));
    const QStringList entries = taskDir.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        QFile comm(taskDir.filePath(entry + QStringLiteral("/comm")));
        if (comm.open(QIODevice::ReadOnly) && comm.readAll().startsWith(prefix))
            tids.append(entry.toLongLong());
    }
    return tids;
}

} // namespace ProcStatus
