// The benchmark driver: runs every figure of docs/BENCHMARKS.md against its baselines, interleaved in the same run,
// and prints one markdown table (median and p99 of each figure, and the ratio to its baseline).
//
// It spawns each program with posix_spawn (clean signal state, stdout on a pipe, stderr to a log file), stamps
// CLOCK_MONOTONIC, sends signals, reads stdout lines as they arrive (the stamp is taken right after the read() that
// completed the line), and reaps with wait4() (which also gives the peak RSS, ru_maxrss). No Qt: nothing here
// should cost the measured programs anything but the measurement itself.
//
// Exits 0 when every figure ran and every program behaved (READY seen, exit codes as documented, the journal
// complete); 1 otherwise. It never judges speed by its exit code: targets are reported in the table only.

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Time, statistics, logging

using Nanos = std::int64_t;

Nanos now()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Nanos(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double toMs(Nanos ns)
{
    return double(ns) / 1e6;
}

void progress(const char *format, ...) __attribute__((format(printf, 1, 2)));
void progress(const char *format, ...)
{
    std::va_list args;
    va_start(args, format);
    std::fputs("bench: ", stderr);
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
    va_end(args);
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...)
{
    char buffer[512];
    std::va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    return buffer;
}

/* Median (mean of the two middle values for an even count) and p99 by the nearest-rank method: the smallest
   sample with at least 99 % of the samples at or below it. With fewer than 100 samples p99 is the maximum. */
struct Stats
{
    std::size_t n = 0;
    double p50 = 0;
    double p99 = 0;
    double p01 = 0; // the low tail: for throughputs, the rate of the slowest 1 % of runs
    double min = 0;
    double max = 0;
};

Stats statsOf(std::vector<double> values)
{
    Stats s;
    s.n = values.size();
    if (values.empty())
        return s;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    s.p50 = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    const auto rank = std::size_t(std::ceil(0.99 * double(n)));
    s.p99 = values[std::clamp<std::size_t>(rank, 1, n) - 1];
    s.p01 = values[n - std::clamp<std::size_t>(rank, 1, n)];
    s.min = values.front();
    s.max = values.back();
    return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

struct Line
{
    std::string text;
    Nanos at = 0; // right after the read() that completed it
};

class Child
{
public:
    Child() = default;
    Child(const Child &) = delete;
    Child &operator=(const Child &) = delete;
    ~Child() { killAndReap(); }

    /* Starts argv[0] with stdout on a pipe and stderr appended to errLog; \a env entries ("NAME=value") are added
       to (or replace in) the driver's environment. Every signal starts with its default action and an empty mask,
       whatever the driver's own state. */
    bool spawn(const std::string &label, const std::vector<std::string> &argv, const std::string &errLog,
               const std::vector<std::string> &env = {})
    {
        m_label = label;
        m_errLog = errLog;
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            m_error = format("pipe: %s", std::strerror(errno));
            return false;
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errLog.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t all;
        sigset_t none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

        std::vector<std::string> environment;
        for (char **e = environ; *e != nullptr; ++e) {
            const std::string entry(*e);
            const std::string name = entry.substr(0, entry.find('='));
            const bool replaced = std::any_of(env.begin(), env.end(), [&](const std::string &o) {
                return o.compare(0, name.size() + 1, name + "=") == 0;
            });
            if (!replaced)
                environment.push_back(entry);
        }
        environment.insert(environment.end(), env.begin(), env.end());
        std::vector<char *> cargv;
        for (const std::string &a : argv)
            cargv.push_back(const_cast<char *>(a.c_str()));
        cargv.push_back(nullptr);
        std::vector<char *> cenv;
        for (const std::string &e : environment)
            cenv.push_back(const_cast<char *>(e.c_str()));
        cenv.push_back(nullptr);

        m_spawnedAt = now();
        const int rc = ::posix_spawn(&m_pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            m_pid = -1;
            m_error = format("posix_spawn %s: %s", argv[0].c_str(), std::strerror(rc));
            return false;
        }
        m_out = fds[0];
        // glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++: call the system call directly.
        m_pidfd = int(::syscall(SYS_pidfd_open, m_pid, 0));
        if (m_pidfd < 0) {
            m_error = format("pidfd_open: %s", std::strerror(errno));
            return false;
        }
        return true;
    }

    pid_t pid() const { return m_pid; }
    Nanos spawnedAt() const { return m_spawnedAt; }
    const std::string &error() const { return m_error; }
    const std::string &label() const { return m_label; }
    /* Every stdout line so far, each stamped when the read() that completed it returned. */
    const std::vector<Line> &lines() const { return m_lines; }
    /* When the first line starting with \a prefix arrived. */
    std::optional<Nanos> stampOf(const std::string &prefix) const
    {
        for (const Line &line : m_lines) {
            if (line.text.compare(0, prefix.size(), prefix) == 0)
                return line.at;
        }
        return std::nullopt;
    }
    bool printed(const std::string &text) const
    {
        return std::any_of(m_lines.begin(), m_lines.end(), [&](const Line &l) { return l.text == text; });
    }

    /* The next complete stdout line, waiting at most until \a deadline. */
    std::optional<Line> readLine(Nanos deadline)
    {
        for (;;) {
            if (m_next < m_lines.size())
                return m_lines[m_next++];
            if (m_out < 0) {
                m_error = "stdout closed";
                return std::nullopt;
            }
            const Nanos left = deadline - now();
            if (left <= 0) {
                m_error = "timed out waiting for a line";
                return std::nullopt;
            }
            pollfd p {m_out, POLLIN, 0};
            const int rc = ::poll(&p, 1, int(std::min<Nanos>(left / 1000000 + 1, 60000)));
            if (rc < 0 && errno != EINTR) {
                m_error = format("poll: %s", std::strerror(errno));
                return std::nullopt;
            }
            if (rc <= 0)
                continue;
            if (!readSome())
                continue; // EOF: loop once more to report what is buffered, then "stdout closed"
        }
    }

    /* Reads lines until one starts with \a prefix; returns it (with its stamp). */
    std::optional<Line> waitFor(const std::string &prefix, Nanos deadline)
    {
        for (;;) {
            std::optional<Line> line = readLine(deadline);
            if (!line) {
                m_error = format("no line starting with \"%s\" (%s)", prefix.c_str(), m_error.c_str());
                return std::nullopt;
            }
            if (line->text.compare(0, prefix.size(), prefix) == 0)
                return line;
        }
    }

    bool signal(int signo)
    {
        if (m_pid <= 0 || m_reaped)
            return false;
        return ::kill(m_pid, signo) == 0;
    }

    /* Waits until the process has ended (draining its stdout meanwhile) and reaps it with wait4(); \a reapedAt is
       stamped right after wait4() returned. */
    bool reap(Nanos deadline, Nanos *reapedAt = nullptr)
    {
        while (!m_reaped) {
            const Nanos left = deadline - now();
            if (left <= 0) {
                m_error = "did not exit in time";
                return false;
            }
            pollfd p[2] = {{m_pidfd, POLLIN, 0}, {m_out, POLLIN, 0}};
            const int rc = ::poll(p, m_out >= 0 ? 2 : 1, int(std::min<Nanos>(left / 1000000 + 1, 60000)));
            if (rc < 0 && errno != EINTR) {
                m_error = format("poll: %s", std::strerror(errno));
                return false;
            }
            if (rc > 0 && (p[0].revents & POLLIN) != 0) {
                int status = 0;
                const pid_t r = ::wait4(m_pid, &status, 0, &m_usage);
                const Nanos at = now();
                if (r == m_pid) {
                    m_reaped = true;
                    m_status = status;
                    if (reapedAt != nullptr)
                        *reapedAt = at;
                }
            }
            if (rc > 0 && m_out >= 0 && (p[1].revents & (POLLIN | POLLHUP)) != 0)
                readSome();
        }
        // Whatever it printed last (SHUTDOWN lines) is read now, for the checks and the phase breakdown.
        while (m_out >= 0 && readSome()) {}
        m_next = m_lines.size();
        return true;
    }

    bool exitedWith(int code) const { return m_reaped && WIFEXITED(m_status) && WEXITSTATUS(m_status) == code; }
    bool killedBy(int signo) const { return m_reaped && WIFSIGNALED(m_status) && WTERMSIG(m_status) == signo; }
    std::string describeStatus() const
    {
        if (!m_reaped)
            return "still running";
        if (WIFEXITED(m_status))
            return format("exit %d", WEXITSTATUS(m_status));
        if (WIFSIGNALED(m_status))
            return format("killed by signal %d", WTERMSIG(m_status));
        return "unknown status";
    }
    /* Peak resident set size in KiB (wait4's ru_maxrss). */
    long peakRssKiB() const { return m_usage.ru_maxrss; }

    /* The tail of the stderr log and the stdout lines seen, to explain a failure. */
    std::string diagnostics() const
    {
        std::string text = format("%s: %s; %s", m_label.c_str(), m_error.c_str(), describeStatus().c_str());
        const std::size_t from = m_lines.size() > 6 ? m_lines.size() - 6 : 0;
        for (std::size_t i = from; i < m_lines.size(); ++i)
            text += "\n    stdout: " + m_lines[i].text;
        std::ifstream err(m_errLog);
        std::vector<std::string> errLines;
        for (std::string l; std::getline(err, l);)
            errLines.push_back(l);
        const std::size_t efrom = errLines.size() > 6 ? errLines.size() - 6 : 0;
        for (std::size_t i = efrom; i < errLines.size(); ++i)
            text += "\n    stderr: " + errLines[i];
        return text;
    }

    void killAndReap()
    {
        if (m_pid > 0 && !m_reaped) {
            ::kill(m_pid, SIGKILL);
            int status = 0;
            ::wait4(m_pid, &status, 0, &m_usage);
            m_reaped = true;
            m_status = status;
        }
        if (m_out >= 0)
            ::close(m_out);
        if (m_pidfd >= 0)
            ::close(m_pidfd);
        m_out = -1;
        m_pidfd = -1;
    }

private:
    /* One read(); false on EOF or error (then stdout is closed). */
    bool readSome()
    {
        char chunk[65536];
        const ssize_t n = ::read(m_out, chunk, sizeof chunk);
        if (n > 0) {
            const Nanos at = now();
            m_partial.append(chunk, std::size_t(n));
            std::size_t start = 0;
            for (auto newline = m_partial.find('\n'); newline != std::string::npos;
                 newline = m_partial.find('\n', start)) {
                m_lines.push_back(Line {m_partial.substr(start, newline - start), at});
                start = newline + 1;
            }
            m_partial.erase(0, start);
            return true;
        }
        if (n < 0 && errno == EINTR)
            return true;
        ::close(m_out);
        m_out = -1;
        return false;
    }

    std::string m_label;
    std::string m_errLog;
    std::string m_error;
    pid_t m_pid = -1;
    int m_out = -1;
    int m_pidfd = -1;
    Nanos m_spawnedAt = 0;
    std::string m_partial;     // an incomplete last line
    std::vector<Line> m_lines; // every complete line, stamped
    std::size_t m_next = 0;    // the next line readLine() returns
    bool m_reaped = false;
    int m_status = 0;
    rusage m_usage {};
};

// ---------------------------------------------------------------------------------------------------------------
// Options

struct Options
{
    std::string quiesce, floorSignal, qtSignal, qtWindow, sqliteBaseline, dispatch;
    std::string quiesceNox; // the headless executable; default: quiesce-nox next to --quiesce
    std::string tmpRoot;
    std::string csv;
    std::vector<std::string> only;
    int samples = 1000;   // signal latency samples per program and case
    int runs = 30;        // SIGTERM runs and dispatch repetitions
    int startupRuns = 20; // starts per program
    int durableRuns = 10; // durable throughput runs per contender
    int durableRequests = 100000;
    int dispatchRequests = 1000000;
    int dispatchThreads = 0; // 0: the machine's cores
    int busyWorkers = 8;     // workers kept busy for the busy signal-latency case
    int drainWorkers = 4;    // workers mid-request for the long in-flight case
    int killRounds = 100;    // prockill: rounds of kill -9 to the parent of worker processes
    bool quick = false;

    bool wants(const std::string &figure) const
    {
        return only.empty() || std::find(only.begin(), only.end(), figure) != only.end();
    }
};

const char *kUsage =
    "usage: bench_driver --quiesce PATH --floor PATH --qt-signal PATH --qt-window PATH --sqlite PATH\n"
    "                    [--quiesce-nox PATH] [--dispatch PATH] [--runs N] [--samples N] [--startup-runs N] "
    "[--durable-runs N]\n"
    "                    [--durable-requests N] [--dispatch-requests N] [--dispatch-threads N]\n"
    "                    [--busy-workers N] [--drain-workers N] [--only FIGURE,...] [--tmp DIR] [--csv FILE]\n"
    "                    [--kill-rounds N] [--quick]\n"
    "figures: signal, term, drain, dispatch, durable, startup, procdispatch, prockill, procterm\n";

bool parseOptions(int argc, char **argv, Options *o)
{
    // --quick first, so that explicit sizes given with it still win.
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            // The smoke test: every figure once, tiny, to prove it still runs. Times mean nothing here.
            o->quick = true;
            o->samples = 20;
            o->runs = 2;
            o->startupRuns = 2;
            o->durableRuns = 1;
            o->durableRequests = 2000;
            o->dispatchRequests = 2000;
            o->busyWorkers = 2;
            o->drainWorkers = 2;
            o->killRounds = 3;
        }
    }
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](std::string *target) {
            if (i + 1 >= argc)
                return false;
            *target = argv[++i];
            return true;
        };
        auto number = [&](int *target) {
            std::string text;
            if (!value(&text))
                return false;
            char *end = nullptr;
            const long v = std::strtol(text.c_str(), &end, 10);
            if (end == text.c_str() || *end != '\0' || v < 1 || v > 100000000)
                return false;
            *target = int(v);
            return true;
        };
        bool ok = true;
        if (arg == "--quiesce")
            ok = value(&o->quiesce);
        else if (arg == "--quiesce-nox")
            ok = value(&o->quiesceNox);
        else if (arg == "--floor")
            ok = value(&o->floorSignal);
        else if (arg == "--qt-signal")
            ok = value(&o->qtSignal);
        else if (arg == "--qt-window")
            ok = value(&o->qtWindow);
        else if (arg == "--sqlite")
            ok = value(&o->sqliteBaseline);
        else if (arg == "--dispatch")
            ok = value(&o->dispatch);
        else if (arg == "--tmp")
            ok = value(&o->tmpRoot);
        else if (arg == "--csv")
            ok = value(&o->csv);
        else if (arg == "--runs")
            ok = number(&o->runs);
        else if (arg == "--samples")
            ok = number(&o->samples);
        else if (arg == "--startup-runs")
            ok = number(&o->startupRuns);
        else if (arg == "--durable-runs")
            ok = number(&o->durableRuns);
        else if (arg == "--durable-requests")
            ok = number(&o->durableRequests);
        else if (arg == "--dispatch-requests")
            ok = number(&o->dispatchRequests);
        else if (arg == "--dispatch-threads")
            ok = number(&o->dispatchThreads);
        else if (arg == "--busy-workers")
            ok = number(&o->busyWorkers);
        else if (arg == "--drain-workers")
            ok = number(&o->drainWorkers);
        else if (arg == "--kill-rounds")
            ok = number(&o->killRounds);
        else if (arg == "--only") {
            std::string list;
            ok = value(&list);
            std::stringstream ss(list);
            static const char *const figures[] = {"signal",  "term",         "drain",    "dispatch", "durable",
                                                  "startup", "procdispatch", "prockill", "procterm"};
            for (std::string item; std::getline(ss, item, ',');) {
                const bool known =
                    std::any_of(std::begin(figures), std::end(figures), [&](const char *f) { return item == f; });
                ok = ok && known;
                o->only.push_back(item);
            }
        } else if (arg == "--quick") {
            // handled above
        } else if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr, "bench: bad argument %s\n%s", arg.c_str(), kUsage);
            return false;
        }
    }
    if (o->quiesce.empty() || o->floorSignal.empty() || o->qtSignal.empty() || o->qtWindow.empty()
        || o->sqliteBaseline.empty()) {
        std::fprintf(stderr, "bench: every program path is required\n%s", kUsage);
        return false;
    }
    if (o->quiesceNox.empty()) // where quiesce itself looks for it
        o->quiesceNox = o->quiesce.substr(0, o->quiesce.rfind('/') + 1) + "quiesce-nox";
    return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Results

