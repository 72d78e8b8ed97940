// The child side of ProcessPool: runWorkerProcess() and isWorkerProcess().
//
// Three threads: the main thread reads the channel (and the self-pipe of the SIGTERM/SIGINT handler), the job
// thread runs one job at a time, the writer thread sends the batched outcomes and the heartbeat. No Qt event loop:
// a worker executable needs none, and the job function may start its own.

#include <Quiesce/exitcodes.h>
#include <Quiesce/processpool.h>

#include "jobcontext_p.h"
#include "workerchannel_p.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborValue>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace Quiesce {

namespace {

using namespace WorkerChannel;

// The self-pipe of the stop signals; written by the handler (one non-blocking write, errno saved) and by the job
// thread when it has finished.
int s_wakeWrite = -1;

void onStopSignal(int)
{
    const int savedErrno = errno;
    const char byte = 'T';
    [[maybe_unused]] const ssize_t n = ::write(s_wakeWrite, &byte, 1);
    errno = savedErrno;
}

class ChildJobContext final : public JobContextPrivate
{
public:
    ChildJobContext(quint64 id, std::function<void(quint64, int, bool)> report)
        : m_id(id)
        , m_report(std::move(report))
    {}

    bool isCancellationRequested() const override { return m_cancelled.load(std::memory_order_acquire); }
    bool waitForCancellation(QDeadlineTimer deadline) const override
    {
        std::unique_lock lock(m_mutex);
        while (!m_cancelled.load(std::memory_order_acquire)) {
            if (deadline.isForever()) {
                m_cond.wait(lock);
            } else {
                const qint64 left = deadline.remainingTimeNSecs();
                if (left <= 0)
                    return false;
                m_cond.wait_for(lock, std::chrono::nanoseconds(left));
            }
        }
        return true;
    }
    void setProgress(int percent) override
    {
        m_progress = percent;
        m_report(m_id, m_progress, m_blocking);
    }
    void setBlocking(bool blocking) override
    {
        m_blocking = blocking;
        m_report(m_id, m_progress, m_blocking);
    }
    void cancel()
    {
        {
            std::lock_guard lock(m_mutex);
            m_cancelled.store(true, std::memory_order_release);
        }
        m_cond.notify_all();
    }

private:
    const quint64 m_id;
    std::function<void(quint64, int, bool)> m_report;
    std::atomic<bool> m_cancelled {false};
    mutable std::mutex m_mutex;
    mutable std::condition_variable m_cond;
    int m_progress = 0; // job thread only
    bool m_blocking = false;
};

struct Event
{
    Event(Message t, quint64 jobId = 0, QString why = {}, int progress = 0, bool blocked = false)
        : type(t)
        , id(jobId)
        , reason(std::move(why))
        , percent(progress)
        , blocking(blocked)
    {}
    Message type;
    quint64 id = 0;
    qint64 micros = 0; // Done: how long the job ran
    QString reason;    // Failed
    int percent = 0;   // Progress
    bool blocking = false;
};

class WorkerProcess
{
public:
    WorkerProcess(int fd, std::chrono::milliseconds heartbeat, JobFunction function)
        : m_fd(fd)
        , m_heartbeat(heartbeat)
        , m_function(std::move(function))
    {}

