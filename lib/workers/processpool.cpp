#include <Quiesce/processpool.h>

#include <Quiesce/resourcelimits.h>
#include <Quiesce/unixsignalnotifier.h>

#include "poollogging_p.h"
#include "workerchannel_p.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborValue>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QMutex>
#include <QtCore/QSocketNotifier>
#include <QtCore/QStandardPaths>
#include <QtCore/QTimer>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace Quiesce {

namespace {

using namespace WorkerChannel;

// A frame may hold MaxFrameBytes; a batch stays well below, and one job's payload must fit on its own.
constexpr qsizetype MaxBatchPayloadBytes = 8 * 1024 * 1024;
constexpr qsizetype MaxPayloadBytes = qsizetype(MaxFrameBytes) - 64 * 1024;

qint64 monotonicMs()
{
    static QElapsedTimer clock;
    static const bool started = (clock.start(), true);
    Q_UNUSED(started);
    return clock.elapsed();
}

QString signalText(int signo)
{
    return UnixSignalNotifier::signalName(signo);
}

// Between fork() and exec(): async-signal-safe calls only, everything else was prepared before the fork.
[[noreturn]] void execChild(pid_t parent, int channel, int devNull, bool coreDumps, const char *program,
                            char *const *argv, char *const *envp)
{
    UnixSignalNotifier::resetSignalStateInChild();
    ::setpgid(0, 0);
    // Dies with the parent; then closes the race in which the parent died before prctl(): the re-check.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
        ::_exit(1);
    ResourceLimits::restoreDescriptorLimitInChild();
    if (!coreDumps) {
        const rlimit none {0, 0};
        ::setrlimit(RLIMIT_CORE, &none);
    }
    // channel and devNull are >= ChildFd + 1 (moved there before the fork), so none of these clobbers the other.
    if (::dup2(devNull, STDIN_FILENO) < 0 || ::dup2(devNull, STDOUT_FILENO) < 0
        || ::dup2(channel, ChildFd) < 0) // dup2 clears close-on-exec on the copy
        ::_exit(127);
    if (::close_range(ChildFd + 1, ~0U, 0) != 0) {
        rlimit limit {};
        const int max = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
            ? int(qMin<rlim_t>(limit.rlim_cur, 1 << 20))
            : 65536;
        for (int fd = ChildFd + 1; fd < max; ++fd)
            ::close(fd);
    }
    ::execve(program, argv, envp);
    ::_exit(127);
}

// A descriptor above the channel's number in the child, close-on-exec, the original closed.
int moveAbove(int fd)
{
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, ChildFd + 1);
    ::close(fd);
    return moved;
}

} // namespace

// A job waiting for a worker, with the order in which it was submitted: jobs a child gives back unstarted return
// to their place in the queue, not to its front in whatever order the children answer.
struct Queued
{
    Job job;
    quint64 seq = 0;
};

struct Running
{
    Job job;
    qint64 startedAtMs = 0;
    int progress = 0;
    bool blocking = false;
};

struct Slot
{
    enum class State { Starting, Running, Backoff, Disabled, Stopped };

    int index = 0;
    State state = State::Stopped;
    pid_t pid = 0;
    int pidfd = -1;
    int channel = -1;
    QSocketNotifier *pidNotifier = nullptr;
    QSocketNotifier *readNotifier = nullptr;
    QSocketNotifier *writeNotifier = nullptr;
    QByteArray in;
    QByteArray out;
    std::deque<Queued> sent; // sent to the child, not reported started: they go back to the queue if it dies
    QList<Running> started;  // reported started, no outcome yet
    int restarts = 0;
    bool everStarted = false;
    QList<qint64> crashTimes;
    int backoffMs = 0;
    QTimer *respawnTimer = nullptr;
    qint64 spawnedAtMs = 0;
    qint64 silenceMs = 0;
    bool heard = false;
    bool retiring = false;
    bool stopSent = false;
    bool signalled = false; // SIGTERM/SIGKILL from stop() at its deadline
    QString killReason;     // why the pool killed it ("heartbeat timeout", "protocol error"), empty if not

    SharedState *shared = nullptr; // the page it shares with us (see WorkerChannel::SharedState), if any
    double microsPerJob = -1;      // how long its jobs took, on average (exponentially weighted); < 0: not known yet

    bool alive() const { return pidfd >= 0; }
    int load() const { return int(sent.size()) + int(started.size()); }
};

struct Published
{
    WorkerSnapshot snapshot;
    qint64 startedAtMs = 0;
};

class ProcessPoolPrivate
{
public:
    explicit ProcessPoolPrivate(ProcessPool *pool)
        : q(pool)
    {}

    ProcessPool *const q;

    QString program;
    QString resolvedProgram;
    QStringList arguments;
    QString threadNamePrefix = QStringLiteral("worker-");
    int heartbeatTimeoutMs = 30000;
    int crashLimit = 5;
    int crashWindowMs = 10000;
    int backoffInitialMs = 100;
    int backoffMaxMs = 10000;
    int healthyMs = 60000;
    int batch = 1024;
    int terminateGraceMs = 100;
    bool coreDumps = true;
    QString error;

    std::vector<std::unique_ptr<Slot>> slots;
    std::deque<Queued> queue; // ordered by seq
    quint64 nextSeq = 0;
    int reserved = 0;
    int queueLimit = 0;
    bool started = false;
    bool intakeOpen = true;
    bool dispatchOn = true;
    bool stopping = false;
    bool stopEmitted = false;
    bool capacityWanted = false;
    bool hadWork = false;
    bool drainWanted = false;
    bool degraded = false;
    bool noSlotsEmitted = false;
    StopReport report;

    QTimer tick;
    qint64 lastTickMs = 0;
    QTimer terminateTimer;
    QTimer killTimer;
    QTimer giveUpTimer;
    bool killFired = false;

    // What one read delivers, emitted in batches.
    QList<quint64> startedIds;
    QList<Job> done;
    QList<Job> givenBack;
    QList<JobFailure> failed;
    QList<JobFailure> lost;

    mutable QMutex publishedMutex;
    QHash<int, Published> published;

