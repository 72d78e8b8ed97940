// Reliability: the state file tortured. kill -9 at seeded moments (during startup, under load, in the middle of
// the quit path) on one file, then a final run that must finish everything ever accepted; every kind of corrupt,
// foreign or unusable file refused with the documented code and left byte-for-byte alone; a disk that fills up
// (an LD_PRELOAD shim, tests/faultinject.c) while running and during the save. The file is checked from outside
// after the process exited: `quiesce inspect`, SHA-256, and PRAGMA integrity_check through Qt's SQLite driver.
#include "quiesceprocess.h"
#include "torturesupport.h"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

#include <csignal>

#include <sys/stat.h>

using namespace std::chrono_literals;
using namespace Torture;

namespace {

// Builds an SQLite file that is not ours: \a statements run in order (no Quiesce code involved).
bool makeSqlite(const QString &path, const QStringList &statements, QString *error)
{
    static int counter = 0;
    const QString name = QStringLiteral("torture-make-%1").arg(++counter);
    bool ok = true;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        ok = db.open();
        if (!ok)
            *error = db.lastError().text();
        for (const QString &sql : statements) {
            if (!ok)
                break;
            QSqlQuery query(db);
            ok = query.exec(sql);
            if (!ok)
                *error = QStringLiteral("%1: %2").arg(sql, query.lastError().text());
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

QStringList sideFiles(const QString &path)
{
    QStringList present;
    for (const char *suffix : {"-wal", "-shm", "-journal", ".lock"}) {
        if (QFileInfo::exists(QString(path + QLatin1StringView(suffix))))
            present << QString(path + QLatin1StringView(suffix));
    }
    return present;
}

} // namespace

class tst_TortureStorage : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void killNineAtSeededMoments();
    void refusesBadStateUntouched_data();
    void refusesBadStateUntouched();
    void emptyFileStartsFresh();
    void randomDamageNeverCrashesOrHangs_data();
    void randomDamageNeverCrashesOrHangs();
    void damagedButPlausibleState_data();
    void damagedButPlausibleState();
    void emptyLockFileFromACrashIsTakenOver();
    void diskFullWhileRunning_data();
    void diskFullWhileRunning();
    void diskFullDuringSave_data();
    void diskFullDuringSave();
    void diskRecoversAfterIntakeTimedOut();
    void syncsOfACleanStartAndStop_data();
    void syncsOfACleanStartAndStop();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QStringList args(const QStringList &extra) const;
    bool prepareFaults(QuiesceProcess &q, const QString &errnoName);
    QString triggerPath() const { return m_dir->filePath(QStringLiteral("disk-full")); }
    QString faultLog() const { return m_dir->filePath(QStringLiteral("faults.log")); }
    void finalRunFinishesEverything(const QSet<quint64> &everAccepted);

    std::unique_ptr<QTemporaryDir> m_dir;
    QTemporaryDir m_templateDir;
    QByteArray m_validState; //!< a real state file with 30 done requests, made once
};

void tst_TortureStorage::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
    QVERIFY(m_templateDir.isValid());
    const QString path = m_templateDir.filePath(QStringLiteral("template.sqlite"));
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), path, QStringLiteral("--rate"),
                      QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("30"), QStringLiteral("--work-ms"),
                      QStringLiteral("0-1"), QStringLiteral("--exit-when-idle")});
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(sideFiles(path).isEmpty(), qPrintable(sideFiles(path).join(QLatin1Char(' '))));
    m_validState = readBytes(path);
    QVERIFY(m_validState.size() >= 4 * 4096);
}

void tst_TortureStorage::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QStringList tst_TortureStorage::args(const QStringList &extra) const
{
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"), statePath()} + extra;
}

