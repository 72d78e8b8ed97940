// End-to-end: a WAL damaged after kill -9 is never silently rolled back. The real binary is killed mid-run, one
// byte of its WAL is flipped by hand, and the next start either refuses (durability full: 65, files untouched) or
// starts and says what SQLite dropped (durability normal), with ids continuing above every id it printed.
#include "quiesceprocess.h"
#include "torturesupport.h"

#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>
#include <memory>

using namespace std::chrono_literals;

namespace {

constexpr qint64 kWalHeaderSize = 32;
constexpr qint64 kFrameSize = 24 + 4096; // SQLite's default page size, which the journal uses

quint64 idOf(const QString &line)
{
    static const QRegularExpression id(QStringLiteral("^accepted id=(\\d+)"));
    const QRegularExpressionMatch m = id.match(line);
    return m.hasMatch() ? m.captured(1).toULongLong() : 0;
}

} // namespace

class tst_HostileWal : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void damagedWalIsNeverSilent_data();
    void damagedWalIsNeverSilent();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QString walPath() const { return statePath() + QStringLiteral("-wal"); }
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_HostileWal::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_HostileWal::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_HostileWal::damagedWalIsNeverSilent_data()
{
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("durability");
    QTest::newRow("header, normal") << QStringLiteral("header") << QStringLiteral("normal");
    QTest::newRow("header, full") << QStringLiteral("header") << QStringLiteral("full");
    QTest::newRow("middle frame, normal") << QStringLiteral("frame") << QStringLiteral("normal");
    QTest::newRow("middle frame, full") << QStringLiteral("frame") << QStringLiteral("full");
}

