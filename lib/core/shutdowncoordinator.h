#pragma once

#include <Quiesce/quiesce_core_export.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QMap>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <Quiesce/exitcodes.h>

#include <chrono>
#include <functional>
#include <memory>

/* The one Q_NAMESPACE of namespace Quiesce lives here (moc defines Quiesce::staticMetaObject from this header, in
   Core, which exports it for the other components and users): another header that declared Q_NAMESPACE for
   Quiesce would define that symbol twice. Put further enums that
   need Q_ENUM_NS here, or use Q_ENUM inside a class. */
namespace Quiesce {
Q_NAMESPACE_EXPORT(QUIESCE_CORE_EXPORT)

/*! \brief How hard the process is being stopped. Only ever moves forward: Graceful -> Fast -> Immediate. */
enum class ShutdownMode {
    Graceful,  //!< first request: stop intake, drain within its budget, cancel, save, stop threads
    Fast,      //!< second request: drain ends at once, cancel in-flight now, then save and stop as usual
    Immediate, //!< third request: one line and an immediate exit with 128+signo; nothing else runs
};
Q_ENUM_NS(ShutdownMode)

/*! \brief How one phase of the quit path ended. */
enum class PhaseOutcome {
    Ok,       //!< the hook called complete()
    Failed,   //!< the hook called fail(): the exit code changes, the quit path continues
    TimedOut, //!< the hook did not finish within the phase's budget; the quit path continues without it
    Skipped,  //!< the phase has no hook, or the hook called skip()
};
Q_ENUM_NS(PhaseOutcome)

/*! The lowercase word used in the SHUTDOWN lines and the JSON report: "graceful", "fast", "immediate". */
QUIESCE_CORE_EXPORT QString shutdownModeName(ShutdownMode mode);
/*! The lowercase word used in the SHUTDOWN lines and the JSON report: "ok", "failed", "timed-out", "skipped". */
QUIESCE_CORE_EXPORT QString phaseOutcomeName(PhaseOutcome outcome);

/*! \brief The standard phase orders (ShutdownCoordinator::addPhase()'s \c order), lowest first, with gaps so that
    an application slots phases of its own between them (a pre-stop hook at 50, a flush at 450, ...). */
namespace PhaseOrder {
inline constexpr int StopIntake = 100;  //!< stop taking new work (close listeners, pause sources)
inline constexpr int Drain = 200;       //!< let the work in flight finish, within its budget
inline constexpr int Cancel = 300;      //!< cancel what is still in flight
inline constexpr int Save = 400;        //!< persist what must survive (state, unfinished work)
inline constexpr int StopThreads = 500; //!< stop and join the threads (join-or-leak at the deadline)
} // namespace PhaseOrder

/*! \brief Who asked the process to stop, and why. */
struct QUIESCE_CORE_EXPORT ShutdownRequest
{
    QString reason;       //!< "sigterm", "sigint", "window", "quit", "logout", "idle", "api", ...
    int signo = 0;        //!< the signal behind the request, 0 when none (decides the IMMEDIATE exit code)
    qint64 senderPid = 0; //!< the process that sent the signal, 0 when unknown or not a signal
};

/*! \brief One phase as it ran. */
struct QUIESCE_CORE_EXPORT PhaseRecord
{
    QString name;                            //!< the name given to ShutdownCoordinator::addPhase()
    qint64 elapsedMs = 0;                    //!< from the phase's start to its end
    PhaseOutcome outcome = PhaseOutcome::Ok; //!< how it ended
    QString detail;                          //!< what the hook passed to complete(), fail() or skip(), or the timeout
};

/*! \brief Everything the quit path did: printed at the end and stored with the session record. */
struct QUIESCE_CORE_EXPORT ShutdownReport
{
    ShutdownRequest request;                    //!< the FIRST request (the one that started the shutdown)
    ShutdownMode mode = ShutdownMode::Graceful; //!< the mode reached
    QList<PhaseRecord> phases;                  //!< phases that ended, in the order they ran
    QMap<QString, qint64> counts;               //!< set by the hooks: "finished", "cancelled", "requeued", "saved", ...
    int exitCode = 0;                           //!< the code the process exits with (0 unless a phase failed)
    int requests = 0;                           //!< every request received while shutting down, the first included

