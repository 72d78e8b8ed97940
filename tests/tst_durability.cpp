// End-to-end: nothing accepted is lost. kill -9 the real binary mid-run, restart it, and check with
// `quiesce inspect` that every id it ever printed as accepted is done; bad state files are refused untouched.
#include "quiesceprocess.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <csignal>

using namespace std::chrono_literals;

namespace {

QByteArray sha256(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

QSet<quint64> idsWithPrefix(const QStringList &lines, const QString &prefix)
{
    QSet<quint64> ids;
    for (const QString &l : lines) {
        if (l.startsWith(prefix))
            ids.insert(l.mid(prefix.size()).toULongLong());
    }
    return ids;
}

} // namespace

class tst_Durability : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void killNineLosesNothingAccepted();
    void inspectWhileRunning();
    void refusesBadStateUntouched_data();
    void refusesBadStateUntouched();
    void resetStateMovesItAside();
    void unwritableStateExits73();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QJsonObject inspect(bool ids);
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_Durability::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_Durability::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QJsonObject tst_Durability::inspect(bool ids)
{
    QStringList a {QStringLiteral("inspect"), QStringLiteral("--state"), statePath()};
    if (ids)
        a << QStringLiteral("--ids");
    QuiesceProcess q(a);
    if (!q.start() || !q.waitForExit() || q.exitCode() != 0) {
        qWarning("%s", q.describe().constData());
        return {};
    }
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(q.stdoutText().toUtf8(), &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("inspect printed no JSON: %s\n%s", qPrintable(error.errorString()), q.describe().constData());
    return doc.object();
}

void tst_Durability::killNineLosesNothingAccepted()
{
    QSet<quint64> everAccepted;
    // Several rounds of kill -9 at a point where work is surely in flight, on the same state file.
    for (int round = 0; round < 3; ++round) {
        QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(),
                          QStringLiteral("--rate"), QStringLiteral("300"), QStringLiteral("--workers"),
                          QStringLiteral("3"), QStringLiteral("--work-ms"), QStringLiteral("5-60"),
                          QStringLiteral("--seed"), QString::number(round + 1), QStringLiteral("--log-requests")});
        QVERIFY(q.start());
        QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
        if (round > 0)
            QVERIFY2(q.indexOf(QStringLiteral("RECOVERY previous run")) >= 0, q.describe());
        // Enough accepted and some done, so some are surely in progress when the kill lands.
        QRegularExpression enough(QStringLiteral("^accepted id="));
        for (int i = 0; i < 30; ++i)
            QVERIFY2(!q.waitForLine(enough).isEmpty(), q.describe());
        QVERIFY(q.sendSignal(SIGKILL));
        QVERIFY(q.waitForExit());
        QVERIFY(!q.exitedNormally());
        everAccepted += idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    }
    QVERIFY(everAccepted.size() >= 90);

    // The last run only finishes what is left and stops.
    QuiesceProcess last({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                         QStringLiteral("0"), QStringLiteral("--work-ms"), QStringLiteral("0-2"),
                         QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")});
    QVERIFY(last.start());
    QVERIFY2(last.waitForExit(60s), last.describe());
    QVERIFY2(last.exitedNormally() && last.exitCode() == 0, last.describe());
    QVERIFY2(last.indexOf(QRegularExpression(QStringLiteral("^RECOVERY previous run \\(pid \\d+\\) ended uncleanly")))
                 >= 0,
             last.describe());

    const QJsonObject state = inspect(true);
    QVERIFY(!state.isEmpty());
    QSet<quint64> done;
    const QJsonArray doneIds = state.value(QStringLiteral("ids")).toObject().value(QStringLiteral("done")).toArray();
    for (const QJsonValue &v : doneIds)
        done.insert(quint64(v.toDouble()));
    const QSet<quint64> lost = everAccepted - done;
    QVERIFY2(lost.isEmpty(),
             qPrintable(QStringLiteral("%1 accepted ids are not done, e.g. %2")
                            .arg(lost.size())
                            .arg(lost.isEmpty() ? 0 : *lost.cbegin())));
    const QJsonObject counts = state.value(QStringLiteral("counts")).toObject();
    QCOMPARE(counts.value(QStringLiteral("pending")).toInteger(), qint64(0));
    QCOMPARE(counts.value(QStringLiteral("in_progress")).toInteger(), qint64(0));

    // The sessions: three unclean ones (killed), then one clean with its report.
    const QJsonArray sessions = state.value(QStringLiteral("sessions")).toArray();
    QCOMPARE(sessions.size(), 4);
    for (int i = 0; i < 3; ++i)
        QVERIFY(!sessions.at(i).toObject().value(QStringLiteral("clean")).toBool());
    const QJsonObject final = sessions.at(3).toObject();
    QVERIFY(final.value(QStringLiteral("clean")).toBool());
    QCOMPARE(final.value(QStringLiteral("reason")).toString(), QStringLiteral("idle"));
    QCOMPARE(final.value(QStringLiteral("exit_code")).toInt(), 0);
}

void tst_Durability::inspectWhileRunning()
{
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                      QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("10"), QStringLiteral("--work-ms"),
                      QStringLiteral("1"), QStringLiteral("--log-requests")});
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    for (int i = 0; i < 10; ++i)
        QVERIFY2(!q.waitForLine(QStringLiteral("done id=")).isEmpty(), q.describe());
    const QByteArray before = sha256(statePath());

