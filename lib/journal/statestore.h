#pragma once

#include <Quiesce/quiesce_journal_export.h>

#include <Quiesce/job.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <memory>

class QThread;

namespace Quiesce {

class StateStorePrivate;

/*! How hard a commit waits for the disk. The store always runs SQLite in WAL mode. */
enum class Durability {
    Normal, //!< synchronous=NORMAL: a committed batch survives a crash of the process (kill -9)
    Full,   //!< synchronous=FULL: a committed batch also survives a power loss (one fsync per batch)
};

/*! Why open() (or the save phase) failed. exitCode() maps each to a sysexits(3) code. */
enum class StoreError {
    None,
    Corrupt,     //!< not SQLite, truncated, damaged or another application's database (65, EX_DATAERR)
    NewerSchema, //!< written by a newer Quiesce whose schema this build does not know (65, EX_DATAERR)
    CannotOpen,  //!< a directory, FIFO or other non-regular file (or one at -wal/-shm/.lock), not writable, in use (73)
    WriteFailed, //!< a write or commit failed (disk full, I/O error) (74, EX_IOERR)
    SystemResource, //!< the store thread could not be started (71, EX_OSERR); the file was not touched
};

/*! Where the journal lives and how it commits. */
struct QUIESCE_JOURNAL_EXPORT StoreOptions
{
    QString path;                               //!< the journal file; open() creates it and its directory
    Durability durability = Durability::Normal; //!< how hard a commit waits for the disk
    int flushIntervalMs = 5;                    //!< a queued change waits at most this long before its batch commits
    int maxBatch = 1000;                        //!< a batch commits as soon as this many changes are queued
    /*! Done rows last updated longer ago than this are deleted at open() (in bounded batches); 0 keeps every
        done row forever. Pending, in progress and failed rows are never pruned. */
    qint64 keepDoneMs = qint64(7) * 24 * 60 * 60 * 1000;
    QString threadName = QStringLiteral("journal"); //!< the store thread's name (15 characters at most on Linux)
};

/*! What open() found and repaired. */
struct QUIESCE_JOURNAL_EXPORT RecoveryInfo
{
    bool previousUnclean = false; //!< the previous session never recorded a clean end (crash, kill -9)
    qint64 previousSessionId = 0; //!< 0 when there was no previous session
    qint64 previousPid = 0;       //!< the process of the previous session
    quint64 recovered = 0;        //!< rows that were in_progress and are pending again
    quint64 pending = 0;          //!< every pending row after recovery
    quint64 failed = 0;           //!< rows in state failed (poison jobs an operator may requeue or purge)
    quint64 pruned = 0;           //!< done rows deleted by the retention (StoreOptions::keepDoneMs)
    /*! The journal was written by an older schema and was upgraded in place; the file as it was is kept at
        backupPath. */
    int migratedFrom = 0;
    QString backupPath; //!< the copy made before the upgrade (SQLite's backup API), or empty

    /*! The previous session's report holds a "stuck" object (noteSession()): a step of its quit path overran with
        a worker stuck on a request, and that worker was still stuck when the session ended (or it never ended). */
    bool previousStuck = false;
    quint64 previousStuckRequest = 0; //!< the job, 0 if unknown
    QString previousStuckWorker;      //!< its worker thread (WorkerSnapshot::threadName)
    QString previousStuckPhase;       //!< the step that overran, "drain" or "cancel"