/* One row of the table: a figure of quiesce against one baseline. higherIsBetter for throughputs. */
struct Row
{
    std::string figure;
    std::string unit;
    Stats subject;
    std::string baseline;
    std::optional<Stats> base; // none: the baseline is a fixed bound
    double bound = 0;          // when !base
    bool higherIsBetter = false;
    std::string target; // e.g. "<= 1.5x"
    std::function<bool(const Row &)> met;
    std::string note;

    /* The "p99" column: the slow tail, i.e. p99 of a time but p1 of a throughput (the rate of the slowest 1 %). */
    static double tail(const Stats &s, bool higherIsBetter) { return higherIsBetter ? s.p01 : s.p99; }
    double ratioP50() const { return base ? subject.p50 / base->p50 : subject.p50 / bound; }
    double ratioP99() const
    {
        return base ? tail(subject, higherIsBetter) / tail(*base, higherIsBetter) : subject.p99 / bound;
    }
};

struct Results
{
    std::vector<Row> rows;
    std::vector<std::string> failures;
    std::vector<std::string> notes;
    std::vector<std::tuple<std::string, std::string, double>> samples; // figure, program, value

    void add(const std::string &figure, const std::string &program, const std::vector<double> &values)
    {
        for (double v : values)
            samples.emplace_back(figure, program, v);
    }
    void fail(const std::string &what)
    {
        progress("FAILED: %s", what.c_str());
        failures.push_back(what);
    }
};

