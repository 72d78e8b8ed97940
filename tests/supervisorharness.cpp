#include "supervisorharness.h"

#include "quiesceprocess.h"

#include <QtCore/QFile>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace std::chrono_literals;

NotifySocket::NotifySocket(Address kind)
{
    sockaddr_un address;
    std::memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    socklen_t length = 0;
    if (kind == Address::Path) {
        if (!m_dir.isValid()) {
            m_error = QStringLiteral("no temporary directory");
            return;
        }
        m_name = QFile::encodeName(m_dir.filePath(QStringLiteral("notify.sock")));
        if (size_t(m_name.size()) >= sizeof address.sun_path) {
            m_error = QStringLiteral("path too long");
            return;
        }
        std::memcpy(address.sun_path, m_name.constData(), size_t(m_name.size()));
        length = sizeof address;
    } else {
        // A leading NUL instead of the '@', and no terminating NUL: the length says where the name ends.
        static std::atomic<int> serial {0};
        m_name = "@quiesce-test-" + QByteArray::number(::getpid()) + '-' + QByteArray::number(++serial);
        std::memcpy(address.sun_path + 1, m_name.constData() + 1, size_t(m_name.size() - 1));
        length = socklen_t(offsetof(sockaddr_un, sun_path) + size_t(m_name.size()));
    }
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<const sockaddr *>(&address), length) != 0) {
        m_error = QStringLiteral("socket/bind failed: %1").arg(QString::fromLocal8Bit(std::strerror(errno)));
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }
}

NotifySocket::~NotifySocket()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

QByteArray NotifySocket::receive(int timeoutMs) const
{
    pollfd pfd {m_fd, POLLIN, 0};
    if (::poll(&pfd, 1, timeoutMs) != 1)
        return {};
    char buffer[4096];
    const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
    return n > 0 ? QByteArray(buffer, n) : QByteArray();
}

bool NotifySocket::hasPending() const
{
    char byte;
    return ::recv(m_fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
}

QByteArray NotifyMessage::value(const QByteArray &key) const
{
    const QByteArray prefix = key + '=';
    const QList<QByteArray> lines = datagram.split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith(prefix))
            return line.sliced(prefix.size()); // not null, even when empty
    }
    return {};
}

NotifyRecorder::NotifyRecorder(const NotifySocket &socket)
{
    if (!socket.isValid() || ::pipe2(m_stop, O_CLOEXEC) != 0)
        return;
    m_thread = std::thread([this, fd = socket.fd()] { run(fd); });
}

NotifyRecorder::~NotifyRecorder()
{
    if (m_thread.joinable()) {
        const char byte = 0;
        while (::write(m_stop[1], &byte, 1) < 0 && errno == EINTR) {}
        m_thread.join();
    }
    for (int fd : m_stop) {
        if (fd >= 0)
            ::close(fd);
    }
}

QList<NotifyMessage> NotifyRecorder::messages() const
{
    std::lock_guard lock(m_mutex);
    return m_messages;
}

bool NotifyRecorder::waitFor(const std::function<bool(const QList<NotifyMessage> &)> &done,
                             std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return done(m_messages); });
}

qsizetype NotifyRecorder::waitForKey(const QByteArray &key, qsizetype from, std::chrono::milliseconds timeout)
{
    qsizetype found = -1;
    waitFor(
        [&](const QList<NotifyMessage> &list) {
            for (qsizetype i = from; i < list.size(); ++i) {
                if (list.at(i).has(key)) {
                    found = i;
                    return true;
                }
            }
            return false;
        },
        timeout);
    return found;
}

QByteArray NotifyRecorder::describe() const
{
    QByteArray text = "--- notify messages\n";
    const QList<NotifyMessage> list = messages();
    for (const NotifyMessage &m : list)
        text += QByteArray(m.datagram).replace('\n', " | ") + '\n';
    return text;
}

void NotifyRecorder::run(int fd)
{
    pollfd fds[2] = {{fd, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents != 0)
            return;
        if ((fds[0].revents & POLLIN) == 0)
            continue;
        char buffer[4096];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n <= 0)
            continue;
        {
            std::lock_guard lock(m_mutex);
            m_messages.append(NotifyMessage {QByteArray(buffer, n), std::chrono::steady_clock::now()});
        }
        m_changed.notify_all();
    }
}

bool stopLikeSystemd(QuiesceProcess &process, const NotifyRecorder &recorder, std::chrono::milliseconds timeoutStopSec)
{
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + timeoutStopSec;
    qsizetype seen = recorder.messages().size();
    if (!process.sendSignal(SIGTERM))
        return false;
    for (;;) {
        const QList<NotifyMessage> messages = recorder.messages();
        for (; seen < messages.size(); ++seen) {
            const NotifyMessage &m = messages.at(seen);
            if (m.has("EXTEND_TIMEOUT_USEC")) {
                const auto extension = std::chrono::microseconds(m.value("EXTEND_TIMEOUT_USEC").toLongLong());
                deadline = std::max(deadline, m.receivedAt + std::chrono::duration_cast<Clock::duration>(extension));
            }
        }
        if (process.process().state() == QProcess::NotRunning)
            return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms) {
            process.sendSignal(SIGKILL);
            process.waitForExit();
            return true;
        }
        // A bounded wait on the process itself; extensions that arrive meanwhile are read on the next round.
        process.process().waitForFinished(int(std::min<qint64>(left.count(), 20)));
        process.pump();
    }
}

bool stopLikeDocker(QuiesceProcess &process, std::chrono::milliseconds grace)
{
    if (!process.sendSignal(SIGTERM))
        return false;
    if (process.waitForExit(grace))
        return false;
    process.sendSignal(SIGKILL);
    process.waitForExit();
    return true;
}

qint64 monotonicMicroseconds()
{
    timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}
