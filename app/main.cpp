#include "engine.h"
#include "exitcodes.h"
#include "lineoutput.h"
#include "mainwindow.h"
#include "options.h"
#include "statestore.h"
#include "unixsignalnotifier.h"

#include <QtCore/QCoreApplication>
#include <QtWidgets/QApplication>

#include <csignal>
#include <cstring>
#include <memory>

#include <fcntl.h>
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

// Did we start with a terminal that can go away under us? stdin or stdout on a tty, or (headless) being in the
// foreground process group of our controlling terminal (e.g. `quiesce --headless </dev/null >log` typed in a
// shell). Under a supervisor (systemd, Docker, Kubernetes) there is no controlling terminal at all.
bool startedWithTerminal(bool headless)
{
    if (::isatty(STDIN_FILENO) == 1 || ::isatty(STDOUT_FILENO) == 1)
        return true;
    if (!headless)
        return false;
    const int tty = ::open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC); // fails without a controlling terminal
    if (tty < 0)
        return false;
    const bool foreground = ::tcgetpgrp(tty) == ::getpgrp();
    ::close(tty);
    return foreground;
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
    // What SIGHUP means is decided by how we were started, and looked at BEFORE the bridge replaces the
    // disposition: an inherited SIG_IGN (nohup) must be seen, and then SIGHUP is not watched unless it reloads.
    struct sigaction inheritedHangup;
    std::memset(&inheritedHangup, 0, sizeof inheritedHangup);
    const bool hangupIgnored = ::sigaction(SIGHUP, nullptr, &inheritedHangup) == 0
        && !(inheritedHangup.sa_flags & SA_SIGINFO) && inheritedHangup.sa_handler == SIG_IGN;
    bool noDisplay = false;
    const bool headless = wantsHeadless(argc, argv, &noDisplay);
    const bool hangupStopsByDefault = startedWithTerminal(headless);
    UnixSignalNotifier signalBridge;
    QList<int> watched {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    if (!hangupIgnored)
        watched.append(SIGHUP); // watched now, so a SIGHUP during startup is queued; its meaning comes later
    if (!signalBridge.watch(watched)) {
        writeStderrLine(QStringLiteral("cannot install the signal handlers: %1").arg(signalBridge.errorString()));
        return ExitCode::HardDeadline;
    }

    QCoreApplication::setApplicationName(QStringLiteral("quiesce"));
    QCoreApplication::setOrganizationName(QStringLiteral("Quiesce"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QUIESCE_VERSION));

    // The front end is chosen before the application object (above, with the hangup's meaning): a window needs
    // QApplication, headless must not need a display at all.
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
    Options options = *parsed.options;
    if (options.command == Options::Command::Inspect)
        return runInspect(options);
    if (options.onHangup == OnHangup::Auto)
        options.onHangup = hangupStopsByDefault ? OnHangup::Stop : OnHangup::Reload;
    // nohup asked for SIGHUP to be ignored: as a stop it stays ignored; as a reload (--on-hangup reload, or no
    // terminal) it is an explicit request to us and is watched from here on.
    if (hangupIgnored && options.onHangup == OnHangup::Reload && !signalBridge.watch(SIGHUP)) {
        writeStderrLine(QStringLiteral("cannot install the signal handlers: %1").arg(signalBridge.errorString()));
        return ExitCode::OsError;
    }
    if (headless && noDisplay && !options.headless)
        writeStderrLine(QStringLiteral("no display found (DISPLAY, WAYLAND_DISPLAY); running headless"));

    Engine engine(options);
    QObject::connect(&engine, &Engine::line, &engine, &writeStdoutLine);
    engine.attachSignals(&signalBridge);

    QString error;
    int exitCode = ExitCode::Ok;
    if (!engine.open(&error, &exitCode)) {
        writeStderrLine(error);
        return exitCode;
    }

    // The window shows before READY, so READY means the same thing for both front ends: ready to be looked at.
    std::unique_ptr<MainWindow> window;
    if (!headless) {
        window = std::make_unique<MainWindow>(&engine, options);
        window->show();
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
