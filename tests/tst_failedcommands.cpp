// End to end: an operator's way back from failed (poison) requests. The journal is made with the library (failed
// rows with reasons), then the real binary runs `requeue-failed` / `purge-failed` on the real file, refuses while
// another quiesce holds it (73) and refuses a file that is not a journal untouched (65); a following run processes
// what was requeued.

#include "filesupport.h"
#include "quiesceprocess.h"
#include <Quiesce/statestore.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <csignal>
#include <memory>

using namespace std::chrono_literals;
using Quiesce::Job;
using Quiesce::JobFailure;
using Quiesce::StateStore;

class tst_FailedCommands : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void requeueFailedMakesThemPendingForTheNextRun();
    void purgeFailedDeletesThem();
    void refusedWhileARunHoldsTheJournal();
    void refusesAFileThatIsNotAJournal();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    bool makeFailedJournal(int failed, int pending);
    QJsonObject inspect();

    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_FailedCommands::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_FailedCommands::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

// Ids 1..failed failed (after 3 attempts, with a reason), the next ones pending; saved cleanly, as a run leaves it.
bool tst_FailedCommands::makeFailedJournal(int failed, int pending)
{
    StateStore store;
    Quiesce::StoreOptions options;
    options.path = statePath();
    if (!store.open(options)) {
        qWarning("%s", qPrintable(store.errorString()));
        return false;
    }
    QSignalSpy failedSpy(&store, &StateStore::failed);
    QSignalSpy accepted(&store, &StateStore::accepted);
    QList<JobFailure> failures;
    for (int i = 1; i <= failed + pending; ++i) {
        Job job;
        job.id = quint64(i);
        job.payload = "1"; // the app's payload: 1 ms of simulated work
        job.attempts = i <= failed ? 3 : 0;
        job.crashes = i <= failed ? 3 : 0;
        store.accept(job);
        if (i <= failed)
            failures.append(JobFailure {job, QStringLiteral("took its worker down 3 times")});
    }
    store.markFailed(failures);
    if (!QTest::qWaitFor([&] { return accepted.size() > 0 && failedSpy.size() > 0; }, 20000))
        return false;
    QSignalSpy saved(&store, &StateStore::saved);
    store.save({}, Quiesce::SessionRecord());
    return saved.wait(20000) && saved.at(0).at(0).toBool();
}

QJsonObject tst_FailedCommands::inspect()
{
    QuiesceProcess q({QStringLiteral("inspect"), QStringLiteral("--state"), statePath(), QStringLiteral("--ids")});
    if (!q.start() || !q.waitForExit() || q.exitCode() != 0) {
        qWarning("%s", q.describe().constData());
        return {};
    }
    return QJsonDocument::fromJson(q.stdoutText().toUtf8()).object();
}

