#include "statestoredb_p.h"

#include <QtCore/QAtomicInteger>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QStringList>
#include <QtCore/QThread>
#include <QtCore/QUrl>
#include <QtCore/QVariant>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <sqlite3.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcJournal, "quiesce.journal")

namespace Quiesce {

namespace {

QAtomicInteger<quint64> s_connectionCounter;

// SQLite keeps its shared-memory locks in the -shm file; byte 128 (WALINDEX_LOCK_OFFSET + SQLITE_SHM_NLOCK) is the
// "dead man switch" that every connection holds a shared lock on while it has the WAL index mapped.
constexpr off_t kShmDmsOffset = 128;

quint32 bigEndian32(const QByteArray &bytes, int offset)
{
    const auto *p = reinterpret_cast<const uchar *>(bytes.constData()) + offset;
    return (quint32(p[0]) << 24) | (quint32(p[1]) << 16) | (quint32(p[2]) << 8) | quint32(p[3]);
}

// Whether another process has the WAL index of a database mapped (holds a lock on its dead-man-switch byte).
// F_GETLK never reports our own locks; opening and closing the -shm here would drop locks this process holds on
// it, which is why callers only ask about a -shm that no connection of theirs has open.
bool shmInUseByOthers(const QString &shmPath)
{
    const QByteArray native = QFile::encodeName(shmPath);
    // O_NONBLOCK: should a FIFO have been put there, never wait for a writer.
    const int fd = ::open(native.constData(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct flock lock = {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = kShmDmsOffset;
    lock.l_len = 1;
    const int rc = ::fcntl(fd, F_GETLK, &lock);
    ::close(fd);
    return rc == 0 && lock.l_type != F_UNLCK;
}

StoreError readFailure(const QString &path, int code, const QString &error, QString *message)
{
    const StoreError result = StateStoreDb::errorForCode(code);
    *message = storeFileMessage(path,
                                result == StoreError::Corrupt
                                    ? QStringLiteral("is not a valid SQLite database (%1)").arg(error)
                                    : QStringLiteral("cannot be read (%1)").arg(error));
    return result;
}

} // namespace

QString jobStateName(int state)
{
    switch (JobState(state)) {
    case JobState::Pending:
        return QStringLiteral("pending");
    case JobState::InProgress:
        return QStringLiteral("in_progress");
    case JobState::Done:
        return QStringLiteral("done");
    case JobState::Failed:
        return QStringLiteral("failed");
    }
    return QStringLiteral("unknown");
}

QString StoreSql::nextId(const QString &table)
{
    return QStringLiteral("SELECT MAX(COALESCE((SELECT value FROM meta WHERE key = 'next_id'), 0), "
                          "(SELECT COALESCE(MAX(id), 0) + 1 FROM %1))")
        .arg(table);
}

QString StoreSql::raiseNextId()
{
    return QStringLiteral("INSERT INTO meta (key, value) VALUES ('next_id', ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)");
}

QString StoreSql::requeue()
{
    return QStringLiteral("UPDATE jobs SET state = 0, updated = ? "
                          "WHERE id IN (SELECT value FROM json_each(?)) AND state = 1");
}

QString StoreSql::requeueCrashed()
{
    return QStringLiteral("UPDATE jobs SET state = 0, crashes = crashes + 1, updated = ? "
                          "WHERE id IN (SELECT value FROM json_each(?)) AND state = 1");
}

bool migrateSchema(StateStoreDb &db, bool fresh, int userVersion, QString *error)
{
    const int version = fresh ? 0 : userVersion;
    // v2. jobs: the journal. state 0 pending, 1 in_progress, 2 done, 3 failed (with a reason); payload is the
    // job's bytes; attempts counts starts, crashes the times its worker died while running it (what marks a poison
    // job); created/updated in ms since the epoch. One partial index: the pending rows, which open() reads in id
    // order; every other query goes by id or runs once per open (recovery, retention, counts). sessions: one row
    // per run (started/ended ISO 8601 UTC, report as JSON text). meta: the persistent id counter, so ids are never
    // reused even after rows are deleted (retention, purge).
    // The state CHECK is spelled with OR, not IN (...): SQLite 3.40 builds an ephemeral table for an IN list on
    // every INSERT and UPDATE, a third of the store thread's instructions in the durable benchmark.
    static const char *const jobsTable = "CREATE TABLE jobs ("
                                         " id INTEGER PRIMARY KEY,"
                                         " state INTEGER NOT NULL CHECK (state = 0 OR state = 1 OR state = 2"
                                         " OR state = 3),"
                                         " payload BLOB NOT NULL,"
                                         " attempts INTEGER NOT NULL DEFAULT 0,"
                                         " crashes INTEGER NOT NULL DEFAULT 0,"
                                         " reason TEXT,"
                                         " created INTEGER NOT NULL,"
                                         " updated INTEGER NOT NULL)";
    static const char *const pendingIndex = "CREATE INDEX jobs_pending ON jobs (id) WHERE state = 0";
    QStringList statements;
    if (version < 1) {
        statements = {
            QString::fromLatin1(jobsTable),
            QString::fromLatin1(pendingIndex),
            QStringLiteral("CREATE TABLE sessions ("
                           " id INTEGER PRIMARY KEY,"
                           " pid INTEGER NOT NULL,"
                           " started TEXT NOT NULL,"
                           " ended TEXT,"
                           " clean INTEGER NOT NULL DEFAULT 0,"
                           " reason TEXT,"
                           " sender INTEGER,"
                           " exit_code INTEGER,"
                           " report TEXT)"),
            QStringLiteral("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)"),
            QStringLiteral("INSERT INTO meta (key, value) VALUES ('next_id', 1)"),
            QStringLiteral("PRAGMA application_id = %1").arg(kStoreApplicationId),
        };
    } else if (version == 1) {
        // v1 -> v2: every row kept with its id, attempts and times; the state names become numbers (an unknown
        // one fails the NOT NULL, so the upgrade rolls back rather than guess) and v1's cost_ms becomes its
        // payload, the cost as ASCII decimal. sessions and meta are unchanged.
        statements = {
            QString::fromLatin1(jobsTable),
            QStringLiteral("INSERT INTO jobs (id, state, payload, attempts, crashes, reason, created, updated) "
                           "SELECT id, CASE state WHEN 'pending' THEN 0 WHEN 'in_progress' THEN 1 "
                           "WHEN 'done' THEN 2 END, CAST(CAST(cost_ms AS TEXT) AS BLOB), attempts, 0, NULL, "
                           "created, updated FROM requests"),
            QStringLiteral("DROP TABLE requests"),
            QString::fromLatin1(pendingIndex),
        };
    }
    if (version < kStoreSchemaVersion)
        statements.append(QStringLiteral("PRAGMA user_version = %1").arg(kStoreSchemaVersion));
    for (const QString &statement : std::as_const(statements)) {
        if (!db.exec(statement, error))
            return false;
    }
    return true;
}

StoreError backupJournal(const QString &path, int version, QString *backupPath, QString *message)
{
    // A free name: an earlier backup (an upgrade that failed after it, a second copy of an old file) is never
    // overwritten. link() below refuses an existing name atomically; the checks here only pick a likely one.
    const QString base = QStringLiteral("%1.v%2-backup").arg(path).arg(version);
    QString target;
    for (int n = 1; n <= 100 && target.isEmpty(); ++n) {
        const QString candidate = n == 1 ? base : QStringLiteral("%1-%2").arg(base).arg(n);
        if (!QFileInfo::exists(candidate) && !QFileInfo(candidate).isSymLink())
            target = candidate;
    }
    if (target.isEmpty()) {
        *message = storeFileMessage(path,
                                    QStringLiteral("needs an upgrade, but %1 and 99 more backups of it exist; move "
                                                   "them away")
                                        .arg(base));
        return StoreError::CannotOpen;
    }
    // Copied under a temporary name and linked to the final one only when complete: a crash never leaves a
    // half-written file under a backup's name.
    const QString partial = QString(target + QStringLiteral(".partial"));
    QFile::remove(partial);
    const QByteArray nativeSource = QFile::encodeName(path);
    const QByteArray nativePartial = QFile::encodeName(partial);
    const QByteArray nativeTarget = QFile::encodeName(target);
    sqlite3 *source = nullptr;
    sqlite3 *destination = nullptr;
    QString failure;
    // The source through its WAL (committed data may sit there after a crash); read-write only so that SQLite may
    // use the WAL index without another connection present. Nothing is written to it.
    int rc = sqlite3_open_v2(nativeSource.constData(), &source, SQLITE_OPEN_READWRITE, nullptr);
    if (rc == SQLITE_OK)
        rc = sqlite3_open_v2(nativePartial.constData(), &destination, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             nullptr);
    if (rc == SQLITE_OK) {
        sqlite3_backup *backup = sqlite3_backup_init(destination, "main", source, "main");
        if (backup == nullptr) {
            rc = sqlite3_errcode(destination);
        } else {
            rc = sqlite3_backup_step(backup, -1); // every page in one step: nothing else writes (we hold the lock)
            const int finished = sqlite3_backup_finish(backup);
            if (rc == SQLITE_DONE)
                rc = finished;
        }
    }
    if (rc != SQLITE_OK)
        failure = QString::fromUtf8(destination != nullptr  ? sqlite3_errmsg(destination)
                                        : source != nullptr ? sqlite3_errmsg(source)
                                                            : sqlite3_errstr(rc));
    // The backup is a rollback-journal file of its own: switch it out of WAL mode (the page copy carries the
    // source's WAL flag) so that it stays one self-contained file a user can copy or open elsewhere.
    if (rc == SQLITE_OK
        && sqlite3_exec(destination, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        failure = QString::fromUtf8(sqlite3_errmsg(destination));
        rc = SQLITE_ERROR;
    }
    sqlite3_close_v2(destination);
    sqlite3_close_v2(source);
    if (rc == SQLITE_OK && ::link(nativePartial.constData(), nativeTarget.constData()) != 0) {
        int error = errno;
        // A filesystem without hard links (vfat, some FUSE): a rename, checked first. We hold the journal's lock,
        // so no other Quiesce races us for the name.
        if ((error == EPERM || error == EOPNOTSUPP || error == ENOSYS) && !QFileInfo::exists(target)
            && !QFileInfo(target).isSymLink()) {
            error = ::rename(nativePartial.constData(), nativeTarget.constData()) == 0 ? 0 : errno;
        }
        if (error != 0) {
            failure = QStringLiteral("cannot name it %1: %2").arg(target, QString::fromLocal8Bit(std::strerror(error)));
            rc = SQLITE_ERROR;
        }
    }
    QFile::remove(partial);
    QFile::remove(QString(partial + QStringLiteral("-journal")));
    if (rc != SQLITE_OK) {
        *message = storeFileMessage(
            path, QStringLiteral("cannot be backed up before its upgrade to %1 (%2)").arg(target, failure));
        return StoreError::WriteFailed;
    }
    *backupPath = target;
    return StoreError::None;
}

QString storeFileMessage(const QString &path, const QString &what)
{
    return QStringLiteral("state file %1 %2").arg(path, what);
}

QString storeWalPath(const QString &path)
{
    return QString(path + QStringLiteral("-wal"));
}

QString storeShmPath(const QString &path)
{
    return QString(path + QStringLiteral("-shm"));
}

StateStoreDb::StateStoreDb(const char *purpose)
    : m_name(QStringLiteral("quiesce-store-%1-%2")
                 .arg(QLatin1StringView(purpose))
                 .arg(s_connectionCounter.fetchAndAddRelaxed(1) + 1))
{}

StateStoreDb::~StateStoreDb()
{
    close();
}

bool StateStoreDb::openReadOnly(const QString &path, QString *error)
{
    const bool walExisted = QFileInfo::exists(storeWalPath(path));
    const bool shmExisted = QFileInfo::exists(storeShmPath(path));
    // Without side files nobody has the database open in WAL mode, and "immutable" reads the main file alone
    // without creating a -wal/-shm (plain "mode=ro" would create both and leave them behind). With side files
    // the WAL may hold committed data (another process, or a crash), so read through it.
    QString uri = QUrl::fromLocalFile(QFileInfo(path).absoluteFilePath()).toString(QUrl::FullyEncoded);
    uri += (walExisted || shmExisted) ? QStringLiteral("?mode=ro") : QStringLiteral("?mode=ro&immutable=1");
    if (!openWith(uri, QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_OPEN_URI;QSQLITE_BUSY_TIMEOUT=5000"), error))
        return false;
    m_readOnlyPath = path;
    m_walExisted = walExisted;
    m_shmExisted = shmExisted;
    return true;
}

bool StateStoreDb::openReadWrite(const QString &path, QString *error)
{
    m_readOnlyPath.clear();
    return openWith(path, QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"), error);
}

bool StateStoreDb::openWith(const QString &databaseName, const QString &connectOptions, QString *error)
{
    close();
    m_db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
    if (!m_db.isValid()) {
        *error = QStringLiteral("the Qt SQLite driver (QSQLITE) is not available");
        close();
        return false;
    }
    m_db.setDatabaseName(databaseName);
    m_db.setConnectOptions(connectOptions);
    if (!m_db.open()) {
        *error = m_db.lastError().driverText().isEmpty()
            ? m_db.lastError().text()
            : QString(m_db.lastError().driverText() + QStringLiteral(": ") + m_db.lastError().databaseText());
        close();
        return false;
    }
    return true;
}

void StateStoreDb::loadDriver()
{
    // Named after the thread, so that two callers at once never share (and replace) one connection.
    const QString name = QStringLiteral("quiesce-load-driver-%1").arg(quintptr(QThread::currentThreadId()));
    {
        const QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
    }
    QSqlDatabase::removeDatabase(name);
}

void StateStoreDb::close()
{
    if (!m_db.isValid() && !QSqlDatabase::contains(m_name))
        return;
    if (m_db.isOpen())
        m_db.close();
    // The handle must be gone before removeDatabase(), or Qt warns "connection ... is still in use".
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_name);

    // A read-only connection may have created an empty -wal and a -shm (it cannot delete them when it closes).
    // Remove exactly those, unless another process started to use them in the meantime.
    if (!m_readOnlyPath.isEmpty()) {
        const QString wal = storeWalPath(m_readOnlyPath);
        const QString shm = storeShmPath(m_readOnlyPath);
        if ((!m_walExisted || !m_shmExisted) && !shmInUseByOthers(shm)) {
            if (!m_walExisted && QFileInfo(wal).size() == 0)
                QFile::remove(wal);
            if (!m_shmExisted)
                QFile::remove(shm);
        }
        m_readOnlyPath.clear();
    }
}

bool StateStoreDb::isOpen() const
{
    return m_db.isOpen();
}

QSqlDatabase &StateStoreDb::database()
{
    return m_db;
}

bool StateStoreDb::exec(const QString &sql, QString *error)
{
    QSqlQuery query(m_db);
    if (!query.exec(sql)) {
        *error = QString(sql + QStringLiteral(": ") + queryError(query));
        return false;
    }
    return true;
}

bool StateStoreDb::value(const QString &sql, QVariant *result, QString *error, int *code)
{
    QSqlQuery query(m_db);
    if (!query.exec(sql)) {
        *error = QString(sql + QStringLiteral(": ") + queryError(query));
        if (code != nullptr)
            *code = primaryCode(query);
        return false;
    }
    *result = query.next() ? query.value(0) : QVariant();
    return true;
}

QString StateStoreDb::queryError(const QSqlQuery &query)
{
    const QSqlError error = query.lastError();
    return error.databaseText().isEmpty() ? error.text() : error.databaseText();
}

int StateStoreDb::primaryCode(const QSqlQuery &query)
{
    return query.lastError().nativeErrorCode().toInt() & 0xff;
}

StoreError StateStoreDb::errorForCode(int code)
{
    constexpr int sqliteCorrupt = 11;
    constexpr int sqliteFormat = 24;
    constexpr int sqliteNotADb = 26;
    return (code == sqliteCorrupt || code == sqliteFormat || code == sqliteNotADb) ? StoreError::Corrupt
                                                                                   : StoreError::CannotOpen;
}

bool StateStoreDb::inUseByOtherProcess(const QString &path)
{
    return QFileInfo::exists(storeShmPath(path)) && shmInUseByOthers(storeShmPath(path));
}

StoreError StateStoreDb::classify(const QString &path, StoreFileInfo *info, QString *message)
{
    *info = StoreFileInfo();
    QVariant appId;
    QVariant userVersion;
    QString error;
    int code = 0;
    if (!value(QStringLiteral("PRAGMA application_id"), &appId, &error, &code)
        || !value(QStringLiteral("PRAGMA user_version"), &userVersion, &error, &code)) {
        return readFailure(path, code, error, message);
    }
    QStringList tables;
    qint64 objects = 0;
    {
        QSqlQuery query(m_db);
        if (!query.exec(QStringLiteral("SELECT type, name FROM sqlite_master")))
            return readFailure(path, primaryCode(query), queryError(query), message);
        while (query.next()) {
            ++objects;
            if (query.value(0).toString() == QLatin1StringView("table"))
                tables.append(query.value(1).toString());
        }
    }

    const qint32 id = appId.toInt();
    const int version = userVersion.toInt();
    if (id != kStoreApplicationId && id != 0) {
        *message = storeFileMessage(path,
                                    QStringLiteral("belongs to another application (application_id 0x%1)")
                                        .arg(quint32(id), 8, 16, QLatin1Char('0')));
        return StoreError::Corrupt;
    }
    if (objects == 0 && version == 0) {
        info->fresh = true; // an empty SQLite database (ours or nobody's yet): initialise it
        return StoreError::None;
    }
    if (id == 0) {
        // Tables but no application id: some other program's database. Never adopt it.
        *message = storeFileMessage(path,
                                    QStringLiteral("is an SQLite database of another application (it has no "
                                                   "Quiesce application_id)"));
        return StoreError::Corrupt;
    }
    if (version > kStoreSchemaVersion) {
        *message = storeFileMessage(path,
                                    QStringLiteral("was created by a newer version of Quiesce (schema version %1; "
                                                   "this build understands up to %2)")
                                        .arg(version)
                                        .arg(kStoreSchemaVersion));
        return StoreError::NewerSchema;
    }
    if (version < 1) {
        *message =
            storeFileMessage(path, QStringLiteral("is inconsistent (Quiesce application_id but no schema version)"));
        return StoreError::Corrupt;
    }
    // v1 kept its rows in "requests" (TEXT state, cost_ms), v2 in "jobs"; both have sessions and meta.
    for (const char *table : {version == 1 ? "requests" : "jobs", "sessions", "meta"}) {
        if (!tables.contains(QLatin1StringView(table))) {
            *message = storeFileMessage(
                path, QStringLiteral("is damaged (table \"%1\" is missing)").arg(QLatin1StringView(table)));
            return StoreError::Corrupt;
        }
    }
    info->fresh = false;
    info->userVersion = version;
    return StoreError::None;
}

StoreError StateStoreDb::validate(const QString &path, StoreFileInfo *info, QString *message, StateStoreDb *readWrite)
{
    *info = StoreFileInfo();

    // 1. The raw header, before SQLite sees the file: SQLite happily "opens" anything, and silently reads a
    //    truncated file as if the missing pages were empty.
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *message = storeFileMessage(path, QStringLiteral("cannot be read (%1)").arg(file.errorString()));
        return StoreError::CannotOpen;
    }
    const qint64 size = file.size();
    const QByteArray header = file.read(100);
    file.close();

    const QFileInfo wal(storeWalPath(path));
    const bool walHasData = wal.exists() && wal.size() > 0;
    if (size == 0) {
        if (walHasData) {
            // SQLite would delete the WAL of an empty database file: refuse instead of losing it.
            *message = storeFileMessage(path, QStringLiteral("is empty but its write-ahead log is not (damaged)"));
            return StoreError::Corrupt;
        }
        info->fresh = true; // SQLite's own rule: a 0-byte file is an empty database
        return StoreError::None;
    }
    static const QByteArray magic("SQLite format 3\0", 16);
    if (header.size() < magic.size() || !header.startsWith(magic)) {
        *message = storeFileMessage(path, QStringLiteral("is not an SQLite database"));
        return StoreError::Corrupt;
    }
    if (header.size() < 100) {
        *message = storeFileMessage(path, QStringLiteral("is truncated (%1 bytes)").arg(size));
        return StoreError::Corrupt;
    }
    const auto *bytes = reinterpret_cast<const uchar *>(header.constData());
    quint32 pageSize = (quint32(bytes[16]) << 8) | bytes[17];
    if (pageSize == 1)
        pageSize = 65536;
    const bool pageSizeOk = pageSize >= 512 && pageSize <= 65536 && (pageSize & (pageSize - 1)) == 0;
    if (!pageSizeOk || bytes[18] < 1 || bytes[18] > 2 || bytes[19] < 1 || bytes[19] > 2) {
        *message = storeFileMessage(path, QStringLiteral("has a damaged SQLite header"));
        return StoreError::Corrupt;
    }
    // Without a WAL holding newer pages, the main file is the whole database: it is a whole number of pages,
    // at least as many as its header says (that count is valid when the change counter at 24 matches the
    // version-valid-for number at 92).
    if (!walHasData) {
        const quint32 headerPages = bigEndian32(header, 28);
        const bool headerPagesValid = headerPages != 0 && bigEndian32(header, 24) == bigEndian32(header, 92);
        if (size % pageSize != 0 || (headerPagesValid && size < qint64(headerPages) * pageSize)) {
            *message = storeFileMessage(path,
                                        QStringLiteral("is truncated (%1 bytes; %2 pages of %3 bytes expected)")
                                            .arg(size)
                                            .arg(headerPagesValid ? headerPages : (size + pageSize - 1) / pageSize)
                                            .arg(pageSize));
            return StoreError::Corrupt;
        }
    }

    // 2. SQLite: on a read-only connection of its own, or on the caller's read-write one (see the header), which
    //    reads only here and is closed again when the file is refused.
    StateStoreDb readOnly("validate");
    StateStoreDb &db = readWrite != nullptr ? *readWrite : readOnly;
    QString error;
    if (!(readWrite != nullptr ? db.openReadWrite(path, &error) : db.openReadOnly(path, &error))) {
        *message = storeFileMessage(path, QStringLiteral("cannot be opened (%1)").arg(error));
        return StoreError::CannotOpen;
    }
    StoreError result = db.classify(path, info, message);
    if (result == StoreError::None) {
        QSqlQuery query(db.database());
        if (!query.exec(QStringLiteral("PRAGMA quick_check"))) {
            result = readFailure(path, primaryCode(query), queryError(query), message);
        } else {
            QStringList problems;
            while (query.next() && problems.size() < 3)
                problems.append(query.value(0).toString());
            if (problems != QStringList {QStringLiteral("ok")}) {
                *message = storeFileMessage(path,
                                            QStringLiteral("is damaged (quick_check: %1)")
                                                .arg(problems.join(QStringLiteral("; ")).simplified()));
                result = StoreError::Corrupt;
            }
        }
    }
    if (result != StoreError::None)
        db.close(); // the caller's connection too: nothing was written through it
    return result;  // a read-only db closes here, removing any side file it created
}

} // namespace Quiesce
