#include "lineoutput.h"

#include <Quiesce/directoutput.h>
#include <Quiesce/threadowner.h>

#include <QtCore/QByteArray>
#include <QtCore/QThread>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace Quiesce::App {

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Room in the queue, in bytes; each line is charged its length plus kEntryOverhead for its queue node. Request
// lines get 256 KiB (some 13,000 lines): enough to ride out a reader that pauses, small enough to bound memory.
// Lifecycle lines get 1 MiB of their own, so request lines can never crowd them out; should even that fill up (a
// flood of SIGUSR1 into a stalled pipe), further lifecycle lines are dropped too and counted as "other".
constexpr std::size_t kRequestRoom = 256 * 1024;
constexpr std::size_t kLifecycleRoom = 1024 * 1024;
constexpr std::size_t kEntryOverhead = 64;
// A reader that has taken nothing for this long has stalled: the request lines queued then are dropped as soon as a
// lifecycle line (or the exit) waits behind them. A reader that is merely slow loses nothing until the room is full.
constexpr auto kStallAfter = 500ms;
// More than any request line ("accepted id=18446744073709551615") takes.
constexpr std::size_t kRequestLineRoom = 256;
// How often the writer looks again at a pipe that is too full for the next line: no event says "below half full".
constexpr auto kRecheck = 20ms;
// The thread only writes lines (no recursion, no Qt): a small stack keeps it cheap under `ulimit -v`.
constexpr std::size_t kStackSize = 256 * 1024;

bool isRequest(LineKind kind)
{
    return kind != LineKind::Lifecycle;
}

struct Entry
{
    int fd;
    LineKind kind;
    std::string bytes;
};

struct Counts
{
    quint64 accepted = 0;
    quint64 done = 0;
    quint64 shed = 0;
    quint64 other = 0;

    bool operator==(const Counts &) const = default;

    void add(LineKind kind)
    {
        switch (kind) {
        case LineKind::Accepted:
            ++accepted;
            break;
        case LineKind::Done:
            ++done;
            break;
        case LineKind::Shed:
            ++shed;
            break;
        case LineKind::Lifecycle:
            ++other;
            break;
        }
    }
};

// A pipe or FIFO: how full it is and how full each kind of line may make it. Request lines may fill half of the
// pipe's buffer; lifecycle lines all of it but two pages (a partly read page at each end of the buffer must not
// make a one-page write block). So when the reader stalls, the lifecycle lines that follow (the SHUTDOWN lines, the
// OUTPUT dropped totals) still fit, and whoever reads the pipe later finds them.
struct PipeRoom
{
    bool managed = false;
    std::size_t fill = 0;
    std::size_t requestLimit = 0;
    std::size_t lifecycleLimit = 0;
};

// Writes all of \a bytes, waiting for the reader as long as it takes (only the writer thread and the blocking
// commands call this). A descriptor that fails (EPIPE from a closed pipe, EBADF, EIO) costs the line, nothing more.
void writeAllBlocking(int fd, const char *data, std::size_t size)
{
    Quiesce::writeLineDirect(fd, QByteArrayView(data, qsizetype(size)), QDeadlineTimer(QDeadlineTimer::Forever));
}

// Writes what the descriptor takes right now, never waiting; false if not all of it went out.
bool writeNow(int fd, const char *data, std::size_t size)
{
    return Quiesce::writeLineDirect(fd, QByteArrayView(data, qsizetype(size)), QDeadlineTimer(0));
}