// Runs what is left on the file and checks that every id ever printed as accepted is done and the file is sound.
void tst_TortureStorage::finalRunFinishesEverything(const QSet<quint64> &everAccepted)
{
    QuiesceProcess last(
        args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--work-ms"), QStringLiteral("0-2"),
              QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(last);
    QVERIFY(last.start());
    QVERIFY2(last.waitForExit(120s), last.describe());
    QVERIFY2(last.exitedNormally() && last.exitCode() == 0, last.describe());

    const QString problem = integrityProblem(statePath());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QString error;
    const QJsonObject state = inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QSet<quint64> lost = everAccepted - stateIds(state, "done");
    QVERIFY2(lost.isEmpty(),
             qPrintable(QStringLiteral("accepted but not done after the final run: ") + describeIds(lost)));
    QCOMPARE(stateCount(state, "pending"), qint64(0));
    QCOMPARE(stateCount(state, "in_progress"), qint64(0));
    const QJsonArray sessions = state.value(QStringLiteral("sessions")).toArray();
    QVERIFY(!sessions.isEmpty());
    const QJsonObject final = sessions.last().toObject();
    QVERIFY(final.value(QStringLiteral("clean")).toBool());
    QCOMPARE(final.value(QStringLiteral("reason")).toString(), QStringLiteral("idle"));
}

// 5. kill -9 at seeded moments, many rounds on the same file: before READY (open, migration, recovery), under
//    load after k accepted or k done, and in the middle of the quit path (down to the save phase).
void tst_TortureStorage::killNineAtSeededMoments()
{
    const int rounds = iterations(10, 150);
    QRandomGenerator rng(5150);
    QList<quint64> acceptedEver; // every "accepted id=" of every round, duplicates kept
    int killedBeforeReady = 0;
    int killedInShutdown = 0;
    for (int round = 0; round < rounds; ++round) {
        const int moment = int(rng.bounded(4));
        QuiesceProcess q(
            args({QStringLiteral("--rate"), QString::number(100 + rng.bounded(400)), QStringLiteral("--workers"),
                  QString::number(1 + rng.bounded(4)), QStringLiteral("--work-ms"),
                  QStringLiteral("2-%1").arg(5 + rng.bounded(60)), QStringLiteral("--seed"), QString::number(round + 1),
                  QStringLiteral("--log-requests")}));
        const DumpOnFailure dump(q);
        QVERIFY(q.start());
        if (moment == 0) {
            // Somewhere in startup: the stimulus is a short seeded delay after spawn.
            QThread::usleep(ulong(rng.bounded(120)) * 1000);
        } else {
            QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
            const int k = int(rng.bounded(50));
            const QString prefix = moment == 2 ? QStringLiteral("done id=") : QStringLiteral("accepted id=");
            for (int i = 0; i < k; ++i)
                QVERIFY2(!q.waitForLine(prefix).isEmpty(), q.describe());
            if (moment == 3) {
                // In the quit path: after one of its lines, save included.
                static const char *const marks[] = {"SHUTDOWN begin", "SHUTDOWN phase=stop-intake end",
                                                    "SHUTDOWN phase=drain begin", "SHUTDOWN phase=save begin"};
                QVERIFY(q.sendSignal(SIGTERM));
                QVERIFY2(!q.waitForLine(QLatin1StringView(marks[rng.bounded(4)])).isEmpty(), q.describe());
            }
            QThread::usleep(ulong(rng.bounded(5000)));
        }
        QVERIFY(q.sendSignal(SIGKILL) || q.process().state() == QProcess::NotRunning);
        QVERIFY2(q.waitForExit(30s), q.describe());
        if (!q.exitedNormally()) {
            killedBeforeReady += q.indexOf(QStringLiteral("READY")) < 0 ? 1 : 0;
            killedInShutdown += q.indexOf(QStringLiteral("SHUTDOWN begin")) >= 0 ? 1 : 0;
        }
        acceptedEver += idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
        // Whatever the moment, the file stays a sound SQLite database.
        const QString problem = integrityProblem(statePath());
        QVERIFY2(problem.isEmpty() || !QFileInfo::exists(statePath()),
                 qPrintable(QStringLiteral("round %1: %2").arg(round).arg(problem)));
    }
    qInfo("%d rounds: %d killed before READY, %d in the quit path, %lld ids accepted", rounds, killedBeforeReady,
          killedInShutdown, qint64(acceptedEver.size()));
    // Ids are never reused once accepted, across crashes.
    QVERIFY2(duplicates(acceptedEver).isEmpty(), qPrintable(describeIds(toSet(duplicates(acceptedEver)))));
    QVERIFY(acceptedEver.size() >= 50);
    finalRunFinishesEverything(toSet(acceptedEver));
}

// 7. Files that must be refused, untouched, with the documented code; --reset-state moves only a 65-file aside.
void tst_TortureStorage::refusesBadStateUntouched_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("code");
    QTest::newRow("truncated to half") << QStringLiteral("truncated-half") << 65;
    QTest::newRow("truncated mid-page") << QStringLiteral("truncated-mid-page") << 65;
    QTest::newRow("truncated to the header") << QStringLiteral("truncated-header") << 65;
    QTest::newRow("truncated inside the header") << QStringLiteral("truncated-50") << 65;
    QTest::newRow("flipped magic") << QStringLiteral("flip-magic") << 65;
    QTest::newRow("flipped page size") << QStringLiteral("flip-page-size") << 65;
    QTest::newRow("flipped schema page") << QStringLiteral("flip-page1-btree") << 65;
    QTest::newRow("flipped table page") << QStringLiteral("flip-page2-btree") << 65;
    QTest::newRow("zeroed table page") << QStringLiteral("zero-page2") << 65;
    QTest::newRow("random bytes") << QStringLiteral("random") << 65;
    QTest::newRow("foreign sqlite, other application_id") << QStringLiteral("foreign-appid") << 65;
    QTest::newRow("foreign sqlite, no application_id") << QStringLiteral("foreign-tables") << 65;
    QTest::newRow("foreign empty sqlite, other application_id") << QStringLiteral("foreign-empty-appid") << 65;
    QTest::newRow("ours from a newer version") << QStringLiteral("newer-schema") << 65;
    QTest::newRow("ours with a table missing") << QStringLiteral("missing-table") << 65;
    QTest::newRow("a directory") << QStringLiteral("directory") << 73;
    QTest::newRow("mode 000") << QStringLiteral("mode-000") << 73;
    QTest::newRow("mode 444 (read-only)") << QStringLiteral("mode-444") << 73;
    QTest::newRow("dangling symlink") << QStringLiteral("dangling-symlink") << 73;
    QTest::newRow("parent is a file") << QStringLiteral("parent-is-file") << 73;
}

