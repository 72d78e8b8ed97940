#include "singleinstance.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSocketNotifier>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>
#include <QtWidgets/QMessageBox>

#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace Quiesce::App {

namespace {

constexpr int kConnectMs = 1000;
constexpr int kAnswerMs = 1000;
constexpr int kRetryAcceptMs = 100;     // after accept() failed for want of descriptors or memory
constexpr qsizetype kMaxRequest = 4096; // a request is one short line; a peer that sends more is not a launch
const QByteArray kRequest = QByteArrayLiteral("activate");
const QByteArray kAnswer = QByteArrayLiteral("ok\n");
const char *const kBufferProperty = "quiesceRequest";

bool socketAddress(const QString &path, sockaddr_un *address)
{
    const QByteArray encoded = QFile::encodeName(path);
    std::memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (encoded.isEmpty() || std::size_t(encoded.size()) >= sizeof address->sun_path)
        return false;
    std::memcpy(address->sun_path, encoded.constData(), std::size_t(encoded.size()));
    return true;
}

// A blocking connection to \a path whose connect and sends give up after kConnectMs and each receive after
// kAnswerMs (a window that hangs must not hang the launch that asks it). -1 when nobody listens there.
int connectTo(const QString &path)
{
    sockaddr_un address;
    if (!socketAddress(path, &address))
        return -1;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    const timeval sendTimeout {kConnectMs / 1000, (kConnectMs % 1000) * 1000};
    const timeval receiveTimeout {kAnswerMs / 1000, (kAnswerMs % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, sizeof sendTimeout);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, sizeof receiveTimeout);
    int rc;
    do {
        rc = ::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address);
    } while (rc == -1 && errno == EINTR);
    if (rc == -1) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool sendAll(int fd, const QByteArray &data)
{
    qsizetype sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd, data.constData() + sent, std::size_t(data.size() - sent), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        sent += n;
    }
    return true;
}

// Listens on a socket that only this user may connect to, as QLocalServer::UserAccessOption did: bound inside a
// new private (0700) directory next to \a path, made 0600 there, then renamed into place, so that there is never a
// moment where the socket exists with the umask's permissions. -1 on failure.
int listenPrivately(const QString &path)
{
    const QFileInfo target(path);
    QByteArray directory = QFile::encodeName(target.absolutePath() + QStringLiteral("/.quiesce-XXXXXX"));
    if (::mkdtemp(directory.data()) == nullptr)
        return -1;
    const QString temporary = QFile::decodeName(directory) + QStringLiteral("/s");
    sockaddr_un address;
    int fd = -1;
    if (socketAddress(temporary, &address))
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0;
    ok = ok && ::chmod(address.sun_path, S_IRUSR | S_IWUSR) == 0 && ::listen(fd, SOMAXCONN) == 0;
    ok = ok && ::rename(address.sun_path, QFile::encodeName(path).constData()) == 0;
    if (!ok) {
        ::unlink(address.sun_path);
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    ::rmdir(directory.constData());
    return fd;
}

} // namespace

SingleInstance::SingleInstance(QObject *parent)
    : QObject(parent)
{}

SingleInstance::~SingleInstance()
{
    // Every connection still open, then the listening socket and its file (as QLocalServer did on close). Each
    // notifier goes before its descriptor is closed, so that no dispatcher ever watches a closed (or reused) one.
    const QList<QSocketNotifier *> notifiers = findChildren<QSocketNotifier *>(Qt::FindDirectChildrenOnly);
    for (QSocketNotifier *notifier : notifiers) {
        const int fd = int(notifier->socket());
        delete notifier;
        ::close(fd);
    }
    if (m_fd >= 0)
        ::unlink(QFile::encodeName(m_path).constData());
}

QString SingleInstance::socketPath(const QString &statePath)
{
    const QFileInfo info(statePath);
    const QString canonical = info.canonicalFilePath().isEmpty() ? info.absoluteFilePath() : info.canonicalFilePath();
    const QByteArray hash = QCryptographicHash::hash(canonical.toUtf8(), QCryptographicHash::Sha256).toHex().left(24);
    // $XDG_RUNTIME_DIR itself, not QStandardPaths::RuntimeLocation: that one warns on stderr when it is unset.
    QString directory = qEnvironmentVariable("XDG_RUNTIME_DIR");
    if (!directory.isEmpty() && !QFileInfo(directory).isDir())
        directory.clear();
    const QString name = QStringLiteral("quiesce-%1.socket").arg(QString::fromLatin1(hash));
    // sockaddr_un holds 108 bytes; a deep runtime directory falls back to the temporary one.
    if (directory.isEmpty() || QDir(directory).filePath(name).toUtf8().size() >= 100)
        directory = QDir::tempPath();
    return QDir(directory).filePath(name);
}

