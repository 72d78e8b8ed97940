#include "batchstatements_p.h"

#include "statestoredb_p.h"
#include "statestoresql_p.h"

#include <Quiesce/job.h>

#include <QtCore/QVariant>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlDriver>
#include <QtSql/QSqlError>

#include <sqlite3.h>

#include <cstring>

#include <dlfcn.h>

namespace Quiesce {

std::atomic<bool> BatchStatements::s_forceQtSql {false};

namespace {

constexpr const char *kBegin = "BEGIN IMMEDIATE";
constexpr const char *kCommit = "COMMIT";
constexpr const char *kInsert = "INSERT OR IGNORE INTO jobs (id, state, payload, attempts, crashes, created, updated) "
                                "VALUES (?, 0, ?, ?, ?, ?, ?)";
constexpr const char *kStart =
    "UPDATE jobs SET state = 1, attempts = attempts + 1, updated = ? WHERE id = ? AND state < 2";
constexpr const char *kDone = "UPDATE jobs SET state = 2, reason = NULL, updated = ? WHERE id = ? AND state <> 2";
// The start's own condition (state < 2) decides its attempts + 1; the done's (state <> 2) the row.
constexpr const char *kStartDone = "UPDATE jobs SET state = 2, attempts = attempts + (state < 2), reason = NULL, "
                                   "updated = ? WHERE id = ? AND state <> 2";

// kInsert's VALUES, BatchStatements::kChunk times.
QByteArray insertChunkSql()
{
    QByteArray sql = QByteArray(kInsert).chopped(int(std::strlen("(?, 0, ?, ?, ?, ?, ?)")));
    for (std::size_t k = 0; k < BatchStatements::kChunk; ++k)
        sql += k == 0 ? "(?, 0, ?, ?, ?, ?, ?)" : ", (?, 0, ?, ?, ?, ?, ?)";
    return sql;
}

// Whether the module that implements \a driver (the QSQLITE plugin, or Qt Sql itself in a static build) resolves
// SQLite's functions to the libsqlite3 this library links: only then is its handle a connection we may use.
bool driverUsesOurSqlite(const QSqlDriver *driver)
{
    Dl_info info {};
    const void *vtable = *reinterpret_cast<const void *const *>(driver);
    if (dladdr(vtable, &info) == 0 || info.dli_fname == nullptr)
        return false;
    void *module = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (module == nullptr)
        return false;
    // Searched in the module and its dependencies: a private copy of SQLite resolves to another address (or, with
    // hidden symbols, to none).
    void *symbol = dlsym(module, "sqlite3_prepare_v3");
    dlclose(module);
    return symbol != nullptr && symbol == reinterpret_cast<void *>(&sqlite3_prepare_v3);
}

} // namespace

BatchStatements::QtStatements::QtStatements(const QSqlDatabase &db)
    : begin(db)
    , commit(db)
    , insert(db)
    , start(db)
    , done(db)
    , startDone(db)
    , counter(db)
{}

BatchStatements::~BatchStatements()
{
    finalize();
}

bool BatchStatements::prepare(QSqlDatabase &db, QString *error)
{
    finalize();
    const QVariant handle = db.driver() != nullptr ? db.driver()->handle() : QVariant();
    if (s_forceQtSql.load() || !handle.isValid() || std::strcmp(handle.typeName(), "sqlite3*") != 0
        || *static_cast<sqlite3 *const *>(handle.constData()) == nullptr || !driverUsesOurSqlite(db.driver())) {
        qCDebug(lcJournal, "batch statements on Qt Sql (the driver's SQLite is not this process's libsqlite3)");
        return prepareQt(db, error);
    }
    m_db = *static_cast<sqlite3 *const *>(handle.constData());
    const bool ok = prepared(&m_begin, kBegin, error) && prepared(&m_commit, kCommit, error)
        && prepared(&m_insert, kInsert, error) && prepared(&m_start, kStart, error) && prepared(&m_done, kDone, error)
        && prepared(&m_counter, StoreSql::raiseNextId().toUtf8().constData(), error);
    if (!ok)
        finalize();
    return ok;
}

bool BatchStatements::prepareChunk(QString *error)
{
    if (prepared(&m_anyInRange, "SELECT EXISTS (SELECT 1 FROM jobs WHERE id BETWEEN ? AND ?)", error)
        && prepared(&m_insertChunk, insertChunkSql().constData(), error)) {
        return true;
    }
    sqlite3_finalize(m_anyInRange);
    m_anyInRange = nullptr;
    return false;
}

bool BatchStatements::prepared(sqlite3_stmt **statement, const char *sql, QString *error)
{
    if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, nullptr) == SQLITE_OK)
        return true;
    *error = QString::fromUtf8(sql) + QStringLiteral(": ") + QString::fromUtf8(sqlite3_errmsg(m_db));
    return false;
}