void tst_TortureStorage::refusesBadStateUntouched()
{
    QFETCH(QString, kind);
    QFETCH(int, code);
    QString path = statePath();
    const qsizetype pageSize = 4096;
    QCOMPARE((quint32(uchar(m_validState.at(16))) << 8) | uchar(m_validState.at(17)), quint32(pageSize));
    QByteArray bytes = m_validState;
    bool isFile = true;
    QString error;
    if (kind == QLatin1StringView("truncated-half")) {
        bytes.truncate(bytes.size() / 2);
    } else if (kind == QLatin1StringView("truncated-mid-page")) {
        bytes.truncate(bytes.size() - 1000);
    } else if (kind == QLatin1StringView("truncated-header")) {
        bytes.truncate(100);
    } else if (kind == QLatin1StringView("truncated-50")) {
        bytes.truncate(50);
    } else if (kind == QLatin1StringView("flip-magic")) {
        bytes[0] = char(bytes.at(0) ^ 0xff);
    } else if (kind == QLatin1StringView("flip-page-size")) {
        bytes[16] = char(bytes.at(16) ^ 0x03); // 4096 -> 0x0310: not a power of two
    } else if (kind == QLatin1StringView("flip-page1-btree")) {
        bytes[100] = char(bytes.at(100) ^ 0xff); // page 1's b-tree page type (sqlite_schema)
    } else if (kind == QLatin1StringView("flip-page2-btree")) {
        bytes[pageSize] = char(bytes.at(pageSize) ^ 0xff); // page 2's b-tree page type (the first table)
    } else if (kind == QLatin1StringView("zero-page2")) {
        bytes.replace(pageSize, pageSize, QByteArray(pageSize, '\0'));
    } else if (kind == QLatin1StringView("random")) {
        QRandomGenerator rng(7777);
        bytes = QByteArray(3 * pageSize, Qt::Uninitialized);
        for (char &c : bytes)
            c = char(rng.bounded(256));
    } else if (kind == QLatin1StringView("foreign-appid")) {
        QVERIFY2(makeSqlite(path,
                            {QStringLiteral("PRAGMA application_id = 305419896"),
                             QStringLiteral("CREATE TABLE requests (id INTEGER PRIMARY KEY, state TEXT)"),
                             QStringLiteral("INSERT INTO requests VALUES (1, 'theirs')")},
                            &error),
                 qPrintable(error));
        bytes.clear();
    } else if (kind == QLatin1StringView("foreign-tables")) {
        QVERIFY2(makeSqlite(path,
                            {QStringLiteral("CREATE TABLE notes (body TEXT)"),
                             QStringLiteral("INSERT INTO notes VALUES ('keep me')")},
                            &error),
                 qPrintable(error));
        bytes.clear();
    } else if (kind == QLatin1StringView("foreign-empty-appid")) {
        QVERIFY2(makeSqlite(path, {QStringLiteral("PRAGMA application_id = 305419896")}, &error), qPrintable(error));
        bytes.clear();
    } else if (kind == QLatin1StringView("newer-schema") || kind == QLatin1StringView("missing-table")) {
        QVERIFY(writeBytes(path, m_validState));
        const QString change = kind == QLatin1StringView("newer-schema") ? QStringLiteral("PRAGMA user_version = 99")
                                                                         : QStringLiteral("DROP TABLE meta");
        QVERIFY2(makeSqlite(path, {change}, &error), qPrintable(error));
        bytes.clear();
    } else if (kind == QLatin1StringView("directory")) {
        QVERIFY(QDir(m_dir->path()).mkdir(QStringLiteral("state.sqlite")));
        bytes.clear();
        isFile = false;
    } else if (kind == QLatin1StringView("dangling-symlink")) {
        QVERIFY(QFile::link(m_dir->filePath(QStringLiteral("nowhere")), path));
        bytes.clear();
        isFile = false;
    } else if (kind == QLatin1StringView("parent-is-file")) {
        QVERIFY(writeBytes(m_dir->filePath(QStringLiteral("blocker")), "a file where a directory should be\n"));
        path = m_dir->filePath(QStringLiteral("blocker/state.sqlite"));
        bytes.clear();
        isFile = false;
    }
    if (!bytes.isEmpty())
        QVERIFY(writeBytes(path, bytes));
    if (kind == QLatin1StringView("mode-000") || kind == QLatin1StringView("mode-444"))
        QVERIFY(QFile::setPermissions(path,
                                      kind == QLatin1StringView("mode-000")
                                          ? QFileDevice::Permissions()
                                          : QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther));
    // Side files of the preparation (a foreign database opened by us) are not the app's business.
    for (const QString &side : sideFiles(path))
        QVERIFY(QFile::remove(side));

    const QByteArray before = isFile ? sha256(path) : QByteArray();
    struct stat statBefore = {};
    if (isFile)
        QCOMPARE(::stat(QFile::encodeName(path).constData(), &statBefore), 0);
    const auto entriesBefore = QDir(m_dir->path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System);

    for (const bool reset : {false, true}) {
        QStringList extra {QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--exit-when-idle")};
        if (reset)
            extra << QStringLiteral("--reset-state");
        QuiesceProcess q(QStringList {QStringLiteral("--headless"), QStringLiteral("--state"), path} + extra);
        const DumpOnFailure dump(q);
        QVERIFY(q.start());
        QVERIFY2(q.waitForExit(60s), q.describe());
        QVERIFY2(q.exitedNormally(), q.describe());

        if (reset && code == 65) {
            // Moved aside, byte for byte, and a fresh state started.
            QCOMPARE(q.exitCode(), 0);
            QVERIFY2(q.indexOf(QStringLiteral("STATE %1 moved aside to ").arg(path)) >= 0, q.describe());
            const QStringList aside =
                QDir(m_dir->path()).entryList({QStringLiteral("state.sqlite.corrupt-*")}, QDir::Files);
            QCOMPARE(aside.size(), 1);
            QVERIFY2(QRegularExpression(QStringLiteral("^state\\.sqlite\\.corrupt-\\d{8}-\\d{6}(-\\d+)?$"))
                         .match(aside.first())
                         .hasMatch(),
                     qPrintable(aside.first()));
            QCOMPARE(sha256(m_dir->filePath(aside.first())), before);
            const QJsonObject state = inspect(statePath(), false, &error);
            QVERIFY2(!state.isEmpty(), qPrintable(error));
            QCOMPARE(state.value(QStringLiteral("sessions")).toArray().size(), 1);
            break;
        }
        QCOMPARE(q.exitCode(), code);
        const QString err = q.stderrText().trimmed();
        QVERIFY2(!err.isEmpty() && !err.contains(QLatin1Char('\n')) && err.contains(path), q.describe());
        QVERIFY2(q.lines().isEmpty(), q.describe()); // nothing started
        // Untouched: same bytes, same mode, no side file, nothing new next to it (a 73 is never moved aside).
        if (isFile) {
            QCOMPARE(sha256(path), before);
            struct stat statAfter = {};
            QCOMPARE(::stat(QFile::encodeName(path).constData(), &statAfter), 0);
            QCOMPARE(statAfter.st_mode, statBefore.st_mode);
        }
        QVERIFY2(sideFiles(path).isEmpty(), qPrintable(sideFiles(path).join(QLatin1Char(' '))));
        QCOMPARE(QDir(m_dir->path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System), entriesBefore);
        if (code == 65 && !reset)
            QVERIFY2(err.contains(QStringLiteral("--reset-state")), q.describe());
    }
}

// 7. A 0-byte file is an empty database by SQLite's rules: it starts.
void tst_TortureStorage::emptyFileStartsFresh()
{
    QVERIFY(writeBytes(statePath(), QByteArray()));
    QuiesceProcess q(
        args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("3"),
              QStringLiteral("--work-ms"), QStringLiteral("0-1"), QStringLiteral("--exit-when-idle")}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.stderrText().isEmpty(), q.describe());
    QVERIFY2(integrityProblem(statePath()).isEmpty(), qPrintable(integrityProblem(statePath())));
    QString error;
    const QJsonObject state = inspect(statePath(), false, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QCOMPARE(stateCount(state, "done"), qint64(3));
}

// 7. Seeded random damage anywhere past the header: the app either works or refuses with 65 (file untouched) —
//    it never crashes and never hangs.
void tst_TortureStorage::randomDamageNeverCrashesOrHangs_data()
{
    QTest::addColumn<quint32>("seed");
    const int rounds = iterations(6, 200);
    for (int i = 0; i < rounds; ++i)
        QTest::addRow("seed %d", 7000 + i) << quint32(7000 + i);
}

void tst_TortureStorage::randomDamageNeverCrashesOrHangs()
{
    QFETCH(quint32, seed);
    QRandomGenerator rng(seed);
    QByteArray bytes = m_validState;
    const int flips = 1 + int(rng.bounded(16));
    for (int i = 0; i < flips; ++i) {
        const qsizetype at = 100 + qsizetype(rng.bounded(quint32(bytes.size() - 100)));
        bytes[at] = char(bytes.at(at) ^ (1 + rng.bounded(255)));
    }
    QVERIFY(writeBytes(statePath(), bytes));
    const QByteArray before = sha256(statePath());
    QuiesceProcess q(
        args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("3"),
              QStringLiteral("--work-ms"), QStringLiteral("0-1"), QStringLiteral("--exit-when-idle"),
              QStringLiteral("--hard-timeout"), QStringLiteral("20s")}));
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(30s), q.describe()); // it takes well under a second; 30 s is "hangs"
    QVERIFY2(q.exitedNormally(), q.describe());
    const int code = q.exitCode();
    QVERIFY2(code == 0 || code == 65 || code == 74, q.describe());
    if (code == 65) {
        QCOMPARE(sha256(statePath()), before);
        QVERIFY2(sideFiles(statePath()).isEmpty(), qPrintable(sideFiles(statePath()).join(QLatin1Char(' '))));
    }
}

