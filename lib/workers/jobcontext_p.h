#pragma once

// Private to the Workers component: what stands behind a JobContext. Each kind of pool (threads here, processes in
// ProcessPool's worker) implements it for the job it is running. Not part of the library's API.

#include <Quiesce/job.h>
#include <Quiesce/quiesce_workers_export.h>

#include <QtCore/QDeadlineTimer>

namespace Quiesce {

/* The cancellation token and the progress sink of one running job. run() is the only way a JobContext comes to
   exist (its constructor is private), so a job function never holds one beyond its call. */
class QUIESCE_WORKERS_EXPORT JobContextPrivate
{
public:
    virtual ~JobContextPrivate();

    virtual bool isCancellationRequested() const = 0;
    virtual bool waitForCancellation(QDeadlineTimer deadline) const = 0;
    virtual void setProgress(int percent) = 0;
    virtual void setBlocking(bool blocking) = 0;

    /* Calls \a function for \a job with a JobContext backed by this object. An exception escaping the job function
       ends the job as JobOutcome::Failed (it must not unwind through a worker's event loop). */
    JobResult run(const JobFunction &function, const Job &job);

protected:
    JobContextPrivate() = default;
    JobContextPrivate(const JobContextPrivate &) = delete;
    JobContextPrivate &operator=(const JobContextPrivate &) = delete;
};

} // namespace Quiesce
