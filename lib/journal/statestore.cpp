#include "statestore.h"

#include <QtCore/QMutex>
#include <QtCore/QSemaphore>

#include "batchstatements_p.h"
#include "statelock_p.h"
#include "statestore_testing_p.h"
#include "statestoredb_p.h"
#include "statestoreworker_p.h"
#include "walcheck_p.h"
#include <Quiesce/exitcodes.h>
#include <Quiesce/threadowner.h>

#include <QtCore/QDateTime>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QStandardPaths>
#include <QtCore/QThread>
#include <QtCore/QVariant>
#include <QtSql/QSqlQuery>

namespace Quiesce {

namespace {

// How long the destructor waits for the store thread to commit what is queued and close. Bounded: a thread that
// does not stop by then (a hung disk) is left running rather than destroyed while running.
constexpr int kStopTimeoutMs = 10000;

} // namespace

/*! How beginOpen() hands an open to the store thread and finishOpen() takes its result. */
struct OpenHandOff
{
    // The semaphore orders the two threads; the mutex only makes the hand-off visible to ThreadSanitizer, which
    // cannot see into an uninstrumented Qt. Both live as long as the store and exist before any store thread starts,
    // which publishes them to it (an object made for each open, once the thread runs, would not be).
    QSemaphore done;
    QMutex mutex;
    StoreOptions options; //!< a copy: the caller's may be gone by the time the store thread runs the open
    StoreOpenResult result;
};

/*! The data of a StateStore (main thread only) and the steps that do not belong to its public face. */
class StateStorePrivate
{
public:
    enum class State { Closed, Open, Saving };

    explicit StateStorePrivate(StateStore *owner)
        : q(owner)
    {}

    void onBatchCommitted(const BatchResult &batch);
    void onThreadFinished();
    bool startThread(const QString &name, QString *error);
    bool stopThread(bool shutdownWorker);
    bool forwardable(const char *what);
    void setError(StoreError error, const QString &message);
    void enqueueIds(StoreChange::Kind kind, const QList<quint64> &ids, const char *what);