bool BatchStatements::prepareQt(QSqlDatabase &db, QString *error)
{
    m_qt = std::make_unique<QtStatements>(db);
    const auto prepared = [error](QSqlQuery &query, const QString &sql) {
        query.setForwardOnly(true);
        if (query.prepare(sql))
            return true;
        *error = sql + QStringLiteral(": ") + query.lastError().databaseText();
        return false;
    };
    QtStatements &q = *m_qt;
    const bool ok = prepared(q.begin, QLatin1StringView(kBegin)) && prepared(q.commit, QLatin1StringView(kCommit))
        && prepared(q.insert, QLatin1StringView(kInsert)) && prepared(q.start, QLatin1StringView(kStart))
        && prepared(q.done, QLatin1StringView(kDone)) && prepared(q.startDone, QLatin1StringView(kStartDone))
        && prepared(q.counter, StoreSql::raiseNextId());
    if (!ok)
        m_qt.reset();
    return ok;
}

void BatchStatements::finalize()
{
    m_qt.reset();
    for (sqlite3_stmt **statement :
         {&m_begin, &m_commit, &m_insert, &m_start, &m_done, &m_startDone, &m_counter, &m_insertChunk, &m_anyInRange}) {
        sqlite3_finalize(*statement); // a no-op for nullptr
        *statement = nullptr;
    }
    m_db = nullptr;
    m_chunkFailed = false;
}

bool BatchStatements::runQt(QSqlQuery &query, const char *what, QString *error, bool *changed)
{
    const bool ok = query.exec();
    if (changed != nullptr)
        *changed = ok && query.numRowsAffected() > 0;
    if (!ok)
        *error = QString::fromLatin1(what) + QStringLiteral(": ") + query.lastError().databaseText();
    query.finish();
    return ok;
}

bool BatchStatements::step(sqlite3_stmt *statement, const char *what, QString *error)
{
    const int rc = sqlite3_step(statement);
    // Reset at once, on success and failure alike: a statement left mid-way would keep its transaction's locks.
    sqlite3_reset(statement);
    if (rc == SQLITE_DONE)
        return true;
    *error = QString::fromLatin1(what) + QStringLiteral(": ") + QString::fromUtf8(sqlite3_errmsg(m_db));
    return false;
}

bool BatchStatements::begin(QString *error)
{
    return m_qt ? runQt(m_qt->begin, kBegin, error) : step(m_begin, kBegin, error);
}

bool BatchStatements::commit(QString *error)
{
    return m_qt ? runQt(m_qt->commit, kCommit, error) : step(m_commit, kCommit, error);
}

