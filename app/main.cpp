#include "main.h"

#include "engine.h"
#include "lineoutput.h"
#include "options.h"
#include <Quiesce/exitcodes.h>
#include <Quiesce/resourcelimits.h>
#include <Quiesce/statestore.h>
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QScopeGuard>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

namespace Quiesce::App {

WindowFrontEnd::~WindowFrontEnd() = default;

sigset_t handledSignals()
{
    sigset_t set;
    sigemptyset(&set);
    for (const int signo : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP})
        sigaddset(&set, signo);
    return set;
}

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
constexpr bool kSanitizerBuild = __has_feature(address_sanitizer) || __has_feature(thread_sanitizer);
#else
constexpr bool kSanitizerBuild = false;
#endif

int runInspect(const Options &options)
{
    QByteArray json;
    QString error;
    int exitCode = 0;
    const QString path = options.statePath.isEmpty() ? StateStore::defaultPath() : options.statePath;
    if (!StateStore::inspect(path, options.inspectIds, &json, &error, &exitCode)) {
        writeStderrLineBlocking(error);
        return exitCode;
    }
    writeStdoutLineBlocking(QString::fromUtf8(json.trimmed()));
    return ExitCode::Ok;
}

// requeue-failed / purge-failed: one line saying how many, or the error (73 in use, 65 corrupt).
int runFailedCommand(const Options &options)
{
    const QString path = options.statePath.isEmpty() ? StateStore::defaultPath() : options.statePath;
    const bool requeue = options.command == Options::Command::RequeueFailed;
    const FailedJobsResult result = requeue ? StateStore::requeueFailed(path) : StateStore::purgeFailed(path);
    if (!result.ok) {
        writeStderrLineBlocking(result.error);
        return result.exitCode;
    }
    writeStdoutLineBlocking(QStringLiteral("%1 %2 failed requests in %3")
                                .arg(requeue ? QStringLiteral("requeued") : QStringLiteral("purged"))
                                .arg(result.count)
                                .arg(path));
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

// Before anything opens a file: a descriptor among 0, 1 and 2 that we were started without (`quiesce >&-`) gets
// /dev/null, or the next socket, lock or database would land there and receive every line meant for stdout.
bool ensureStandardDescriptors()
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        // The lowest free descriptor is this one, as the lower ones are open by now.
        const int opened = ::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
        if (opened != fd) {
            if (opened >= 0) {
                ::close(opened);
                errno = EBADF; // it landed elsewhere: say so, not whatever errno held before
            }
            return false;
        }
    }
    return true;
}

// The commands that run no event loop (--help, --version, errors of the command line, inspect) write on the main
// thread and wait for their reader as long as it takes; the stop signals get their default action back first, so
// Ctrl+C or SIGTERM end such a wait at once instead of being queued for an event loop that never runs.
void releaseSignals(UnixSignalNotifier &bridge)
{
    const QList<int> watched = bridge.watchedSignals();
    for (int signo : watched)
        bridge.unwatch(signo);
}

// Every way out of a run passes here (RAII: the early returns too): the queued lines get a bounded last chance.
struct FlushLinesAtExit
{
    FlushLinesAtExit() = default;
    FlushLinesAtExit(const FlushLinesAtExit &) = delete;
    FlushLinesAtExit &operator=(const FlushLinesAtExit &) = delete;
    ~FlushLinesAtExit() { flushLineOutput(FinalFlushBudget); }
};

// One line and exit 71 when the descriptor limit cannot carry \a workers: checked before anything is opened, so
// that no open() or thread start meets EMFILE where Qt or GLib abort (exit 133) instead of failing.
bool descriptorsFit(int workers, bool window, const QString &who, Isolation isolation = Isolation::Thread)
{
    const int needed = Engine::descriptorsNeeded(workers, window, isolation);
    const quint64 limit = ResourceLimits::descriptorLimit();
    if (quint64(needed) <= limit)
        return true;
    writeStderrLine(
        QStringLiteral("%1 needs about %2 descriptors, the limit is %3 (ulimit -n)").arg(who).arg(needed).arg(limit));
    return false;
}

} // namespace

