#include <Quiesce/statestore.h>

#include "statestore_testing_p.h"

#include "filesupport.h"
#include "procstatus.h"
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMutex>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QScopeGuard>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtSql/QSqlRecord>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using Quiesce::Durability;
using Quiesce::idsOf;
using Quiesce::Job;
using Quiesce::RecoveryInfo;
using Quiesce::SessionRecord;
using Quiesce::StateStore;
using Quiesce::StoreError;
using Quiesce::StoreOptions;
using TestFiles::fileType;
using TestFiles::readBytes;
using TestFiles::writeBytes;

// Makes one bad file (or directory) at the path it gets.
using Prepare = std::function<bool(const QString &)>;

namespace {

// Qt Sql's warnings about connections used or removed wrongly. Any of them fails the test that caused it
// (checked in cleanup(): the handler may run on the store thread, where QFAIL cannot).
QMutex s_warningsMutex;
QStringList s_badWarnings;
QtMessageHandler s_previousHandler = nullptr;

void messageHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (message.contains(QLatin1StringView("still in use"))
        || message.contains(QLatin1StringView("does not belong to the calling thread"))
        || message.contains(QLatin1StringView("QSqlDatabasePrivate"))
        || message.contains(QLatin1StringView("duplicate connection name"))) {
        const QMutexLocker locker(&s_warningsMutex);
        s_badWarnings.append(message);
    }
    if (s_previousHandler != nullptr)
        s_previousHandler(type, context, message);
}

constexpr int kWait = 20000; // generous bound for a loaded 2-core CI machine; never a timing assertion

QByteArray sha256(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QByteArray();
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256).toHex();
}

QStringList listing(const QString &directory)
{
    QStringList entries =
        QDir(directory).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System);
    entries.sort();
    return entries;
}

QList<quint64> range(quint64 first, quint64 last)
{
    QList<quint64> ids;
    for (quint64 id = first; id <= last; ++id)
        ids.append(id);
    return ids;
}

// A job as the app makes it: its payload is the cost in ms as ASCII decimal.
Job request(quint64 id, int costMs = 5)
{
    Job j;
    j.id = id;
    j.payload = QByteArray::number(costMs);
    return j;
}

// Every id the spy's signals carried, in order.
QList<quint64> collected(const QSignalSpy &spy)
{
    QList<quint64> ids;
    for (const QList<QVariant> &arguments : spy)
        ids += arguments.at(0).value<QList<quint64>>();
    return ids;
}

StoreOptions options(const QString &path)
{
    StoreOptions o;
    o.path = path;
    return o;
}

quint32 headerField(const QString &path, int offset)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray header = file.read(100);
    if (header.size() < offset + 4)
        return 0;
    const auto *p = reinterpret_cast<const uchar *>(header.constData()) + offset;
    return (quint32(p[0]) << 24) | (quint32(p[1]) << 16) | (quint32(p[2]) << 8) | quint32(p[3]);
}

int pageSize(const QString &path)
{
    const quint32 value = headerField(path, 16) >> 16;
    return value == 1 ? 65536 : int(value);
}

bool patchFile(const QString &path, qint64 offset, const QByteArray &bytes)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadWrite) || !file.seek(offset))
        return false;
    return file.write(bytes) == bytes.size();
}

// The test's own SQLite connection (for fixtures and for looking behind the store's back), removed properly.
bool withDatabase(const QString &path, const std::function<bool(QSqlDatabase &)> &body)
{
    static int counter = 0;
    const QString name = QStringLiteral("tst-statestore-%1").arg(++counter);
    bool ok = false;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (db.open()) {
            ok = body(db);
            db.close();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

bool execAll(QSqlDatabase &db, const QStringList &statements)
{
    for (const QString &sql : statements) {
        QSqlQuery query(db);
        if (!query.exec(sql)) {
            qWarning("fixture: %s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
            return false;
        }
    }
    return true;
}

// A journal with \a count pending requests, saved cleanly (checkpointed: the main file holds everything).
bool makeJournal(const QString &path, int count = 20)
{
    StateStore store;
    if (!store.open(options(path)))
        return false;
    QSignalSpy accepted(&store, &StateStore::accepted);
    for (int i = 0; i < count; ++i)
        store.accept(request(store.nextId() + quint64(i)));
    if (!QTest::qWaitFor([&] { return collected(accepted).size() == count; }, kWait))
        return false;
    QSignalSpy saved(&store, &StateStore::saved);
    store.save({}, SessionRecord());
    if (!saved.wait(kWait) || !saved.at(0).at(0).toBool())
        return false;
    return !QFileInfo::exists(path + QStringLiteral("-wal")) || QFileInfo(path + QStringLiteral("-wal")).size() == 0;
}

QJsonObject inspectJson(const QString &path, bool withIds = true)
{
    QByteArray json;
    QString error;
    int exitCode = -1;
    if (!StateStore::inspect(path, withIds, &json, &error, &exitCode)) {
        qWarning("inspect failed: %s", qPrintable(error));
        return QJsonObject();
    }
    return QJsonDocument::fromJson(json).object();
}

QList<quint64> jsonIds(const QJsonObject &root, const char *state)
{
    QList<quint64> ids;
    const QJsonArray array = root.value(QStringLiteral("ids")).toObject().value(QLatin1StringView(state)).toArray();
    for (const QJsonValue &value : array)
        ids.append(quint64(value.toInteger()));
    return ids;
}

qint64 jsonCount(const QJsonObject &root, const char *state)
{
    return root.value(QStringLiteral("counts")).toObject().value(QLatin1StringView(state)).toInteger(-1);
}

// Child mode (see main()): opens the journal, accepts 1..10, starts 1..4, finishes 1..2, says "ready" once all of
// that is committed, and waits to be killed.
int runCrashChild(const QString &path)
{
    StateStore store;
    if (!store.open(options(path))) {
        std::fprintf(stderr, "child: %s\n", qPrintable(store.errorString()));
        return 2;
    }
    QObject::connect(&store, &StateStore::completed, &store, [](const QList<quint64> &ids) {
        if (ids.contains(2)) {
            std::printf("ready\n");
            std::fflush(stdout);
        }
    });
    for (quint64 id = 1; id <= 10; ++id)
        store.accept(request(id, 10 + int(id)));
    store.markInProgress({1, 2, 3, 4});
    store.markDone({1, 2});
    return QCoreApplication::exec();
}

// The frozen v1 fixture: the schema and the statements of the release before schema v2, copied verbatim from its
// lib/journal/statestoreworker.cpp (migrate(), commitBatch(), initialise()). Never edit: files written by that
// release look exactly like this.
const QStringList kV1Schema {
    QStringLiteral("CREATE TABLE requests ("
                   " id INTEGER PRIMARY KEY,"
                   " state TEXT NOT NULL CHECK (state = 'pending' OR state = 'in_progress' OR state = 'done'),"
                   " cost_ms INTEGER NOT NULL,"
                   " attempts INTEGER NOT NULL DEFAULT 0,"
                   " created INTEGER NOT NULL,"
                   " updated INTEGER NOT NULL)"),
    QStringLiteral("CREATE INDEX requests_state ON requests (state)"),
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
    QStringLiteral("PRAGMA application_id = 1364543813"),
    QStringLiteral("PRAGMA user_version = 1"),
};

// A v1 journal as that release leaves it after a crash: requests 1-3 done, 4-6 in progress, 7-9 pending (cost
// 100 + id ms, attempts id % 3), the id counter at 42 (ids up to 41 were handed out), a clean session and then an
// unclean one (no end: kill -9), in WAL mode.
bool makeVersion1Journal(const QString &path)
{
    return withDatabase(path, [](QSqlDatabase &db) {
        if (!execAll(db, {QStringLiteral("PRAGMA journal_mode=WAL")}) || !execAll(db, kV1Schema))
            return false;
        QStringList rows;
        for (int id = 1; id <= 9; ++id) {
            const char *state = id <= 3 ? "done" : id <= 6 ? "in_progress" : "pending";
            // commitBatch()'s INSERT, one row at a time.
            rows.append(QStringLiteral("INSERT OR IGNORE INTO requests (id, state, cost_ms, attempts, created, "
                                       "updated) SELECT json_extract(value, '$[0]'), 'pending', "
                                       "json_extract(value, '$[1]'), json_extract(value, '$[2]'), 1000, 1000 "
                                       "FROM json_each('[[%1,%2,%3]]')")
                            .arg(id)
                            .arg(100 + id)
                            .arg(id % 3));
            if (qstrcmp(state, "pending") != 0)
                rows.append(QStringLiteral("UPDATE requests SET state = 'in_progress', attempts = attempts + 1, "
                                           "updated = 2000 WHERE id = %1 AND state <> 'done'")
                                .arg(id));
            if (qstrcmp(state, "done") == 0)
                rows.append(QStringLiteral("UPDATE requests SET state = 'done', updated = 3000 WHERE id = %1").arg(id));
        }
        rows.append(QStringLiteral("UPDATE meta SET value = MAX(value, 42) WHERE key = 'next_id'"));
        rows.append(
            QStringLiteral("INSERT INTO sessions (pid, started, clean) VALUES (11, '2026-01-01T00:00:00Z', 0)"));
        rows.append(QStringLiteral("UPDATE sessions SET ended = '2026-01-01T00:01:00Z', clean = 1, reason = 'SIGTERM', "
                                   "sender = 1, exit_code = 0, report = '{}' WHERE id = 1"));
        rows.append(
            QStringLiteral("INSERT INTO sessions (pid, started, clean) VALUES (12, '2026-01-02T00:00:00Z', 0)"));
        return execAll(db, rows);
    });
}

// Every row of a journal, "id state payload attempts crashes" (v2) or "id state cost attempts" (v1), in id order.
QStringList journalRows(const QString &path, const QString &sql)
{
    QStringList rows;
    withDatabase(path, [&](QSqlDatabase &db) {
        QSqlQuery query(db);
        if (!query.exec(sql))
            return false;
        while (query.next()) {
            QStringList fields;
            for (int i = 0; i < query.record().count(); ++i)
                fields.append(query.value(i).toString());
            rows.append(fields.join(QLatin1Char(' ')));
        }
        return true;
    });
    return rows;
}

Job job(quint64 id, const QByteArray &payload, int attempts = 0, int crashes = 0)
{
    Job j;
    j.id = id;
    j.payload = payload;
    j.attempts = attempts;
    j.crashes = crashes;
    return j;
}

Quiesce::JobFailure failure(quint64 id, const QString &reason)
{
    Quiesce::JobFailure f;
    f.job.id = id;
    f.reason = reason;
    return f;
}

// The two ways the store can run its batch statements, as data rows: SQLite's C API (this build's QSQLITE driver)
// and Qt Sql (what a Qt with its own copy of SQLite gets).
void addBatchStatementRows()
{
    QTest::addColumn<bool>("qtSql");
    QTest::newRow("SQLite C API") << false;
    QTest::newRow("Qt Sql (a Qt with its own SQLite)") << true;
}

// Stores opened while the result lives run their batch statements on Qt Sql when \a qtSql.
auto batchStatementsOnQtSql(bool qtSql)
{
    Quiesce::setBatchStatementsOnQtSqlForTesting(qtSql);
    return qScopeGuard([] { Quiesce::setBatchStatementsOnQtSqlForTesting(false); });
}

} // namespace

class tst_StateStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    void exitCodes();
    void defaultPath();
    void createsTheSchema_data();
    void createsTheSchema();
    void storeThreadBlocksHandledSignals();
    void storeThreadStartedAheadIsTheOneOpenUses();
    void beginOpenThenFinishOpenIsOpen();
    void finishOpenReportsWhatOpenReports();
    void beginOpenThatCannotStartFailsAtOnce();
    void destroyedWhileOpeningClosesTheJournal();
    void groupCommitBatchesChanges_data();
    void groupCommitBatchesChanges();
    void partialBatchCommitsOnTheTimer();
    void idsAreNeverReused();
    void recoversAfterDestructionWithoutSave();
    void recoversAfterKill9_data();
    void recoversAfterKill9();
    void saveWritesTheSessionAndCheckpoints();
    void saveFailureIsReported();
    void commitFailureIsRetriedWithoutLossOrDuplicates();
    void closeIntakeCommitsOrDiscardsEveryAccept_data();
    void closeIntakeCommitsOrDiscardsEveryAccept();
    void closeIntakeDiscardsAcceptsOfAFailingBatch();
    void rejectsBadFiles_data();
    void rejectsBadFiles();
    void secondOpenOfTheSameFileIsRefused();
    void inspectWhileOpenAndAfterSave();
    void inspectNeverCreatesFiles();
    void moveAside();
    void moveAsideRefuses();
    void symlinkAndRealPathAreOneInstance_data();
    void symlinkAndRealPathAreOneInstance();
    void lockFileWithoutAHolderIsTakenOver_data();
    void lockFileWithoutAHolderIsTakenOver();
    void refusesFilesThatAreNotRegular_data();
    void refusesFilesThatAreNotRegular();
    void inspectThroughASymlinkReadsTheRealJournal();
    void moveAsideThroughASymlinkMovesTheRealFile();
    void journalDeletedOrReplacedWhileRunningFailsTheSave_data();
    void journalDeletedOrReplacedWhileRunningFailsTheSave();
    void jobsKeepPayloadAttemptsAndCrashes();
    void failedJobsAreKeptWithTheirReason();
    void operatorRequeuesAndPurgesFailedJobs();
    void upgradesAVersion1JournalInPlace();
    void upgradeNeverOverwritesABackup();
    void refusesSchemaVersion3Untouched();
    void retentionPrunesOldDoneJobsInBatches_data();
    void retentionPrunesOldDoneJobsInBatches();
    void commitSoonDoesNotWaitForTheInterval();
    void startAndDoneInOneBatchLeaveTheRowsOfBoth_data();
    void startAndDoneInOneBatchLeaveTheRowsOfBoth();
    void acceptsInChunksKeepEveryRowAndSkipDuplicates_data();
    void acceptsInChunksKeepEveryRowAndSkipDuplicates();
    void statementsPreparedAfterOpenServeTheFirstBatch_data();
    void statementsPreparedAfterOpenServeTheFirstBatch();

private:
    QTemporaryDir m_dir;
};

void tst_StateStore::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY2(QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")), "the QSQLITE driver is required");
    s_previousHandler = qInstallMessageHandler(messageHandler);
    QStandardPaths::setTestModeEnabled(true);
}

void tst_StateStore::cleanup()
{
    Quiesce::setFailNextCommitsForTesting(0);
    QStringList bad;
    {
        const QMutexLocker locker(&s_warningsMutex);
        bad.swap(s_badWarnings);
    }
    QVERIFY2(bad.isEmpty(), qPrintable(bad.join(QLatin1Char('\n'))));
    // Every connection the store made was removed (the store's are gone once it is destroyed or saved).
    QVERIFY2(QSqlDatabase::connectionNames().isEmpty(),
             qPrintable(QSqlDatabase::connectionNames().join(QLatin1Char(' '))));
}

void tst_StateStore::exitCodes()
{
    QCOMPARE(StateStore::exitCode(StoreError::None), 0);
    QCOMPARE(StateStore::exitCode(StoreError::Corrupt), 65);
    QCOMPARE(StateStore::exitCode(StoreError::NewerSchema), 65);
    QCOMPARE(StateStore::exitCode(StoreError::CannotOpen), 73);
    QCOMPARE(StateStore::exitCode(StoreError::WriteFailed), 74);
}

void tst_StateStore::defaultPath()
{
    const QString path = StateStore::defaultPath();
    QVERIFY(path.endsWith(QLatin1StringView("/state.sqlite")));
    QCOMPARE(QFileInfo(path).absolutePath(), QStandardPaths::writableLocation(QStandardPaths::AppDataLocation));
}

void tst_StateStore::createsTheSchema_data()
{
    QTest::addColumn<QString>("relative");
    QTest::addColumn<bool>("emptyFileFirst");
    QTest::newRow("missing file") << QStringLiteral("fresh/state.sqlite") << false;
    QTest::newRow("missing directories") << QStringLiteral("fresh2/a/b/state.sqlite") << false;
    QTest::newRow("0-byte file (an empty SQLite database)") << QStringLiteral("fresh3/state.sqlite") << true;
}

void tst_StateStore::createsTheSchema()
{
    QFETCH(QString, relative);
    QFETCH(bool, emptyFileFirst);
    const QString path = m_dir.filePath(relative);
    if (emptyFileFirst) {
        QVERIFY(QDir().mkpath(QFileInfo(path).absolutePath()));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
    }
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QVERIFY(store.isOpen());
        QCOMPARE(store.error(), StoreError::None);
        QCOMPARE(store.path(), QFileInfo(path).absoluteFilePath());
        QCOMPARE(store.nextId(), quint64(1));
        QVERIFY(store.pendingJobs().isEmpty());
        const RecoveryInfo recovery = store.recovery();
        QVERIFY(!recovery.previousUnclean);
        QCOMPARE(recovery.previousSessionId, qint64(0));
        QCOMPARE(recovery.recovered, quint64(0));
        QCOMPARE(recovery.pending, quint64(0));
        QVERIFY(store.sessionId() > 0);
        QVERIFY(QFileInfo::exists(path + QStringLiteral(".lock")));
    }
    // Closed (the last connection folds the WAL back): the header holds what open() set.
    QVERIFY(!QFileInfo::exists(path + QStringLiteral(".lock")));
    QCOMPARE(headerField(path, 68), quint32(0x51554945));      // application_id 'QUIE'
    QCOMPARE(headerField(path, 60), quint32(2));               // user_version
    QCOMPARE(headerField(path, 16) & 0xffff, quint32(0x0202)); // file format 2/2: WAL mode
    bool tablesOk = false;
    QVERIFY(withDatabase(path, [&](QSqlDatabase &db) {
        QStringList tables = db.tables();
        tables.sort();
        tablesOk = tables == QStringList {QStringLiteral("jobs"), QStringLiteral("meta"), QStringLiteral("sessions")};
        return true;
    }));
    QVERIFY(tablesOk);
}

