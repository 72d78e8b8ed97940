#include "options.h"

#include "budgets.h"
#include <Quiesce/exitcodes.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRegularExpression>
#include <QtCore/QSettings>
#include <QtCore/QThread>

#include <cmath>
#include <cstring>

namespace Quiesce::App {

using namespace std::chrono_literals;

namespace {

const QString kExitCodes =
    QStringLiteral("Exit codes:\n"
                   "  0    orderly shutdown, state saved\n"
                   "  64   bad command line or configuration value, or budgets that do not fit --grace-period\n"
                   "  65   state file corrupt, not a Quiesce state file, or created by a newer version,\n"
                   "       or (with --durability full) a damaged write-ahead log (left untouched)\n"
                   "  69   --isolation process: no worker slot left (every slot crash-looping); the stop\n"
                   "       was still orderly, state saved\n"
                   "  70   hard deadline passed: the watchdog ended a shutdown that hung\n"
                   "  71   an operating-system resource failed at start: signal handlers, threads,\n"
                   "       descriptors (ulimit -n too low for --workers, /dev/null for a closed fd 0-2),\n"
                   "       spawning a worker process (quiesce-worker missing or not executable)\n"
                   "  73   state cannot be created, opened or locked: in use by another instance (any\n"
                   "       path to the same file), not a regular file (a FIFO, device or symbolic link\n"
                   "       at the journal, its -wal, -shm or .lock), read-only\n"
                   "  74   I/O error on the state at start or during shutdown: save failed or timed\n"
                   "       out, state deleted or replaced while running\n"
                   "  128+N  immediate exit on the third stop request (130 after SIGINT, 143 after SIGTERM)\n"
                   "\n"
                   "Signals:\n"
                   "  SIGTERM, SIGINT  orderly shutdown; a second one stops fast, a third exits at once\n"
                   "                   (a repeat by the same sender within 250 ms is the same request)\n"
                   "  SIGHUP           started from a terminal: the terminal went away, orderly shutdown\n"
                   "                   (never escalates; nohup's ignored SIGHUP is respected);\n"
                   "                   otherwise (a supervisor): reload the --config file.\n"
                   "                   --on-hangup stop|reload forces either\n"
                   "  SIGUSR1          print one STATUS line\n"
                   "  SIGUSR2          pause / resume intake (quiet mode)\n");

bool parseNonNegativeInt(const QString &text, int *out)
{
    bool ok = false;
    const int value = text.trimmed().toInt(&ok);
    if (!ok || value < 0)
        return false;
    *out = value;
    return true;
}

bool parseRate(const QString &text, double *out, QString *error)
{
    bool ok = false;
    const double value = text.trimmed().toDouble(&ok);
    if (!ok || value < 0 || !std::isfinite(value) || value > 1e7) {
        *error = QStringLiteral("rate must be a number of requests per second from 0 to 10000000, not '%1'").arg(text);
        return false;
    }
    *out = value;
    return true;
}

// "workers must be a whole number from 1 to 256, not 'x'": \a out is left alone then.
bool parseIntInRange(const QString &key, const QString &text, int lowest, int highest, int *out, QString *error)
{
    int n = 0;
    if (!parseNonNegativeInt(text, &n) || n < lowest || n > highest) {
        *error = QStringLiteral("%1 must be a whole number from %2 to %3, not '%4'")
                     .arg(key)
                     .arg(lowest)
                     .arg(highest)
                     .arg(text);
        return false;
    }
    *out = n;
    return true;
}

// One key of the tunables: applies \a text (from the command line or a config file) to \a t.
bool applyTunable(Tunables *t, const QString &key, const QString &text, QString *error)
{
    if (key == QLatin1StringView("rate"))
        return parseRate(text, &t->rate, error);
    if (key == QLatin1StringView("work-ms"))
        return parseWorkRange(text, &t->workMinMs, &t->workMaxMs, error);
    if (key == QLatin1StringView("workers"))
        return parseIntInRange(key, text, 1, 256, &t->workers, error);
    if (key == QLatin1StringView("queue-limit")) {
        if (!parseNonNegativeInt(text, &t->queueLimit)) {
            *error = QStringLiteral("queue-limit must be a whole number (0 = unbounded), not '%1'").arg(text);
            return false;
        }
        return true;
    }
    if (key == QLatin1StringView("isolation")) {
        const QString v = text.trimmed();
        if (v == QLatin1StringView("thread"))
            t->isolation = Isolation::Thread;
        else if (v == QLatin1StringView("process"))
            t->isolation = Isolation::Process;
        else {
            *error = QStringLiteral("isolation must be thread or process, not '%1'").arg(text);
            return false;
        }
        return true;
    }
    if (key == QLatin1StringView("max-attempts"))
        return parseIntInRange(key, text, 1, 1000, &t->maxAttempts, error);
    if (key == QLatin1StringView("worker-timeout")) {
        std::chrono::milliseconds value {};
        if (!parseDuration(text, &value, error))
            return false;
        if (value < kMinimumWorkerTimeout) {
            *error = QStringLiteral("worker-timeout must be at least %1 ms, not '%2'")
                         .arg(kMinimumWorkerTimeout.count())
                         .arg(text);
            return false;
        }
        t->workerTimeout = value;
        return true;
    }
    if (key == QLatin1StringView("keep-done"))
        return parseRetention(text, &t->keepDone, error);
    const QList<std::pair<QLatin1StringView, std::optional<std::chrono::milliseconds> *>> durations = {
        {QLatin1StringView("grace-period"), &t->gracePeriod},
        {QLatin1StringView("drain-timeout"), &t->drainTimeout},
        {QLatin1StringView("hard-timeout"), &t->hardTimeout}};
    for (const auto &[name, target] : durations) {
        if (key != name)
            continue;
        std::chrono::milliseconds value {};
        if (!parseDuration(text, &value, error))
            return false;
        *target = value;
        return true;
    }
    *error = QStringLiteral("unknown key '%1'").arg(key);
    return false;
}

const QStringList kTunableKeys = {
    QStringLiteral("rate"),           QStringLiteral("work-ms"),      QStringLiteral("workers"),
    QStringLiteral("queue-limit"),    QStringLiteral("grace-period"), QStringLiteral("drain-timeout"),
    QStringLiteral("hard-timeout"),   QStringLiteral("keep-done"),    QStringLiteral("isolation"),
    QStringLiteral("worker-timeout"), QStringLiteral("max-attempts")};

// QSettings skips what it cannot parse without a word (a line without '=') and warns on its own for an empty key:
// look at every line first, so a typo is one clear error, not a silently ignored setting.
QString configSyntaxProblem(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot be read (%1)").arg(file.errorString());
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        if (line.isEmpty() || line.startsWith(';') || line.startsWith('#'))
            continue;
        if (line.startsWith('[') && line.endsWith(']') && line.size() > 2)
            continue;
        const qsizetype eq = line.indexOf('=');
        if (eq < 0)
            return QStringLiteral("line %1: '%2' is not key=value").arg(i + 1).arg(QString::fromUtf8(line));
        if (line.left(eq).trimmed().isEmpty())
            return QStringLiteral("line %1: '%2' has an empty key").arg(i + 1).arg(QString::fromUtf8(line));
    }
    return QString();
}

} // namespace