void tst_HostileWal::damagedWalIsNeverSilent()
{
    QFETCH(QString, where);
    QFETCH(QString, durability);

    // 1. A run with requests in flight, killed: its WAL holds every commit (nothing checkpointed it yet).
    quint64 highestAccepted = 0;
    {
        QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(),
                          QStringLiteral("--log-requests"), QStringLiteral("--rate"), QStringLiteral("200"),
                          QStringLiteral("--work-ms"), QStringLiteral("100-200"), QStringLiteral("--durability"),
                          durability});
        QVERIFY(q.start());
        QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
        for (int i = 0; i < 60; ++i)
            QVERIFY2(!q.waitForLine(QRegularExpression(QStringLiteral("^accepted id="))).isEmpty(), q.describe());
        QVERIFY(q.sendSignal(SIGKILL));
        QVERIFY(q.waitForExit());
        QVERIFY(!q.exitedNormally());
        for (const QString &line : q.lines())
            highestAccepted = std::max(highestAccepted, idOf(line));
    }
    QVERIFY(highestAccepted >= 60);

    // 2. One flipped byte: salt-2 in the WAL header, or a byte of page data in the middle frame.
    const qint64 frames = (QFileInfo(walPath()).size() - kWalHeaderSize) / kFrameSize;
    QVERIFY2(frames >= 8, qPrintable(QString::number(frames)));
    const qint64 offset =
        where == QLatin1StringView("header") ? 20 : kWalHeaderSize + (frames / 2) * kFrameSize + 24 + 1000;
    QVERIFY(Torture::flipByte(walPath(), offset));
    const QByteArray dbBefore = Torture::sha256(statePath());
    const QByteArray walBefore = Torture::sha256(walPath());

    // inspect (read-only) says so too.
    QString error;
    const QJsonObject seen = Torture::inspect(statePath(), false, &error);
    QVERIFY2(!seen.isEmpty(), qPrintable(error));
    const QJsonObject wal = seen.value(QStringLiteral("wal")).toObject();
    QCOMPARE(wal.value(QStringLiteral("state")).toString(), QStringLiteral("damaged"));
    QCOMPARE(wal.value(QStringLiteral("damage")).toString(), where);
    QVERIFY(wal.value(QStringLiteral("commits_dropped")).toInteger() > 0);
    QCOMPARE(Torture::sha256(statePath()), dbBefore);
    QCOMPARE(Torture::sha256(walPath()), walBefore);

    // 3. The next start.
    QuiesceProcess next({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(),
                         QStringLiteral("--log-requests"), QStringLiteral("--rate"), QStringLiteral("200"),
                         QStringLiteral("--work-ms"), QStringLiteral("1-2"), QStringLiteral("--durability"),
                         durability});
    QVERIFY(next.start());
    if (durability == QLatin1StringView("full")) {
        // Corruption: refused with one line naming the WAL, every byte left as it was.
        QVERIFY2(next.waitForExit(), next.describe());
        QVERIFY2(next.exitedNormally(), next.describe());
        QCOMPARE(next.exitCode(), 65);
        const QString err = next.stderrText().trimmed();
        QVERIFY2(!err.contains(QLatin1Char('\n')) && err.contains(walPath()) && err.contains(QStringLiteral("damaged")),
                 next.describe());
        QCOMPARE(next.indexOf(QStringLiteral("READY")), -1);
        QCOMPARE(Torture::sha256(statePath()), dbBefore);
        QCOMPARE(Torture::sha256(walPath()), walBefore);
        return;
    }

    // Durability normal: it starts, and one RECOVERY line says what SQLite dropped.
    QVERIFY2(!next.waitForLine(QStringLiteral("READY")).isEmpty(), next.describe());
    const QRegularExpression recovery(
        QStringLiteral("^RECOVERY wal=damaged damage=(\\w+) first_bad_frame=(\\d+) frames_dropped=(\\d+) "
                       "commits_dropped=(\\d+) missing_from_id=(\\d+) next_id=(\\d+): "));
    const int at = next.indexOf(recovery);
    QVERIFY2(at >= 0, next.describe());
    QCOMPARE(next.count(QStringLiteral("RECOVERY wal=")), 1);
    const QRegularExpressionMatch m = recovery.match(next.lines().at(at));
    QCOMPARE(m.captured(1), where);
    QVERIFY(m.captured(3).toLongLong() > 0 && m.captured(4).toLongLong() > 0);
    QVERIFY2(m.captured(5).toULongLong() <= highestAccepted, next.describe());
    QVERIFY2(m.captured(6).toULongLong() > highestAccepted, next.describe());

    // Ids continue above every id the killed run printed: never restarting at 1, never reused.
    for (int i = 0; i < 5; ++i) {
        const QString line = next.waitForLine(QRegularExpression(QStringLiteral("^accepted id=")));
        QVERIFY2(!line.isEmpty(), next.describe());
        QVERIFY2(idOf(line) > highestAccepted, qPrintable(line + QStringLiteral(" vs %1").arg(highestAccepted)));
    }
    QVERIFY(next.sendSignal(SIGTERM));
    QVERIFY2(next.waitForExit() && next.exitedNormally() && next.exitCode() == 0, next.describe());

    // The session record keeps it.
    const QJsonArray sessions =
        Torture::inspect(statePath(), false, &error).value(QStringLiteral("sessions")).toArray();
    QVERIFY(!sessions.isEmpty());
    const QJsonObject last = sessions.last().toObject();
    QVERIFY(last.value(QStringLiteral("clean")).toBool());
    const QJsonObject recorded = last.value(QStringLiteral("report"))
                                     .toObject()
                                     .value(QStringLiteral("recovery"))
                                     .toObject()
                                     .value(QStringLiteral("wal"))
                                     .toObject();
    QCOMPARE(recorded.value(QStringLiteral("state")).toString(), QStringLiteral("damaged"));
    QCOMPARE(recorded.value(QStringLiteral("missing_from_id")).toInteger(), m.captured(5).toLongLong());
    QVERIFY(last.value(QStringLiteral("report")).toObject().contains(QStringLiteral("phases")));
}

QTEST_GUILESS_MAIN(tst_HostileWal)
#include "tst_hostile_wal.moc"