std::string fmtValue(double v, const std::string &unit)
{
    if (unit == "ms")
        return v < 1 ? format("%.3f ms", v) : v < 100 ? format("%.2f ms", v) : format("%.0f ms", v);
    if (unit == "req/s")
        return v >= 1e6 ? format("%.2f M/s", v / 1e6) : format("%.0f k/s", v / 1e3);
    if (unit == "MiB")
        return format("%.1f MiB", v);
    return format("%.3g %s", v, unit.c_str());
}

// ---------------------------------------------------------------------------------------------------------------
// The figures

class Bench
{
public:
    Bench(const Options &options, Results *results)
        : m_o(options)
        , m_r(results)
        , m_rng(std::random_device {}())
    {}

    bool makeTmp()
    {
        std::string root = m_o.tmpRoot;
        if (root.empty()) {
            const char *t = std::getenv("TMPDIR");
            root = t != nullptr && *t != '\0' ? t : "/tmp";
        }
        std::string pattern = root + "/quiesce-bench-XXXXXX";
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (::mkdtemp(buffer.data()) == nullptr) {
            progress("cannot create a temporary directory under %s: %s", root.c_str(), std::strerror(errno));
            return false;
        }
        m_tmp = buffer.data();
        m_errLog = m_tmp + "/stderr.log";
        return true;
    }

    void cleanTmp()
    {
        if (m_tmp.empty())
            return;
        std::error_code ignored;
        std::filesystem::remove_all(m_tmp, ignored);
    }

    void signalLatency();
    void sigtermIdle();
    void drainOvershoot();
    void dispatch();
    void durable();
    void startup();
    void procDispatch();
    void procKill();
    void procTerm();

private:
    /* Runs bench_dispatch with the benchmarks \a filter selects (a regex), randomly interleaved; name -> the
       items/s of each repetition. Empty on failure (recorded). */
    std::map<std::string, std::vector<double>> runDispatch(const std::string &filter, int threads);
    /* Waits until \a child has \a count worker processes (children running quiesce-worker); their pids. */
    std::optional<std::vector<pid_t>> waitWorkerProcesses(Child &child, int count);

    static constexpr Nanos kSecond = 1000000000;

    std::string freshState()
    {
        const std::string path = m_tmp + format("/state-%d.sqlite", ++m_stateCounter);
        removeState(path);
        return path;
    }

    static void removeState(const std::string &path)
    {
        for (const char *suffix : {"", "-wal", "-shm", "-journal", ".lock"})
            ::unlink((path + suffix).c_str());
    }

    void sleepMs(double ms) { std::this_thread::sleep_for(std::chrono::microseconds(Nanos(ms * 1000))); }

    /* Spawns and waits for READY; on failure records it and returns false. */
    bool start(Child &child, const std::string &label, const std::vector<std::string> &argv,
               const std::vector<std::string> &env = {}, Line *ready = nullptr)
    {
        // QSettings (the window's geometry, ...) in a private directory: runs neither read nor change the user's.
        std::vector<std::string> environment = env;
        environment.push_back("XDG_CONFIG_HOME=" + m_tmp + "/config");
        if (!child.spawn(label, argv, m_errLog, environment)) {
            m_r->fail(child.diagnostics());
            return false;
        }
        const std::optional<Line> line = child.waitFor("READY", now() + 60 * kSecond);
        if (!line) {
            m_r->fail(child.diagnostics());
            return false;
        }
        if (ready != nullptr)
            *ready = *line;
        return true;
    }

    /* SIGTERM, reap, check the exit. \a expectSignal: the baseline that dies by SIGTERM's default action. */
    bool stop(Child &child, bool expectSignal = false, Nanos *reapedAt = nullptr)
    {
        if (!child.signal(SIGTERM) || !child.reap(now() + 60 * kSecond, reapedAt)) {
            m_r->fail(child.diagnostics());
            return false;
        }
        const bool ok = expectSignal ? child.killedBy(SIGTERM) : child.exitedWith(0);
        if (!ok)
            m_r->fail(format("%s ended with %s", child.label().c_str(), child.describeStatus().c_str()) + "\n"
                      + child.diagnostics());
        return ok;
    }

    /* Polls STATUS (SIGUSR1) until busy=N: every worker has a request. */
    bool waitBusy(Child &child, int workers)
    {
        const std::string want = format(" busy=%d ", workers);
        const Nanos deadline = now() + 60 * kSecond;
        while (now() < deadline) {
            child.signal(SIGUSR1);
            const std::optional<Line> line = child.waitFor("STATUS", deadline);
            if (!line)
                break;
            if (line->text.find(want) != std::string::npos)
                return true;
            sleepMs(5);
        }
        m_r->fail(format("%s: the workers never all got busy (%s)", child.label().c_str(), want.c_str()) + "\n"
                  + child.diagnostics());
        return false;
    }

    /* "SHUTDOWN phase=NAME end outcome=... ms=N" -> NAME -> N, collected per run for the breakdown. */
    void collectPhases(const Child &child, std::map<std::string, std::vector<double>> *phases)
    {
        for (const Line &stamped : child.lines()) {
            const std::string &line = stamped.text;
            if (line.rfind("SHUTDOWN phase=", 0) != 0 || line.find(" end ") == std::string::npos)
                continue;
            const std::string name = line.substr(15, line.find(' ', 15) - 15);
            const auto ms = line.find(" ms=");
            if (ms != std::string::npos)
                (*phases)[name].push_back(std::atof(line.c_str() + ms + 4));
        }
    }

    /* Where the time between SIGTERM and the reap goes, from the arrival stamps of the SHUTDOWN lines. */
    struct Timeline
    {
        std::vector<double> begin; // SIGTERM -> "SHUTDOWN begin" (signal delivery to the quit path)
        std::vector<double> done;  // "SHUTDOWN begin" -> "SHUTDOWN done" (the phases)
        std::vector<double> exit;  // "SHUTDOWN done" -> reaped (after exec() returned: teardown and exit)

