#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QTemporaryDir>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

class QuiesceProcess;

/*! \brief What systemd listens on for sd_notify: an AF_UNIX datagram socket bound to a path in a temporary
    directory, or to a name in Linux's abstract namespace (NOTIFY_SOCKET=@name, as systemd itself uses). */
class NotifySocket
{
public:
    enum class Address { Path, Abstract };

    explicit NotifySocket(Address kind = Address::Path);
    ~NotifySocket();
    NotifySocket(const NotifySocket &) = delete;
    NotifySocket &operator=(const NotifySocket &) = delete;

    bool isValid() const { return m_fd >= 0; }
    int fd() const { return m_fd; }
    QString errorString() const { return m_error; }
    /*! The value for NOTIFY_SOCKET. */
    QByteArray name() const { return m_name; }

    /*! The next datagram, waiting at most \a timeoutMs for it; empty if none came. */
    QByteArray receive(int timeoutMs = 5000) const;
    /*! True if a datagram is waiting now (without waiting for one). */
    bool hasPending() const;

private:
    QTemporaryDir m_dir;
    QByteArray m_name;
    QString m_error;
    int m_fd = -1;
};

/*! \brief One datagram as systemd parses it: newline-separated KEY=VALUE assignments. */
struct NotifyMessage
{
    QByteArray datagram;
    std::chrono::steady_clock::time_point receivedAt;

    /*! The value of \a key, a null QByteArray when the datagram does not assign it. */
    QByteArray value(const QByteArray &key) const;
    bool has(const QByteArray &key) const { return !value(key).isNull(); }
};

/*! \brief Reads every datagram of a NotifySocket on a thread of its own, the way systemd's event loop does: a
    datagram socket queues only net.unix.max_dgram_qlen (10) messages, and a reader that waited for the process
    would stall its sender. */
class NotifyRecorder
{
public:
    explicit NotifyRecorder(const NotifySocket &socket);
    ~NotifyRecorder();
    NotifyRecorder(const NotifyRecorder &) = delete;
    NotifyRecorder &operator=(const NotifyRecorder &) = delete;

    bool isValid() const { return m_thread.joinable(); }
    QList<NotifyMessage> messages() const;
    /*! Waits (on the reader's condition variable) until \a done holds for the messages so far. */
    bool waitFor(const std::function<bool(const QList<NotifyMessage> &)> &done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /*! Waits for a message that assigns \a key, at index \a from or later; returns its index or -1. */
    qsizetype waitForKey(const QByteArray &key, qsizetype from = 0,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /*! For QVERIFY2 messages: every datagram, one per line. */
    QByteArray describe() const;

private:
    void run(int fd);

    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    QList<NotifyMessage> m_messages;
    int m_stop[2] = {-1, -1};
    std::thread m_thread;
};

/*! Stops \a process the way systemd stops a Type=notify service: SIGTERM, then SIGKILL once TimeoutStopSec=
    (\a timeoutStopSec) passes, where each EXTEND_TIMEOUT_USEC=N moves that moment to "received + N" if that is
    later (systemd's service_extend_timeout() never shortens it). Returns true if it had to send the SIGKILL. */
bool stopLikeSystemd(QuiesceProcess &process, const NotifyRecorder &recorder, std::chrono::milliseconds timeoutStopSec);

/*! Stops \a process the way `docker stop -t GRACE` does: SIGTERM, and SIGKILL only once \a grace has passed.
    Returns true if it had to send the SIGKILL. */
bool stopLikeDocker(QuiesceProcess &process, std::chrono::milliseconds grace);

/*! CLOCK_MONOTONIC in microseconds, the clock of sd_notify's MONOTONIC_USEC. */
qint64 monotonicMicroseconds();
