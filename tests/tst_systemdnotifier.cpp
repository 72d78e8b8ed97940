// The sd_notify protocol, spoken natively: the notifier against a socket the test binds, a path or an abstract
// name (tst_supervisors drives the real binary against the same socket).
#include "supervisorharness.h"
#include <Quiesce/shutdowncoordinator.h>
#include <Quiesce/systemdnotifier.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>

using namespace std::chrono_literals;
using Quiesce::ShutdownCoordinator;
using Quiesce::ShutdownPhaseContext;
using Quiesce::ShutdownRequest;
using Quiesce::SystemdNotifier;
using Quiesce::SystemdStatus;

namespace {

enum class Call { Ready, Stopping, Status, ExtendTimeout, Notify };
using Address = NotifySocket::Address;

// Notifications go to \a socket; the coordinator prints nothing, records its exit code instead of exiting, and has a
// 20 s hard timeout.
void prepareQuitPath(const NotifySocket &socket, ShutdownCoordinator &coordinator, QList<int> *exits)
{
    qputenv("NOTIFY_SOCKET", socket.name());
    coordinator.setOutput([](const QString &) {});
    coordinator.setExitFunction([exits](int code) { exits->append(code); });
    coordinator.setImmediateExitFunction([](int) {});
    coordinator.setHardTimeout(20s);
}

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
    void reportsASendFailure_data();
    void reportsASendFailure();
    void attachReportsTheQuitPath();
    void statusFormatterWordsTheTexts();

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
    qputenv("NOTIFY_SOCKET", socket.name());
    QVERIFY(SystemdNotifier::isEnabled());
    QVERIFY2(notifier.ready(), qPrintable(notifier.errorString()));
    QCOMPARE(socket.receive(), QByteArray("READY=1"));
}

void tst_SystemdNotifier::sendsEachState_data()
{
    QTest::addColumn<int>("address");
    QTest::addColumn<int>("call");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("datagram");
    for (const Address address : {Address::Path, Address::Abstract}) {
        const char *where = address == Address::Path ? "path" : "abstract";
        auto row = [&](const char *name) {
            return &QTest::newRow(
                qPrintable(QStringLiteral("%1, %2").arg(QLatin1StringView(where), QLatin1StringView(name))));
        };
        *row("ready") << int(address) << int(Call::Ready) << QString() << QByteArray("READY=1");
        *row("stopping") << int(address) << int(Call::Stopping) << QString() << QByteArray("STOPPING=1");
        *row("status") << int(address) << int(Call::Status) << QStringLiteral("Draining 3 requests")
                       << QByteArray("STATUS=Draining 3 requests");
        *row("status keeps to one assignment")
            << int(address) << int(Call::Status) << QStringLiteral("two\nlines") << QByteArray("STATUS=two lines");
        *row("status in UTF-8") << int(address) << int(Call::Status) << QStringLiteral("Stopping \u2026")
                                << QByteArray("STATUS=Stopping \xe2\x80\xa6");
        *row("extend timeout") << int(address) << int(Call::ExtendTimeout) << QString()
                               << QByteArray("EXTEND_TIMEOUT_USEC=7000000");
        *row("raw") << int(address) << int(Call::Notify) << QStringLiteral("STATUS=x\nERRNO=5")
                    << QByteArray("STATUS=x\nERRNO=5");
    }
}

void tst_SystemdNotifier::sendsEachState()
{
    QFETCH(int, address);
    QFETCH(int, call);
    QFETCH(QString, text);
    QFETCH(QByteArray, datagram);

    NotifySocket socket {Address(address)};
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    qputenv("NOTIFY_SOCKET", socket.name());
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

    // RELOADING=1 carries CLOCK_MONOTONIC in microseconds (systemd 253+ checks it against its own clock).
    const qint64 before = monotonicMicroseconds();
    QVERIFY2(notifier.reloading(), qPrintable(notifier.errorString()));
    const qint64 after = monotonicMicroseconds();
    const QByteArray reloading = socket.receive();
    QVERIFY2(reloading.startsWith("RELOADING=1\nMONOTONIC_USEC="), reloading.constData());
    const qint64 stamp = reloading.mid(reloading.indexOf("MONOTONIC_USEC=") + 15).toLongLong();
    QVERIFY2(stamp >= before && stamp <= after, reloading.constData());
}

