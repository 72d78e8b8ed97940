// The WAL reader (lib/walcheck*): real write-ahead logs written by SQLite itself, copied aside while the connection
// is still open (the state a kill -9 leaves), then damaged by hand.
#include "torturesupport.h"
#include "walcheck_p.h"

#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

#include <memory>

#include <sys/stat.h>

using Quiesce::checkWal;
using Quiesce::WalReport;
using Torture::flipByte;

namespace {

constexpr qint64 kPageSize = 4096;
constexpr qint64 kFrameSize = 24 + kPageSize;
constexpr int kCommits = 12; // request transactions in the standard journal

qint64 frameOffset(qint64 index)
{
    return 32 + index * kFrameSize;
}

// One SQLite connection in WAL mode that never checkpoints by itself, like the store's journal between starts.
class Journal
{
public:
    explicit Journal(const QString &path)
        : m_name(QStringLiteral("tst_walcheck-%1").arg(++s_count))
    {
        m_db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        m_db.setDatabaseName(path);
        m_ok = m_db.open() && exec("PRAGMA page_size = 4096") && exec("PRAGMA journal_mode = WAL")
            && exec("PRAGMA wal_autocheckpoint = 0");
    }
    ~Journal()
    {
        m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_name);
    }
    bool ok() const { return m_ok; }
    QString error() const { return m_error; }

    bool exec(const char *sql)
    {
        QSqlQuery query(m_db);
        if (query.exec(QString::fromLatin1(sql)))
            return true;
        m_error = QStringLiteral("%1: %2").arg(QLatin1StringView(sql), query.lastError().text());
        return false;
    }

    // The store's shape: a requests table and the ('next_id', N) row, both changed by every accepting transaction.
    bool createSchema()
    {
        return exec("CREATE TABLE requests (id INTEGER PRIMARY KEY, payload BLOB)")
            && exec("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)")
            && exec("INSERT INTO meta (key, value) VALUES ('next_id', 1)");
    }
    bool acceptRequests(int first, int count)
    {
        if (!exec("BEGIN"))
            return false;
        for (int id = first; id < first + count; ++id) {
            QSqlQuery insert(m_db);
            insert.prepare(QStringLiteral("INSERT INTO requests (id, payload) VALUES (?, randomblob(1500))"));
            insert.addBindValue(id);
            if (!insert.exec()) {
                m_error = insert.lastError().text();
                return false;
            }
        }
        QSqlQuery counter(m_db);
        counter.prepare(QStringLiteral("UPDATE meta SET value = ? WHERE key = 'next_id'"));
        counter.addBindValue(first + count);
        if (!counter.exec()) {
            m_error = counter.lastError().text();
            return false;
        }
        return exec("COMMIT");
    }

private:
    static inline int s_count = 0;
    QString m_name;
    QSqlDatabase m_db;
    bool m_ok = false;
    QString m_error;
};

bool copyFile(const QString &from, const QString &to)
{
    QFile::remove(to);
    return QFile::copy(from, to);
}

bool truncateTo(const QString &path, qint64 size)
{
    QFile file(path);
    return file.resize(size);
}

// Rows SQLite itself sees in a copy (read-only, on a copy of the copy so nothing we assert on is touched).
qint64 rowsSqliteSees(const QString &path, const QString &scratch)
{
    if (!copyFile(path, scratch) || !copyFile(path + QStringLiteral("-wal"), scratch + QStringLiteral("-wal")))
        return -2;
    qint64 rows = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tst_walcheck-reader"));
        db.setDatabaseName(scratch);
        if (db.open()) {
            QSqlQuery query(db);
            rows = query.exec(QStringLiteral("SELECT COUNT(*) FROM requests")) && query.next()
                ? query.value(0).toLongLong()
                : 0; // no table: SQLite saw none of the log
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("tst_walcheck-reader"));
    return rows;
}

QByteArray describe(const WalReport &r)
{
    return QStringLiteral("state=%1 damage=%2 frames=%3 used=%4 generation=%5 dropped=%6 commits_dropped=%7 "
                          "first_bad=%8 next_id=%9 (%10)")
        .arg(int(r.state))
        .arg(int(r.damage))
        .arg(r.frames)
        .arg(r.framesUsed)
        .arg(r.generationFrames)
        .arg(r.framesDropped)
        .arg(r.commitsDropped)
        .arg(r.firstBadFrame)
        .arg(r.idFloor)
        .arg(r.describe())
        .toUtf8();
}

} // namespace

