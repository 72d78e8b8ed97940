/* An LD_PRELOAD shim that makes the disk "full" (or failing) for one file family, on demand.

   Environment (read once, when the library is loaded):
     QUIESCE_FAULT_MATCH    substring of the file path that is affected, e.g. "state.sqlite" (which also covers
                            its -wal, -shm, -journal and .lock). Unset or empty: the shim does nothing.
     QUIESCE_FAULT_TRIGGER  path of the trigger file: faults are injected only while it exists, so a test arms
                            and disarms them at the right moment (or the process arms them itself, e.g. from a
                            --pre-stop command).
     QUIESCE_FAULT_ERRNO    "ENOSPC" (default) or "EIO": the errno of a failed call.
     QUIESCE_FAULT_DELAY_MS optional: a positive number turns failures into stalls — each affected call sleeps that
                            long (nanosleep, resumed after a signal) and then runs normally, as on a disk that
                            hangs for seconds per write. QUIESCE_FAULT_ERRNO is then unused.
     QUIESCE_FAULT_LOG      optional: one line per injected fault is appended there ("pwrite64 /path"), so a test
                            can tell that faults really happened.

   Intercepted: every call SQLite's unix VFS uses to change a file on Linux (pwrite64/pwrite, write, fdatasync,
   fsync, ftruncate, fallocate/posix_fallocate), plus writev/pwritev for completeness. Everything else — stdout and
   stderr pipes, sockets, other files — passes straight through.

   write() is called from signal handlers (the signal bridge writes one byte per signal), so everything on that
   path is async-signal-safe: no locks, no allocation, only system calls. The fd -> "matches?" answer is cached per
   fd and validated with fstat() (device + inode), so a reused descriptor is never answered for its old file. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FI_EXPORT __attribute__((visibility("default")))

enum { kMaxCachedFd = 4096, kPathMax = 4096 };

static char s_match[256];
static char s_trigger[kPathMax];
static char s_log[kPathMax];
static int s_errno = ENOSPC;
static long s_delay_ms; /* > 0: stall instead of failing */
static int s_enabled;   /* set once in the constructor, read-only afterwards */

/* A seqlock per fd: writers take the slot with a CAS on 'busy', readers retry on a changed sequence. */
struct fd_slot
{
    atomic_uint seq;
    atomic_int busy;
    atomic_ulong dev;
    atomic_ulong ino;
    atomic_int match;
};
static struct fd_slot s_slots[kMaxCachedFd];

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*fsync_fn)(int);
typedef int (*ftruncate_fn)(int, off_t);
typedef int (*ftruncate64_fn)(int, off64_t);
typedef int (*fallocate_fn)(int, int, off_t, off_t);
typedef int (*posix_fallocate_fn)(int, off_t, off_t);

static write_fn real_write;
static pwrite_fn real_pwrite;
static pwrite64_fn real_pwrite64;
static writev_fn real_writev;
static pwritev_fn real_pwritev;
static fsync_fn real_fsync;
static fsync_fn real_fdatasync;
static ftruncate_fn real_ftruncate;
static ftruncate64_fn real_ftruncate64;
static fallocate_fn real_fallocate;
static posix_fallocate_fn real_posix_fallocate;

/* POSIX's way to turn dlsym()'s object pointer into a function pointer (a cast is not ISO C). */
#define RESOLVE(var, name)                                                                                             \
    do {                                                                                                               \
        void *symbol_ = dlsym(RTLD_NEXT, name);                                                                        \
        memcpy(&(var), &symbol_, sizeof symbol_);                                                                      \
    } while (0)

static void resolve_all(void)
{
    RESOLVE(real_write, "write");
    RESOLVE(real_pwrite, "pwrite");
    RESOLVE(real_pwrite64, "pwrite64");
    RESOLVE(real_writev, "writev");
    RESOLVE(real_pwritev, "pwritev");
    RESOLVE(real_fsync, "fsync");
    RESOLVE(real_fdatasync, "fdatasync");
    RESOLVE(real_ftruncate, "ftruncate");
    RESOLVE(real_ftruncate64, "ftruncate64");
    RESOLVE(real_fallocate, "fallocate");
    RESOLVE(real_posix_fallocate, "posix_fallocate");
}

/* Resolved before main(); a call that comes even earlier resolves then (never from a signal handler, which
   cannot run before the process installed one, long after the constructors). */
#define REAL(name) (real_##name ? real_##name : (resolve_all(), real_##name))

__attribute__((constructor)) static void faultinject_init(void)
{
    resolve_all();

    const char *match = getenv("QUIESCE_FAULT_MATCH");
    const char *trigger = getenv("QUIESCE_FAULT_TRIGGER");
    const char *err = getenv("QUIESCE_FAULT_ERRNO");
    const char *log = getenv("QUIESCE_FAULT_LOG");
    if (match == NULL || match[0] == '\0' || trigger == NULL || trigger[0] == '\0')
        return;
    if (strlen(match) >= sizeof s_match || strlen(trigger) >= sizeof s_trigger)
        return;
    strcpy(s_match, match);
    strcpy(s_trigger, trigger);
    if (log != NULL && strlen(log) < sizeof s_log)
        strcpy(s_log, log);
    if (err != NULL && strcmp(err, "EIO") == 0)
        s_errno = EIO;
    const char *delay = getenv("QUIESCE_FAULT_DELAY_MS");
    if (delay != NULL)
        s_delay_ms = strtol(delay, NULL, 10);
    s_enabled = 1;
}