    StateStore *const q;
    State m_state = State::Closed;
    std::unique_ptr<ThreadOwner> m_thread; //!< the store thread; starts with the bridge's signals blocked
    StateStoreWorker *m_worker = nullptr;
    StoreOpenResult m_opened; //!< what the last open() found (error and errorString also of later failures)
    quint64 m_transactions = 0;
    quint64 m_generation = 0; //!< tells a late signal of a previous open()'s thread from the current one
    bool m_warnedClosed = false;
    bool m_intakeClosed = false; //!< closeIntake() was called: accept() is ignored
    bool m_threadAhead = false;  //!< startThread() started m_thread for the next open()
    OpenHandOff m_handOff;
    bool m_opening = false;          //!< from beginOpen() until finishOpen(): the store thread owns m_handOff's result
    bool m_openFailedAtOnce = false; //!< the last beginOpen() failed: a finishOpen() with no open in progress says so
};

StateStore::StateStore(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<StateStorePrivate>(this))
{}

StateStore::~StateStore()
{
    // An open still in progress finishes first: its connections are then closed as an open store's are.
    finishOpen();
    d->stopThread(true);
}

bool StateStorePrivate::startThread(const QString &name, QString *error)
{
    const quint64 generation = ++m_generation;
    // The owner starts it with the bridge's signals blocked, so that no SQLite system call there is interrupted
    // by them (and the handler runs on a thread that expects it).
    m_thread = std::make_unique<ThreadOwner>(new QThread);
    m_thread->setName(name);
    // No parent: it moves. It is deleted here, after the thread has ended (not with deleteLater on the store
    // thread), so that m_worker stays valid for queued invocations for as long as this object can make them.
    m_worker = new StateStoreWorker;
    m_worker->moveToThread(m_thread->thread());
    StateStorePrivate *priv = this;
    QObject::connect(
        m_thread->thread(), &QThread::finished, q,
        [priv, generation] {
            if (generation == priv->m_generation)
                priv->onThreadFinished();
        },
        Qt::QueuedConnection);
    QObject::connect(
        m_worker, &StateStoreWorker::batchCommitted, q,
        [priv](const BatchResult &batch) { priv->onBatchCommitted(batch); }, Qt::QueuedConnection);
    QObject::connect(m_worker, &StateStoreWorker::commitFailed, q, &StateStore::commitFailed, Qt::QueuedConnection);
    QObject::connect(m_worker, &StateStoreWorker::commitRecovered, q, &StateStore::commitRecovered,
                     Qt::QueuedConnection);
    QObject::connect(m_worker, &StateStoreWorker::intakeClosed, q, &StateStore::intakeClosed, Qt::QueuedConnection);
    // The driver plugin loads there first thing, while the caller goes on (creating its other threads): open()
    // finds it loaded. Queued before the start, so that it runs as soon as the thread's event loop does, not after
    // the caller has woken from start() and posted it. The sooner it is over the better beyond the open too: on a
    // busy 2-core machine the workers created meanwhile were measured to run only once the load was over.
    QMetaObject::invokeMethod(
        m_worker, [] { StateStoreDb::loadDriver(); }, Qt::QueuedConnection);
    if (!m_thread->start(error)) {
        // Never a BlockingQueuedConnection to a thread that does not run: it would wait forever. The thread never
        // ran, so both objects can go at once; nothing has touched the file.
        delete m_worker;
        m_worker = nullptr;
        m_thread.reset();
        return false;
    }
    return true;
}

bool StateStore::startThread(const QString &threadName, QString *error)
{
    if (d->m_thread)
        return true;
    QString threadError;
    if (!d->startThread(threadName, &threadError)) {
        d->setError(StoreError::SystemResource, threadError);
        if (error != nullptr)
            *error = threadError;
        return false;
    }
    d->m_threadAhead = true;
    return true;
}

bool StateStore::open(const StoreOptions &options)
{
    return beginOpen(options) && finishOpen();
}

bool StateStore::beginOpen(const StoreOptions &options)
{
    // A thread started ahead (startThread()) is this open()'s; any other means open already, still opening, or
    // still saving.
    const bool startedAhead = d->m_threadAhead;
    d->m_threadAhead = false;
    d->m_openFailedAtOnce = true; // until the open is handed over
    if (d->m_state != StateStorePrivate::State::Closed || (d->m_thread && !startedAhead)) {
        d->setError(StoreError::CannotOpen, QStringLiteral("the state store is already open"));
        return false;
    }
    QString previousPath = std::move(d->m_opened.path); // path() keeps where the previous attempt was refused
    d->m_opened = StoreOpenResult();
    d->m_opened.path = std::move(previousPath);
    d->m_transactions = 0;
    d->m_warnedClosed = false;
    d->m_intakeClosed = false;

    QString threadError;
    if (!startedAhead && !d->startThread(options.threadName, &threadError)) {
        d->setError(StoreError::SystemResource, threadError);
        return false;
    }
    // Startup only, before the event loop runs: the store thread opens, validates, migrates and recovers while the
    // caller goes on; finishOpen() waits for it.
    OpenHandOff *handOff = &d->m_handOff;
    {
        const QMutexLocker locker(&handOff->mutex);
        handOff->options = options;
    }
    d->m_opening = true;
    d->m_openFailedAtOnce = false;
    StateStoreWorker *worker = d->m_worker;
    // The store waits for this invocation before it goes (finishOpen() in the destructor), so handOff outlives it.
    QMetaObject::invokeMethod(
        d->m_worker,
        [worker, handOff] {
            StoreOptions copied;
            {
                const QMutexLocker locker(&handOff->mutex);
                copied = handOff->options;
            }
            StoreOpenResult opened = worker->open(copied);
            {
                const QMutexLocker locker(&handOff->mutex);
                handOff->result = std::move(opened);
            }
            handOff->done.release();
        },
        Qt::QueuedConnection);
    return true;
}

bool StateStore::finishOpen()
{
    const bool failedAtOnce = std::exchange(d->m_openFailedAtOnce, false);
    if (!std::exchange(d->m_opening, false))
        return !failedAtOnce && isOpen();
    // The one blocking call of this class, a plain wait (no event loop): the store thread has nothing queued before
    // the open but the driver's load (startThread()), so the wait ends as soon as the open does.
    d->m_handOff.done.acquire();
    {
        const QMutexLocker locker(&d->m_handOff.mutex);
        d->m_opened = std::move(d->m_handOff.result);
        d->m_handOff.result = StoreOpenResult();
    }
    if (d->m_opened.error != StoreError::None) {
        d->stopThread(false); // the worker closed everything already
        return false;
    }
    d->m_state = StateStorePrivate::State::Open;
    return true;
}

StoreError StateStore::error() const
{
    return d->m_opened.error;
}

QString StateStore::errorString() const
{
    return d->m_opened.errorString;
}

int StateStore::exitCode(StoreError error)
{
    switch (error) {
    case StoreError::None:
        return ExitCode::Ok;
    case StoreError::Corrupt:
    case StoreError::NewerSchema:
        return ExitCode::DataError;
    case StoreError::CannotOpen:
        return ExitCode::CantCreate;
    case StoreError::WriteFailed:
        return ExitCode::IoError;
    case StoreError::SystemResource:
        return ExitCode::OsError;
    }
    return ExitCode::IoError;
}

RecoveryInfo StateStore::recovery() const
{
    return d->m_opened.recovery;
}

qint64 StateStore::sessionId() const
{
    return d->m_opened.sessionId;
}

QString StateStore::path() const
{
    return d->m_opened.path;
}

quint64 StateStore::nextId() const
{
    return d->m_opened.nextId;
}

QList<Job> StateStore::pendingJobs() const
{
    return d->m_opened.pending;
}

bool StateStorePrivate::forwardable(const char *what)
{
    if (m_state == State::Open)
        return true;
    if (!m_warnedClosed) {
        m_warnedClosed = true;
        qCWarning(lcJournal, "%s() ignored: the store is %s", what, m_state == State::Saving ? "saving" : "not open");
    }
    return false;
}

// The changes that name jobs by id (in progress, done, requeue) differ only in their kind.
void StateStorePrivate::enqueueIds(StoreChange::Kind kind, const QList<quint64> &ids, const char *what)
{
    if (ids.isEmpty() || !forwardable(what))
        return;
    StoreChange change;
    change.kind = kind;
    change.ids = ids;
    m_worker->enqueue(std::move(change));
}

void StateStore::accept(const Job &job)
{
    // After closeIntake() a late arrival is simply not accepted: the caller learns nothing else about it.
    if (d->m_intakeClosed || !d->forwardable("accept"))
        return;
    StoreChange change;
    change.kind = StoreChange::Kind::Accept;
    change.job = job;
    d->m_worker->enqueue(std::move(change));
}

void StateStore::markInProgress(const QList<quint64> &ids)
{
    d->enqueueIds(StoreChange::Kind::InProgress, ids, "markInProgress");
}

void StateStore::markDone(const QList<quint64> &ids)
{
    d->enqueueIds(StoreChange::Kind::Done, ids, "markDone");
}

void StateStore::requeue(const QList<quint64> &ids)
{
    d->enqueueIds(StoreChange::Kind::Requeue, ids, "requeue");
}

void StateStore::requeueCrashed(const QList<quint64> &ids)
{
    d->enqueueIds(StoreChange::Kind::RequeueCrashed, ids, "requeueCrashed");
}

void StateStore::markFailed(const QList<JobFailure> &failures)
{
    if (failures.isEmpty() || !d->forwardable("markFailed"))
        return;
    StoreChange change;
    change.kind = StoreChange::Kind::Failed;
    for (const JobFailure &failure : failures) {
        change.ids.append(failure.job.id);
        change.reasons.append(failure.reason);
    }
    d->m_worker->enqueue(std::move(change));
}

void StateStore::commitSoon()
{
    if (d->m_state == StateStorePrivate::State::Open)
        d->m_worker->requestCommit();
}

void StateStore::noteSession(const QString &key, const QJsonObject &note)
{
    if (!d->forwardable("noteSession"))
        return;
    StoreChange change;
    change.kind = StoreChange::Kind::SessionNote;
    change.noteKey = key;
    change.note = note;
    d->m_worker->enqueue(std::move(change));
}

void StateStore::closeIntake(QDeadlineTimer deadline)
{
    d->m_intakeClosed = true;
    if (d->m_state != StateStorePrivate::State::Open) {
        // Nothing can be committed any more (saving or closed): keep the answer asynchronous all the same.
        QMetaObject::invokeMethod(
            this, [this] { Q_EMIT intakeClosed({}); }, Qt::QueuedConnection);
        return;
    }
    StateStoreWorker *worker = d->m_worker;
    worker->requestIntakeClose(); // thread-safe: makes a long run of batches yield to the call below
    QMetaObject::invokeMethod(
        d->m_worker, [worker, deadline] { worker->closeIntake(deadline); }, Qt::QueuedConnection);
}

void StateStore::save(const QList<quint64> &requeueIds, const SessionRecord &record)
{
    if (d->m_state != StateStorePrivate::State::Open) {
        // Keep the contract asynchronous even when there is nothing to save.
        const QString error = d->m_state == StateStorePrivate::State::Saving
            ? QStringLiteral("save() is already running")
            : QStringLiteral("the state store is not open");
        QMetaObject::invokeMethod(
            this, [this, error] { Q_EMIT saved(false, error); }, Qt::QueuedConnection);
        return;
    }
    d->m_state = StateStorePrivate::State::Saving;
    StateStoreWorker *worker = d->m_worker;
    // Queued after every change already enqueued, so save() commits them first.
    QMetaObject::invokeMethod(
        d->m_worker, [worker, requeueIds, record] { worker->save(requeueIds, record); }, Qt::QueuedConnection);
}

bool StateStore::isOpen() const
{
    return d->m_state != StateStorePrivate::State::Closed;
}

quint64 StateStore::transactionCount() const
{
    return d->m_transactions;
}

void setFailNextCommitsForTesting(int count)
{
    StateStoreWorker::s_failNextCommits.store(count < 0 ? 0 : count);
}

void setBatchStatementsOnQtSqlForTesting(bool on)
{
    BatchStatements::s_forceQtSql.store(on);
}

void StateStorePrivate::onBatchCommitted(const BatchResult &batch)
{
    ++m_transactions;
    // Accepted before completed: a job accepted and done in one batch is reported in that order.
    if (!batch.acceptedIds.isEmpty())
        Q_EMIT q->accepted(batch.acceptedIds);
    if (!batch.completedIds.isEmpty())
        Q_EMIT q->completed(batch.completedIds);
    if (!batch.failedIds.isEmpty())
        Q_EMIT q->failed(batch.failedIds);
}

void StateStorePrivate::onThreadFinished()
{
    if (m_state != State::Saving || !m_thread)
        return; // a failed open() or the destructor stopped it themselves
    // The save's outcome is read from the worker here, not sent by a queued signal of its own: the owner's thread
    // wakes once at the end of the save (for finished()), not twice.
    // finished() is emitted just before the thread really ends: the wait is bounded and short.
    bool saveOk = false;
    QString saveError = QStringLiteral("the store thread ended before save finished");
    const bool leaked = m_thread->stop(QDeadlineTimer(kStopTimeoutMs), ThreadOwner::StopRequest::AlreadyRequested)
        == ThreadOwner::StopResult::Leaked;
    m_worker->saveResult(&saveOk, &saveError); // thread-safe; the worker is never deleted while its thread runs
    if (leaked)
        qCCritical(lcJournal, "the store thread did not end; leaving it running");
    else
        delete m_worker; // its thread is gone: nothing else can touch it now
    m_thread.reset();
    m_worker = nullptr;
    m_state = State::Closed;
    if (!saveOk)
        setError(StoreError::WriteFailed, saveError);
    Q_EMIT q->saved(saveOk, saveError);
}

bool StateStorePrivate::stopThread(bool shutdownWorker)
{
    if (!m_thread)
        return true;
    ++m_generation; // whatever the old thread still queues for us is stale now
    // The worker's shutdown() commits what is queued and then ends the thread's loop itself: a quit() now could
    // end the loop before that queued call ran. Without it, the owner's quit() ends the loop.
    auto request = ThreadOwner::StopRequest::InterruptAndQuit;
    if (shutdownWorker && m_worker != nullptr && m_state != State::Closed) {
        StateStoreWorker *worker = m_worker;
        QMetaObject::invokeMethod(
            m_worker, [worker] { worker->shutdown(); }, Qt::QueuedConnection);
        request = ThreadOwner::StopRequest::AlreadyRequested;
    }
    const bool stopped = m_thread->stop(QDeadlineTimer(kStopTimeoutMs), request) != ThreadOwner::StopResult::Leaked;
    if (stopped)
        delete m_worker; // its thread is gone: nothing else can touch it now (posted events die with it)
    else
        qCCritical(lcJournal, "the store thread did not stop within %d ms; leaving it running", kStopTimeoutMs);
    m_thread.reset();
    m_worker = nullptr;
    m_state = State::Closed;
    m_threadAhead = false;
    return stopped;
}

void StateStorePrivate::setError(StoreError error, const QString &message)
{
    m_opened.error = error;
    m_opened.errorString = message;
}

bool StateStore::inspect(const QString &path, bool withIds, QByteArray *json, QString *error, int *exitCode)
{
    // The same resolution as open(): through a symlink, SQLite reads the real file, and the -wal that holds its
    // latest commits is the one next to the real file.
    const QString absolute = canonicalStatePath(path);
    const auto failed = [&](StoreError storeError, const QString &message) {
        *error = message;
        *exitCode = StateStore::exitCode(storeError);
        return false;
    };
    const QFileInfo info(absolute);
    if (!info.exists())
        return failed(StoreError::CannotOpen, storeFileMessage(absolute, QStringLiteral("does not exist")));
    if (!info.isFile())
        return failed(StoreError::CannotOpen, storeFileMessage(absolute, QStringLiteral("is not a regular file")));
    const QString notRegular = nonRegularStateFile(absolute);
    if (!notRegular.isEmpty())
        return failed(StoreError::CannotOpen, notRegular);

    // The WAL as open() would judge it, before any connection of ours maps it. A WAL another process is writing
    // can look torn at any moment, so a live one is not judged.
    QJsonObject wal;
    if (StateStoreDb::inUseByOtherProcess(absolute)) {
        wal.insert(QStringLiteral("path"), storeWalPath(absolute));
        wal.insert(QStringLiteral("state"), QStringLiteral("in_use"));
    } else {
        wal = checkWal(absolute).toJson();
    }

    // Read-only on this thread, with its own connection (works next to a running store: WAL readers never
    // block the writer nor wait for it). The connection closes before this function returns.
    StateStoreDb db("inspect");
    QString message;
    if (!db.openReadOnly(absolute, &message))
        return failed(StoreError::CannotOpen,
                      storeFileMessage(absolute, QStringLiteral("cannot be opened (%1)").arg(message)));
    StoreFileInfo schema;
    const StoreError storeError = db.classify(absolute, &schema, &message);
    if (storeError != StoreError::None)
        return failed(storeError, message);

    QJsonObject root;
    root.insert(QStringLiteral("path"), absolute);
    root.insert(QStringLiteral("schema_version"), schema.fresh ? 0 : schema.userVersion);
    QJsonObject counts {{QStringLiteral("pending"), 0},
                        {QStringLiteral("in_progress"), 0},
                        {QStringLiteral("done"), 0},
                        {QStringLiteral("failed"), 0}};
    QJsonArray sessions;
    qint64 nextId = 1;
    QJsonObject ids {{QStringLiteral("pending"), QJsonArray()},
                     {QStringLiteral("in_progress"), QJsonArray()},
                     {QStringLiteral("done"), QJsonArray()},
                     {QStringLiteral("failed"), QJsonArray()}};
    QJsonArray failedJobs;

    if (!schema.fresh) {
        // A v1 journal (not upgraded yet: inspect never writes) read through the v2 names.
        const bool v1 = schema.userVersion == 1;
        const QString table = v1 ? QStringLiteral("requests") : QStringLiteral("jobs");
        const QString rows = v1 ? QStringLiteral("(SELECT id, CASE state WHEN 'pending' THEN 0 WHEN 'in_progress' "
                                                 "THEN 1 ELSE 2 END AS state, NULL AS reason, attempts, 0 AS crashes "
                                                 "FROM requests)")
                                : table;
        // One read transaction: counts, ids and sessions come from the same snapshot.
        const auto readFailed = [&](const QSqlQuery &query) {
            const QString text = StateStoreDb::queryError(query);
            return failed(StateStoreDb::errorForCode(StateStoreDb::primaryCode(query)),
                          storeFileMessage(absolute, QStringLiteral("cannot be read (%1)").arg(text)));
        };
        QString ignored;
        if (!db.exec(QStringLiteral("BEGIN"), &message))
            return failed(StoreError::CannotOpen,
                          storeFileMessage(absolute, QStringLiteral("cannot be read (%1)").arg(message)));
        bool ok = true;
        {
            QSqlQuery query(db.database());
            ok = query.exec(QStringLiteral("SELECT state, COUNT(*) FROM %1 GROUP BY state").arg(rows));
            if (!ok)
                return readFailed(query);
            while (query.next())
                counts.insert(jobStateName(query.value(0).toInt()), query.value(1).toLongLong());

            ok = query.exec(StoreSql::nextId(table));
            if (!ok)
                return readFailed(query);
            if (query.next())
                nextId = query.value(0).toLongLong();

            ok = query.exec(QStringLiteral("SELECT id, pid, started, ended, clean, reason, sender, exit_code, report "
                                           "FROM sessions ORDER BY id"));
            if (!ok)
                return readFailed(query);
            const auto orNull = [](const QVariant &value, QJsonValue present) {
                return value.isNull() ? QJsonValue(QJsonValue::Null) : present;
            };
            while (query.next()) {
                QJsonObject session;
                session.insert(QStringLiteral("id"), query.value(0).toLongLong());
                session.insert(QStringLiteral("pid"), query.value(1).toLongLong());
                session.insert(QStringLiteral("started"), query.value(2).toString());
                session.insert(QStringLiteral("ended"), orNull(query.value(3), query.value(3).toString()));
                session.insert(QStringLiteral("clean"), query.value(4).toInt() != 0);
                session.insert(QStringLiteral("reason"), orNull(query.value(5), query.value(5).toString()));
                session.insert(QStringLiteral("sender"), orNull(query.value(6), query.value(6).toLongLong()));
                session.insert(QStringLiteral("exit_code"), orNull(query.value(7), query.value(7).toInt()));
                const QJsonDocument report = QJsonDocument::fromJson(query.value(8).toString().toUtf8());
                session.insert(QStringLiteral("report"),
                               report.isObject() ? QJsonValue(report.object()) : QJsonValue(QJsonValue::Null));
                sessions.append(session);
            }

            if (withIds) {
                ok = query.exec(
                    QStringLiteral("SELECT id, state, reason, attempts, crashes FROM %1 ORDER BY id").arg(rows));
                if (!ok)
                    return readFailed(query);
                QJsonArray lists[4];
                while (query.next()) {
                    const int state = query.value(1).toInt();
                    if (state < 0 || state > 3)
                        continue; // the CHECK makes it impossible
                    lists[state].append(query.value(0).toLongLong());
                    if (JobState(state) == JobState::Failed)
                        failedJobs.append(QJsonObject {{QStringLiteral("id"), query.value(0).toLongLong()},
                                                       {QStringLiteral("reason"), query.value(2).toString()},
                                                       {QStringLiteral("attempts"), query.value(3).toInt()},
                                                       {QStringLiteral("crashes"), query.value(4).toInt()}});
                }
                for (int state = 0; state < 4; ++state)
                    ids.insert(jobStateName(state), lists[state]);
            }
        }
        db.exec(QStringLiteral("COMMIT"), &ignored);
    }

    root.insert(QStringLiteral("counts"), counts);
    root.insert(QStringLiteral("next_id"), nextId);
    root.insert(QStringLiteral("sessions"), sessions);
    root.insert(QStringLiteral("wal"), wal);
    if (withIds) {
        root.insert(QStringLiteral("ids"), ids);
        root.insert(QStringLiteral("failed"), failedJobs);
    }
    *json = QJsonDocument(root).toJson(QJsonDocument::Indented);
    error->clear();
    *exitCode = 0;
    return true;
}

bool StateStore::moveAside(const QString &path, QString *movedTo, QString *error)
{
    // Resolved as open() resolves it: through a symlink, the real journal (and the -wal/-shm next to it) is what
    // is moved, under the same lock open() takes. The link is left as it is (dangling until the caller opens the
    // real path again, which path() of the store that refused the file names), so it then points at the fresh one.
    const QString absolute = canonicalStatePath(path);
    const QString wal = storeWalPath(absolute);
    const QString shm = storeShmPath(absolute);
    const auto refuse = [&](const QString &what) {
        *error = storeFileMessage(absolute, what);
        return false;
    };
    // A dangling link resolves to itself; QFileInfo::isSymLink() looks at the link (lstat), never follows it.
    const QFileInfo file(absolute);
    if (file.isSymLink())
        return refuse(QStringLiteral("is a dangling symbolic link; not moving it"));
    if (!file.exists())
        return refuse(QStringLiteral("does not exist"));
    if (!file.isFile())
        return refuse(QStringLiteral("is not a regular file; not moving it"));
    const QString notRegular = nonRegularStateFile(absolute);
    if (!notRegular.isEmpty()) {
        *error = notRegular;
        return false;
    }

    // Never pull the journal from under a running instance (or another SQLite user).
    StateLock lock;
    QString message;
    if (!lock.acquire(absolute, &message)) {
        *error = QString(message + QStringLiteral("; not moving it"));
        return false;
    }
    if (StateStoreDb::inUseByOtherProcess(absolute))
        return refuse(QStringLiteral("is open in another process; not moving it"));

    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString target = QString(absolute + QStringLiteral(".corrupt-") + stamp);
    for (int n = 2; QFileInfo::exists(target) || QFileInfo::exists(storeWalPath(target))
         || QFileInfo::exists(storeShmPath(target));
         ++n) {
        target = QStringLiteral("%1.corrupt-%2-%3").arg(absolute, stamp).arg(n);
    }

    // Side files first: should the main file fail to move, they are put back; the other way round a -wal could
    // be left next to a missing main file, and SQLite deletes the WAL of a new, empty database.
    QStringList moved;
    for (const QString &side : {wal, shm}) {
        if (!QFileInfo::exists(side))
            continue;
        const QString sideTarget = side == wal ? storeWalPath(target) : storeShmPath(target);
        if (!QFile::rename(side, sideTarget)) {
            for (const QString &back : std::as_const(moved))
                QFile::rename(back == wal ? storeWalPath(target) : storeShmPath(target), back);
            return refuse(QStringLiteral("cannot be moved aside (renaming %1 failed)").arg(side));
        }
        moved.append(side);
    }
    QFile main(absolute);
    if (!main.rename(target)) {
        const QString reason = main.errorString();
        for (const QString &back : std::as_const(moved))
            QFile::rename(back == wal ? storeWalPath(target) : storeShmPath(target), back);
        return refuse(QStringLiteral("cannot be moved aside (%1)").arg(reason));
    }
    *movedTo = target;
    error->clear();
    return true;
}

FailedJobsResult StateStore::requeueFailed(const QString &path)
{
    return StateStoreWorker::operateOnFailed(path, StateStoreWorker::FailedOperation::Requeue);
}

FailedJobsResult StateStore::purgeFailed(const QString &path)
{
    return StateStoreWorker::operateOnFailed(path, StateStoreWorker::FailedOperation::Purge);
}

QString StateStore::defaultPath()
{
    return QString(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/state.sqlite"));
}

} // namespace Quiesce