    // --- spawning and reaping ---
    bool spawn(Slot &slot);
    static SharedState *shareState(int channel);
    void onPidfd(Slot &slot);
    void readChannel(Slot &slot);
    void handleMessage(Slot &slot, const QCborArray &message);
    void send(Slot &slot, const QCborArray &message);
    void flushOut(Slot &slot);
    void killGroup(Slot &slot, int signo);
    void scheduleRespawn(Slot &slot, bool crashed);
    void closeSlot(Slot &slot);

    // --- bookkeeping ---
    void dispatch();
    void scheduleDispatch();
    int batchFor(const Slot &slot) const;
    bool dispatchPosted = false;
    void deliver();
    void afterChange();
    void onTick();
    void onTerminate();
    void onKill();
    void maybeFinishStop();
    void updateDegraded();
    void publish(const Slot &slot);
    Slot *slotByIndex(int index);
    int inFlight() const;
    int activeSlots() const;
    bool hasCapacity() const { return queueLimit <= 0 || int(queue.size()) + reserved < queueLimit; }
    Slot *addSlot();
    void requeue(const Queued &job);
    void removeSlot(Slot &slot);
    void setTickInterval();
    bool resolveProgram();
};

void ProcessPoolPrivate::requeue(const Queued &job)
{
    const auto at = std::upper_bound(queue.begin(), queue.end(), job.seq,
                                     [](quint64 seq, const Queued &queued) { return seq < queued.seq; });
    queue.insert(at, job);
}

Slot *ProcessPoolPrivate::slotByIndex(int index)
{
    for (auto &s : slots) {
        if (s->index == index)
            return s.get();
    }
    return nullptr;
}

int ProcessPoolPrivate::inFlight() const
{
    int n = 0;
    for (const auto &s : slots)
        n += s->load();
    return n;
}

int ProcessPoolPrivate::activeSlots() const
{
    int n = 0;
    for (const auto &s : slots) {
        if (!s->retiring)
            ++n;
    }
    return n;
}

bool ProcessPoolPrivate::resolveProgram()
{
    if (program.isEmpty()) {
        error = QStringLiteral("no worker program set");
        return false;
    }
    QString path = program;
    if (!program.contains(QLatin1Char('/')))
        path = QStandardPaths::findExecutable(program);
    const QFileInfo info(path);
    if (path.isEmpty() || !info.isFile() || !info.isExecutable()) {
        error = QStringLiteral("worker program %1: not an executable file").arg(program);
        return false;
    }
    resolvedProgram = info.absoluteFilePath();
    return true;
}

void ProcessPoolPrivate::setTickInterval()
{
    // Several checks per timeout, so a silent child is judged within about a quarter of the timeout late.
    tick.setInterval(qBound(10, heartbeatTimeoutMs / 4, 1000));
}