bool parseDuration(const QString &text, std::chrono::milliseconds *out, QString *error)
{
    // "250", "250ms" = milliseconds; "10s", "1.5s" = seconds. Must be > 0 and at most a day.
    static const QRegularExpression re(QStringLiteral("^\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(ms|s)?\\s*$"));
    const auto match = re.match(text);
    if (match.hasMatch()) {
        const double number = match.captured(1).toDouble();
        const double ms = match.captured(2) == QLatin1StringView("s") ? number * 1000.0 : number;
        if (ms >= 1 && ms <= 86400000.0) {
            *out = std::chrono::milliseconds(qint64(ms));
            return true;
        }
    }
    *error = QStringLiteral("'%1' is not a duration (use e.g. 500, 500ms or 10s; from 1 ms to 24 h)").arg(text);
    return false;
}

bool parseRetention(const QString &text, std::chrono::milliseconds *out, QString *error)
{
    // The budgets' grammar (ms by default, s) plus the units a retention is said in: m, h, d.
    static const QRegularExpression re(QStringLiteral("^\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(ms|s|m|h|d)?\\s*$"));
    const auto match = re.match(text);
    if (match.hasMatch()) {
        const QString unit = match.captured(2);
        const double scale = unit == QLatin1StringView("s") ? 1e3
            : unit == QLatin1StringView("m")                ? 60e3
            : unit == QLatin1StringView("h")                ? 3600e3
            : unit == QLatin1StringView("d")                ? 86400e3
                                                            : 1.0;
        const double ms = match.captured(1).toDouble() * scale;
        if (ms <= 100.0 * 365 * 86400e3) {
            *out = std::chrono::milliseconds(qint64(ms));
            return true;
        }
    }
    *error = QStringLiteral("keep-done must be 0 (keep forever) or a duration such as 12h or 7d, not '%1'").arg(text);
    return false;
}