void tst_StateStore::storeThreadBlocksHandledSignals()
{
    Quiesce::UnixSignalNotifier notifier;
    QVERIFY(notifier.watch(SIGUSR1));
    StateStore store;
    QVERIFY2(store.open(options(m_dir.filePath(QStringLiteral("mask.sqlite")))), qPrintable(store.errorString()));

    // Find the store thread by its name (QThread names the OS thread after objectName()).
    const QList<qint64> storeTasks = ProcStatus::threadsNamed(0, "journal");
    QCOMPARE(storeTasks.size(), 1);
    const quint64 storeBlocked = ProcStatus::mask(0, storeTasks.first(), "SigBlk");
    QVERIFY(storeBlocked & ProcStatus::signalBit(SIGUSR1));
    // The main thread keeps it unblocked: the check above can fail.
    const quint64 mainBlocked = ProcStatus::mask(0, ::getpid(), "SigBlk");
    QCOMPARE(mainBlocked & ProcStatus::signalBit(SIGUSR1), quint64(0));
}

// startThread(): the store thread runs before open() (named, the bridge's signals blocked), touches nothing on disk
// while it loads the driver, and open() runs on that very thread instead of starting another one.
void tst_StateStore::storeThreadStartedAheadIsTheOneOpenUses()
{
    Quiesce::UnixSignalNotifier notifier;
    QVERIFY(notifier.watch(SIGUSR1));
    const QString directory = m_dir.filePath(QStringLiteral("ahead"));
    {
        StateStore store;
        QString error;
        QVERIFY2(store.startThread(QStringLiteral("store-ahead"), &error), qPrintable(error));
        const QList<qint64> ahead = ProcStatus::threadsNamed(0, "store-ahead");
        QCOMPARE(ahead.size(), 1);
        QVERIFY(ProcStatus::mask(0, ahead.first(), "SigBlk") & ProcStatus::signalBit(SIGUSR1));
        QVERIFY(store.startThread(QStringLiteral("store-ahead"))); // already there: no second thread
        QCOMPARE(ProcStatus::threadsNamed(0, "store-ahead"), ahead);
        QVERIFY(!QFileInfo::exists(directory));

        StoreOptions o = options(directory + QStringLiteral("/ahead.sqlite"));
        o.threadName = QStringLiteral("store-other"); // the thread started ahead keeps its name
        QVERIFY2(store.open(o), qPrintable(store.errorString()));
        QCOMPARE(ProcStatus::threadsNamed(0, "store-ahead"), ahead);
        QVERIFY(ProcStatus::threadsNamed(0, "store-other").isEmpty());
        store.accept(request(1));
        QSignalSpy saved(&store, &StateStore::saved);
        store.save({}, SessionRecord());
        QVERIFY(saved.wait(kWait));
        QCOMPARE(saved.first().at(0).toBool(), true);
    }
    QTRY_COMPARE_WITH_TIMEOUT(ProcStatus::threadsNamed(0, "store-ahead").size(), 0, kWait); // the OS thread ends last

    // Started ahead and never opened: the thread ends with the store.
    {
        StateStore store;
        QVERIFY(store.startThread(QStringLiteral("store-never")));
        QCOMPARE(ProcStatus::threadsNamed(0, "store-never").size(), 1);
    }
    QTRY_COMPARE_WITH_TIMEOUT(ProcStatus::threadsNamed(0, "store-never").size(), 0, kWait);
}

// beginOpen() hands the open over and returns; finishOpen() waits for it: together they are open(), on the thread
// started ahead, with the options copied (the caller's are gone by the time the store thread reads them).
void tst_StateStore::beginOpenThenFinishOpenIsOpen()
{
    const QString path = m_dir.filePath(QStringLiteral("begin/begin.sqlite"));
    QVERIFY(QDir().mkpath(QFileInfo(path).absolutePath()));
    QVERIFY(makeJournal(path, 5));
    StateStore store;
    QVERIFY(store.startThread(QStringLiteral("store-begin")));
    const QList<qint64> ahead = ProcStatus::threadsNamed(0, "store-begin");
    QCOMPARE(ahead.size(), 1);
    {
        StoreOptions o = options(path);
        o.maxBatch = 2;
        o.flushIntervalMs = 600000; // only full batches commit: the count of transactions is exact
        QVERIFY2(store.beginOpen(o), qPrintable(store.errorString()));
        o = StoreOptions(); // the store has its own copy
    }
    QVERIFY(!store.isOpen()); // not before finishOpen(), whatever the store thread has done by now
    QVERIFY2(store.finishOpen(), qPrintable(store.errorString()));
    QVERIFY(store.isOpen());
    QCOMPARE(store.error(), StoreError::None);
    QCOMPARE(store.path(), QFileInfo(path).canonicalFilePath());
    QCOMPARE(idsOf(store.pendingJobs()), range(1, 5));
    QCOMPARE(store.nextId(), quint64(6));
    QVERIFY(!store.recovery().previousUnclean);
    QCOMPARE(ProcStatus::threadsNamed(0, "store-begin"), ahead);
    QVERIFY(store.finishOpen()); // nothing in progress: says whether the store is open

    // The store works as after open(), with the options it was given: four jobs in two batches of two.
    QSignalSpy accepted(&store, &StateStore::accepted);
    for (quint64 id = 6; id <= 9; ++id)
        store.accept(request(id));
    QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(6, 9), kWait);
    QCOMPARE(accepted.size(), 2);
    QCOMPARE(store.transactionCount(), quint64(2));
    QSignalSpy saved(&store, &StateStore::saved);
    store.save({}, SessionRecord());
    QVERIFY(saved.wait(kWait));
    QCOMPARE(saved.first().at(0).toBool(), true);
    QVERIFY(!store.finishOpen());
    QCOMPARE(jsonIds(inspectJson(path), "pending"), range(1, 9));
}

// A refused journal: finishOpen() fails with open()'s error, line and exit code, the file untouched, nothing left
// next to it, and the same object can try again.
void tst_StateStore::finishOpenReportsWhatOpenReports()
{
    const QString directory = m_dir.filePath(QStringLiteral("begin-refused"));
    QVERIFY(QDir().mkpath(directory));
    const QString path = directory + QStringLiteral("/junk.sqlite");
    QVERIFY(writeBytes(path, QByteArray(4096, 'x')));
    const QByteArray hashBefore = sha256(path);
    const QStringList listingBefore = listing(directory);

    StateStore reference;
    QVERIFY(!reference.open(options(path)));
    QCOMPARE(reference.error(), StoreError::Corrupt);

    StateStore store;
    for (int attempt = 0; attempt < 2; ++attempt) {
        QVERIFY(store.beginOpen(options(path))); // handed over: the refusal comes from finishOpen()
        QVERIFY(!store.finishOpen());
        QVERIFY(!store.isOpen());
        QCOMPARE(store.error(), reference.error());
        QCOMPARE(store.errorString(), reference.errorString());
        QCOMPARE(StateStore::exitCode(store.error()), 65);
        QCOMPARE(sha256(path), hashBefore);
        QCOMPARE(listing(directory), listingBefore);
    }
    QVERIFY(!store.finishOpen()); // nothing in progress, not open

    // After the refusal the same object opens a good journal.
    const QString good = directory + QStringLiteral("/good.sqlite");
    QVERIFY(store.beginOpen(options(good)));
    QVERIFY2(store.finishOpen(), qPrintable(store.errorString()));
    QSignalSpy accepted(&store, &StateStore::accepted);
    store.accept(request(store.nextId()));
    QVERIFY(accepted.wait(kWait));
}

// What cannot even be handed over (the store is opening, or open) fails in beginOpen() with open()'s error and
// disturbs nothing: the open in progress finishes, the open store goes on working.
void tst_StateStore::beginOpenThatCannotStartFailsAtOnce()
{
    const QString path = m_dir.filePath(QStringLiteral("begin-twice.sqlite"));
    StateStore store;
    QVERIFY(store.beginOpen(options(path)));
    QVERIFY(!store.beginOpen(options(path))); // still opening
    QCOMPARE(store.error(), StoreError::CannotOpen);
    QCOMPARE(store.errorString(), QStringLiteral("the state store is already open"));
    QVERIFY2(store.finishOpen(), qPrintable(store.errorString())); // the first one's outcome
    QVERIFY(store.isOpen());
    QCOMPARE(store.error(), StoreError::None);

    StateStore reference;
    QVERIFY(reference.open(options(m_dir.filePath(QStringLiteral("begin-reference.sqlite")))));
    QVERIFY(!reference.open(options(path)));
    QVERIFY(!store.beginOpen(options(path))); // open
    QCOMPARE(store.error(), reference.error());
    QCOMPARE(store.errorString(), reference.errorString());
    QVERIFY(!store.finishOpen()); // nothing in progress: the refusal, although the store is open
    QVERIFY(store.isOpen());

    QSignalSpy accepted(&store, &StateStore::accepted);
    store.accept(request(1));
    QVERIFY(accepted.wait(kWait));
    QCOMPARE(collected(accepted), (QList<quint64> {1}));
}