    int run(int wakeRead)
    {
        receiveSharedState();
        post({Hello, quint64(::getpid())});
        try {
            m_writer = std::thread([this] { writerLoop(); });
            m_jobs = std::thread([this] { jobLoop(); });
        } catch (const std::system_error &) {
            ::_exit(ExitCode::OsError); // a half-started worker has no orderly way out; the parent sees 71
        }

        QByteArray buffer;
        bool finished = false;
        while (!finished) {
            pollfd fds[2] = {{m_fd, POLLIN, 0}, {wakeRead, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                ::_exit(ExitCode::OsError);
            }
            if (fds[1].revents & POLLIN) {
                char bytes[64];
                const ssize_t n = ::read(wakeRead, bytes, sizeof bytes);
                for (ssize_t i = 0; i < n; ++i) {
                    if (bytes[i] == 'T')
                        retire(); // SIGTERM/SIGINT: finish the job, give back the rest, exit 0
                    else if (bytes[i] == 'D')
                        finished = true;
                }
            }
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                char chunk[65536];
                const ssize_t n = ::read(m_fd, chunk, sizeof chunk);
                if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                    ::_exit(0); // EOF: the parent is gone (or gave up on us): exit now, whatever the job does
                if (n > 0) {
                    buffer.append(chunk, n);
                    QList<QCborArray> messages;
                    if (!takeMessages(buffer, &messages))
                        ::_exit(ExitCode::DataError);
                    for (const QCborArray &message : std::as_const(messages))
                        handle(message);
                }
            }
        }
        m_jobs.join();
        {
            std::lock_guard lock(m_mutex);
            m_writerQuit = true;
        }
        m_outCond.notify_all();
        m_writer.join(); // it writes what is left first
        return 0;
    }

private:
    // The parent's first byte, with the page we share (see WorkerChannel::SharedState). Blocking: nothing else can
    // happen before it.
    void receiveSharedState()
    {
        char marker = 0;
        iovec iov {&marker, 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n;
        do {
            n = ::recvmsg(m_fd, &msg, MSG_CMSG_CLOEXEC);
        } while (n < 0 && errno == EINTR);
        if (n == 0)
            ::_exit(0); // the parent is gone already
        if (n != 1 || marker != FdMarker)
            ::_exit(ExitCode::DataError);
        for (cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
            if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                continue;
            int memfd = -1;
            std::memcpy(&memfd, CMSG_DATA(cmsg), sizeof(int));
            void *page = ::mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
            if (page != MAP_FAILED)
                m_shared = static_cast<SharedState *>(page);
            ::close(memfd);
        }
    }

    void handle(const QCborArray &message)
    {
        switch (message.at(0).toInteger()) {
        case Jobs: {
            const QList<quint64> ids = unpackIds(message.at(1).toByteArray());
            const QByteArray payloads = message.at(2).toByteArray();
            const QList<qint32> counts = unpackCounts(message.at(3).toByteArray());
            if (counts.size() != 3 * ids.size())
                ::_exit(ExitCode::DataError);
            std::lock_guard lock(m_mutex);
            qsizetype offset = 0;
            for (qsizetype i = 0; i < ids.size(); ++i) {
                Job job;
                job.id = ids.at(i);
                const qint32 length = counts.at(3 * i);
                if (length < 0 || offset + length > payloads.size())
                    ::_exit(ExitCode::DataError);
                job.payload = payloads.mid(offset, length);
                offset += length;
                job.attempts = counts.at(3 * i + 1);
                job.crashes = counts.at(3 * i + 2);
                if (m_draining || m_stopping) {
                    m_outbox.push_back({Returned, job.id});
                    flushLocked();
                } else {
                    m_local.push_back(std::move(job));
                }
            }
            m_jobCond.notify_one();
            break;
        }
        case Reclaim: {
            std::lock_guard lock(m_mutex);
            reclaimLocked();
            break;
        }
        case Cancel: {
            std::lock_guard lock(m_mutex);
            if (m_current)
                m_current->cancel();
            break;
        }
        case Stop: {
            std::lock_guard lock(m_mutex);
            m_stopping = true;
            reclaimLocked();
            if (m_current)
                m_current->cancel();
            m_jobCond.notify_one();
            break;
        }
        case Retire:
            retire();
            break;
        default:
            break; // a newer parent's message: nothing to do
        }
    }

    void retire()
    {
        std::lock_guard lock(m_mutex);
        m_draining = true;
        reclaimLocked();
        m_jobCond.notify_one();
    }

    void reclaimLocked()
    {
        for (const Job &job : m_local)
            m_outbox.push_back({Returned, job.id});
        m_local.clear();
        flushLocked();
    }

    // Wakes the writer for what is in the outbox now. Not done for every event: while the job thread works through
    // a batch, the writer waits (at most FlushDelay) and then sends everything at once.
    void flushLocked()
    {
        m_flushWanted = true;
        m_outCond.notify_one();
    }

    // The first event after a frame wakes the writer, which then gives the batch FlushDelay to fill up.
    void pushLocked(Event event)
    {
        const bool first = m_outbox.empty();
        m_outbox.push_back(std::move(event));
        if (first)
            m_outCond.notify_one();
    }

    void post(Event event)
    {
        std::lock_guard lock(m_mutex);
        m_outbox.push_back(std::move(event));
        flushLocked();
    }

    void jobLoop()
    {
        const auto report = [this](quint64 id, int percent, bool blocking) {
            {
                std::lock_guard lock(m_mutex);
                // Only the latest progress of a job matters: overwrite one still waiting to be sent.
                if (!m_outbox.empty() && m_outbox.back().type == Progress && m_outbox.back().id == id) {
                    m_outbox.back().percent = percent;
                    m_outbox.back().blocking = blocking;
                } else {
                    m_outbox.push_back({Progress, id, {}, percent, blocking});
                }
                flushLocked(); // a blocked job must be seen as such at once
            }
        };
        std::unique_lock lock(m_mutex);
        for (;;) {
            // Not before the hello is on the wire: the parent charges a crash to the first job it sent only when
            // it knows the worker was up, so a worker that cannot even start never marks a job as poison.
            m_jobCond.wait(lock, [this] { return m_helloSent && (!m_local.empty() || m_draining || m_stopping); });
            if (m_local.empty())
                break; // draining or stopping, and nothing left
            const Job job = std::move(m_local.front());
            m_local.pop_front();
            ChildJobContext context(job.id, report);
            m_current = &context;
            pushLocked({Started, job.id});
            lock.unlock();

            if (m_shared) {
                m_shared->jobId.store(job.id, std::memory_order_relaxed);
                m_shared->running.store(1, std::memory_order_release);
            }
            const auto began = std::chrono::steady_clock::now();
            const JobResult result = context.run(m_function, job);
            if (m_shared)
                m_shared->running.store(0, std::memory_order_release);
            const auto micros =
                std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);

            lock.lock();
            m_current = nullptr;
            switch (result.outcome) {
            case JobOutcome::Done: {
                Event done(Done, job.id);
                done.micros = micros.count();
                pushLocked(std::move(done));
                break;
            }
            case JobOutcome::GiveBack:
                pushLocked({GivenBack, job.id});
                break;
            case JobOutcome::Failed:
                pushLocked({Failed, job.id, result.reason});
                break;
            }
            // The end of a batch, or a full outbox: send now.
            if (m_local.empty() || m_outbox.size() >= MaxEventsPerFrame)
                flushLocked();
        }
        lock.unlock();
        const char byte = 'D';
        [[maybe_unused]] const ssize_t n = ::write(s_wakeWrite, &byte, 1);
    }