    /*! {"reason", "signo", "sender", "mode", "phases": [{"name", "ms", "outcome", "detail"}], "counts": {...},
        "exit", "requests"}; mode and outcome as their lowercase names. */
    QJsonObject toJson() const;
    /*! The inverse of toJson(); unknown or missing fields keep their defaults. */
    static ShutdownReport fromJson(const QJsonObject &json);
    /*! The counts on one line, "accepted=3 cancelled=0 ..." (key order): what the SHUTDOWN report line and
        systemd's final STATUS= show. Empty when no count was set. */
    QString summary() const;
};

/*! \brief One line of the quit path before it is worded: what a ShutdownLineFormatter gets. The fields a kind
    does not use keep their defaults. */
struct QUIESCE_CORE_EXPORT ShutdownLine
{
    /*! \brief Which line. */
    enum class Kind {
        Begin,      //!< the first request: \c request ("SHUTDOWN begin reason=... sender=... mode=graceful")
        Escalate,   //!< a second request: \c request, \c mode ("SHUTDOWN escalate mode=fast ...")
        PhaseBegin, //!< a phase starts: \c phase, \c budgetMs (-1: none) ("SHUTDOWN phase=... begin budget_ms=...")
        PhaseEnd,   //!< a phase ended: \c record ("SHUTDOWN phase=... end outcome=... ms=...[ detail=...]")
        Report,     //!< the report's counts: \c summary, maybe empty ("SHUTDOWN report ...")
        Done,       //!< the end of the quit path: \c exitCode ("SHUTDOWN done exit=...")
        Immediate,  //!< the third request, written to the direct descriptor: \c request, \c exitCode
        Watchdog,   //!< the hard deadline passed, worded on the WATCHDOG thread: \c phase, \c hardTimeoutMs,
                    //!< \c diagnostics ("no diagnostics" without a provider), \c exitCode
    };

    Kind kind = Kind::Begin;                    //!< which line
    ShutdownRequest request;                    //!< Begin, Escalate, Immediate: the request
    ShutdownMode mode = ShutdownMode::Graceful; //!< the mode now
    QString phase;                              //!< PhaseBegin, Watchdog: the phase ("pending", "finish" too)
    qint64 budgetMs = -1;                       //!< PhaseBegin: the phase's budget, -1 for none
    PhaseRecord record;                         //!< PhaseEnd: how the phase ended
    QString summary;                            //!< Report: ShutdownReport::summary()
    int exitCode = 0;                           //!< Done, Immediate, Watchdog: the process's exit code
    qint64 hardTimeoutMs = 0;                   //!< Watchdog: the hard timeout that passed
    QString diagnostics;                        //!< Watchdog: the diagnostics provider's text, on one line
};

/*! \brief Words a ShutdownLine (without its newline); an empty result writes no line. Runs on the main thread,
    except for ShutdownLine::Kind::Watchdog (the watchdog thread: thread-safe, no waiting for the main thread).
    Line breaks in what it returns become spaces. */
using ShutdownLineFormatter = std::function<QString(const ShutdownLine &line)>;

class ShutdownCoordinator;
class ShutdownCoordinatorPrivate;
class ShutdownPhaseContextPrivate;

/*! \brief Handed to a phase hook: the phase's deadline, the mode, and the calls that end the phase.

    Belongs to the coordinator and stays valid until the coordinator is destroyed, so a hook may keep the pointer
    and call complete() long after the phase timed out: such late calls are ignored. The first of complete(),
    fail(), skip() or the phase's timeout ends the phase; everything after that is ignored. These calls may be
    made from any thread (they are forwarded to the coordinator's thread), synchronously inside the hook or later
    from the event loop. */
class QUIESCE_CORE_EXPORT ShutdownPhaseContext : public QObject
{
    Q_OBJECT

public:
    ~ShutdownPhaseContext() override;