// 7. Damage that SQLite's quick_check cannot see (found by the seeded fuzzing above in long mode): the app must
//    either refuse the file at open (65, untouched) or work normally with it. A missing next_id row now works (ids
//    continue after the highest row); a schema edited behind SQLite's back is refused at open (65, untouched): every
//    statement the run will use is prepared there.
void tst_TortureStorage::damagedButPlausibleState_data()
{
    QTest::addColumn<QStringList>("damage");
    QTest::newRow("the next_id row is gone") << QStringList {QStringLiteral("UPDATE meta SET key = 'nezt_id'")};
    QTest::newRow("a column renamed in the schema")
        << QStringList {QStringLiteral("PRAGMA writable_schema = ON"),
                        QStringLiteral("UPDATE sqlite_master SET sql = replace(sql, 'created', 'createz') "
                                       "WHERE name = 'jobs'")};
}

void tst_TortureStorage::damagedButPlausibleState()
{
    QFETCH(QStringList, damage);
    QVERIFY(writeBytes(statePath(), m_validState));
    QString error;
    QVERIFY2(makeSqlite(statePath(), damage, &error), qPrintable(error));
    for (const QString &side : sideFiles(statePath()))
        QVERIFY(QFile::remove(side));
    QVERIFY2(integrityProblem(statePath()).isEmpty(), "the damage should be invisible to SQLite's checks");
    const QByteArray before = sha256(statePath());

    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("3"), QStringLiteral("--work-ms"), QStringLiteral("0-1"),
                           QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    QVERIFY(q.start());
    // A healthy run ends by itself in well under a second; one that does not is stopped (bounded either way).
    if (!q.waitForExit(3s))
        QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally(), q.describe());
    const bool refused = q.exitCode() == 65 && sha256(statePath()) == before && q.lines().isEmpty();
    const bool works = q.exitCode() == 0 && q.count(QStringLiteral("done id=")) == 3
        && q.indexOf(QStringLiteral("SHUTDOWN begin reason=idle")) >= 0;
    QVERIFY2(refused || works, q.describe());
    if (QByteArrayView(QTest::currentDataTag()) == "a column renamed in the schema")
        QVERIFY2(refused, q.describe()); // never a run whose every commit fails
}