        void collect(const Child &child, Nanos signalled, Nanos reaped)
        {
            const std::optional<Nanos> b = child.stampOf("SHUTDOWN begin");
            const std::optional<Nanos> d = child.stampOf("SHUTDOWN done");
            if (b)
                begin.push_back(toMs(*b - signalled));
            if (b && d)
                done.push_back(toMs(*d - *b));
            if (d)
                exit.push_back(toMs(reaped - *d));
        }
        std::string describe() const
        {
            std::string text;
            if (!begin.empty())
                text += format("SIGTERM → \"SHUTDOWN begin\" %.2f ms, ", statsOf(begin).p50);
            if (!done.empty())
                text += format("→ \"SHUTDOWN done\" %.2f ms, ", statsOf(done).p50);
            if (!exit.empty())
                text += format("→ reaped %.2f ms (p50 each)", statsOf(exit).p50);
            return text;
        }
    };

    /* One stop of a SIGTERM figure: checks the quit path ended with exit 0 (when \a checkDone), then, unless this is
       the warm-up run (-1), records the time, the timeline and (with \a phases) the phase durations. */
    bool recordStop(const Child &child, bool checkDone, int run, Nanos t0, Nanos reaped, std::vector<double> &times,
                    Timeline &timeline, std::map<std::string, std::vector<double>> *phases)
    {
        if (checkDone && !child.printed("SHUTDOWN done exit=0")) {
            m_r->fail("quiesce: no \"SHUTDOWN done exit=0\" line\n" + child.diagnostics());
            return false;
        }
        if (run >= 0) {
            times.push_back(toMs(reaped - t0));
            timeline.collect(child, t0, reaped);
            if (phases)
                collectPhases(child, phases);
        }
        return true;
    }

    std::string phaseBreakdown(const std::map<std::string, std::vector<double>> &phases)
    {
        // In the order the quit path runs them.
        static const char *const order[] = {"stop-intake", "drain", "cancel", "save", "stop-threads"};
        std::string text;
        for (const char *name : order) {
            const auto it = phases.find(name);
            if (it == phases.end())
                continue;
            const Stats s = statsOf(it->second);
            text += format("%s%s %.0f ms (p99 %.0f)", text.empty() ? "" : ", ", name, s.p50, s.p99);
        }
        return text;
    }

    template<typename T>
    void shuffle(std::vector<T> &v)
    {
        std::shuffle(v.begin(), v.end(), m_rng);
    }

    void addRow(Row row)
    {
        progress("%s vs %s: %s / %s (p50 ratio %.2f)", row.figure.c_str(), row.baseline.c_str(),
                 fmtValue(row.subject.p50, row.unit).c_str(),
                 row.base ? fmtValue(row.base->p50, row.unit).c_str() : fmtValue(row.bound, row.unit).c_str(),
                 row.ratioP50());
        m_r->rows.push_back(std::move(row));
    }

    // Headless runs (extra begins with --headless) start quiesce-nox, as a service would; --headless stays in the
    // arguments (it changes nothing there).
    std::vector<std::string> quiesceArgs(std::initializer_list<std::string> extra, const std::string &state)
    {
        const bool headless = extra.size() > 0 && *extra.begin() == "--headless";
        std::vector<std::string> args {headless ? m_o.quiesceNox : m_o.quiesce};
        args.insert(args.end(), extra);
        args.push_back("--state");
        args.push_back(state);
        return args;
    }

    const Options &m_o;
    Results *m_r;
    std::mt19937 m_rng;
    std::string m_tmp;
    std::string m_errLog;
    int m_stateCounter = 0;
};

void Bench::signalLatency()
{
    // idle: nothing to do; busy: every worker mid-request; loaded: the main thread handling accept and done batches
    // at 1000 requests per second, the queue filling and then held at its limit. The targets are issue 16's.
    enum class Case { Idle, Busy, Loaded };
    for (const Case which : {Case::Idle, Case::Busy, Case::Loaded}) {
        const bool busy = which == Case::Busy;
        const char *caseName = which == Case::Idle ? "idle" : busy ? "busy" : "loaded";
        progress("signal latency (%s): %d samples per program, interleaved", caseName, m_o.samples);
        const std::string state = freshState();
        const std::string workers = std::to_string(busy ? m_o.busyWorkers : 2);
        Child programs[3];
        const std::vector<std::string> quiesce = busy
            ? quiesceArgs({"--headless", "--rate", "0", "--burst", std::to_string(4 * m_o.busyWorkers), "--work-ms",
                           "100000", "--workers", workers, "--drain-timeout", "100"},
                          state)
            : which == Case::Loaded
            ? quiesceArgs({"--headless", "--rate", "1000", "--work-ms", "5-20", "--workers", workers}, state)
            : quiesceArgs({"--headless", "--rate", "0", "--workers", workers}, state);
        if (!start(programs[0], "quiesce", quiesce) || !start(programs[1], "floor_signal", {m_o.floorSignal})
            || !start(programs[2], "qt_signal_minimal", {m_o.qtSignal})) {
            return;
        }
        if (busy && !waitBusy(programs[0], m_o.busyWorkers))
            return;

        std::vector<double> latency[3];
        bool ok = true;
        const int warmup = std::min(20, m_o.samples);
        std::vector<int> order {0, 1, 2};
        std::uniform_real_distribution<double> gap(1.0, 3.0);
        for (int s = -warmup; s < m_o.samples && ok; ++s) {
            shuffle(order);
            for (const int i : order) {
                // A short random pause: the target is asleep in its event loop when the signal comes, as in life.
                sleepMs(gap(m_rng));
                const Nanos t0 = now();
                programs[i].signal(SIGUSR1);
                const std::optional<Line> line = programs[i].waitFor("STATUS", t0 + 10 * kSecond);
                if (!line) {
                    m_r->fail(programs[i].diagnostics());
                    ok = false;
                    break;
                }
                if (s >= 0)
                    latency[i].push_back(toMs(line->at - t0));
                if (busy && i == 0 && s == 0
                    && line->text.find(format(" busy=%d ", m_o.busyWorkers)) == std::string::npos) {
                    m_r->fail("quiesce: workers not busy while measuring: " + line->text);
                    ok = false;
                    break;
                }
            }
        }
        for (Child &c : programs)
            stop(c);
        if (!ok)
            return;

        const std::string figure = format("signal → STATUS line, %s%s", caseName,
                                          busy ? format(" (%d workers busy)", m_o.busyWorkers).c_str()
                                              : which == Case::Loaded ? " (--rate 1000 --work-ms 5-20 --workers 2)"
                                                                      : "");
        const std::string key = format("signal-%s", caseName);
        m_r->add(key, "quiesce", latency[0]);
        m_r->add(key, "floor_signal", latency[1]);
        m_r->add(key, "qt_signal_minimal", latency[2]);
        const Stats q = statsOf(latency[0]);
        Row floorRow {figure,
                      "ms",
                      q,
                      "plain C: handler → socketpair → poll()",
                      statsOf(latency[1]),
                      0,
                      false,
                      "(floor, no target)",
                      nullptr,
                      ""};
        addRow(floorRow);
        Row qtRow {figure,
                   "ms",
                   q,
                   "Qt pattern: socketpair + QSocketNotifier",
                   statsOf(latency[2]),
                   0,
                   false,
                   which == Case::Idle ? "p50 ≤ 1.2×"
                       : busy          ? "p50 ≤ 1.2×, p99 < 1 ms"
                                       : "p99 < 0.5 ms",
                   nullptr,
                   ""};
        if (which == Case::Loaded)
            qtRow.met = [](const Row &r) { return r.subject.p99 < 0.5; };
        else
            qtRow.met = [busy](const Row &r) { return r.ratioP50() <= 1.2 && (!busy || r.subject.p99 < 1.0); };
        addRow(qtRow);
    }
}

