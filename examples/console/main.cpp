// A service with graceful shutdown: SIGTERM or Ctrl+C runs "flush" then "close", each with its own budget,
// and the process exits 0. A second signal while it stops hurries it up; a third exits at once.
#include <Quiesce/exitcodes.h>
#include <Quiesce/shutdowncoordinator.h>
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QTextStream>

#include <csignal>
#include <cstdio>

using namespace std::chrono_literals;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QTextStream out(stdout);
    auto say = [&out](const QString &line) { out << line << Qt::endl; };

    // The signal bridge: SIGTERM and SIGINT arrive as a Qt signal on the event loop.
    Quiesce::UnixSignalNotifier bridge;
    if (!bridge.watch({SIGTERM, SIGINT})) {
        std::fprintf(stderr, "console: %s\n", qPrintable(bridge.errorString()));
        return Quiesce::ExitCode::OsError;
    }

    // The one quit path: ordered phases with budgets, then QCoreApplication::exit(code).
    Quiesce::ShutdownCoordinator coordinator;
    coordinator.setOutput(say); // the coordinator's own SHUTDOWN lines
    coordinator.addPhase(QStringLiteral("flush"), 10, 2s, [&](Quiesce::ShutdownPhaseContext *phase) {
        say(QStringLiteral("phase flush: writing buffered data"));
        phase->complete();
    });
    coordinator.addPhase(QStringLiteral("close"), 20, 1s, [&](Quiesce::ShutdownPhaseContext *phase) {
        say(QStringLiteral("phase close: closing connections"));
        phase->complete();
    });

    QObject::connect(&bridge, &Quiesce::UnixSignalNotifier::received, &coordinator,
                     [&](const Quiesce::SignalEvent &event) {
                         coordinator.requestShutdown(
                             {Quiesce::UnixSignalNotifier::signalName(event.signo), event.signo, event.senderPid});
                     });

    coordinator.setReady();
    say(QStringLiteral("ready pid=%1").arg(QCoreApplication::applicationPid()));
    return app.exec();
}
