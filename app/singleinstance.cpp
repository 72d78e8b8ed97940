#include "singleinstance.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtGui/QGuiApplication>
#include <QtNetwork/QLocalServer>
#include <QtNetwork/QLocalSocket>
#include <QtWidgets/QMessageBox>

namespace Quiesce::App {

namespace {

constexpr int kConnectMs = 1000;
constexpr int kAnswerMs = 1000;
const QByteArray kRequest = QByteArrayLiteral("activate");
const QByteArray kAnswer = QByteArrayLiteral("ok\n");

} // namespace

SingleInstance::SingleInstance(QObject *parent)
    : QObject(parent)
    , m_server(new QLocalServer(this))
{
    // Only this user may ask: the socket lives in a per-user directory anyway, this keeps it so in /tmp too.
    m_server->setSocketOptions(QLocalServer::UserAccessOption);
    connect(m_server, &QLocalServer::newConnection, this, &SingleInstance::onNewConnection);
}

SingleInstance::~SingleInstance() = default;

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
    const QString path = socketPath(statePath);
    {
        // A live window answers a connection: then it is not ours to take over.
        QLocalSocket probe;
        probe.connectToServer(path);
        if (probe.waitForConnected(kConnectMs)) {
            probe.disconnectFromServer();
            return false;
        }
    }
    // Nobody answers: a socket left by a window that crashed. We hold the state's lock, so nobody else can be
    // about to listen on it.
    QLocalServer::removeServer(path);
    return m_server->listen(path);
}

bool SingleInstance::activateRunning(const QString &statePath)
{
    QLocalSocket socket;
    socket.connectToServer(socketPath(statePath));
    if (!socket.waitForConnected(kConnectMs))
        return false;
    const QByteArray message = kRequest + '\t' + QByteArray::number(QCoreApplication::applicationPid()) + '\t'
        + qgetenv("DESKTOP_STARTUP_ID") + '\t' + qgetenv("XDG_ACTIVATION_TOKEN") + '\n';
    socket.write(message);
    if (!socket.waitForBytesWritten(kAnswerMs))
        return false;
    QByteArray answer;
    while (!answer.endsWith('\n') && socket.waitForReadyRead(kAnswerMs))
        answer += socket.readAll();
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
    while (QLocalSocket *socket = m_server->nextPendingConnection()) {
        connect(socket, &QLocalSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QLocalSocket::readyRead, this, [this, socket] {
            if (!socket->canReadLine())
                return;
            const QList<QByteArray> fields = socket->readLine().trimmed().split('\t');
            if (fields.value(0) != kRequest) {
                socket->disconnectFromServer();
                return;
            }
            socket->write(kAnswer);
            socket->flush();
            Q_EMIT activationRequested(fields.value(1).toLongLong(), QString::fromUtf8(fields.value(2)),
                                       QString::fromUtf8(fields.value(3)));
        });
    }
}

} // namespace Quiesce::App
