#pragma once

// Private to the state store: the statements more than one part of the journal runs, written once. Not installed.

#include <QtCore/QString>

namespace Quiesce {

/*! The state column of schema v2 (INTEGER with a CHECK). */
enum class JobState : int { Pending = 0, InProgress = 1, Done = 2, Failed = 3 };

/*! "pending", "in_progress", "done", "failed": the names inspect prints. */
QString jobStateName(int state);

namespace StoreSql {

/*! The next id: one past the highest id ever handed out. The ('next_id', N) row survives deleted rows (retention,
    purge); MAX(id) + 1 covers a row written before the counter was (a v1 file of an early build). COALESCE: a
    missing counter row must not make the whole MAX() NULL. \a table: "jobs" (v2) or "requests" (v1, inspect). */
QString nextId(const QString &table = QStringLiteral("jobs"));

/*! Raises the ('next_id', N) counter to at least the value bound at ?, creating the row if missing. */
QString raiseNextId();

/*! in_progress -> pending: binds updated (ms), then the JSON array of ids. Cancelled work given back
    (batches and save()). */
QString requeue();

/*! As requeue(), with crashes + 1: the worker running them died. */
QString requeueCrashed();

} // namespace StoreSql

} // namespace Quiesce