void tst_SystemdNotifier::rejectsANonPositiveExtension()
{
    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    qputenv("NOTIFY_SOCKET", socket.name());
    SystemdNotifier notifier;
    QVERIFY(!notifier.extendTimeout(0us));
    QVERIFY(!notifier.errorString().isEmpty());
    QVERIFY(!socket.hasPending());
}

void tst_SystemdNotifier::reportsASendFailure_data()
{
    QTest::addColumn<QByteArray>("name");
    QTest::addColumn<QString>("message");
    QTest::newRow("nobody listens") << QByteArray("nobody-listens.sock") << QStringLiteral("sd_notify failed");
    QTest::newRow("nobody listens, abstract")
        << QByteArray("@quiesce-test-nobody-listens") << QStringLiteral("sd_notify failed");
    QTest::newRow("relative path") << QByteArray("relative.sock") << QStringLiteral("absolute path");
    QTest::newRow("too long") << QByteArray("/" + QByteArray(200, 'x')) << QStringLiteral("too long");
}

void tst_SystemdNotifier::reportsASendFailure()
{
    QFETCH(QByteArray, name);
    QFETCH(QString, message);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    if (name == "nobody-listens.sock")
        name = QFile::encodeName(dir.filePath(QString::fromLatin1(name)));
    qputenv("NOTIFY_SOCKET", name);
    SystemdNotifier notifier;
    QVERIFY(!notifier.ready());
    QVERIFY2(notifier.errorString().contains(message), qPrintable(notifier.errorString()));
}

void tst_SystemdNotifier::attachReportsTheQuitPath()
{
    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    ShutdownCoordinator coordinator;
    QList<int> exits;
    prepareQuitPath(socket, coordinator, &exits);
    coordinator.addPhase(QStringLiteral("drain"), 200, 10s, [](ShutdownPhaseContext *ctx) {
        QObject::connect(ctx, &ShutdownPhaseContext::modeChanged, ctx, [ctx] { ctx->complete(); });
    });
    coordinator.addPhase(QStringLiteral("save"), 400, ShutdownCoordinator::NoBudget, [](ShutdownPhaseContext *ctx) {
        ctx->setCount(QStringLiteral("saved"), 3);
        ctx->complete();
    });
    coordinator.setReady();
    SystemdNotifier notifier;
    notifier.setExtendMargin(5s);
    notifier.setPhaseStatus(QStringLiteral("drain"), QStringLiteral("waiting for work in flight"));
    notifier.attach(&coordinator);

    // Every extension covers what is left of the hard deadline (20 s from the request) plus the margin: no more
    // than 25 s, and no less than 25 s minus the time this test has taken since the request.
    QElapsedTimer sinceRequest;
    auto checkExtension = [&sinceRequest](const QByteArray &datagram) {
        const qsizetype at = datagram.indexOf("\nEXTEND_TIMEOUT_USEC=");
        if (at < 0)
            return false;
        const qint64 us = datagram.mid(at + 21).toLongLong();
        return us <= 25000000 && us >= 25000000 - (sinceRequest.elapsed() + 1) * 1000;
    };

    ShutdownRequest request;
    request.reason = QStringLiteral("sigterm");
    request.signo = SIGTERM;
    sinceRequest.start();
    coordinator.requestShutdown(request);
    QByteArray m = socket.receive();
    QVERIFY2(m.startsWith("STOPPING=1\nSTATUS=Stopping (sigterm): "), m.constData());
    QVERIFY2(checkExtension(m), m.constData());

    QTRY_COMPARE(coordinator.currentPhase(), QStringLiteral("drain"));
    m = socket.receive();
    QVERIFY2(m.startsWith("STATUS=Stopping (sigterm): drain - waiting for work in flight, up to 10000 ms\n"),
             m.constData());
    QVERIFY2(checkExtension(m), m.constData());

    request.reason = QStringLiteral("sigint");
    request.signo = SIGINT;
    coordinator.requestShutdown(request);
    m = socket.receive();
    QVERIFY2(m.startsWith("STATUS=Stopping fast (sigint, first sigterm): "), m.constData());
    QVERIFY2(checkExtension(m), m.constData());
    QTRY_COMPARE(exits.size(), 1);
    m = socket.receive();
    // No budget and no description: the hard deadline is what bounds it.
    QVERIFY2(m.startsWith("STATUS=Stopping (sigterm): save, until the hard deadline in "), m.constData());
    QVERIFY2(checkExtension(m), m.constData());
    QCOMPARE(socket.receive(), QByteArray("STATUS=Stopped exit=0 mode=fast: saved=3"));
    QVERIFY(!socket.hasPending());
}