// 7. A kill -9 between creating the .lock file and writing our pid into it leaves an empty lock file.
//    Nobody holds it; the next start must take it over, as it does a lock file naming a dead process.
void tst_TortureStorage::emptyLockFileFromACrashIsTakenOver()
{
    QVERIFY(writeBytes(statePath(), m_validState));
    const QString lock = QString(statePath() + QStringLiteral(".lock"));
    QVERIFY(writeBytes(lock, QByteArray()));
    {
        QFile f(lock);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.setFileTime(QDateTime::currentDateTime().addSecs(-3600), QFileDevice::FileModificationTime));
    }
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--exit-when-idle")}));
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);
}

// Which disk syncs a start after a clean stop waits for, and that the clean stop still makes everything durable.
// The fault shim in stall mode (1 ms) logs every write and sync on the state's directory and its files. Under
// durability normal nothing before READY is synced (SQLite's WAL-header and directory syncs of the first
// transaction are left to the first checkpoint); under full the start's commit syncs the WAL. Either way the clean
// stop syncs the WAL and then the journal.
void tst_TortureStorage::syncsOfACleanStartAndStop_data()
{
    QTest::addColumn<QString>("durability");
    QTest::addColumn<bool>("syncBeforeReady");
    QTest::newRow("normal") << QStringLiteral("normal") << false;
    QTest::newRow("full") << QStringLiteral("full") << true;
}