    const QJsonObject state = inspect(true);
    QCOMPARE(state.value(QStringLiteral("counts")).toObject().value(QStringLiteral("done")).toInteger(), qint64(10));
    const QJsonArray sessions = state.value(QStringLiteral("sessions")).toArray();
    QCOMPARE(sessions.size(), 1); // the running one, not ended yet
    QVERIFY(!sessions.at(0).toObject().value(QStringLiteral("clean")).toBool());
    QCOMPARE(sha256(statePath()), before); // read-only

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    const QJsonObject after = inspect(false);
    const QJsonObject session = after.value(QStringLiteral("sessions")).toArray().at(0).toObject();
    QVERIFY(session.value(QStringLiteral("clean")).toBool());
    QCOMPARE(session.value(QStringLiteral("reason")).toString(), QStringLiteral("sigterm"));
    QVERIFY(session.value(QStringLiteral("report")).toObject().contains(QStringLiteral("phases")));
    // Closed properly: the WAL was checkpointed and truncated.
    QVERIFY(!QFile::exists(statePath() + QStringLiteral("-wal"))
            || QFileInfo(statePath() + QStringLiteral("-wal")).size() == 0);
}

void tst_Durability::refusesBadStateUntouched_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("code");
    QTest::newRow("not sqlite") << QByteArray("hello, I am a text file\n").repeated(100) << 65;
    QByteArray header("SQLite format 3\0", 16);
    QTest::newRow("truncated sqlite") << header + QByteArray(84, '\x01') << 65;
}

void tst_Durability::refusesBadStateUntouched()
{
    QFETCH(QByteArray, content);
    QFETCH(int, code);
    {
        QFile f(statePath());
        QVERIFY(f.open(QIODevice::WriteOnly));
        QCOMPARE(f.write(content), qint64(content.size()));
    }
    const QByteArray before = sha256(statePath());
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath()});
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), code);
    const QString err = q.stderrText().trimmed();
    QVERIFY2(!err.contains(QLatin1Char('\n')) && err.contains(statePath()), q.describe());
    QVERIFY2(err.contains(QStringLiteral("--reset-state")), q.describe());
    QCOMPARE(sha256(statePath()), before);
    QVERIFY(!QFile::exists(statePath() + QStringLiteral("-wal")));
    QVERIFY(!QFile::exists(statePath() + QStringLiteral("-journal")));
}

void tst_Durability::resetStateMovesItAside()
{
    const QByteArray junk("definitely not a database\n");
    {
        QFile f(statePath());
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(junk);
    }
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                      QStringLiteral("0"), QStringLiteral("--reset-state"), QStringLiteral("--exit-when-idle")});
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("STATE ")) >= 0, q.describe());
    const QStringList aside = QDir(m_dir->path()).entryList({QStringLiteral("state.sqlite.corrupt-*")}, QDir::Files);
    QCOMPARE(aside.size(), 1);
    QFile moved(m_dir->filePath(aside.first()));
    QVERIFY(moved.open(QIODevice::ReadOnly));
    QCOMPARE(moved.readAll(), junk);                                                // kept, byte for byte
    QCOMPARE(inspect(false).value(QStringLiteral("sessions")).toArray().size(), 1); // a fresh state
}

void tst_Durability::unwritableStateExits73()
{
    // A state path that is a directory: cannot be opened for writing, whatever our privileges.
    QVERIFY(QDir(m_dir->path()).mkdir(QStringLiteral("state.sqlite")));
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath()});
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit() && q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 73);
    QVERIFY2(q.stderrText().contains(statePath()), q.describe());
}

QTEST_GUILESS_MAIN(tst_Durability)
#include "tst_durability.moc"