// A store destroyed between beginOpen() and finishOpen() lets the open finish and closes the journal as an open
// store's destructor does: not saved, so the next open() recovers it, and nothing stays locked.
void tst_StateStore::destroyedWhileOpeningClosesTheJournal()
{
    const QString path = m_dir.filePath(QStringLiteral("begin-destroyed.sqlite"));
    QVERIFY(makeJournal(path, 3));
    {
        StateStore store;
        StoreOptions o = options(path);
        o.threadName = QStringLiteral("store-dropped");
        QVERIFY(store.beginOpen(o));
    }
    QTRY_COMPARE_WITH_TIMEOUT(ProcStatus::threadsNamed(0, "store-dropped").size(), 0, kWait);
    StateStore reopened;
    QVERIFY2(reopened.open(options(path)), qPrintable(reopened.errorString()));
    QVERIFY(reopened.recovery().previousUnclean);
    QCOMPARE(idsOf(reopened.pendingJobs()), range(1, 3));
}

void tst_StateStore::groupCommitBatchesChanges_data()
{
    QTest::addColumn<Durability>("durability");
    QTest::newRow("synchronous=NORMAL") << Durability::Normal;
    QTest::newRow("synchronous=FULL") << Durability::Full;
}

void tst_StateStore::groupCommitBatchesChanges()
{
    QFETCH(Durability, durability);
    const QString path = m_dir.filePath(QStringLiteral("group-%1.sqlite").arg(int(durability)));
    constexpr int kCount = 500;
    constexpr int kBatch = 100;
    {
        StateStore store;
        StoreOptions o = options(path);
        o.durability = durability;
        o.maxBatch = kBatch;
        o.flushIntervalMs = 600000; // only full batches commit here: the count of transactions is exact
        QVERIFY2(store.open(o), qPrintable(store.errorString()));
        QSignalSpy accepted(&store, &StateStore::accepted);
        for (quint64 id = 1; id <= kCount; ++id)
            store.accept(request(id));
        QTRY_COMPARE_WITH_TIMEOUT(collected(accepted).size(), kCount, kWait);
        QCOMPARE(collected(accepted), range(1, kCount)); // every id once, in order
        QCOMPARE(accepted.size(), kCount / kBatch);      // one signal per committed batch ...
        for (const QList<QVariant> &arguments : std::as_const(accepted))
            QCOMPARE(arguments.at(0).value<QList<quint64>>().size(), kBatch);
        QCOMPARE(store.transactionCount(), quint64(kCount / kBatch)); // ... and one transaction each
    }
    // Destroyed without save: the data is there after reopening all the same.
    StateStore reopened;
    QVERIFY2(reopened.open(options(path)), qPrintable(reopened.errorString()));
    QCOMPARE(idsOf(reopened.pendingJobs()), range(1, kCount));
    QCOMPARE(reopened.nextId(), quint64(kCount + 1));
    QVERIFY(reopened.recovery().previousUnclean);
}

void tst_StateStore::partialBatchCommitsOnTheTimer()
{
    const QString path = m_dir.filePath(QStringLiteral("partial.sqlite"));
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString())); // 5 ms interval, batches of 1000
    QSignalSpy accepted(&store, &StateStore::accepted);
    QSignalSpy completed(&store, &StateStore::completed);
    for (quint64 id = 1; id <= 7; ++id)
        store.accept(request(id));
    store.markInProgress({1, 2, 3});
    store.markDone({1, 3});
    QTRY_COMPARE_WITH_TIMEOUT(collected(completed), (QList<quint64> {1, 3}), kWait);
    QCOMPARE(collected(accepted), range(1, 7));
    QVERIFY(store.transactionCount() >= 1);
    QVERIFY(store.transactionCount() <= 9); // batched, never more transactions than calls

    const QJsonObject root = inspectJson(path);
    QCOMPARE(jsonIds(root, "pending"), (QList<quint64> {4, 5, 6, 7}));
    QCOMPARE(jsonIds(root, "in_progress"), (QList<quint64> {2}));
    QCOMPARE(jsonIds(root, "done"), (QList<quint64> {1, 3}));
}

void tst_StateStore::idsAreNeverReused()
{
    const QString path = m_dir.filePath(QStringLiteral("ids.sqlite"));
    QVERIFY(makeJournal(path, 5));
    // Rows deleted behind the store's back (pruning, say): the persistent counter still knows 5 was used.
    QVERIFY(withDatabase(path, [](QSqlDatabase &db) { return execAll(db, {QStringLiteral("DELETE FROM jobs")}); }));
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QVERIFY(store.pendingJobs().isEmpty());
    QCOMPARE(store.nextId(), quint64(6));
}

void tst_StateStore::recoversAfterDestructionWithoutSave()
{
    const QString path = m_dir.filePath(QStringLiteral("unclean.sqlite"));
    qint64 firstSession = 0;
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        firstSession = store.sessionId();
        QSignalSpy completed(&store, &StateStore::completed);
        for (quint64 id = 1; id <= 10; ++id)
            store.accept(request(id, int(id)));
        store.markInProgress({1, 2, 3, 4});
        store.markDone({1, 2});
        QTRY_COMPARE_WITH_TIMEOUT(collected(completed), (QList<quint64> {1, 2}), kWait);
    } // no save(): the session never gets its clean end

    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    const RecoveryInfo recovery = store.recovery();
    QVERIFY(recovery.previousUnclean);
    QCOMPARE(recovery.previousSessionId, firstSession);
    QCOMPARE(recovery.previousPid, qint64(QCoreApplication::applicationPid()));
    QCOMPARE(recovery.recovered, quint64(2));
    QCOMPARE(recovery.pending, quint64(8));
    QVERIFY(store.sessionId() > firstSession);
    const QList<Job> pending = store.pendingJobs();
    QCOMPARE(idsOf(pending), range(3, 10)); // oldest first
    QCOMPARE(pending.at(0).attempts, 1);    // started once before the crash
    QCOMPARE(pending.at(1).attempts, 1);
    QCOMPARE(pending.at(2).attempts, 0);
    QCOMPARE(pending.at(0).payload.toInt(), 3);
    QCOMPARE(store.nextId(), quint64(11));
}

void tst_StateStore::recoversAfterKill9_data()
{
    QTest::addColumn<bool>("throughLink");
    QTest::newRow("real path") << false;
    // SQLite writes the -wal next to the real file: the store must look there too, or a fresh file whose schema
    // is still in the WAL looks empty and the restart fails ("table requests already exists").
    QTest::newRow("through a symlink") << true;
}

void tst_StateStore::recoversAfterKill9()
{
#if defined(__SANITIZE_THREAD__)
    QSKIP("TSan: QProcess forks a multi-threaded process, which TSan does not support");
#endif
    QFETCH(bool, throughLink);
    const QString directory = m_dir.filePath(QStringLiteral("crash-%1").arg(throughLink ? 1 : 0));
    QVERIFY(QDir().mkpath(directory));
    QString path = QDir(directory).filePath(QStringLiteral("state.sqlite"));
    if (throughLink) {
        // A fresh (0-byte) file behind a relative link: the child's schema and rows live only in the -wal.
        QFile fresh(path);
        QVERIFY(fresh.open(QIODevice::WriteOnly));
        fresh.close();
        path = QDir(directory).filePath(QStringLiteral("link.sqlite"));
        QVERIFY(QFile::link(QStringLiteral("state.sqlite"), path));
    }

    QProcess child;
    child.setProgram(QCoreApplication::applicationFilePath());
    child.setArguments({QStringLiteral("--crash-child"), path});
    QByteArray output;
    connect(&child, &QProcess::readyReadStandardOutput, this, [&] { output += child.readAllStandardOutput(); });
    child.start();
    QVERIFY(child.waitForStarted(kWait));
    QTRY_VERIFY_WITH_TIMEOUT(output.contains("ready") || child.state() == QProcess::NotRunning, kWait);
    QVERIFY2(output.contains("ready"), child.readAllStandardError().constData());
    const qint64 childPid = child.processId();

    // Another process has the journal open in WAL mode: inspect reads it read-only and creates nothing.
    const QStringList before = listing(directory);
    const QJsonObject root = inspectJson(path);
    QCOMPARE(listing(directory), before);
    QCOMPARE(jsonIds(root, "done"), (QList<quint64> {1, 2}));
    QCOMPARE(jsonIds(root, "in_progress"), (QList<quint64> {3, 4}));
    QCOMPARE(jsonIds(root, "pending"), range(5, 10));
    const QJsonArray sessions = root.value(QStringLiteral("sessions")).toArray();
    QCOMPARE(sessions.size(), 1);
    QCOMPARE(sessions.at(0).toObject().value(QStringLiteral("pid")).toInteger(), childPid);
    QVERIFY(sessions.at(0).toObject().value(QStringLiteral("ended")).isNull());

    // kill -9: no destructor, no checkpoint; the WAL, the -shm and a stale lock file stay behind.
    QSignalSpy finished(&child, &QProcess::finished);
    child.kill();
    QVERIFY(finished.wait(kWait));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);
    const QByteArray childErrors = child.readAllStandardError();
    QVERIFY2(!childErrors.contains("still in use"), childErrors.constData());

    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    const RecoveryInfo recovery = store.recovery();
    QVERIFY(recovery.previousUnclean);
    QCOMPARE(recovery.previousPid, childPid);
    QCOMPARE(recovery.recovered, quint64(2));
    QCOMPARE(recovery.pending, quint64(8));
    const QList<Job> pending = store.pendingJobs();
    QCOMPARE(idsOf(pending), range(3, 10));
    QCOMPARE(pending.at(0).attempts, 1);
    QCOMPARE(pending.at(0).payload.toInt(), 13);
    QCOMPARE(pending.at(2).attempts, 0);
    QCOMPARE(store.nextId(), quint64(11));
    QCOMPARE(store.path(), QFileInfo(path).canonicalFilePath());
}

void tst_StateStore::saveWritesTheSessionAndCheckpoints()
{
    const QString path = m_dir.filePath(QStringLiteral("save.sqlite"));
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QSignalSpy accepted(&store, &StateStore::accepted);
    QSignalSpy completed(&store, &StateStore::completed);
    QSignalSpy saved(&store, &StateStore::saved);
    QStringList order;
    connect(&store, &StateStore::accepted, this, [&] { order.append(QStringLiteral("accepted")); });
    connect(&store, &StateStore::saved, this, [&] { order.append(QStringLiteral("saved")); });

    // Queued right before save(): save commits them first, and reports them before saved().
    store.accept(request(1));
    store.accept(request(2));
    store.accept(request(3));
    store.markInProgress({1, 2});
    store.markDone({1});
    SessionRecord record;
    record.reason = QStringLiteral("sigterm");
    record.senderPid = 4242;
    record.exitCode = 0;
    record.report = QJsonObject {
        {QStringLiteral("phases"),
         QJsonArray {QJsonObject {{QStringLiteral("name"), QStringLiteral("drain")}, {QStringLiteral("ms"), 12}}}},
        {QStringLiteral("requeued"), 1}};
    store.save({2}, record);
    QVERIFY(saved.wait(kWait));
    QCOMPARE(saved.size(), 1);
    QCOMPARE(saved.at(0).at(0).toBool(), true);
    QCOMPARE(saved.at(0).at(1).toString(), QString());
    QCOMPARE(collected(accepted), range(1, 3));
    QCOMPARE(collected(completed), (QList<quint64> {1}));
    QCOMPARE(order.last(), QStringLiteral("saved"));
    QVERIFY(!store.isOpen());
    QCOMPARE(store.error(), StoreError::None);

    // Checkpointed and closed: the main file is the whole state; no lock file is left.
    const QFileInfo wal(path + QStringLiteral("-wal"));
    QVERIFY(!wal.exists() || wal.size() == 0);
    QVERIFY(!QFileInfo::exists(path + QStringLiteral(".lock")));

    const QJsonObject root = inspectJson(path);
    QCOMPARE(jsonCount(root, "pending"), qint64(2));
    QCOMPARE(jsonCount(root, "in_progress"), qint64(0));
    QCOMPARE(jsonCount(root, "done"), qint64(1));
    QCOMPARE(root.value(QStringLiteral("next_id")).toInteger(), qint64(4));
    const QJsonObject session = root.value(QStringLiteral("sessions")).toArray().last().toObject();
    QCOMPARE(session.value(QStringLiteral("clean")).toBool(), true);
    QCOMPARE(session.value(QStringLiteral("reason")).toString(), QStringLiteral("sigterm"));
    QCOMPARE(session.value(QStringLiteral("sender")).toInteger(), qint64(4242));
    QCOMPARE(session.value(QStringLiteral("exit_code")).toInteger(), qint64(0));
    QCOMPARE(session.value(QStringLiteral("pid")).toInteger(), qint64(QCoreApplication::applicationPid()));
    QCOMPARE(session.value(QStringLiteral("report")).toObject(), record.report);
    QVERIFY(!session.value(QStringLiteral("ended")).toString().isEmpty());

    // Changes after save are ignored; a second save reports failure without touching anything.
    store.accept(request(99));
    store.save({}, record);
    QVERIFY(saved.wait(kWait));
    QCOMPARE(saved.last().at(0).toBool(), false);

    StateStore reopened;
    QVERIFY2(reopened.open(options(path)), qPrintable(reopened.errorString()));
    QVERIFY(!reopened.recovery().previousUnclean);
    QCOMPARE(reopened.recovery().recovered, quint64(0));
    const QList<Job> pending = reopened.pendingJobs();
    QCOMPARE(idsOf(pending), (QList<quint64> {2, 3}));
    QCOMPARE(pending.at(0).attempts, 1); // requeued by save after one start
    QCOMPARE(reopened.nextId(), quint64(4));
}