static int path_matches(int fd)
{
    char link[64];
    char path[kPathMax];
    /* "/proc/self/fd/<fd>" without snprintf (not async-signal-safe). */
    static const char prefix[] = "/proc/self/fd/";
    char digits[16];
    int n = 0;
    unsigned value = (unsigned)fd;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && n < (int)sizeof digits);
    memcpy(link, prefix, sizeof prefix - 1);
    for (int i = 0; i < n; ++i)
        link[sizeof prefix - 1 + (size_t)i] = digits[n - 1 - i];
    link[sizeof prefix - 1 + (size_t)n] = '\0';
    const ssize_t len = readlink(link, path, sizeof path - 1);
    if (len <= 0)
        return 0;
    path[len] = '\0';
    return strstr(path, s_match) != NULL;
}

/* Whether fd refers to an affected file; cached per fd, validated by device and inode. */
static int fd_matches(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 0;
    if (!S_ISREG(st.st_mode))
        return 0; /* pipes (stdout, stderr), sockets (the signal bridge), devices: never */
    if (fd < 0 || fd >= kMaxCachedFd)
        return path_matches(fd);

    struct fd_slot *slot = &s_slots[fd];
    for (int attempt = 0; attempt < 4; ++attempt) {
        const unsigned before = atomic_load(&slot->seq);
        if (before & 1u)
            break; /* being written right now: answer without the cache */
        const unsigned long dev = atomic_load(&slot->dev);
        const unsigned long ino = atomic_load(&slot->ino);
        const int match = atomic_load(&slot->match);
        if (atomic_load(&slot->seq) != before)
            continue;
        if (before != 0 && dev == (unsigned long)st.st_dev && ino == (unsigned long)st.st_ino)
            return match;
        break;
    }

    const int match = path_matches(fd);
    int expected = 0;
    if (atomic_compare_exchange_strong(&slot->busy, &expected, 1)) {
        atomic_fetch_add(&slot->seq, 1u); /* odd: readers stay away */
        atomic_store(&slot->dev, (unsigned long)st.st_dev);
        atomic_store(&slot->ino, (unsigned long)st.st_ino);
        atomic_store(&slot->match, match);
        atomic_fetch_add(&slot->seq, 1u); /* even and non-zero: valid */
        atomic_store(&slot->busy, 0);
    }
    return match;
}

static void log_fault(const char *what, int fd)
{
    if (s_log[0] == '\0')
        return;
    const int logfd = open(s_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
        return;
    char line[kPathMax + 64];
    size_t used = strlen(what);
    memcpy(line, what, used);
    line[used++] = ' ';
    char path[kPathMax];
    char link[32] = "/proc/self/fd/";
    /* fd fits easily: reuse the digit logic of path_matches() in short form. */
    char digits[16];
    int n = 0;
    unsigned value = (unsigned)fd;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && n < (int)sizeof digits);
    size_t l = strlen(link);
    for (int i = 0; i < n; ++i)
        link[l++] = digits[n - 1 - i];
    link[l] = '\0';
    const ssize_t len = readlink(link, path, sizeof path - 1);
    if (len > 0) {
        memcpy(line + used, path, (size_t)len);
        used += (size_t)len;
    }
    line[used++] = '\n';
    REAL(write)(logfd, line, used);
    close(logfd);
}

/* The whole delay, even when a signal interrupts the sleep: nanosleep only (async-signal-safe). */
static void stall(void)
{
    struct timespec left = {s_delay_ms / 1000, (s_delay_ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {}
}

/* Decides whether this call fails (or, in delay mode, stalls it and lets it run). Keeps errno intact when it does
   not fail. */
static int should_fail(const char *what, int fd)
{
    if (!s_enabled)
        return 0;
    const int saved = errno;
    int fail = 0;
    if (fd_matches(fd) && access(s_trigger, F_OK) == 0) {
        log_fault(what, fd);
        if (s_delay_ms > 0)
            stall();
        else
            fail = 1;
    }
    errno = saved;
    return fail;
}

FI_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
    if (should_fail("write", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(write)(fd, buf, count);
}

FI_EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    if (should_fail("pwrite", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(pwrite)(fd, buf, count, offset);
}

FI_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset)
{
    if (should_fail("pwrite64", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(pwrite64)(fd, buf, count, offset);
}

FI_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (should_fail("writev", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(writev)(fd, iov, iovcnt);
}

FI_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    if (should_fail("pwritev", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(pwritev)(fd, iov, iovcnt, offset);
}

FI_EXPORT int fsync(int fd)
{
    if (should_fail("fsync", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(fsync)(fd);
}

FI_EXPORT int fdatasync(int fd)
{
    if (should_fail("fdatasync", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(fdatasync)(fd);
}

FI_EXPORT int ftruncate(int fd, off_t length)
{
    if (should_fail("ftruncate", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(ftruncate)(fd, length);
}

FI_EXPORT int ftruncate64(int fd, off64_t length)
{
    if (should_fail("ftruncate64", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(ftruncate64)(fd, length);
}

FI_EXPORT int fallocate(int fd, int mode, off_t offset, off_t len)
{
    if (should_fail("fallocate", fd)) {
        errno = s_errno;
        return -1;
    }
    return REAL(fallocate)(fd, mode, offset, len);
}

/* posix_fallocate reports the error as its return value, not through errno. */
FI_EXPORT int posix_fallocate(int fd, off_t offset, off_t len)
{
    if (should_fail("posix_fallocate", fd))
        return s_errno;
    return REAL(posix_fallocate)(fd, offset, len);
}