    // The write-ahead log as SQLite's recovery found it (checked before SQLite opened it; docs/ARCHITECTURE.md).
    bool walDamaged = false;       //!< committed transactions in the WAL failed SQLite's checks and were dropped
    bool walHeaderDamaged = false; //!< walDamaged because of its header: SQLite ignored the whole WAL
    bool walTorn = false; //!< only an uncommitted tail was dropped (a transaction in flight at the crash): no loss
    quint64 walFramesDropped = 0;  //!< frames of the current WAL generation SQLite dropped
    quint64 walCommitsDropped = 0; //!< commit frames (transactions) among them
    quint64 walFirstBadFrame = 0;  //!< 1-based number of the first damaged frame; 0 for header damage or none
    /*! The highest job id in the journal after recovery (0: none): with walDamaged, jobs accepted above it
        may be missing. */
    quint64 highestId = 0;
};

/*! The end of a session, written by save(): why it stopped, who asked, the exit code and the shutdown report. */
struct QUIESCE_JOURNAL_EXPORT SessionRecord
{
    QString reason;       //!< why it stopped ("sigterm", "idle", ...)
    qint64 senderPid = 0; //!< who asked (0: the kernel, a terminal, or nobody)
    int exitCode = 0;     //!< the process's exit code
    QJsonObject report;   //!< phases, counts, ... as the coordinator reports them
};

/*! \brief The result of an operator's requeueFailed() or purgeFailed(). */
struct QUIESCE_JOURNAL_EXPORT FailedJobsResult
{
    bool ok = false;   //!< the change was committed
    quint64 count = 0; //!< rows requeued or deleted
    QString error;     //!< one line naming the path, when !ok
    int exitCode = 0;  //!< 0, or 65 (corrupt, newer), 73 (in use, cannot open), 74 (write failed)
};

/*! \brief The durable journal of jobs and sessions: SQLite (Qt Sql) on its own thread.

    Every job is a row in state pending, in_progress, done or failed (schema v2: docs/ARCHITECTURE.md). A job
    counts as accepted only once the
    transaction holding its row has committed: accepted() says so. Changes from the main thread are queued in
    memory and committed in batches (group commit: one transaction, and at most one fsync, per batch); a failed
    batch is rolled back completely and retried with backoff, never half-applied.

    The store thread (StoreOptions::threadName) owns every connection it uses, blocks the signal bridge's signals, and
   ends in save(). After a crash, the next open() finds the previous session without a clean end and turns its
    in_progress rows back into pending ones (at-least-once).

    A file that is not this application's SQLite database, is damaged, or was written by a newer schema is
    refused and left byte-for-byte untouched (validated read-only before anything writes). A 0-byte file is an
    empty SQLite database by SQLite's own rules and is initialised like a missing one.

    A journal of an older schema is copied to `<name>.v1-backup` (SQLite's backup API) and upgraded in place, in
    one transaction, keeping every row. Done rows older than StoreOptions::keepDoneMs are pruned at open().

    \code
    Quiesce::StateStore store;
    Quiesce::StoreOptions options;
    options.path = Quiesce::StateStore::defaultPath();
    if (!store.open(options))
        return Quiesce::StateStore::exitCode(store.error()); // one line in store.errorString()
    for (const Quiesce::Job &job : store.pendingJobs())
        pool.submit(job); // left over from the previous run: first
    store.accept(job);    // then new work: accepted() says when it counts
    \endcode */
class QUIESCE_JOURNAL_EXPORT StateStore : public QObject
{
    Q_OBJECT

public:
    /*! A closed store; open() opens it. */
    explicit StateStore(QObject *parent = nullptr);
    /*! If still open: commits what is queued, closes the connections and stops the thread (bounded). The
        session is NOT marked clean: only save() does that, so a store destroyed without save() looks like a
        crash to the next open(). */
    ~StateStore() override;