// Writes a line of at most PIPE_BUF bytes into a pipe only as far as that cannot block. Returns how much went out:
// all of it, or nothing when the pipe has no room now (such a write is atomic). A descriptor that fails (EPIPE,
// EBADF) counts as all: the line is lost, as the writer thread would lose it. RWF_NOWAIT makes "no room" part of the
// write itself, so another writer that fills the pipe between a check and the write (a shell sharing it, `2>&1`)
// cannot make it block. Where the kernel does not take RWF_NOWAIT (named FIFOs, kernels before pipes took it),
// \a noWait is cleared and the poll(2) check is used instead: POLLOUT means at least one free page slot, which a
// write of at most PIPE_BUF bytes fits into.
std::size_t writeToPipeNow(int fd, const char *data, std::size_t size, bool *noWait)
{
    iovec part {const_cast<char *>(data), size};
    for (;;) {
        ssize_t n = -1;
        if (*noWait) {
            n = ::pwritev2(fd, &part, 1, -1, RWF_NOWAIT);
            if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) {
                *noWait = false;
                continue;
            }
        } else {
            pollfd p {fd, POLLOUT, 0};
            if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0)
                return 0;
            n = ::write(fd, data, size);
        }
        if (n >= 0)
            return std::size_t(n);
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 0 : size;
    }
}

std::string toLine(const QString &text, const char *prefix = nullptr)
{
    std::string line;
    const std::size_t prefixSize = prefix != nullptr ? std::strlen(prefix) : 0;
    // The usual line (the protocol's lines are ASCII) is narrowed straight into the one buffer, with no UTF-8
    // QByteArray in between: an allocation and a conversion less on every line, SIGUSR1 -> STATUS included.
    line.resize(prefixSize + std::size_t(text.size()) + 1);
    if (prefix != nullptr)
        std::memcpy(line.data(), prefix, prefixSize);
    char *out = line.data() + prefixSize;
    bool ascii = true;
    for (const QChar c : text) {
        const char16_t unit = c.unicode();
        ascii = ascii && unit < 0x80;
        *out++ = char(unit);
    }
    if (ascii) {
        line.back() = '\n';
        return line;
    }
    line.clear();
    const QByteArray utf8 = text.toUtf8();
    line.reserve(prefixSize + std::size_t(utf8.size()) + 1);
    if (prefix != nullptr)
        line.append(prefix, prefixSize);
    line.append(utf8.constData(), std::size_t(utf8.size()));
    line.push_back('\n');
    return line;
}

/* The process's one output queue and its writer thread. Created on first use and never destroyed: the process may
   end (exit() and its static destructors, or _exit()) while the thread is still blocked in write(2) on a pipe nobody
   reads, and that thread must never find its mutex, queue or condition variables gone. */
class Writer
{
public:
    static Writer &instance()
    {
        static Writer *const writer = new Writer; // leaked on purpose, see above
        return *writer;
    }

    bool start(QString *error);
    void post(int fd, LineKind kind, std::string bytes, bool force = false);
    bool flush(std::chrono::milliseconds budget);
    int directFd();
    void takeDirectLines();

private:
    enum class FdType { Unknown, Pipe, File, Other };
    struct FdState
    {
        FdType type = FdType::Unknown;
        bool noWait = true;                         // pwritev2(RWF_NOWAIT) works on it, as far as we know
        std::optional<Clock::time_point> overSince; // since when a managed pipe is above the request limit
    };

    Writer() = default;
    void run();
    FdType fdType(int fd);
    PipeRoom pipeRoom(int fd);
    bool writeDirect(int fd, LineKind kind, std::string *bytes);
    void noteReaderProgress(int fd, const PipeRoom &room, Clock::time_point now);
    bool stalled(Clock::time_point now);
    void enqueue(Entry entry);
    Entry takeFront();
    void release(const Entry &entry);
    void dropQueuedRequestLines();
    // New drops to report; or the exit has begun and lines were dropped during the run, but the totals are not
    // the last line: whoever reads the output later finds them at its end.
    bool oweNotice() const
    {
        return !(m_dropped == m_reported) || (m_finishing > 0 && !(m_dropped == Counts {}) && !m_totalsLast);
    }
    bool readerStalls(int fd);
    std::string notice();

