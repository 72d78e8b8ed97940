#pragma once

#include <Quiesce/statestore.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QString>

namespace Quiesce::App {

/*! \brief What the watchdog leaves behind when it ends a hung shutdown (exit 70), for the next start to show.

    A small sidecar file next to the state ("<state>.watchdog"), one line of key=value pairs, written with
    open/write/close on the watchdog's thread just before it exits: not through the state store, since the store
    may be what hung. The next start reads it once (and removes it), and the window says that the watchdog had to
    end the process and which request on which worker did not respond. */
struct WatchdogRecord
{
    bool present = false;
    qint64 pid = 0;           //!< the process the watchdog ended
    quint64 requestId = 0;    //!< the stuck request (a hung worker's first), 0 if none was busy
    QString worker;           //!< its thread, "quiesce-worker-0"
    qint64 elapsedMs = 0;     //!< how long it had been running
    QString phase;            //!< the step that overran ("drain", "cancel"), from the journal's record; may be empty
    bool fromJournal = false; //!< no sidecar: taken from the "stuck" record the quit path committed to the journal
};

/*! The "stuck" object the quit path commits to the session's report when \a phase overran with \a worker stuck:
    {"request": N, "worker": "quiesce-worker-0", "phase": "cancel"}. */
QJsonObject stuckNote(const Quiesce::WorkerSnapshot &worker, const QString &phase);

/*! \a sidecar as read by takeWatchdogRecord(), completed from the journal's record of the previous session: its
    phase when both exist, everything when the sidecar is missing (the watchdog's write failed, or the file was
    deleted) but the previous quit path recorded a request still stuck at its end. */
WatchdogRecord withJournalRecord(WatchdogRecord sidecar, const Quiesce::RecoveryInfo &recovery);

/*! The headless RECOVERY line for \a record (C locale, README):
    "RECOVERY previous run (pid N) was ended by the watchdog (exit 70) in phase cancel: request 1 on
    quiesce-worker-0 did not respond". */
QString watchdogRecoveryLine(const WatchdogRecord &record);

/*! The worker holding the shutdown up: a hung one first (deaf to cancellation), else any busy one; nullptr when all
    are idle. Used by the dialog to name it and by the watchdog's record. */
const Quiesce::WorkerSnapshot *stuckWorker(const QList<Quiesce::WorkerSnapshot> &workers);

/*! "<state>.watchdog" for the journal at \a statePath. */
QString watchdogRecordPath(const QString &statePath);

/*! Writes the record for \a workers to \a path (already encoded with QFile::encodeName). For the watchdog's
    thread: no Qt lock, no event loop, raw system calls; failures are ignored (the process is about to end). */
void writeWatchdogRecord(const QByteArray &path, const QList<Quiesce::WorkerSnapshot> &workers);

/*! Reads and removes the record for the journal at \a statePath (present == false when there is none). Call once
    the state is open, i.e. with its lock held. */
WatchdogRecord takeWatchdogRecord(const QString &statePath);

} // namespace Quiesce::App