bool SingleInstance::listen(const QString &statePath)
{
    if (m_fd >= 0)
        return false;
    const QString path = socketPath(statePath);
    // A live window answers a connection: then it is not ours to take over.
    if (const int probe = connectTo(path); probe >= 0) {
        ::close(probe);
        return false;
    }
    // Nobody answers: a socket left by a window that crashed. We hold the state's lock, so nobody else can be
    // about to listen on it.
    ::unlink(QFile::encodeName(path).constData());
    m_fd = listenPrivately(path);
    if (m_fd < 0)
        return false;
    m_path = path;
    m_notifier = new QSocketNotifier(m_fd, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &SingleInstance::onNewConnection);
    return true;
}

bool SingleInstance::activateRunning(const QString &statePath)
{
    const int fd = connectTo(socketPath(statePath));
    if (fd < 0)
        return false;
    const QByteArray message = kRequest + '\t' + QByteArray::number(QCoreApplication::applicationPid()) + '\t'
        + qgetenv("DESKTOP_STARTUP_ID") + '\t' + qgetenv("XDG_ACTIVATION_TOKEN") + '\n';
    QByteArray answer;
    if (sendAll(fd, message)) {
        // Each receive waits at most kAnswerMs (SO_RCVTIMEO): a window that hangs costs the launch a second.
        char buffer[64];
        while (!answer.endsWith('\n') && answer.size() < kMaxRequest) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            answer.append(buffer, n);
        }
    }
    ::close(fd);
    return answer == kAnswer;
}

void SingleInstance::showStartupError(const QString &error)
{
    const QString platform = QGuiApplication::platformName();
    if (platform == QLatin1StringView("offscreen") || platform == QLatin1StringView("minimal"))
        return;
    QMessageBox box(QMessageBox::Critical, tr("Quiesce cannot start"), error, QMessageBox::Close);
    box.exec();
}

void SingleInstance::onNewConnection()
{
    for (;;) {
        const int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN) { // EWOULDBLOCK is the same value on Linux
                // Out of descriptors (EMFILE, ENFILE) or memory: the connection stays in the backlog and the socket
                // stays readable, so the notifier would fire again at once and spin the main thread. Look again
                // later; the launch that waits gives up after its own second.
                m_notifier->setEnabled(false);
                QTimer::singleShot(kRetryAcceptMs, this, [this] {
                    if (m_notifier != nullptr)
                        m_notifier->setEnabled(true);
                });
            }
            return; // EAGAIN: no more for now
        }
        auto *connection = new QSocketNotifier(fd, QSocketNotifier::Read, this);
        connect(connection, &QSocketNotifier::activated, this, [this, connection] { onReadable(connection); });
    }
}

void SingleInstance::onReadable(QSocketNotifier *connection)
{
    const int fd = int(connection->socket());
    QByteArray request = connection->property(kBufferProperty).toByteArray();
    char buffer[512];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) // EWOULDBLOCK is the same value on Linux
            break;
        if (n <= 0 || request.size() + n > kMaxRequest) { // the peer is gone (or is not a launch)
            closeConnection(connection);
            return;
        }
        request.append(buffer, n);
    }
    const qsizetype newline = request.indexOf('\n');
    if (newline < 0) {
        connection->setProperty(kBufferProperty, request);
        return;
    }
    const QList<QByteArray> fields = request.left(newline).trimmed().split('\t');
    if (fields.value(0) != kRequest || !sendAll(fd, kAnswer)) {
        closeConnection(connection);
        return;
    }
    // Answered: the launch closes its end, and the rest of this connection is not read.
    closeConnection(connection);
    Q_EMIT activationRequested(fields.value(1).toLongLong(), QString::fromUtf8(fields.value(2)),
                               QString::fromUtf8(fields.value(3)));
}

void SingleInstance::closeConnection(QSocketNotifier *connection)
{
    // Called from the notifier's own signal: it goes later, its descriptor now, and it watches nothing meanwhile.
    connection->setEnabled(false);
    ::close(int(connection->socket()));
    connection->setParent(nullptr);
    connection->deleteLater();
}

} // namespace Quiesce::App