    std::mutex m_mutex;
    std::condition_variable m_wake; // the writer waits on it
    std::condition_variable m_idle; // flush() waits on it
    std::deque<Entry> m_queue;
    std::size_t m_requestBytes = 0;
    std::size_t m_lifecycleBytes = 0;
    int m_lifecycleQueued = 0;
    Counts m_dropped;  // totals since start
    Counts m_reported; // the totals of the last OUTPUT dropped line
    FdState m_fds[3];
    bool m_running = false;
    std::unique_ptr<ThreadOwner> m_thread; // never destroyed, see instance()
    bool m_busy = false;                   // the writer is inside write(2) with a line taken off the queue
    Clock::time_point m_busySince;
    bool m_waitingForReader = false;
    int m_finishing = 0;       // flushes in progress: the watchdog's exit and main()'s may overlap
    bool m_totalsLast = false; // the last line queued is an OUTPUT dropped line
    int m_directRead = -1;
    int m_directWrite = -1;
};

bool Writer::start(QString *error)
{
    {
        std::lock_guard lock(m_mutex);
        if (m_running)
            return true;
    }
    // Never stopped, never joined: the process may end with it stuck in write(2), so its owner (like the Writer) is
    // never destroyed. Started with the signal bridge's signals blocked; run() blocks the rest. Started without
    // m_mutex held: a Qt message during QThread::start() comes back here through the message handler.
    auto thread = std::make_unique<ThreadOwner>([this] { run(); });
    thread->setName(QStringLiteral("quiesce-output"));
    thread->thread()->setStackSize(uint(kStackSize));
    // Not waited for: the lines queue until it runs, and the start of the run (the journal's thread is working
    // meanwhile) goes on at once.
    if (!thread->startWithoutWaiting(error))
        return false;
    std::lock_guard lock(m_mutex);
    m_thread = std::move(thread);
    m_running = true;
    return true;
}

void Writer::post(int fd, LineKind kind, std::string bytes, bool force)
{
    std::lock_guard lock(m_mutex);
    if (!m_running) {
        // Before the thread runs (or when it could not start): what the descriptor takes at once, never a wait.
        if (!writeNow(fd, bytes.data(), bytes.size())) {
            m_dropped.add(kind);
        } else if (oweNotice()) {
            const std::string text = notice();
            if (writeNow(STDOUT_FILENO, text.data(), text.size()))
                m_reported = m_dropped;
        }
        return;
    }
    if (writeDirect(fd, kind, &bytes))
        return;
    const std::size_t cost = bytes.size() + kEntryOverhead;
    if (isRequest(kind)) {
        if (m_requestBytes + cost > kRequestRoom) {
            m_dropped.add(kind);
            return;
        }
    } else {
        if (!force && m_lifecycleBytes + cost > kLifecycleRoom) {
            m_dropped.add(kind);
            return;
        }
        // A reader stuck for a while: the request lines ahead of this one will not get out in time; drop them
        // now (counted) so that this line goes out the moment the descriptor takes anything.
        if (stalled(Clock::now()))
            dropQueuedRequestLines();
    }
    enqueue(Entry {fd, kind, std::move(bytes)});
    // While the writer waits for a stalled pipe, another request line changes nothing for it.
    if (!m_waitingForReader || !isRequest(kind))
        m_wake.notify_one();
}

bool Writer::flush(std::chrono::milliseconds budget)
{
    std::unique_lock lock(m_mutex);
    if (!m_running) {
        if (oweNotice()) {
            const std::string text = notice();
            if (!writeNow(STDOUT_FILENO, text.data(), text.size()))
                return false;
            m_reported = m_dropped;
        }
        return true;
    }
    // The exit is a lifecycle event too: request lines that a stalled reader keeps back are dropped (and counted in
    // the last OUTPUT dropped line) instead of holding up what follows them.
    ++m_finishing;
    // Every line out already (the usual case at exit: lines mostly go out directly), and no totals owed: done at
    // once, without a round trip through the writer thread.
    if (m_queue.empty() && !m_busy && !oweNotice()) {
        --m_finishing;
        return true;
    }
    if (stalled(Clock::now()))
        dropQueuedRequestLines();
    m_wake.notify_one();
    const bool done = m_idle.wait_for(lock, budget, [this] { return m_queue.empty() && !m_busy && !oweNotice(); });
    --m_finishing;
    return done;
}