// The application words the STATUS= texts: what its formatter returns is sent (an empty text sends none), and the
// library's own wording is there for the kinds it leaves alone.
void tst_SystemdNotifier::statusFormatterWordsTheTexts()
{
    SystemdStatus begin;
    begin.reason = QStringLiteral("sigterm");
    QCOMPARE(SystemdNotifier::defaultStatus(begin), QStringLiteral("Stopping (sigterm): graceful"));

    NotifySocket socket;
    QVERIFY2(socket.isValid(), qPrintable(socket.errorString()));
    ShutdownCoordinator coordinator;
    QList<int> exits;
    prepareQuitPath(socket, coordinator, &exits);
    coordinator.addPhase(QStringLiteral("save"), Quiesce::PhaseOrder::Save, 10s,
                         [](ShutdownPhaseContext *ctx) { ctx->complete(); });
    coordinator.setReady();
    SystemdNotifier notifier;
    QList<SystemdStatus::Kind> kinds;
    notifier.setStatusFormatter([&kinds](const SystemdStatus &status) {
        kinds.append(status.kind);
        switch (status.kind) {
        case SystemdStatus::Kind::Stopping:
            return QStringLiteral("going down (%1, %2)\nsoon").arg(status.reason, shutdownModeName(status.mode));
        case SystemdStatus::Kind::PhaseBegin:
            return QStringLiteral("%1 within %2 ms").arg(status.phase).arg(status.budgetMs);
        case SystemdStatus::Kind::Stopped:
            return QString(); // no STATUS= at all
        case SystemdStatus::Kind::Escalate:
            break;
        }
        return SystemdNotifier::defaultStatus(status);
    });
    notifier.attach(&coordinator);

    ShutdownRequest request;
    request.reason = QStringLiteral("sigterm");
    request.signo = SIGTERM;
    coordinator.requestShutdown(request);
    QByteArray m = socket.receive();
    // Its line break becomes a space: a newline would start another assignment.
    QVERIFY2(m.startsWith("STOPPING=1\nSTATUS=going down (sigterm, graceful) soon\nEXTEND_TIMEOUT_USEC="),
             m.constData());
    QTRY_VERIFY(socket.hasPending()); // phases start from the event loop
    m = socket.receive();
    QVERIFY2(m.startsWith("STATUS=save within 10000 ms\nEXTEND_TIMEOUT_USEC="), m.constData());
    QTRY_COMPARE(exits.size(), 1);
    QCOMPARE(exits.constFirst(), 0);
    QVERIFY(!socket.hasPending()); // the formatter said nothing for the end: nothing was sent
    QCOMPARE(kinds,
             (QList<SystemdStatus::Kind> {SystemdStatus::Kind::Stopping, SystemdStatus::Kind::PhaseBegin,
                                          SystemdStatus::Kind::Stopped}));
}

QTEST_GUILESS_MAIN(tst_SystemdNotifier)

#include "tst_systemdnotifier.moc"
