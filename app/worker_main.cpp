// quiesce-worker: the worker process of `quiesce --isolation process`. GUI-free on purpose (Qt Core and the
// library's Core and Workers only, checked with readelf by tst_processes), so N workers never map the GUI stack.
// It runs the very job function thread mode runs (SimulatedJob); the library's child side does the rest: the
// channel, the heartbeat, cancellation, EOF = parent gone. Started by ProcessPool only (exit 64 otherwise).
#include "simulatedjob.h"
#include <Quiesce/processpool.h>

int main(int argc, char **argv)
{
    // Here, and only here, a request marked by --simulate-crash may take its process down.
    Quiesce::App::SimulatedJob::allowCrashes();
    const Quiesce::App::SimulatedJob job;
    return Quiesce::runWorkerProcess(argc, argv, job.function());
}
