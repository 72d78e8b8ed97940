#pragma once

#include <Quiesce/job.h>

#include <QtCore/QtGlobal>

#include <memory>

namespace Quiesce::App {

/*! \brief The application's work: each request is a Quiesce::Job whose payload is its cost in milliseconds (ASCII
    decimal), "processed" by waiting that long.

    The wait is cut into slices of at most 10 ms spent in JobContext::waitForCancellation(), so a cancel() or a
    stop gives the job back at once; progress is reported after each slice. A job whose id was given to addHang()
    (--simulate-hang N: the N-th request of this run, never a recovered one) first blocks like a stuck blocking C
    call: JobContext::setBlocking(true), then a wait deaf to cancellation, which only releaseHangsForTesting()
    ends. A payload that is not a number fails the job. */
class SimulatedJob
{
public:
    SimulatedJob();
    ~SimulatedJob();
    SimulatedJob(const SimulatedJob &) = delete;
    SimulatedJob &operator=(const SimulatedJob &) = delete;

    /*! The job function for WorkerPool::setJobFunction(). It shares the hang ids with this object and keeps them
        alive itself, so a leaked worker thread never touches freed memory. */
    Quiesce::JobFunction function() const;
    /*! The job with this id is to simulate a hang when it runs. Thread-safe. */
    void addHang(quint64 id);

    /*! quiesce-worker only: a payload marked "crash" (--simulate-crash) aborts this process, without a core dump.
        Elsewhere the marker is ignored: a crash in thread mode would take down the whole service. */
    static void allowCrashes();

    /*! Test hook: lets every job blocked in a simulated hang now go on (the process-wide gate they wait on). */
    static void releaseHangsForTesting();

private:
    struct HangIds;
    std::shared_ptr<HangIds> m_hangIds;
};

} // namespace Quiesce::App
