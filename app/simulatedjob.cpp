#include "simulatedjob.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QSet>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include <sys/prctl.h>
#include <sys/resource.h>

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

// Set once in quiesce-worker's main() before any job runs: only a worker process may crash on purpose.
std::atomic<bool> s_crashesAllowed {false};

/* --simulate-crash: the worker process dies as a native crash would (SIGABRT), but leaves no core file behind:
   RLIMIT_CORE 0 covers a core_pattern file, PR_SET_DUMPABLE 0 a piped core_pattern (systemd-coredump, apport),
   which ignores the limit. */
[[noreturn]] void crashWithoutCoreDump()
{
    const rlimit none {0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    std::abort();
}

/* The payload: the cost in ms, then optional words. "crash" (--simulate-crash: written into the journal with the
   request, so it follows it across attempts and runs) and "hang" (--simulate-hang with --isolation process: only
   in the copy the worker process gets, so a recovered request never hangs). */
struct Payload
{
    int costMs = -1;
    bool crash = false;
    bool hang = false;
};

bool parsePayload(const QByteArray &payload, Payload *out)
{
    const QList<QByteArray> words = payload.split(' ');
    bool ok = false;
    out->costMs = words.constFirst().toInt(&ok);
    if (!ok || out->costMs < 0)
        return false;
    for (qsizetype i = 1; i < words.size(); ++i) {
        if (words.at(i) == "crash")
            out->crash = true;
        else if (words.at(i) == "hang")
            out->hang = true;
        else
            return false;
    }
    return true;
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

void SimulatedJob::allowCrashes()
{
    s_crashesAllowed.store(true);
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
        Payload payload;
        if (!parsePayload(job.payload, &payload))
            return JobResult(JobOutcome::Failed, QStringLiteral("payload is not a cost in ms"));
        const int costMs = payload.costMs;
        // In a worker process only: a crash marker that a thread-mode run recovered from the journal is ignored
        // (it would take down the whole service).
        if (payload.crash && s_crashesAllowed.load())
            crashWithoutCoreDump();
        // Taken out when it runs: a hang is simulated once, not again if the request is given back and retried.
        if (hangIds->take(job.id) || payload.hang) {
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