void tst_StateStore::saveFailureIsReported()
{
    const QString path = m_dir.filePath(QStringLiteral("savefail.sqlite"));
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QSignalSpy saved(&store, &StateStore::saved);
        QSignalSpy failed(&store, &StateStore::commitFailed);
        store.accept(request(1));
        Quiesce::setFailNextCommitsForTesting(1000); // the disk stays full
        store.save({}, SessionRecord());
        QVERIFY(saved.wait(kWait));
        QCOMPARE(saved.at(0).at(0).toBool(), false);
        QVERIFY(saved.at(0).at(1).toString().contains(QLatin1StringView("injected")));
        QCOMPARE(failed.size(), 1);
        QVERIFY(!store.isOpen());
        QCOMPARE(store.error(), StoreError::WriteFailed);
        QCOMPARE(StateStore::exitCode(store.error()), 74);
        Quiesce::setFailNextCommitsForTesting(0);
    }
    // Nothing was committed, and the session has no clean end.
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QVERIFY(store.recovery().previousUnclean);
    QVERIFY(store.pendingJobs().isEmpty());
}

void tst_StateStore::commitFailureIsRetriedWithoutLossOrDuplicates()
{
    const QString path = m_dir.filePath(QStringLiteral("retry.sqlite"));
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QStringList order;
        QSignalSpy accepted(&store, &StateStore::accepted);
        QSignalSpy failed(&store, &StateStore::commitFailed);
        QSignalSpy recovered(&store, &StateStore::commitRecovered);
        connect(&store, &StateStore::accepted, this, [&] { order.append(QStringLiteral("accepted")); });
        connect(&store, &StateStore::commitFailed, this, [&] { order.append(QStringLiteral("failed")); });
        connect(&store, &StateStore::commitRecovered, this, [&] { order.append(QStringLiteral("recovered")); });

        Quiesce::setFailNextCommitsForTesting(3); // three commits in a row fail after all their statements ran
        for (quint64 id = 1; id <= 10; ++id)
            store.accept(request(id));
        store.markInProgress({1, 2, 3, 4, 5});
        QTRY_COMPARE_WITH_TIMEOUT(collected(accepted).size(), 10, kWait);
        QCOMPARE(collected(accepted), range(1, 10)); // nothing lost, nothing twice
        QCOMPARE(failed.size(), 1);                  // once per streak
        QVERIFY(failed.at(0).at(0).toString().contains(QLatin1StringView("injected")));
        QCOMPARE(recovered.size(), 1);
        // Nothing counted as accepted before a commit succeeded.
        QCOMPARE(order.first(), QStringLiteral("failed"));
        QCOMPARE(order.at(1), QStringLiteral("recovered"));
        QCOMPARE(order.at(2), QStringLiteral("accepted"));

        QSignalSpy saved(&store, &StateStore::saved);
        store.save({}, SessionRecord());
        QVERIFY(saved.wait(kWait));
        QVERIFY(saved.at(0).at(0).toBool());
    }
    // Rolled back completely each time: the retried batch applied exactly once (attempts 1, not 4).
    const QJsonObject root = inspectJson(path);
    QCOMPARE(jsonIds(root, "in_progress"), range(1, 5));
    QCOMPARE(jsonIds(root, "pending"), range(6, 10));
    QList<int> attempts;
    QVERIFY(withDatabase(path, [&](QSqlDatabase &db) {
        QSqlQuery query(db);
        if (!query.exec(QStringLiteral("SELECT attempts FROM jobs ORDER BY id")))
            return false;
        while (query.next())
            attempts.append(query.value(0).toInt());
        return true;
    }));
    QCOMPARE(attempts, (QList<int> {1, 1, 1, 1, 1, 0, 0, 0, 0, 0}));
}

void tst_StateStore::closeIntakeCommitsOrDiscardsEveryAccept_data()
{
    QTest::addColumn<bool>("deadlinePassed");
    QTest::newRow("deadline passed: the queue is discarded") << true;
    QTest::newRow("no deadline: the queue is committed") << false;
}

// Stop-intake under a backlog: every accept handed to the store is either committed (accepted() says so, before
// intakeClosed()) or discarded (intakeClosed() names it, and no row holds it), never both, never later.
void tst_StateStore::closeIntakeCommitsOrDiscardsEveryAccept()
{
    QFETCH(bool, deadlinePassed);
    const QString path = m_dir.filePath(QStringLiteral("close-intake-%1.sqlite").arg(deadlinePassed));
    constexpr quint64 kCount = 3000;
    StateStore store;
    StoreOptions o = options(path);
    o.maxBatch = 100;
    QVERIFY2(store.open(o), qPrintable(store.errorString()));
    QStringList order;
    QSignalSpy accepted(&store, &StateStore::accepted);
    QSignalSpy closed(&store, &StateStore::intakeClosed);
    connect(&store, &StateStore::accepted, this, [&] { order.append(QStringLiteral("accepted")); });
    connect(&store, &StateStore::intakeClosed, this, [&] { order.append(QStringLiteral("closed")); });
    for (quint64 id = 1; id <= kCount; ++id)
        store.accept(request(id));
    store.closeIntake(deadlinePassed ? QDeadlineTimer(0) : QDeadlineTimer(QDeadlineTimer::Forever));
    store.accept(request(kCount + 1)); // too late: ignored
    QVERIFY(closed.wait(kWait));
    QCOMPARE(closed.size(), 1);
    const QList<quint64> discarded = closed.at(0).at(0).value<QList<quint64>>();
    const QList<quint64> committed = collected(accepted);
    QCOMPARE(order.last(), QStringLiteral("closed")); // nothing accepted after the answer
    if (!deadlinePassed)
        QVERIFY2(discarded.isEmpty(), qPrintable(QString::number(discarded.size())));
    QList<quint64> all = committed + discarded;
    std::sort(all.begin(), all.end());
    QCOMPARE(all, range(1, kCount)); // each id exactly once: committed or discarded

    QSignalSpy saved(&store, &StateStore::saved);
    store.save({}, SessionRecord());
    QVERIFY(saved.wait(kWait));
    QVERIFY(saved.at(0).at(0).toBool());
    QCOMPARE(collected(accepted), committed); // save() committed no accept either
    QList<quint64> sortedCommitted = committed;
    std::sort(sortedCommitted.begin(), sortedCommitted.end());
    QCOMPARE(jsonIds(inspectJson(path), "pending"), sortedCommitted);
}

// A failing disk at stop-intake: the batch waiting for its retry holds accepts that nobody was told about; they
// are discarded, not committed once the disk recovers. Other changes of that batch still commit.
void tst_StateStore::closeIntakeDiscardsAcceptsOfAFailingBatch()
{
    const QString path = m_dir.filePath(QStringLiteral("close-intake-failing.sqlite"));
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QSignalSpy accepted(&store, &StateStore::accepted);
    for (quint64 id = 1; id <= 3; ++id)
        store.accept(request(id));
    QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(1, 3), kWait);

    QSignalSpy failed(&store, &StateStore::commitFailed);
    Quiesce::setFailNextCommitsForTesting(1000000);
    for (quint64 id = 4; id <= 10; ++id)
        store.accept(request(id));
    store.markInProgress({1, 2});
    QVERIFY(failed.wait(kWait));
    QSignalSpy closed(&store, &StateStore::intakeClosed);
    store.closeIntake(QDeadlineTimer(QDeadlineTimer::Forever));
    QVERIFY(closed.wait(kWait));
    QCOMPARE(closed.at(0).at(0).value<QList<quint64>>(), range(4, 10));

    Quiesce::setFailNextCommitsForTesting(0); // room again
    QSignalSpy saved(&store, &StateStore::saved);
    store.save({}, SessionRecord());
    QVERIFY(saved.wait(kWait));
    QVERIFY(saved.at(0).at(0).toBool());
    QCOMPARE(collected(accepted), range(1, 3)); // never reported, never committed late
    const QJsonObject root = inspectJson(path);
    QCOMPARE(jsonIds(root, "in_progress"), (QList<quint64> {1, 2}));
    QCOMPARE(jsonIds(root, "pending"), (QList<quint64> {3}));
}

void tst_StateStore::rejectsBadFiles_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<Prepare>("prepare");
    QTest::addColumn<StoreError>("error");
    QTest::addColumn<QString>("message");

    const Prepare journal = [](const QString &path) { return makeJournal(path); };
    const Prepare text = [](const QString &path) {
        QFile file(path);
        return file.open(QIODevice::WriteOnly) && file.write("hello, this is not a database\n") > 0;
    };
    const auto truncatedBy = [journal](qint64 bytes) {
        return Prepare([journal, bytes](const QString &path) {
            if (!journal(path))
                return false;
            QFile file(path);
            return file.resize(file.size() - (bytes < 0 ? pageSize(path) : bytes));
        });
    };
    const auto patched = [journal](std::function<qint64(const QString &)> offset, QByteArray bytes) {
        return Prepare([journal, offset, bytes](const QString &path) {
            return journal(path) && patchFile(path, offset(path), bytes);
        });
    };
    const auto foreign = [](QStringList statements) {
        return Prepare([statements](const QString &path) {
            return withDatabase(path, [&](QSqlDatabase &db) { return execAll(db, statements); });
        });
    };

    QTest::newRow("text file") << QStringLiteral("text.sqlite") << text << StoreError::Corrupt
                               << QStringLiteral("is not an SQLite database");
    QTest::newRow("truncated mid-page") << QStringLiteral("trunc1.sqlite") << truncatedBy(100) << StoreError::Corrupt
                                        << QStringLiteral("is truncated");
    QTest::newRow("truncated by a page") << QStringLiteral("trunc2.sqlite") << truncatedBy(-1) << StoreError::Corrupt
                                         << QStringLiteral("is truncated");
    QTest::newRow("truncated header") << QStringLiteral("trunc3.sqlite") << Prepare([journal](const QString &path) {
        return journal(path) && QFile(path).resize(50);
    }) << StoreError::Corrupt << QStringLiteral("is truncated");
    QTest::newRow("flipped magic") << QStringLiteral("magic.sqlite")
                                   << patched([](const QString &) { return qint64(3); }, QByteArray("X"))
                                   << StoreError::Corrupt << QStringLiteral("is not an SQLite database");
    QTest::newRow("flipped page size") << QStringLiteral("pagesize.sqlite")
                                       << patched([](const QString &) { return qint64(16); }, QByteArray("\x03\x01", 2))
                                       << StoreError::Corrupt << QStringLiteral("damaged SQLite header");
    QTest::newRow("flipped b-tree page type")
        << QStringLiteral("btree.sqlite")
        << patched([](const QString &path) { return qint64(pageSize(path)); }, QByteArray("\x07", 1)) // page 2
        << StoreError::Corrupt << QStringLiteral("state file");
    QTest::newRow("foreign application_id")
        << QStringLiteral("foreign1.sqlite")
        << foreign({QStringLiteral("PRAGMA application_id = 1234"), QStringLiteral("CREATE TABLE things (x)")})
        << StoreError::Corrupt << QStringLiteral("belongs to another application");
    QTest::newRow("foreign application_id, no tables")
        << QStringLiteral("foreign2.sqlite") << foreign({QStringLiteral("PRAGMA application_id = 77")})
        << StoreError::Corrupt << QStringLiteral("belongs to another application");
    QTest::newRow("other tables, application_id 0")
        << QStringLiteral("foreign3.sqlite")
        << foreign({QStringLiteral("CREATE TABLE requests (id INTEGER PRIMARY KEY, whatever)")}) << StoreError::Corrupt
        << QStringLiteral("another application");
    QTest::newRow("ours but a table missing")
        << QStringLiteral("partial.sqlite")
        << foreign({QStringLiteral("PRAGMA application_id = 1364543813"), QStringLiteral("PRAGMA user_version = 1"),
                    QStringLiteral("CREATE TABLE requests (id INTEGER PRIMARY KEY)")})
        << StoreError::Corrupt << QStringLiteral("is missing");
    QTest::newRow("newer user_version") << QStringLiteral(
        "newer.sqlite") << patched([](const QString &) { return qint64(60); }, QByteArray("\0\0\0\x63", 4)) // 99
                                        << StoreError::NewerSchema << QStringLiteral("created by a newer version");
    QTest::newRow("empty file with a non-empty WAL")
        << QStringLiteral("emptywal.sqlite") << Prepare([](const QString &path) {
               QFile main(path);
               QFile wal(path + QStringLiteral("-wal"));
               return main.open(QIODevice::WriteOnly) && wal.open(QIODevice::WriteOnly) && wal.write("frames") > 0;
           })
        << StoreError::Corrupt << QStringLiteral("write-ahead log");
    QTest::newRow("read-only file (mode 0444, also for root)") << QStringLiteral(
        "readonly.sqlite") << Prepare([journal](const QString &path) {
        return journal(path) && QFile::setPermissions(path, QFile::ReadOwner | QFile::ReadGroup | QFile::ReadOther);
    }) << StoreError::CannotOpen << QStringLiteral("is not writable");
    QTest::newRow("read-only directory (mode 0555, also for root)")
        << QStringLiteral("rodir/state.sqlite") << Prepare([journal](const QString &path) {
               const QString directory = QFileInfo(path).absolutePath();
               return QDir().mkpath(directory) && journal(path)
                   && QFile::setPermissions(directory,
                                            QFile::ReadOwner | QFile::ExeOwner | QFile::ReadGroup | QFile::ExeGroup
                                                | QFile::ReadOther | QFile::ExeOther);
           })
        << StoreError::CannotOpen << QStringLiteral("its directory /");
    QTest::newRow("path is a directory") << QStringLiteral("adir.sqlite")
                                         << Prepare([](const QString &path) { return QDir().mkpath(path); })
                                         << StoreError::CannotOpen << QStringLiteral("is a directory");
    QTest::newRow("parent is a regular file (ENOTDIR, also for root)")
        << QStringLiteral("plainfile/state.sqlite") << Prepare([](const QString &path) {
               QFile file(QFileInfo(path).absolutePath());
               return file.open(QIODevice::WriteOnly) && file.write("x") == 1;
           })
        << StoreError::CannotOpen << QStringLiteral("is not a directory");
    QTest::newRow("under /proc (not creatable, also for root)")
        << QStringLiteral("/proc/self/quiesce-test/state.sqlite") << Prepare([](const QString &) { return true; })
        << StoreError::CannotOpen << QStringLiteral("cannot be created");
}