int runApplication(int &argc, char **argv, WindowFrontEnd *window, bool noDisplayHandedOver)
{
    // Order matters here. First the standard descriptors, before anything opens a file. Then, before anything can
    // be slow or fail: stdout may be a pipe whose reader is gone, which must cost a line, not the process; a file
    // that outgrows `ulimit -f` must fail the write with EFBIG (the store retries, the save reports 74) instead of
    // killing us with SIGXFSZ; Qt's own messages become one stderr line each; and the signal bridge goes in before
    // QCoreApplication exists, so a SIGTERM during startup is queued and handled once the event loop runs (never
    // fatal, never lost). Children get both dispositions back (UnixSignalNotifier::prepareChildProcess).
    if (!ensureStandardDescriptors()) {
        writeStderrLine(QStringLiteral("cannot open /dev/null for a closed standard descriptor: %1")
                            .arg(QString::fromLocal8Bit(std::strerror(errno))));
        return ExitCode::OsError;
    }
    installQtMessageHandler();
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
    // What SIGHUP means is decided by how we were started, and looked at BEFORE the bridge replaces the
    // disposition: an inherited SIG_IGN (nohup) must be seen, and then SIGHUP is not watched unless it reloads.
    struct sigaction inheritedHangup;
    std::memset(&inheritedHangup, 0, sizeof inheritedHangup);
    const bool hangupIgnored = ::sigaction(SIGHUP, nullptr, &inheritedHangup) == 0
        && !(inheritedHangup.sa_flags & SA_SIGINFO) && inheritedHangup.sa_handler == SIG_IGN;
    bool noDisplay = noDisplayHandedOver;
    const bool headless = window == nullptr || wantsHeadless(argc, argv, &noDisplay);
    const bool hangupStopsByDefault = startedWithTerminal(headless);
    UnixSignalNotifier signalBridge;
    QList<int> watched {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    if (!hangupIgnored)
        watched.append(SIGHUP); // watched now, so a SIGHUP during startup is queued; its meaning comes later
    if (!signalBridge.watch(watched)) {
        writeStderrLine(QStringLiteral("cannot install the signal handlers: %1").arg(signalBridge.errorString()));
        return ExitCode::OsError;
    }
    // `quiesce` blocks these signals before it hands a headless run over to `quiesce-nox` (so one that arrives
    // across the exec waits instead of killing us); the bridge owns them now, so let them in. A mask inherited from
    // whoever started us is lifted too: a service that cannot see SIGTERM would run until its SIGKILL.
    const sigset_t handled = handledSignals();
    if (const int rc = ::pthread_sigmask(SIG_UNBLOCK, &handled, nullptr); rc != 0)
        writeStderrLine(
            QStringLiteral("cannot unblock the handled signals: %1").arg(QString::fromLocal8Bit(std::strerror(rc))));

    QCoreApplication::setApplicationName(QStringLiteral("quiesce"));
    QCoreApplication::setOrganizationName(QStringLiteral("Quiesce"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QUIESCE_VERSION));

    // The front end is chosen before the application object (above, with the hangup's meaning): a window needs
    // QApplication, headless must not need a display at all.
    // The application object alone takes descriptors (its event dispatcher, a display): refuse a limit too low
    // even for one worker before it exists. The worker count is checked once the command line is parsed.
    if (!descriptorsFit(1, !headless, QStringLiteral("quiesce")))
        return ExitCode::OsError;
    std::unique_ptr<QCoreApplication> app =
        headless ? std::make_unique<QCoreApplication>(argc, argv) : window->createApplication(argc, argv);

    const ParseResult parsed = parseCommandLine(QCoreApplication::arguments());
    if (!parsed.options) {
        releaseSignals(signalBridge);
        if (!parsed.error.isEmpty())
            writeStderrLineBlocking(parsed.error);
        else
            writeStdoutLineBlocking(parsed.output.endsWith(QLatin1Char('\n')) ? parsed.output.chopped(1)
                                                                              : parsed.output);
        return parsed.exitCode;
    }
    Options options = *parsed.options;
    if (!parsed.notice.isEmpty())
        writeStderrLine(parsed.notice);
    if (options.command == Options::Command::Inspect) {
        releaseSignals(signalBridge);
        return runInspect(options);
    }
    if (options.command == Options::Command::RequeueFailed || options.command == Options::Command::PurgeFailed) {
        releaseSignals(signalBridge);
        return runFailedCommand(options);
    }
    if (options.onHangup == OnHangup::Auto)
        options.onHangup = hangupStopsByDefault ? OnHangup::Stop : OnHangup::Reload;
    // nohup asked for SIGHUP to be ignored: as a stop it stays ignored; as a reload (--on-hangup reload, or no
    // terminal) it is an explicit request to us and is watched from here on.
    if (hangupIgnored && options.onHangup == OnHangup::Reload && !signalBridge.watch(SIGHUP)) {
        writeStderrLine(QStringLiteral("cannot install the signal handlers: %1").arg(signalBridge.errorString()));
        return ExitCode::OsError;
    }

    if (!descriptorsFit(options.tunables.workers, !headless,
                        QStringLiteral("--workers %1").arg(options.tunables.workers), options.tunables.isolation))
        return ExitCode::OsError;

    // The journal's thread first: opening the journal is the longest step before READY, and that thread loads the
    // SQL driver while the output thread, the watchdog and the workers start (Engine::open()). No file is touched.
    QString error;
    std::unique_ptr<StateStore> store = Engine::startStoreThread(&error);
    if (!store) {
        writeStderrLine(error); // "cannot start thread quiesce-store: <reason>", as for every thread
        return ExitCode::OsError;
    }
    // A run: from here on no line is written on the main thread. The writer thread takes them, so a reader that
    // stalls can never keep the event loop (and with it the quit path) from running.
    if (!startLineOutput(&error)) {
        writeStderrLine(error); // "cannot start thread quiesce-output: <reason>", as for every thread
        return ExitCode::OsError;
    }
    const FlushLinesAtExit flushAtExit;
    // The window speaks the person's language (Qt's own dialogs too) before it builds a widget; headless output is
    // a machine format and never translated.
    if (!headless)
        window->installTranslations();
    if (headless && noDisplay && !options.headless)
        writeStderrLine(QStringLiteral("no display found (DISPLAY, WAYLAND_DISPLAY); running headless"));

    Engine engine(options, std::move(store));
    QObject::connect(&engine, &Engine::line, &engine, &writeStdoutLine);
    engine.attachSignals(&signalBridge);
    // The library's direct lines (the third stop request's, the watchdog's) go into a private pipe that the exit
    // moves into the queue: they come after every line queued before them, and never block.
    engine.coordinator()->setDirectOutputFd(directLineFd());
    // The third stop request SIGKILLs every worker process group first (--isolation process), then exits.
    engine.coordinator()->setImmediateExitFunction([&engine](int code) {
        engine.killWorkersNow();
        exitAfterFlush(code);
    });

    int exitCode = ExitCode::Ok;
    const QString statePath = options.statePath.isEmpty() ? StateStore::defaultPath() : options.statePath;
    // The journal opens on its thread while the window's widgets are built here (they read nothing of the engine's
    // state); headless, nothing runs in between.
    bool opened = engine.beginOpen(&error, &exitCode);
    if (opened && !headless)
        window->build(&engine, options);
    opened = opened && engine.finishOpen(&error, &exitCode);
    if (!opened) {
        // A window built for a journal that did not open is never shown: it goes before anything else is shown.
        if (!headless)
            window->close();
        // From the desktop: a second window on a state a running window holds raises that one instead (exit 0);
        // any other failure also shows its line in a box, as a launch from a menu has no terminal to read.
        if (!headless && exitCode == ExitCode::CantCreate && window->activateRunning(statePath)) {
            writeStdoutLine(QStringLiteral("ACTIVATE raised the running window for %1").arg(statePath));
            return ExitCode::Ok;
        }
        writeStderrLine(error);
        if (!headless)
            window->showStartupError(error);
        return exitCode;
    }

    // The window shows before READY, so READY means the same thing for both front ends: ready to be looked at. It
    // goes before the engine does (declared after it), once exec() has returned.
    if (!headless)
        window->show(&engine, options, statePath);
    const auto closeWindow = qScopeGuard([&] {
        if (!headless)
            window->close();
    });
    engine.start();

    const int code = QCoreApplication::exec();

    // The quit path only returns from exec() once every worker thread has stopped. Should one still run (it
    // cannot, by construction), destroying it would abort: leave the way the watchdog would.
    if (engine.hasStuckThreads())
        exitAfterFlush(ExitCode::HardDeadline);
    // A save that timed out (code 74) may still be blocked in a write on the store thread: the journal is left as
    // a crash would leave it (the next start recovers), and the thread is neither destroyed nor waited for.
    if (engine.isStoreRunning())
        exitAfterFlush(code);
    // Headless, a run that got this far leaves without tearing down: the state is saved and closed and no thread of
    // ours runs any more (both checked above), so the destructors, Qt's teardown and the unloading of the libraries
    // would only delay the exit a supervisor waits for (about 1 ms, measured from "SHUTDOWN done" to the reap). The
    // window keeps the full teardown (QApplication hands the clipboard over to the clipboard manager), and so do
    // sanitizer builds, whose leak and race checks run in exit(). Worker processes were stopped by the quit path;
    // one still there goes as ~ProcessPool would send it.
    if (headless && !kSanitizerBuild) {
        engine.killWorkersNow();
        exitAfterFlush(code);
    }
    return code;
}

} // namespace Quiesce::App