    // Consecutive events of one kind travel as one message with a list of ids.
    // One message per kind, in an order that keeps every job's story straight for the parent: hello, starts,
    // progress, outcomes, jobs given back unstarted. (Events of one frame happened in that order per job anyway.)
    static QCborArray encode(const std::vector<Event> &events)
    {
        QCborArray messages;
        QList<quint64> started, done, givenBack, returned;
        QCborArray failed;
        QCborArray progress;
        qint64 doneMicros = 0;
        for (const Event &e : events) {
            switch (e.type) {
            case Hello:
                messages.append(QCborArray {Hello, qint64(e.id)});
                break;
            case Started:
                started.append(e.id);
                break;
            case Done:
                done.append(e.id);
                doneMicros += e.micros;
                break;
            case GivenBack:
                givenBack.append(e.id);
                break;
            case Returned:
                returned.append(e.id);
                break;
            case Failed:
                failed.append(QCborArray {qint64(e.id), e.reason});
                break;
            case Progress:
                progress.append(QCborArray {Progress, qint64(e.id), e.percent, e.blocking});
                break;
            default:
                break;
            }
        }
        if (!started.isEmpty())
            messages.append(QCborArray {Started, packIds(started)});
        for (const QCborValue &p : std::as_const(progress))
            messages.append(p);
        if (!done.isEmpty())
            messages.append(QCborArray {Done, packIds(done), doneMicros});
        if (!givenBack.isEmpty())
            messages.append(QCborArray {GivenBack, packIds(givenBack)});
        if (!failed.isEmpty())
            messages.append(QCborArray {Failed, failed});
        if (!returned.isEmpty())
            messages.append(QCborArray {Returned, packIds(returned)});
        return messages;
    }