int Writer::directFd()
{
    std::lock_guard lock(m_mutex);
    if (m_directWrite < 0) {
        int fds[2];
        // Ours alone, so non-blocking is fine here (unlike on the inherited stdout); close-on-exec, so no child
        // (a --pre-stop command) holds it.
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
            return STDOUT_FILENO;
        m_directRead = fds[0];
        m_directWrite = fds[1];
    }
    return m_directWrite;
}

void Writer::takeDirectLines()
{
    std::string text;
    {
        std::lock_guard lock(m_mutex);
        if (m_directRead < 0)
            return;
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::read(m_directRead, buffer, sizeof buffer);
            if (n > 0)
                text.append(buffer, std::size_t(n));
            else if (!(n < 0 && errno == EINTR))
                break;
        }
    }
    std::size_t from = 0;
    while (from < text.size()) {
        std::size_t end = text.find('\n', from);
        if (end == std::string::npos)
            end = text.size();
        if (end > from)
            post(STDOUT_FILENO, LineKind::Lifecycle, text.substr(from, end - from) + '\n', true);
        from = end + 1;
    }
}

void Writer::run()
{
    // Every asynchronous signal blocked, not only the bridge's: no write of ours should ever see EINTR. Faults in
    // the thread itself stay deliverable.
    sigset_t blocked;
    sigfillset(&blocked);
    for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS})
        sigdelset(&blocked, signo);
    ::pthread_sigmask(SIG_BLOCK, &blocked, nullptr);

    std::unique_lock lock(m_mutex);
    for (;;) {
        if (m_queue.empty()) {
            if (oweNotice()) {
                // Caught up after dropping: say how many, once, with the totals since start. Not while the reader
                // still stalls (the queue only emptied because lines were dropped): then at exit.
                if (m_finishing == 0 && readerStalls(STDOUT_FILENO)) {
                    m_wake.wait_for(lock, kRecheck);
                    continue;
                }
                m_reported = m_dropped;
                enqueue(Entry {STDOUT_FILENO, LineKind::Lifecycle, notice()});
                m_totalsLast = true;
                continue;
            }
            m_idle.notify_all();
            m_wake.wait(lock);
            continue;
        }
        const Entry &head = m_queue.front();
        const PipeRoom room = pipeRoom(head.fd);
        if (room.managed) {
            const Clock::time_point now = Clock::now();
            noteReaderProgress(head.fd, room, now);
            const std::size_t limit = isRequest(head.kind) ? room.requestLimit : room.lifecycleLimit;
            if (room.fill > 0 && room.fill + head.bytes.size() > limit) {
                if (isRequest(head.kind) && (m_lifecycleQueued > 0 || m_finishing > 0) && stalled(now)) {
                    dropQueuedRequestLines();
                    continue;
                }
                m_waitingForReader = true;
                m_wake.wait_for(lock, kRecheck);
                m_waitingForReader = false;
                continue;
            }
        }
        const Entry entry = takeFront();
        m_busy = true;
        m_busySince = Clock::now();
        lock.unlock();
        writeAllBlocking(entry.fd, entry.bytes.data(), entry.bytes.size());
        lock.lock();
        m_busy = false;
    }
}

Writer::FdType Writer::fdType(int fd)
{
    if (fd < 0 || fd > 2)
        return FdType::Other;
    FdState &state = m_fds[fd];
    if (state.type == FdType::Unknown) {
        struct stat st;
        if (::fstat(fd, &st) != 0)
            state.type = FdType::Other;
        else if (S_ISFIFO(st.st_mode))
            state.type = FdType::Pipe;
        else if (S_ISREG(st.st_mode))
            state.type = FdType::File;
        else
            state.type = FdType::Other;
    }
    return state.type;
}