class tst_WalCheck : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void intactLogIsNotDamage();
    void damagedHeaderDropsEverything_data();
    void damagedHeaderDropsEverything();
    void damagedMiddleFrameDropsLaterCommits_data();
    void damagedMiddleFrameDropsLaterCommits();
    void idFloorSurvivesADamagedCounterPage();
    void uncommittedTailIsTornNotDamage_data();
    void uncommittedTailIsTornNotDamage();
    void damagedLastCommitFrameLooksTorn();
    void olderGenerationIsNotDamage();
    void emptyAndShortLogs_data();
    void emptyAndShortLogs();
    void absurdPageSizeWithoutMainFile();
    void fifoIsNotReadNorWaitedFor();
    void randomDamageAgreesWithSqlite_data();
    void randomDamageAgreesWithSqlite();

private:
    // A journal with the schema and kCommits accepting transactions, copied aside while still open.
    QString crashedJournal(const QString &name);
    QString path(const QString &name) const { return m_dir->filePath(name); }
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_WalCheck::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QString tst_WalCheck::crashedJournal(const QString &name)
{
    const QString live = path(name + QStringLiteral("-live.sqlite"));
    const QString copy = path(name + QStringLiteral(".sqlite"));
    Journal journal(live);
    if (!journal.ok() || !journal.createSchema()) {
        qWarning("%s", qPrintable(journal.error()));
        return {};
    }
    for (int i = 0; i < kCommits; ++i) {
        if (!journal.acceptRequests(1 + 3 * i, 3)) {
            qWarning("%s", qPrintable(journal.error()));
            return {};
        }
    }
    // Copied while the connection is open: the main file and a WAL nobody checkpointed, as after kill -9.
    if (!copyFile(live, copy) || !copyFile(live + QStringLiteral("-wal"), copy + QStringLiteral("-wal")))
        return {};
    return copy;
}

void tst_WalCheck::intactLogIsNotDamage()
{
    const QString db = crashedJournal(QStringLiteral("intact"));
    QVERIFY(!db.isEmpty());
    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::Intact, describe(r));
    QCOMPARE(r.damage, WalReport::Damage::None);
    QCOMPARE(r.pageSize, quint32(kPageSize));
    QCOMPARE(r.frames, (QFileInfo(db + QStringLiteral("-wal")).size() - 32) / kFrameSize);
    QCOMPARE(r.framesUsed, r.frames);
    QCOMPARE(r.generationFrames, r.frames);
    QCOMPARE(r.framesDropped, 0);
    QCOMPARE(r.commitsDropped, 0);
    QCOMPARE(r.idFloor, quint64(1 + 3 * kCommits));
    QVERIFY(!r.damaged());
    QCOMPARE(rowsSqliteSees(db, path(QStringLiteral("scratch.sqlite"))), 3 * kCommits);
}

void tst_WalCheck::damagedHeaderDropsEverything_data()
{
    QTest::addColumn<qint64>("offset");
    QTest::addColumn<uchar>("mask");
    QTest::newRow("magic") << qint64(1) << uchar(0x10);
    QTest::newRow("byte order bit of the magic") << qint64(3) << uchar(0x01);
    QTest::newRow("version") << qint64(6) << uchar(0x04);
    QTest::newRow("page size") << qint64(10) << uchar(0x20);
    QTest::newRow("salt-1") << qint64(17) << uchar(0x80);
    QTest::newRow("salt-2") << qint64(20) << uchar(0x01);
    QTest::newRow("header checksum") << qint64(30) << uchar(0x08);
}

void tst_WalCheck::damagedHeaderDropsEverything()
{
    QFETCH(qint64, offset);
    QFETCH(uchar, mask);
    const QString db = crashedJournal(QStringLiteral("header"));
    QVERIFY(!db.isEmpty());
    const qint64 frames = checkWal(db).frames;
    QVERIFY(flipByte(db + QStringLiteral("-wal"), offset, mask));

    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::Damaged, describe(r));
    QCOMPARE(r.damage, WalReport::Damage::Header);
    QCOMPARE(r.pageSize, quint32(kPageSize)); // from the main file where the header's is damaged
    QCOMPARE(r.frames, frames);
    QCOMPARE(r.framesUsed, 0);
    QCOMPARE(r.framesDropped, frames);
    QCOMPARE(r.commitsDropped, 3 + kCommits); // the schema's three autocommits and the request transactions
    QCOMPARE(r.firstBadFrame, 0);
    // The frames themselves are intact: the id floor still comes out of them.
    QCOMPARE(r.idFloor, quint64(1 + 3 * kCommits));
    QVERIFY(r.describe().contains(QLatin1StringView("damaged header")));
    // SQLite itself agrees: none of the log is used.
    QCOMPARE(rowsSqliteSees(db, path(QStringLiteral("scratch.sqlite"))), 0);
}

