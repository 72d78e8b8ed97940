#include "shutdowncoordinator.h"
#include "systemdnotifier.h"

#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace std::chrono_literals;
using Quiesce::ShutdownCoordinator;
using Quiesce::ShutdownPhaseContext;
using Quiesce::ShutdownRequest;
using Quiesce::SystemdNotifier;

namespace {

enum class Call { Ready, Stopping, Status, ExtendTimeout, Notify };

/* What systemd listens on: an AF_UNIX datagram socket, here bound in a temporary directory. */
class NotifySocket
{
public:
    NotifySocket()
    {
        if (!m_dir.isValid())
            return;
        m_path = QFile::encodeName(m_dir.filePath(QStringLiteral("notify.sock")));
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address;
        std::memset(&address, 0, sizeof address);
        address.sun_family = AF_UNIX;
        if (m_fd < 0 || size_t(m_path.size()) >= sizeof address.sun_path) {
            m_error = QStringLiteral("socket() failed or path too long");
            return;
        }
        std::memcpy(address.sun_path, m_path.constData(), size_t(m_path.size()));
        if (::bind(m_fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
            m_error = QStringLiteral("bind failed: %1").arg(QString::fromLocal8Bit(std::strerror(errno)));
            ::close(m_fd);
            m_fd = -1;
        }
    }
    ~NotifySocket()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }

    bool isValid() const { return m_fd >= 0; }
    QString errorString() const { return m_error; }
    QByteArray path() const { return m_path; }

    /* The next datagram, waiting at most \a timeoutMs for it; empty if none came. */
    QByteArray receive(int timeoutMs = 5000) const
    {
        pollfd pfd {m_fd, POLLIN, 0};
        if (::poll(&pfd, 1, timeoutMs) != 1)
            return {};
        char buffer[4096];
        const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
        return n > 0 ? QByteArray(buffer, n) : QByteArray();
    }

    /* True if a datagram is waiting now (without waiting for one). */
    bool hasPending() const
    {
        char byte;
        const ssize_t n = ::recv(m_fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
        return n >= 0;
    }

private:
    QTemporaryDir m_dir;
    QByteArray m_path;
    QString m_error;
    int m_fd = -1;
};

} // namespace

class tst_SystemdNotifier : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void disabledWithoutNotifySocket();
    void sendsEachState_data();
    void sendsEachState();
    void rejectsANonPositiveExtension();
    void reportsASendFailure();
    void attachReportsTheQuitPath();

private:
    QByteArray m_savedNotifySocket;
    bool m_hadNotifySocket = false;
};

void tst_SystemdNotifier::init()
{
    // The suite might itself run under systemd: keep its NOTIFY_SOCKET out of our way and put it back afterwards.
    m_hadNotifySocket = qEnvironmentVariableIsSet("NOTIFY_SOCKET");
    m_savedNotifySocket = qgetenv("NOTIFY_SOCKET");
    qunsetenv("NOTIFY_SOCKET");
}

void tst_SystemdNotifier::cleanup()
{
    if (m_hadNotifySocket)
        qputenv("NOTIFY_SOCKET", m_savedNotifySocket);
    else
        qunsetenv("NOTIFY_SOCKET");
}

void tst_SystemdNotifier::disabledWithoutNotifySocket()
{
    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    QVERIFY(!SystemdNotifier::isEnabled());

    SystemdNotifier notifier;
    QVERIFY(!notifier.ready());
    QVERIFY(!notifier.errorString().isEmpty());
    QVERIFY(!notifier.stopping());
    QVERIFY(!notifier.status(QStringLiteral("idle")));
    QVERIFY(!notifier.extendTimeout(1s));
    QVERIFY(!socket.hasPending());

    // The same socket works as soon as NOTIFY_SOCKET names it (so the silence above means something).
    if (!SystemdNotifier::isAvailable())
        QSKIP("built without libsystemd");
    qputenv("NOTIFY_SOCKET", socket.path());
    QVERIFY(SystemdNotifier::isEnabled());
    QVERIFY2(notifier.ready(), qPrintable(notifier.errorString()));
    QCOMPARE(socket.receive(), QByteArray("READY=1"));
}

void tst_SystemdNotifier::sendsEachState_data()
{
    QTest::addColumn<int>("call");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("datagram");
    QTest::newRow("ready") << int(Call::Ready) << QString() << QByteArray("READY=1");
    QTest::newRow("stopping") << int(Call::Stopping) << QString() << QByteArray("STOPPING=1");
    QTest::newRow("status") << int(Call::Status) << QStringLiteral("Draining 3 requests")
                            << QByteArray("STATUS=Draining 3 requests");
    QTest::newRow("status keeps to one assignment")
        << int(Call::Status) << QStringLiteral("two\nlines") << QByteArray("STATUS=two lines");
    QTest::newRow("status in UTF-8") << int(Call::Status) << QStringLiteral("Stopping \u2026")
                                     << QByteArray("STATUS=Stopping \xe2\x80\xa6");
    QTest::newRow("extend timeout") << int(Call::ExtendTimeout) << QString()
                                    << QByteArray("EXTEND_TIMEOUT_USEC=7000000");
    QTest::newRow("raw") << int(Call::Notify) << QStringLiteral("STATUS=x\nERRNO=5") << QByteArray("STATUS=x\nERRNO=5");
}