bool BatchStatements::insert(const Job &job, qint64 now, bool *inserted, QString *error)
{
    if (m_qt) {
        QSqlQuery &query = m_qt->insert;
        query.bindValue(0, qint64(job.id));
        query.bindValue(1, job.payload.isNull() ? QByteArray("") : job.payload);
        query.bindValue(2, job.attempts);
        query.bindValue(3, job.crashes);
        query.bindValue(4, now);
        query.bindValue(5, now);
        return runQt(query, "accept", error, inserted);
    }
    sqlite3_bind_int64(m_insert, 1, sqlite3_int64(job.id));
    // Never a null pointer: that would bind NULL (the column is NOT NULL); an empty payload is an empty BLOB.
    sqlite3_bind_blob(m_insert, 2, job.payload.isNull() ? "" : job.payload.constData(), int(job.payload.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int(m_insert, 3, job.attempts);
    sqlite3_bind_int(m_insert, 4, job.crashes);
    sqlite3_bind_int64(m_insert, 5, now);
    sqlite3_bind_int64(m_insert, 6, now);
    const bool ok = step(m_insert, "accept", error);
    sqlite3_bind_null(m_insert, 2); // the payload's bytes are the caller's: no dangling pointer left bound
    *inserted = ok && sqlite3_changes(m_db) > 0;
    return ok;
}

bool BatchStatements::insertChunk(const std::array<const Job *, kChunk> &jobs, qint64 now, bool *written,
                                  QString *error)
{
    *written = false;
    if (m_qt || m_chunkFailed)
        return true;
    if (m_insertChunk == nullptr) {
        // Prepared by its first use. Should that fail (it names no column the per-row INSERT does not), accepts
        // still go in, one row at a time.
        QString chunkError;
        if (!prepareChunk(&chunkError)) {
            qCWarning(lcJournal, "accepts go one row at a time: %s", qPrintable(chunkError));
            m_chunkFailed = true;
            return true;
        }
    }
    for (std::size_t k = 1; k < jobs.size(); ++k) {
        if (jobs[k]->id <= jobs[k - 1]->id)
            return true; // not strictly increasing: one at a time, which sorts out a duplicate
    }
    sqlite3_bind_int64(m_anyInRange, 1, sqlite3_int64(jobs.front()->id));
    sqlite3_bind_int64(m_anyInRange, 2, sqlite3_int64(jobs.back()->id));
    const int rc = sqlite3_step(m_anyInRange);
    const bool taken = rc == SQLITE_ROW && sqlite3_column_int(m_anyInRange, 0) != 0;
    sqlite3_reset(m_anyInRange);
    if (rc != SQLITE_ROW) {
        *error = QStringLiteral("accept: ") + QString::fromUtf8(sqlite3_errmsg(m_db));
        return false;
    }
    if (taken)
        return true; // an id is in the table already: one at a time, to know which
    for (std::size_t k = 0; k < jobs.size(); ++k) {
        const Job &job = *jobs[k];
        const int column = int(6 * k);
        sqlite3_bind_int64(m_insertChunk, column + 1, sqlite3_int64(job.id));
        sqlite3_bind_blob(m_insertChunk, column + 2, job.payload.isNull() ? "" : job.payload.constData(),
                          int(job.payload.size()), SQLITE_STATIC);
        sqlite3_bind_int(m_insertChunk, column + 3, job.attempts);
        sqlite3_bind_int(m_insertChunk, column + 4, job.crashes);
        sqlite3_bind_int64(m_insertChunk, column + 5, now);
        sqlite3_bind_int64(m_insertChunk, column + 6, now);
    }
    const bool ok = step(m_insertChunk, "accept", error);
    sqlite3_clear_bindings(m_insertChunk); // the payloads' bytes are the caller's: no dangling pointer left bound
    if (ok && sqlite3_changes(m_db) != int(jobs.size())) {
        // Cannot happen after the checks above; never report a row as accepted that may not be there.
        *error = QStringLiteral("accept: %1 of %2 rows inserted").arg(sqlite3_changes(m_db)).arg(jobs.size());
        return false;
    }
    *written = ok;
    return ok;
}

bool BatchStatements::start(quint64 id, qint64 now, QString *error)
{
    if (m_qt) {
        m_qt->start.bindValue(0, now);
        m_qt->start.bindValue(1, qint64(id));
        return runQt(m_qt->start, "update", error);
    }
    sqlite3_bind_int64(m_start, 1, now);
    sqlite3_bind_int64(m_start, 2, sqlite3_int64(id));
    return step(m_start, "update", error);
}

bool BatchStatements::done(quint64 id, qint64 now, bool startedToo, bool *changed, QString *error)
{
    if (m_qt) {
        QSqlQuery &query = startedToo ? m_qt->startDone : m_qt->done;
        query.bindValue(0, now);
        query.bindValue(1, qint64(id));
        return runQt(query, "done", error, changed);
    }
    // Prepared by its first use; it names no column start and done do not.
    if (startedToo && m_startDone == nullptr && !prepared(&m_startDone, kStartDone, error))
        return false;
    sqlite3_stmt *statement = startedToo ? m_startDone : m_done;
    sqlite3_bind_int64(statement, 1, now);
    sqlite3_bind_int64(statement, 2, sqlite3_int64(id));
    const bool ok = step(statement, "done", error);
    *changed = ok && sqlite3_changes(m_db) > 0;
    return ok;
}

bool BatchStatements::raiseNextId(quint64 nextId, QString *error)
{
    if (m_qt) {
        m_qt->counter.bindValue(0, qint64(nextId));
        return runQt(m_qt->counter, "next_id", error);
    }
    sqlite3_bind_int64(m_counter, 1, sqlite3_int64(nextId));
    return step(m_counter, "next_id", error);
}

} // namespace Quiesce
