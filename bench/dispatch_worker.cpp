// The worker program of bench_dispatch's ProcessPool contender: the library's child side with the same empty job
// function the WorkerPool contender runs, so the figure is the cost of the process channel and nothing else.
#include <Quiesce/processpool.h>

int main(int argc, char **argv)
{
    return Quiesce::runWorkerProcess(argc, argv, [](const Quiesce::Job &, Quiesce::JobContext &) {
        return Quiesce::JobResult(Quiesce::JobOutcome::Done);
    });
}
