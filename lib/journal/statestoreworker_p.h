#pragma once

// Private to the state store: the worker object that lives on the store thread. Not installed.

#include "statelock_p.h"
#include "statestore.h"
#include "walcheck_p.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <atomic>
#include <memory>

class QTimer;

namespace Quiesce {

class StateStoreDb;

/*! One queued change, as the main thread asked for it. */
struct StoreChange
{
    enum class Kind { Accept, InProgress, Done, Requeue, RequeueCrashed, Failed, SessionNote };
    Kind kind = Kind::Accept;
    Job job;                //!< Accept
    QList<quint64> ids;     //!< InProgress, Done, Requeue, RequeueCrashed, Failed
    QList<QString> reasons; //!< Failed: one per id
    QString noteKey;        //!< SessionNote: merged into this session's report under this key
    QJsonObject note;       //!< SessionNote

    /*! How many rows it touches: what maxBatch counts. */
    qsizetype weight() const { return kind == Kind::Accept || kind == Kind::SessionNote ? 1 : ids.size(); }
};

/*! What one committed batch changed, for the signals of StateStore. */
struct BatchResult
{
    QList<quint64> acceptedIds;
    QList<quint64> completedIds;
    QList<quint64> failedIds;
};

/*! What open() hands back to the blocked caller. */
struct StoreOpenResult
{
    StoreError error = StoreError::None;
    QString errorString;
    QString path;
    RecoveryInfo recovery;
    qint64 sessionId = 0;
    quint64 nextId = 1;
    QList<Job> pending;
};

/*! \brief Lives on the store thread and owns its connection, its lock file and the queue of changes.

    enqueue() is the only member called from other threads (under m_mutex); everything else runs on the store
    thread: open() through a queued invocation its owner waits for, save()/shutdown() through queued ones, and the
   timers. */
class StateStoreWorker : public QObject
{
    Q_OBJECT

public:
    explicit StateStoreWorker(QObject *parent = nullptr);
    ~StateStoreWorker() override;

    StoreOpenResult open(const StoreOptions &options);
    /*! Thread-safe: appends \a change and wakes the store thread when the queue was empty or holds a full
        batch. Ignored once save() or shutdown() started. */
    void enqueue(StoreChange change);
    /*! Thread-safe: the store thread commits what is queued as soon as it is free, without waiting for the flush
        interval (StateStore::commitSoon()). */
    void requestCommit();
    /*! Thread-safe: from now on enqueue() drops accepts, and a running flush() returns after its current batch so
        that the queued closeIntake() runs next. */
    void requestIntakeClose();
    /*! Store thread: commits queued accepts until \a deadline, discards the rest, emits intakeClosed(). */
    void closeIntake(QDeadlineTimer deadline);
    void save(const QList<quint64> &requeueIds, const SessionRecord &record);
    /*! Without save(): commits what is queued (one attempt), closes and ends the thread. The session stays
        unclean. */
    void shutdown();
    /*! Thread-safe: true once save() (or shutdown() during one) finished, with its outcome in \a ok and
        \a error. The owner reads it when the store thread has ended, instead of a queued signal that would wake
        its thread once more on the stop path. */
    bool saveResult(bool *ok, QString *error);

    /*! requeueFailed() / purgeFailed(): on the caller's thread, with connections of its own. */
    enum class FailedOperation { Requeue, Purge };
    static FailedJobsResult operateOnFailed(const QString &path, FailedOperation operation);

    static std::atomic<int> s_failNextCommits;

Q_SIGNALS:
    void batchCommitted(const Quiesce::BatchResult &batch);
    void commitFailed(const QString &error);
    void commitRecovered();
    void intakeClosed(const QList<quint64> &discardedIds);

private:
    enum class FlushMode { FullBatches, Everything };

    StoreError initialise(const QString &path, bool fresh, int userVersion, StoreOpenResult *result, QString *error);
    /*! Deletes done rows last updated before \a cutoff (ms since the epoch), in bounded transactions. */
    void pruneDone(qint64 cutoff, RecoveryInfo *recovery);
    void onWake();
    bool takeBatch(FlushMode mode);
    bool flush(FlushMode mode, QDeadlineTimer until = QDeadlineTimer(QDeadlineTimer::Forever));
    QList<quint64> discardAcceptsLocked(QList<StoreChange> *changes, qsizetype *weight);
    bool commitBatch(BatchResult *result, QString *error);
    bool commitSessionEnd(QString *error);
    bool applyWalFindings(RecoveryInfo *recovery, quint64 *nextId, QString *error);
    QString sessionReport(QJsonObject report) const;
    /*! COMMIT when \a ok (and no test fault is injected), else ROLLBACK; true only when committed. */
    bool finishTransaction(bool ok, QString *error);
    bool injectedFailure(QString *error);
    void onCommitFailure(const QString &error);
    void onRetry();
    void trySave();
    void finishSave(bool ok, const QString &error);
    void closeConnection();
    /*! Empty while m_path still names the journal opened; else why the save must fail (deleted or replaced). */
    QString journalLost() const;
    void stopAccepting();

    // Shared with the threads that call enqueue().
    QMutex m_mutex;
    QList<StoreChange> m_queue;
    qsizetype m_queuedWeight = 0;
    qsizetype m_maxBatch = 1000;
    bool m_wakePosted = false;
    bool m_commitWanted = false; //!< requestCommit(): the next wake commits what is queued, full batch or not
    bool m_accepting = false;
    bool m_intakeClosed = false;                    //!< accepts are dropped (closeIntake() was asked for)
    std::atomic<bool> m_yieldToIntakeClose {false}; //!< flush() returns early so closeIntake() runs soon
    bool m_saveDone = false;                        //!< finishSave() ran: m_saveOk and m_saveError are its outcome
    bool m_saveOk = false;
    QString m_saveError;

    // Store thread only.
    StoreOptions m_options;
    std::unique_ptr<StateStoreDb> m_db;
    std::unique_ptr<StateLock> m_lock;
    QString m_path;           //!< canonical path of the open journal
    FileIdentity m_journalId; //!< the inode opened; save() checks that m_path still names it
    qint64 m_sessionId = 0;
    QList<StoreChange> m_batch; //!< taken from the queue; kept across failed attempts until it commits
    QTimer *m_flushTimer = nullptr;
    QTimer *m_retryTimer = nullptr;
    int m_failures = 0; //!< failed commits in the current streak
    QString m_lastError;
    bool m_saving = false;
    int m_saveAttempts = 0;
    QList<quint64> m_saveRequeue;
    SessionRecord m_saveRecord;
    WalReport m_wal;        //!< what open() found in the WAL before SQLite read it
    QJsonObject m_recovery; //!< {"wal": ...} when the WAL was torn or damaged: kept in this session's report
    QJsonObject m_notes;    //!< noteSession()'s objects, committed: kept in this session's report
    // open() found the journal without -wal/-shm (a clean stop): initialise() may leave the start's syncs to later.
    bool m_cleanStart = false;
    struct Statements;
    std::unique_ptr<Statements> m_statements; //!< prepared once per connection (commitBatch())
    bool m_operatorOnly = false;              //!< operateOnFailed(): open without a session of its own
};

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::BatchResult)