void tst_StateStore::rejectsBadFiles()
{
    QFETCH(QString, name);
    QFETCH(Prepare, prepare);
    QFETCH(StoreError, error);
    QFETCH(QString, message);

    const QString base = m_dir.filePath(QStringLiteral("bad/%1").arg(QString::fromLatin1(QTest::currentDataTag())));
    const QString path = QDir::isAbsolutePath(name) ? name : QDir(base).filePath(name);
    const QString directory = QFileInfo(path).absolutePath();
    QVERIFY(QDir().mkpath(base));
    // Undo the read-only rows' permissions whatever happens, so that the temporary directory can be removed.
    const auto restore = qScopeGuard([&] {
        if (!QDir::isAbsolutePath(name) && QFileInfo(directory).isDir())
            QFile::setPermissions(directory, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    });
    QVERIFY2(prepare(path), "fixture failed");

    const bool fileExists = QFileInfo(path).isFile();
    const QByteArray hashBefore = fileExists ? sha256(path) : QByteArray();
    const QStringList listingBefore = listing(directory);

    StateStore store;
    QVERIFY(!store.open(options(path)));
    QVERIFY(!store.isOpen());
    QCOMPARE(store.error(), error);
    QCOMPARE(StateStore::exitCode(store.error()), error == StoreError::CannotOpen ? 73 : 65);
    QVERIFY2(store.errorString().contains(message), qPrintable(store.errorString()));
    QVERIFY2(store.errorString().contains(QFileInfo(path).absoluteFilePath()), qPrintable(store.errorString()));
    QVERIFY2(!store.errorString().contains(QLatin1Char('\n')), "one line");

    // Untouched: same bytes, no -wal/-shm/lock file or anything else left next to it.
    if (fileExists)
        QCOMPARE(sha256(path), hashBefore);
    QCOMPARE(listing(directory), listingBefore);

    // A second attempt with the same object fails the same way (open() can be retried).
    QVERIFY(!store.open(options(path)));
    QCOMPARE(store.error(), error);
}

void tst_StateStore::secondOpenOfTheSameFileIsRefused()
{
    const QString path = m_dir.filePath(QStringLiteral("twice.sqlite"));
    StateStore first;
    QVERIFY2(first.open(options(path)), qPrintable(first.errorString()));
    StateStore second;
    QVERIFY(!second.open(options(path)));
    QCOMPARE(second.error(), StoreError::CannotOpen);
    QVERIFY2(second.errorString().contains(
                 QStringLiteral("in use (locked by process %1)").arg(QCoreApplication::applicationPid())),
             qPrintable(second.errorString()));
    // The first one was not disturbed, and once it is done the file can be opened again.
    QSignalSpy accepted(&first, &StateStore::accepted);
    first.accept(request(1));
    QVERIFY(accepted.wait(kWait));
    QSignalSpy saved(&first, &StateStore::saved);
    first.save({}, SessionRecord());
    QVERIFY(saved.wait(kWait));
    QVERIFY2(second.open(options(path)), qPrintable(second.errorString()));
    QCOMPARE(idsOf(second.pendingJobs()), (QList<quint64> {1}));
}

void tst_StateStore::inspectWhileOpenAndAfterSave()
{
    const QString path = m_dir.filePath(QStringLiteral("inspect.sqlite"));
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QSignalSpy accepted(&store, &StateStore::accepted);
    for (quint64 id = 1; id <= 3; ++id)
        store.accept(request(id));
    QTRY_COMPARE_WITH_TIMEOUT(collected(accepted).size(), 3, kWait);

    // Committed rows live in the WAL only (nothing checkpointed yet): inspect must read through it.
    QByteArray json;
    QString error;
    int exitCode = -1;
    QVERIFY2(StateStore::inspect(path, true, &json, &error, &exitCode), qPrintable(error));
    QCOMPARE(exitCode, 0);
    QJsonParseError parseError;
    const QJsonObject root = QJsonDocument::fromJson(json, &parseError).object();
    QCOMPARE(parseError.error, QJsonParseError::NoError);
    QCOMPARE(root.value(QStringLiteral("path")).toString(), QFileInfo(path).absoluteFilePath());
    QCOMPARE(root.value(QStringLiteral("schema_version")).toInt(), 2);
    QCOMPARE(jsonCount(root, "pending"), qint64(3));
    QCOMPARE(jsonCount(root, "in_progress"), qint64(0));
    QCOMPARE(jsonCount(root, "done"), qint64(0));
    QCOMPARE(jsonCount(root, "failed"), qint64(0));
    QCOMPARE(root.value(QStringLiteral("next_id")).toInteger(), qint64(4));
    QCOMPARE(jsonIds(root, "pending"), range(1, 3));
    const QJsonArray sessions = root.value(QStringLiteral("sessions")).toArray();
    QCOMPARE(sessions.size(), 1);
    const QJsonObject session = sessions.at(0).toObject();
    QCOMPARE(session.value(QStringLiteral("id")).toInteger(), store.sessionId());
    QCOMPARE(session.value(QStringLiteral("clean")).toBool(), false);
    QVERIFY(session.value(QStringLiteral("ended")).isNull());
    QVERIFY(session.value(QStringLiteral("report")).isNull());
    QVERIFY(!session.value(QStringLiteral("started")).toString().isEmpty());

    // Without ids: no "ids" key.
    QVERIFY(StateStore::inspect(path, false, &json, &error, &exitCode));
    QVERIFY(!QJsonDocument::fromJson(json).object().contains(QStringLiteral("ids")));

    // The store goes on working after being inspected.
    store.accept(request(4));
    QTRY_COMPARE_WITH_TIMEOUT(collected(accepted).size(), 4, kWait);
    QCOMPARE(jsonCount(inspectJson(path), "pending"), qint64(4));
}

void tst_StateStore::inspectNeverCreatesFiles()
{
    const QString directory = m_dir.filePath(QStringLiteral("inspect-nofiles"));
    QVERIFY(QDir().mkpath(directory));
    const QString missing = QDir(directory).filePath(QStringLiteral("missing.sqlite"));
    QByteArray json;
    QString error;
    int exitCode = -1;
    QVERIFY(!StateStore::inspect(missing, false, &json, &error, &exitCode));
    QCOMPARE(exitCode, 73);
    QVERIFY(error.contains(QLatin1StringView("does not exist")));
    QVERIFY(listing(directory).isEmpty());

    const QString text = QDir(directory).filePath(QStringLiteral("text.sqlite"));
    {
        QFile file(text);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("not a database at all, just some text\n");
    }
    QVERIFY(!StateStore::inspect(text, false, &json, &error, &exitCode));
    QCOMPARE(exitCode, 65);
    QVERIFY2(error.contains(text), qPrintable(error));

    // A closed journal (no -wal/-shm): read without creating them.
    const QString closed = QDir(directory).filePath(QStringLiteral("closed.sqlite"));
    QVERIFY(makeJournal(closed, 4));
    const QStringList before = listing(directory);
    const QByteArray hashBefore = sha256(closed);
    const QJsonObject root = inspectJson(closed);
    QCOMPARE(jsonCount(root, "pending"), qint64(4));
    QCOMPARE(root.value(QStringLiteral("sessions")).toArray().last().toObject().value(QStringLiteral("clean")).toBool(),
             true);
    QCOMPARE(listing(directory), before);
    QCOMPARE(sha256(closed), hashBefore);
}

void tst_StateStore::moveAside()
{
    const QString directory = m_dir.filePath(QStringLiteral("aside"));
    QVERIFY(QDir().mkpath(directory));
    const QString path = QDir(directory).filePath(QStringLiteral("state.sqlite"));
    const auto write = [](const QString &file, const QByteArray &bytes) {
        QFile f(file);
        return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
    };
    QVERIFY(write(path, "garbage"));
    QVERIFY(write(path + QStringLiteral("-wal"), "wal bytes"));
    QVERIFY(write(path + QStringLiteral("-shm"), "shm bytes"));

    QString movedTo;
    QString error;
    QVERIFY2(StateStore::moveAside(path, &movedTo, &error), qPrintable(error));
    QVERIFY2(QRegularExpression(QStringLiteral("/state\\.sqlite\\.corrupt-\\d{8}-\\d{6}$")).match(movedTo).hasMatch(),
             qPrintable(movedTo));
    QCOMPARE(QFileInfo(movedTo).absolutePath(), QFileInfo(path).absolutePath());
    QVERIFY(!QFileInfo::exists(path));
    QVERIFY(!QFileInfo::exists(path + QStringLiteral("-wal")));
    QVERIFY(!QFileInfo::exists(path + QStringLiteral("-shm")));
    QVERIFY(!QFileInfo::exists(path + QStringLiteral(".lock")));
    QFile moved(movedTo);
    QVERIFY(moved.open(QIODevice::ReadOnly));
    QCOMPARE(moved.readAll(), QByteArray("garbage"));
    QFile movedWal(movedTo + QStringLiteral("-wal")); // paired, so SQLite would still find it
    QVERIFY(movedWal.open(QIODevice::ReadOnly));
    QCOMPARE(movedWal.readAll(), QByteArray("wal bytes"));
    QVERIFY(QFileInfo::exists(movedTo + QStringLiteral("-shm")));

    // Again within the same second: a distinct name, nothing overwritten.
    QVERIFY(write(path, "more garbage"));
    QString movedAgain;
    QVERIFY2(StateStore::moveAside(path, &movedAgain, &error), qPrintable(error));
    QVERIFY(movedAgain != movedTo);
    QVERIFY(QFileInfo::exists(movedTo));
    QVERIFY(QFileInfo::exists(movedAgain));

    // The original path is free for a fresh journal.
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QCOMPARE(store.nextId(), quint64(1));
}

void tst_StateStore::moveAsideRefuses()
{
    const QString directory = m_dir.filePath(QStringLiteral("aside-refuse"));
    QVERIFY(QDir().mkpath(directory));
    QString movedTo;
    QString error;

    QVERIFY(!StateStore::moveAside(QDir(directory).filePath(QStringLiteral("missing.sqlite")), &movedTo, &error));
    QVERIFY(error.contains(QLatin1StringView("does not exist")));

    const QString subdirectory = QDir(directory).filePath(QStringLiteral("sub.sqlite"));
    QVERIFY(QDir().mkpath(subdirectory));
    QVERIFY(!StateStore::moveAside(subdirectory, &movedTo, &error));
    QVERIFY(error.contains(QLatin1StringView("not a regular file")));
    QVERIFY(QFileInfo(subdirectory).isDir());

    // A dangling link has no real file to move.
    const QString dangling = QDir(directory).filePath(QStringLiteral("dangling.sqlite"));
    QVERIFY(QFile::link(QStringLiteral("nowhere.sqlite"), dangling));
    QVERIFY(!StateStore::moveAside(dangling, &movedTo, &error));
    QVERIFY2(error.contains(QLatin1StringView("dangling symbolic link")), qPrintable(error));
    QVERIFY(QFileInfo(dangling).isSymLink());

    // A -shm that is a FIFO: nothing is moved (and the FIFO is never opened).
    const QString withFifo = QDir(directory).filePath(QStringLiteral("fifo.sqlite"));
    QVERIFY(writeBytes(withFifo, "garbage"));
    QCOMPARE(::mkfifo(QFile::encodeName(withFifo + QStringLiteral("-shm")).constData(), 0600), 0);
    QVERIFY(!StateStore::moveAside(withFifo, &movedTo, &error));
    QVERIFY2(error.contains(QLatin1StringView("is a FIFO, not a regular file")), qPrintable(error));
    QCOMPARE(readBytes(withFifo), QByteArray("garbage"));
    QCOMPARE(fileType(withFifo + QStringLiteral("-shm")), mode_t(S_IFIFO));

    // Never from under a running store.
    const QString live = QDir(directory).filePath(QStringLiteral("live.sqlite"));
    StateStore store;
    QVERIFY2(store.open(options(live)), qPrintable(store.errorString()));
    QVERIFY(!StateStore::moveAside(live, &movedTo, &error));
    QVERIFY2(error.contains(QLatin1StringView("in use")), qPrintable(error));
    QVERIFY(QFileInfo::exists(live));
}

void tst_StateStore::symlinkAndRealPathAreOneInstance_data()
{
    QTest::addColumn<bool>("linkFirst");
    QTest::addColumn<bool>("linkedDirectory");
    QTest::newRow("real path first, then a symlink to the file") << false << false;
    QTest::newRow("symlink to the file first, then the real path") << true << false;
    QTest::newRow("real path first, then through a symlinked directory") << false << true;
}

void tst_StateStore::symlinkAndRealPathAreOneInstance()
{
    QFETCH(bool, linkFirst);
    QFETCH(bool, linkedDirectory);
    const QString directory =
        m_dir.filePath(QStringLiteral("one-instance/%1").arg(QString::fromLatin1(QTest::currentDataTag())));
    QVERIFY(QDir().mkpath(directory));
    const QString real = QDir(directory).filePath(QStringLiteral("real.sqlite"));
    QVERIFY(makeJournal(real, 2));
    QString link;
    if (linkedDirectory) {
        QVERIFY(QFile::link(directory, QDir(directory).filePath(QStringLiteral("../linked-dir"))));
        link = QDir(directory).filePath(QStringLiteral("../linked-dir/real.sqlite"));
    } else {
        link = QDir(directory).filePath(QStringLiteral("link.sqlite"));
        QVERIFY(QFile::link(QStringLiteral("real.sqlite"), link));
    }
    const QString canonical = QFileInfo(real).canonicalFilePath();

    StateStore first;
    QVERIFY2(first.open(options(linkFirst ? link : real)), qPrintable(first.errorString()));
    QCOMPARE(first.path(), canonical);
    QVERIFY(QFileInfo::exists(canonical + QStringLiteral(".lock")));
    StateStore second;
    QVERIFY(!second.open(options(linkFirst ? real : link)));
    QCOMPARE(second.error(), StoreError::CannotOpen);
    QCOMPARE(StateStore::exitCode(second.error()), 73);
    QVERIFY2(second.errorString().contains(QStringLiteral("%1 is in use (locked by process %2)")
                                               .arg(canonical)
                                               .arg(QCoreApplication::applicationPid())),
             qPrintable(second.errorString()));

    // The first one keeps its rows to itself; once it saved, the other path opens the same journal.
    QSignalSpy saved(&first, &StateStore::saved);
    first.save({}, SessionRecord());
    QVERIFY(saved.wait(kWait));
    QVERIFY2(second.open(options(linkFirst ? real : link)), qPrintable(second.errorString()));
    QCOMPARE(second.path(), canonical);
    QCOMPARE(idsOf(second.pendingJobs()), range(1, 2));
    QVERIFY(!second.recovery().previousUnclean);
}

void tst_StateStore::lockFileWithoutAHolderIsTakenOver_data()
{
    QTest::addColumn<QByteArray>("content");
    // Staleness is whether the lock can be taken, never whether the pid is alive: after a container restart the
    // new process is PID 1 again, and a pid can always be reused.
    QTest::newRow("pid 1, alive (a fresh PID namespace)") << QByteArray("1\n");
    QTest::newRow("our own pid") << QByteArray::number(QCoreApplication::applicationPid()).append('\n');
    QTest::newRow("QLockFile's format") << QByteArray("1\nquiesce\nsomehost\n");
    QTest::newRow("empty (killed before writing)") << QByteArray();
    QTest::newRow("garbage") << QByteArray("not a pid\n");
}

void tst_StateStore::lockFileWithoutAHolderIsTakenOver()
{
    QFETCH(QByteArray, content);
    const QString directory =
        m_dir.filePath(QStringLiteral("stale-lock/%1").arg(QString::fromLatin1(QTest::currentDataTag())));
    QVERIFY(QDir().mkpath(directory));
    const QString path = QDir(directory).filePath(QStringLiteral("state.sqlite"));
    QVERIFY(makeJournal(path, 3));
    const QString lock = path + QStringLiteral(".lock");
    QVERIFY(writeBytes(lock, content));
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QCOMPARE(idsOf(store.pendingJobs()), range(1, 3));
        QCOMPARE(readBytes(lock), QByteArray::number(QCoreApplication::applicationPid()).append('\n'));
    }
    QVERIFY(!QFileInfo::exists(lock)); // removed by the holder at close
}