bool parseWorkRange(const QString &text, int *minMs, int *maxMs, QString *error)
{
    static const QRegularExpression re(QStringLiteral("^\\s*([0-9]{1,7})\\s*(?:-\\s*([0-9]{1,7}))?\\s*$"));
    const auto match = re.match(text);
    if (match.hasMatch()) {
        const int lo = match.captured(1).toInt();
        const int hi = match.captured(2).isEmpty() ? lo : match.captured(2).toInt();
        if (lo <= hi) {
            *minMs = lo;
            *maxMs = hi;
            return true;
        }
    }
    *error = QStringLiteral("work-ms must be MIN or MIN-MAX milliseconds with MIN <= MAX, not '%1'").arg(text);
    return false;
}

namespace {

// The file's keys over \a tunables, without the cross-key check: a pair that is only valid once the command line
// is applied (file hard-timeout=8s, --drain-timeout 5s) must not be refused half-way.
bool readConfigKeys(const QString &path, Tunables *tunables, QString *error)
{
    const QFileInfo info(path);
    if (!info.exists() || !info.isFile() || !info.isReadable()) {
        *error = QStringLiteral("config file %1 cannot be read").arg(path);
        return false;
    }
    const QString problem = configSyntaxProblem(path);
    if (!problem.isEmpty()) {
        *error = QStringLiteral("config file %1: %2").arg(path, problem);
        return false;
    }
    QSettings settings(path, QSettings::IniFormat);
    if (settings.status() != QSettings::NoError) {
        *error = QStringLiteral("config file %1 is not a valid INI file").arg(path);
        return false;
    }
    Tunables result = *tunables;
    const QStringList keys = settings.allKeys();
    for (const QString &key : keys) {
        // Keys may sit at the top level or in a [quiesce] group.
        const QString name = key.startsWith(QLatin1StringView("quiesce/")) ? key.mid(8) : key;
        const QString value = settings.value(key).toStringList().join(QLatin1Char(','));
        QString why;
        if (!kTunableKeys.contains(name) || !applyTunable(&result, name, value, &why)) {
            if (why.isEmpty())
                why = QStringLiteral("unknown key '%1' (known: %2)").arg(name, kTunableKeys.join(QStringLiteral(", ")));
            *error = QStringLiteral("config file %1: %2").arg(path, why);
            return false;
        }
    }
    *tunables = result;
    return true;
}

} // namespace

bool readConfigFile(const QString &path, Tunables *tunables, QString *error)
{
    Tunables result = *tunables;
    if (!readConfigKeys(path, &result, error))
        return false;
    *tunables = result;
    return true;
}

bool resolveTunables(const Options &options, Tunables *tunables, QString *error, QString *notice)
{
    // Settings precedence (DECISIONS.md): built-in defaults < the window < the config file < the command line. Starting
    // from the defaults, not from the values in force, is what makes a key removed from the file go back to its
    // default.
    Tunables result;
    // The window's values come from its own validated controls: one that no longer parses is simply not applied.
    for (const auto &[key, text] : options.windowTunables) {
        QString ignored;
        applyTunable(&result, key, text, &ignored);
    }
    if (!options.configPath.isEmpty() && !readConfigKeys(options.configPath, &result, error))
        return false;
    for (const auto &[key, text] : options.commandLineTunables) {
        QString why;
        if (!applyTunable(&result, key, text, &why)) {
            *error = QStringLiteral("--%1: %2").arg(key, why);
            return false;
        }
    }
    // Every budget must fit the grace period, checked on the final combination only (a file's hard-timeout may need
    // the command line's drain-timeout to fit).
    Budgets budgets;
    QString widened;
    if (!computeBudgets(result, !options.preStopCommand.isEmpty(), &budgets, error, &widened)) {
        if (!options.configPath.isEmpty())
            *error = QStringLiteral("config file %1 with the command line: %2").arg(options.configPath, *error);
        return false;
    }
    if (notice != nullptr)
        *notice = widened;
    if (result.workers == 0)
        result.workers = qMax(1, QThread::idealThreadCount());
    *tunables = result;
    return true;
}