void Bench::sigtermIdle()
{
    progress("SIGTERM → reaped, idle: %d runs per program, interleaved", m_o.runs);
    std::vector<double> times[2];
    std::map<std::string, std::vector<double>> phases;
    Timeline timeline[2];
    std::vector<int> order {0, 1};
    for (int run = -1; run < m_o.runs; ++run) { // run -1: warm-up, not counted
        shuffle(order);
        for (const int i : order) {
            Child child;
            const std::string state = freshState();
            const bool ok = i == 0 ? start(child, "quiesce", quiesceArgs({"--headless", "--rate", "0"}, state))
                                   : start(child, "qt_signal_minimal", {m_o.qtSignal});
            if (!ok)
                return;
            sleepMs(100); // idle: whatever follows READY has settled
            const Nanos t0 = now();
            Nanos reaped = 0;
            if (!stop(child, false, &reaped))
                return;
            if (!recordStop(child, i == 0, run, t0, reaped, times[i], timeline[i], i == 0 ? &phases : nullptr))
                return;
            removeState(state);
        }
    }
    m_r->add("sigterm-idle", "quiesce", times[0]);
    m_r->add("sigterm-idle", "qt_signal_minimal", times[1]);
    Row row {"SIGTERM → reaped, idle (incl. save)",
             "ms",
             statsOf(times[0]),
             "minimal QCoreApplication: quit() → exec() returns",
             statsOf(times[1]),
             0,
             false,
             "p50 ≤ 3×",
             nullptr,
             "quiesce: " + timeline[0].describe() + "; phases (p50): " + phaseBreakdown(phases)
                 + ". Qt program: " + timeline[1].describe()};
    row.met = [](const Row &r) { return r.ratioP50() <= 3.0; };
    addRow(row);
}

void Bench::drainOvershoot()
{
    constexpr double drainMs = 200;
    progress("SIGTERM → reaped with long in-flight work: %d runs", m_o.runs);
    std::vector<double> totals;
    std::map<std::string, std::vector<double>> phases;
    Timeline timeline;
    std::uniform_real_distribution<double> phase(0.0, 10.0);
    const std::string workers = std::to_string(m_o.drainWorkers);
    for (int run = 0; run < m_o.runs; ++run) {
        Child child;
        const std::string state = freshState();
        if (!start(child, "quiesce",
                   quiesceArgs({"--headless", "--rate", "0", "--burst", workers, "--work-ms", "5000", "--workers",
                                workers, "--drain-timeout", format("%.0f", drainMs)},
                               state))) {
            return;
        }
        if (!waitBusy(child, m_o.drainWorkers))
            return;
        // Anywhere within a 10 ms work slice.
        sleepMs(phase(m_rng));
        const Nanos t0 = now();
        Nanos reaped = 0;
        if (!stop(child, false, &reaped))
            return;
        totals.push_back(toMs(reaped - t0));
        timeline.collect(child, t0, reaped);
        collectPhases(child, &phases);
        removeState(state);
    }
    m_r->add("drain-total", "quiesce", totals);
    std::vector<double> overshoot;
    for (double t : totals)
        overshoot.push_back(t - drainMs);
    m_r->add("drain-overshoot", "quiesce", overshoot);
    Row row {format("SIGTERM → reaped, %d requests in flight (--work-ms 5000 --drain-timeout 200)", m_o.drainWorkers),
             "ms",
             statsOf(totals),
             "the drain deadline (200 ms)",
             std::nullopt,
             drainMs,
             false,
             "overshoot < 30 ms",
             nullptr,
             ""};
    const Stats over = statsOf(overshoot);
    row.note = format("overshoot past the drain deadline: p50 %.1f ms, p99 %.1f ms; ", over.p50, over.p99)
        + timeline.describe() + "; phases (p50): " + phaseBreakdown(phases);
    row.met = [drainMs](const Row &r) { return r.subject.p50 - drainMs < 30.0 && r.subject.p99 - drainMs < 30.0; };
    addRow(row);
}

void Bench::dispatch()
{
    if (m_o.dispatch.empty()) {
        m_r->notes.push_back("dispatch throughput: not built (Google Benchmark, libbenchmark-dev, was not found)");
        return;
    }
    const int threads = m_o.dispatchThreads > 0 ? m_o.dispatchThreads : int(std::thread::hardware_concurrency());
    progress("dispatch throughput: %d repetitions of %d requests on %d threads, randomly interleaved", m_o.runs,
             m_o.dispatchRequests, threads);
    std::map<std::string, std::vector<double>> perSecond =
        runDispatch("^(WorkerPool|QThreadPool_batched|QThreadPool_wait)/", threads);
    if (perSecond.empty())
        return; // recorded
    const auto &pool = perSecond["WorkerPool"];
    const auto &batched = perSecond["QThreadPool_batched"];
    const auto &wait = perSecond["QThreadPool_wait"];
    if (pool.empty() || batched.empty() || wait.empty()) {
        m_r->fail("bench_dispatch printed no results for WorkerPool and QThreadPool");
        return;
    }
    m_r->add("dispatch", "WorkerPool", pool);
    m_r->add("dispatch", "QThreadPool_batched", batched);
    m_r->add("dispatch", "QThreadPool_wait", wait);
    const std::string figure =
        format("dispatch, --work-ms 0 (%d threads, %d requests per run)", threads, m_o.dispatchRequests);
    Row row {figure,           "req/s", statsOf(pool), "QThreadPool, results batched back to the main thread",
             statsOf(batched), 0,       true,          "p50 ≥ 0.8×",
             nullptr,          ""};
    row.met = [](const Row &r) { return r.ratioP50() >= 0.8; };
    addRow(row);
    Row floorRow {figure,        "req/s", statsOf(pool), "QThreadPool, no hand-back (waitForDone)",
                  statsOf(wait), 0,       true,          "(floor, no target)",
                  nullptr,       ""};
    addRow(floorRow);
}

void Bench::durable()
{
    const int n = m_o.durableRequests;
    progress("durable throughput: %d runs of %d requests per contender, interleaved", m_o.durableRuns, n);
    // 0 quiesce, 1 the SQLite C API with schema v2 and the store's statements, 2 the lean SQLite journal.
    std::vector<double> rates[3];
    std::vector<double> wall[3];
    std::vector<int> order {0, 1, 2};
    bool verified = false;
    for (int run = 0; run < m_o.durableRuns; ++run) {
        shuffle(order);
        for (const int i : order) {
            Child child;
            const std::string state = freshState();
            Line ready;
            const bool ok = i == 0 ? start(child, "quiesce",
                                           quiesceArgs({"--headless", "--burst", std::to_string(n), "--work-ms", "0",
                                                        "--rate", "0", "--exit-when-idle"},
                                                       state),
                                           {}, &ready)
                : i == 1           ? start(child, "sqlite_baseline same",
                                           {m_o.sqliteBaseline, state, std::to_string(n), "1000", "normal", "same"}, {}, &ready)
                                   : start(child, "sqlite_baseline lean",
                                           {m_o.sqliteBaseline, state, std::to_string(n), "256", "normal", "lean"}, {}, &ready);
            if (!ok)
                return;
            const std::optional<Line> end = child.waitFor(i == 0 ? "SHUTDOWN begin" : "DONE", now() + 600 * kSecond);
            if (!end) {
                m_r->fail(child.diagnostics());
                return;
            }
            Nanos reaped = 0;
            if (!child.reap(now() + 120 * kSecond, &reaped) || !child.exitedWith(0)) {
                m_r->fail(child.diagnostics());
                return;
            }
            rates[i].push_back(double(n) / (double(end->at - ready.at) / 1e9));
            wall[i].push_back(toMs(reaped - child.spawnedAt()));
            if (i == 0 && !verified) {
                // Once: the journal really holds every request as done (the figure means nothing otherwise).
                Child inspect;
                if (!inspect.spawn("quiesce inspect", {m_o.quiesceNox, "inspect", "--state", state}, m_errLog)
                    || !inspect.reap(now() + 60 * kSecond) || !inspect.exitedWith(0)) {
                    m_r->fail(inspect.diagnostics());
                    return;
                }
                std::string json;
                for (const Line &l : inspect.lines())
                    json += l.text;
                json.erase(std::remove_if(json.begin(), json.end(),
                                          [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }),
                           json.end());
                const auto counts = json.find("\"counts\":{");
                const std::string done = format("\"done\":%d", n);
                const auto block = counts == std::string::npos ? std::string() : json.substr(counts, 80);
                if (block.find(done) == std::string::npos || block.find("\"pending\":0") == std::string::npos) {
                    m_r->fail("quiesce: the journal does not hold every request as done: " + block);
                    return;
                }
                verified = true;
            }
            removeState(state);
        }
    }
    m_r->add("durable", "quiesce", rates[0]);
    m_r->add("durable", "sqlite_baseline", rates[1]);
    m_r->add("durable", "sqlite_lean", rates[2]);
    const std::string figure = format("durable throughput, %d requests (READY → SHUTDOWN begin)", n);
    Row row {figure,
             "req/s",
             statsOf(rates[0]),
             "SQLite C API, schema v2 and the store's statements, batches of 1000, WAL, synchronous=NORMAL",
             statsOf(rates[1]),
             0,
             true,
             "p50 ≥ 0.9×",
             nullptr,
             ""};
    row.note = format("spawn → reaped (whole process): quiesce p50 %.0f ms, SQLite C API (schema v2) p50 %.0f ms, "
                      "lean SQLite journal p50 %.0f ms",
                      statsOf(wall[0]).p50, statsOf(wall[1]).p50, statsOf(wall[2]).p50);
    row.met = [](const Row &r) { return r.ratioP50() >= 0.9; };
    addRow(row);
    Row leanRow {figure,
                 "req/s",
                 statsOf(rates[0]),
                 "lean SQLite journal: INTEGER state, no secondary index, batches of 256, the three transitions as "
                 "separate transactions",
                 statsOf(rates[2]),
                 0,
                 true,
                 "p50 ≥ 0.6×",
                 nullptr,
                 ""};
    leanRow.met = [](const Row &r) { return r.ratioP50() >= 0.6; };
    addRow(leanRow);
}

