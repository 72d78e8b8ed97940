// A window that stops in order. Closing it (the title bar's button, File > Quit, Ctrl+Q), SIGTERM and Ctrl+C all
// ask the shutdown coordinator, which runs "stop-ticker" and then "save-state", each with its own budget, and then
// quits the application with exit code 0. The close event itself is always ignored: the window goes when the
// coordinator finishes, so there is exactly one quit path. A second signal hurries the stop up, a third exits at
// once; a second close only says that the window is already stopping (a double click must not cancel work).
#include <Quiesce/exitcodes.h>
#include <Quiesce/shutdowncoordinator.h>
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QTextStream>
#include <QtCore/QTimer>
#include <QtGui/QAction>
#include <QtGui/QCloseEvent>
#include <QtGui/QKeySequence>
#include <QtWidgets/QApplication>
#include <QtWidgets/QLabel>
#include <QtWidgets/QMainWindow>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QStatusBar>

#include <csignal>

using namespace std::chrono_literals;

namespace {

void say(const QString &line)
{
    QTextStream(stdout) << line << Qt::endl;
}

// No signals or slots of its own (lambdas do the wiring), so no Q_OBJECT and no moc step.
class MainWindow : public QMainWindow
{
public:
    explicit MainWindow(Quiesce::ShutdownCoordinator *coordinator)
        : m_coordinator(coordinator)
    {
        setWindowTitle(QStringLiteral("Quiesce widgets example"));
        m_label = new QLabel(this);
        m_label->setAlignment(Qt::AlignCenter);
        setCentralWidget(m_label);
        QAction *quit = menuBar()->addMenu(QStringLiteral("&File"))->addAction(QStringLiteral("&Quit"));
        quit->setShortcut(QKeySequence::Quit);
        connect(quit, &QAction::triggered, this, [this] { requestQuit(QStringLiteral("quit")); });

        // Some work to stop: a ticker counting in the window.
        connect(&m_ticker, &QTimer::timeout, this, [this] { m_label->setNum(++m_ticks); });
        m_ticker.start(100ms);
        // The status bar follows the quit path.
        connect(coordinator, &Quiesce::ShutdownCoordinator::phaseStarted, this,
                [this](const QString &phase) { statusBar()->showMessage(QStringLiteral("Stopping: %1").arg(phase)); });
    }

    int stopTicker()
    {
        m_ticker.stop();
        return m_ticks;
    }

protected:
    void closeEvent(QCloseEvent *event) override
    {
        event->ignore(); // the coordinator decides when the window goes
        requestQuit(QStringLiteral("window"));
    }

private:
    void requestQuit(const QString &reason)
    {
        if (m_coordinator->isShuttingDown()) { // repeated closes never escalate; signals do
            statusBar()->showMessage(QStringLiteral("Already stopping: %1").arg(m_coordinator->currentPhase()));
            return;
        }
        m_coordinator->requestShutdown({reason, 0, 0});
    }

    Quiesce::ShutdownCoordinator *m_coordinator;
    QLabel *m_label;
    QTimer m_ticker;
    int m_ticks = 0;
};

} // namespace

int main(int argc, char *argv[])
{
    Quiesce::UnixSignalNotifier bridge; // before QApplication: SIGTERM and SIGINT arrive on the event loop
    if (!bridge.watch({SIGTERM, SIGINT})) {
        QTextStream(stderr) << "widgets: " << bridge.errorString() << Qt::endl;
        return Quiesce::ExitCode::OsError;
    }

    QApplication app(argc, argv);
    QApplication::setQuitOnLastWindowClosed(false); // only the coordinator ends the application

    Quiesce::ShutdownCoordinator coordinator; // its exit function: QCoreApplication::exit(code)
    coordinator.setOutput(say);
    MainWindow window(&coordinator);
    coordinator.addPhase(QStringLiteral("stop-ticker"), Quiesce::PhaseOrder::StopIntake, 1s,
                         [&](Quiesce::ShutdownPhaseContext *phase) {
                             say(QStringLiteral("phase stop-ticker: stopped at %1 ticks").arg(window.stopTicker()));
                             phase->complete();
                         });
    coordinator.addPhase(QStringLiteral("save-state"), Quiesce::PhaseOrder::Save, 2s,
                         [&](Quiesce::ShutdownPhaseContext *phase) {
                             say(QStringLiteral("phase save-state: saving the window's state"));
                             phase->complete();
                         });
    QObject::connect(&bridge, &Quiesce::UnixSignalNotifier::received, &coordinator, [&](const Quiesce::SignalEvent &e) {
        for (quint64 i = 0; i < e.distinctCount(); ++i) // a second signal escalates
            coordinator.requestShutdown({e.name(), e.signo, e.senderPid});
    });

    window.show();
    coordinator.setReady();
    say(QStringLiteral("ready pid=%1").arg(QCoreApplication::applicationPid()));
    return app.exec();
}
