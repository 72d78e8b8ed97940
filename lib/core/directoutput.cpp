#include "directoutput.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include <poll.h>
#include <unistd.h>

namespace Quiesce {

namespace {

// Waits until \a fd takes bytes or \a deadline passes; true if it is writable (or reports an error the next write
// will return, so that the caller sees it rather than waiting on).
bool waitWritable(int fd, const QDeadlineTimer &deadline)
{
    for (;;) {
        const qint64 left = deadline.remainingTime(); // -1: forever
        pollfd pfd {fd, POLLOUT, 0};
        const int rc = ::poll(&pfd, 1, left < 0 ? -1 : int(std::min<qint64>(left, INT_MAX)));
        if (rc > 0)
            return true;
        if (rc == 0 || errno != EINTR)
            return false;
    }
}

} // namespace

bool writeLineDirect(int fd, QByteArrayView bytes, QDeadlineTimer deadline)
{
    if (fd < 0)
        return false;
    const bool bounded = !deadline.isForever();
    const char *data = bytes.data();
    qsizetype left = bytes.size();
    while (left > 0) {
        // Bounded: poll first and write what a writable pipe takes without blocking (PIPE_BUF), since the
        // descriptor may be a blocking one that a write would hold past the deadline.
        if (bounded && !waitWritable(fd, deadline))
            return false;
        const size_t chunk = bounded ? std::min<size_t>(size_t(left), PIPE_BUF) : size_t(left);
        const ssize_t n = ::write(fd, data, chunk);
        if (n > 0) {
            data += n;
            left -= n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) { // EWOULDBLOCK is the same value on Linux
            if (!bounded && !waitWritable(fd, deadline))
                return false;
            continue;
        }
        return false;
    }
    return true;
}

QString oneLine(QString text)
{
    text.replace(QLatin1Char('\n'), QLatin1Char(' ')).replace(QLatin1Char('\r'), QLatin1Char(' '));
    return text;
}

} // namespace Quiesce
