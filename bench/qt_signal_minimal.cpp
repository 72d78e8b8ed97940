// Baseline: Qt's documented pattern for Unix signals ("Calling Qt Functions From Unix Signal Handlers"): one
// socketpair per signal, a handler that writes one byte, a QSocketNotifier on the read end in a minimal
// QCoreApplication. SIGUSR1 prints a STATUS line; SIGTERM/SIGINT quit the event loop, and the program exits when
// exec() returns. Same line protocol as quiesce --headless (READY / STATUS / SHUTDOWN done exit=0), so the bench
// driver measures both the same way. Nothing else: no threads, no state, no report.

#include <QtCore/QByteArray>
#include <QtCore/QCoreApplication>
#include <QtCore/QSocketNotifier>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <sys/socket.h>
#include <unistd.h>

namespace {

int s_usr1Fd[2];
int s_termFd[2];

void writeLine(const QByteArray &line)
{
    const char *data = line.constData();
    qsizetype left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(STDOUT_FILENO, data, size_t(left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        left -= n;
    }
}

extern "C" void usr1Handler(int)
{
    const int savedErrno = errno;
    const char a = 1;
    [[maybe_unused]] const ssize_t n = ::write(s_usr1Fd[0], &a, sizeof a);
    errno = savedErrno;
}

extern "C" void termHandler(int)
{
    const int savedErrno = errno;
    const char a = 1;
    [[maybe_unused]] const ssize_t n = ::write(s_termFd[0], &a, sizeof a);
    errno = savedErrno;
}

bool install(int signo, void (*handler)(int))
{
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return ::sigaction(signo, &action, nullptr) == 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s_usr1Fd) != 0
        || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s_termFd) != 0) {
        std::perror("qt_signal_minimal: socketpair");
        return 1;
    }
    if (!install(SIGUSR1, usr1Handler) || !install(SIGTERM, termHandler) || !install(SIGINT, termHandler)) {
        std::perror("qt_signal_minimal: sigaction");
        return 1;
    }

    QCoreApplication app(argc, argv);

    quint64 usr1 = 0;
    QSocketNotifier usr1Notifier(s_usr1Fd[1], QSocketNotifier::Read);
    QObject::connect(&usr1Notifier, &QSocketNotifier::activated, &app, [&usr1Notifier, &usr1] {
        usr1Notifier.setEnabled(false);
        char tmp;
        [[maybe_unused]] const ssize_t n = ::read(s_usr1Fd[1], &tmp, sizeof tmp);
        ++usr1;
        writeLine(QByteArray("STATUS qt=1 usr1=" + QByteArray::number(usr1) + '\n'));
        usr1Notifier.setEnabled(true);
    });
    QSocketNotifier termNotifier(s_termFd[1], QSocketNotifier::Read);
    QObject::connect(&termNotifier, &QSocketNotifier::activated, &app, [&termNotifier] {
        termNotifier.setEnabled(false);
        char tmp;
        [[maybe_unused]] const ssize_t n = ::read(s_termFd[1], &tmp, sizeof tmp);
        QCoreApplication::quit();
    });

    writeLine(QByteArray("READY pid=" + QByteArray::number(qint64(::getpid())) + '\n'));
    const int code = QCoreApplication::exec();
    writeLine(QByteArray("SHUTDOWN done exit=" + QByteArray::number(code) + '\n'));
    return code;
}
