// A service that stops in order: SIGTERM or Ctrl+C runs "flush", then "close", each with its own budget, and the
// process exits 0. A second signal hurries the stop up; a third exits at once.
#include <Quiesce/exitcodes.h>
#include <Quiesce/shutdowncoordinator.h>
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QTextStream>

#include <csignal>

using namespace std::chrono_literals;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QTextStream out(stdout);
    auto say = [&out](const QString &line) { out << line << Qt::endl; };

    Quiesce::UnixSignalNotifier bridge; // SIGTERM and SIGINT arrive as a Qt signal on the event loop
    if (!bridge.watch({SIGTERM, SIGINT})) {
        QTextStream(stderr) << "console: " << bridge.errorString() << Qt::endl;
        return Quiesce::ExitCode::OsError;
    }

    Quiesce::ShutdownCoordinator coordinator; // ordered phases with budgets, then QCoreApplication::exit(code)
    coordinator.setOutput(say);               // where its own SHUTDOWN lines go
    coordinator.setDirectOutputFd(1);         // stdout: the third signal's and the watchdog's line, if ever
    coordinator.addPhase(QStringLiteral("flush"), Quiesce::PhaseOrder::Save, 2s,
                         [&](Quiesce::ShutdownPhaseContext *phase) {
                             say(QStringLiteral("phase flush: writing buffered data"));
                             phase->complete();
                         });
    coordinator.addPhase(QStringLiteral("close"), Quiesce::PhaseOrder::StopThreads, 1s,
                         [&](Quiesce::ShutdownPhaseContext *phase) {
                             say(QStringLiteral("phase close: closing connections"));
                             phase->complete();
                         });
    QObject::connect(&bridge, &Quiesce::UnixSignalNotifier::received, &coordinator, [&](const Quiesce::SignalEvent &e) {
        coordinator.requestShutdown({Quiesce::UnixSignalNotifier::signalName(e.signo), e.signo, e.senderPid});
    });

    coordinator.setReady();
    say(QStringLiteral("ready pid=%1").arg(QCoreApplication::applicationPid()));
    return app.exec();
}