void Bench::startup()
{
    progress("startup to READY and peak RSS: %d starts per program, interleaved", m_o.startupRuns);
    struct Program
    {
        const char *label;
        bool quiesce;
        bool gui;
        bool newState;      // quiesce: a new state file every start (first start: creates the journal)
        bool diesBySigterm; // the widgets baseline has no handler: SIGTERM's default action ends it
    };
    // Headless is quiesce-nox, as a service runs it; `quiesce --headless` (which execs quiesce-nox) for scale.
    const Program programs[] = {
        {"quiesce-nox", true, false, false, false},
        {"quiesce (window, offscreen)", true, true, false, false},
        {"qt_window_minimal (offscreen)", false, true, false, true},
        {"qt_signal_minimal", false, false, false, false},
        {"quiesce-nox, new state file", true, false, true, false},
        {"qt_window_minimal --ready-after-paint (offscreen)", false, true, false, true},
        {"quiesce --headless (exec → quiesce-nox)", true, false, false, false},
    };
    constexpr int kPrograms = 7;
    // Quiesce normally starts on the journal its previous run left: each program keeps one, made by the warm-up.
    std::string states[kPrograms];
    for (std::string &state : states)
        state = freshState();
    std::vector<double> startMs[kPrograms];
    std::vector<double> rssMiB[kPrograms];
    std::vector<int> order {0, 1, 2, 3, 4, 5, 6};
    for (int run = -1; run < m_o.startupRuns; ++run) { // run -1: warm-up (page cache, journals), not counted
        shuffle(order);
        for (const int i : order) {
            const Program &p = programs[i];
            const std::string state = p.newState ? freshState() : states[i];
            std::vector<std::string> argv;
            if (i == 6)
                argv = {m_o.quiesce, "--headless", "--rate", "0", "--state", state};
            else if (p.quiesce)
                argv = p.gui ? quiesceArgs({"--rate", "0"}, state) : quiesceArgs({"--headless", "--rate", "0"}, state);
            else if (i == 5)
                argv = {m_o.qtWindow, "--ready-after-paint"};
            else
                argv = {p.gui ? m_o.qtWindow : m_o.qtSignal};
            Child child;
            Line ready;
            if (!start(child, p.label, argv, {"QT_QPA_PLATFORM=offscreen"}, &ready))
                return;
            // Let it paint and settle before it is stopped: the peak RSS then covers a window that has been
            // drawn (a minimal app stopped right after show() has painted nothing yet).
            sleepMs(m_o.quick ? 50 : 300);
            if (!stop(child, p.diesBySigterm))
                return;
            if (run >= 0) {
                startMs[i].push_back(toMs(ready.at - child.spawnedAt()));
                rssMiB[i].push_back(double(child.peakRssKiB()) / 1024.0);
            }
            if (p.newState)
                removeState(state);
        }
    }
    for (const std::string &state : states)
        removeState(state);
    for (int i = 0; i < kPrograms; ++i) {
        m_r->add("startup-ms", programs[i].label, startMs[i]);
        m_r->add("peak-rss-mib", programs[i].label, rssMiB[i]);
    }
    const std::string window = "minimal Qt Widgets app showing a window";
    const std::string core = "minimal QCoreApplication (Qt signal pattern)";
    auto within = [](double limit) { return [limit](const Row &r) { return r.ratioP50() <= limit; }; };
    addRow(Row {"spawn → READY, window (offscreen)", "ms", statsOf(startMs[1]), window, statsOf(startMs[2]), 0, false,
                "p50 ≤ 1.5×", within(1.5), ""});
    addRow(Row {"spawn → READY, window (offscreen)", "ms", statsOf(startMs[1]),
                "the same minimal app, READY after its first paint", statsOf(startMs[5]), 0, false,
                "(for scale, no target)", nullptr, ""});
    addRow(Row {"spawn → READY, headless", "ms", statsOf(startMs[0]), window, statsOf(startMs[2]), 0, false,
                "p50 ≤ 1.5×", within(1.5), ""});
    addRow(Row {"spawn → READY, headless", "ms", statsOf(startMs[0]), core, statsOf(startMs[3]), 0, false,
                "(for scale, no target)", nullptr, ""});
    addRow(Row {"spawn → READY, headless, first start (new state file)", "ms", statsOf(startMs[4]), window,
                statsOf(startMs[2]), 0, false, "(for scale, no target)", nullptr, ""});
    addRow(Row {"spawn → READY, headless as `quiesce --headless` (exec → quiesce-nox)", "ms", statsOf(startMs[6]), core,
                statsOf(startMs[3]), 0, false, "(for scale, no target)", nullptr, ""});
    addRow(Row {"peak RSS, window (offscreen)", "MiB", statsOf(rssMiB[1]), window, statsOf(rssMiB[2]), 0, false,
                "p50 ≤ 1.3×", within(1.3), ""});
    addRow(Row {"peak RSS, headless", "MiB", statsOf(rssMiB[0]), window, statsOf(rssMiB[2]), 0, false, "p50 ≤ 1.3×",
                within(1.3), ""});
    addRow(Row {"peak RSS, headless", "MiB", statsOf(rssMiB[0]), core, statsOf(rssMiB[3]), 0, false,
                "(for scale, no target)", nullptr, ""});
    addRow(Row {"peak RSS, headless as `quiesce --headless` (exec → quiesce-nox)", "MiB", statsOf(rssMiB[6]), core,
                statsOf(rssMiB[3]), 0, false, "(for scale, no target)", nullptr, ""});
    m_r->notes.push_back("startup: headless is quiesce-nox (the rows named `quiesce --headless` start quiesce, which "
                         "execs it); quiesce starts on the journal its previous start left (a new state file only in "
                         "the \"first start\" row); quiesce prints READY when its engine has started, with the window "
                         "shown (show() before READY), the minimal app right after show(); peak RSS is wait4()'s "
                         "ru_maxrss over the whole life: start, first paint, 300 ms idle, SIGTERM, (save,) exit");
}

// ---------------------------------------------------------------------------------------------------------------
// Worker processes (issue 14): dispatch through ProcessPool, kill -9 of the parent, SIGTERM with idle processes

// glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++: call the system call directly.
int openPidfd(pid_t pid)
{
    return int(::syscall(SYS_pidfd_open, pid, 0));
}