void tst_WalCheck::damagedMiddleFrameDropsLaterCommits_data()
{
    QTest::addColumn<qint64>("within");
    QTest::newRow("page data") << qint64(24 + 2000);
    QTest::newRow("salt in the frame header") << qint64(9);
    QTest::newRow("checksum in the frame header") << qint64(18);
    QTest::newRow("page number") << qint64(3);
}

void tst_WalCheck::damagedMiddleFrameDropsLaterCommits()
{
    QFETCH(qint64, within);
    const QString db = crashedJournal(QStringLiteral("middle"));
    QVERIFY(!db.isEmpty());
    const WalReport before = checkWal(db);
    const qint64 victim = before.frames / 2;
    QVERIFY(flipByte(db + QStringLiteral("-wal"), frameOffset(victim) + within, 0x04));

    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::Damaged, describe(r));
    QCOMPARE(r.damage, WalReport::Damage::Frame);
    QCOMPARE(r.firstBadFrame, victim + 1);
    QVERIFY2(r.framesUsed <= victim && r.framesUsed > 0, describe(r));
    QCOMPARE(r.framesDropped, r.frames - r.framesUsed);
    QVERIFY2(r.commitsDropped >= kCommits / 3, describe(r));
    // The last transaction's meta page is intact after the damage: ids can continue above every one committed.
    QCOMPARE(r.idFloor, quint64(1 + 3 * kCommits));
    // SQLite itself drops the committed requests after the damage.
    const qint64 rows = rowsSqliteSees(db, path(QStringLiteral("scratch.sqlite")));
    QVERIFY2(rows >= 0 && rows < 3 * kCommits, qPrintable(QString::number(rows)));
}

void tst_WalCheck::idFloorSurvivesADamagedCounterPage()
{
    // The frame holding the last ('next_id', N) row is the damaged one: the ids of that transaction's request rows,
    // in its intact frames after the damage, still keep the floor above every committed id.
    const QString db = crashedJournal(QStringLiteral("counter"));
    QVERIFY(!db.isEmpty());
    const QString scratch = path(QStringLiteral("scratch.sqlite"));
    QVERIFY(rowsSqliteSees(db, scratch) == 3 * kCommits);
    quint32 metaRoot = 0;
    {
        QSqlDatabase sql = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tst_walcheck-root"));
        sql.setDatabaseName(scratch);
        QVERIFY(sql.open());
        QSqlQuery query(sql);
        QVERIFY(query.exec(QStringLiteral("SELECT rootpage FROM sqlite_master WHERE name = 'meta'")) && query.next());
        metaRoot = query.value(0).toUInt();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("tst_walcheck-root"));
    QVERIFY(metaRoot > 1);

    const QString wal = db + QStringLiteral("-wal");
    const qint64 frames = checkWal(db).frames;
    qint64 lastMetaFrame = -1;
    {
        QFile file(wal);
        QVERIFY(file.open(QIODevice::ReadOnly));
        for (qint64 i = 0; i < frames; ++i) {
            QVERIFY(file.seek(frameOffset(i)));
            const QByteArray header = file.read(4);
            const auto *p = reinterpret_cast<const uchar *>(header.constData());
            if (((quint32(p[0]) << 24) | (quint32(p[1]) << 16) | (quint32(p[2]) << 8) | p[3]) == metaRoot)
                lastMetaFrame = i;
        }
    }
    QVERIFY(lastMetaFrame >= 0 && lastMetaFrame < frames - 1); // the commit frame (highest page) comes after it
    QVERIFY(flipByte(wal, frameOffset(lastMetaFrame) + 24 + kPageSize - 20));

    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::Damaged, describe(r));
    QCOMPARE(r.firstBadFrame, lastMetaFrame + 1);
    QCOMPARE(r.idFloor, quint64(1 + 3 * kCommits));
}

