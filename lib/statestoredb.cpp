#include "statestoredb_p.h"

#include <QtCore/QAtomicInteger>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QStringList>
#include <QtCore/QUrl>
#include <QtCore/QVariant>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <fcntl.h>
#include <unistd.h>

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
    // Every version so far keeps these three tables.
    for (const char *table : {"requests", "sessions", "meta"}) {
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

StoreError StateStoreDb::validate(const QString &path, StoreFileInfo *info, QString *message)
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

    // 2. SQLite, read-only.
    StateStoreDb db("validate");
    QString error;
    if (!db.openReadOnly(path, &error)) {
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
    return result; // db closes here, removing any side file it created
}

} // namespace Quiesce
