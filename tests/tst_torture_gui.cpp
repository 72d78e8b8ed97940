// Reliability: the window's quit path raced against a real SIGTERM, in-process under the offscreen platform. A
// close() and a SIGTERM at the same moment are two requests for one quit path: one shutdownStarted, one save,
// the second request escalates to FAST (as documented), one finish with exit 0 and never an immediate exit. With
// "ask before quit" on, the close only asks, so the SIGTERM is the one and only request.
#include "engine.h"
#include "mainwindow.h"
#include "simulatedjob.h"
#include <Quiesce/shutdowncoordinator.h>
#include <Quiesce/unixsignalnotifier.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QSettings>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QMessageBox>

#include <csignal>
#include <memory>

#include <unistd.h>

using namespace Quiesce;
using namespace Quiesce::App;
using namespace std::chrono_literals;

class tst_TortureGui : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void closeAndSigtermAtOnce_data();
    void closeAndSigtermAtOnce();

private:
    QTemporaryDir m_dir;
    UnixSignalNotifier m_signals;
    int m_runs = 0;
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<MainWindow> m_window;
    QStringList m_lines;
};

void tst_TortureGui::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // Nothing of the user's: settings in the temporary directory.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("Quiesce"));
    QCoreApplication::setApplicationName(QStringLiteral("quiesce-torture-gui"));
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    // The bridge takes SIGTERM and SIGINT over from QtTest's crash handler, as the app's main() does.
    QVERIFY2(m_signals.watch({SIGTERM, SIGINT}), qPrintable(m_signals.errorString()));
    // Every SIGTERM here comes from this process, one per row and often within 250 ms of the previous row's: the
    // bridge would merge them as one sender's duplicate delivery (tst_unixsignalnotifier tests that rule). These
    // rows are about a close and a signal racing, so each signal must count.
    UnixSignalNotifier::setDuplicateWindow(std::chrono::milliseconds(0));
}

void tst_TortureGui::cleanup()
{
    if (m_engine && !m_engine->coordinator()->isFinished()) {
        // A failed row: end it without an immediate exit (FAST at most), bounded.
        SimulatedJob::releaseHangsForTesting();
        ShutdownCoordinator *coordinator = m_engine->coordinator();
        if (!coordinator->isShuttingDown())
            m_engine->requestShutdown(QStringLiteral("api"));
        if (coordinator->mode() == ShutdownMode::Graceful)
            m_engine->requestShutdown(QStringLiteral("api"));
        QTRY_VERIFY_WITH_TIMEOUT(coordinator->isFinished(), 30000);
    }
    if (QTest::currentTestFailed()) {
        for (const QString &line : std::as_const(m_lines))
            qInfo("engine: %s", qPrintable(line));
    }
    m_lines.clear();
    m_window.reset();
    m_engine.reset();
}

void tst_TortureGui::closeAndSigtermAtOnce_data()
{
    QTest::addColumn<bool>("signalFirst");
    QTest::addColumn<bool>("askBeforeQuit");
    QTest::newRow("close, then SIGTERM") << false << false;
    QTest::newRow("SIGTERM, then close") << true << false;
    QTest::newRow("close asks, then SIGTERM") << false << true;
}