void tst_StateStore::refusesFilesThatAreNotRegular_data()
{
    QTest::addColumn<QString>("suffix");
    QTest::addColumn<bool>("fifo"); // else a symbolic link to a regular file
    QTest::addColumn<bool>("inspectRefuses");
    QTest::newRow("FIFO at .lock") << QStringLiteral(".lock") << true << false;
    QTest::newRow("FIFO at -shm") << QStringLiteral("-shm") << true << true;
    QTest::newRow("FIFO at -wal") << QStringLiteral("-wal") << true << true;
    QTest::newRow("FIFO at -journal") << QStringLiteral("-journal") << true << true;
    QTest::newRow("FIFO as the journal") << QString() << true << true;
    QTest::newRow("symlink at .lock") << QStringLiteral(".lock") << false << false;
    QTest::newRow("symlink at -wal") << QStringLiteral("-wal") << false << true;
    QTest::newRow("symlink at -shm") << QStringLiteral("-shm") << false << true;
}

void tst_StateStore::refusesFilesThatAreNotRegular()
{
    QFETCH(QString, suffix);
    QFETCH(bool, fifo);
    QFETCH(bool, inspectRefuses);
    const QString directory =
        m_dir.filePath(QStringLiteral("not-regular/%1").arg(QString::fromLatin1(QTest::currentDataTag())));
    QVERIFY(QDir().mkpath(directory));
    const QString path = QDir(directory).filePath(QStringLiteral("state.sqlite"));
    if (!suffix.isEmpty())
        QVERIFY(makeJournal(path, 3));
    const QString odd = path + suffix;
    const QString target = QDir(directory).filePath(QStringLiteral("elsewhere"));
    int peer = -1;
    const auto closePeer = qScopeGuard([&] {
        if (peer >= 0)
            ::close(peer);
    });
    if (fifo) {
        QCOMPARE(::mkfifo(QFile::encodeName(odd).constData(), 0600), 0);
        // Both ends open here, so that a store that wrongly open()s the FIFO fails this test instead of hanging it.
        peer = ::open(QFile::encodeName(odd).constData(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        QVERIFY(peer >= 0);
    } else {
        QVERIFY(writeBytes(target, "someone else's bytes"));
        QVERIFY(QFile::link(target, odd));
    }
    const mode_t typeBefore = fileType(odd);
    const QByteArray journalBefore = suffix.isEmpty() ? QByteArray() : sha256(path);
    const QStringList listingBefore = listing(directory);

    StateStore store;
    QVERIFY(!store.open(options(path)));
    QCOMPARE(store.error(), StoreError::CannotOpen);
    QCOMPARE(StateStore::exitCode(store.error()), 73);
    const QString message = store.errorString();
    QVERIFY2(message.contains(odd), qPrintable(message));
    QVERIFY2(message.contains(fifo ? QLatin1StringView("is a FIFO, not a regular file")
                                   : QLatin1StringView("is a symbolic link, not a regular file")),
             qPrintable(message));
    QVERIFY2(!message.contains(QLatin1Char('\n')), "one line");

    // Untouched: still there, the same type, nothing written into the FIFO, every other byte the same.
    QCOMPARE(fileType(odd), typeBefore);
    QCOMPARE(listing(directory), listingBefore);
    if (!suffix.isEmpty())
        QCOMPARE(sha256(path), journalBefore);
    if (fifo) {
        char byte = 0;
        QCOMPARE(::read(peer, &byte, 1), ssize_t(-1));
        QCOMPARE(errno, EAGAIN);
    } else {
        QCOMPARE(readBytes(target), QByteArray("someone else's bytes"));
    }

    // inspect opens what SQLite would open (not the lock file): the same refusal, the same untouched files.
    QByteArray json;
    QString error;
    int exitCode = -1;
    const bool inspected = StateStore::inspect(path, false, &json, &error, &exitCode);
    if (inspectRefuses) {
        QVERIFY(!inspected);
        QCOMPARE(exitCode, 73);
        QVERIFY2(error.contains(odd), qPrintable(error));
    } else {
        QVERIFY2(inspected, qPrintable(error));
        QCOMPARE(jsonCount(QJsonDocument::fromJson(json).object(), "pending"), qint64(3));
    }
    QCOMPARE(listing(directory), listingBefore);
}

void tst_StateStore::inspectThroughASymlinkReadsTheRealJournal()
{
    const QString directory = m_dir.filePath(QStringLiteral("inspect-link"));
    QVERIFY(QDir().mkpath(directory));
    const QString real = QDir(directory).filePath(QStringLiteral("real.sqlite"));
    const QString link = QDir(directory).filePath(QStringLiteral("link.sqlite"));
    QVERIFY(QFile::link(QStringLiteral("real.sqlite"), link));

    StateStore store;
    QVERIFY2(store.open(options(real)), qPrintable(store.errorString()));
    QSignalSpy accepted(&store, &StateStore::accepted);
    for (quint64 id = 1; id <= 5; ++id)
        store.accept(request(id));
    store.markInProgress({1, 2});
    QTRY_COMPARE_WITH_TIMEOUT(collected(accepted).size(), 5, kWait);

    // Everything is in the -wal next to the real file, not yet in the main file: through the link too.
    const QJsonObject viaReal = inspectJson(real);
    const QJsonObject viaLink = inspectJson(link);
    QCOMPARE(jsonIds(viaLink, "pending"), range(3, 5));
    QCOMPARE(jsonIds(viaLink, "in_progress"), range(1, 2));
    QCOMPARE(viaLink, viaReal);
    QCOMPARE(viaLink.value(QStringLiteral("path")).toString(), QFileInfo(real).canonicalFilePath());
}

void tst_StateStore::moveAsideThroughASymlinkMovesTheRealFile()
{
    // moveAside() resolves the path as open() does: through a link it moves the real journal and its side files
    // (in the real file's directory) and leaves the link, which then points at the fresh journal made there.
    const QString directory = m_dir.filePath(QStringLiteral("aside-link"));
    QVERIFY(QDir().mkpath(QDir(directory).filePath(QStringLiteral("data"))));
    const QString real = QDir(directory).filePath(QStringLiteral("data/state.sqlite"));
    const QString link = QDir(directory).filePath(QStringLiteral("state.sqlite"));
    QVERIFY(QFile::link(QStringLiteral("data/state.sqlite"), link));
    QVERIFY(writeBytes(real, "garbage"));
    QVERIFY(writeBytes(real + QStringLiteral("-wal"), "wal bytes"));

    // Not while a store holds it, whichever path either side uses.
    {
        const QString liveReal = QDir(directory).filePath(QStringLiteral("data/live.sqlite"));
        const QString liveLink = QDir(directory).filePath(QStringLiteral("live.sqlite"));
        QVERIFY(QFile::link(QStringLiteral("data/live.sqlite"), liveLink));
        StateStore live;
        QVERIFY2(live.open(options(liveReal)), qPrintable(live.errorString()));
        QString movedTo;
        QString error;
        QVERIFY(!StateStore::moveAside(liveLink, &movedTo, &error));
        QVERIFY2(error.contains(QLatin1StringView("in use")), qPrintable(error));
        QVERIFY(QFileInfo(liveReal).isFile());
    }

    QString movedTo;
    QString error;
    QVERIFY2(StateStore::moveAside(link, &movedTo, &error), qPrintable(error));
    QCOMPARE(QFileInfo(movedTo).absolutePath(), QFileInfo(QFileInfo(real).absolutePath()).canonicalFilePath());
    QVERIFY2(
        QRegularExpression(QStringLiteral("/data/state\\.sqlite\\.corrupt-\\d{8}-\\d{6}$")).match(movedTo).hasMatch(),
        qPrintable(movedTo));
    QCOMPARE(readBytes(movedTo), QByteArray("garbage"));
    QCOMPARE(readBytes(movedTo + QStringLiteral("-wal")), QByteArray("wal bytes"));
    QVERIFY(!QFileInfo::exists(real));
    QVERIFY(!QFileInfo::exists(real + QStringLiteral("-wal")));
    QVERIFY(!QFileInfo::exists(real + QStringLiteral(".lock")));
    QCOMPARE(fileType(link), mode_t(S_IFLNK)); // the link itself is never moved

    // What --reset-state does next: open the real path (the refused store's path()); the link works again.
    {
        StateStore fresh;
        QVERIFY2(fresh.open(options(real)), qPrintable(fresh.errorString()));
        QCOMPARE(fresh.nextId(), quint64(1));
    }
    StateStore again;
    QVERIFY2(again.open(options(link)), qPrintable(again.errorString()));
    QCOMPARE(again.path(), QFileInfo(real).canonicalFilePath());
}

void tst_StateStore::journalDeletedOrReplacedWhileRunningFailsTheSave_data()
{
    QTest::addColumn<bool>("replace");
    QTest::newRow("deleted") << false;
    QTest::newRow("replaced (a file renamed over it)") << true;
}

void tst_StateStore::journalDeletedOrReplacedWhileRunningFailsTheSave()
{
    QFETCH(bool, replace);
    const QString directory =
        m_dir.filePath(QStringLiteral("lost/%1").arg(QString::fromLatin1(QTest::currentDataTag())));
    QVERIFY(QDir().mkpath(directory));
    const QString path = QDir(directory).filePath(QStringLiteral("state.sqlite"));
    const QString other = QDir(directory).filePath(QStringLiteral("other"));
    QVERIFY(writeBytes(other, "the file that replaced the journal"));
    const QByteArray otherHash = sha256(other);

    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QSignalSpy accepted(&store, &StateStore::accepted);
    store.accept(request(1));
    store.accept(request(2));
    QTRY_COMPARE_WITH_TIMEOUT(collected(accepted).size(), 2, kWait);

    if (replace)
        QCOMPARE(::rename(QFile::encodeName(other).constData(), QFile::encodeName(path).constData()), 0);
    else
        QVERIFY(QFile::remove(path));

    QSignalSpy saved(&store, &StateStore::saved);
    store.save({}, SessionRecord());
    QVERIFY(saved.wait(kWait));
    QCOMPARE(saved.size(), 1);
    QCOMPARE(saved.at(0).at(0).toBool(), false);
    const QString message = saved.at(0).at(1).toString();
    QVERIFY2(message.contains(QStringLiteral("state file %1 was deleted or replaced while running").arg(path)),
             qPrintable(message));
    QVERIFY2(message.contains(replace ? QLatin1StringView("another file is there now")
                                      : QLatin1StringView("it no longer exists")),
             qPrintable(message));
    QVERIFY(!store.isOpen());
    QCOMPARE(store.error(), StoreError::WriteFailed);
    QCOMPARE(StateStore::exitCode(store.error()), 74);
    if (replace)
        QCOMPARE(sha256(path), otherHash); // what is there now is not ours: never written to
    else
        QVERIFY(!QFileInfo::exists(path));
    QVERIFY(!QFileInfo::exists(path + QStringLiteral(".lock")));
}

void tst_StateStore::jobsKeepPayloadAttemptsAndCrashes()
{
    const QString path = m_dir.filePath(QStringLiteral("jobs.sqlite"));
    // Text (the JSON path), text JSON must escape, and bytes JSON cannot carry (NUL, invalid UTF-8: one row each).
    const QList<Job> jobs {job(1, "120", 2, 1), job(2, QByteArray("quote\" \\ tab\t nl\n \x01 \xc3\xa9")),
                           job(3, QByteArray("\0\xff\xfe binary\0", 11), 1), job(4, QByteArray())};
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QSignalSpy accepted(&store, &StateStore::accepted);
        for (const Job &j : jobs)
            store.accept(j);
        store.markInProgress({1, 2});
        store.requeueCrashed({1}); // its worker died: pending again, crashes + 1
        QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(1, 4), kWait);
        QSignalSpy saved(&store, &StateStore::saved);
        store.save({2}, SessionRecord()); // 2 was running: given back
        QVERIFY(saved.wait(kWait));
        QVERIFY(saved.at(0).at(0).toBool());
    }
    StateStore reopened;
    QVERIFY2(reopened.open(options(path)), qPrintable(reopened.errorString()));
    const QList<Job> pending = reopened.pendingJobs();
    QCOMPARE(idsOf(pending), range(1, 4));
    QCOMPARE(pending.at(0).payload, QByteArray("120"));
    QCOMPARE(pending.at(0).attempts, 3); // accepted with 2, started once
    QCOMPARE(pending.at(0).crashes, 2);  // accepted with 1, one crash
    QCOMPARE(pending.at(1).payload, jobs.at(1).payload);
    QCOMPARE(pending.at(1).attempts, 1);
    QCOMPARE(pending.at(1).crashes, 0); // given back at the stop: not a crash
    QCOMPARE(pending.at(2).payload, jobs.at(2).payload);
    QCOMPARE(pending.at(2).attempts, 1);
    QCOMPARE(pending.at(3).payload, QByteArray(""));
    QVERIFY(!reopened.recovery().previousUnclean);
}

