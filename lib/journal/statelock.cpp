#include "statelock_p.h"

#include "statestoredb_p.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace Quiesce {

namespace {

// acquire() starts over only when a releasing holder removed the file it had just opened; a handful of rounds is
// plenty even against a tight loop of instances starting and stopping.
constexpr int kLockAttempts = 16;

QString errnoText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

// "a FIFO", "a symbolic link", ...: what lstat() found where a regular file must be.
QString typeName(mode_t mode)
{
    if (S_ISFIFO(mode))
        return QStringLiteral("a FIFO");
    if (S_ISSOCK(mode))
        return QStringLiteral("a socket");
    if (S_ISCHR(mode))
        return QStringLiteral("a character device");
    if (S_ISBLK(mode))
        return QStringLiteral("a block device");
    if (S_ISDIR(mode))
        return QStringLiteral("a directory");
    if (S_ISLNK(mode))
        return QStringLiteral("a symbolic link");
    return QStringLiteral("of an unknown type");
}

bool sameFile(const struct stat &a, const struct stat &b)
{
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The holder's pid as it wrote it (informational only); 0 when the file holds none.
qint64 holderPid(int fd)
{
    char buffer[32] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    if (n <= 0)
        return 0;
    bool ok = false;
    const qint64 pid = QByteArray(buffer, n).split('\n').value(0).trimmed().toLongLong(&ok);
    return ok && pid > 0 ? pid : 0;
}

} // namespace

QString canonicalStatePath(const QString &path)
{
    const QFileInfo file(path);
    const QString resolved = file.canonicalFilePath(); // realpath(): empty when the file does not exist
    if (!resolved.isEmpty())
        return resolved;
    const QString directory = QFileInfo(file.absolutePath()).canonicalFilePath();
    if (!directory.isEmpty())
        return QDir(directory).filePath(file.fileName());
    return file.absoluteFilePath();
}

QStringList stateSideFiles(const QString &path)
{
    return {storeWalPath(path), storeShmPath(path), QString(path + QStringLiteral("-journal"))};
}

QString nonRegularStateFile(const QString &path)
{
    QStringList files {path};
    files += stateSideFiles(path);
    for (const QString &name : std::as_const(files)) {
        struct stat info;
        if (::lstat(QFile::encodeName(name).constData(), &info) != 0 || S_ISREG(info.st_mode))
            continue; // missing (SQLite creates it) or a regular file
        if (name == path)
            return storeFileMessage(
                path, QStringLiteral("is %1, not a regular file (left untouched)").arg(typeName(info.st_mode)));
        return storeFileMessage(path,
                                QStringLiteral("cannot be used: %1 is %2, not a regular file (left untouched)")
                                    .arg(name, typeName(info.st_mode)));
    }
    return QString();
}

FileIdentity fileIdentity(const QString &path, int *error)
{
    FileIdentity id;
    struct stat info;
    if (::stat(QFile::encodeName(path).constData(), &info) != 0) {
        if (error != nullptr)
            *error = errno;
        return id;
    }
    id.device = info.st_dev;
    id.inode = info.st_ino;
    id.valid = true;
    if (error != nullptr)
        *error = 0;
    return id;
}

StateLock::~StateLock()
{
    release();
}

QString StateLock::lockPath(const QString &canonicalPath)
{
    return QString(canonicalPath + QStringLiteral(".lock"));
}

bool StateLock::acquire(const QString &canonicalPath, QString *error)
{
    release();
    const QString lock = lockPath(canonicalPath);
    const QByteArray native = QFile::encodeName(lock);
    const auto notRegular = [&](mode_t mode) {
        *error = storeFileMessage(canonicalPath,
                                  QStringLiteral("cannot be locked: %1 is %2, not a regular file (left untouched)")
                                      .arg(lock, typeName(mode)));
        return false;
    };
    const auto cannotLock = [&](const QString &what, int code) {
        *error = storeFileMessage(canonicalPath,
                                  QStringLiteral("cannot be locked (%1 %2: %3)").arg(what, lock, errnoText(code)));
        return false;
    };

    for (int attempt = 0; attempt < kLockAttempts; ++attempt) {
        // lstat() first, so that a device is never even opened; the fstat() below closes the race with a FIFO or
        // device put there in between (O_NONBLOCK: opening a FIFO returns at once instead of waiting for a peer).
        struct stat before;
        if (::lstat(native.constData(), &before) == 0 && !S_ISREG(before.st_mode))
            return notRegular(before.st_mode);
        const int fd =
            ::open(native.constData(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0) {
            const int code = errno;
            if (code == ELOOP)
                return notRegular(S_IFLNK);
            return cannotLock(QStringLiteral("cannot open"), code);
        }
        struct stat opened;
        if (::fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode)) {
            const mode_t mode = opened.st_mode;
            ::close(fd);
            return notRegular(mode);
        }
        int rc = 0;
        do
            rc = ::flock(fd, LOCK_EX | LOCK_NB);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            const int code = errno;
            const qint64 pid = holderPid(fd);
            ::close(fd);
            if (code != EWOULDBLOCK)
                return cannotLock(QStringLiteral("flock"), code);
            *error = storeFileMessage(canonicalPath,
                                      pid > 0 ? QStringLiteral("is in use (locked by process %1)").arg(pid)
                                              : QStringLiteral("is in use by another process"));
            return false;
        }
        // Locked, but perhaps an inode that a releasing holder removed after we opened it: the lock that counts is
        // the one on the file the name refers to now, so start over on that one.
        struct stat current;
        if (::lstat(native.constData(), &current) != 0 || !sameFile(current, opened)) {
            ::close(fd);
            continue;
        }
        // Ours. The pid is for the "in use" message of others only; a failure to write it changes nothing.
        // Written first and cut to its length after, never truncated to zero first: ext4 takes a file truncated to
        // zero and written again for a "replace via truncate" and makes its close() start writeback of the new
        // data (auto_da_alloc), which would put a disk write on the stop path (release() closes this descriptor
        // after the save) for a file that is removed right then anyway. A reader in between sees our pid with the
        // tail of an older one after it, still a first line holderPid() reads as ours.
        char text[32];
        const int length = std::snprintf(text, sizeof text, "%lld\n", static_cast<long long>(::getpid()));
        if (length > 0 && ::pwrite(fd, text, size_t(length), 0) == length && opened.st_size > length)
            (void)!::ftruncate(fd, length);
        m_fd = fd;
        m_lockPath = lock;
        return true;
    }
    *error = storeFileMessage(canonicalPath, QStringLiteral("cannot be locked (%1 keeps being replaced)").arg(lock));
    return false;
}

void StateLock::release()
{
    if (m_fd < 0)
        return;
    // Remove the file while still holding the lock, and only if the name still refers to our file (it may have
    // been removed and re-created by someone else meanwhile): see acquire() for why this cannot let two holders in.
    const QByteArray native = QFile::encodeName(m_lockPath);
    struct stat mine;
    struct stat current;
    if (::fstat(m_fd, &mine) == 0 && ::lstat(native.constData(), &current) == 0 && sameFile(mine, current))
        ::unlink(native.constData());
    ::close(m_fd);
    m_fd = -1;
    m_lockPath.clear();
}

} // namespace Quiesce
