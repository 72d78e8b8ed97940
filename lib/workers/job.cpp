#include <Quiesce/job.h>

#include "jobcontext_p.h"

#include <QtCore/QtGlobal>

#include <exception>

namespace Quiesce {

JobContext::JobContext(JobContextPrivate *context)
    : d(context)
{}

JobContext::~JobContext() = default;

bool JobContext::isCancellationRequested() const
{
    return d->isCancellationRequested();
}

bool JobContext::waitForCancellation(QDeadlineTimer deadline) const
{
    return d->waitForCancellation(deadline);
}

void JobContext::setProgress(int percent)
{
    d->setProgress(qBound(0, percent, 100));
}

void JobContext::setBlocking(bool blocking)
{
    d->setBlocking(blocking);
}

JobContextPrivate::~JobContextPrivate() = default;

JobResult JobContextPrivate::run(const JobFunction &function, const Job &job)
{
    JobContext context(this);
    try {
        return function(job, context);
    } catch (const std::exception &e) {
        return JobResult(JobOutcome::Failed,
                         QStringLiteral("the job function threw: %1").arg(QString::fromLocal8Bit(e.what())));
    } catch (...) {
        return JobResult(JobOutcome::Failed, QStringLiteral("the job function threw"));
    }
}

} // namespace Quiesce