void tst_FailedCommands::requeueFailedMakesThemPendingForTheNextRun()
{
    QVERIFY(makeFailedJournal(2, 1));
    QJsonObject state = inspect();
    QCOMPARE(state.value(QStringLiteral("counts")).toObject().value(QStringLiteral("failed")).toInt(), 2);
    const QJsonArray failed = state.value(QStringLiteral("failed")).toArray();
    QCOMPARE(failed.size(), 2);
    QCOMPARE(failed.at(0).toObject().value(QStringLiteral("reason")).toString(),
             QStringLiteral("took its worker down 3 times"));

    QuiesceProcess requeue({QStringLiteral("requeue-failed"), QStringLiteral("--state"), statePath()});
    QVERIFY(requeue.start());
    QVERIFY2(requeue.waitForExit() && requeue.exitedNormally(), requeue.describe());
    QCOMPARE(requeue.exitCode(), 0);
    QCOMPARE(requeue.lines(), QStringList {QStringLiteral("requeued 2 failed requests in %1").arg(statePath())});
    QVERIFY2(requeue.stderrText().isEmpty(), requeue.describe());
    state = inspect();
    QCOMPARE(state.value(QStringLiteral("counts")).toObject().value(QStringLiteral("failed")).toInt(), 0);
    QCOMPARE(state.value(QStringLiteral("counts")).toObject().value(QStringLiteral("pending")).toInt(), 3);

    // The next run processes them first, like any pending request, and ends idle with all three done.
    QuiesceProcess run({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                        QStringLiteral("0"), QStringLiteral("--work-ms"), QStringLiteral("0-1"),
                        QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")});
    QVERIFY(run.start());
    QVERIFY2(run.waitForExit(60s) && run.exitedNormally(), run.describe());
    QCOMPARE(run.exitCode(), 0);
    QVERIFY2(run.indexOf(QStringLiteral("RECOVERY 3 pending requests queued first")) >= 0, run.describe());
    for (const char *id : {"done id=1", "done id=2", "done id=3"})
        QVERIFY2(run.indexOf(QLatin1StringView(id)) >= 0, run.describe());
    QCOMPARE(inspect().value(QStringLiteral("counts")).toObject().value(QStringLiteral("done")).toInt(), 3);

    // Nothing failed any more: 0, still a success.
    QuiesceProcess again({QStringLiteral("requeue-failed"), QStringLiteral("--state"), statePath()});
    QVERIFY(again.start());
    QVERIFY2(again.waitForExit() && again.exitCode() == 0, again.describe());
    QCOMPARE(again.lines(), QStringList {QStringLiteral("requeued 0 failed requests in %1").arg(statePath())});
}

void tst_FailedCommands::purgeFailedDeletesThem()
{
    QVERIFY(makeFailedJournal(3, 2));
    QuiesceProcess purge({QStringLiteral("purge-failed"), QStringLiteral("--state"), statePath()});
    QVERIFY(purge.start());
    QVERIFY2(purge.waitForExit() && purge.exitedNormally() && purge.exitCode() == 0, purge.describe());
    QCOMPARE(purge.lines(), QStringList {QStringLiteral("purged 3 failed requests in %1").arg(statePath())});
    const QJsonObject state = inspect();
    const QJsonObject counts = state.value(QStringLiteral("counts")).toObject();
    QCOMPARE(counts.value(QStringLiteral("failed")).toInt(), 0);
    QCOMPARE(counts.value(QStringLiteral("pending")).toInt(), 2);
    QCOMPARE(state.value(QStringLiteral("next_id")).toInt(), 6); // their ids are never handed out again
}

void tst_FailedCommands::refusedWhileARunHoldsTheJournal()
{
    QVERIFY(makeFailedJournal(1, 0));
    QuiesceProcess run({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                        QStringLiteral("0")});
    QVERIFY(run.start());
    QVERIFY2(!run.waitForLine(QStringLiteral("READY")).isEmpty(), run.describe());
    QVERIFY2(run.indexOf(QStringLiteral("RECOVERY 1 failed requests kept")) >= 0, run.describe());
    for (const QString &command : {QStringLiteral("requeue-failed"), QStringLiteral("purge-failed")}) {
        QuiesceProcess q({command, QStringLiteral("--state"), statePath()});
        QVERIFY(q.start());
        QVERIFY2(q.waitForExit() && q.exitedNormally(), q.describe());
        QCOMPARE(q.exitCode(), 73);
        QVERIFY(q.lines().isEmpty());
        const QStringList errors = q.stderrText().trimmed().split(QLatin1Char('\n'));
        QCOMPARE(errors.size(), 1); // one clear line
        QVERIFY2(errors.first().startsWith(QLatin1StringView("quiesce: ")) && errors.first().contains(statePath()),
                 q.describe());
    }
    QVERIFY(run.sendSignal(SIGTERM));
    QVERIFY2(run.waitForExit() && run.exitCode() == 0, run.describe());
    QCOMPARE(inspect().value(QStringLiteral("counts")).toObject().value(QStringLiteral("failed")).toInt(), 1);
}

void tst_FailedCommands::refusesAFileThatIsNotAJournal()
{
    QVERIFY(TestFiles::writeBytes(statePath(), QByteArray(8192, 'x')));
    const QByteArray before = TestFiles::readBytes(statePath());
    QuiesceProcess q({QStringLiteral("purge-failed"), QStringLiteral("--state"), statePath()});
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit() && q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 65);
    QCOMPARE(q.stderrText().trimmed().count(QLatin1Char('\n')), 0);
    QVERIFY2(q.stderrText().contains(QLatin1StringView("is not an SQLite database")), q.describe());
    QCOMPARE(TestFiles::readBytes(statePath()), before);
    QCOMPARE(QDir(m_dir->path()).entryList(QDir::Files | QDir::Hidden), QStringList {QStringLiteral("state.sqlite")});
}

QTEST_GUILESS_MAIN(tst_FailedCommands)
#include "tst_failedcommands.moc"
