#include "lineoutput.h"

#include <QtCore/QByteArray>

#include <cerrno>

#include <poll.h>
#include <unistd.h>

namespace Quiesce::App {

namespace {

void writeAll(int fd, const QByteArray &bytes)
{
    const char *data = bytes.constData();
    qsizetype left = bytes.size();
    int stalls = 0;
    while (left > 0) {
        const ssize_t n = ::write(fd, data, size_t(left));
        if (n > 0) {
            data += n;
            left -= n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && ++stalls <= 50) {
            // stdout is a non-blocking pipe that is full: wait a little for the reader, but never forever.
            pollfd p {fd, POLLOUT, 0};
            ::poll(&p, 1, 100);
            continue;
        }
        return; // EPIPE, EBADF, a reader that stopped reading: drop the line rather than block or die
    }
}

} // namespace

void writeStdoutLine(const QString &text)
{
    QByteArray bytes = text.toUtf8();
    bytes.append('\n');
    writeAll(STDOUT_FILENO, bytes);
}

void writeStderrLine(const QString &text)
{
    QByteArray bytes = QByteArrayLiteral("quiesce: ") + text.toUtf8();
    bytes.append('\n');
    writeAll(STDERR_FILENO, bytes);
}

} // namespace Quiesce::App