    /*! \brief The name of the phase this context belongs to. */
    QString phaseName() const;
    /*! The mode now; a hook that starts in Fast mode should do its fast variant (the drain phase completes at
        once). */
    ShutdownMode mode() const;
    /*! When the phase's budget runs out (QDeadlineTimer::Forever for a phase without a budget). */
    QDeadlineTimer deadline() const;
    /*! The report so far (the phases before this one, the counts set so far). */
    const ShutdownReport &report() const;
    /*! True once the phase ended (completed, failed, skipped or timed out). */
    bool isFinished() const;

    /*! Sets \a key in the report's counts (last value wins); allowed until the coordinator finishes, even after
        this phase ended. */
    void setCount(const QString &key, qint64 value);
    /*! Ends the phase with PhaseOutcome::Ok. */
    void complete(const QString &detail = {});
    /*! Ends the phase with PhaseOutcome::Failed. The process will exit with \a exitCode (the first failure's
        code wins; 0 leaves the exit code alone) but the quit path CONTINUES with the next phases. */
    void fail(int exitCode, const QString &detail);
    /*! Ends the phase with PhaseOutcome::Skipped (e.g. nothing to save). */
    void skip(const QString &detail = {});

Q_SIGNALS:
    /*! The shutdown escalated while this phase runs. A drain hook completes at once on Fast. */
    void modeChanged(Quiesce::ShutdownMode mode);

private:
    friend class ShutdownCoordinator;
    ShutdownPhaseContext(ShutdownCoordinator *coordinator, const QString &name, QDeadlineTimer deadline);
    void finish(PhaseOutcome outcome, int exitCode, const QString &detail);

    std::unique_ptr<ShutdownPhaseContextPrivate> d;
};

/*! A phase's work. It starts whatever the phase does and ends the phase through the context, now or later. */
using PhaseHook = std::function<void(ShutdownPhaseContext *context)>;

/*! \brief The only way the process stops: a state machine of ordered, timed phases on the event loop.

    Every trigger (signal, window close, File→Quit, logout, idle, API) calls requestShutdown(). The first request
    starts a GRACEFUL shutdown: the phases run in order (lowest \c order first), each with its own budget; a phase
    that overruns is recorded TimedOut and the machine moves on; a failing phase sets the exit code and the machine
    moves on. At the end the report is printed and the exit function is called exactly once with the exit code
    (0 unless a phase failed). A second request escalates to FAST (the running phase gets modeChanged()), a third
    exits IMMEDIATELY with 128+signo. A watchdog thread armed at the first request (created then, or parked ahead
    by prepareWatchdog()) exits the process with ExitHardTimeout if the whole shutdown passes the hard timeout, even
    if the main thread is stuck.

    The machine never blocks the main thread and never runs a nested event loop: phases start from queued calls,
    so they never run inside the caller of requestShutdown() or complete(), and not before the event loop runs.

    Lives on the main thread. Configure it (phases, budgets, functions, timeout) before the first request. */
class QUIESCE_CORE_EXPORT ShutdownCoordinator : public QObject
{
    Q_OBJECT

public:
    /*! Exit code of the watchdog when the hard timeout passes (70, EX_SOFTWARE). */
    static constexpr int ExitHardTimeout = ExitCode::HardDeadline;
    /*! A budget meaning "no per-phase limit": only the hard timeout bounds the phase. */
    static constexpr std::chrono::milliseconds NoBudget {-1};

    /*! \brief Creates an idle coordinator with no phases, not ready, with the default functions and a 30 s hard
        timeout. */
    explicit ShutdownCoordinator(QObject *parent = nullptr);
    /*! Stops and joins the watchdog thread (it never outlives the coordinator). */
    ~ShutdownCoordinator() override;