/* The children of \a pid: the processes whose /proc/N/stat names it as parent (/proc/PID/task/N/children needs
   CONFIG_PROC_CHILDREN, which not every kernel has). */
std::vector<pid_t> childrenOf(pid_t pid)
{
    std::vector<pid_t> children;
    std::error_code ignored;
    for (const auto &entry : std::filesystem::directory_iterator("/proc", ignored)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) == 0)
            continue;
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        std::getline(in, stat);
        // "N (comm) S PPID ...": comm may hold spaces and parentheses, so parse after the last ')'.
        const auto close = stat.rfind(')');
        if (close == std::string::npos)
            continue;
        char state = 0;
        long parent = 0;
        if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &parent) == 2 && parent == long(pid))
            children.push_back(pid_t(std::atol(name.c_str())));
    }
    return children;
}

std::string commOf(pid_t pid)
{
    std::ifstream in(format("/proc/%d/comm", int(pid)));
    std::string comm;
    std::getline(in, comm);
    return comm;
}

std::map<std::string, std::vector<double>> Bench::runDispatch(const std::string &filter, int threads)
{
    Child child;
    if (!child.spawn("bench_dispatch",
                     {m_o.dispatch, format("--benchmark_repetitions=%d", m_o.runs),
                      "--benchmark_enable_random_interleaving=true", "--benchmark_format=csv",
                      "--benchmark_filter=" + filter, format("--threads=%d", threads),
                      format("--requests=%d", m_o.dispatchRequests)},
                     m_errLog)) {
        m_r->fail(child.diagnostics());
        return {};
    }
    if (!child.reap(now() + 3600 * kSecond) || !child.exitedWith(0)) {
        m_r->fail(child.diagnostics());
        return {};
    }
    // CSV: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,label,error_occurred,...
    std::map<std::string, std::vector<double>> perSecond;
    for (const Line &stamped : child.lines()) {
        const std::string &line = stamped.text;
        if (line.empty() || line[0] != '"')
            continue;
        const auto close = line.find('"', 1);
        const std::string name = line.substr(1, close - 1);
        if (name.find("_mean") != std::string::npos || name.find("_median") != std::string::npos
            || name.find("_stddev") != std::string::npos || name.find("_cv") != std::string::npos)
            continue;
        std::vector<std::string> fields;
        std::stringstream ss(line.substr(close + 2));
        for (std::string f; std::getline(ss, f, ',');)
            fields.push_back(f);
        // fields: iterations, real_time, cpu_time, time_unit, bytes_per_second, items_per_second, label, error...
        if (fields.size() < 6 || (fields.size() > 7 && fields[7] == "true")) {
            m_r->fail("bench_dispatch: " + line + "\n" + child.diagnostics());
            return {};
        }
        perSecond[name.substr(0, name.find('/'))].push_back(std::atof(fields[5].c_str()));
    }
    if (perSecond.empty())
        m_r->fail("bench_dispatch printed no results\n" + child.diagnostics());
    return perSecond;
}

std::optional<std::vector<pid_t>> Bench::waitWorkerProcesses(Child &child, int count)
{
    // The pool forks and execs before READY, but a child may still be between fork and exec: wait for the exec
    // (its comm), so every round kills the same thing.
    const Nanos deadline = now() + 30 * kSecond;
    while (now() < deadline) {
        std::vector<pid_t> workers;
        for (const pid_t pid : childrenOf(child.pid())) {
            if (commOf(pid) == "quiesce-worker")
                workers.push_back(pid);
        }
        if (int(workers.size()) == count)
            return workers;
        sleepMs(1);
    }
    m_r->fail(format("%s: never had %d worker processes", child.label().c_str(), count) + "\n" + child.diagnostics());
    return std::nullopt;
}

void Bench::procDispatch()
{
    if (m_o.dispatch.empty()) {
        m_r->notes.push_back("process dispatch: not built (Google Benchmark, libbenchmark-dev, was not found)");
        return;
    }
    const int threads = m_o.dispatchThreads > 0 ? m_o.dispatchThreads : int(std::thread::hardware_concurrency());
    progress("process dispatch: %d repetitions of %d requests, %d worker processes against %d worker threads, "
             "randomly interleaved",
             m_o.runs, m_o.dispatchRequests, threads, threads);
    std::map<std::string, std::vector<double>> perSecond = runDispatch("^(WorkerPool|ProcessPool)/", threads);
    if (perSecond.empty())
        return; // recorded
    const auto &processes = perSecond["ProcessPool"];
    const auto &pool = perSecond["WorkerPool"];
    if (processes.empty() || pool.empty()) {
        m_r->fail("bench_dispatch printed no results for ProcessPool and WorkerPool");
        return;
    }
    m_r->add("procdispatch", "ProcessPool", processes);
    m_r->add("procdispatch", "WorkerPool", pool);
    Row row {format("dispatch, --work-ms 0, --isolation process (%d worker processes, %d requests per run)", threads,
                    m_o.dispatchRequests),
             "req/s",
             statsOf(processes),
             format("WorkerPool, %d worker threads, same jobs", threads),
             statsOf(pool),
             0,
             true,
             "p50 ≥ 0.3×",
             nullptr,
             ""};
    row.met = [](const Row &r) { return r.ratioP50() >= 0.3; };
    addRow(row);
}

void Bench::procKill()
{
    constexpr int workers = 4;
    constexpr double boundMs = 50;
    progress("kill -9 of the parent → last worker process gone: %d rounds, %d worker processes", m_o.killRounds,
             workers);
    std::vector<double> gone;
    for (int round = 0; round < m_o.killRounds; ++round) {
        Child child;
        const std::string state = freshState();
        if (!start(child, "quiesce-nox --isolation process",
                   quiesceArgs(
                       {"--headless", "--isolation", "process", "--workers", std::to_string(workers), "--rate", "0"},
                       state)))
            return;
        const std::optional<std::vector<pid_t>> pids = waitWorkerProcesses(child, workers);
        if (!pids)
            return;
        std::vector<pollfd> fds;
        for (const pid_t pid : *pids) {
            const int fd = openPidfd(pid);
            if (fd < 0) {
                m_r->fail(format("pidfd_open %d: %s", int(pid), std::strerror(errno)));
                for (const pollfd &p : fds)
                    ::close(p.fd);
                return;
            }
            fds.push_back(pollfd {fd, POLLIN, 0});
        }
        sleepMs(50); // idle: whatever follows READY has settled
        const Nanos t0 = now();
        child.signal(SIGKILL);
        // A pidfd of a process that is not our child becomes readable when the process exits.
        std::size_t left = fds.size();
        Nanos last = 0;
        const Nanos deadline = t0 + 10 * kSecond;
        while (left > 0 && now() < deadline) {
            if (::poll(fds.data(), fds.size(), 100) <= 0)
                continue;
            const Nanos at = now();
            for (pollfd &p : fds) {
                if (p.fd >= 0 && (p.revents & POLLIN) != 0) {
                    ::close(p.fd);
                    p.fd = -1; // poll() ignores negative descriptors
                    --left;
                    last = at;
                }
            }
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd >= 0) {
                ::kill((*pids)[i], SIGKILL); // a survivor: never leave it behind
                ::close(fds[i].fd);
            }
        }
        if (!child.reap(now() + 60 * kSecond) || !child.killedBy(SIGKILL)) {
            m_r->fail(child.diagnostics());
            return;
        }
        if (left > 0) {
            m_r->fail(
                format("kill -9 of the parent: %zu of %d worker processes still alive after 10 s", left, workers));
            return;
        }
        gone.push_back(toMs(last - t0));
        removeState(state);
    }
    m_r->add("prockill", "quiesce", gone);
    Row row {format("kill -9 of the parent → last of %d worker processes gone (%d rounds)", workers, m_o.killRounds),
             "ms",
             statsOf(gone),
             "the bound (50 ms)",
             std::nullopt,
             boundMs,
             false,
             "p99 < 50 ms",
             nullptr,
             "each worker process's exit seen through a pidfd (EOF on its channel and PR_SET_PDEATHSIG)"};
    row.met = [boundMs](const Row &r) { return r.subject.p99 < boundMs; };
    addRow(row);
}