void tst_StateStore::failedJobsAreKeptWithTheirReason()
{
    const QString path = m_dir.filePath(QStringLiteral("failed.sqlite"));
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QSignalSpy accepted(&store, &StateStore::accepted);
        QSignalSpy failed(&store, &StateStore::failed);
        QSignalSpy completed(&store, &StateStore::completed);
        for (quint64 id = 1; id <= 4; ++id)
            store.accept(request(id));
        store.markInProgress({1, 2, 3});
        store.markDone({3});
        // 3 is done: a late failure report never turns it back.
        store.markFailed({failure(1, QStringLiteral("took its worker down 3 times")), failure(2, QStringLiteral("bad")),
                          failure(3, QStringLiteral("late"))});
        QTRY_COMPARE_WITH_TIMEOUT(collected(failed), (QList<quint64> {1, 2}), kWait);
        QCOMPARE(collected(completed), (QList<quint64> {3}));
        QCOMPARE(collected(accepted), range(1, 4));
        store.requeue({1}); // a failed job is not in progress: stays failed
        QSignalSpy saved(&store, &StateStore::saved);
        store.save({2}, SessionRecord());
        QVERIFY(saved.wait(kWait));
    }
    const QJsonObject root = inspectJson(path);
    QCOMPARE(jsonCount(root, "failed"), qint64(2));
    QCOMPARE(jsonCount(root, "pending"), qint64(1));
    QCOMPARE(jsonCount(root, "done"), qint64(1));
    QCOMPARE(jsonIds(root, "failed"), (QList<quint64> {1, 2}));
    const QJsonArray failedJobs = root.value(QStringLiteral("failed")).toArray();
    QCOMPARE(failedJobs.size(), 2);
    QCOMPARE(failedJobs.at(0).toObject().value(QStringLiteral("id")).toInteger(), 1);
    QCOMPARE(failedJobs.at(0).toObject().value(QStringLiteral("reason")).toString(),
             QStringLiteral("took its worker down 3 times"));
    QCOMPARE(failedJobs.at(1).toObject().value(QStringLiteral("attempts")).toInt(), 1);
    QVERIFY(!inspectJson(path, false).contains(QStringLiteral("failed")));

    StateStore reopened;
    QVERIFY2(reopened.open(options(path)), qPrintable(reopened.errorString()));
    QCOMPARE(idsOf(reopened.pendingJobs()), (QList<quint64> {4})); // never processed again by itself
    QCOMPARE(reopened.recovery().failed, quint64(2));
}

void tst_StateStore::operatorRequeuesAndPurgesFailedJobs()
{
    const QString path = m_dir.filePath(QStringLiteral("operator.sqlite"));
    const auto failSome = [&path](quint64 first, quint64 last) {
        StateStore store;
        if (!store.open(options(path)))
            return false;
        QSignalSpy failed(&store, &StateStore::failed);
        QList<Quiesce::JobFailure> failures;
        for (quint64 id = first; id <= last; ++id) {
            Job j = request(id);
            j.attempts = 2;
            j.crashes = 3;
            store.accept(j);
            failures.append(failure(id, QStringLiteral("poison")));
        }
        store.markFailed(failures);
        if (!QTest::qWaitFor([&] { return collected(failed).size() == int(last - first + 1); }, kWait))
            return false;
        QSignalSpy saved(&store, &StateStore::saved);
        store.save({}, SessionRecord());
        return saved.wait(kWait) && saved.at(0).at(0).toBool();
    };
    QVERIFY(failSome(1, 3));
    {
        // Never behind a running instance's back: the lock says it is in use (73), nothing changes.
        StateStore running;
        QVERIFY2(running.open(options(path)), qPrintable(running.errorString()));
        for (const Quiesce::FailedJobsResult &r : {StateStore::requeueFailed(path), StateStore::purgeFailed(path)}) {
            QVERIFY(!r.ok);
            QCOMPARE(r.exitCode, 73);
            QVERIFY2(r.error.contains(path), qPrintable(r.error));
        }
    }
    QCOMPARE(jsonCount(inspectJson(path), "failed"), qint64(3));
    const qint64 sessions = inspectJson(path).value(QStringLiteral("sessions")).toArray().size();

    Quiesce::FailedJobsResult requeued = StateStore::requeueFailed(path);
    QVERIFY2(requeued.ok, qPrintable(requeued.error));
    QCOMPARE(requeued.count, quint64(3));
    QCOMPARE(requeued.exitCode, 0);
    QVERIFY(!QFileInfo::exists(path + QStringLiteral("-wal")) || QFileInfo(path + QStringLiteral("-wal")).size() == 0);
    QVERIFY(!QFileInfo::exists(path + QStringLiteral(".lock")));
    QJsonObject root = inspectJson(path);
    QCOMPARE(jsonCount(root, "failed"), qint64(0));
    QCOMPARE(jsonIds(root, "pending"), range(1, 3));
    QCOMPARE(root.value(QStringLiteral("sessions")).toArray().size(), sessions); // no session of its own
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        const QList<Job> pending = store.pendingJobs();
        QCOMPARE(idsOf(pending), range(1, 3));
        QCOMPARE(pending.at(0).attempts, 0); // a fresh start, or the poison rule fails it again at once
        QCOMPARE(pending.at(0).crashes, 0);
        QCOMPARE(pending.at(0).payload, QByteArray("5"));
        QCOMPARE(store.nextId(), quint64(4));
    }
    QCOMPARE(StateStore::requeueFailed(path).count, quint64(0)); // nothing failed: 0, still fine

    QVERIFY(failSome(4, 5));
    const Quiesce::FailedJobsResult purged = StateStore::purgeFailed(path);
    QVERIFY2(purged.ok, qPrintable(purged.error));
    QCOMPARE(purged.count, quint64(2));
    root = inspectJson(path);
    QCOMPARE(jsonCount(root, "failed"), qint64(0));
    QCOMPARE(jsonIds(root, "pending"), range(1, 3));
    QCOMPARE(root.value(QStringLiteral("next_id")).toInteger(), qint64(6)); // purged ids are never reused

    // A file that is not a journal: refused untouched with 65.
    const QString junk = m_dir.filePath(QStringLiteral("operator-junk.sqlite"));
    QVERIFY(writeBytes(junk, QByteArray(4096, 'x')));
    const QByteArray before = sha256(junk);
    const Quiesce::FailedJobsResult refused = StateStore::purgeFailed(junk);
    QVERIFY(!refused.ok);
    QCOMPARE(refused.exitCode, 65);
    QCOMPARE(sha256(junk), before);
}

void tst_StateStore::upgradesAVersion1JournalInPlace()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("v1.sqlite"));
    QVERIFY(makeVersion1Journal(path));
    const QString v1Rows = QStringLiteral("SELECT id, state, cost_ms, attempts FROM requests ORDER BY id");
    const QStringList before = journalRows(path, v1Rows);
    QCOMPARE(before.size(), 9);
    const QJsonObject v1 = inspectJson(path); // inspect reads a v1 journal as it is
    QCOMPARE(v1.value(QStringLiteral("schema_version")).toInt(), 1);
    QCOMPARE(jsonIds(v1, "in_progress"), range(4, 6));
    QCOMPARE(v1.value(QStringLiteral("next_id")).toInteger(), qint64(42));

    {
        StateStore store;
        StoreOptions o = options(path);
        o.keepDoneMs = 0; // its done rows date from 1970: kept here to compare them
        QVERIFY2(store.open(o), qPrintable(store.errorString()));
        const RecoveryInfo recovery = store.recovery();
        QCOMPARE(recovery.migratedFrom, 1);
        QCOMPARE(recovery.pruned, quint64(0));
        QCOMPARE(recovery.backupPath, QString(path + QStringLiteral(".v1-backup")));
        QVERIFY(recovery.previousUnclean); // the v1 session that never ended
        QCOMPARE(recovery.previousPid, qint64(12));
        QCOMPARE(recovery.recovered, quint64(3));
        QCOMPARE(store.nextId(), quint64(42));
        // Every pending and in-progress request is pending, with its id, payload and attempts.
        const QList<Job> pending = store.pendingJobs();
        QCOMPARE(idsOf(pending), range(4, 9));
        for (const Job &j : pending) {
            QCOMPARE(j.payload, QByteArray::number(100 + j.id));
            QCOMPARE(j.attempts, int(j.id % 3) + (j.id <= 6 ? 1 : 0));
            QCOMPARE(j.crashes, 0);
        }
        QSignalSpy saved(&store, &StateStore::saved);
        store.save({}, SessionRecord());
        QVERIFY(saved.wait(kWait));
        QVERIFY(saved.at(0).at(0).toBool());
    }
    QCOMPARE(headerField(path, 60), quint32(2));
    QCOMPARE(journalRows(path, QStringLiteral("SELECT id, state, payload FROM jobs WHERE id <= 3 ORDER BY id")),
             (QStringList {QStringLiteral("1 2 101"), QStringLiteral("2 2 102"), QStringLiteral("3 2 103")}));
    const QJsonObject v2 = inspectJson(path);
    QCOMPARE(v2.value(QStringLiteral("schema_version")).toInt(), 2);
    QCOMPARE(v2.value(QStringLiteral("sessions")).toArray().size(), 3); // both v1 sessions kept, plus ours

    // The backup is the v1 file as it was: valid, schema 1, every row as before.
    const QString backup = path + QStringLiteral(".v1-backup");
    QCOMPARE(headerField(backup, 60), quint32(1));
    QCOMPARE(headerField(backup, 68), quint32(0x51554945));
    QCOMPARE(journalRows(backup, v1Rows), before);
    QCOMPARE(journalRows(backup, QStringLiteral("PRAGMA integrity_check")), QStringList {QStringLiteral("ok")});
    QVERIFY(!QFileInfo::exists(backup + QStringLiteral(".partial")));
}

void tst_StateStore::upgradeNeverOverwritesABackup()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("v1.sqlite"));
    QVERIFY(makeVersion1Journal(path));
    const QString taken = path + QStringLiteral(".v1-backup");
    QVERIFY(writeBytes(taken, QByteArray("an operator's own copy")));
    StateStore store;
    QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
    QCOMPARE(store.recovery().backupPath, QString(taken + QStringLiteral("-2")));
    QCOMPARE(readBytes(taken), QByteArray("an operator's own copy"));
    QCOMPARE(headerField(taken + QStringLiteral("-2"), 60), quint32(1));
    QCOMPARE(idsOf(store.pendingJobs()), range(4, 9));
}

void tst_StateStore::refusesSchemaVersion3Untouched()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("v3.sqlite"));
    QVERIFY(makeJournal(path, 3));
    QVERIFY(patchFile(path, 60, QByteArray("\0\0\0\x03", 4))); // user_version 3
    const QByteArray hash = sha256(path);
    const QStringList files = listing(dir.path());
    StateStore store;
    QVERIFY(!store.open(options(path)));
    QCOMPARE(store.error(), StoreError::NewerSchema);
    QCOMPARE(StateStore::exitCode(store.error()), 65);
    QVERIFY2(store.errorString().contains(QStringLiteral("schema version 3")), qPrintable(store.errorString()));
    QCOMPARE(sha256(path), hash);
    QCOMPARE(listing(dir.path()), files); // no backup, no side file
    QCOMPARE(StateStore::requeueFailed(path).exitCode, 65);
    QCOMPARE(sha256(path), hash);
}