    void writeAll(const QByteArray &data)
    {
        const char *p = data.constData();
        qsizetype left = data.size();
        while (left > 0) {
            const ssize_t n = ::send(m_fd, p, size_t(left), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                ::_exit(0); // the parent is gone
            }
            p += n;
            left -= n;
        }
    }

    void writerLoop()
    {
        std::unique_lock lock(m_mutex);
        for (;;) {
            bool heartbeatDue = false;
            if (!m_flushWanted && !m_writerQuit) {
                if (m_outbox.empty()) {
                    // Idle: wake for the first event of a batch, a flush, or the heartbeat.
                    heartbeatDue = m_outCond.wait_for(lock, m_heartbeat) == std::cv_status::timeout;
                    if (!heartbeatDue && !m_flushWanted && !m_writerQuit)
                        continue;
                } else {
                    // Events without a flush (a job started, more of the batch to run): they wait for the rest of
                    // the batch, FlushDelay at most, so a long job's start is not held back.
                    m_outCond.wait_for(lock, FlushDelay);
                }
            }
            if (m_outbox.empty() && m_writerQuit)
                return;
            m_flushWanted = false;
            std::vector<Event> events;
            events.swap(m_outbox);
            if (events.empty() && !heartbeatDue)
                continue;
            lock.unlock();
            // What piles up while this frame is written goes into the next one.
            QCborArray messages = encode(events);
            if (messages.isEmpty())
                messages.append(QCborArray {Heartbeat});
            writeAll(frame(messages));
            lock.lock();
            if (!m_helloSent) {
                m_helloSent = true; // the hello is always in the first frame
                m_jobCond.notify_one();
            }
        }
    }

    static constexpr std::chrono::milliseconds FlushDelay {2};
    static constexpr size_t MaxEventsPerFrame = 4096;

    const int m_fd;
    const std::chrono::milliseconds m_heartbeat;
    const JobFunction m_function;

    std::mutex m_mutex; // guards everything below
    std::condition_variable m_jobCond;
    std::condition_variable m_outCond;
    std::deque<Job> m_local;
    std::vector<Event> m_outbox;
    ChildJobContext *m_current = nullptr;
    SharedState *m_shared = nullptr; // set before the threads start, never changed
    bool m_draining = false;         // finish the running job, then exit
    bool m_stopping = false;         // cancel the running job, then exit
    bool m_writerQuit = false;
    bool m_helloSent = false;
    bool m_flushWanted = false;

    std::thread m_writer;
    std::thread m_jobs;
};

int channelFromEnvironment()
{
    bool ok = false;
    const int fd = qEnvironmentVariableIntValue(FdVariable, &ok);
    if (!ok || fd < 0 || ::fcntl(fd, F_GETFD) < 0)
        return -1;
    return fd;
}

} // namespace

bool isWorkerProcess()
{
    return channelFromEnvironment() >= 0;
}

int runWorkerProcess(int argc, char **argv, const JobFunction &function)
{
    Q_UNUSED(argc);
    Q_UNUSED(argv);
    const int fd = channelFromEnvironment();
    if (fd < 0 || !function)
        return ExitCode::Usage;
    bool ok = false;
    int heartbeatMs = qEnvironmentVariableIntValue(HeartbeatVariable, &ok);
    if (!ok || heartbeatMs <= 0)
        heartbeatMs = 1000;
    // The worker's own children inherit neither the channel nor the variables naming it.
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    qunsetenv(FdVariable);
    qunsetenv(HeartbeatVariable);

    int wake[2];
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
        return ExitCode::OsError;
    s_wakeWrite = wake[1];
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (::sigaction(SIGTERM, &action, nullptr) != 0 || ::sigaction(SIGINT, &action, nullptr) != 0)
        return ExitCode::OsError;

    WorkerProcess worker(fd, std::chrono::milliseconds(heartbeatMs), function);
    return worker.run(wake[0]);
}

} // namespace Quiesce
