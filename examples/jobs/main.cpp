// Hashes files (SHA-256) on a pool of worker threads, with a journal that keeps the work across stops and crashes:
//
//   jobs_hasher --state hashes.sqlite [--workers N] [--throttle-ms MS] [--drain-ms MS] [--exit-when-idle] FILE...
//
// Every FILE becomes a job (its path is the payload) that counts once the journal committed it. SIGTERM or Ctrl+C
// stops in order: no new job starts, running ones may finish within the drain budget, the rest are cancelled and
// given back, and the journal is saved. Jobs not finished stay pending and run first at the next start (with or
// without new files), so no file is lost; a job may run again after a stop (at-least-once), which hashing allows.
#include <Quiesce/exitcodes.h>
#include <Quiesce/job.h>
#include <Quiesce/shutdowncoordinator.h>
#include <Quiesce/statestore.h>
#include <Quiesce/unixsignalnotifier.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QMutex>
#include <QtCore/QTextStream>

#include <csignal>

using namespace std::chrono_literals;
using namespace Quiesce;

namespace {

void say(const QString &line)
{
    QTextStream(stdout) << line << Qt::endl;
}

// The digests the job function computed, keyed by job id; worker threads write, the main thread takes.
class Digests
{
public:
    void put(quint64 id, const QByteArray &digest)
    {
        QMutexLocker lock(&m_mutex);
        m_digests.insert(id, digest);
    }
    QByteArray take(quint64 id)
    {
        QMutexLocker lock(&m_mutex);
        return m_digests.take(id);
    }

private:
    QMutex m_mutex;
    QHash<quint64, QByteArray> m_digests;
};

// Runs on a worker thread. Cancellable: it looks at its token between chunks (64 KiB, a few milliseconds of work)
// and gives the job back when asked; the optional throttle waits on the token too, so it never delays a stop.
JobFunction hashFile(Digests *digests, std::chrono::milliseconds throttle)
{
    return [digests, throttle](const Job &job, JobContext &context) -> JobResult {
        QFile file(QString::fromUtf8(job.payload));
        if (!file.open(QIODevice::ReadOnly))
            return {JobOutcome::Failed, file.errorString()}; // never succeeds: kept as failed, not retried
        QCryptographicHash hash(QCryptographicHash::Sha256);
        const qint64 size = file.size();
        QByteArray chunk(64 * 1024, Qt::Uninitialized);
        for (;;) {
            if (context.isCancellationRequested())
                return JobOutcome::GiveBack; // requeued; hashed again from the start later
            const qint64 n = file.read(chunk.data(), chunk.size());
            if (n < 0)
                return {JobOutcome::Failed, file.errorString()};
            if (n == 0)
                break;
            hash.addData(QByteArrayView(chunk.constData(), n));
            if (size > 0)
                context.setProgress(int(file.pos() * 100 / size));
            if (throttle > 0ms && context.waitForCancellation(QDeadlineTimer(throttle)))
                return JobOutcome::GiveBack;
        }
        digests->put(job.id, hash.result().toHex());
        return JobOutcome::Done;
    };
}

} // namespace

