// Dispatch throughput: jobs with no work (a job function that returns Done at once) through the library's
// WorkerPool, against QThreadPool with the same number of threads and jobs ("requests" below). Google Benchmark runs
// them; one iteration = M requests submitted on the main thread and all M results counted back on the main thread (so a
// repetition is one run, and
// --benchmark_enable_random_interleaving interleaves the contenders' runs).
//
//   WorkerPool             submit() M jobs; count the batches of jobsDone() on the main thread
//   QThreadPool/batched    start() M tasks; each hands its request back to the main thread through a mutex-guarded
//                          buffer and at most one pending queued call (what WorkerPool does): the same result, the
//                          leanest idiomatic way (the baseline the target refers to)
//   QThreadPool/wait       start() M tasks that only count; waitForDone() (no hand-back: the floor)
//   ProcessPool            as WorkerPool, through the library's ProcessPool: N worker processes running
//                          bench_dispatch_worker (runWorkerProcess() with the same empty job function), jobs and
//                          outcomes over the batched channel (issue 14: at least 0.3x WorkerPool)
//
// Own flags (after Google Benchmark's): --threads=N (default: ideal thread count), --requests=M (default 100000),
// --worker=PATH (default: bench_dispatch_worker next to this program).

#include <Quiesce/job.h>
#include <Quiesce/processpool.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QMutex>
#include <QtCore/QThread>
#include <QtCore/QThreadPool>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using Quiesce::Job;
using Quiesce::JobContext;
using Quiesce::JobOutcome;
using Quiesce::JobPool;
using Quiesce::JobResult;
using Quiesce::ProcessPool;
using Quiesce::WorkerPool;