PipeRoom Writer::pipeRoom(int fd)
{
    PipeRoom room;
    if (fdType(fd) != FdType::Pipe)
        return room;
    static const long page = ::sysconf(_SC_PAGESIZE);
    const int capacity = ::fcntl(fd, F_GETPIPE_SZ);
    int fill = 0;
    if (page <= 0 || capacity < 4 * page || ::ioctl(fd, FIONREAD, &fill) != 0 || fill < 0)
        return room; // too small to keep room in, or not a pipe after all: plain blocking writes
    room.managed = true;
    room.fill = std::size_t(fill);
    room.requestLimit = std::size_t(capacity) / 2;
    room.lifecycleLimit = std::size_t(capacity) - 2 * std::size_t(page);
    return room;
}

/* The fast path (the caller holds the lock): a lifecycle line written at once by the thread that posts it, which
   saves the hop to the writer thread (a wake-up and a second thread scheduled, some 0.1 ms on a busy two-core
   machine: most of SIGUSR1 -> STATUS). Taken only where that can never block and never reorders: nothing queued
   ahead and no write in progress (so every earlier line is out), no OUTPUT dropped line owed, and a descriptor that
   takes the line without waiting for a reader: a pipe with a free page slot (written so that a full pipe refuses
   instead of blocking), or a regular file. A terminal, a socket or anything else keeps the hop: a write there may
   wait for the other side. Request lines always take the queue: thousands a second under --log-requests, their
   system calls stay off the main thread, and their dropping and counting stay the writer's alone. Returns true
   when the line is done with; false leaves in \a bytes what still has to be queued (all of it, or what a pipe did
   not take). */
bool Writer::writeDirect(int fd, LineKind kind, std::string *bytes)
{
    if (isRequest(kind) || !m_queue.empty() || m_busy || oweNotice() || bytes->size() > PIPE_BUF)
        return false;
    switch (fdType(fd)) {
    case FdType::File:
        writeAllBlocking(fd, bytes->data(), bytes->size());
        return true;
    case FdType::Pipe: {
        // No look at the fill level first (two system calls): the room the writer keeps in a pipe is for request
        // lines, and this write cannot block whatever the level, as it takes a free page slot or nothing.
        const std::size_t written = writeToPipeNow(fd, bytes->data(), bytes->size(), &m_fds[fd].noWait);
        bytes->erase(0, written);
        return bytes->empty();
    }
    case FdType::Unknown:
    case FdType::Other:
        break;
    }
    return false;
}

void Writer::noteReaderProgress(int fd, const PipeRoom &room, Clock::time_point now)
{
    // The reader's progress shows as the pipe going below the request limit again, with room for a request line
    // (they are short; kRequestLineRoom is more than any of them needs).
    std::optional<Clock::time_point> &overSince = m_fds[fd].overSince;
    if (room.fill + kRequestLineRoom <= room.requestLimit)
        overSince.reset();
    else if (!overSince)
        overSince = now;
}

bool Writer::readerStalls(int fd)
{
    const PipeRoom room = pipeRoom(fd);
    if (!room.managed)
        return false;
    noteReaderProgress(fd, room, Clock::now());
    return m_fds[fd].overSince.has_value();
}

bool Writer::stalled(Clock::time_point now)
{
    if (m_busy && now - m_busySince >= kStallAfter)
        return true;
    for (int fd = 0; fd < 3; ++fd) {
        // Looked at again first: the reader may have caught up since the writer last looked (it only looks while
        // lines wait), and a stale "stalled" would drop lines for nothing.
        if (m_fds[fd].overSince && readerStalls(fd) && now - *m_fds[fd].overSince >= kStallAfter)
            return true;
    }
    return false;
}

void Writer::enqueue(Entry entry)
{
    const std::size_t cost = entry.bytes.size() + kEntryOverhead;
    if (isRequest(entry.kind)) {
        m_requestBytes += cost;
    } else {
        m_lifecycleBytes += cost;
        ++m_lifecycleQueued;
    }
    m_queue.push_back(std::move(entry));
    m_totalsLast = false;
}

Entry Writer::takeFront()
{
    Entry entry = std::move(m_queue.front());
    m_queue.pop_front();
    release(entry);
    return entry;
}

