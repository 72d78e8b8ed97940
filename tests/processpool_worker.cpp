// The worker executable of tst_processpool: a job function whose payload says what to do.
//   "sleep:MS"      wait MS ms (cancellable: then give the job back), then done
//   "crash"         die of SIGSEGV (no core file)
//   "hang"          block, deaf to cancellation (JobContext::setBlocking(true))
//   "ignore-term"   ignore SIGTERM, then hang
//   "grandchild"    start /bin/sleep as a child of the worker (same process group), then hang
//   "fail"          JobOutcome::Failed
//   anything else   done at once

#include <Quiesce/processpool.h>

#include <csignal>

#include <sys/resource.h>
#include <unistd.h>

namespace {

[[noreturn]] void hangForever(Quiesce::JobContext &context)
{
    context.setBlocking(true);
    for (;;)
        ::pause();
}

Quiesce::JobResult runJob(const Quiesce::Job &job, Quiesce::JobContext &context)
{
    const QByteArray &p = job.payload;
    if (p.startsWith("sleep:")) {
        context.setProgress(1);
        if (context.waitForCancellation(QDeadlineTimer(p.mid(6).toInt())))
            return Quiesce::JobOutcome::GiveBack;
        return Quiesce::JobOutcome::Done;
    }
    if (p == "crash") {
        const rlimit none {0, 0};
        ::setrlimit(RLIMIT_CORE, &none);
        ::kill(::getpid(), SIGSEGV);
        hangForever(context);
    }
    if (p == "hang")
        hangForever(context);
    if (p == "ignore-term") {
        ::signal(SIGTERM, SIG_IGN);
        hangForever(context);
    }
    if (p == "grandchild") {
        if (::fork() == 0) {
            ::execl("/bin/sleep", "sleep", "1000", static_cast<char *>(nullptr));
            ::_exit(127);
        }
        hangForever(context);
    }
    if (p == "fail")
        return {Quiesce::JobOutcome::Failed, QStringLiteral("asked to fail")};
    return Quiesce::JobOutcome::Done;
}

} // namespace

int main(int argc, char **argv)
{
    return Quiesce::runWorkerProcess(argc, argv, runJob);
}