    /*! Adds a phase. Phases run by ascending \a order (equal orders in the order they were added). A \a budget of
        0 leaves only synchronous completion; a negative one (NoBudget) means no per-phase limit. An empty \a hook
        makes a phase that is recorded Skipped. Returns false (with a warning) for a duplicate name or once the
        shutdown has begun. */
    bool addPhase(const QString &name, int order, std::chrono::milliseconds budget, PhaseHook hook);
    /*! Changes a phase's budget (config reload); a phase that is running keeps the budget it started with.
        Returns false for an unknown name. */
    bool setPhaseBudget(const QString &name, std::chrono::milliseconds budget);
    /*! \brief The budget of phase \a name (NoBudget for an unknown name or a phase without a limit). */
    std::chrono::milliseconds phaseBudget(const QString &name) const;
    /*! \brief Makes a timeout of phase \a name a failure of the shutdown: when its budget runs out, the phase is
        recorded TimedOut with the detail "<name> timed out after N ms" and the process exits with \a exitCode
        (the first failure's code wins, as with ShutdownPhaseContext::fail()); the quit path still continues.
        0 (the default) leaves a timeout out of the exit code. For a phase whose unfinished work means a promise
        is broken, e.g. a save that did not end. Returns false for an unknown name. */
    bool setPhaseTimeoutExitCode(const QString &name, int exitCode);
    /*! \brief The exit code set by setPhaseTimeoutExitCode() for phase \a name (0 when none). */
    int phaseTimeoutExitCode(const QString &name) const;
    /*! \brief Every phase's name, in the order the phases run. */
    QStringList phaseNames() const;

    /*! Counted from the FIRST request: when it passes, the watchdog writes one line and calls the immediate exit
        function with ExitHardTimeout. 0 or negative disables the watchdog. Default: 30 s. The watchdog takes this,
        the diagnostics, the immediate exit function and the direct output fd at the first request; later changes
        apply to no running shutdown. The line names the running phase ("pending" before the first phase starts,
        "finish" while the report is printed and finished() is emitted). */
    void setHardTimeout(std::chrono::milliseconds timeout);
    /*! \brief The hard timeout set by setHardTimeout(). */
    std::chrono::milliseconds hardTimeout() const;
    /*! Called on the WATCHDOG thread when the hard timeout passes, so it must be thread-safe and must not wait for
        the main thread; its text goes into the watchdog line (e.g. "worker-2 job 17 busy 4.2 s"). */
    void setDiagnostics(std::function<QString()> provider);
    /*! The normal end of the quit path; default QCoreApplication::exit(code), i.e. the return from exec(). */
    void setExitFunction(std::function<void(int)> exit);
    /*! Used by IMMEDIATE mode (main thread) and by the watchdog (its own thread); must not return in production.
        Default: flush stdio without waiting for its locks, then \c _exit(code). */
    void setImmediateExitFunction(std::function<void(int)> exit);
    /*! Where the SHUTDOWN lines go on the main thread (standard output, a log view: the application decides). The
        library never picks an output by itself: without a sink the lines go to directOutputFd() if one was set, else to
        the logging category \c quiesce.coordinator at info level (QT_LOGGING_RULES="quiesce.coordinator.info=true"
        shows them). */
    void setOutput(std::function<void(const QString &line)> sink);
    /*! The file descriptor for the lines of the immediate path and of the watchdog, which bypass the sink and
        write with \c write(2) (no Qt, no locks; bounded, see writeLineDirect()). Default -1: no such line, until
        the application names a descriptor (e.g. STDOUT_FILENO; tests point it at a file). */
    void setDirectOutputFd(int fd);
    /*! \brief The descriptor set by setDirectOutputFd(). */
    int directOutputFd() const;
    /*! \brief How the lines of the quit path are worded (default: defaultLine()). The watchdog takes it at the
        first request, like the hard timeout. */
    void setLineFormatter(ShutdownLineFormatter formatter);
    /*! \brief The library's default wording of \a line: the \c SHUTDOWN lines (see ShutdownLine::Kind), e.g.
        "SHUTDOWN watchdog: hard deadline of <ms> ms passed in phase <phase>; <diagnostics>; exit=<code>". A
        formatter that changes some kinds returns this for the others. Thread-safe. */
    static QString defaultLine(const ShutdownLine &line);
    /*! \brief The watchdog thread's name (15 characters at most on Linux). Default "watchdog". Taken when
        the thread is created (prepareWatchdog() or the first request). */
    void setWatchdogThreadName(const QString &name);
    /*! \brief A line emitted once, right after the first request's "SHUTDOWN begin" line: what a second and a third
        request would do, in the application's words (e.g. "SHUTDOWN hint: send the signal again to stop fast").
        Empty (the default): none. */
    void setFirstRequestHint(const QString &line);