void Writer::release(const Entry &entry)
{
    const std::size_t cost = entry.bytes.size() + kEntryOverhead;
    if (isRequest(entry.kind)) {
        m_requestBytes -= cost;
    } else {
        m_lifecycleBytes -= cost;
        --m_lifecycleQueued;
    }
}

void Writer::dropQueuedRequestLines()
{
    const auto firstDropped =
        std::stable_partition(m_queue.begin(), m_queue.end(), [](const Entry &e) { return !isRequest(e.kind); });
    for (auto it = firstDropped; it != m_queue.end(); ++it) {
        m_dropped.add(it->kind);
        release(*it);
    }
    m_queue.erase(firstDropped, m_queue.end());
}

std::string Writer::notice()
{
    // The line protocol is C-locale and machine-read: plain snprintf of unsigned integers.
    char text[160];
    const int n = std::snprintf(
        text, sizeof text, "OUTPUT dropped accepted=%llu done=%llu shed=%llu other=%llu: stdout blocked\n",
        static_cast<unsigned long long>(m_dropped.accepted), static_cast<unsigned long long>(m_dropped.done),
        static_cast<unsigned long long>(m_dropped.shed), static_cast<unsigned long long>(m_dropped.other));
    return std::string(text, std::size_t(std::clamp(n, 0, int(sizeof text) - 1)));
}

void messageHandler(QtMsgType type, const QMessageLogContext &, const QString &message)
{
    if (const std::optional<QString> text = formatQtMessage(type, message))
        writeStderrLine(*text);
    // Qt aborts as soon as we return from a fatal message: give the line (and those before it) a bounded chance.
    if (type == QtFatalMsg)
        flushLineOutput(FinalFlushBudget);
}

} // namespace

LineKind lineKind(const QString &text)
{
    // Request lines begin with a, d or s: every other line (STATUS, SHUTDOWN, ...) is told apart by one compare.
    const char16_t first = text.isEmpty() ? u'\0' : text.front().unicode();
    if (first != u'a' && first != u'd' && first != u's')
        return LineKind::Lifecycle;
    if (text.startsWith(QLatin1StringView("accepted id=")))
        return LineKind::Accepted;
    if (text.startsWith(QLatin1StringView("done id=")))
        return LineKind::Done;
    if (text.startsWith(QLatin1StringView("shed id=")))
        return LineKind::Shed;
    return LineKind::Lifecycle;
}

bool startLineOutput(QString *error)
{
    return Writer::instance().start(error);
}

void writeStdoutLine(const QString &text)
{
    Writer::instance().post(STDOUT_FILENO, lineKind(text), toLine(text));
}

void writeStderrLine(const QString &text)
{
    Writer::instance().post(STDERR_FILENO, LineKind::Lifecycle, toLine(text, "quiesce: "));
}

bool flushLineOutput(std::chrono::milliseconds budget)
{
    return Writer::instance().flush(budget);
}

void writeStdoutLineBlocking(const QString &text)
{
    const std::string line = toLine(text);
    writeAllBlocking(STDOUT_FILENO, line.data(), line.size());
}

void writeStderrLineBlocking(const QString &text)
{
    const std::string line = toLine(text, "quiesce: ");
    writeAllBlocking(STDERR_FILENO, line.data(), line.size());
}

int directLineFd()
{
    return Writer::instance().directFd();
}

void exitAfterFlush(int code)
{
    Writer &writer = Writer::instance();
    writer.takeDirectLines();
    writer.flush(FinalFlushBudget);
    ::_exit(code);
}

std::optional<QString> formatQtMessage(QtMsgType type, const QString &message)
{
    // Debug and info chatter is for whoever asked for it with logging rules; warnings and worse always show.
    if ((type == QtDebugMsg || type == QtInfoMsg) && qEnvironmentVariableIsEmpty("QT_LOGGING_RULES"))
        return std::nullopt;
    return Quiesce::oneLine(message);
}

void installQtMessageHandler()
{
    qInstallMessageHandler(&messageHandler);
}

} // namespace Quiesce::App