void tst_StateStore::retentionPrunesOldDoneJobsInBatches_data()
{
    QTest::addColumn<qint64>("keepDoneMs");
    QTest::addColumn<int>("extra"); // more done rows updated 8 days ago: more than one prune batch (10 000) deletes
    QTest::newRow("default 7 days") << StoreOptions().keepDoneMs << 25000;
    QTest::newRow("0 keeps them forever") << qint64(0) << 25000;
    QTest::newRow("1 day, a few rows") << qint64(24 * 3600 * 1000) << 2;
}

void tst_StateStore::retentionPrunesOldDoneJobsInBatches()
{
    QFETCH(qint64, keepDoneMs);
    QFETCH(int, extra);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("retention.sqlite"));
    {
        // Through the store: 1-4 done, 5 failed, 6 in progress, 7 pending.
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QSignalSpy completed(&store, &StateStore::completed);
        QSignalSpy failed(&store, &StateStore::failed);
        for (quint64 id = 1; id <= 7; ++id)
            store.accept(request(id));
        store.markInProgress({1, 2, 3, 4, 5, 6});
        store.markDone({1, 2, 3, 4});
        store.markFailed({failure(5, QStringLiteral("bad"))});
        QTRY_COMPARE_WITH_TIMEOUT(collected(completed).size(), 4, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(collected(failed).size(), 1, kWait);
    } // no save: 6 stays in progress until recovery
    // Age them: 1-3 and 5-6 were last updated 8 days ago (5 and 6 must stay whatever their age), plus many old done
    // rows from 1000 on.
    const qint64 eightDaysAgo = QDateTime::currentMSecsSinceEpoch() - qint64(8) * 24 * 3600 * 1000;
    QVERIFY(withDatabase(path, [&](QSqlDatabase &db) {
        return execAll(
            db,
            {QStringLiteral("UPDATE jobs SET updated = %1 WHERE id IN (1, 2, 3, 5, 6)").arg(eightDaysAgo),
             QStringLiteral("WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < %1) "
                            "INSERT INTO jobs (id, state, payload, created, updated) "
                            "SELECT i, 2, '1', %2, %2 FROM n")
                 .arg(1000 + extra - 1)
                 .arg(eightDaysAgo)});
    }));
    StoreOptions o = options(path);
    o.keepDoneMs = keepDoneMs;
    StateStore store;
    QVERIFY2(store.open(o), qPrintable(store.errorString()));
    QCOMPARE(store.recovery().pruned, keepDoneMs == 0 ? quint64(0) : quint64(3 + extra));
    QCOMPARE(idsOf(store.pendingJobs()), (QList<quint64> {6, 7}));
    QCOMPARE(store.recovery().failed, quint64(1));
    QCOMPARE(store.nextId(), quint64(1000 + extra)); // pruned ids are never reused
    const QJsonObject root = inspectJson(path);
    QCOMPARE(jsonCount(root, "done"), keepDoneMs == 0 ? qint64(4 + extra) : qint64(1));
    QCOMPARE(jsonIds(root, "failed"), (QList<quint64> {5}));
    if (keepDoneMs != 0)
        QCOMPARE(jsonIds(root, "done"), (QList<quint64> {4}));
    QCOMPARE(root.value(QStringLiteral("next_id")).toInteger(), qint64(1000 + extra)); // also once the rows are gone
}

void tst_StateStore::commitSoonDoesNotWaitForTheInterval()
{
    const QString path = m_dir.filePath(QStringLiteral("soon.sqlite"));
    StateStore store;
    StoreOptions o = options(path);
    o.flushIntervalMs = 600000; // without commitSoon() these would wait ten minutes for their batch
    QVERIFY2(store.open(o), qPrintable(store.errorString()));
    QSignalSpy accepted(&store, &StateStore::accepted);
    QSignalSpy completed(&store, &StateStore::completed);
    store.commitSoon(); // nothing queued: nothing to commit
    for (quint64 id = 1; id <= 3; ++id)
        store.accept(request(id));
    store.commitSoon();
    QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(1, 3), kWait);
    QCOMPARE(store.transactionCount(), quint64(1)); // the three in one batch
    store.markInProgress({1, 2});
    store.markDone({2});
    store.commitSoon();
    QTRY_COMPARE_WITH_TIMEOUT(collected(completed), (QList<quint64> {2}), kWait);
    QCOMPARE(store.transactionCount(), quint64(2));
    const QJsonObject root = inspectJson(path);
    QCOMPARE(jsonIds(root, "pending"), (QList<quint64> {3}));
    QCOMPARE(jsonIds(root, "in_progress"), (QList<quint64> {1}));
    QCOMPARE(jsonIds(root, "done"), (QList<quint64> {2}));
}

void tst_StateStore::startAndDoneInOneBatchLeaveTheRowsOfBoth_data()
{
    addBatchStatementRows();
}

void tst_StateStore::startAndDoneInOneBatchLeaveTheRowsOfBoth()
{
    // A start and a done of one job in one batch are written as one UPDATE: the rows must be exactly those the
    // changes one after another leave, whatever else names the job in between.
    QFETCH(bool, qtSql);
    const auto restore = batchStatementsOnQtSql(qtSql);
    const QString path = m_dir.filePath(QStringLiteral("fold-%1.sqlite").arg(int(qtSql)));
    {
        StateStore store;
        StoreOptions o = options(path);
        o.flushIntervalMs = 600000; // one batch each, committed by commitSoon()
        QVERIFY2(store.open(o), qPrintable(store.errorString()));
        QSignalSpy accepted(&store, &StateStore::accepted);
        QSignalSpy completed(&store, &StateStore::completed);
        QSignalSpy failed(&store, &StateStore::failed);
        for (quint64 id = 1; id <= 9; ++id)
            store.accept(job(id, QByteArray::number(id), id == 7 ? 2 : 0));
        store.commitSoon();
        QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(1, 9), kWait);

        store.markInProgress({1, 2, 3, 5, 7});
        store.markDone({1}); // 1: started and done
        store.markDone({7}); // 7: accepted with 2 attempts, started and done
        store.requeue({2});  // 2: started, given back, started again, done
        store.markInProgress({2});
        store.markDone({2});
        store.markFailed({failure(3, QStringLiteral("cannot succeed"))}); // 3: started, failed, then done anyway
        store.markDone({3});
        store.markInProgress({5}); // 5: started twice (each start counts), done
        store.markDone({5});
        store.markInProgress({4});    // 4: started only
        store.markInProgress({6, 6}); // 6: twice in one list
        store.markDone({6, 8});       // 8: done, never started
        store.markInProgress({9});
        store.requeueCrashed({9}); // 9: started, its worker died
        store.commitSoon();
        QTRY_COMPARE_WITH_TIMEOUT(collected(completed), (QList<quint64> {1, 2, 3, 5, 6, 7, 8}), kWait);
        QCOMPARE(collected(failed), (QList<quint64> {3}));
        QCOMPARE(store.transactionCount(), quint64(2)); // the accepts, then every change above in one batch
    }
    QCOMPARE(
        journalRows(path, QStringLiteral("SELECT id, state, attempts, crashes, reason IS NULL FROM jobs ORDER BY id")),
        (QStringList {QStringLiteral("1 2 1 0 1"), QStringLiteral("2 2 2 0 1"), QStringLiteral("3 2 1 0 1"),
                      QStringLiteral("4 1 1 0 1"), QStringLiteral("5 2 2 0 1"), QStringLiteral("6 2 2 0 1"),
                      QStringLiteral("7 2 3 0 1"), QStringLiteral("8 2 0 0 1"), QStringLiteral("9 0 1 1 1")}));
}

void tst_StateStore::acceptsInChunksKeepEveryRowAndSkipDuplicates_data()
{
    addBatchStatementRows();
}

void tst_StateStore::acceptsInChunksKeepEveryRowAndSkipDuplicates()
{
    // Accepts go in several rows per INSERT where every one of them is sure to be new: each row must be exactly
    // the job, and an id accepted before must still be skipped (and not reported), also inside a chunk.
    QFETCH(bool, qtSql);
    const auto restore = batchStatementsOnQtSql(qtSql);
    const QString path = m_dir.filePath(QStringLiteral("chunks-%1.sqlite").arg(int(qtSql)));
    const auto payloadOf = [](quint64 id) {
        return id % 5 == 0 ? QByteArray() : id % 5 == 1 ? QByteArray("\0\xff bytes", 8) : QByteArray::number(id * 7);
    };
    QStringList expected;
    {
        StateStore store;
        StoreOptions o = options(path);
        o.flushIntervalMs = 600000; // one batch each, committed by commitSoon()
        QVERIFY2(store.open(o), qPrintable(store.errorString()));
        QSignalSpy accepted(&store, &StateStore::accepted);
        for (quint64 id = 1; id <= 70; ++id)
            store.accept(job(id, payloadOf(id), int(id % 3), int(id % 2)));
        store.commitSoon();
        QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(1, 70), kWait);

        // 65..70 again (skipped, with different contents), then 71..102 new, then 103..134 in falling order.
        accepted.clear();
        for (quint64 id = 65; id <= 102; ++id)
            store.accept(job(id, "again", 9, 9));
        for (quint64 id = 134; id >= 103; --id)
            store.accept(job(id, payloadOf(id), int(id % 3), int(id % 2)));
        store.commitSoon();
        QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(71, 134), kWait);
        QCOMPARE(store.transactionCount(), quint64(2));
    }
    for (quint64 id = 1; id <= 134; ++id) {
        const bool again = id >= 71 && id <= 102;
        const QByteArray payload = again ? QByteArray("again") : payloadOf(id);
        expected.append(QStringLiteral("%1 0 %2 %3 %4")
                            .arg(id)
                            .arg(QString::fromLatin1(payload.toHex().toUpper()))
                            .arg(again ? 9 : id % 3)
                            .arg(again ? 9 : id % 2));
    }
    QCOMPARE(
        journalRows(path, QStringLiteral("SELECT id, state, hex(payload), attempts, crashes FROM jobs ORDER BY id")),
        expected);
}

void tst_StateStore::statementsPreparedAfterOpenServeTheFirstBatch_data()
{
    addBatchStatementRows();
}

void tst_StateStore::statementsPreparedAfterOpenServeTheFirstBatch()
{
    // open() prepares the statements that between them name every column; the others (the 32-row accept, a start
    // folded into its done, the requeues, a failure) are prepared by their first use. A first batch that uses every
    // one of them, on a journal reopened after a clean stop (the start's usual path), must leave their rows.
    QFETCH(bool, qtSql);
    const auto restore = batchStatementsOnQtSql(qtSql);
    const QString path = m_dir.filePath(QStringLiteral("first-batch-%1.sqlite").arg(int(qtSql)));
    {
        StateStore store;
        QVERIFY2(store.open(options(path)), qPrintable(store.errorString()));
        QSignalSpy saved(&store, &StateStore::saved);
        store.save({}, SessionRecord());
        QVERIFY(saved.wait(kWait));
        QVERIFY2(saved.at(0).at(0).toBool(), qPrintable(saved.at(0).at(1).toString()));
    }
    QVERIFY(!QFileInfo::exists(path + QStringLiteral("-wal")));
    {
        StateStore store;
        StoreOptions o = options(path);
        o.flushIntervalMs = 600000; // one batch, committed by commitSoon()
        QVERIFY2(store.open(o), qPrintable(store.errorString()));
        QSignalSpy accepted(&store, &StateStore::accepted);
        QSignalSpy completed(&store, &StateStore::completed);
        QSignalSpy failed(&store, &StateStore::failed);
        for (quint64 id = 1; id <= 40; ++id)
            store.accept(job(id, QByteArray::number(id)));
        store.markInProgress({1, 2, 3, 4, 5});
        store.markDone({1, 2});
        store.markFailed({failure(3, QStringLiteral("cannot"))});
        store.requeue({4});
        store.requeueCrashed({5});
        store.commitSoon();
        QTRY_COMPARE_WITH_TIMEOUT(collected(accepted), range(1, 40), kWait);
        QTRY_COMPARE_WITH_TIMEOUT(collected(completed), (QList<quint64> {1, 2}), kWait);
        QTRY_COMPARE_WITH_TIMEOUT(collected(failed), (QList<quint64> {3}), kWait);
        QCOMPARE(store.transactionCount(), quint64(1));
    }
    QCOMPARE(journalRows(path,
                         QStringLiteral("SELECT id, state, attempts, crashes, COALESCE(reason, '-') FROM jobs "
                                        "WHERE id <= 6 ORDER BY id")),
             (QStringList {QStringLiteral("1 2 1 0 -"), QStringLiteral("2 2 1 0 -"), QStringLiteral("3 3 1 0 cannot"),
                           QStringLiteral("4 0 1 0 -"), QStringLiteral("5 0 1 1 -"), QStringLiteral("6 0 0 0 -")}));
    QCOMPARE(journalRows(path, QStringLiteral("SELECT COUNT(*) FROM jobs")), QStringList {QStringLiteral("40")});
}

int main(int argc, char **argv)
{
    if (argc == 3 && qstrcmp(argv[1], "--crash-child") == 0) {
        QCoreApplication app(argc, argv);
        return runCrashChild(QString::fromLocal8Bit(argv[2]));
    }
    QCoreApplication app(argc, argv);
    app.setApplicationName(QStringLiteral("tst_statestore"));
    tst_StateStore test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_statestore.moc"