QString describeChanges(const Tunables &before, const Tunables &after)
{
    QStringList changes;
    auto note = [&changes](const char *name, const QString &from, const QString &to) {
        if (from != to)
            changes << QStringLiteral("%1 %2 -> %3").arg(QLatin1StringView(name), from, to);
    };
    note("rate", QString::number(before.rate), QString::number(after.rate));
    note("work-ms", QStringLiteral("%1-%2").arg(before.workMinMs).arg(before.workMaxMs),
         QStringLiteral("%1-%2").arg(after.workMinMs).arg(after.workMaxMs));
    note("workers", QString::number(before.workers), QString::number(after.workers));
    note("queue-limit", QString::number(before.queueLimit), QString::number(after.queueLimit));
    // Budgets as set ("auto" = derived); the CONFIG budgets line shows what they come to.
    const auto duration = [](const std::optional<std::chrono::milliseconds> &d) {
        return d ? QString::number(d->count()) : QStringLiteral("auto");
    };
    note("grace-period", duration(before.gracePeriod), duration(after.gracePeriod));
    note("drain-timeout", duration(before.drainTimeout), duration(after.drainTimeout));
    note("hard-timeout", duration(before.hardTimeout), duration(after.hardTimeout));
    note("isolation", isolationName(before.isolation), isolationName(after.isolation));
    note("worker-timeout", QString::number(before.workerTimeout.count()), QString::number(after.workerTimeout.count()));
    note("max-attempts", QString::number(before.maxAttempts), QString::number(after.maxAttempts));
    note("keep-done", QString::number(before.keepDone.count()), QString::number(after.keepDone.count()));
    return changes.join(QStringLiteral(", "));
}

QString isolationName(Isolation isolation)
{
    return isolation == Isolation::Process ? QStringLiteral("process") : QStringLiteral("thread");
}

bool wantsHeadless(int argc, char **argv, bool *noDisplay)
{
    *noDisplay = qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")
        && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--headless") == 0 || std::strcmp(argv[i], "inspect") == 0
            || std::strcmp(argv[i], "requeue-failed") == 0 || std::strcmp(argv[i], "purge-failed") == 0)
            return true;
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0
            || std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-v") == 0)
            return true;
    }
    return *noDisplay;
}

