#include "engine.h"
#include "exitcodes.h"
#include "lineoutput.h"
#include "mainwindow.h"
#include "options.h"
#include "resourcelimits.h"
#include "statestore.h"
#include "unixsignalnotifier.h"

#include <QtCore/QCoreApplication>
#include <QtWidgets/QApplication>

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

// One line and exit 71 when the descriptor limit cannot carry \a workers: checked before anything is opened, so
// that no open() or thread start meets EMFILE where Qt or GLib abort (exit 133) instead of failing.
bool descriptorsFit(int workers, bool window, const QString &who)
{
    const int needed = Engine::descriptorsNeeded(workers, window);
    const quint64 limit = ResourceLimits::descriptorLimit();
    if (quint64(needed) <= limit)
        return true;
    writeStderrLine(
        QStringLiteral("%1 needs about %2 descriptors, the limit is %3 (ulimit -n)").arg(who).arg(needed).arg(limit));
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    // Order matters here. First, before anything can be slow or fail: stdout may be a pipe whose reader is gone,
    // which must cost a line, not the process; a file that outgrows `ulimit -f` must fail the write with EFBIG
    // (the store retries, the save reports 74) instead of killing us with SIGXFSZ; and the signal bridge goes in
    // before QCoreApplication exists, so a SIGTERM during startup is queued and handled once the event loop runs
    // (never fatal, never lost). Children get both dispositions back (UnixSignalNotifier::prepareChildProcess).
    struct sigaction ignore;
    std::memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    for (const int signo : {SIGPIPE, SIGXFSZ}) {
        if (::sigaction(signo, &ignore, nullptr) == -1)
            writeStderrLine(QStringLiteral("cannot ignore %1: %2")
                                .arg(UnixSignalNotifier::signalName(signo).toUpper(),
                                     QString::fromLocal8Bit(std::strerror(errno))));
    }
    // The soft descriptor limit goes up to the hard one before anything opens a descriptor (children get the
    // original back); what is open now (inherited) counts against it.
    QString limitError;
    if (!ResourceLimits::raiseDescriptorLimit(&limitError))
        writeStderrLine(QStringLiteral("cannot raise the descriptor limit: %1").arg(limitError));
    UnixSignalNotifier signalBridge;
    if (!signalBridge.watch({SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2})) {
        writeStderrLine(QStringLiteral("cannot install the signal handlers: %1").arg(signalBridge.errorString()));
        return ExitCode::OsError;
    }

    QCoreApplication::setApplicationName(QStringLiteral("quiesce"));
    QCoreApplication::setOrganizationName(QStringLiteral("Quiesce"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QUIESCE_VERSION));

    // The front end is chosen before the application object: a window needs QApplication, headless must not
    // need a display at all.
    bool noDisplay = false;
    const bool headless = wantsHeadless(argc, argv, &noDisplay);
    // The application object alone takes descriptors (its event dispatcher, a display): refuse a limit too low
    // even for one worker before it exists. The worker count is checked once the command line is parsed.
    if (!descriptorsFit(1, !headless, QStringLiteral("quiesce")))
        return ExitCode::OsError;
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
    if (!descriptorsFit(options.tunables.workers, !headless,
                        QStringLiteral("--workers %1").arg(options.tunables.workers)))
        return ExitCode::OsError;
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
