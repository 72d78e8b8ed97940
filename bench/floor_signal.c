/* The floor for signal -> event loop latency: a plain C program with the shortest correct path.

   handler -> one byte into a non-blocking socketpair -> poll() in the main loop -> read -> print one line.

   Same protocol as quiesce --headless, so the bench driver measures both the same way:
     READY pid=N                        once the handlers are installed and the loop is about to poll
     STATUS floor=1 usr1=N              on every SIGUSR1
     SHUTDOWN done exit=0               on SIGTERM / SIGINT, then exit 0
   No Qt, no threads, no allocation after start. */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int s_writeFd = -1;

static void onSignal(int signo)
{
    const int savedErrno = errno;
    const char byte = (char)signo;
    ssize_t n;
    do {
        n = write(s_writeFd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    errno = savedErrno;
}

static void writeLine(const char *text, size_t length)
{
    while (length > 0) {
        const ssize_t n = write(STDOUT_FILENO, text, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        length -= (size_t)n;
    }
}

static int install(int signo)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = onSignal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(signo, &action, NULL);
}

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1) {
        perror("floor_signal: socketpair");
        return 1;
    }
    s_writeFd = sv[0];
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGPIPE, &ignore, NULL) == -1 || install(SIGUSR1) == -1 || install(SIGTERM) == -1
        || install(SIGINT) == -1) {
        perror("floor_signal: sigaction");
        return 1;
    }

    char line[96];
    int length = snprintf(line, sizeof line, "READY pid=%ld\n", (long)getpid());
    writeLine(line, (size_t)length);

    unsigned long usr1 = 0;
    for (;;) {
        struct pollfd p = {sv[1], POLLIN, 0};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("floor_signal: poll");
            return 1;
        }
        char bytes[64];
        const ssize_t n = read(sv[1], bytes, sizeof bytes);
        for (ssize_t i = 0; i < n; ++i) {
            if (bytes[i] == SIGUSR1) {
                ++usr1;
                length = snprintf(line, sizeof line, "STATUS floor=1 usr1=%lu\n", usr1);
                writeLine(line, (size_t)length);
            } else if (bytes[i] == SIGTERM || bytes[i] == SIGINT) {
                static const char done[] = "SHUTDOWN done exit=0\n";
                writeLine(done, sizeof done - 1);
                return 0;
            }
        }
    }
}