    /*! \brief Starts the store thread (named \a threadName) ahead of open(), which then uses it, and loads the SQL
        driver plugin there meanwhile; no file is touched. For an application that creates its other threads before
        it opens the journal: the driver loads while it does. False with \a error (and error() SystemResource,
        exit 71) when the thread cannot be created. Optional: open() starts the thread itself; true at once when a
        thread is already there. */
    bool startThread(const QString &threadName, QString *error = nullptr);
    /*! \brief Startup only: blocks the caller while the store thread opens, validates, migrates, starts a
        session and recovers. On failure returns false with error()/errorString() (one line naming the path); the
        file is then left byte-for-byte untouched and no -wal/-shm/lock file is left behind. May be called again
        after a failure. */
    bool open(const StoreOptions &options);
    /*! \brief The first half of open(), for a caller with other work to do while the journal opens: hands the open to
        the store thread (starting it, as open() does, unless startThread() did) and returns at once. finishOpen()
        waits for the outcome and must follow before anything else uses the store; open() is these two calls in a
        row. False when the open could not even be handed over (already open or opening, or the thread cannot be
        created: the same error() as open()'s), and nothing was touched; a finishOpen() with no open in progress
        then returns false. The options are copied. */
    bool beginOpen(const StoreOptions &options);
    /*! \brief The second half of open(): blocks the caller until the open that beginOpen() handed over finished,
        and returns its outcome exactly as open() would (true; or false with error()/errorString(), the file left
        byte-for-byte untouched and no -wal/-shm/lock file left behind). A plain wait, no event loop runs. Without an
        open in progress it returns isOpen(). */
    bool finishOpen();

    /*! Why the last open() or save() failed; StoreError::None after success. */
    StoreError error() const;
    /*! One line naming the path, for error(). */
    QString errorString() const;
    /*! 0, 65, 65, 73, 74, 71 for None, Corrupt, NewerSchema, CannotOpen, WriteFailed, SystemResource. */
    static int exitCode(StoreError error);

    /*! What open() found and repaired. */
    RecoveryInfo recovery() const;
    /*! The row of this run in the sessions table. */
    qint64 sessionId() const;
    /*! The canonical path of the journal (symlinks resolved), as SQLite opens it; after a failed open() the path
        it was refused at. */
    QString path() const;
    /*! First id for new jobs: ids keep increasing across runs and are never reused once accepted. */
    quint64 nextId() const;
    /*! Pending jobs after recovery, oldest id first (to be processed before new arrivals), with their attempts and
        crashes. */
    QList<Quiesce::Job> pendingJobs() const;

    /*! \brief Queues the insertion of \a job (id, payload, attempts, crashes) as pending; accepted() follows once
        its batch committed. */
    void accept(const Quiesce::Job &job);
    /*! Queues pending -> in_progress and attempts + 1. */
    void markInProgress(const QList<quint64> &ids);
    /*! Queues -> done; completed() follows once committed. */
    void markDone(const QList<quint64> &ids);
    /*! Queues in_progress -> pending (cancelled work, given back). */
    void requeue(const QList<quint64> &ids);
    /*! Queues in_progress -> pending with crashes + 1: the worker running them died. */
    void requeueCrashed(const QList<quint64> &ids);
    /*! Queues -> failed with each failure's reason (a done row stays done); failed() follows once committed.
        Failed rows are never processed again unless an operator requeues them (requeueFailed()). */
    void markFailed(const QList<Quiesce::JobFailure> &failures);

    /*! \brief Commits what is queued as soon as the store thread is free, instead of when a batch is full or
        StoreOptions::flushIntervalMs has passed: for a caller that cannot go on until its changes are committed
        (say, its queue is full of jobs waiting for accepted()), so that nothing waits for changes that cannot come.
        Without anything queued it does nothing. */
    void commitSoon();

    /*! \brief Queues \a note into this session's report under \a key (replacing an earlier one), committed with
        the next batch: a record that survives an exit that never reaches save(). save()'s report, where it has
        \a key, replaces the note. */
    void noteSession(const QString &key, const QJsonObject &note);

    /*! \brief Stop-intake: closes the journal to new jobs, so that none is accepted after this call's answer.

        From now on accept() is ignored. On the store thread, a batch already being committed finishes first; the
        accepts still queued are committed in batches until \a deadline; whatever accept is left uncommitted then,
        or sits in a batch that failed and waits for its retry (a failing disk), is discarded: it is never committed
        later and accepted() never reports it. Other changes (in progress, done, requeue) are kept and committed as
        usual. intakeClosed() follows, after the accepted() signals of everything committed before it. */
    void closeIntake(QDeadlineTimer deadline);