void tst_WalCheck::uncommittedTailIsTornNotDamage_data()
{
    QTest::addColumn<QString>("cut");
    QTest::newRow("whole frames") << QStringLiteral("none");
    QTest::newRow("last frame cut short") << QStringLiteral("truncate");
    QTest::newRow("last frame torn") << QStringLiteral("flip");
}

void tst_WalCheck::uncommittedTailIsTornNotDamage()
{
    QFETCH(QString, cut);
    const QString live = path(QStringLiteral("torn-live.sqlite"));
    const QString db = path(QStringLiteral("torn.sqlite"));
    Journal journal(live);
    QVERIFY2(journal.ok() && journal.createSchema() && journal.acceptRequests(1, 3), qPrintable(journal.error()));
    // A transaction larger than the page cache spills uncommitted frames into the WAL before its COMMIT: the log a
    // kill -9 in the middle of a big transaction leaves.
    QVERIFY2(journal.exec("PRAGMA cache_size = 5") && journal.exec("BEGIN")
                 && journal.exec("INSERT INTO requests (id, payload) "
                                 "WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
                                 "SELECT i, randomblob(1500) FROM n"),
             qPrintable(journal.error()));
    QVERIFY(copyFile(live, db) && copyFile(live + QStringLiteral("-wal"), db + QStringLiteral("-wal")));
    QVERIFY(journal.exec("ROLLBACK"));
    const QString wal = db + QStringLiteral("-wal");
    const WalReport whole = checkWal(db);
    QVERIFY2(whole.framesDropped > 0, describe(whole)); // the spill is there, uncommitted
    if (cut == QLatin1StringView("truncate"))
        QVERIFY(truncateTo(wal, frameOffset(whole.frames - 1) + 24 + 100));
    else if (cut == QLatin1StringView("flip"))
        QVERIFY(flipByte(wal, frameOffset(whole.frames - 1) + 24 + 50));

    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::Torn, describe(r));
    QVERIFY(!r.damaged());
    QCOMPARE(r.damage, WalReport::Damage::None);
    QCOMPARE(r.framesUsed, whole.framesUsed); // everything committed stays
    QCOMPARE(r.framesDropped, r.frames - r.framesUsed);
    QCOMPARE(r.commitsDropped, 0);
    QCOMPARE(rowsSqliteSees(db, path(QStringLiteral("scratch.sqlite"))), 3);
}

void tst_WalCheck::damagedLastCommitFrameLooksTorn()
{
    // A documented limit: a damaged byte in the very last frame, when it is a commit frame, is what a commit torn
    // by the crash (before it returned) looks like too. It is reported as a torn tail, not as damage.
    const QString db = crashedJournal(QStringLiteral("last"));
    QVERIFY(!db.isEmpty());
    const WalReport before = checkWal(db);
    QVERIFY(flipByte(db + QStringLiteral("-wal"), frameOffset(before.frames - 1) + 24 + 10));
    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::Torn, describe(r));
    QCOMPARE(r.commitsDropped, 1);
}

void tst_WalCheck::olderGenerationIsNotDamage()
{
    const QString live = path(QStringLiteral("restart-live.sqlite"));
    const QString db = path(QStringLiteral("restart.sqlite"));
    Journal journal(live);
    QVERIFY2(journal.ok() && journal.createSchema(), qPrintable(journal.error()));
    for (int i = 0; i < kCommits; ++i)
        QVERIFY2(journal.acceptRequests(1 + 3 * i, 3), qPrintable(journal.error()));
    // Everything backfilled: the next writer restarts the log from its first frame with new salts, and the frames
    // of the older generation stay behind it in the file.
    QVERIFY2(journal.exec("PRAGMA wal_checkpoint(PASSIVE)"), qPrintable(journal.error()));
    QVERIFY2(journal.acceptRequests(1000, 1), qPrintable(journal.error()));
    QVERIFY(copyFile(live, db) && copyFile(live + QStringLiteral("-wal"), db + QStringLiteral("-wal")));

    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::Intact, describe(r));
    QVERIFY2(r.generationFrames > 0 && r.generationFrames < r.frames, describe(r));
    QCOMPARE(r.framesUsed, r.generationFrames);
    QCOMPARE(r.framesDropped, 0);
    QCOMPARE(r.idFloor, quint64(1001));
}