int main(int argc, char *argv[])
{
    UnixSignalNotifier bridge;
    if (!bridge.watch({SIGTERM, SIGINT})) {
        QTextStream(stderr) << "jobs: " << bridge.errorString() << Qt::endl;
        return ExitCode::OsError;
    }
    QCoreApplication app(argc, argv);

    QCommandLineParser parser;
    parser.addOptions(
        {{QStringLiteral("state"), QStringLiteral("The journal."), QStringLiteral("path")},
         {QStringLiteral("workers"), QStringLiteral("Worker threads."), QStringLiteral("n"), QStringLiteral("2")},
         {QStringLiteral("throttle-ms"), QStringLiteral("Pause between chunks."), QStringLiteral("ms"),
          QStringLiteral("0")},
         {QStringLiteral("drain-ms"), QStringLiteral("Budget of the drain."), QStringLiteral("ms"),
          QStringLiteral("3000")},
         {QStringLiteral("exit-when-idle"), QStringLiteral("Stop once every job is done.")}});
    parser.addPositionalArgument(QStringLiteral("files"), QStringLiteral("Files to hash."), QStringLiteral("FILE..."));
    parser.process(app);
    if (!parser.isSet(QStringLiteral("state"))) {
        QTextStream(stderr) << "jobs: --state is required" << Qt::endl;
        return ExitCode::Usage;
    }

    StateStore store; // opened first: recovery decides what is pending before any new job
    if (!store.open({parser.value(QStringLiteral("state")), Durability::Normal})) {
        QTextStream(stderr) << "jobs: " << store.errorString() << Qt::endl;
        return StateStore::exitCode(store.error());
    }
    Digests digests;
    WorkerPool pool;
    pool.setThreadNamePrefix(QStringLiteral("hasher-"));
    pool.setJobFunction(
        hashFile(&digests, std::chrono::milliseconds(parser.value(QStringLiteral("throttle-ms")).toInt())));

    // The journal follows the pool: started -> in progress, done -> done, given back -> pending, failed -> failed.
    QObject::connect(&pool, &WorkerPool::jobsStarted, &store, &StateStore::markInProgress);
    QObject::connect(&pool, &WorkerPool::jobsDone, &store, [&](const QList<Job> &jobs) {
        store.markDone(idsOf(jobs));
        for (const Job &job : jobs)
            say(QStringLiteral("done id=%1 sha256=%2 path=%3")
                    .arg(job.id)
                    .arg(QString::fromLatin1(digests.take(job.id)), QString::fromUtf8(job.payload)));
    });
    QObject::connect(&pool, &WorkerPool::jobsGivenBack, &store, [&](const QList<Job> &jobs) {
        store.requeue(idsOf(jobs));
        for (const Job &job : jobs)
            say(QStringLiteral("given back id=%1").arg(job.id));
    });
    QObject::connect(&pool, &WorkerPool::jobsFailed, &store, [&](const QList<JobFailure> &failures) {
        store.markFailed(failures);
        for (const JobFailure &f : failures)
            say(QStringLiteral("failed id=%1 reason=%2").arg(f.job.id).arg(f.reason));
    });

    // A job counts once its row is committed: only then does it go to the pool.
    QHash<quint64, Job> accepting;
    const QStringList files = parser.positionalArguments();
    QObject::connect(&store, &StateStore::accepted, &pool, [&](const QList<quint64> &ids) {
        for (quint64 id : ids)
            pool.submit(accepting.take(id));
        if (accepting.isEmpty())
            say(QStringLiteral("ready pid=%1 new=%2").arg(QCoreApplication::applicationPid()).arg(files.size()));
    });

    ShutdownCoordinator coordinator;
    coordinator.setOutput(say);
    coordinator.addPhase(QStringLiteral("stop-intake"), PhaseOrder::StopIntake, 1s, [&](ShutdownPhaseContext *phase) {
        pool.stopIntake(); // queued jobs stay queued: they are pending in the journal for the next start
        QObject::connect(&store, &StateStore::intakeClosed, phase, [phase] { phase->complete(); });
        store.closeIntake(phase->deadline());
    });
    coordinator.addPhase(
        QStringLiteral("drain"), PhaseOrder::Drain,
        std::chrono::milliseconds(parser.value(QStringLiteral("drain-ms")).toInt()), [&](ShutdownPhaseContext *phase) {
            if (pool.inFlightCount() == 0 || phase->mode() != ShutdownMode::Graceful) {
                phase->complete();
                return;
            }
            QObject::connect(&pool, &WorkerPool::drained, phase, [phase] { phase->complete(); });
            QObject::connect(phase, &ShutdownPhaseContext::modeChanged, phase, [phase] { phase->complete(); });
            pool.drain();
        });
    coordinator.addPhase(QStringLiteral("cancel"), PhaseOrder::Cancel, 1s, [&](ShutdownPhaseContext *phase) {
        auto completeWhenEmpty = [&pool, phase] {
            if (pool.inFlightCount() == 0)
                phase->complete();
        };
        QObject::connect(&pool, &WorkerPool::jobsGivenBack, phase, completeWhenEmpty);
        QObject::connect(&pool, &WorkerPool::jobsDone, phase, completeWhenEmpty);
        pool.cancel();
        completeWhenEmpty();
    });
    coordinator.addPhase(QStringLiteral("save"), PhaseOrder::Save, 3s, [&](ShutdownPhaseContext *phase) {
        QList<quint64> stillBusy; // a job that did not give up in time is pending again, like a cancelled one
        for (const WorkerSnapshot &worker : pool.snapshot()) {
            if (worker.busy)
                stillBusy.append(worker.jobId);
        }
        QObject::connect(&store, &StateStore::saved, phase, [phase](bool ok, const QString &error) {
            ok ? phase->complete() : phase->fail(ExitCode::IoError, error);
        });
        const ShutdownReport report = phase->report();
        store.save(stillBusy, {report.request.reason, report.request.senderPid, report.exitCode, report.toJson()});
    });
    coordinator.addPhase(QStringLiteral("stop-threads"), PhaseOrder::StopThreads, 2s, [&](ShutdownPhaseContext *phase) {
        QObject::connect(&pool, &WorkerPool::stopped, phase, [phase](const StopReport &report) {
            report.allStopped ? phase->complete() : phase->fail(0, report.describe());
        });
        pool.stop(QDeadlineTimer(1500ms));
    });
    QObject::connect(&bridge, &UnixSignalNotifier::received, &coordinator, [&](const SignalEvent &e) {
        for (quint64 i = 0; i < e.distinctCount(); ++i) // a second signal stops fast, a third at once
            coordinator.requestShutdown({e.name(), e.signo, e.senderPid});
    });
    if (parser.isSet(QStringLiteral("exit-when-idle"))) {
        QObject::connect(&pool, &WorkerPool::idle, &coordinator, [&] {
            if (!coordinator.isShuttingDown()) // a second request would mean "stop fast"
                coordinator.requestShutdown({QStringLiteral("idle")});
        });
    }

    // What the previous run left pending (cancelled, never started, or in progress at a crash) runs first.
    const QList<Job> pending = store.pendingJobs();
    say(QStringLiteral("pending=%1 recovered=%2").arg(pending.size()).arg(store.recovery().recovered));
    if (!pool.start(parser.value(QStringLiteral("workers")).toInt())) {
        QTextStream(stderr) << "jobs: " << pool.errorString() << Qt::endl;
        return ExitCode::OsError;
    }
    for (const Job &job : pending)
        pool.submit(job);
    quint64 id = store.nextId();
    for (const QString &file : files) {
        Job job {id++, file.toUtf8()};
        accepting.insert(job.id, job);
        store.accept(job);
    }
    coordinator.setReady();
    if (files.isEmpty())
        say(QStringLiteral("ready pid=%1 new=0").arg(QCoreApplication::applicationPid()));
    if (files.isEmpty() && pending.isEmpty() && parser.isSet(QStringLiteral("exit-when-idle")))
        coordinator.requestShutdown({QStringLiteral("idle")});
    return app.exec();
}
