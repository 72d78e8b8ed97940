#pragma once

// Private to the state store: the per-row statements of a batch, on SQLite's C API. Not installed.

#include <QtCore/QByteArray>
#include <QtCore/QString>
#include <QtSql/QSqlQuery>

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>

struct sqlite3;
struct sqlite3_stmt;
class QSqlDatabase;

namespace Quiesce {

struct Job;

/*! \brief The statements every batch runs, prepared once on the handle of the store's Qt Sql connection.

    The hot path of the journal (one accept, start and done per job) binds and steps them through SQLite's C API:
    through Qt Sql every value became a QVariant (and every statement a QSqlResult round trip), which is why the
    batch used to pass its rows as one JSON array per statement. One row per statement, without RETURNING (whose
    ephemeral table SQLite builds on every execution), is the cheapest way SQLite offers: sqlite3_changes() tells
    whether the row changed. Everything else (save, recovery, requeues, failures) stays on Qt Sql.

    The C API is used only when the Qt driver's SQLite is this process's libsqlite3 (Debian's is): a Qt with its
    own copy of SQLite hands out a handle this library must not touch, and then the same statements run through
    Qt Sql (slower, the same rows).

    Store thread only, on the connection it was prepared for; finalize() (or the destructor) must run before that
    connection closes. */
class BatchStatements
{
public:
    BatchStatements() = default;
    ~BatchStatements();
    BatchStatements(const BatchStatements &) = delete;
    BatchStatements &operator=(const BatchStatements &) = delete;

    /*! Prepares the per-row statements on \a db's handle (between them they name every column of jobs and meta,
        so a schema they cannot use is seen here); false with "<sql>: <sqlite message>" in \a error. The others
        name no further column and are prepared by their first use: done()'s folded start and done, and
        insertChunk()'s two (the 32-row INSERT alone costs SQLite half a million instructions to compile, more than
        every other statement of the journal's open together). */
    bool prepare(QSqlDatabase &db, QString *error);
    /*! Drops every statement (before the connection closes). */
    void finalize();
    /*! Whether the statements run on the C API (else on Qt Sql). */
    bool usesCApi() const { return m_db != nullptr; }

    /*! Test hook: prepare() uses Qt Sql even where the C API could be used. */
    static std::atomic<bool> s_forceQtSql;

    /*! BEGIN IMMEDIATE. */
    bool begin(QString *error);
    /*! COMMIT. */
    bool commit(QString *error);
    /*! Inserts \a job as pending (INSERT OR IGNORE); \a inserted says whether its id was new. */
    bool insert(const Job &job, qint64 now, bool *inserted, QString *error);
    /*! Rows per insertChunk(). */
    static constexpr std::size_t kChunk = 32;
    /*! Inserts \a jobs as pending with one statement, when that is sure to insert every one of them: ids strictly
        increasing and none of [first, last] in the table yet (one lookup by primary key), so no row can be ignored
        and no per-row answer is needed (RETURNING would cost SQLite an ephemeral table per execution). Otherwise
        (and on Qt Sql) writes nothing and leaves \a written false: the caller inserts them one at a time. */
    bool insertChunk(const std::array<const Job *, kChunk> &jobs, qint64 now, bool *written, QString *error);
    /*! pending (or in progress) -> in progress, attempts + 1. */
    bool start(quint64 id, qint64 now, QString *error);
    /*! -> done unless done already (\a changed says whether it was not). With \a startedToo the start of the same
        job (queued in the same batch, nothing else touching the job in between) is folded in: attempts + 1 when
        the start would have applied, which leaves the row exactly as the two statements in a row would. */
    bool done(quint64 id, qint64 now, bool startedToo, bool *changed, QString *error);
    /*! Raises the ('next_id', N) counter to at least \a nextId. */
    bool raiseNextId(quint64 nextId, QString *error);

private:
    bool step(sqlite3_stmt *statement, const char *what, QString *error);
    /*! sqlite3_prepare_v3() of \a sql on m_db into \a statement; false with "<sql>: <sqlite message>" in
        \a error. */
    bool prepared(sqlite3_stmt **statement, const char *sql, QString *error);
    /*! Runs \a query; \a changed (when given) says whether it changed a row. */
    bool runQt(QSqlQuery &query, const char *what, QString *error, bool *changed = nullptr);
    bool prepareQt(QSqlDatabase &db, QString *error);
    /*! insertChunk()'s two statements, at its first use. */
    bool prepareChunk(QString *error);

    /*! The same statements on Qt Sql, when the C API cannot be used. */
    struct QtStatements
    {
        explicit QtStatements(const QSqlDatabase &db);
        QSqlQuery begin, commit, insert, start, done, startDone, counter;
    };
    std::unique_ptr<QtStatements> m_qt;

    sqlite3 *m_db = nullptr;
    sqlite3_stmt *m_begin = nullptr;
    sqlite3_stmt *m_commit = nullptr;
    sqlite3_stmt *m_insert = nullptr;
    sqlite3_stmt *m_start = nullptr;
    sqlite3_stmt *m_done = nullptr;
    sqlite3_stmt *m_startDone = nullptr;
    sqlite3_stmt *m_counter = nullptr;
    sqlite3_stmt *m_insertChunk = nullptr;
    sqlite3_stmt *m_anyInRange = nullptr;
    bool m_chunkFailed = false; //!< the chunk could not be prepared: accepts go one row at a time from then on
};

} // namespace Quiesce