void tst_WalCheck::emptyAndShortLogs_data()
{
    QTest::addColumn<qint64>("size");
    QTest::newRow("no WAL") << qint64(-1);
    QTest::newRow("0 bytes") << qint64(0);
    QTest::newRow("shorter than its header") << qint64(20);
    QTest::newRow("header only") << qint64(32);
    QTest::newRow("header and half a frame") << qint64(32 + 24 + 2048);
}

void tst_WalCheck::emptyAndShortLogs()
{
    QFETCH(qint64, size);
    const QString db = crashedJournal(QStringLiteral("short"));
    QVERIFY(!db.isEmpty());
    const QString wal = db + QStringLiteral("-wal");
    if (size < 0)
        QVERIFY(QFile::remove(wal));
    else
        QVERIFY(truncateTo(wal, size));
    const WalReport r = checkWal(db);
    QVERIFY2(r.state == WalReport::State::None, describe(r));
    QCOMPARE(r.frames, 0);
    QCOMPARE(r.framesDropped, 0);
    QVERIFY(!r.damaged());
}

void tst_WalCheck::absurdPageSizeWithoutMainFile()
{
    const QString db = crashedJournal(QStringLiteral("absurd"));
    QVERIFY(!db.isEmpty());
    QVERIFY(flipByte(db + QStringLiteral("-wal"), 9, 0x7f)); // page size 0x7f1000: not a power of two
    QVERIFY(QFile::remove(db));
    const WalReport r = checkWal(db);
    // Neither the header nor a main file tells where the frames are: damage whose size is unknown.
    QVERIFY2(r.state == WalReport::State::Damaged, describe(r));
    QCOMPARE(r.damage, WalReport::Damage::Header);
    QCOMPARE(r.pageSize, quint32(0));
    QCOMPARE(r.frames, 0);
}

void tst_WalCheck::fifoIsNotReadNorWaitedFor()
{
    const QString db = path(QStringLiteral("fifo.sqlite"));
    QVERIFY(::mkfifo(QFile::encodeName(db + QStringLiteral("-wal")).constData(), 0600) == 0);
    const WalReport r = checkWal(db); // would block forever in open() without O_NONBLOCK
    QVERIFY2(r.state == WalReport::State::Unreadable, describe(r));
    QVERIFY(!r.damaged());
    QVERIFY(r.error.contains(QLatin1StringView("not a regular file")));
}

void tst_WalCheck::randomDamageAgreesWithSqlite_data()
{
    QTest::addColumn<quint32>("seed");
    for (quint32 seed = 1; seed <= 40; ++seed)
        QTest::newRow(qPrintable(QStringLiteral("seed %1").arg(seed))) << seed;
}

void tst_WalCheck::randomDamageAgreesWithSqlite()
{
    // Seeded: 1 to 3 bytes anywhere in the log changed at random. Whatever the reader says must be what SQLite
    // then does: intact → every request; damaged → fewer; torn → at most the last transaction missing (a damaged
    // last commit frame looks torn, the documented limit).
    QFETCH(quint32, seed);
    QRandomGenerator rng(seed);
    const QString db = crashedJournal(QStringLiteral("random"));
    QVERIFY(!db.isEmpty());
    const QString wal = db + QStringLiteral("-wal");
    const qint64 size = QFileInfo(wal).size();
    const int flips = 1 + int(rng.bounded(3));
    for (int i = 0; i < flips; ++i)
        QVERIFY(flipByte(wal, qint64(rng.bounded(quint32(size))), uchar(1 + rng.bounded(255))));

    const WalReport r = checkWal(db);
    const qint64 rows = rowsSqliteSees(db, path(QStringLiteral("scratch.sqlite")));
    const QByteArray what = describe(r) + " rows=" + QByteArray::number(rows);
    QVERIFY2(rows >= 0, what);
    switch (r.state) {
    case WalReport::State::Intact:
        QVERIFY2(rows == 3 * kCommits, what);
        break;
    case WalReport::State::Damaged:
        QVERIFY2(rows < 3 * kCommits, what);
        QVERIFY2(r.commitsDropped > 0 && r.framesDropped > 0, what);
        break;
    case WalReport::State::Torn:
        QVERIFY2(rows >= 3 * (kCommits - 1), what);
        break;
    default:
        QVERIFY2(false, what);
    }
}

QTEST_GUILESS_MAIN(tst_WalCheck)
#include "tst_walcheck.moc"