void tst_TortureGui::closeAndSigtermAtOnce()
{
    QFETCH(bool, signalFirst);
    QFETCH(bool, askBeforeQuit);

    Options o;
    o.statePath = m_dir.filePath(QStringLiteral("state-%1.sqlite").arg(++m_runs));
    o.seed = 11;
    o.tunables.rate = 4;
    // Work that only FAST ends quickly; with the question up the SIGTERM alone is graceful, so shorter work there.
    o.tunables.workMinMs = askBeforeQuit ? 100 : 5000;
    o.tunables.workMaxMs = askBeforeQuit ? 300 : 6000;
    o.tunables.workers = 2;
    o.tunables.drainTimeout = 60s;
    o.tunables.hardTimeout = 120s;

    m_engine = std::make_unique<Engine>(o);
    int exitCode = -1;
    int exits = 0;
    int immediateCode = -1;
    m_engine->coordinator()->setExitFunction([&](int code) {
        exitCode = code;
        ++exits;
    });
    m_engine->coordinator()->setImmediateExitFunction([&](int code) { immediateCode = code; });
    m_engine->attachSignals(&m_signals);
    connect(m_engine.get(), &Engine::line, this, [this](const QString &line) { m_lines << line; });
    QString error;
    int code = 0;
    QVERIFY2(m_engine->open(&error, &code), qPrintable(error));
    m_window = std::make_unique<MainWindow>(m_engine.get(), o);
    m_window->setAskBeforeQuit(askBeforeQuit);
    m_engine->start();
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().inFlight > 0, 20000);

    ShutdownCoordinator *coordinator = m_engine->coordinator();
    QSignalSpy started(coordinator, &ShutdownCoordinator::shutdownStarted);
    QSignalSpy escalated(coordinator, &ShutdownCoordinator::escalated);
    QSignalSpy phases(coordinator, &ShutdownCoordinator::phaseStarted);
    QSignalSpy finished(coordinator, &ShutdownCoordinator::finished);

    // Back to back, no event processed in between: the two arrive "at the same moment".
    if (signalFirst)
        QCOMPARE(::kill(::getpid(), SIGTERM), 0);
    QVERIFY(!m_window->close()); // never closes directly: the quit path decides
    if (!signalFirst)
        QCOMPARE(::kill(::getpid(), SIGTERM), 0);

    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QCOMPARE(started.count(), 1);
    const auto first = started.at(0).at(0).value<ShutdownRequest>();
    if (askBeforeQuit) {
        // The close only asked; the signal was the one request, and the question went away with it.
        QCOMPARE(first.reason, QStringLiteral("sigterm"));
        QCOMPARE(escalated.count(), 0);
        QCOMPARE(coordinator->report().requests, 1);
        QTRY_VERIFY(!m_window->findChild<QMessageBox *>(QStringLiteral("confirmQuitBox"))
                    || !m_window->findChild<QMessageBox *>(QStringLiteral("confirmQuitBox"))->isVisible());
    } else {
        // The close is handled at once; the signal waits for the event loop: it is the second request, FAST.
        QCOMPARE(first.reason, QStringLiteral("window"));
        QCOMPARE(escalated.count(), 1);
        QCOMPARE(escalated.at(0).at(0).value<ShutdownMode>(), ShutdownMode::Fast);
        QCOMPARE(escalated.at(0).at(1).value<ShutdownRequest>().reason, QStringLiteral("sigterm"));
        QCOMPARE(coordinator->report().requests, 2);
    }
    int saves = 0;
    QStringList order;
    for (const QList<QVariant> &args : std::as_const(phases)) {
        order << args.at(0).toString();
        saves += args.at(0).toString() == QLatin1StringView("save") ? 1 : 0;
    }
    QCOMPARE(saves, 1);
    QCOMPARE(order,
             (QStringList {QStringLiteral("stop-intake"), QStringLiteral("drain"), QStringLiteral("cancel"),
                           QStringLiteral("save"), QStringLiteral("stop-threads")}));
    QCOMPARE(finished.at(0).at(0).toInt(), 0);
    QCOMPARE(exits, 1);
    QCOMPARE(exitCode, 0);
    QCOMPARE(immediateCode, -1);
    QTRY_VERIFY(!m_window->isVisible()); // the window closes at the exit, not before
    // A signal after the end changes nothing: delivered, and ignored.
    QSignalSpy received(&m_signals, &UnixSignalNotifier::received);
    QCOMPARE(::kill(::getpid(), SIGTERM), 0);
    QVERIFY(received.wait(10000));
    QCOMPARE(exits, 1);
    QCOMPARE(immediateCode, -1);
    QCOMPARE(started.count(), 1);
}

QTEST_MAIN(tst_TortureGui)
#include "tst_torture_gui.moc"