void tst_TortureStorage::syncsOfACleanStartAndStop()
{
    QFETCH(QString, durability);
    QFETCH(bool, syncBeforeReady);
    const QStringList run = args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--durability"),
                                  durability, QStringLiteral("--workers"), QStringLiteral("1")});
    {
        QuiesceProcess first(run); // the journal and a clean stop
        QVERIFY(first.start());
        QVERIFY2(!first.waitForLine(QStringLiteral("READY")).isEmpty(), first.describe());
        QVERIFY(first.sendSignal(SIGTERM));
        QVERIFY2(first.waitForExit(60s) && first.exitedNormally() && first.exitCode() == 0, first.describe());
    }
    QVERIFY(!QFileInfo::exists(statePath() + QStringLiteral("-wal")));

    QuiesceProcess q(run);
    const DumpOnFailure dump(q);
    if (!prepareFaults(q, QStringLiteral("EIO")))
        QSKIP("QUIESCE_FAULTINJECT (the LD_PRELOAD shim) is not set: run through ctest");
    const QString directory = QFileInfo(m_dir->path()).canonicalFilePath();
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_MATCH"), directory);
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_DELAY_MS"), QStringLiteral("1"));
    QVERIFY(writeBytes(triggerPath(), "armed\n"));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    const auto syncs = [this] {
        QFile log(faultLog());
        QStringList found;
        if (!log.open(QIODevice::ReadOnly))
            return found;
        const QStringList lines = QString::fromUtf8(log.readAll()).split(QLatin1Char('\n'));
        for (const QString &line : lines) {
            if (line.startsWith(QLatin1StringView("fdatasync ")) || line.startsWith(QLatin1StringView("fsync ")))
                found.append(line.section(QLatin1Char(' '), 1));
        }
        return found;
    };
    const QStringList atReady = syncs();
    QVERIFY2(QFileInfo::exists(faultLog()), "the shim saw no write at all");
    const QString journal = directory + QStringLiteral("/state.sqlite");
    const QString wal = journal + QStringLiteral("-wal");
    QVERIFY2(atReady.isEmpty() != syncBeforeReady, qPrintable(atReady.join(QLatin1Char(','))));
    if (syncBeforeReady)
        QVERIFY2(atReady.contains(wal), qPrintable(atReady.join(QLatin1Char(','))));

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally() && q.exitCode() == 0, q.describe());
    const QStringList atStop = syncs().mid(atReady.size());
    const qsizetype walSynced = atStop.indexOf(wal);
    QVERIFY2(walSynced >= 0, qPrintable(atStop.join(QLatin1Char(','))));
    // The journal is synced after the WAL whose pages it took. (The directory sync that SQLite keeps pending until
    // the WAL's first sync cannot be seen here: the shim watches regular files only; strace shows it.)
    QVERIFY2(atStop.lastIndexOf(journal) > walSynced, qPrintable(atStop.join(QLatin1Char(','))));
    QVERIFY(!QFileInfo::exists(wal));
    QCOMPARE(integrityProblem(statePath()), QString());
}

bool tst_TortureStorage::prepareFaults(QuiesceProcess &q, const QString &errnoName)
{
    const QString shim = qEnvironmentVariable("QUIESCE_FAULTINJECT");
    if (shim.isEmpty() || !QFileInfo::exists(shim))
        return false;
    const QString asan = asanRuntime();
    q.setEnvironmentValue(QStringLiteral("LD_PRELOAD"),
                          asan.isEmpty() ? shim : QString(asan + QLatin1Char(':') + shim));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_MATCH"), QStringLiteral("state.sqlite"));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_TRIGGER"), triggerPath());
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_ERRNO"), errnoName);
    q.setEnvironmentValue(QStringLiteral("QUIESCE_FAULT_LOG"), faultLog());
    return true;
}

// 8. The disk fills up while requests are committed: the batch is rolled back and retried with backoff, nothing
//    is half-applied (no accepted/done line while failing), it recovers once there is room again.
void tst_TortureStorage::diskFullWhileRunning_data()
{
    QTest::addColumn<QString>("errnoName");
    QTest::addColumn<QString>("reason");
    QTest::newRow("ENOSPC") << QStringLiteral("ENOSPC") << QStringLiteral("full");
    QTest::newRow("EIO") << QStringLiteral("EIO") << QStringLiteral("I/O");
}

