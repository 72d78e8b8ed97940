#pragma once

// The process tree read from /proc, for the tests of worker processes: who is whose child, which process group, a
// zombie or not, and whether a process seen earlier still exists (the same pid AND the same start time, so a
// recycled pid is never mistaken for a survivor).
#include <QtCore/QByteArray>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QList>
#include <QtCore/QSet>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

#include <unistd.h>

namespace ProcTree {

/*! One process as /proc/<pid>/stat shows it. */
struct Proc
{
    qint64 pid = 0;
    qint64 ppid = 0;
    qint64 pgid = 0;
    char state = 0;        //!< R, S, D, T, t, Z, X, ...
    quint64 startTime = 0; //!< clock ticks after boot: with the pid, identifies the process
    QByteArray comm;

    bool isZombie() const { return state == 'Z' || state == 'X'; }
    QString describe() const
    {
        return QStringLiteral("%1(%2 ppid=%3 pgid=%4 state=%5)")
            .arg(QString::fromLocal8Bit(comm))
            .arg(pid)
            .arg(ppid)
            .arg(pgid)
            .arg(QLatin1Char(state));
    }
};

/*! /proc/<pid>/stat parsed; nullopt when the process does not exist (any more). The command name may contain spaces
    and parentheses: the fields are counted after its last ')'. */
inline std::optional<Proc> read(qint64 pid)
{
    QFile file(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QByteArray text = file.readAll();
    const qsizetype open = text.indexOf('(');
    const qsizetype close = text.lastIndexOf(')');
    if (open < 0 || close < open)
        return std::nullopt;
    const QList<QByteArray> fields = text.mid(close + 2).split(' ');
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... starttime(22), numbered as in proc(5).
    if (fields.size() < 20)
        return std::nullopt;
    Proc p;
    p.pid = pid;
    p.comm = text.mid(open + 1, close - open - 1);
    p.state = fields.at(0).isEmpty() ? '?' : fields.at(0).at(0);
    p.ppid = fields.at(1).toLongLong();
    p.pgid = fields.at(2).toLongLong();
    p.startTime = fields.at(19).toULongLong();
    return p;
}

/*! Every process visible now. */
inline QList<Proc> all()
{
    QList<Proc> result;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        bool ok = false;
        const qint64 pid = entry.toLongLong(&ok);
        if (!ok)
            continue;
        if (const auto p = read(pid))
            result.append(*p);
    }
    return result;
}

inline QList<Proc> childrenOf(qint64 pid)
{
    QList<Proc> result;
    const QList<Proc> procs = all();
    for (const Proc &p : procs) {
        if (p.ppid == pid)
            result.append(p);
    }
    return result;
}

/*! The children of \a pid, their children, and so on. */
inline QList<Proc> descendantsOf(qint64 pid)
{
    const QList<Proc> procs = all();
    QList<Proc> result;
    QSet<qint64> parents {pid};
    for (bool grew = true; grew;) {
        grew = false;
        for (const Proc &p : procs) {
            if (parents.contains(p.ppid) && !parents.contains(p.pid)) {
                result.append(p);
                parents.insert(p.pid);
                grew = true;
            }
        }
    }
    return result;
}

/*! The living (not zombie) children of \a parent named \a comm: the worker processes of a quiesce parent. */
inline QList<Proc> workersOf(qint64 parent, const QByteArray &comm = QByteArrayLiteral("quiesce-worker"))
{
    QList<Proc> result;
    const QList<Proc> children = childrenOf(parent);
    for (const Proc &p : children) {
        if (p.comm == comm && !p.isZombie())
            result.append(p);
    }
    return result;
}

inline QList<Proc> zombieChildrenOf(qint64 parent)
{
    QList<Proc> result;
    const QList<Proc> children = childrenOf(parent);
    for (const Proc &p : children) {
        if (p.isZombie())
            result.append(p);
    }
    return result;
}

/*! True while the process seen as \a p runs: same pid, same start time, not a zombie. */
inline bool isAlive(const Proc &p)
{
    const auto now = read(p.pid);
    return now && now->startTime == p.startTime && !now->isZombie();
}

/*! The processes of \a seen still alive, and every living process in one of their process groups (a grandchild
    of a worker, say): what may not be left once the tree was stopped. Empty when nothing survived. */
inline QList<Proc> survivors(const QList<Proc> &seen)
{
    QList<Proc> result;
    QSet<qint64> groups;
    QSet<qint64> pids;
    for (const Proc &p : seen) {
        groups.insert(p.pgid);
        if (isAlive(p)) {
            result.append(p);
            pids.insert(p.pid);
        }
    }
    const QList<Proc> procs = all();
    for (const Proc &p : procs) {
        if (groups.contains(p.pgid) && !p.isZombie() && !pids.contains(p.pid))
            result.append(p);
    }
    return result;
}

inline QString describe(const QList<Proc> &procs)
{
    QStringList text;
    for (const Proc &p : procs)
        text << p.describe();
    return text.isEmpty() ? QStringLiteral("(none)") : text.join(QStringLiteral(", "));
}

/*! The number of open descriptors of \a pid, -1 when it cannot be read. */
inline int fdCount(qint64 pid)
{
    QDir dir(QStringLiteral("/proc/%1/fd").arg(pid));
    if (!dir.exists())
        return -1;
    return int(dir.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System).size());
}

/*! The targets of \a pid's descriptors ("pipe:[123]", "/dev/null", "socket:[9]"), by descriptor number. */
inline QStringList fdTargets(qint64 pid)
{
    QStringList result;
    const QDir dir(QStringLiteral("/proc/%1/fd").arg(pid));
    const QStringList fds = dir.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System, QDir::Name);
    for (const QString &fd : fds) {
        char target[512];
        const ssize_t n = ::readlink(QFile::encodeName(dir.filePath(fd)).constData(), target, sizeof target - 1);
        result << fd + QLatin1Char('=') + (n > 0 ? QString::fromLocal8Bit(target, n) : QStringLiteral("?"));
    }
    return result;
}

} // namespace ProcTree