    /*! \brief The save phase: commits everything queued, requeues \a requeueIds, writes the session end
        (clean, reason, sender, exit code, report), checkpoints (TRUNCATE), closes every connection and ends the
        store thread; then emits saved(). A write failure is retried a few times before saved(false, reason).
        Changes queued after save() are ignored. */
    void save(const QList<quint64> &requeueIds, const Quiesce::SessionRecord &record);

    /*! True from a successful open() until save() finished (or the store was destroyed). */
    bool isOpen() const;

    /*! Batch transactions committed since open() (diagnostics; excludes open()'s and save()'s own). */
    quint64 transactionCount() const;

    /*! \brief Read-only inspection of the journal at \a path, also while another process has it open. Fills
        \a json with an object: "path", "counts" {pending, in_progress, done, failed}, "next_id", "schema_version",
        "sessions" (oldest first: id, pid, started, ended, clean, reason, sender, exit_code, report; a report's
        "recovery" says what that session's open() found in the WAL), "wal" (what SQLite's recovery would drop from
        the WAL now, or state "in_use" while a process has the journal open) and, with \a withIds, "ids" {pending,
        in_progress, done, failed} and "failed" (each failed row: id, reason, attempts, crashes). A journal of an
        older schema is read as it is (not upgraded). Never creates or changes a file. On failure returns false
        with \a error and \a exitCode (65 or 73). */
    static bool inspect(const QString &path, bool withIds, QByteArray *json, QString *error, int *exitCode);

    /*! \brief Sets a refused journal aside to start afresh: renames \a path (and its -wal/-shm) to
        `<name>.corrupt-<yyyyMMdd-HHmmss>[-N]` in the same directory and returns the new path in \a movedTo. Resolves \a
       path as open() does: through a symlink the real file is moved (next to itself) and the link is left. Refuses a
       dangling link, anything that is not a regular file (side files included) and a journal another live process holds
       open. */
    static bool moveAside(const QString &path, QString *movedTo, QString *error);

    /*! QStandardPaths::AppDataLocation + "/state.sqlite"; open() creates the directory. */
    static QString defaultPath();

    /*! \brief For an operator: every failed row of the journal at \a path becomes pending again (attempts and
        crashes reset to 0, reason cleared), to be processed by the next run. Refuses (73) while another process
        holds the journal; an older schema is upgraded first, as open() does. */
    static FailedJobsResult requeueFailed(const QString &path);
    /*! \brief For an operator: deletes every failed row of the journal at \a path (their ids are never reused).
        Refuses (73) while another process holds the journal. */
    static FailedJobsResult purgeFailed(const QString &path);

Q_SIGNALS:
    /*! Committed: these jobs now count as accepted (in id order). */
    void accepted(const QList<quint64> &ids);
    /*! Committed as done. */
    void completed(const QList<quint64> &ids);
    /*! Committed as failed (markFailed()). */
    void failed(const QList<quint64> &ids);
    /*! A batch failed (disk full, I/O): rolled back, kept in memory and retried with backoff. Emitted once per
        failure streak. */
    void commitFailed(const QString &error);
    /*! A retry after commitFailed() succeeded. */
    void commitRecovered();
    /*! closeIntake() is done: no job will be accepted any more. \a discardedIds were handed to accept() but
        never committed (and never will be): they were not acknowledged to anyone and no row holds them. */
    void intakeClosed(const QList<quint64> &discardedIds);
    /*! save() finished; the store thread has ended and the store is closed either way. */
    void saved(bool ok, const QString &error);

private:
    friend class StateStorePrivate;
    std::unique_ptr<StateStorePrivate> d;
};

} // namespace Quiesce
