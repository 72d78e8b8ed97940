#include "simulatedjob.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QSet>

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace Quiesce::App {

namespace {

// Work is simulated in slices of at most this length, each a wait that a cancellation cuts short.
constexpr int SliceMs = 10;

/* The gate simulated hangs block on. Process-wide and never destroyed: a leaked hung thread may still wait on it
   (or be released through it) while the process is shutting down. std:: primitives rather than QMutex +
   QWaitCondition: ThreadSanitizer understands them. */
struct HangGate
{
    std::mutex mutex;
    std::condition_variable released;
    quint64 generation = 0;
};

HangGate &hangGate()
{
    static auto *gate = new HangGate; // intentionally leaked, see above
    return *gate;
}

void waitLikeAStuckBlockingCall()
{
    HangGate &gate = hangGate();
    std::unique_lock lock(gate.mutex);
    const quint64 generation = gate.generation;
    // Deliberately deaf to cancellation: that is what a stuck C call looks like.
    gate.released.wait(lock, [&gate, generation] { return gate.generation != generation; });
}

} // namespace

struct SimulatedJob::HangIds
{
    std::mutex mutex;
    QSet<quint64> ids;

    bool take(quint64 id)
    {
        std::lock_guard lock(mutex);
        return ids.remove(id);
    }
};

SimulatedJob::SimulatedJob()
    : m_hangIds(std::make_shared<HangIds>())
{}

SimulatedJob::~SimulatedJob() = default;

void SimulatedJob::addHang(quint64 id)
{
    std::lock_guard lock(m_hangIds->mutex);
    m_hangIds->ids.insert(id);
}

void SimulatedJob::releaseHangsForTesting()
{
    HangGate &gate = hangGate();
    {
        std::lock_guard lock(gate.mutex);
        ++gate.generation;
    }
    gate.released.notify_all();
}

Quiesce::JobFunction SimulatedJob::function() const
{
    return [hangIds = m_hangIds](const Job &job, JobContext &context) -> JobResult {
        bool ok = false;
        const int costMs = job.payload.toInt(&ok);
        if (!ok || costMs < 0)
            return JobResult(JobOutcome::Failed, QStringLiteral("payload is not a cost in ms"));
        // Taken out when it runs: a hang is simulated once, not again if the request is given back and retried.
        if (hangIds->take(job.id)) {
            context.setBlocking(true);
            waitLikeAStuckBlockingCall();
            context.setBlocking(false);
        }
        for (int worked = 0; worked < costMs;) {
            const int slice = std::min(SliceMs, costMs - worked);
            // The wait *is* the simulated work of this slice.
            if (context.waitForCancellation(QDeadlineTimer(slice)))
                return JobOutcome::GiveBack;
            worked += slice;
            context.setProgress(int(qint64(worked) * 100 / costMs));
        }
        return JobOutcome::Done;
    };
}

} // namespace Quiesce::App
