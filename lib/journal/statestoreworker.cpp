#include "statestoreworker_p.h"

#include "batchstatements_p.h"
#include "statelock_p.h"
#include "statestoredb_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtCore/QVariant>
#include <QtSql/QSqlQuery>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

namespace Quiesce {

std::atomic<int> StateStoreWorker::s_failNextCommits {0};

namespace {

constexpr int kRetryBaseMs = 10;     // first retry of a failed batch; doubles per failure ...
constexpr int kRetryMaxMs = 1000;    // ... up to this
constexpr int kSaveAttempts = 5;     // save(): attempts before saved(false)
constexpr int kSaveRetryBaseMs = 25; // 25, 50, 100, 200 ms between them: bounded, well inside a save budget

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QString nowIso()
{
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

QString errnoText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

// Why open() must refuse a path before anything is created or locked there; empty when it may go on. access()
// answers for the effective user; root passes it for anything, so a file or directory whose mode grants write
// to nobody is refused explicitly too: an operator who made the journal read-only gets the same answer as root.
QString writabilityProblem(const QString &path, bool isDirectory)
{
    const QByteArray native = QFile::encodeName(path);
    const int mode = isDirectory ? (W_OK | X_OK) : (R_OK | W_OK);
    if (::access(native.constData(), mode) != 0) {
        const int error = errno;
        return QStringLiteral("is not writable (%1)").arg(errnoText(error));
    }
    struct stat info;
    if (::stat(native.constData(), &info) != 0) {
        const int error = errno;
        return QStringLiteral("cannot be examined (%1)").arg(errnoText(error));
    }
    if ((info.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0)
        return QStringLiteral("is not writable (read-only, mode %1)").arg(info.st_mode & 07777, 4, 8, QLatin1Char('0'));
    return QString();
}

// The path checks of open(), before the lock file or SQLite touch anything. Creates missing parent
// directories (open() promises that for defaultPath()).
StoreError checkPath(const QString &path, QString *message)
{
    const QFileInfo file(path);
    if (file.isSymLink() && !file.exists()) {
        *message = storeFileMessage(path, QStringLiteral("is a dangling symbolic link"));
        return StoreError::CannotOpen;
    }
    if (file.exists() && file.isDir()) {
        *message = storeFileMessage(path, QStringLiteral("is a directory"));
        return StoreError::CannotOpen;
    }
    if (file.exists() && !file.isFile()) {
        *message = nonRegularStateFile(path); // names the type (a FIFO, a device...)
        if (message->isEmpty())
            *message = storeFileMessage(path, QStringLiteral("is not a regular file"));
        return StoreError::CannotOpen;
    }

    const QString directory = file.absolutePath();
    if (!QFileInfo(directory).isDir()) {
        // Find the component that is in the way (a regular file, say) for a precise message.
        QString existing = directory;
        while (!QFileInfo::exists(existing) && existing != QDir::rootPath())
            existing = QFileInfo(existing).absolutePath();
        if (!QFileInfo(existing).isDir()) {
            *message = storeFileMessage(path, QStringLiteral("cannot be created: %1 is not a directory").arg(existing));
            return StoreError::CannotOpen;
        }
        if (!QDir().mkpath(directory)) {
            *message =
                storeFileMessage(path, QStringLiteral("cannot be created: cannot create directory %1").arg(directory));
            return StoreError::CannotOpen;
        }
    }
    QString problem = writabilityProblem(directory, true);
    if (!problem.isEmpty()) {
        *message =
            storeFileMessage(path, QStringLiteral("cannot be used: its directory %1 %2").arg(directory, problem));
        return StoreError::CannotOpen;
    }
    if (file.exists()) {
        problem = writabilityProblem(path, false);
        if (!problem.isEmpty()) {
            *message = storeFileMessage(path, problem);
            return StoreError::CannotOpen;
        }
    }
    return StoreError::None;
}

// Runs a prepared statement; false with "<what>: <sqlite message>" in error.
bool run(QSqlQuery &query, const char *what, QString *error)
{
    if (query.exec())
        return true;
    *error = QStringLiteral("%1: %2").arg(QLatin1StringView(what), StateStoreDb::queryError(query));
    return false;
}

} // namespace

StateStoreWorker::StateStoreWorker(QObject *parent)
    : QObject(parent)
    , m_flushTimer(new QTimer(this))
    , m_retryTimer(new QTimer(this))
{
    // Children move with the worker to the store thread.
    m_flushTimer->setSingleShot(true);
    m_retryTimer->setSingleShot(true);
    connect(m_flushTimer, &QTimer::timeout, this, [this] { flush(FlushMode::Everything); });
    connect(m_retryTimer, &QTimer::timeout, this, &StateStoreWorker::onRetry);
}

StateStoreWorker::~StateStoreWorker()
{
    // Closed already by save(), shutdown() or a failed open() on the store thread; the owner deletes this
    // object only after that thread has ended.
    closeConnection();
}

StoreOpenResult StateStoreWorker::open(const StoreOptions &options)
{
    StoreOpenResult result;
    m_options = options;
    m_options.flushIntervalMs = std::max(0, options.flushIntervalMs);
    m_options.maxBatch = std::max(1, options.maxBatch);
    if (options.path.isEmpty()) {
        result.error = StoreError::CannotOpen;
        result.errorString = QStringLiteral("no state file path given");
        return result;
    }
    // Everything below uses the canonical path: SQLite resolves symlinks itself, so the lock, the -wal/-shm
    // checks and the messages must name the same file it opens, or two paths to one journal would be two instances.
    // Resolved again after checkPath(), which may have created the directory (whose path may go through a link).
    QString path = canonicalStatePath(options.path);
    result.path = path;

    QString message;
    StoreError error = checkPath(path, &message);
    if (error != StoreError::None) {
        result.error = error;
        result.errorString = message;
        return result;
    }
    path = canonicalStatePath(path);
    result.path = path;

    // Before anything opens them: a FIFO there would block start-up, a -wal SQLite cannot use would be deleted.
    message = nonRegularStateFile(path);
    if (!message.isEmpty()) {
        result.error = StoreError::CannotOpen;
        result.errorString = message;
        return result;
    }

    // One process at a time: a second instance would "recover" the first one's in-progress rows. The kernel
    // decides whether the lock is taken (flock), so a lock file left by a dead process is simply taken over.
    m_lock = std::make_unique<StateLock>();
    if (!m_lock->acquire(path, &message)) {
        m_lock.reset();
        result.error = StoreError::CannotOpen;
        result.errorString = message;
        return result;
    }

    // The WAL as SQLite's recovery will read it, before anything opens it: SQLite silently drops what fails its
    // checks, committed transactions included. With durability full that cannot be a power-loss artifact.
    m_wal = checkWal(path);
    if (m_wal.damaged() && m_options.durability == Durability::Full) {
        closeConnection();
        result.error = StoreError::Corrupt;
        result.errorString = storeFileMessage(
            path, QStringLiteral("is damaged: its write-ahead log %1 %2").arg(m_wal.walPath, m_wal.describe()));
        return result;
    }

    // Validate read-only before anything writes: a file we refuse keeps every byte.
    // Without -wal/-shm (a clean stop leaves none) nothing can be waiting in a WAL, and the connection the run
    // writes through does the checks; after an unclean stop they run on a read-only connection of their own.
    StoreFileInfo info;
    m_cleanStart = false;
    if (QFileInfo::exists(path)) {
        const bool sideFiles = QFileInfo::exists(storeWalPath(path)) || QFileInfo::exists(storeShmPath(path));
        m_cleanStart = !sideFiles;
        if (!sideFiles)
            m_db = std::make_unique<StateStoreDb>("store");
        error = StateStoreDb::validate(path, &info, &message, m_db.get());
        if (error != StoreError::None) {
            closeConnection();
            result.error = error;
            result.errorString = message;
            return result;
        }
    }

    // An older schema is upgraded in place (initialise()), after a copy of the file as it is: whatever the upgrade
    // does, the operator keeps the journal the previous release wrote.
    if (!info.fresh && info.userVersion < kStoreSchemaVersion) {
        m_db.reset(); // the copy is made with connections of its own, none of ours open
        error = backupJournal(path, info.userVersion, &result.recovery.backupPath, &message);
        if (error != StoreError::None) {
            closeConnection();
            result.error = error;
            result.errorString = message;
            return result;
        }
        result.recovery.migratedFrom = info.userVersion;
    }

    error = initialise(path, info.fresh, info.userVersion, &result, &message);
    if (error != StoreError::None) {
        closeConnection();
        result.error = error;
        result.errorString = message;
        return result;
    }

    // Which inode we write to: save() checks that the path still names it, so a journal deleted or replaced
    // while running is reported instead of "saved" into a file nobody will ever open again.
    m_path = path;
    m_journalId = fileIdentity(path);

    {
        const QMutexLocker locker(&m_mutex);
        m_maxBatch = m_options.maxBatch;
        m_accepting = true;
    }
    m_flushTimer->setInterval(m_options.flushIntervalMs);
    return result;
}

QString StateStoreWorker::journalLost() const
{
    int code = 0;
    const FileIdentity now = fileIdentity(m_path, &code);
    if (now.valid ? now == m_journalId : (code != ENOENT && code != ENOTDIR))
        return QString(); // still ours, or it cannot be told (EACCES on the directory...): nothing proves a loss
    return storeFileMessage(
        m_path,
        QStringLiteral("was deleted or replaced while running (%1); this run's state was not saved")
            .arg(now.valid ? QStringLiteral("another file is there now") : QStringLiteral("it no longer exists")));
}

// The statements of every batch and of save(), prepared once per connection. The per-job ones (accept, start, done)
// run on SQLite's C API (BatchStatements); the rare ones on Qt Sql, set-based: each row set passed as a JSON array
// through json_each(), RETURNING to learn which rows really changed. open() prepares those that between them name
// every column of every table (prepare()): a schema the run cannot use is refused there. The others name no column
// those do not and cost SQLite more to compile than the rest of open() together (the 32-row INSERT alone half a
// million instructions): each is prepared by its first use, which most runs never make (a requeue, a failure) or
// make once, after READY (the first accepts). Prepared right after open() on the store thread instead, they ran
// while the main thread went on to READY and delayed it on a 2-core machine. closeConnection() drops them all before
// the connection.
struct StateStoreWorker::Statements
{
    explicit Statements(QSqlDatabase &db)
        : database(db)
        , back(db)
        , crashed(db)
        , failed(db)
        , session(db)
        , sessionEnd(db)
    {}

    bool prepare(QString *error)
    {
        return rows.prepare(database, error)
            && prepared(session, QStringLiteral("UPDATE sessions SET report = ? WHERE id = ?"), error)
            && prepared(sessionEnd,
                        QStringLiteral("UPDATE sessions SET ended = ?, clean = 1, reason = ?, sender = ?, "
                                       "exit_code = ?, report = ? WHERE id = ?"),
                        error);
    }

    // The statements prepare() leaves out, each prepared by its first use.
    bool backReady(QString *error) { return ready(back, &m_backReady, StoreSql::requeue(), error); }
    bool crashedReady(QString *error) { return ready(crashed, &m_crashedReady, StoreSql::requeueCrashed(), error); }
    bool failedReady(QString *error)
    {
        return ready(failed, &m_failedReady,
                     QStringLiteral("UPDATE jobs SET state = 3, reason = ?, updated = ? "
                                    "WHERE id = ? AND state <> 2 RETURNING id"),
                     error);
    }

    static bool prepared(QSqlQuery &query, const QString &sql, QString *error)
    {
        // Forward only: RETURNING's rows are read once, in order; the driver need not cache them all.
        query.setForwardOnly(true);
        if (query.prepare(sql))
            return true;
        *error = QStringLiteral("%1: %2").arg(sql, StateStoreDb::queryError(query));
        return false;
    }

    QSqlDatabase &database;
    BatchStatements rows;
    QSqlQuery back;
    QSqlQuery crashed;
    QSqlQuery failed;
    QSqlQuery session;
    QSqlQuery sessionEnd;

private:
    static bool ready(QSqlQuery &query, bool *isReady, const QString &sql, QString *error)
    {
        if (!*isReady)
            *isReady = prepared(query, sql, error);
        return *isReady;
    }

    bool m_backReady = false;
    bool m_crashedReady = false;
    bool m_failedReady = false;
};

StoreError StateStoreWorker::initialise(const QString &path, bool fresh, int userVersion, StoreOpenResult *result,
                                        QString *error)
{
    if (!m_db)
        m_db = std::make_unique<StateStoreDb>("store");
    QString detail;
    if (!m_db->isOpen() && !m_db->openReadWrite(path, &detail)) {
        *error = storeFileMessage(path, QStringLiteral("cannot be opened (%1)").arg(detail));
        return StoreError::CannotOpen;
    }

    QVariant mode;
    if (!m_db->value(QStringLiteral("PRAGMA journal_mode=WAL"), &mode, &detail)) {
        *error = storeFileMessage(path, QStringLiteral("cannot be opened (%1)").arg(detail));
        return StoreError::CannotOpen;
    }
    if (mode.toString().compare(QLatin1StringView("wal"), Qt::CaseInsensitive) != 0) {
        *error = storeFileMessage(
            path, QStringLiteral("cannot use write-ahead logging (journal mode stays \"%1\")").arg(mode.toString()));
        return StoreError::CannotOpen;
    }
    const QString synchronous = m_options.durability == Durability::Full ? QStringLiteral("PRAGMA synchronous=FULL")
                                                                         : QStringLiteral("PRAGMA synchronous=NORMAL");
    // After a clean stop under durability normal, open()'s transaction is the first write into a WAL that SQLite
    // just created, and SQLite would sync that WAL's header and then its directory (two waits on the disk, about
    // 1 ms each on an idle disk, tens under load) before READY. Under normal nothing the run commits is synced
    // before the next checkpoint, this transaction included: the header sync only orders a header against older
    // frames, and a new WAL has none. So this one transaction runs with synchronous=OFF; the WAL header and the
    // directory are synced by the first checkpoint (its WAL sync keeps SQLite's pending directory sync), before
    // any page of the database file changes. A power loss before that checkpoint loses what normal may lose
    // anyway: the commits since the last checkpoint (here: this run's session row and recovery updates). No
    // checkpoint may run without syncs, so the automatic one is off for that transaction too; an upgrade (a large
    // rewrite, after its backup) keeps every sync.
    const bool deferSyncs =
        m_cleanStart && m_options.durability == Durability::Normal && (fresh || userVersion == kStoreSchemaVersion);
    const QString syncMode = deferSyncs ? QStringLiteral("PRAGMA synchronous=OFF") : synchronous;
    if (!m_db->exec(syncMode, &detail)
        || (deferSyncs && !m_db->exec(QStringLiteral("PRAGMA wal_autocheckpoint=0"), &detail))) {
        *error = storeFileMessage(path, QStringLiteral("cannot be opened (%1)").arg(detail));
        return StoreError::CannotOpen;
    }

    // Migration, the new session and recovery: one transaction, all or nothing.
    if (!m_db->exec(QStringLiteral("BEGIN IMMEDIATE"), &detail)) {
        *error = storeFileMessage(path, QStringLiteral("cannot be written (%1)").arg(detail));
        return StoreError::WriteFailed;
    }
    const auto fail = [&](const QString &what) {
        QString ignored;
        m_db->exec(QStringLiteral("ROLLBACK"), &ignored);
        *error = storeFileMessage(path, QStringLiteral("cannot be written (%1)").arg(what));
        return StoreError::WriteFailed;
    };
    if (!migrateSchema(*m_db, fresh, userVersion, &detail))
        return fail(detail);

    // The statements of the batches and of save() that name every column, prepared once, here (open() uses some of
    // them too): a schema that passes quick_check but cannot be used (a column renamed behind our back) is refused
    // now, untouched, instead of failing every commit of the run. The rest are prepared by their first use.
    auto statements = std::make_unique<Statements>(m_db->database());
    if (!statements->prepare(&detail)) {
        statements.reset();
        QString ignored;
        m_db->exec(QStringLiteral("ROLLBACK"), &ignored);
        *error = storeFileMessage(path, QStringLiteral("is damaged (its schema cannot be used: %1)").arg(detail));
        return StoreError::Corrupt;
    }
    m_statements = std::move(statements);

    const qint64 now = nowMs();
    {
        QSqlQuery previous(m_db->database());
        if (!previous.exec(QStringLiteral("SELECT id, pid, clean, report FROM sessions ORDER BY id DESC LIMIT 1")))
            return fail(StateStoreDb::queryError(previous));
        if (previous.next() && !m_operatorOnly) {
            result->recovery.previousSessionId = previous.value(0).toLongLong();
            result->recovery.previousPid = previous.value(1).toLongLong();
            result->recovery.previousUnclean = previous.value(2).toInt() == 0;
            // What the previous run's quit path recorded when a step overran with a worker stuck (noteSession()).
            // Parsed only when the key is there (QJsonDocument writes keys as they are, never escaped).
            const QString report = previous.value(3).toString();
            const QJsonValue stuck = report.contains(QLatin1StringView("\"stuck\""))
                ? QJsonDocument::fromJson(report.toUtf8()).object().value(QStringLiteral("stuck"))
                : QJsonValue();
            if (stuck.isObject()) {
                const QJsonObject o = stuck.toObject();
                result->recovery.previousStuck = true;
                result->recovery.previousStuckRequest = quint64(o.value(QStringLiteral("request")).toInteger());
                result->recovery.previousStuckWorker = o.value(QStringLiteral("worker")).toString();
                result->recovery.previousStuckPhase = o.value(QStringLiteral("phase")).toString();
            }
        }
    }
    {
        // At-least-once: whatever a crash caught in progress is pending again; attempts keeps its count.
        QSqlQuery recover(m_db->database());
        recover.prepare(QStringLiteral("UPDATE jobs SET state = 0, updated = ? WHERE state = 1"));
        recover.addBindValue(now);
        if (!run(recover, "recovery", &detail))
            return fail(detail);
        result->recovery.recovered = quint64(std::max(0, recover.numRowsAffected()));
    }
    if (!m_operatorOnly) {
        QSqlQuery session(m_db->database());
        session.prepare(QStringLiteral("INSERT INTO sessions (pid, started, clean) VALUES (?, ?, 0)"));
        session.addBindValue(qint64(QCoreApplication::applicationPid()));
        session.addBindValue(nowIso());
        if (!run(session, "session", &detail))
            return fail(detail);
        m_sessionId = session.lastInsertId().toLongLong();
        result->sessionId = m_sessionId;
    }
    // The id counter, the highest id, the failed rows and whether the retention has anything to do: one statement
    // (each one SQLite compiles costs more than what most of these read).
    const qint64 pruneCutoff = now - m_options.keepDoneMs;
    bool pruneDue = false;
    {
        QSqlQuery counts(m_db->database());
        counts.prepare(
            QStringLiteral("SELECT MAX(COALESCE((SELECT value FROM meta WHERE key = 'next_id'), 0), "
                           "(SELECT COALESCE(MAX(id), 0) + 1 FROM jobs)), "
                           "(SELECT COALESCE(MAX(id), 0) FROM jobs), "
                           "(SELECT COUNT(*) FROM jobs WHERE state = 3), "
                           "CASE WHEN ? THEN EXISTS (SELECT 1 FROM jobs WHERE state = 2 AND updated < ?) END"));
        counts.addBindValue(m_options.keepDoneMs > 0); // without a retention, no scan for it
        counts.addBindValue(pruneCutoff);
        if (!run(counts, "counts", &detail) || !counts.next())
            return fail(detail.isEmpty() ? StateStoreDb::queryError(counts) : detail);
        // The first column is StoreSql::nextId(): the counter, or past the highest row should it be behind.
        result->nextId = std::max<quint64>(1, counts.value(0).toULongLong());
        result->recovery.highestId = counts.value(1).toULongLong();
        result->recovery.failed = counts.value(2).toULongLong();
        pruneDue = counts.value(3).toBool();
        // Kept in the counter before the retention (or an operator's purge) may delete the row it came from.
        if (!m_statements->rows.raiseNextId(result->nextId, &detail))
            return fail(detail);
    }
    if (!applyWalFindings(&result->recovery, &result->nextId, &detail))
        return fail(detail);
    {
        // Through the partial index on pending rows, already in id order.
        QSqlQuery pending(m_db->database());
        if (!pending.exec(
                QStringLiteral("SELECT id, payload, attempts, crashes FROM jobs WHERE state = 0 ORDER BY id")))
            return fail(StateStoreDb::queryError(pending));
        while (pending.next()) {
            Job job;
            job.id = pending.value(0).toULongLong();
            job.payload = pending.value(1).toByteArray();
            job.attempts = pending.value(2).toInt();
            job.crashes = pending.value(3).toInt();
            result->pending.append(job);
        }
        result->recovery.pending = quint64(result->pending.size());
    }
    if (!m_db->exec(QStringLiteral("COMMIT"), &detail))
        return fail(detail);
    // SQLite's default automatic checkpoint (1000 pages), which the journal uses.
    if (deferSyncs
        && !(m_db->exec(synchronous, &detail)
             && m_db->exec(QStringLiteral("PRAGMA wal_autocheckpoint=1000"), &detail))) {
        *error = storeFileMessage(path, QStringLiteral("cannot be opened (%1)").arg(detail));
        return StoreError::CannotOpen;
    }
    if (pruneDue)
        pruneDone(pruneCutoff, &result->recovery);
    return StoreError::None;
}

// Retention, after open()'s transaction: done rows not updated for keepDoneMs go, in transactions of a bounded
// size so that a large backlog never holds the write lock (or grows the WAL) for long. Nothing depends on them: a
// failure here is logged and the journal opens all the same (the next open() tries again).
void StateStoreWorker::pruneDone(qint64 cutoff, RecoveryInfo *recovery)
{
    constexpr int kPruneBatch = 10000;
    QSqlQuery prune(m_db->database());
    prune.prepare(QStringLiteral("DELETE FROM jobs WHERE id IN "
                                 "(SELECT id FROM jobs WHERE state = 2 AND updated < ? LIMIT %1)")
                      .arg(kPruneBatch));
    for (;;) {
        QString error;
        if (!m_db->exec(QStringLiteral("BEGIN IMMEDIATE"), &error)) {
            qCWarning(lcJournal, "retention of done jobs skipped: %s", qPrintable(error));
            return;
        }
        prune.bindValue(0, cutoff);
        const bool ok = run(prune, "retention", &error);
        const int deleted = ok ? std::max(0, prune.numRowsAffected()) : 0;
        prune.finish();
        if (!finishTransaction(ok, &error)) {
            qCWarning(lcJournal, "retention of done jobs stopped: %s", qPrintable(error));
            return;
        }
        recovery->pruned += quint64(deleted);
        if (deleted < kPruneBatch)
            return;
    }
}

// Inside open()'s transaction, after the next id is known: what the WAL check found goes into the recovery info,
// the session row (so even a session that crashes keeps it) and the id counter.
bool StateStoreWorker::applyWalFindings(RecoveryInfo *recovery, quint64 *nextId, QString *error)
{
    m_recovery = QJsonObject();
    // A dropped commit took its rows and its ('next_id', N) update with it, and ids must never be reused: the ids
    // seen in intact frames of the log (even ones SQLite drops) give a floor, kept for the runs after this one.
    if (m_wal.idFloor > *nextId) {
        if (!m_statements->rows.raiseNextId(m_wal.idFloor, error))
            return false;
        *nextId = m_wal.idFloor;
    }
    if (m_wal.state != WalReport::State::Damaged && m_wal.state != WalReport::State::Torn)
        return true;
    recovery->walDamaged = m_wal.state == WalReport::State::Damaged;
    recovery->walHeaderDamaged = m_wal.damage == WalReport::Damage::Header;
    recovery->walTorn = m_wal.state == WalReport::State::Torn;
    recovery->walFramesDropped = quint64(m_wal.framesDropped);
    recovery->walCommitsDropped = quint64(m_wal.commitsDropped);
    recovery->walFirstBadFrame = quint64(m_wal.firstBadFrame);

    QJsonObject wal = m_wal.toJson();
    if (recovery->walDamaged)
        wal.insert(QStringLiteral("missing_from_id"), qint64(recovery->highestId + 1));
    wal.insert(QStringLiteral("next_id"), qint64(*nextId));
    m_recovery.insert(QStringLiteral("wal"), wal);
    QSqlQuery &session = m_statements->session;
    session.bindValue(0, sessionReport(QJsonObject()));
    session.bindValue(1, m_sessionId);
    const bool ok = run(session, "session", error);
    session.finish();
    return ok;
}

// The session's report as stored: \a report plus, when open() found something in the WAL, "recovery".
QString StateStoreWorker::sessionReport(QJsonObject report) const
{
    if (!m_recovery.isEmpty())
        report.insert(QStringLiteral("recovery"), m_recovery);
    // A note the caller's final report already carries (save()) is the caller's final word on it.
    for (auto it = m_notes.constBegin(); it != m_notes.constEnd(); ++it) {
        if (!report.contains(it.key()))
            report.insert(it.key(), it.value());
    }
    return QString::fromUtf8(QJsonDocument(report).toJson(QJsonDocument::Compact));
}

void StateStoreWorker::enqueue(StoreChange change)
{
    bool post = false;
    {
        const QMutexLocker locker(&m_mutex);
        if (!m_accepting || (m_intakeClosed && change.kind == StoreChange::Kind::Accept))
            return;
        const bool wasEmpty = m_queue.isEmpty();
        m_queuedWeight += change.weight();
        m_queue.append(std::move(change));
        // One wake-up per burst: when the queue starts filling (for the flush timer) and when it holds a full
        // batch (to commit at once).
        if (!m_wakePosted && (wasEmpty || m_queuedWeight >= m_maxBatch)) {
            m_wakePosted = true;
            post = true;
        }
    }
    if (post)
        QMetaObject::invokeMethod(this, &StateStoreWorker::onWake, Qt::QueuedConnection);
}

void StateStoreWorker::requestCommit()
{
    bool post = false;
    {
        const QMutexLocker locker(&m_mutex);
        if (!m_accepting || m_queue.isEmpty() || m_commitWanted)
            return;
        m_commitWanted = true;
        post = !m_wakePosted;
        m_wakePosted = true;
    }
    if (post)
        QMetaObject::invokeMethod(this, &StateStoreWorker::onWake, Qt::QueuedConnection);
}

void StateStoreWorker::onWake()
{
    qsizetype weight = 0;
    bool commitWanted = false;
    {
        const QMutexLocker locker(&m_mutex);
        m_wakePosted = false;
        weight = m_queuedWeight;
        commitWanted = std::exchange(m_commitWanted, false);
    }
    if (!m_db || m_saving || (m_failures > 0 && m_retryTimer->isActive()))
        return; // closed, or save()/the retry timer owns the next attempt
    if (commitWanted && weight > 0)
        flush(FlushMode::Everything); // the caller waits for these commits: no point in waiting for more
    else if (weight >= m_options.maxBatch)
        flush(FlushMode::FullBatches);
    else if (weight > 0 && !m_flushTimer->isActive())
        m_flushTimer->start();
}

bool StateStoreWorker::takeBatch(FlushMode mode)
{
    const QMutexLocker locker(&m_mutex);
    if (m_queue.isEmpty() || (mode == FlushMode::FullBatches && m_queuedWeight < m_maxBatch))
        return false;
    qsizetype weight = 0;
    qsizetype count = 0;
    while (count < m_queue.size() && weight < m_maxBatch)
        weight += m_queue.at(count++).weight();
    if (count == m_queue.size()) {
        m_batch.swap(m_queue); // the common case: all of it, without copying a change
    } else {
        m_batch = m_queue.mid(0, count);
        m_queue.remove(0, count);
    }
    m_queuedWeight -= weight;
    return true;
}

bool StateStoreWorker::flush(FlushMode mode, QDeadlineTimer until)
{
    if (!m_db)
        return false;
    m_flushTimer->stop();
    for (;;) {
        // A backlog can keep this loop busy for long: stop-intake must not wait behind it, nor go past its deadline.
        if (until.hasExpired() || (m_yieldToIntakeClose.load() && !m_saving))
            break;
        if (m_batch.isEmpty() && !takeBatch(mode))
            break;
        BatchResult batch;
        QString error;
        if (!commitBatch(&batch, &error)) {
            onCommitFailure(error);
            return false;
        }
        m_batch.clear();
        if (m_failures > 0) {
            m_failures = 0;
            Q_EMIT commitRecovered();
        }
        Q_EMIT batchCommitted(batch);
    }
    // Less than a batch left: it waits for the timer (at most flushIntervalMs).
    bool left = false;
    {
        const QMutexLocker locker(&m_mutex);
        left = !m_queue.isEmpty() || !m_batch.isEmpty(); // a failed batch's other changes count too
    }
    if (left && !m_saving)
        m_flushTimer->start();
    return true;
}

bool StateStoreWorker::injectedFailure(QString *error)
{
    int remaining = s_failNextCommits.load();
    while (remaining > 0) {
        if (s_failNextCommits.compare_exchange_weak(remaining, remaining - 1)) {
            *error = QStringLiteral("injected commit failure (test hook)");
            return true;
        }
    }
    return false;
}

namespace {

// Appends \a value in decimal without a temporary QByteArray (the batch JSON holds thousands of numbers).
template<typename Integer>
void appendNumber(QByteArray *json, Integer value)
{
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    json->append(digits, end - digits);
}

QByteArray idsJson(const QList<quint64> &ids)
{
    QByteArray json;
    json.reserve(2 + ids.size() * 8);
    json += '[';
    for (qsizetype k = 0; k < ids.size(); ++k) {
        if (k > 0)
            json += ',';
        appendNumber(&json, ids.at(k));
    }
    json += ']';
    return json;
}

// Runs \a query and appends the ids its RETURNING clause gave, sorted (RETURNING promises no order).
bool runReturning(QSqlQuery &query, const char *what, QList<quint64> *ids, QString *error)
{
    const bool ok = run(query, what, error);
    const qsizetype first = ids->size();
    while (ok && query.next())
        ids->append(query.value(0).toULongLong());
    query.finish();
    std::sort(ids->begin() + first, ids->end());
    return ok;
}

} // namespace

bool StateStoreWorker::commitBatch(BatchResult *result, QString *error)
{
    Q_ASSERT(m_statements); // prepared by open()
    Statements &sql = *m_statements;
    BatchStatements &rows = sql.rows;
    if (!rows.begin(error))
        return false;
    bool ok = true;
    const qint64 now = nowMs();
    quint64 maxId = 0;
    qsizetype duplicates = 0;

    // A job started and done within one batch (a short job) is written once: its start waits here until its done
    // comes (one UPDATE for both, the row the two would leave) or until the batch ends or another change names the
    // job (then it runs first, in its place in the order). Nothing outside this transaction can tell the difference.
    std::vector<quint64> starts; // waiting, sorted once a done looks them up
    std::vector<bool> startTaken;
    bool startsSorted = true;
    const auto runStarts = [&] {
        for (std::size_t k = 0; ok && k < starts.size(); ++k) {
            if (!startTaken[k])
                ok = rows.start(starts[k], now, error);
        }
        starts.clear();
        startTaken.clear();
        startsSorted = true;
    };
    const auto findStart = [&](quint64 id) -> std::ptrdiff_t {
        if (starts.empty())
            return -1;
        if (!startsSorted) {
            // Those a done took already are written: drop them, so that the flags stay in step with the ids.
            std::size_t kept = 0;
            for (std::size_t k = 0; k < starts.size(); ++k) {
                if (!startTaken[k])
                    starts[kept++] = starts[k];
            }
            starts.resize(kept);
            std::sort(starts.begin(), starts.end());
            startTaken.assign(kept, false);
            startsSorted = true;
            if (std::adjacent_find(starts.cbegin(), starts.cend()) != starts.cend()) {
                runStarts(); // a job started twice: each start counts an attempt, so none is folded
                return -1;
            }
        }
        const auto it = std::lower_bound(starts.cbegin(), starts.cend(), id);
        return it != starts.cend() && *it == id && !startTaken[std::size_t(it - starts.cbegin())] ? it - starts.cbegin()
                                                                                                  : -1;
    };
    const auto namesWaitingStart = [&](const QList<quint64> &ids) {
        return std::any_of(ids.cbegin(), ids.cend(), [&](quint64 id) { return findStart(id) >= 0; });
    };

    // Accepts go in chunks of BatchStatements::kChunk rows per INSERT where they can (see insertChunk()), else one
    // row each; they are written before any other change that follows them.
    std::array<const Job *, BatchStatements::kChunk> accepts {};
    std::size_t acceptCount = 0;
    const auto writeAccepts = [&] {
        if (acceptCount == accepts.size() && ok) {
            bool written = false;
            ok = rows.insertChunk(accepts, now, &written, error);
            if (ok && written) {
                for (const Job *job : accepts) {
                    result->acceptedIds.append(job->id);
                    maxId = std::max(maxId, job->id);
                }
                acceptCount = 0;
                return;
            }
        }
        for (std::size_t k = 0; ok && k < acceptCount; ++k) {
            bool inserted = false;
            ok = rows.insert(*accepts[k], now, &inserted, error);
            if (inserted) {
                result->acceptedIds.append(accepts[k]->id);
                maxId = std::max(maxId, accepts[k]->id);
            } else if (ok) {
                ++duplicates;
            }
        }
        acceptCount = 0;
    };

    for (const StoreChange &change : std::as_const(m_batch)) {
        if (!ok)
            break;
        if (change.kind == StoreChange::Kind::Accept) {
            if (findStart(change.job.id) >= 0)
                runStarts(); // never in practice (a job starts once accepted), but the order must hold
            accepts[acceptCount++] = &change.job;
            if (acceptCount == accepts.size())
                writeAccepts();
            continue;
        }
        writeAccepts();
        if (!ok)
            break;
        switch (change.kind) {
        case StoreChange::Kind::Accept:
            break; // above
        case StoreChange::Kind::InProgress:
            if (namesWaitingStart(change.ids))
                runStarts(); // started again (requeued in between): the first start goes first
            starts.insert(starts.end(), change.ids.cbegin(), change.ids.cend());
            startTaken.resize(starts.size(), false);
            startsSorted = false;
            break;
        case StoreChange::Kind::Done:
            for (qsizetype k = 0; ok && k < change.ids.size(); ++k) {
                const quint64 id = change.ids.at(k);
                const std::ptrdiff_t start = findStart(id);
                if (start >= 0)
                    startTaken[std::size_t(start)] = true;
                bool changed = false;
                ok = rows.done(id, now, start >= 0, &changed, error);
                if (changed)
                    result->completedIds.append(id);
            }
            break;
        case StoreChange::Kind::SessionNote:
            // Into this session's row now, so a process that never reaches save() (the watchdog) keeps it.
            m_notes.insert(change.noteKey, change.note);
            sql.session.bindValue(0, sessionReport(QJsonObject()));
            sql.session.bindValue(1, m_sessionId);
            ok = run(sql.session, "session note", error);
            break;
        case StoreChange::Kind::Failed:
            if (namesWaitingStart(change.ids))
                runStarts();
            // Rare (a poison job, a job that reports it cannot succeed): one statement per row for its reason.
            ok = sql.failedReady(error);
            for (qsizetype k = 0; ok && k < change.ids.size(); ++k) {
                sql.failed.bindValue(0, change.reasons.value(k));
                sql.failed.bindValue(1, now);
                sql.failed.bindValue(2, qint64(change.ids.at(k)));
                ok = runReturning(sql.failed, "failed", &result->failedIds, error);
            }
            break;
        case StoreChange::Kind::Requeue:
        case StoreChange::Kind::RequeueCrashed: {
            if (namesWaitingStart(change.ids))
                runStarts();
            const bool crashed = change.kind == StoreChange::Kind::RequeueCrashed;
            if (!(crashed ? sql.crashedReady(error) : sql.backReady(error))) {
                ok = false;
                break;
            }
            QSqlQuery &query = crashed ? sql.crashed : sql.back;
            query.bindValue(0, now);
            query.bindValue(1, QString::fromLatin1(idsJson(change.ids)));
            ok = run(query, "update", error);
            query.finish();
            break;
        }
        }
    }
    writeAccepts();
    runStarts();
    // In id order, as RETURNING's rows were sorted before: accepted() and completed() report ascending ids.
    for (QList<quint64> *ids : {&result->acceptedIds, &result->completedIds, &result->failedIds}) {
        if (!std::is_sorted(ids->cbegin(), ids->cend())) // usually they are: ids rise, and so do the changes
            std::sort(ids->begin(), ids->end());
    }
    if (ok && duplicates > 0)
        qCWarning(lcJournal, "%lld job ids were accepted before; ignoring the duplicates",
                  static_cast<long long>(duplicates));
    if (ok && maxId > 0)
        ok = rows.raiseNextId(maxId + 1, error);
    if (finishTransaction(ok, error))
        return true;
    *result = BatchResult();
    return false;
}

bool StateStoreWorker::finishTransaction(bool ok, QString *error)
{
    if (ok && injectedFailure(error))
        ok = false;
    if (ok && (m_statements ? m_statements->rows.commit(error) : m_db->exec(QStringLiteral("COMMIT"), error)))
        return true;
    // Never half-applied: roll back whatever ran (a failed COMMIT may already have done so; then ROLLBACK fails
    // harmlessly with "no transaction is active").
    QString ignored;
    m_db->exec(QStringLiteral("ROLLBACK"), &ignored);
    return false;
}

void StateStoreWorker::onCommitFailure(const QString &error)
{
    m_lastError = error;
    m_flushTimer->stop();
    if (m_failures++ == 0) {
        qCWarning(lcJournal, "commit failed, retrying: %s", qPrintable(error));
        Q_EMIT commitFailed(error);
    }
    if (!m_saving) {
        const int delay = std::min(kRetryMaxMs, kRetryBaseMs << std::min(m_failures - 1, 16));
        m_retryTimer->start(delay);
    }
}

void StateStoreWorker::onRetry()
{
    if (m_saving)
        trySave();
    else
        flush(FlushMode::Everything);
}

void StateStoreWorker::requestIntakeClose()
{
    {
        const QMutexLocker locker(&m_mutex);
        m_intakeClosed = true;
    }
    m_yieldToIntakeClose.store(true);
}

QList<quint64> StateStoreWorker::discardAcceptsLocked(QList<StoreChange> *changes, qsizetype *weight)
{
    QList<quint64> ids;
    changes->removeIf([&ids, weight](const StoreChange &change) {
        if (change.kind != StoreChange::Kind::Accept)
            return false;
        ids.append(change.job.id);
        if (weight != nullptr)
            *weight -= change.weight();
        return true;
    });
    return ids;
}

void StateStoreWorker::closeIntake(QDeadlineTimer deadline)
{
    m_yieldToIntakeClose.store(false); // we are the call it yielded to
    // While a failed batch waits for its retry the disk is failing: its accepts are not committed late, they go
    // with the rest. Otherwise commit what is queued while the deadline allows (in batches, so accepted() reports
    // each as usual).
    if (m_db && !m_saving && m_failures == 0)
        flush(FlushMode::Everything, deadline);
    QList<quint64> discarded;
    {
        const QMutexLocker locker(&m_mutex);
        m_intakeClosed = true;
        discarded = discardAcceptsLocked(&m_batch, nullptr); // m_batch is ours; kept under the lock for brevity
        discarded += discardAcceptsLocked(&m_queue, &m_queuedWeight);
    }
    std::sort(discarded.begin(), discarded.end());
    Q_EMIT intakeClosed(discarded);
    // What is left (state changes of jobs already accepted) commits as usual.
    bool left = false;
    {
        const QMutexLocker locker(&m_mutex);
        left = !m_queue.isEmpty() || !m_batch.isEmpty(); // a failed batch's other changes count too
    }
    if (m_db && !m_saving && left && !m_retryTimer->isActive())
        m_flushTimer->start();
}

void StateStoreWorker::save(const QList<quint64> &requeueIds, const SessionRecord &record)
{
    stopAccepting();
    if (!m_db) {
        finishSave(false, QStringLiteral("the state store is not open"));
        return;
    }
    m_saving = true;
    m_saveRequeue = requeueIds;
    m_saveRecord = record;
    m_saveAttempts = 0;
    m_flushTimer->stop();
    m_retryTimer->stop();
    trySave();
}

void StateStoreWorker::trySave()
{
    ++m_saveAttempts;
    QString error = journalLost();
    if (!error.isEmpty()) {
        finishSave(false, error); // no retry can bring the file back
        return;
    }
    // In this order: everything queued (in batches, so accepted()/completed() still report it), then the
    // requeue and the session end in one transaction.
    bool ok = flush(FlushMode::Everything);
    if (!ok)
        error = m_lastError;
    else
        ok = commitSessionEnd(&error);
    if (!ok) {
        if (m_saveAttempts < kSaveAttempts) {
            m_retryTimer->start(kSaveRetryBaseMs << (m_saveAttempts - 1));
            return;
        }
        finishSave(false, error);
        return;
    }

    // Fold the WAL into the main file and truncate it, so the file alone is the whole state (and backups of it
    // are complete). Everything is committed already, so a failure here loses nothing: warn only.
    {
        QSqlQuery checkpoint(m_db->database()); // scoped: no query may outlive the connection
        if (!checkpoint.exec(QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)")))
            qCWarning(lcJournal, "checkpoint failed: %s", qPrintable(StateStoreDb::queryError(checkpoint)));
        else if (checkpoint.next() && checkpoint.value(0).toInt() != 0)
            qCWarning(lcJournal, "checkpoint incomplete: another connection is reading the journal");
    }
    // Again after the last write: a deletion during the save must not end as "saved" either.
    error = journalLost();
    finishSave(error.isEmpty(), error);
}

bool StateStoreWorker::commitSessionEnd(QString *error)
{
    Statements &sql = *m_statements;
    // The requeue is prepared by its first use: an idle stop has nothing to requeue and never compiles it.
    if ((!m_saveRequeue.isEmpty() && !sql.backReady(error)) || !m_db->exec(QStringLiteral("BEGIN IMMEDIATE"), error))
        return false;
    bool ok = true;
    if (!m_saveRequeue.isEmpty()) {
        sql.back.bindValue(0, nowMs());
        sql.back.bindValue(1, QString::fromLatin1(idsJson(m_saveRequeue)));
        ok = run(sql.back, "requeue", error);
        sql.back.finish();
    }
    if (ok) {
        sql.sessionEnd.bindValue(0, nowIso());
        sql.sessionEnd.bindValue(1, m_saveRecord.reason);
        sql.sessionEnd.bindValue(2, m_saveRecord.senderPid);
        sql.sessionEnd.bindValue(3, m_saveRecord.exitCode);
        sql.sessionEnd.bindValue(4, sessionReport(m_saveRecord.report));
        sql.sessionEnd.bindValue(5, m_sessionId);
        ok = run(sql.sessionEnd, "session end", error);
        sql.sessionEnd.finish();
    }
    return finishTransaction(ok, error);
}

void StateStoreWorker::finishSave(bool ok, const QString &error)
{
    if (!ok)
        qCWarning(lcJournal, "save failed: %s", qPrintable(error));
    m_saving = false;
    closeConnection();
    {
        const QMutexLocker locker(&m_mutex);
        m_saveDone = true;
        m_saveOk = ok;
        m_saveError = error;
    }
    // The store thread ends with the save phase (the owner deletes this worker once it has).
    thread()->quit();
}

bool StateStoreWorker::saveResult(bool *ok, QString *error)
{
    const QMutexLocker locker(&m_mutex);
    if (m_saveDone) {
        *ok = m_saveOk;
        *error = m_saveError;
    }
    return m_saveDone;
}

void StateStoreWorker::shutdown()
{
    stopAccepting();
    if (m_saving) {
        finishSave(false, QStringLiteral("the state store was destroyed during save"));
        return;
    }
    if (m_db && !flush(FlushMode::Everything))
        qCWarning(lcJournal, "closing with changes that could not be committed: %s", qPrintable(m_lastError));
    closeConnection();
    thread()->quit();
}

void StateStoreWorker::stopAccepting()
{
    const QMutexLocker locker(&m_mutex);
    m_accepting = false;
}

void StateStoreWorker::closeConnection()
{
    m_flushTimer->stop();
    m_retryTimer->stop();
    m_statements.reset(); // no query may outlive its connection
    if (m_db) {
        m_db->close(); // on this (the owning) thread, as QSqlDatabase::removeDatabase requires
        m_db.reset();
    }
    // After the connection: the next instance must not open the journal while this one still checkpoints it.
    if (m_lock) {
        m_lock->release();
        m_lock.reset();
    }
}

FailedJobsResult StateStoreWorker::operateOnFailed(const QString &path, FailedOperation operation)
{
    FailedJobsResult result;
    // The same open() as a run's, on this thread (no event loop needed: nothing is queued): the lock (73 while
    // another process holds the journal), the checks that leave a bad file untouched, the upgrade of an older
    // schema, recovery. No session row: the next run still sees how the previous one ended. Any WAL damage is
    // refused, as under durability full: an operator's tool never starts on a journal that lost commits.
    // Never a fresh journal: a typo in the path must not "succeed" on a new empty file.
    const QString absolute = canonicalStatePath(path);
    if (!QFileInfo::exists(absolute)) {
        result.error = storeFileMessage(absolute, QStringLiteral("does not exist"));
        result.exitCode = StateStore::exitCode(StoreError::CannotOpen);
        return result;
    }
    StateStoreWorker worker;
    worker.m_operatorOnly = true;
    StoreOptions options;
    options.path = path;
    options.durability = Durability::Full;
    options.keepDoneMs = 0;
    const StoreOpenResult opened = worker.open(options);
    if (opened.error != StoreError::None) {
        result.error = opened.errorString;
        result.exitCode = StateStore::exitCode(opened.error);
        return result;
    }
    QString error;
    bool ok = worker.m_db->exec(QStringLiteral("BEGIN IMMEDIATE"), &error);
    if (ok) {
        QSqlQuery query(worker.m_db->database());
        // Requeued: a fresh start (attempts and crashes back to 0), or the poison rule would fail it again at once.
        query.prepare(operation == FailedOperation::Requeue
                          ? QStringLiteral("UPDATE jobs SET state = 0, attempts = 0, crashes = 0, reason = NULL, "
                                           "updated = ? WHERE state = 3")
                          : QStringLiteral("DELETE FROM jobs WHERE state = 3"));
        if (operation == FailedOperation::Requeue)
            query.addBindValue(nowMs());
        ok = run(query, operation == FailedOperation::Requeue ? "requeue failed" : "purge failed", &error);
        if (ok)
            result.count = quint64(std::max(0, query.numRowsAffected()));
        query.finish();
    }
    ok = worker.finishTransaction(ok, &error);
    if (ok) {
        // As save() leaves it: one self-contained file.
        QSqlQuery checkpoint(worker.m_db->database());
        if (!checkpoint.exec(QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)")))
            qCWarning(lcJournal, "checkpoint failed: %s", qPrintable(StateStoreDb::queryError(checkpoint)));
    }
    worker.closeConnection();
    if (!ok) {
        result.count = 0;
        result.error = storeFileMessage(opened.path, QStringLiteral("cannot be written (%1)").arg(error));
        result.exitCode = StateStore::exitCode(StoreError::WriteFailed);
        return result;
    }
    result.ok = true;
    return result;
}

} // namespace Quiesce
