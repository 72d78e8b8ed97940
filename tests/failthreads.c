/* An LD_PRELOAD shim that makes thread creation fail, the way a pids cgroup (pids.max), RLIMIT_NPROC or a small
   address space (ulimit -v) make it fail: pthread_create() returns EAGAIN. Root ignores RLIMIT_NPROC, and a test
   cannot count on making a cgroup, so the tests use this instead.

   Environment (read once, when the library is loaded):
     QUIESCE_FAILTHREADS_AFTER    fail every pthread_create() after this many successful ones ("0": fail them all)
     QUIESCE_FAILTHREADS_TRIGGER  path of a trigger file: fail while it exists (a test arms it at the right moment)
   Either or both; with neither set the shim does nothing. Each failed call appends "pthread_create\n" to
   QUIESCE_FAILTHREADS_LOG if that is set, so a test can tell that the failure really happened.

   Lock-free: one atomic counter. pthread_create is never called from a signal handler, so nothing here needs to be
   async-signal-safe, but it stays simple anyway (no allocation, system calls only). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FT_EXPORT __attribute__((visibility("default")))

enum { kPathMax = 4096 };

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static pthread_create_fn real_pthread_create;
static long s_after = -1; /* -1: no count limit */
static char s_trigger[kPathMax];
static char s_log[kPathMax];
static atomic_long s_created;

static void resolve(void)
{
    void *symbol = dlsym(RTLD_NEXT, "pthread_create");
    memcpy(&real_pthread_create, &symbol, sizeof symbol);
}

__attribute__((constructor)) static void failthreads_init(void)
{
    resolve();
    const char *after = getenv("QUIESCE_FAILTHREADS_AFTER");
    const char *trigger = getenv("QUIESCE_FAILTHREADS_TRIGGER");
    const char *log = getenv("QUIESCE_FAILTHREADS_LOG");
    if (after != NULL && after[0] != '\0')
        s_after = strtol(after, NULL, 10);
    if (trigger != NULL && strlen(trigger) < sizeof s_trigger)
        strcpy(s_trigger, trigger);
    if (log != NULL && strlen(log) < sizeof s_log)
        strcpy(s_log, log);
}

static int should_fail(void)
{
    if (s_trigger[0] != '\0' && access(s_trigger, F_OK) == 0)
        return 1;
    if (s_after >= 0) {
        /* Counts successful creations only: a call that fails does not use up the allowance. */
        long created = atomic_load(&s_created);
        while (created < s_after) {
            if (atomic_compare_exchange_weak(&s_created, &created, created + 1))
                return 0;
        }
        return 1;
    }
    return 0;
}

static void log_failure(void)
{
    if (s_log[0] == '\0')
        return;
    const int fd = open(s_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    static const char line[] = "pthread_create\n";
    ssize_t ignored = write(fd, line, sizeof line - 1);
    (void)ignored;
    close(fd);
}

FT_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    if (real_pthread_create == NULL)
        resolve();
    const int saved = errno;
    if (should_fail()) {
        log_failure();
        errno = saved;
        return EAGAIN; /* what glibc returns when the kernel refuses the clone() */
    }
    errno = saved;
    return real_pthread_create(thread, attr, start, arg);
}