void tst_TortureStorage::diskFullWhileRunning()
{
    QFETCH(QString, errnoName);
    QFETCH(QString, reason);
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("200"), QStringLiteral("--workers"),
                           QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("5-20"),
                           QStringLiteral("--seed"), QStringLiteral("88"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    if (!prepareFaults(q, errnoName))
        QSKIP("QUIESCE_FAULTINJECT (the LD_PRELOAD shim) is not set: run through ctest");
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    for (int i = 0; i < 20; ++i)
        QVERIFY2(!q.waitForLine(QStringLiteral("done id=")).isEmpty(), q.describe());

    QVERIFY(writeBytes(triggerPath(), "armed\n")); // the disk is full from now on
    const QString failed = q.waitForLine(QStringLiteral("STATE write failed, retrying: "));
    QVERIFY2(!failed.isEmpty(), q.describe());
    QVERIFY2(failed.contains(reason), qPrintable(failed));
    // Several retries fail (the shim logs each refused call), with requests still arriving meanwhile.
    QTRY_VERIFY_WITH_TIMEOUT(readBytes(faultLog()).count('\n') >= 8, 20000);
    QVERIFY(QFile::remove(triggerPath())); // room again
    QVERIFY2(!q.waitForLine(QStringLiteral("STATE write recovered")).isEmpty(), q.describe());
    for (int i = 0; i < 10; ++i)
        QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally() && q.exitCode() == 0, q.describe());

    // One failure streak, one recovery, and nothing committed in between.
    QCOMPARE(q.count(QStringLiteral("STATE write failed")), 1);
    QCOMPARE(q.count(QStringLiteral("STATE write recovered")), 1);
    const int from = q.indexOf(QStringLiteral("STATE write failed"));
    const int to = q.indexOf(QStringLiteral("STATE write recovered"));
    for (int i = from + 1; i < to; ++i) {
        const QString &line = q.lines().at(i);
        QVERIFY2(!line.startsWith(QStringLiteral("accepted ")) && !line.startsWith(QStringLiteral("done ")),
                 qPrintable(line));
    }
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=ok")) >= 0, q.describe());

    const QString problem = integrityProblem(statePath());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QString error;
    const QJsonObject state = inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QSet<quint64> accepted = toSet(idsWithPrefix(q.lines(), QStringLiteral("accepted id=")));
    const QSet<quint64> lost = accepted - stateIds(state, "done") - stateIds(state, "pending");
    QVERIFY2(lost.isEmpty(), qPrintable(describeIds(lost)));
    QVERIFY(stateIds(state, "in_progress").isEmpty());
    QCOMPARE(stateIds(state, "done"), toSet(idsWithPrefix(q.lines(), QStringLiteral("done id="))));
}

// 8. The disk is full when the state is saved: exit 74 with the reason, and nothing committed before is lost;
//    the next start recovers. "idle": armed before SIGTERM with nothing in flight; "load": a --pre-stop command
//    arms it as the quit path begins, while requests arrive and run.
void tst_TortureStorage::diskFullDuringSave_data()
{
    QTest::addColumn<QString>("errnoName");
    QTest::addColumn<bool>("underLoad");
    QTest::newRow("ENOSPC, idle") << QStringLiteral("ENOSPC") << false;
    QTest::newRow("EIO, idle") << QStringLiteral("EIO") << false;
    QTest::newRow("ENOSPC, under load") << QStringLiteral("ENOSPC") << true;
    QTest::newRow("EIO, under load") << QStringLiteral("EIO") << true;
}

