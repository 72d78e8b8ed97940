#pragma once

#include <Quiesce/quiesce_workers_export.h>

#include <QtCore/QByteArray>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QString>
#include <QtCore/QtGlobal>

#include <functional>
#include <memory>
#include <utility>

namespace Quiesce {

/*! \brief One unit of the application's work: an id and the application's own bytes.

    Ids are unique and increase across runs (the journal hands out the next one). \c attempts counts how often
    processing started before (at-least-once after a crash or a cancel); \c crashes how often the worker (process)
    running it died (crashed, was killed by its heartbeat timeout) while it was in flight, which is what marks a
    poison job. What the payload means is up to the application's job function; the library never looks inside
    it. */
struct Job
{
    quint64 id = 0;     //!< unique, increasing across runs
    QByteArray payload; //!< the application's bytes
    int attempts = 0;   //!< times processing has started before this one
    int crashes = 0;    //!< times its worker died while processing it (kills at shutdown do not count)
};

/*! \brief How a job left its worker. */
enum class JobOutcome {
    Done,     //!< processed completely
    GiveBack, //!< given back unfinished (cancelled): to be requeued as pending and processed again later
    Failed,   //!< will never succeed (bad payload, ...): kept as failed with a reason, not requeued
};

/*! \brief What a job function returns: the outcome and, for JobOutcome::Failed, why. Converts from JobOutcome,
    so a job function may simply `return JobOutcome::Done;`. */
struct JobResult
{
    /*! \brief A result with \a jobOutcome and, for JobOutcome::Failed, \a failureReason. */
    JobResult(JobOutcome jobOutcome = JobOutcome::Done, QString failureReason = {}) // NOLINT: implicit on purpose
        : outcome(jobOutcome)
        , reason(std::move(failureReason))
    {}
    JobOutcome outcome; //!< how the job ended
    QString reason;     //!< one line, for JobOutcome::Failed
};

/*! \brief A job that ended as JobOutcome::Failed, with its reason. */
struct JobFailure
{
    Job job;        //!< the job as it was handed to the worker (Job::crashes raised if its worker died)
    QString reason; //!< one line: the job function's reason, or how its worker died
};

class JobContextPrivate;

/*! \brief Handed to the job function while it runs, in the worker thread: the cancellation token and the
    progress reporting.

    A job is cancellable when it polls isCancellationRequested() (or waits in waitForCancellation()) at least
    every few milliseconds and then returns JobOutcome::GiveBack. Cancellation is requested by WorkerPool::cancel()
    (at the drain deadline), by WorkerPool::stop() and when the worker's thread is interrupted. A job that cannot
    look (stuck in a blocking call) should say so with setBlocking(true): WorkerPool::snapshot() then reports it
    as blocked, and the quit path's watchdog names it. */
class QUIESCE_WORKERS_EXPORT JobContext
{
public:
    /*! True once this job was asked to give up. Cheap (one atomic load). */
    bool isCancellationRequested() const;
    /*! Blocks until cancellation is requested (returns true) or \a deadline passes (returns false). */
    bool waitForCancellation(QDeadlineTimer deadline) const;
    /*! Progress of this job in percent (0-100), shown in WorkerPool::snapshot(). */
    void setProgress(int percent);
    /*! The job is (or is no longer) in a call that does not see cancellation, like a stuck blocking C call. */
    void setBlocking(bool blocking);

    JobContext(const JobContext &) = delete;
    JobContext &operator=(const JobContext &) = delete;

private:
    friend class JobContextPrivate;
    explicit JobContext(JobContextPrivate *d);
    ~JobContext();
    JobContextPrivate *d;
};

/*! \brief The application's work: called in a worker thread for each job; must be thread-safe (several workers
    call it at once). */
using JobFunction = std::function<JobResult(const Job &job, JobContext &context)>;

/*! The ids of \a jobs, in order: what the journal's batch calls and many checks take. */
inline QList<quint64> idsOf(const QList<Job> &jobs)
{
    QList<quint64> ids;
    ids.reserve(jobs.size());
    for (const Job &j : jobs)
        ids.append(j.id);
    return ids;
}

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::Job)
Q_DECLARE_METATYPE(Quiesce::JobFailure)
