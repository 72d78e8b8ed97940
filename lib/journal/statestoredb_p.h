#pragma once

// Private to the state store: one SQLite connection and the read-only checks of a journal file. Not installed.

#include "statestore.h"
#include "statestoresql_p.h"

#include <QtCore/QLoggingCategory>
#include <QtCore/QString>
#include <QtSql/QSqlDatabase>

class QSqlQuery;

/*! quiesce.journal: the journal's diagnostics (it prints nothing itself). */
Q_DECLARE_LOGGING_CATEGORY(lcJournal)

namespace Quiesce {

/*! PRAGMA application_id of every journal: 'QUIE'. */
inline constexpr qint32 kStoreApplicationId = 0x51554945;
/*! PRAGMA user_version this build writes and understands; older ones are migrated on open. */
inline constexpr int kStoreSchemaVersion = 2;

/*! What a read-only look at an existing file found (validate()). */
struct StoreFileInfo
{
    bool fresh = true;   //!< no schema yet (missing, 0-byte or an empty SQLite database of ours)
    int userVersion = 0; //!< schema version of an existing journal
};

/*! \brief One SQLite connection, owned by the thread that created the object.

    The connection name is unique per object. close() (and the destructor) drop the QSqlDatabase handle first and
    then call QSqlDatabase::removeDatabase() on the owning thread, so Qt never sees a connection "still in use".
    Every QSqlQuery made on it must be gone before close(). */
class StateStoreDb
{
public:
    explicit StateStoreDb(const char *purpose);
    ~StateStoreDb();
    StateStoreDb(const StateStoreDb &) = delete;
    StateStoreDb &operator=(const StateStoreDb &) = delete;

    /*! Opens \a path without ever writing to it: "mode=ro", plus "immutable=1" when no -wal/-shm exists (then
        SQLite creates no side file either). */
    bool openReadOnly(const QString &path, QString *error);
    /*! Opens (creating) \a path read-write. */
    bool openReadWrite(const QString &path, QString *error);
    void close();
    bool isOpen() const;

    QSqlDatabase &database();
    /*! Runs one statement; on failure fills \a error with "<sql>: <sqlite message>". */
    bool exec(const QString &sql, QString *error);
    /*! Runs a one-value query (PRAGMA, COUNT); returns false on failure (with the primary SQLite result code in
        \a code when given). */
    bool value(const QString &sql, QVariant *result, QString *error, int *code = nullptr);

    /*! Validates the existing file at \a path without writing to it: raw header (magic, page size, truncation), then
        SQLite (application_id, user_version, tables, quick_check). Returns StoreError::None and fills \a info, or
        the error with \a message.

        Without \a readWrite, on a read-only connection of its own, closed again (removing any -wal/-shm it
        created). With \a readWrite, the checks run on that connection opened read-write, which the caller keeps
        for its writes when the file is accepted (one connection at start instead of two); when the file is
        refused it is closed again. Only for a file without -wal/-shm: then the last close leaves the file as it
        was, whereas with a WAL holding commits it would checkpoint them into a file being refused. */
    static StoreError validate(const QString &path, StoreFileInfo *info, QString *message,
                               StateStoreDb *readWrite = nullptr);

    /*! On an open connection: application_id, user_version and tables decide whether this is a fresh database,
        one of our journals (schema version in \a info), a foreign one or a newer one. */
    StoreError classify(const QString &path, StoreFileInfo *info, QString *message);

    /*! The error of \a query as "<sqlite message>". */
    static QString queryError(const QSqlQuery &query);
    /*! The primary SQLite result code of the last error of \a query (e.g. 13 = SQLITE_FULL), or 0. */
    static int primaryCode(const QSqlQuery &query);
    /*! Corrupt for SQLITE_CORRUPT, SQLITE_NOTADB and SQLITE_FORMAT; CannotOpen for everything else (busy, I/O,
        permissions): a disk or lock problem must never be reported as a damaged file. */
    static StoreError errorForCode(int code);
    /*! Whether a process other than this one has the WAL index of \a path mapped (an SQLite connection to it). */
    static bool inUseByOtherProcess(const QString &path);
    /*! Loads the QSQLITE driver plugin (a connection of the calling thread, removed again; no file opened), so that
        the next connection of any thread finds it loaded: Qt keeps a loaded plugin until the process ends. */
    static void loadDriver();

private:
    bool openWith(const QString &databaseName, const QString &connectOptions, QString *error);

    QString m_name;
    QSqlDatabase m_db;
    QString m_readOnlyPath; //!< set while open read-only: close() removes the side files this connection created
    bool m_walExisted = false;
    bool m_shmExisted = false;
};

/*! Inside a transaction on \a db: creates the current schema (\a fresh) or upgrades \a userVersion to it, keeping
    every row, and sets user_version. */
bool migrateSchema(StateStoreDb &db, bool fresh, int userVersion, QString *error);

/*! Copies the journal at \a path (schema \a version, about to be upgraded; no connection of ours open on it) to
    `<path>.v<version>-backup` with SQLite's backup API, never overwriting a file: an existing backup makes it pick
    `-backup-2`, `-backup-3`... Fills \a backupPath, or returns the error with \a message. */
StoreError backupJournal(const QString &path, int version, QString *backupPath, QString *message);

/*! "state file <path> <what>": every message about a journal file names it the same way. */
QString storeFileMessage(const QString &path, const QString &what);

/*! The -wal and -shm files SQLite keeps next to \a path. */
QString storeWalPath(const QString &path);
QString storeShmPath(const QString &path);

} // namespace Quiesce
