#pragma once

#include <QtCore/QString>
#include <QtCore/QtGlobal>

#include <chrono>
#include <optional>

namespace Quiesce::App {

/*! \brief How a line may be treated when its reader stalls: request lines may be dropped (and are counted),
    lifecycle lines (READY, RECOVERY, STATUS, CONFIG, SHUTDOWN, INTAKE, STATE, stderr, ...) have room of their own. */
enum class LineKind {
    Lifecycle,
    Accepted, //!< "accepted id=N"
    Done,     //!< "done id=N"
    Shed,     //!< "shed id=N"
};

/*! \brief The kind of a stdout line, by its prefix. */
LineKind lineKind(const QString &text);

/*! \brief How long the process waits at exit for its queued lines to be written: then it ends regardless. */
inline constexpr std::chrono::milliseconds FinalFlushBudget {1000};

/*! \brief Starts the writer thread "quiesce-output". Until it runs (and if it cannot start), lines are written
    directly but only when the descriptor takes them at once; otherwise they are dropped and counted. Returns
    false and fills \a error if the thread could not be created. Call it once, after the signal bridge watches its
    signals: the thread blocks every asynchronous signal. */
bool startLineOutput(QString *error);

/*! \brief Queues one line for stdout and returns at once: the main thread never waits for a reader.

    A reader that stalls costs request lines (dropped and counted), never lifecycle lines, which keep room of
    their own in the queue and, on a pipe, in the pipe's buffer. Once the writer has caught up it prints
    "OUTPUT dropped accepted=N done=N shed=N other=N: stdout blocked" with the totals since start. */
void writeStdoutLine(const QString &text);

/*! \brief Queues one line for stderr, prefixed "quiesce: "; never dropped in favour of request lines. */
void writeStderrLine(const QString &text);

/*! \brief Waits at most \a budget until every queued line (and the OUTPUT dropped line it may owe) is written.
    Returns true if it all was. Lines still queued then are lost; the process may end with the writer still
    blocked in write(2): its state is never destroyed. */
bool flushLineOutput(std::chrono::milliseconds budget);

/*! \brief For commands that run no event loop (--help, --version, command-line errors, inspect): writes at once
    on the calling thread and waits for the reader as long as it takes (`quiesce inspect --ids | less`). The
    caller gives the stop signals their default action back first, so that Ctrl+C still ends such a wait. */
void writeStdoutLineBlocking(const QString &text);
void writeStderrLineBlocking(const QString &text);

/*! \brief A descriptor for the library's direct writes (the coordinator's immediate-exit line and the watchdog's
    line, meant for stdout): a private non-blocking pipe that exitAfterFlush() empties into the queue, so those
    lines come after every line queued before them and never block. Returns STDOUT_FILENO if no pipe could be
    made. Create it on the main thread before the quit path can begin. */
int directLineFd();

/*! \brief Ends the process with \a code (_exit) after moving the direct lines into the queue and flushing it for
    at most FinalFlushBudget. Safe on any thread: the coordinator's immediate exit and the watchdog call it. */
[[noreturn]] void exitAfterFlush(int code);

/*! \brief The text a Qt message becomes on stderr (without the "quiesce: " prefix): one line, line breaks folded
    to spaces. qDebug and qInfo give nothing (suppressed) unless QT_LOGGING_RULES is set. */
std::optional<QString> formatQtMessage(QtMsgType type, const QString &message);

/*! \brief Routes qWarning, qCritical and qFatal (Qt's and the library's) through writeStderrLine(); a fatal
    message is flushed (bounded) before Qt aborts. */
void installQtMessageHandler();

} // namespace Quiesce::App
