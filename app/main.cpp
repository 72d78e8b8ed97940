#include "engine.h"
#include "exitcodes.h"
#include "lineoutput.h"
#include "mainwindow.h"
#include "options.h"
#include "singleinstance.h"
#include "statestore.h"
#include "unixsignalnotifier.h"

#include <QtCore/QCoreApplication>
#include <QtGui/QGuiApplication>
#include <QtWidgets/QApplication>
#include <QtWidgets/QMessageBox>

#include <csignal>
#include <cstring>
#include <memory>

#include <unistd.h>

using namespace Quiesce;
using namespace Quiesce::App;

namespace {

int runInspect(const Options &options)
{
    QByteArray json;
    QString error;
    int exitCode = 0;
    const QString path = options.statePath.isEmpty() ? StateStore::defaultPath() : options.statePath;
    if (!StateStore::inspect(path, options.inspectIds, &json, &error, &exitCode)) {
        writeStderrLine(error);
        return exitCode;
    }
    writeStdoutLine(QString::fromUtf8(json.trimmed()));
    return ExitCode::Ok;
}

// A windowed start that fails says why in a box as well as on stderr: launched from a menu, nobody reads stderr.
// Blocking is fine here (before the event loop, no quit path yet); on a platform nobody can see (offscreen,
// minimal) the box would only wait forever, so the stderr line is all.
void showStartupError(const QString &error)
{
    const QString platform = QGuiApplication::platformName();
    if (platform == QLatin1StringView("offscreen") || platform == QLatin1StringView("minimal"))
        return;
    QMessageBox box(QMessageBox::Critical, QCoreApplication::translate("main", "Quiesce cannot start"), error,
                    QMessageBox::Close);
    box.exec();
}

} // namespace

int main(int argc, char **argv)
{
    // Order matters here. First, before anything can be slow or fail: stdout may be a pipe whose reader is gone,
    // which must cost a line, not the process; and the signal bridge goes in before QCoreApplication exists, so a
    // SIGTERM during startup is queued and handled once the event loop runs (never fatal, never lost).
    struct sigaction ignore;
    std::memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (::sigaction(SIGPIPE, &ignore, nullptr) == -1)
        writeStderrLine(QStringLiteral("cannot ignore SIGPIPE: %1").arg(QString::fromLocal8Bit(std::strerror(errno))));
    UnixSignalNotifier signalBridge;
    if (!signalBridge.watch({SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2})) {
        writeStderrLine(QStringLiteral("cannot install the signal handlers: %1").arg(signalBridge.errorString()));
        return ExitCode::HardDeadline;
    }

    QCoreApplication::setApplicationName(QStringLiteral("quiesce"));
    QCoreApplication::setOrganizationName(QStringLiteral("Quiesce"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QUIESCE_VERSION));

    // The front end is chosen before the application object: a window needs QApplication, headless must not
    // need a display at all.
    bool noDisplay = false;
    const bool headless = wantsHeadless(argc, argv, &noDisplay);
    std::unique_ptr<QCoreApplication> app =
        headless ? std::make_unique<QCoreApplication>(argc, argv) : std::make_unique<QApplication>(argc, argv);

    const ParseResult parsed = parseCommandLine(QCoreApplication::arguments());
    if (!parsed.options) {
        if (!parsed.error.isEmpty())
            writeStderrLine(parsed.error);
        else
            writeStdoutLine(parsed.output.endsWith(QLatin1Char('\n')) ? parsed.output.chopped(1) : parsed.output);
        return parsed.exitCode;
    }
    const Options &options = *parsed.options;
    if (options.command == Options::Command::Inspect)
        return runInspect(options);
    if (headless && noDisplay && !options.headless)
        writeStderrLine(QStringLiteral("no display found (DISPLAY, WAYLAND_DISPLAY); running headless"));

    Engine engine(options);
    QObject::connect(&engine, &Engine::line, &engine, &writeStdoutLine);
    engine.attachSignals(&signalBridge);

    QString error;
    int exitCode = ExitCode::Ok;
    const QString statePath = options.statePath.isEmpty() ? StateStore::defaultPath() : options.statePath;
    if (!engine.open(&error, &exitCode)) {
        // From the desktop: a second window on a state a running window holds raises that one instead (exit 0);
        // any other failure also shows its line in a box, as a launch from a menu has no terminal to read.
        if (!headless && exitCode == ExitCode::CantCreate && SingleInstance::activateRunning(statePath)) {
            writeStdoutLine(QStringLiteral("ACTIVATE raised the running window for %1").arg(statePath));
            return ExitCode::Ok;
        }
        writeStderrLine(error);
        if (!headless)
            showStartupError(error);
        return exitCode;
    }

    // The window shows before READY, so READY means the same thing for both front ends: ready to be looked at.
    std::unique_ptr<MainWindow> window;
    std::unique_ptr<SingleInstance> instance;
    if (!headless) {
        window = std::make_unique<MainWindow>(&engine, options);
        window->show();
        instance = std::make_unique<SingleInstance>();
        QObject::connect(instance.get(), &SingleInstance::activationRequested, window.get(),
                         &MainWindow::activateFromAnotherLaunch);
        if (!instance->listen(statePath))
            writeStderrLine(QStringLiteral("cannot offer the window to a second launch (%1)")
                                .arg(SingleInstance::socketPath(statePath)));
    }
    engine.start();

    const int code = QCoreApplication::exec();

    // The quit path only returns from exec() once every worker thread has stopped. Should one still run (it
    // cannot, by construction), destroying it would abort: leave the way the watchdog would.
    if (engine.hasStuckThreads())
        ::_exit(ExitCode::HardDeadline);
    window.reset();
    return code;
}