    /*! Creates the watchdog thread now, parked until the first request arms it, so that the shutdown creates no
        thread: the hard deadline then holds even if the system can no longer create one by the time the process
        is asked to stop. Without this call the thread is created at the first request (and if that fails, only
        the phase budgets bound the shutdown). Returns false and fills \a error if the thread could not be
        created; call it during startup, before setReady(). */
    bool prepareWatchdog(QString *error);

    /*! Startup (recovery) is complete. A request made before this is STICKY: remembered, and its phases run once
        the coordinator is ready AND the event loop runs, never in the middle of startup. Not ready by default. */
    void setReady();
    /*! \brief True once setReady() was called. */
    bool isReady() const;

    /*! Asks the process to stop; idempotent and re-entrancy safe (phases never run inside this call). The first
        request starts a GRACEFUL shutdown. A second one of any kind while shutting down escalates to FAST. A third
        exits IMMEDIATELY: one line on directOutputFd(), then the immediate exit function with 128 + the third
        request's signo (130 for SIGINT, 143 for SIGTERM); a request without a signal counts as SIGINT (130),
        the code a user's Ctrl+C would give. Requests after the end are ignored. Returns true if the request
        started or escalated the shutdown (or was queued from another thread), false if it was ignored. May be
        called from any thread: from another thread it is queued to the coordinator's. */
    bool requestShutdown(const Quiesce::ShutdownRequest &request);

    /*! \brief True from the first request on (also while a sticky request waits for setReady()). */
    bool isShuttingDown() const;
    /*! True once the quit path ended (exit function, immediate exit or watchdog). */
    bool isFinished() const;
    /*! \brief The mode reached so far (Graceful before any request). */
    ShutdownMode mode() const;
    /*! The running phase, empty when none runs. */
    QString currentPhase() const;
    /*! \brief The report so far: the phases that ended and the counts set. */
    ShutdownReport report() const;
    /*! \brief The exit code the quit path ends with, as far as known now (70 once the watchdog fired). */
    int exitCode() const;

Q_SIGNALS:
    /*! \brief The first request arrived: \a request is the one that started the shutdown. */
    void shutdownStarted(const Quiesce::ShutdownRequest &request);
    /*! Emitted for FAST. IMMEDIATE exits without returning to anyone, so it is not announced. */
    void escalated(Quiesce::ShutdownMode mode, const Quiesce::ShutdownRequest &request);
    /*! \brief Phase \a name starts with \a budgetMs to run (negative: no per-phase budget). */
    void phaseStarted(const QString &name, qint64 budgetMs);
    /*! \brief A phase ended: \a record says how and after how long. */
    void phaseFinished(const Quiesce::PhaseRecord &record);
    /*! Just before the exit function is called. */
    void finished(int exitCode, const Quiesce::ShutdownReport &report);

private:
    friend class ShutdownPhaseContext;

    void scheduleAdvance();
    void advance();
    bool startNextPhase();
    void endCurrentPhase();
    void onPhaseFinished(ShutdownPhaseContext *context, PhaseOutcome outcome, int exitCode, const QString &detail);
    void onBudgetExpired();
    void finishShutdown();
    void exitImmediately(const ShutdownRequest &request);
    void emitLine(const ShutdownLine &line);
    void emitText(const QString &text);
    void startWatchdog();
    void stopWatchdog();
    bool isOwnThread() const;

    std::unique_ptr<ShutdownCoordinatorPrivate> d;
};

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::ShutdownRequest)
Q_DECLARE_METATYPE(Quiesce::PhaseRecord)
Q_DECLARE_METATYPE(Quiesce::ShutdownReport)