void tst_SystemdNotifier::sendsEachState()
{
    QFETCH(int, call);
    QFETCH(QString, text);
    QFETCH(QByteArray, datagram);
    if (!SystemdNotifier::isAvailable())
        QSKIP("built without libsystemd");

    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    qputenv("NOTIFY_SOCKET", socket.path());
    QVERIFY(SystemdNotifier::isEnabled());

    SystemdNotifier notifier;
    bool sent = false;
    switch (Call(call)) {
    case Call::Ready:
        sent = notifier.ready();
        break;
    case Call::Stopping:
        sent = notifier.stopping();
        break;
    case Call::Status:
        sent = notifier.status(text);
        break;
    case Call::ExtendTimeout:
        sent = notifier.extendTimeout(7s);
        break;
    case Call::Notify:
        sent = notifier.notify(text.toUtf8());
        break;
    }
    QVERIFY2(sent, qPrintable(notifier.errorString()));
    QCOMPARE(socket.receive(), datagram);
    QVERIFY(!socket.hasPending()); // exactly one datagram
}

void tst_SystemdNotifier::rejectsANonPositiveExtension()
{
    if (!SystemdNotifier::isAvailable())
        QSKIP("built without libsystemd");
    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    qputenv("NOTIFY_SOCKET", socket.path());
    SystemdNotifier notifier;
    QVERIFY(!notifier.extendTimeout(0us));
    QVERIFY(!notifier.errorString().isEmpty());
    QVERIFY(!socket.hasPending());
}

void tst_SystemdNotifier::reportsASendFailure()
{
    if (!SystemdNotifier::isAvailable())
        QSKIP("built without libsystemd");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    qputenv("NOTIFY_SOCKET", QFile::encodeName(dir.filePath(QStringLiteral("nobody-listens.sock"))));
    SystemdNotifier notifier;
    QVERIFY(!notifier.ready());
    QVERIFY2(notifier.errorString().contains(QStringLiteral("sd_notify failed")), qPrintable(notifier.errorString()));
}

void tst_SystemdNotifier::attachReportsTheQuitPath()
{
    if (!SystemdNotifier::isAvailable())
        QSKIP("built without libsystemd");
    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    qputenv("NOTIFY_SOCKET", socket.path());

    ShutdownCoordinator coordinator;
    coordinator.setOutput([](const QString &) {});
    QList<int> exits;
    coordinator.setExitFunction([&exits](int code) { exits.append(code); });
    coordinator.setImmediateExitFunction([](int) {});
    coordinator.setHardTimeout(20s);
    coordinator.addPhase(QStringLiteral("drain"), 200, 10s, [](ShutdownPhaseContext *ctx) {
        QObject::connect(ctx, &ShutdownPhaseContext::modeChanged, ctx, [ctx] { ctx->complete(); });
    });
    coordinator.addPhase(QStringLiteral("save"), 400, ShutdownCoordinator::NoBudget,
                         [](ShutdownPhaseContext *ctx) { ctx->complete(); });
    coordinator.setReady();
    SystemdNotifier notifier;
    notifier.setExtendMargin(5s);
    notifier.attach(&coordinator);

    ShutdownRequest request;
    request.reason = QStringLiteral("sigterm");
    request.signo = SIGTERM;
    coordinator.requestShutdown(request);
    QCOMPARE(socket.receive(), QByteArray("STOPPING=1"));
    QCOMPARE(socket.receive(), QByteArray("STATUS=Stopping (reason=sigterm)"));
    QTRY_COMPARE(coordinator.currentPhase(), QStringLiteral("drain"));
    QCOMPARE(socket.receive(), QByteArray("STATUS=Stopping: phase drain"));
    QCOMPARE(socket.receive(), QByteArray("EXTEND_TIMEOUT_USEC=15000000")); // budget + margin

    request.reason = QStringLiteral("sigint");
    request.signo = SIGINT;
    coordinator.requestShutdown(request);
    QCOMPARE(socket.receive(), QByteArray("STATUS=Stopping fast (reason=sigint)"));
    QTRY_COMPARE(exits.size(), 1);
    QCOMPARE(socket.receive(), QByteArray("STATUS=Stopping: phase save"));
    QCOMPARE(socket.receive(), QByteArray("EXTEND_TIMEOUT_USEC=25000000")); // no budget: hard timeout + margin
    QCOMPARE(socket.receive(), QByteArray("STATUS=Stopped (exit=0)"));
    QVERIFY(!socket.hasPending());
}

QTEST_GUILESS_MAIN(tst_SystemdNotifier)

#include "tst_systemdnotifier.moc"