void tst_TortureStorage::diskFullDuringSave()
{
    QFETCH(QString, errnoName);
    QFETCH(bool, underLoad);
    QStringList extra {QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--log-requests")};
    if (underLoad)
        extra << QStringLiteral("--rate") << QStringLiteral("200") << QStringLiteral("--work-ms")
              << QStringLiteral("5-30") << QStringLiteral("--seed") << QStringLiteral("99")
              << QStringLiteral("--pre-stop") << QStringLiteral("echo armed > '%1'").arg(triggerPath());
    else
        extra << QStringLiteral("--rate") << QStringLiteral("0") << QStringLiteral("--burst") << QStringLiteral("20")
              << QStringLiteral("--work-ms") << QStringLiteral("1-5");
    QuiesceProcess q(args(extra));
    const DumpOnFailure dump(q);
    if (!prepareFaults(q, errnoName))
        QSKIP("QUIESCE_FAULTINJECT (the LD_PRELOAD shim) is not set: run through ctest");
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    for (int i = 0; i < 20; ++i)
        QVERIFY2(!q.waitForLine(QStringLiteral("done id=")).isEmpty(), q.describe());
    // Committed before the disk filled up: must survive whatever happens next.
    const QSet<quint64> committedBefore = toSet(idsWithPrefix(q.lines(), QStringLiteral("accepted id=")));
    const QSet<quint64> doneBefore = toSet(idsWithPrefix(q.lines(), QStringLiteral("done id=")));
    if (!underLoad)
        QVERIFY(writeBytes(triggerPath(), "armed\n"));
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(60s), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 74);
    QVERIFY2(QFileInfo::exists(triggerPath()), "the fault was never armed");
    QVERIFY2(!readBytes(faultLog()).isEmpty(), "no write was ever refused");

    const int saveEnd = q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=failed"));
    QVERIFY2(saveEnd >= 0, q.describe());
    const QString detail = q.lines().at(saveEnd);
    QVERIFY2(detail.contains(errnoName == QLatin1StringView("EIO") ? QStringLiteral("I/O") : QStringLiteral("full")),
             qPrintable(detail));
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done exit=74")), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN phase=save begin")), 1);
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=stop-threads end outcome=ok")) > saveEnd, q.describe());
    QVERIFY2(linesAfter(q, QStringLiteral("SHUTDOWN phase=stop-intake end"), QStringLiteral("accepted ")).isEmpty(),
             q.describe());

    // Room again: the file is sound and holds everything committed before.
    QVERIFY(QFile::remove(triggerPath()));
    const QString problem = integrityProblem(statePath());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const QSet<quint64> accepted = toSet(idsWithPrefix(q.lines(), QStringLiteral("accepted id=")));
    QString error;
    const QSet<quint64> inFile = idsInFile(statePath(), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY2((accepted - inFile).isEmpty(), qPrintable(describeIds(accepted - inFile)));
    QVERIFY(committedBefore.size() >= 20);
    const QJsonObject state = inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QVERIFY2((doneBefore - stateIds(state, "done")).isEmpty(),
             qPrintable(describeIds(doneBefore - stateIds(state, "done"))));
    const QJsonArray sessions = state.value(QStringLiteral("sessions")).toArray();
    QCOMPARE(sessions.size(), 1);
    QVERIFY(!sessions.at(0).toObject().value(QStringLiteral("clean")).toBool()); // the save did not happen

    finalRunFinishesEverything(accepted);
}

// 8. The disk fills up as the quit path begins and has room again after stop-intake: the requests whose commit was
//    failing were never acknowledged, so stop-intake discards them instead of committing them late. No "accepted"
//    line follows "stop-intake end", nothing printed as accepted is lost, and the save succeeds.
void tst_TortureStorage::diskRecoversAfterIntakeTimedOut()
{
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("200"), QStringLiteral("--workers"),
                           QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("600000"),
                           QStringLiteral("--drain-timeout"), QStringLiteral("3s"), QStringLiteral("--seed"),
                           QStringLiteral("5"), QStringLiteral("--log-requests"), QStringLiteral("--pre-stop"),
                           // Armed, then 200 ms more of intake whose commits all fail.
                           QStringLiteral("echo armed > '%1'; sleep 0.2").arg(triggerPath())}));
    const DumpOnFailure dump(q);
    if (!prepareFaults(q, QStringLiteral("ENOSPC")))
        QSKIP("QUIESCE_FAULTINJECT (the LD_PRELOAD shim) is not set: run through ctest");
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(waitUntilBusy(q, 2), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(!q.waitForLine(QStringLiteral("STATE write failed, retrying")).isEmpty(), q.describe());
    const QString intakeEnd = q.waitForLine(QStringLiteral("SHUTDOWN phase=stop-intake end outcome=ok"));
    QVERIFY2(!intakeEnd.isEmpty(), q.describe());
    QVERIFY2(intakeEnd.contains(QStringLiteral("uncommitted requests discarded")), qPrintable(intakeEnd));
    QVERIFY(QFile::remove(triggerPath())); // room again, while the drain waits for its 3 s
    QVERIFY2(q.waitForExit(60s) && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=save end outcome=ok")) >= 0, q.describe());

    // Nothing lost: every id ever printed as accepted is in the file, done or pending; nothing in progress.
    const QString problem = integrityProblem(statePath());
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    QString error;
    const QJsonObject state = inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QSet<quint64> accepted = toSet(idsWithPrefix(q.lines(), QStringLiteral("accepted id=")));
    const QSet<quint64> lost = accepted - stateIds(state, "done") - stateIds(state, "pending");
    QVERIFY2(lost.isEmpty(), qPrintable(describeIds(lost)));
    QVERIFY(stateIds(state, "in_progress").isEmpty());
    const QString reportLine = q.lines().value(q.indexOf(QStringLiteral("SHUTDOWN report ")));
    QCOMPARE(field(reportLine, QStringLiteral("accepted")), qint64(accepted.size()));

    QVERIFY(field(reportLine, QStringLiteral("discarded")) > 0);
    const QStringList late =
        linesAfter(q, QStringLiteral("SHUTDOWN phase=stop-intake end"), QStringLiteral("accepted "));
    QVERIFY2(late.isEmpty(), qPrintable(QStringLiteral("%1 accepted lines after stop-intake end").arg(late.size())));
}

QTEST_GUILESS_MAIN(tst_TortureStorage)
#include "tst_torture_storage.moc"