namespace {

int s_threads = 0;
int s_requests = 100000;
std::string s_worker; // the worker program of ProcessPool
constexpr int kWarmupRequests = 2000;

// Submits and counts through either pool (both are JobPools): the same loop, so the two differ only in the pool.
void runJobPool(JobPool &pool, benchmark::State &state)
{
    pool.setQueueLimit(0);
    if (!pool.start(s_threads)) {
        state.SkipWithError(qPrintable(pool.errorString()));
        return;
    }
    QEventLoop loop;
    quint64 finished = 0;
    quint64 target = 0;
    QObject::connect(&pool, &JobPool::jobsDone, &loop, [&](const QList<Job> &jobs) {
        finished += quint64(jobs.size());
        if (finished >= target)
            loop.quit();
    });
    // A job that never comes back done (a worker process died) must fail the run, not hang it.
    bool lost = false;
    const auto countLost = [&](const QList<Quiesce::JobFailure> &failures) {
        lost = true;
        finished += quint64(failures.size());
        if (finished >= target)
            loop.quit();
    };
    QObject::connect(&pool, &JobPool::jobsLost, &loop, countLost);
    QObject::connect(&pool, &JobPool::jobsFailed, &loop, countLost);
    quint64 nextId = 1;
    auto runBatch = [&](int count) {
        target += quint64(count);
        for (int i = 0; i < count; ++i) {
            Job request;
            request.id = nextId++;
            pool.submit(request);
        }
        loop.exec();
    };

    runBatch(kWarmupRequests); // threads (processes) up and parked, caches warm: not timed
    for (auto _ : state)
        runBatch(s_requests);
    state.SetItemsProcessed(state.iterations() * s_requests);
    if (lost)
        state.SkipWithError("jobs were lost or failed");

    bool stopped = false;
    QObject::connect(&pool, &JobPool::stopped, &loop, [&] {
        stopped = true;
        loop.quit();
    });
    pool.stop(QDeadlineTimer(10000));
    if (!stopped)
        loop.exec();
}

void benchWorkerPool(benchmark::State &state)
{
    WorkerPool pool;
    pool.setJobFunction([](const Job &, JobContext &) { return JobResult(JobOutcome::Done); });
    runJobPool(pool, state);
}

void benchProcessPool(benchmark::State &state)
{
    ProcessPool pool;
    pool.setWorkerProgram(QString::fromStdString(s_worker), {});
    runJobPool(pool, state);
}

// Receives the batches on the main thread: the same hand-back WorkerPool does, built on QThreadPool.
struct Collector
{
    QMutex mutex;
    QList<Job> buffer;
    bool posted = false;
};

void benchQThreadPoolBatched(benchmark::State &state)
{
    QThreadPool pool;
    pool.setMaxThreadCount(s_threads);
    pool.setExpiryTimeout(-1); // keep the threads for the whole benchmark, as WorkerPool does
    QEventLoop loop;
    QObject receiver;
    Collector collector;
    quint64 finished = 0;
    quint64 target = 0;
    auto deliver = [&] {
        QList<Job> batch;
        {
            QMutexLocker locker(&collector.mutex);
            batch.swap(collector.buffer);
            collector.posted = false;
        }
        finished += quint64(batch.size());
        if (finished >= target)
            loop.quit();
    };
    quint64 nextId = 1;
    auto runBatch = [&](int count) {
        target += quint64(count);
        for (int i = 0; i < count; ++i) {
            Job request;
            request.id = nextId++;
            pool.start([&collector, &receiver, &deliver, request] {
                // The work (none) would go here.
                QMutexLocker locker(&collector.mutex);
                collector.buffer.append(request);
                if (!collector.posted) {
                    collector.posted = true;
                    QMetaObject::invokeMethod(&receiver, deliver, Qt::QueuedConnection);
                }
            });
        }
        loop.exec();
    };

    runBatch(kWarmupRequests);
    for (auto _ : state)
        runBatch(s_requests);
    state.SetItemsProcessed(state.iterations() * s_requests);
    pool.waitForDone();
}

void benchQThreadPoolWait(benchmark::State &state)
{
    QThreadPool pool;
    pool.setMaxThreadCount(s_threads);
    pool.setExpiryTimeout(-1);
    std::atomic<quint64> done {0};
    auto runBatch = [&](int count) {
        for (int i = 0; i < count; ++i) {
            Job request;
            request.id = quint64(i) + 1;
            pool.start([&done, request] { done.fetch_add(request.id != 0 ? 1 : 0, std::memory_order_relaxed); });
        }
        pool.waitForDone();
    };
    runBatch(kWarmupRequests);
    for (auto _ : state)
        runBatch(s_requests);
    state.SetItemsProcessed(state.iterations() * s_requests);
    if (done.load() != quint64(kWarmupRequests) + quint64(state.iterations()) * quint64(s_requests))
        state.SkipWithError("lost a task");
}

bool parseIntFlag(const char *arg, const char *name, int *value)
{
    const size_t length = std::strlen(name);
    if (std::strncmp(arg, name, length) != 0 || arg[length] != '=')
        return false;
    *value = std::atoi(arg + length + 1);
    return true;
}

bool parseStringFlag(const char *arg, const char *name, std::string *value)
{
    const size_t length = std::strlen(name);
    if (std::strncmp(arg, name, length) != 0 || arg[length] != '=')
        return false;
    *value = arg + length + 1;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    for (int i = 1; i < argc; ++i) {
        if (!parseIntFlag(argv[i], "--threads", &s_threads) && !parseIntFlag(argv[i], "--requests", &s_requests)
            && !parseStringFlag(argv[i], "--worker", &s_worker)) {
            std::fprintf(stderr,
                         "bench_dispatch: unknown argument %s (own flags: --threads=N --requests=M --worker=PATH)\n",
                         argv[i]);
            return 64;
        }
    }
    int qtArgc = 1;
    QCoreApplication app(qtArgc, argv);
    if (s_threads <= 0)
        s_threads = QThread::idealThreadCount();
    if (s_requests <= 0)
        s_requests = 1;
    if (s_worker.empty())
        s_worker =
            QString(QCoreApplication::applicationDirPath() + QStringLiteral("/bench_dispatch_worker")).toStdString();

    const std::string suffix = "/threads:" + std::to_string(s_threads) + "/requests:" + std::to_string(s_requests);
    for (auto [name, function] :
         {std::pair {"WorkerPool", &benchWorkerPool}, std::pair {"QThreadPool_batched", &benchQThreadPoolBatched},
          std::pair {"QThreadPool_wait", &benchQThreadPoolWait}, std::pair {"ProcessPool", &benchProcessPool}}) {
        benchmark::RegisterBenchmark((name + suffix).c_str(), function)
            ->Iterations(1)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