void Bench::procTerm()
{
    constexpr int workers = 4;
    progress("SIGTERM → reaped, %d idle worker processes vs %d worker threads: %d runs each, interleaved", workers,
             workers, m_o.runs);
    std::vector<double> times[2];
    std::map<std::string, std::vector<double>> phases;
    Timeline timeline[2];
    std::vector<int> order {0, 1};
    for (int run = -1; run < m_o.runs; ++run) { // run -1: warm-up, not counted
        shuffle(order);
        for (const int i : order) {
            Child child;
            const std::string state = freshState();
            const std::string isolation = i == 0 ? "process" : "thread";
            if (!start(child, "quiesce-nox --isolation " + isolation,
                       quiesceArgs({"--headless", "--isolation", isolation, "--workers", std::to_string(workers),
                                    "--rate", "0"},
                                   state)))
                return;
            std::vector<int> pidfds;
            if (i == 0) {
                const std::optional<std::vector<pid_t>> pids = waitWorkerProcesses(child, workers);
                if (!pids)
                    return;
                for (const pid_t pid : *pids)
                    pidfds.push_back(openPidfd(pid));
            }
            sleepMs(100); // idle: whatever follows READY has settled
            const Nanos t0 = now();
            Nanos reaped = 0;
            const bool stopped = stop(child, false, &reaped);
            // The parent reaps its workers before it exits: none may be left.
            int alive = 0;
            for (const int fd : pidfds) {
                pollfd p {fd, POLLIN, 0};
                if (fd < 0 || ::poll(&p, 1, 0) != 1)
                    ++alive;
                if (fd >= 0)
                    ::close(fd);
            }
            if (!stopped)
                return;
            if (alive > 0) {
                m_r->fail(format("SIGTERM with worker processes: %d of them outlived the parent", alive));
                return;
            }
            if (!recordStop(child, true, run, t0, reaped, times[i], timeline[i], i == 0 ? &phases : nullptr))
                return;
            removeState(state);
        }
    }
    m_r->add("procterm", "process", times[0]);
    m_r->add("procterm", "thread", times[1]);
    Row row {format("SIGTERM → reaped, idle, %d worker processes (incl. save)", workers),
             "ms",
             statsOf(times[0]),
             format("the same with %d worker threads (--isolation thread)", workers),
             statsOf(times[1]),
             0,
             false,
             "p50 ≤ 2×",
             nullptr,
             "processes: " + timeline[0].describe() + "; phases (p50): " + phaseBreakdown(phases)
                 + ". threads: " + timeline[1].describe()};
    row.met = [](const Row &r) { return r.ratioP50() <= 2.0; };
    addRow(row);
}

// ---------------------------------------------------------------------------------------------------------------
// Report

std::string loadAverage()
{
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

std::string firstLineOf(const std::string &path, const std::string &key)
{
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key, 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "?";
}

void printReport(const Options &o, const Results &r, const std::string &loadBefore, const std::string &loadAfter,
                 const std::string &loadDuring, double seconds)
{
    utsname u {};
    ::uname(&u);
    std::printf("## Results\n\n");
    std::string memory = firstLineOf("/proc/meminfo", "MemTotal");
    memory.erase(0, memory.find_first_not_of(' '));
    std::printf("- machine: %u cores (%s), Linux %s, %s memory\n", std::thread::hardware_concurrency(),
                firstLineOf("/proc/cpuinfo", "model name").c_str(), u.release, memory.c_str());
    std::printf("- load average before: %s; 1-minute load at the start of each figure: %s; after: %s; the run took "
                "%.0f s\n",
                loadBefore.c_str(), loadDuring.c_str(), loadAfter.c_str(), seconds);
    std::printf("- sizes: %d signal samples per program and case, %d SIGTERM runs, %d dispatch repetitions of %d "
                "requests, %d durable runs of %d requests, %d starts per program%s\n",
                o.samples, o.runs, o.runs, o.dispatchRequests, o.durableRuns, o.durableRequests, o.startupRuns,
                o.quick ? " (--quick: a smoke test, the figures mean nothing)" : "");
    std::printf("- every contender ran in the same session, interleaved in random order; p50 = median, p99 = "
                "nearest rank (the maximum below 100 samples), for throughputs the rate of the slowest 1 %% of runs "
                "(the minimum below 100 runs); ratio = quiesce / baseline\n\n");
    std::printf("| figure | quiesce p50 | quiesce p99 | baseline | baseline p50 | baseline p99 | ratio p50 | ratio p99 "
                "| target | met |\n");
    std::printf("|---|---:|---:|---|---:|---:|---:|---:|---|---|\n");
    for (const Row &row : r.rows) {
        const std::string bp50 = row.base ? fmtValue(row.base->p50, row.unit) : fmtValue(row.bound, row.unit);
        const std::string bp99 = row.base ? fmtValue(Row::tail(*row.base, row.higherIsBetter), row.unit) : "(bound)";
        const char *met = !row.met ? "" : row.met(row) ? "yes" : "**no**";
        std::printf("| %s | %s | %s | %s | %s | %s | %.2f× | %.2f× | %s | %s |\n", row.figure.c_str(),
                    fmtValue(row.subject.p50, row.unit).c_str(),
                    fmtValue(Row::tail(row.subject, row.higherIsBetter), row.unit).c_str(), row.baseline.c_str(),
                    bp50.c_str(), bp99.c_str(), row.ratioP50(), row.ratioP99(), row.target.c_str(), met);
    }
    std::printf("\n");
    for (const Row &row : r.rows) {
        if (!row.note.empty())
            std::printf("- %s: %s\n", row.figure.c_str(), row.note.c_str());
    }
    for (const std::string &note : r.notes)
        std::printf("- %s\n", note.c_str());
    if (!r.failures.empty()) {
        std::printf("\n**%zu failure(s):**\n\n", r.failures.size());
        for (const std::string &f : r.failures)
            std::printf("```\n%s\n```\n", f.c_str());
    }
    std::fflush(stdout);
}

bool writeCsv(const std::string &path, const Results &r)
{
    std::ofstream out(path);
    out << "figure,program,value\n";
    for (const auto &[figure, program, value] : r.samples)
        out << figure << ',' << '"' << program << '"' << ',' << format("%.6g", value) << '\n';
    return bool(out);
}

} // namespace

int main(int argc, char **argv)
{
    Options options;
    if (!parseOptions(argc, argv, &options))
        return 64;
    // A reader of our stdout that goes away must not kill the run; children get SIG_DFL back (posix_spawn).
    std::signal(SIGPIPE, SIG_IGN);

    Results results;
    Bench bench(options, &results);
    if (!bench.makeTmp())
        return 1;
    const std::string loadBefore = loadAverage();
    const Nanos begin = now();

    // The 1-minute load as each figure starts: how busy the machine was (the driver itself adds about 1).
    std::string loadDuring;
    auto figure = [&](const char *name, void (Bench::*run)()) {
        if (!options.wants(name))
            return;
        const std::string load = loadAverage();
        loadDuring += (loadDuring.empty() ? "" : ", ") + std::string(name) + " " + load.substr(0, load.find(' '));
        (bench.*run)();
    };
    figure("signal", &Bench::signalLatency);
    figure("term", &Bench::sigtermIdle);
    figure("drain", &Bench::drainOvershoot);
    figure("dispatch", &Bench::dispatch);
    figure("durable", &Bench::durable);
    figure("startup", &Bench::startup);
    figure("procdispatch", &Bench::procDispatch);
    figure("prockill", &Bench::procKill);
    figure("procterm", &Bench::procTerm);

    bench.cleanTmp();
    printReport(options, results, loadBefore, loadAverage(), loadDuring, double(now() - begin) / 1e9);
    if (!options.csv.empty() && !writeCsv(options.csv, results)) {
        progress("cannot write %s", options.csv.c_str());
        return 1;
    }
    return results.failures.empty() ? 0 : 1;
}
