#pragma once

#include <Quiesce/statestore.h>

#include <QtCore/QString>
#include <QtCore/QStringList>

#include <chrono>
#include <optional>

class QSettings;

namespace Quiesce::App {

enum class Overflow { Wait, Shed };

/*! What a SIGHUP means. Auto is decided once at start by main(): Stop when the process started with a
    controlling terminal (the terminal going away), Reload otherwise (a supervisor's "reload your config"). The
    engine takes an Auto that nobody resolved as Reload. */
enum class OnHangup { Auto, Stop, Reload };

/*! Where the workers run (--isolation): threads of this process, or child processes (quiesce-worker). */
enum class Isolation { Thread, Process };

/*! The default --worker-timeout: a worker process silent this long (no heartbeat) is killed and replaced. */
inline constexpr std::chrono::milliseconds kDefaultWorkerTimeout {30000};
/*! The default --max-attempts: a job whose worker died this many times under it is marked failed. */
inline constexpr int kDefaultMaxAttempts = 3;
/*! The shortest --worker-timeout accepted: the heartbeat must have room to arrive several times within it. */
inline constexpr std::chrono::milliseconds kMinimumWorkerTimeout {500};

/*! The settings that SIGHUP may change: the same keys in --config files and on the command line. */
struct Tunables
{
    double rate = 2.0;   //!< requests per second (Poisson), 0 = none
    int workMinMs = 200; //!< simulated processing time, uniform in [min, max]
    int workMaxMs = 2000;
    int workers = 0;       //!< 0 = QThread::idealThreadCount()
    int queueLimit = 1000; //!< bounded queue; 0 = unbounded
    /*! How long the supervisor waits between SIGTERM and SIGKILL; unset = 10 s, Docker's (see budgets.h). */
    std::optional<std::chrono::milliseconds> gracePeriod;
    std::optional<std::chrono::milliseconds> drainTimeout; //!< unset = derived from the grace period
    std::optional<std::chrono::milliseconds> hardTimeout;  //!< unset = derived from the grace period
    /*! Threads or worker processes. Read at start only: a reload that changes it keeps the running one (one
        CONFIG line says so). */
    Isolation isolation = Isolation::Thread;
    /*! Process mode: a worker silent (no heartbeat) this long is SIGKILLed and replaced. */
    std::chrono::milliseconds workerTimeout = kDefaultWorkerTimeout;
    /*! Process mode: a job that took its worker down this many times (crash, heartbeat kill) is marked failed. */
    int maxAttempts = kDefaultMaxAttempts;
    /*! Done requests older than this are deleted from the journal at start; 0 = keep them forever. Read at start
        only (a reload changes it for the next start). */
    std::chrono::milliseconds keepDone = std::chrono::hours(24 * 7);

    bool operator==(const Tunables &) const = default;
};

struct Options
{
    enum class Command { Run, Inspect, RequeueFailed, PurgeFailed };
    Command command = Command::Run;
    bool headless = false;
    QString statePath; //!< empty = StateStore::defaultPath()
    bool resetState = false;
    Durability durability = Durability::Normal;
    QString configPath;
    Tunables tunables;
    QStringList explicitTunables; //!< tunable keys given on the command line ("rate", "workers", ...)
    QList<std::pair<QString, QString>> commandLineTunables; //!< (key, text) as given, re-applied on every reload
    //! (key, text) changed in the window, or remembered from it (QSettings): above the built-in defaults, below the
    //! config file and the command line, at start and on every reload (Engine::setWindowTunable()).
    QList<std::pair<QString, QString>> windowTunables;
    OnHangup onHangup = OnHangup::Auto; //!< --on-hangup; command line only, not a tunable
    int burst = 0;
    quint64 seed = 0;
    quint64 simulateHang = 0;
    quint64 simulateCrash = 0; //!< 1-based: the N-th generated request aborts its worker process on every attempt
    Overflow overflow = Overflow::Wait;
    bool exitWhenIdle = false;
    bool logRequests = false;
    bool inspectIds = false;
    QString screenshotPath;
    QString preStopCommand; //!< run with /bin/sh -c as the first phase of the quit path
};

/*! The outcome of parsing: either options to run with, or text to print and an exit code (help, version, error). */
struct ParseResult
{
    std::optional<Options> options;
    QString output; //!< for --help / --version (stdout)
    QString error;  //!< one line for stderr
    QString notice; //!< one line for stderr when running anyway (the grace period was widened to fit)
    int exitCode = 0;
};

/*! Parses the command line (arguments including argv[0]). Reads --config too; command-line values win over it. */
ParseResult parseCommandLine(const QStringList &arguments);

/*! Reads the tunables from an INI file over \a base. On any problem returns false and a one-line \a error that
    names the file and the key; \a base is then not to be used. Whether the budgets fit together is checked once
    the command line is applied too (computeBudgets()). */
bool readConfigFile(const QString &path, Tunables *tunables, QString *error);

/*! \brief The tunables in force for \a options: built-in defaults, then the values changed in the window, then the
    --config file (if any), then the command line's values — at start and on every SIGHUP reload, so a reload never
   changes a key the command line set. Every budget must fit the grace period (computeBudgets()); when none was given
   and the explicit budgets widen it, \a notice (if given) receives the one line that says so. On any problem returns
   false with one line in \a error; \a tunables is then untouched. */
bool resolveTunables(const Options &options, Tunables *tunables, QString *error, QString *notice = nullptr);

/*! "rate 2 -> 5, workers 4 -> 8" — the changes from \a before to \a after, empty when none. */
QString describeChanges(const Tunables &before, const Tunables &after);

/*! "thread" or "process", as --isolation and the config file spell it. */
QString isolationName(Isolation isolation);

/*! True when \a arguments ask for the headless front end, decided before any QCoreApplication exists. Also true
    when there is no display to show a window on (no DISPLAY / WAYLAND_DISPLAY and no QT_QPA_PLATFORM). */
bool wantsHeadless(int argc, char **argv, bool *noDisplay);

/*! Value parsers shared by the command line and the config file; each returns false with a reason. */
bool parseDuration(const QString &text, std::chrono::milliseconds *out, QString *error);
bool parseWorkRange(const QString &text, int *minMs, int *maxMs, QString *error);
/*! --keep-done: 0 (forever) or a duration with ms (default), s, m, h or d, up to 100 years. */
bool parseRetention(const QString &text, std::chrono::milliseconds *out, QString *error);

} // namespace Quiesce::App
