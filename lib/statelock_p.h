#pragma once

// Private to the state store: which file the journal really is (its canonical path and identity), whether the
// files next to it are safe to open, and the single-instance lock. Not installed.

#include <QtCore/QString>
#include <QtCore/QStringList>

#include <sys/types.h>

namespace Quiesce {

/*! \brief The canonical form of the state path \a path: realpath() of the file when it exists, else realpath() of
    its directory plus the file name, else the absolute path. Every name the store derives (the lock file, the
    -wal/-shm SQLite opens, what path() and inspect report) comes from this one, so two paths to one file (a
    symlink, "..", a bind of the directory) are one journal and one lock. Hard links are not resolved: two hard
    links to one inode are two names (a documented gap). */
QString canonicalStatePath(const QString &path);

/*! The files SQLite may open next to the journal \a path: -wal, -shm and a rollback -journal. */
QStringList stateSideFiles(const QString &path);

/*! \brief lstat()s \a path and its side files (stateSideFiles()) without opening any of them. Returns an empty
    string when each one that exists is a regular file; else one message naming the first that is not (a FIFO,
    socket, device, directory or symbolic link), which is then left untouched. Opening a FIFO blocks, and SQLite
    deletes a -wal it cannot use: both must be refused before SQLite sees the path. */
QString nonRegularStateFile(const QString &path);

/*! Which inode a path names: device and inode number, from stat(). */
struct FileIdentity
{
    dev_t device = 0;
    ino_t inode = 0;
    bool valid = false;

    bool operator==(const FileIdentity &other) const = default;
};

/*! The identity of the file at \a path (following links); invalid when it does not exist. \a error gets errno. */
FileIdentity fileIdentity(const QString &path, int *error = nullptr);

/*! \brief The single-instance lock of one journal: flock() on "<canonical path>.lock", held on an open descriptor
    for as long as this object holds it.

    Staleness is decided by the kernel, never by the pid in the file: a lock file left by a process that died
    (kill -9, a container restart where the new process has the same pid 1) is simply taken, and a live holder
    is always seen, whatever its pid namespace. The pid written into the file only names the holder in the
    "in use" message. The lock file is opened O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC and must be a regular file: a
    FIFO, device or symbolic link there is refused untouched (opening a FIFO would block start-up). Children never
    inherit the descriptor, so they cannot keep the lock alive after we die.

    Never an fcntl() lock on the SQLite file itself: closing any descriptor of that file would drop SQLite's own
    locks. On network filesystems flock() may be local to one machine (a documented gap). */
class StateLock
{
public:
    StateLock() = default;
    ~StateLock();
    StateLock(const StateLock &) = delete;
    StateLock &operator=(const StateLock &) = delete;

    /*! Takes the lock of the journal at \a canonicalPath without waiting. False with one message in \a error
        ("state file <path> is in use (locked by process N)", or why the lock file cannot be used). */
    bool acquire(const QString &canonicalPath, QString *error);
    /*! Removes the lock file while still holding it, then closes it (and so releases the lock). A process that
        opened the file just before the removal takes a lock on an unlinked inode, sees that in acquire() and
        starts over on the new file: removing is safe, and no lock file is left behind. */
    void release();
    bool isLocked() const { return m_fd >= 0; }

    /*! "<canonical path>.lock". */
    static QString lockPath(const QString &canonicalPath);

private:
    int m_fd = -1;
    QString m_lockPath;
};

} // namespace Quiesce