bool ProcessPoolPrivate::spawn(Slot &slot)
{
    // PR_SET_PDEATHSIG follows the thread that forked, not the process (golang/go#27505): only the main thread
    // lives as long as the process.
    if (::gettid() != ::getpid()) {
        error = QStringLiteral("worker processes must be spawned from the main thread");
        qCWarning(lcPool, "%s", qPrintable(error));
        return false;
    }

    // Everything the child needs is built before fork(): after it, no allocation.
    const QByteArray programBytes = QFile::encodeName(resolvedProgram);
    std::vector<QByteArray> argStore;
    argStore.push_back(programBytes);
    for (const QString &a : std::as_const(arguments))
        argStore.push_back(a.toLocal8Bit());
    std::vector<char *> argv;
    for (QByteArray &a : argStore)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    std::vector<QByteArray> envStore;
    static const char *const dropped[] = {"NOTIFY_SOCKET=",  "LISTEN_FDS=",        "LISTEN_PID=",
                                          "LISTEN_FDNAMES=", "QUIESCE_WORKER_FD=", "QUIESCE_WORKER_HEARTBEAT_MS="};
    for (char **e = environ; e && *e; ++e) {
        bool keep = true;
        for (const char *prefix : dropped) {
            if (std::strncmp(*e, prefix, std::strlen(prefix)) == 0)
                keep = false;
        }
        if (keep)
            envStore.emplace_back(*e);
    }
    envStore.push_back(QByteArray(FdVariable) + '=' + QByteArray::number(ChildFd));
    envStore.push_back(QByteArray(HeartbeatVariable) + '=' + QByteArray::number(qMax(10, heartbeatTimeoutMs / 5)));
    std::vector<char *> envp;
    for (QByteArray &e : envStore)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        error = QStringLiteral("cannot create a worker channel: %1").arg(QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    const int parentEnd = pair[0];
    const int childEnd = moveAbove(pair[1]);
    const int devNull = moveAbove(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (childEnd < 0 || devNull < 0) {
        error = QStringLiteral("cannot prepare a worker's descriptors: %1")
                    .arg(QString::fromLocal8Bit(std::strerror(errno)));
        ::close(parentEnd);
        if (childEnd >= 0)
            ::close(childEnd);
        if (devNull >= 0)
            ::close(devNull);
        return false;
    }

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0)
        execChild(parent, childEnd, devNull, coreDumps, programBytes.constData(), argv.data(), envp.data());
    const int forkErrno = errno;
    ::close(childEnd);
    ::close(devNull);
    if (pid < 0) {
        ::close(parentEnd);
        error =
            QStringLiteral("cannot start a worker process: %1").arg(QString::fromLocal8Bit(std::strerror(forkErrno)));
        return false;
    }
    // The child does the same; whichever runs first wins (EACCES once the child has exec'd: fine).
    ::setpgid(pid, pid);
    // The child cannot have been reaped: nobody else waits for it. (Debian 12's <sys/pidfd.h> lacks extern "C",
    // hence the raw system call; the descriptor is close-on-exec either way.)
    const int pidfd = int(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        const int err = errno;
        ::kill(pid, SIGKILL);
        siginfo_t info {};
        ::waitid(P_PID, id_t(pid), &info, WEXITED); // this one pid, just killed
        ::close(parentEnd);
        error = QStringLiteral("cannot watch a worker process (pidfd_open): %1")
                    .arg(QString::fromLocal8Bit(std::strerror(err)));
        return false;
    }
    ::fcntl(parentEnd, F_SETFL, ::fcntl(parentEnd, F_GETFL) | O_NONBLOCK);
    slot.shared = shareState(parentEnd);

    if (slot.everStarted)
        ++slot.restarts;
    slot.everStarted = true;
    slot.pid = pid;
    slot.pidfd = pidfd;
    slot.channel = parentEnd;
    slot.state = Slot::State::Starting;
    slot.in.clear();
    slot.out.clear();
    slot.spawnedAtMs = monotonicMs();
    slot.silenceMs = 0;
    slot.heard = false;
    slot.stopSent = false;
    slot.signalled = false;
    slot.killReason.clear();

    Slot *s = &slot;
    slot.pidNotifier = new QSocketNotifier(pidfd, QSocketNotifier::Read, q);
    QObject::connect(slot.pidNotifier, &QSocketNotifier::activated, q, [this, s] { onPidfd(*s); });
    slot.readNotifier = new QSocketNotifier(parentEnd, QSocketNotifier::Read, q);
    QObject::connect(slot.readNotifier, &QSocketNotifier::activated, q, [this, s] {
        readChannel(*s);
        deliver();
        afterChange();
    });
    slot.writeNotifier = new QSocketNotifier(parentEnd, QSocketNotifier::Write, q);
    slot.writeNotifier->setEnabled(false);
    QObject::connect(slot.writeNotifier, &QSocketNotifier::activated, q, [this, s] { flushOut(*s); });

    qCDebug(lcPool, "worker %d started: pid %d", slot.index, int(pid));
    publish(slot);
    Q_EMIT q->workerStarted(slot.index, qint64(pid));
    return true;
}

SharedState *ProcessPoolPrivate::shareState(int channel)
{
    // Created after the fork, so the child never inherits it; it gets it over its channel, and maps it.
    SharedState *shared = nullptr;
    const int memfd = ::memfd_create("quiesce-worker-state", MFD_CLOEXEC);
    if (memfd >= 0 && ::ftruncate(memfd, sizeof(SharedState)) == 0) {
        void *page = ::mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        if (page != MAP_FAILED)
            shared = new (page) SharedState {}; // zero-filled page: no job running
    }
    // The marker goes even without a memfd: the child always reads it first.
    char marker = FdMarker;
    iovec iov {&marker, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (shared) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &memfd, sizeof(int));
    }
    // A fresh, empty socket: this cannot block or be partial.
    if (::sendmsg(channel, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != 1 && shared) {
        ::munmap(shared, sizeof(SharedState));
        shared = nullptr;
    }
    if (memfd >= 0)
        ::close(memfd);
    return shared;
}

void ProcessPoolPrivate::send(Slot &slot, const QCborArray &message)
{
    if (!slot.alive())
        return;
    slot.out.append(frame(QCborArray {message}));
    flushOut(slot);
}

void ProcessPoolPrivate::flushOut(Slot &slot)
{
    while (!slot.out.isEmpty() && slot.channel >= 0) {
        const ssize_t n =
            ::send(slot.channel, slot.out.constData(), size_t(slot.out.size()), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            slot.out.remove(0, n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            slot.writeNotifier->setEnabled(true); // never wait for a child here
            return;
        }
        slot.out.clear(); // the child is gone: its pidfd tells the rest
    }
    if (slot.writeNotifier)
        slot.writeNotifier->setEnabled(false);
}

void ProcessPoolPrivate::readChannel(Slot &slot)
{
    if (slot.channel < 0)
        return;
    QList<QCborArray> messages;
    for (;;) {
        char chunk[65536];
        const ssize_t n = ::recv(slot.channel, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0) {
            slot.in.append(chunk, n);
            slot.heard = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            // EOF: the child closed its end (it is exiting); its pidfd reports the exit.
            if (slot.readNotifier)
                slot.readNotifier->setEnabled(false);
        }
        break;
    }
    if (!takeMessages(slot.in, &messages)) {
        qCWarning(lcPool, "worker %d (pid %d): malformed message, killing it", slot.index, int(slot.pid));
        slot.killReason = QStringLiteral("protocol error");
        killGroup(slot, SIGKILL);
    }
    for (const QCborArray &m : std::as_const(messages))
        handleMessage(slot, m);
    if (!messages.isEmpty())
        publish(slot);
}

void ProcessPoolPrivate::handleMessage(Slot &slot, const QCborArray &message)
{
    const auto takeStarted = [&slot](quint64 id, Job *job) {
        for (qsizetype i = 0; i < slot.started.size(); ++i) {
            if (slot.started.at(i).job.id == id) {
                *job = slot.started.takeAt(i).job;
                return true;
            }
        }
        return false;
    };
    // Jobs sent are mostly found at the front: the child reports them in the order it got them.
    const auto takeSent = [&slot](quint64 id, Queued *queued) {
        const auto it =
            std::find_if(slot.sent.begin(), slot.sent.end(), [id](const Queued &j) { return j.job.id == id; });
        if (it == slot.sent.end())
            return false;
        *queued = std::move(*it);
        slot.sent.erase(it);
        return true;
    };
    switch (message.at(0).toInteger()) {
    case Hello:
        if (slot.state == Slot::State::Starting)
            slot.state = Slot::State::Running;
        break;
    case Started: {
        const qint64 now = monotonicMs();
        const QList<quint64> ids = unpackIds(message.at(1).toByteArray());
        for (quint64 id : ids) {
            Queued queued;
            if (!takeSent(id, &queued))
                continue;
            slot.started.append(Running {queued.job, now, 0, false});
            startedIds.append(id);
        }
        break;
    }
    case Done:
    case GivenBack: {
        const bool isDone = message.at(0).toInteger() == Done;
        const QList<quint64> ids = unpackIds(message.at(1).toByteArray());
        for (quint64 id : ids) {
            Job job;
            if (takeStarted(id, &job))
                (isDone ? done : givenBack).append(job);
        }
        if (isDone && !ids.isEmpty()) {
            // How long this child's jobs take sizes its next batches (see batchFor()).
            const double perJob = double(qMax<qint64>(0, message.at(2).toInteger())) / double(ids.size());
            slot.microsPerJob = slot.microsPerJob < 0 ? perJob : 0.7 * slot.microsPerJob + 0.3 * perJob;
        }
        break;
    }
    case Failed:
        for (const QCborValue &v : message.at(1).toArray()) {
            const QCborArray a = v.toArray();
            Job job;
            if (takeStarted(quint64(a.at(0).toInteger()), &job))
                failed.append(JobFailure {job, a.at(1).toString()});
        }
        break;
    case Returned: {
        // Never started: back to their places in the queue.
        const QList<quint64> ids = unpackIds(message.at(1).toByteArray());
        for (quint64 id : ids) {
            Queued queued;
            if (takeSent(id, &queued))
                requeue(queued);
        }
        break;
    }
    case Progress: {
        const quint64 id = quint64(message.at(1).toInteger());
        for (Running &r : slot.started) {
            if (r.job.id == id) {
                r.progress = int(message.at(2).toInteger());
                r.blocking = message.at(3).toBool();
            }
        }
        break;
    }
    default:
        break; // Heartbeat: being heard is all it says
    }
}

void ProcessPoolPrivate::killGroup(Slot &slot, int signo)
{
    if (!slot.alive())
        return;
    // Not reaped yet, so neither the pid nor the process group id can have been recycled.
    ::kill(-slot.pid, signo);
    ::syscall(SYS_pidfd_send_signal, slot.pidfd, signo, nullptr, 0); // in case setpgid() had not happened yet
}

void ProcessPoolPrivate::onPidfd(Slot &slot)
{
    siginfo_t info {};
    if (::waitid(P_PIDFD, id_t(slot.pidfd), &info, WEXITED | WNOWAIT | WNOHANG) != 0) {
        if (errno != ECHILD)
            return;
        // Reaped by someone else (the application set SIGCHLD to SIG_IGN, or waits for any child): it is gone,
        // with its status. A readable pidfd is all we know.
        info.si_pid = slot.pid;
        info.si_code = CLD_EXITED;
        info.si_status = -1;
        slot.killReason = QStringLiteral("reaped elsewhere, status unknown");
    } else if (info.si_pid == 0) {
        return;
    }
    // Exited, not reaped: read what it said last, take down its group (grandchildren), then reap.
    readChannel(slot);
    ::kill(-slot.pid, SIGKILL);
    siginfo_t reaped {};
    ::waitid(P_PIDFD, id_t(slot.pidfd), &reaped, WEXITED | WNOHANG);

    const pid_t pid = slot.pid;
    const bool exitedZero = info.si_code == CLD_EXITED && info.si_status == 0;
    QString how = info.si_code == CLD_EXITED ? QStringLiteral("exited %1").arg(info.si_status)
                                             : QStringLiteral("killed by %1").arg(signalText(info.si_status));
    if (info.si_code == CLD_DUMPED)
        how += QStringLiteral(" (core dumped)");
    if (!slot.killReason.isEmpty())
        how += QStringLiteral(" (%1)").arg(slot.killReason);
    const qint64 uptime = monotonicMs() - slot.spawnedAtMs;
    // What it was running when it died, from the page it shared with us (nothing if it was between jobs).
    const bool knowsWhatRan = slot.shared != nullptr;
    const bool wasRunning = knowsWhatRan && slot.shared->running.load(std::memory_order_acquire) != 0;
    const quint64 runningId = wasRunning ? slot.shared->jobId.load(std::memory_order_relaxed) : 0;
    closeSlot(slot);

    QList<Running> inFlightJobs = std::exchange(slot.started, {});
    QList<Job> notRunning; // started as far as we know, but not what it was at when it died: back, uncharged
    const bool crashed = !exitedZero && !stopping && !slot.retiring;
    if (!exitedZero && knowsWhatRan) {
        // Exact: only the job it was running is charged, whether or not its "started" had reached us. Others we
        // saw start may have finished without our hearing it; they go back (at least once).
        QList<Running> culprit;
        for (const Running &r : std::as_const(inFlightJobs)) {
            if (wasRunning && r.job.id == runningId)
                culprit.append(r);
            else
                notRunning.append(r.job);
        }
        if (wasRunning && culprit.isEmpty()) {
            // Its "started" never reached us: the job is still among those sent.
            const auto it = std::find_if(slot.sent.begin(), slot.sent.end(),
                                         [runningId](const Queued &j) { return j.job.id == runningId; });
            if (it != slot.sent.end()) {
                culprit.append(Running {it->job, 0, 0, false});
                slot.sent.erase(it);
            }
        }
        inFlightJobs = culprit;
    } else if (!exitedZero && inFlightJobs.isEmpty() && slot.state == Slot::State::Running && !slot.sent.empty()) {
        // Without the shared page: the worker runs what it was sent in order, so the first of them was the one
        // it was at (only after its hello: before, the crash is the worker's own).
        inFlightJobs.append(Running {slot.sent.front().job, 0, 0, false});
        slot.sent.pop_front();
    }
    // Jobs it had not started go back to their places in the queue: nobody saw them start.
    for (const Queued &j : slot.sent)
        requeue(j);
    slot.sent.clear();

    if (stopping) {
        if (slot.signalled || !slot.killReason.isEmpty()) // at the deadline, or silent while stopping
            ++report.killed;
        else if (exitedZero)
            ++report.stopped;
        for (const Running &r : inFlightJobs)
            report.lostJobIds.append(r.job.id);
        report.lostJobIds += idsOf(notRunning);
    } else if (!exitedZero) {
        for (const Running &r : inFlightJobs) {
            Job job = r.job;
            ++job.crashes;
            lost.append(JobFailure {job, QStringLiteral("worker process %1 %2").arg(pid).arg(how)});
        }
        givenBack += notRunning;
    } else {
        for (const Running &r : inFlightJobs)
            givenBack.append(r.job); // exited 0 with a job: not a crash, so the job just goes back
    }
    qCInfo(lcPool, "worker %d (pid %d) %s", slot.index, int(pid), qPrintable(how));
    Q_EMIT q->workerExited(slot.index, qint64(pid), how);

    if (slot.retiring) {
        removeSlot(slot);
    } else if (stopping || !intakeOpen) {
        slot.state = Slot::State::Stopped;
        publish(slot);
    } else {
        if (crashed && uptime >= healthyMs)
            slot.backoffMs = 0; // a healthy run before this crash: start the backoff over
        scheduleRespawn(slot, crashed);
    }
    deliver();
    afterChange();
    maybeFinishStop();
}

void ProcessPoolPrivate::closeSlot(Slot &slot)
{
    for (QSocketNotifier **n : {&slot.pidNotifier, &slot.readNotifier, &slot.writeNotifier}) {
        if (*n) {
            (*n)->setEnabled(false);
            (*n)->deleteLater(); // may be the notifier whose signal is being handled
            *n = nullptr;
        }
    }
    if (slot.channel >= 0)
        ::close(slot.channel);
    if (slot.pidfd >= 0)
        ::close(slot.pidfd);
    if (slot.shared)
        ::munmap(slot.shared, sizeof(SharedState));
    slot.shared = nullptr;
    slot.channel = -1;
    slot.pidfd = -1;
    slot.pid = 0;
    slot.in.clear();
    slot.out.clear();
}

void ProcessPoolPrivate::scheduleRespawn(Slot &slot, bool crashed)
{
    const qint64 now = monotonicMs();
    int delay = backoffInitialMs;
    if (crashed) {
        slot.crashTimes.append(now);
        while (!slot.crashTimes.isEmpty() && now - slot.crashTimes.first() > crashWindowMs)
            slot.crashTimes.removeFirst();
        if (slot.crashTimes.size() > crashLimit) {
            qCWarning(lcPool, "worker %d crashed %d times within %d ms: slot disabled", slot.index,
                      int(slot.crashTimes.size()), crashWindowMs);
            slot.state = Slot::State::Disabled;
            publish(slot);
            updateDegraded();
            return;
        }
        slot.backoffMs = slot.backoffMs == 0 ? backoffInitialMs : qMin(slot.backoffMs * 2, backoffMaxMs);
        delay = slot.backoffMs;
    }
    slot.state = Slot::State::Backoff;
    publish(slot);
    if (!slot.respawnTimer) {
        slot.respawnTimer = new QTimer(q);
        slot.respawnTimer->setSingleShot(true);
        Slot *s = &slot;
        QObject::connect(slot.respawnTimer, &QTimer::timeout, q, [this, s] {
            if (stopping || !intakeOpen || s->state != Slot::State::Backoff)
                return;
            if (!spawn(*s)) {
                // Spawning itself failed (descriptors, memory): count it like a crash, so it cannot spin.
                scheduleRespawn(*s, true);
                return;
            }
            dispatch();
        });
    }
    slot.respawnTimer->start(delay);
}

void ProcessPoolPrivate::updateDegraded()
{
    int disabled = 0;
    for (const auto &s : slots) {
        if (s->state == Slot::State::Disabled)
            ++disabled;
    }
    const bool now = disabled > 0;
    if (now != degraded) {
        degraded = now;
        Q_EMIT q->degradedChanged(degraded);
    }
    if (disabled > 0 && disabled == activeSlots() && !noSlotsEmitted) {
        noSlotsEmitted = true;
        qCWarning(lcPool, "every worker slot is disabled by the crash-loop guard");
        Q_EMIT q->noSlotsLeft();
    }
}

void ProcessPoolPrivate::dispatch()
{
    if (!dispatchOn || queue.empty())
        return;
    std::vector<Slot *> targets;
    for (auto &s : slots) {
        if (s->alive() && !s->retiring && !s->stopSent && s->killReason.isEmpty())
            targets.push_back(s.get());
    }
    if (targets.empty())
        return;
    struct Batch
    {
        QList<quint64> ids;
        QByteArray payloads;
        QList<qint32> counts;
    };
    QHash<Slot *, Batch> batches;
    while (!queue.empty()) {
        // The least loaded slot first: short jobs fill every child's batch, long ones spread out.
        Slot *best = nullptr;
        for (Slot *s : targets) {
            if (s->load() < batchFor(*s) && (!best || s->load() < best->load()))
                best = s;
        }
        if (!best)
            break;
        const Job &job = queue.front().job;
        if (job.payload.size() > MaxPayloadBytes) {
            // It could never cross the channel (a frame is limited): a failure with its reason, not a crash loop.
            failed.append(JobFailure {job,
                                      QStringLiteral("payload of %1 bytes exceeds the worker channel's limit of %2")
                                          .arg(job.payload.size())
                                          .arg(MaxPayloadBytes)});
            queue.pop_front();
            continue;
        }
        Batch &b = batches[best];
        if (!b.ids.isEmpty() && b.payloads.size() + job.payload.size() > MaxBatchPayloadBytes) {
            targets.erase(std::remove(targets.begin(), targets.end(), best), targets.end()); // full for this round
            continue;
        }
        b.ids.append(job.id);
        b.payloads.append(job.payload);
        b.counts.append(qint32(job.payload.size()));
        b.counts.append(job.attempts);
        b.counts.append(job.crashes);
        best->sent.push_back(std::move(queue.front()));
        queue.pop_front();
        hadWork = true;
    }
    for (auto it = batches.cbegin(); it != batches.cend(); ++it) {
        send(*it.key(), QCborArray {Jobs, packIds(it->ids), it->payloads, packCounts(it->counts)});
        publish(*it.key());
    }
    if (!failed.isEmpty())
        deliver();
}

int ProcessPoolPrivate::batchFor(const Slot &slot) const
{
    // About BatchMicros of work per child and round trip: thousands of jobs of a microsecond, one of a second.
    // Unknown durations start at one job, so long jobs are never piled onto one child.
    constexpr double BatchMicros = 2000;
    if (slot.microsPerJob < 0)
        return 1;
    return int(qBound(1.0, BatchMicros / qMax(slot.microsPerJob, 1.0), double(batch)));
}

void ProcessPoolPrivate::scheduleDispatch()
{
    // A burst of submit() calls becomes one batch per child, not one message per job.
    if (dispatchPosted)
        return;
    dispatchPosted = true;
    QMetaObject::invokeMethod(
        q,
        [this] {
            dispatchPosted = false;
            dispatch();
        },
        Qt::QueuedConnection);
}

void ProcessPoolPrivate::deliver()
{
    // Started before the outcomes of the same read: a job's start always reaches the caller first.
    if (!startedIds.isEmpty())
        Q_EMIT q->jobsStarted(std::exchange(startedIds, {}));
    if (!done.isEmpty())
        Q_EMIT q->jobsDone(std::exchange(done, {}));
    if (!givenBack.isEmpty())
        Q_EMIT q->jobsGivenBack(std::exchange(givenBack, {}));
    if (!failed.isEmpty())
        Q_EMIT q->jobsFailed(std::exchange(failed, {}));
    if (!lost.isEmpty())
        Q_EMIT q->jobsLost(std::exchange(lost, {}));
}

void ProcessPoolPrivate::afterChange()
{
    dispatch();
    if (capacityWanted && intakeOpen && hasCapacity()) {
        capacityWanted = false;
        Q_EMIT q->capacityAvailable();
    }
    const int busy = inFlight();
    if (drainWanted && busy == 0 && (!dispatchOn || queue.empty())) {
        drainWanted = false;
        Q_EMIT q->drained();
    }
    if (hadWork && busy == 0 && queue.empty()) {
        hadWork = false;
        Q_EMIT q->idle();
    }
}

void ProcessPoolPrivate::onTick()
{
    const qint64 now = monotonicMs();
    // A gap much longer than the interval means we were not running (SIGSTOP, Ctrl+Z, a starved event loop):
    // the children's silence during it does not count, only one interval of it does.
    const qint64 credited = qMin<qint64>(now - lastTickMs, 2 * tick.interval());
    lastTickMs = now;
    // Read every channel before judging anyone: what arrived while we were stopped is in the buffers.
    for (auto &s : slots)
        readChannel(*s);
    for (auto &s : slots) {
        if (!s->alive() || !s->killReason.isEmpty())
            continue;
        if (s->heard) {
            s->heard = false;
            s->silenceMs = 0;
            continue;
        }
        s->silenceMs += credited;
        if (s->silenceMs > heartbeatTimeoutMs) {
            qCWarning(lcPool, "worker %d (pid %d) silent for %lld ms: killing its process group", s->index, int(s->pid),
                      s->silenceMs);
            s->killReason = QStringLiteral("heartbeat timeout");
            killGroup(*s, SIGKILL);
        }
    }
    deliver();
    afterChange();
}

void ProcessPoolPrivate::onTerminate()
{
    for (auto &s : slots) {
        if (s->alive()) {
            qCInfo(lcPool, "worker %d (pid %d) still running near the stop deadline: SIGTERM", s->index, int(s->pid));
            s->signalled = true;
            killGroup(*s, SIGTERM);
        }
    }
}

void ProcessPoolPrivate::onKill()
{
    for (auto &s : slots) {
        if (s->alive()) {
            qCWarning(lcPool, "worker %d (pid %d) still running at the stop deadline: SIGKILL to its group", s->index,
                      int(s->pid));
            s->signalled = true;
            killGroup(*s, SIGKILL);
        }
    }
    // A process in uninterruptible sleep may not die at once: report it as stuck rather than wait forever.
    giveUpTimer.start(1000);
}

void ProcessPoolPrivate::maybeFinishStop()
{
    if (!stopping || stopEmitted)
        return;
    const bool timedOut = killFired && !giveUpTimer.isActive();
    bool anyAlive = false;
    for (const auto &s : slots)
        anyAlive = anyAlive || s->alive();
    if (anyAlive && !timedOut)
        return;
    report.allStopped = !anyAlive;
    report.stuck.clear();
    const qint64 now = monotonicMs();
    for (const auto &s : slots) {
        if (!s->alive())
            continue;
        StopReport::Stuck stuck;
        stuck.worker = s->index;
        stuck.threadName = threadNamePrefix + QString::number(s->index);
        if (!s->started.isEmpty()) {
            stuck.jobId = s->started.first().job.id;
            stuck.busyMs = now - s->started.first().startedAtMs;
            for (const Running &r : std::as_const(s->started))
                report.lostJobIds.append(r.job.id);
        }
        report.stuck.append(stuck);
    }
    stopEmitted = true;
    terminateTimer.stop();
    killTimer.stop();
    giveUpTimer.stop();
    tick.stop();
    QMetaObject::invokeMethod(
        q, [this, r = report] { Q_EMIT q->stopped(r); }, Qt::QueuedConnection);
}

void ProcessPoolPrivate::publish(const Slot &slot)
{
    Published p;
    WorkerSnapshot &w = p.snapshot;
    w.index = slot.index;
    w.threadName = threadNamePrefix + QString::number(slot.index);
    w.pid = slot.pid;
    w.restarts = slot.restarts;
    w.busy = !slot.started.isEmpty();
    if (w.busy) {
        const Running &r = slot.started.first();
        w.jobId = r.job.id;
        w.progressPercent = r.progress;
        w.hung = r.blocking;
        p.startedAtMs = r.startedAtMs;
    }
    switch (slot.state) {
    case Slot::State::Starting:
        w.state = QStringLiteral("starting");
        break;
    case Slot::State::Running:
        w.state = slot.retiring || slot.stopSent ? QStringLiteral("draining")
            : w.busy                             ? QStringLiteral("busy")
                                                 : QStringLiteral("idle");
        break;
    case Slot::State::Backoff:
        w.state = QStringLiteral("backoff");
        break;
    case Slot::State::Disabled:
        w.state = QStringLiteral("disabled");
        break;
    case Slot::State::Stopped:
        w.state = QStringLiteral("stopped");
        break;
    }
    QMutexLocker lock(&publishedMutex);
    published.insert(slot.index, p);
}

Slot *ProcessPoolPrivate::addSlot()
{
    int index = 0;
    while (slotByIndex(index))
        ++index;
    auto slot = std::make_unique<Slot>();
    slot->index = index;
    Slot *added = slot.get();
    slots.push_back(std::move(slot));
    // Keep the slots ordered by index, so snapshots and the spread of jobs follow it.
    std::sort(slots.begin(), slots.end(), [](const auto &a, const auto &b) { return a->index < b->index; });
    publish(*added);
    return added;
}

void ProcessPoolPrivate::removeSlot(Slot &slot)
{
    Q_ASSERT(!slot.alive());
    if (slot.respawnTimer)
        slot.respawnTimer->deleteLater();
    {
        QMutexLocker lock(&publishedMutex);
        published.remove(slot.index);
    }
    const Slot *target = &slot;
    slots.erase(std::remove_if(slots.begin(), slots.end(), [target](const auto &s) { return s.get() == target; }),
                slots.end());
    updateDegraded();
}

// ---------------------------------------------------------------------------------------------------------------

ProcessPool::ProcessPool(QObject *parent)
    : JobPool(parent)
    , d(std::make_unique<ProcessPoolPrivate>(this))
{
    d->setTickInterval();
    connect(&d->tick, &QTimer::timeout, this, [this] { d->onTick(); });
    d->terminateTimer.setSingleShot(true);
    d->killTimer.setSingleShot(true);
    d->giveUpTimer.setSingleShot(true);
    connect(&d->terminateTimer, &QTimer::timeout, this, [this] { d->onTerminate(); });
    connect(&d->killTimer, &QTimer::timeout, this, [this] {
        d->killFired = true;
        d->onKill();
    });
    connect(&d->giveUpTimer, &QTimer::timeout, this, [this] { d->maybeFinishStop(); });
}

ProcessPool::~ProcessPool()
{
    // The last resort: no job is waited for. SIGKILL, then reap: a killed process exits at once, unless it is in
    // an uninterruptible sleep; then we wait a second at most and leave it to init.
    for (auto &s : d->slots) {
        if (!s->alive())
            continue;
        d->killGroup(*s, SIGKILL);
        pollfd exited {s->pidfd, POLLIN, 0};
        siginfo_t info {};
        if (::poll(&exited, 1, 1000) == 1)
            ::waitid(P_PIDFD, id_t(s->pidfd), &info, WEXITED | WNOHANG);
        delete s->pidNotifier;
        delete s->readNotifier;
        delete s->writeNotifier;
        s->pidNotifier = s->readNotifier = s->writeNotifier = nullptr;
        d->closeSlot(*s);
    }
}

void ProcessPool::setWorkerProgram(const QString &program, const QStringList &arguments)
{
    d->program = program;
    d->arguments = arguments;
}

QString ProcessPool::workerProgram() const
{
    return d->program;
}

QStringList ProcessPool::workerArguments() const
{
    return d->arguments;
}

void ProcessPool::setHeartbeatTimeout(int ms)
{
    d->heartbeatTimeoutMs = qMax(50, ms);
    d->setTickInterval();
}

int ProcessPool::heartbeatTimeout() const
{
    return d->heartbeatTimeoutMs;
}

void ProcessPool::setCrashLoopLimit(int crashes, int windowMs)
{
    d->crashLimit = qMax(0, crashes);
    d->crashWindowMs = qMax(1, windowMs);
}

int ProcessPool::crashLoopLimit() const
{
    return d->crashLimit;
}

int ProcessPool::crashLoopWindowMs() const
{
    return d->crashWindowMs;
}

void ProcessPool::setRestartBackoff(int initialMs, int maxMs, int healthyMs)
{
    d->backoffInitialMs = qMax(0, initialMs);
    d->backoffMaxMs = qMax(d->backoffInitialMs, maxMs);
    d->healthyMs = qMax(0, healthyMs);
}

int ProcessPool::restartBackoff() const
{
    return d->backoffInitialMs;
}

void ProcessPool::setDispatchBatch(int jobs)
{
    d->batch = qMax(1, jobs);
}

int ProcessPool::dispatchBatch() const
{
    return d->batch;
}

void ProcessPool::setWorkerCoreDumps(bool enabled)
{
    d->coreDumps = enabled;
}

bool ProcessPool::workerCoreDumps() const
{
    return d->coreDumps;
}

void ProcessPool::setTerminateGrace(int ms)
{
    d->terminateGraceMs = qMax(0, ms);
}

int ProcessPool::terminateGrace() const
{
    return d->terminateGraceMs;
}

void ProcessPool::setThreadNamePrefix(const QString &prefix)
{
    if (!d->started)
        d->threadNamePrefix = prefix;
}

QString ProcessPool::threadNamePrefix() const
{
    return d->threadNamePrefix;
}

bool ProcessPool::start(int workerCount)
{
    if (workerCount < 1) {
        d->error = QStringLiteral("worker count must be at least 1");
        return false;
    }
    if (d->started || d->stopping) {
        d->error = QStringLiteral("the pool was started before");
        return false;
    }
    if (!d->resolveProgram())
        return false;
    d->started = true;
    for (int i = 0; i < workerCount; ++i)
        d->addSlot();
    for (auto &s : d->slots) {
        if (!d->spawn(*s)) {
            s->state = Slot::State::Stopped;
            d->publish(*s);
            return false; // the ones started keep running; stop() or the destructor ends them
        }
    }
    d->lastTickMs = monotonicMs();
    d->tick.start();
    d->dispatch();
    return true;
}

QString ProcessPool::errorString() const
{
    return d->error;
}

int ProcessPool::workerCount() const
{
    return d->activeSlots();
}

bool ProcessPool::setWorkerCount(int n)
{
    if (!d->started || d->stopping)
        return true;
    n = qMax(1, n);
    int current = d->activeSlots();
    bool ok = true;
    while (current < n) {
        Slot *slot = d->addSlot();
        if (d->intakeOpen && !d->spawn(*slot)) {
            d->removeSlot(*slot);
            ok = false;
            break;
        }
        ++current;
    }
    // Shrinking: what costs nothing first (disabled, waiting to respawn, stopped), then idle, then busy children.
    const auto rank = [](const Slot &s) {
        if (!s.alive())
            return 0;
        return s.load() == 0 ? 1 : 2;
    };
    while (current > n) {
        Slot *victim = nullptr;
        for (auto it = d->slots.rbegin(); it != d->slots.rend(); ++it) {
            Slot &s = **it;
            if (!s.retiring && (!victim || rank(s) < rank(*victim)))
                victim = &s;
        }
        if (!victim)
            break;
        victim->retiring = true;
        --current;
        if (victim->alive()) {
            d->send(*victim, QCborArray {Retire});
            d->publish(*victim);
        } else {
            if (victim->respawnTimer)
                victim->respawnTimer->stop();
            d->removeSlot(*victim);
        }
    }
    d->dispatch();
    return ok;
}

void ProcessPool::setQueueLimit(int limit)
{
    d->queueLimit = qMax(0, limit);
}

int ProcessPool::queueLimit() const
{
    return d->queueLimit;
}

bool ProcessPool::tryReserve()
{
    if (!d->intakeOpen)
        return false;
    if (!d->hasCapacity()) {
        d->capacityWanted = true;
        return false;
    }
    ++d->reserved;
    return true;
}

void ProcessPool::cancelReservation()
{
    if (d->reserved > 0)
        --d->reserved;
    if (d->capacityWanted && d->intakeOpen && d->hasCapacity()) {
        d->capacityWanted = false;
        QMetaObject::invokeMethod(this, &JobPool::capacityAvailable, Qt::QueuedConnection);
    }
}

void ProcessPool::submit(const Job &job)
{
    if (d->reserved > 0)
        --d->reserved;
    d->queue.push_back(Queued {job, d->nextSeq++});
    d->hadWork = true;
    d->scheduleDispatch();
}

void ProcessPool::stopIntake()
{
    if (!d->intakeOpen && !d->dispatchOn)
        return;
    d->intakeOpen = false;
    d->dispatchOn = false;
    // Drain: every child finishes the job it is at and gives back the ones it has not started.
    for (auto &s : d->slots) {
        if (s->alive())
            d->send(*s, QCborArray {Reclaim});
        if (s->state == Slot::State::Backoff) {
            s->respawnTimer->stop();
            s->state = Slot::State::Stopped;
            d->publish(*s);
        }
    }
}

void ProcessPool::drain()
{
    if (!d->dispatchOn) {
        for (auto &s : d->slots) {
            if (s->alive() && !s->sent.empty())
                d->send(*s, QCborArray {Reclaim});
        }
    }
    d->drainWanted = true;
    QMetaObject::invokeMethod(
        this, [this] { d->afterChange(); }, Qt::QueuedConnection);
}

void ProcessPool::cancel()
{
    for (auto &s : d->slots) {
        if (s->alive())
            d->send(*s, QCborArray {Cancel});
    }
}

void ProcessPool::stop(QDeadlineTimer deadline)
{
    if (d->stopEmitted)
        return;
    const bool first = !d->stopping;
    d->stopping = true;
    d->intakeOpen = false;
    d->dispatchOn = false;
    if (first) {
        d->report = StopReport {};
        for (auto &s : d->slots) {
            if (s->respawnTimer)
                s->respawnTimer->stop();
            if (s->alive()) {
                s->stopSent = true;
                d->send(*s, QCborArray {Stop});
            } else {
                s->state = s->state == Slot::State::Disabled ? s->state : Slot::State::Stopped;
            }
            d->publish(*s);
        }
    }
    // A second call can only bring the deadline closer.
    const qint64 left = qMax<qint64>(0, deadline.remainingTime());
    if (!d->killTimer.isActive() || left < d->killTimer.remainingTime()) {
        if (!deadline.isForever()) {
            d->killTimer.start(int(qMin<qint64>(left, INT_MAX)));
            d->terminateTimer.start(int(qMax<qint64>(0, left - d->terminateGraceMs)));
        }
    }
    QMetaObject::invokeMethod(
        this, [this] { d->maybeFinishStop(); }, Qt::QueuedConnection);
}

bool ProcessPool::isStopping() const
{
    return d->stopping;
}

int ProcessPool::queuedCount() const
{
    return int(d->queue.size());
}

int ProcessPool::inFlightCount() const
{
    return d->inFlight();
}

QList<Job> ProcessPool::queuedJobs() const
{
    QList<Job> jobs;
    jobs.reserve(qsizetype(d->queue.size()));
    for (const Queued &queued : d->queue)
        jobs.append(queued.job);
    return jobs;
}

QList<WorkerSnapshot> ProcessPool::snapshot() const
{
    const qint64 now = monotonicMs();
    QList<WorkerSnapshot> out;
    QMutexLocker lock(&d->publishedMutex);
    out.reserve(d->published.size());
    for (const Published &p : std::as_const(d->published)) {
        WorkerSnapshot w = p.snapshot;
        if (w.busy)
            w.elapsedMs = now - p.startedAtMs;
        out.append(w);
    }
    std::sort(out.begin(), out.end(),
              [](const WorkerSnapshot &a, const WorkerSnapshot &b) { return a.index < b.index; });
    return out;
}

void ProcessPool::killAllNow()
{
    // Nothing may be respawned by the exits this causes, should the event loop still run.
    d->intakeOpen = false;
    d->dispatchOn = false;
    for (auto &s : d->slots) {
        if (s->respawnTimer)
            s->respawnTimer->stop();
    }
    for (auto &s : d->slots)
        d->killGroup(*s, SIGKILL);
}

int ProcessPool::runningProcessCount() const
{
    int n = 0;
    for (const auto &s : d->slots)
        n += s->alive() ? 1 : 0;
    return n;
}

int ProcessPool::disabledSlotCount() const
{
    int n = 0;
    for (const auto &s : d->slots)
        n += s->state == Slot::State::Disabled ? 1 : 0;
    return n;
}

bool ProcessPool::isDegraded() const
{
    return d->degraded;
}

} // namespace Quiesce