ParseResult parseCommandLine(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Quiesce: simulated request processing on worker threads that stops in order.\n"
                       "Durations take ms (default) or s: 500, 500ms, 10s.\n\n")
        + kExitCodes);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
    const QCommandLineOption version({QStringLiteral("v"), QStringLiteral("version")},
                                     QStringLiteral("Show the version."));
    auto valueOption = [](const char *name, const char *description, const char *valueName) {
        return QCommandLineOption(QString::fromLatin1(name), QString::fromLatin1(description),
                                  QString::fromLatin1(valueName));
    };
    auto flag = [](const char *name, const char *description) {
        return QCommandLineOption(QString::fromLatin1(name), QString::fromLatin1(description));
    };
    const auto headless = flag("headless", "Run without a window: READY/STATUS/SHUTDOWN lines on stdout.");
    const auto state = valueOption("state", "SQLite state file (default: the app data directory).", "path");
    const auto resetState = flag("reset-state", "Move a corrupt or foreign state file aside and start fresh.");
    const auto durability =
        valueOption("durability", "normal (survives a crash) or full (survives power loss).", "normal|full");
    const auto config = valueOption("config",
                                    "INI file with rate, workers, work-ms, queue-limit, grace-period, "
                                    "drain-timeout, hard-timeout, keep-done, isolation, worker-timeout, "
                                    "max-attempts; SIGHUP reloads it.",
                                    "file");
    const auto rate = valueOption("rate", "Requests per second, Poisson arrivals (0 = none). Default 2.", "R");
    const auto workMs = valueOption("work-ms", "Simulated work per request, uniform. Default 200-2000.", "MIN[-MAX]");
    const auto burst = valueOption("burst", "Requests enqueued at start.", "N");
    const auto seed = valueOption("seed", "Random seed for reproducible runs (0 = random).", "S");
    const auto workers = valueOption("workers", "Worker threads or processes (default: the ideal thread count).", "N");
    const auto queueLimit = valueOption("queue-limit", "Bounded queue size; 0 = unbounded. Default 1000.", "N");
    const auto overflow = valueOption("overflow", "When the queue is full: wait (hold intake) or shed.", "wait|shed");
    const auto hang = valueOption("simulate-hang", "The N-th request blocks, ignoring cancellation.", "N");
    const auto crash = valueOption("simulate-crash",
                                   "The N-th request aborts its worker process (SIGABRT, no core dump) on every "
                                   "attempt: a poison job. Needs --isolation process.",
                                   "N");
    const auto isolation = valueOption("isolation",
                                       "Where the workers run: thread (in this process) or process (each worker a "
                                       "quiesce-worker child process, supervised and restarted). Default thread.",
                                       "thread|process");
    const auto workerTimeout = valueOption("worker-timeout",
                                           "Process isolation: a worker silent this long (no heartbeat: stopped, "
                                           "wedged) is killed and replaced. Default 30s.",
                                           "D");
    const auto maxAttempts = valueOption("max-attempts",
                                         "Process isolation: a request whose worker died under it this many times "
                                         "is marked failed instead of requeued. Default 3.",
                                         "N");
    const auto exitWhenIdle = flag("exit-when-idle", "Shut down once intake is exhausted and no work is left.");
    const auto logRequests = flag("log-requests", "Print 'accepted id=N' and 'done id=N' once durable.");
    const auto grace = valueOption("grace-period",
                                   "How long the supervisor waits between SIGTERM and SIGKILL (docker stop -t, "
                                   "TimeoutStopSec=, terminationGracePeriodSeconds); every budget not given "
                                   "derives from it, so the process ends first. Default 10s.",
                                   "D");
    const auto drain = valueOption("drain-timeout",
                                   "How long shutdown waits for in-flight work. Default: derived from "
                                   "--grace-period (5.85s of 10s).",
                                   "D");
    const auto hard = valueOption("hard-timeout",
                                  "Watchdog deadline for the whole shutdown (exit 70). Default: the grace "
                                  "period less max(1s, 10%).",
                                  "D");
    const auto keepDone = valueOption("keep-done",
                                      "Done requests older than this are deleted from the state file at start "
                                      "(12h, 7d; 0 = keep forever). Default 7d.",
                                      "D");
    const auto ids = flag("ids", "With inspect: list the request ids per state and the failed ones' reasons.");
    const auto screenshot = valueOption("screenshot", "Window: save a PNG of the window once it shows work.", "file");
    const auto preStop = valueOption("pre-stop",
                                     "Shell command run first when shutdown begins (like a Kubernetes "
                                     "preStop hook, e.g. leave a load balancer); 15% of the hard deadline.",
                                     "command");
    const auto onHangup = valueOption("on-hangup",
                                      "What SIGHUP means: stop (the terminal went away; the default when started "
                                      "from a terminal) or reload the --config file (the default otherwise). "
                                      "Command line only.",
                                      "stop|reload");
    parser.addOptions({help,        version, headless, state,   resetState, durability, config, rate,
                       workMs,      burst,   seed,     workers, queueLimit, overflow,   hang,   exitWhenIdle,
                       logRequests, grace,   drain,    hard,    ids,        screenshot, preStop});
    parser.addOptions({isolation, workerTimeout, maxAttempts, crash});
    parser.addOption(onHangup);
    parser.addOption(keepDone);
    parser.addPositionalArgument(QStringLiteral("command"),
                                 QStringLiteral("Optional, with --state: 'inspect' prints the state file as JSON; "
                                                "'requeue-failed' makes its failed requests pending again (run by "
                                                "the next start); 'purge-failed' deletes them. Both refuse (73) "
                                                "while quiesce runs on the file."),
                                 QStringLiteral("[inspect|requeue-failed|purge-failed]"));

    ParseResult result;
    auto fail = [&result](const QString &message) {
        result.error = message;
        result.exitCode = ExitCode::Usage;
        result.options.reset();
        return result;
    };
    if (!parser.parse(arguments))
        return fail(parser.errorText() + QStringLiteral(" (see --help)"));
    if (parser.isSet(help)) {
        result.output = parser.helpText();
        return result;
    }
    if (parser.isSet(version)) {
        result.output = QStringLiteral("quiesce %1\n").arg(QCoreApplication::applicationVersion());
        return result;
    }

    Options o;
    const QStringList positional = parser.positionalArguments();
    const QList<std::pair<QLatin1StringView, Options::Command>> commands {
        {QLatin1StringView("inspect"), Options::Command::Inspect},
        {QLatin1StringView("requeue-failed"), Options::Command::RequeueFailed},
        {QLatin1StringView("purge-failed"), Options::Command::PurgeFailed}};
    bool known = positional.isEmpty();
    for (const auto &[name, command] : commands) {
        if (positional.size() == 1 && positional.first() == name) {
            o.command = command;
            known = true;
        }
    }
    if (positional.size() > 1 || !known)
        return fail(QStringLiteral("unexpected argument '%1' (see --help)").arg(positional.join(QLatin1Char(' '))));

    o.headless = parser.isSet(headless);
    o.statePath = parser.value(state);
    o.resetState = parser.isSet(resetState);
    o.exitWhenIdle = parser.isSet(exitWhenIdle);
    o.logRequests = parser.isSet(logRequests);
    o.inspectIds = parser.isSet(ids);
    o.screenshotPath = parser.value(screenshot);
    o.preStopCommand = parser.value(preStop);
    if (o.inspectIds && o.command != Options::Command::Inspect)
        return fail(QStringLiteral("--ids only goes with the inspect command"));

    if (parser.isSet(durability)) {
        const QString d = parser.value(durability);
        if (d == QLatin1StringView("normal"))
            o.durability = Durability::Normal;
        else if (d == QLatin1StringView("full"))
            o.durability = Durability::Full;
        else
            return fail(QStringLiteral("--durability must be normal or full, not '%1'").arg(d));
    }
    if (parser.isSet(overflow)) {
        const QString v = parser.value(overflow);
        if (v == QLatin1StringView("wait"))
            o.overflow = Overflow::Wait;
        else if (v == QLatin1StringView("shed"))
            o.overflow = Overflow::Shed;
        else
            return fail(QStringLiteral("--overflow must be wait or shed, not '%1'").arg(v));
    }
    if (parser.isSet(onHangup)) {
        const QString v = parser.value(onHangup);
        if (v == QLatin1StringView("stop"))
            o.onHangup = OnHangup::Stop;
        else if (v == QLatin1StringView("reload"))
            o.onHangup = OnHangup::Reload;
        else
            return fail(QStringLiteral("--on-hangup must be stop or reload, not '%1'").arg(v));
    }
    auto parseCount = [&parser](const QCommandLineOption &option, quint64 *out, QString *why) {
        if (!parser.isSet(option))
            return true;
        bool ok = false;
        const QString text = parser.value(option);
        *out = text.toULongLong(&ok);
        if (!ok) {
            *why = QStringLiteral("--%1 must be a whole number >= 0, not '%2'").arg(option.names().constFirst(), text);
            return false;
        }
        return true;
    };
    QString why;
    quint64 burstValue = 0;
    if (!parseCount(burst, &burstValue, &why) || !parseCount(seed, &o.seed, &why)
        || !parseCount(hang, &o.simulateHang, &why) || !parseCount(crash, &o.simulateCrash, &why))
        return fail(why);
    if (burstValue > 100000000)
        return fail(QStringLiteral("--burst must be at most 100000000"));
    o.burst = int(burstValue);

    // Tunables: defaults, then the config file, then the command line (resolveTunables(), which a reload repeats).
    if (parser.isSet(config))
        o.configPath = parser.value(config);
    const QList<std::pair<QCommandLineOption, QString>> tunableOptions = {
        {rate, QStringLiteral("rate")},
        {workMs, QStringLiteral("work-ms")},
        {workers, QStringLiteral("workers")},
        {queueLimit, QStringLiteral("queue-limit")},
        {grace, QStringLiteral("grace-period")},
        {drain, QStringLiteral("drain-timeout")},
        {hard, QStringLiteral("hard-timeout")},
        {isolation, QStringLiteral("isolation")},
        {workerTimeout, QStringLiteral("worker-timeout")},
        {maxAttempts, QStringLiteral("max-attempts")},
        {keepDone, QStringLiteral("keep-done")}};
    for (const auto &[option, key] : tunableOptions) {
        if (!parser.isSet(option))
            continue;
        o.commandLineTunables.append({key, parser.value(option)});
        o.explicitTunables << key;
    }
    // Every budget must fit the grace period (one line, exit 64), or it widens to fit them (one line, runs on).
    if (!resolveTunables(o, &o.tunables, &why, &result.notice))
        return fail(why);
    // A crashing request only makes sense where a crash takes down a worker process, not the whole service.
    if (o.simulateCrash != 0 && o.tunables.isolation != Isolation::Process)
        return fail(QStringLiteral("--simulate-crash needs --isolation process (a crash in thread mode would take "
                                   "down the whole process)"));
    result.options = o;
    return result;
}

} // namespace Quiesce::App
