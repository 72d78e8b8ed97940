// End-to-end: `quiesce --isolation process`, the real binary with real worker processes (quiesce-worker) and real
// signals. Every wait is on a line or on /proc (QTRY), never a sleep; every check of "nothing left" walks /proc for
// the workers seen (same pid and start time) and everything in their process groups.
//
// This test process is a child subreaper (PR_SET_CHILD_SUBREAPER): a worker orphaned by a kill -9 of its parent is
// re-parented to us instead of init, so a survivor of the spawn race cannot hide anywhere, and its zombie is ours to
// reap (by its pid, never waitpid(-1): QProcess reaps the quiesce parents itself).
#include "procstatus.h"
#include "proctree.h"
#include "quiesceprocess.h"
#include "torturesupport.h"

#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <csignal>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using ProcTree::Proc;
using Torture::DumpOnFailure;
using Torture::field;

namespace {

/*! Reaps the zombies of orphaned workers that were re-parented to us (we are a subreaper), by pid. */
void reapOrphans()
{
    const QList<Proc> children = ProcTree::childrenOf(::getpid());
    for (const Proc &p : children) {
        if (p.isZombie() && p.comm == QByteArrayLiteral("quiesce-worker")) {
            int status = 0;
            ::waitpid(pid_t(p.pid), &status, WNOHANG);
        }
    }
}

/*! The worker processes of the STATUS line: "pids=12,13 states=idle,busy restarts=0,1". */
struct WorkerStatus
{
    QList<qint64> pids;
    QStringList states;
    QList<int> restarts;
    int degraded = -1;
};

WorkerStatus parseStatus(const QString &line)
{
    WorkerStatus s;
    const auto value = [&line](const char *key) {
        const QRegularExpression re(QStringLiteral("(?:^| )%1=(\\S*)").arg(QLatin1StringView(key)));
        const auto m = re.match(line);
        return m.hasMatch() ? m.captured(1) : QString();
    };
    const QStringList pids = value("pids").split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (const QString &p : pids)
        s.pids << p.toLongLong();
    s.states = value("states").split(QLatin1Char(','), Qt::SkipEmptyParts);
    const QStringList restarts = value("restarts").split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (const QString &r : restarts)
        s.restarts << r.toInt();
    s.degraded = int(field(line, QStringLiteral("degraded")));
    return s;
}

/*! A datagram socket standing in for systemd's NOTIFY_SOCKET: what the parent says to systemd. */
class NotifySocket
{
public:
    explicit NotifySocket(const QString &path)
        : m_path(path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un address {};
        address.sun_family = AF_UNIX;
        const QByteArray name = QFile::encodeName(path);
        if (m_fd >= 0 && size_t(name.size()) < sizeof address.sun_path) {
            std::memcpy(address.sun_path, name.constData(), size_t(name.size()));
            if (::bind(m_fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
                ::close(m_fd);
                m_fd = -1;
            }
        }
    }
    ~NotifySocket()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    NotifySocket(const NotifySocket &) = delete;
    NotifySocket &operator=(const NotifySocket &) = delete;

    bool isValid() const { return m_fd >= 0; }
    QString path() const { return m_path; }
    /*! Every datagram received so far, each one a text. */
    QStringList messages()
    {
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, 0);
            if (n <= 0)
                break;
            m_messages << QString::fromUtf8(buffer, n);
        }
        return m_messages;
    }

private:
    QString m_path;
    int m_fd = -1;
    QStringList m_messages;
};

} // namespace

class tst_Processes : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void badFlagsAreRefused_data();
    void badFlagsAreRefused();
    void missingWorkerExits71();
    void workerLinksNoGuiStack();
    void exampleUnitKeepsTheServiceOnOom();
    void workersStartClean();
    void idleStopEndsEveryWorker();
    void shortDrainRequeuesAndTheNextRunCompletesOnce();
    void hungWorkerIsKilledAtItsDeadline();
    void parentKillNineTakesEveryWorker();
    void spawnRaceLeavesNoSurvivor_data();
    void spawnRaceLeavesNoSurvivor();
    void ctrlCToTheGroupIsGraceful();
    void secondRequestCancelsAtOnce();
    void thirdRequestKillsEveryWorker();
    void workerStoppedBySomeoneElseIsNoCrash();
    void controlGroupStopDrainsEveryWorker();
    void killedWorkerIsReplaced_data();
    void killedWorkerIsReplaced();
    void poisonJobIsMarkedFailed();
    void crashLoopDegradesAndExits69();
    void stoppedWorkerIsKilledAndReplaced();
    void crashRestartCyclesLeakNothing();
    void reloadGrowsAndShrinksThePool();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QStringList args(const QStringList &extra) const;
    /*! Starts \a q without core dumps (a SIGSEGV test must not litter the build tree). */
    bool start(QuiesceProcess &q);
    /*! Waits (QTRY-style, bounded) until \a q's parent has \a n living worker processes; returns them. */
    QList<Proc> waitForWorkers(QuiesceProcess &q, int n, std::chrono::milliseconds timeout = 20s);
    WorkerStatus status(QuiesceProcess &q);
    /*! start(), READY, \a workers worker processes up (returned in \a seen), then \a busy of them busy (0: no
        wait). False when any of it did not happen in time. */
    bool startWorking(QuiesceProcess &q, int workers, int busy, QList<Proc> *seen);
    /*! Records the workers seen, so cleanup() can check that none of them (or their groups) survived. */
    void remember(const QList<Proc> &workers);

    std::unique_ptr<QTemporaryDir> m_dir;
    QList<Proc> m_seen;
};

void tst_Processes::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
    QVERIFY2(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, "cannot become a child subreaper");
}

void tst_Processes::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_seen.clear();
}

void tst_Processes::cleanup()
{
    // Whatever the test did, no worker it saw may outlive it, and no process may be left in a worker's group.
    QTRY_VERIFY_WITH_TIMEOUT(ProcTree::survivors(m_seen).isEmpty(), 5000);
    reapOrphans();
}

QStringList tst_Processes::args(const QStringList &extra) const
{
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"), statePath(),
                        QStringLiteral("--isolation"), QStringLiteral("process")}
    + extra;
}

bool tst_Processes::start(QuiesceProcess &q)
{
    q.setChildRlimit(RLIMIT_CORE, 0, 0);
    return q.start();
}

QList<Proc> tst_Processes::waitForWorkers(QuiesceProcess &q, int n, std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    QList<Proc> workers;
    do {
        workers = ProcTree::workersOf(q.pid());
        if (workers.size() == n) {
            remember(workers);
            return workers;
        }
        QTest::qWait(10); // polls /proc while the event loop runs, like QTRY_*
        q.pump();
    } while (!deadline.hasExpired() && q.process().state() == QProcess::Running);
    remember(workers);
    return workers;
}

bool tst_Processes::startWorking(QuiesceProcess &q, int workers, int busy, QList<Proc> *seen)
{
    if (!start(q) || q.waitForLine(QStringLiteral("READY pid=")).isEmpty())
        return false;
    *seen = waitForWorkers(q, workers);
    return seen->size() == workers && (busy == 0 || q.waitUntilBusy(busy, 30s));
}

WorkerStatus tst_Processes::status(QuiesceProcess &q)
{
    if (!q.sendSignal(SIGUSR1))
        return {};
    return parseStatus(q.waitForLine(QStringLiteral("STATUS ")));
}

void tst_Processes::remember(const QList<Proc> &workers)
{
    for (const Proc &p : workers) {
        const bool known = std::any_of(m_seen.cbegin(), m_seen.cend(),
                                       [&p](const Proc &s) { return s.pid == p.pid && s.startTime == p.startTime; });
        if (!known)
            m_seen.append(p);
    }
}

void tst_Processes::badFlagsAreRefused_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("isolation") << QStringList {QStringLiteral("--isolation"), QStringLiteral("fork")}
                               << QStringLiteral("isolation must be thread or process");
    QTest::newRow("max-attempts 0") << QStringList {QStringLiteral("--max-attempts"), QStringLiteral("0")}
                                    << QStringLiteral("max-attempts must be a whole number from 1 to 1000");
    QTest::newRow("worker-timeout too short")
        << QStringList {QStringLiteral("--worker-timeout"), QStringLiteral("10ms")}
        << QStringLiteral("worker-timeout must be at least 500 ms");
    QTest::newRow("crash in thread mode") << QStringList {QStringLiteral("--simulate-crash"), QStringLiteral("1")}
                                          << QStringLiteral("--simulate-crash needs --isolation process");
}

void tst_Processes::badFlagsAreRefused()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    QuiesceProcess q(QStringList {QStringLiteral("--headless"), QStringLiteral("--state"), statePath()} + arguments);
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 64, q.describe());
    QVERIFY2(q.stderrText().contains(message), q.describe());
    QCOMPARE(q.stderrText().count(QLatin1Char('\n')), 1);
    QVERIFY2(!QFile::exists(statePath()), "a refused command line must not touch the state");
}

void tst_Processes::missingWorkerExits71()
{
    // A worker that cannot be spawned is an operating-system resource missing: one line, 71, the state untouched.
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"), QStringLiteral("0")}));
    q.setEnvironmentValue(QStringLiteral("QUIESCE_WORKER"), m_dir->filePath(QStringLiteral("no-such-worker")));
    QVERIFY(start(q));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 71, q.describe());
    QVERIFY2(q.stderrText().contains(QStringLiteral("no-such-worker")), q.describe());
    QCOMPARE(q.stderrText().count(QLatin1Char('\n')), 1);
    QVERIFY2(q.indexOf(QStringLiteral("READY")) < 0, q.describe());
    QVERIFY2(!QFile::exists(statePath()), "the state must not be touched when the workers cannot start");
}

void tst_Processes::workerLinksNoGuiStack()
{
    // N workers must never map the GUI stack: quiesce-worker links Core and Workers (Qt Core) only.
    const QString worker = QFileInfo(QuiesceProcess::binary()).dir().filePath(QStringLiteral("quiesce-worker"));
    QVERIFY2(QFileInfo(worker).isExecutable(), qPrintable(worker));
    QProcess readelf;
    readelf.start(QStringLiteral("readelf"), {QStringLiteral("-d"), worker});
    if (!readelf.waitForStarted(10000))
        QSKIP("readelf is not installed");
    QVERIFY(readelf.waitForFinished(30000));
    const QString dynamic = QString::fromUtf8(readelf.readAllStandardOutput());
    QVERIFY2(dynamic.contains(QStringLiteral("libQt6Core")), qPrintable(dynamic));
    for (const char *forbidden : {"libQt6Gui", "libQt6Widgets", "libQt6Sql", "libQt6Network", "libQt6DBus"})
        QVERIFY2(!dynamic.contains(QLatin1StringView(forbidden)), forbidden);
}

void tst_Processes::exampleUnitKeepsTheServiceOnOom()
{
    const QString sources = qEnvironmentVariable("QUIESCE_SOURCE_DIR");
    if (sources.isEmpty())
        QSKIP("QUIESCE_SOURCE_DIR is not set (run through ctest)");
    QFile unitFile(sources + QStringLiteral("/resources/quiesce.service"));
    QVERIFY(unitFile.open(QIODevice::ReadOnly));
    const QString unit = QString::fromUtf8(unitFile.readAll());
    // systemd's default (stop) would stop the whole service when the OOM killer takes one worker process.
    QVERIFY2(QRegularExpression(QStringLiteral("^OOMPolicy=continue$"), QRegularExpression::MultilineOption)
                 .match(unit)
                 .hasMatch(),
             qPrintable(unit));
    // 69 (no worker slot left) is worth a restart: it must not be in RestartPreventExitStatus=.
    const auto prevent =
        QRegularExpression(QStringLiteral("^RestartPreventExitStatus=(.*)$"), QRegularExpression::MultilineOption)
            .match(unit);
    QVERIFY(prevent.hasMatch());
    QVERIFY(!prevent.captured(1).split(QLatin1Char(' ')).contains(QStringLiteral("69")));
}

void tst_Processes::workersStartClean()
{
    // Children start with an empty signal mask, in a process group of their own, without the parent's journal
    // descriptors, without NOTIFY_SOCKET / LISTEN_FDS, with stdin on /dev/null and the descriptor limit we gave the
    // parent (which raised its own).
    NotifySocket notify(m_dir->filePath(QStringLiteral("notify")));
    QVERIFY(notify.isValid());
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"), QStringLiteral("0")}));
    q.setEnvironmentValue(QStringLiteral("NOTIFY_SOCKET"), notify.path());
    q.setEnvironmentValue(QStringLiteral("LISTEN_FDS"), QStringLiteral("1"));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 2, 0, &workers), q.describe());
    const auto parent = ProcTree::read(q.pid());
    QVERIFY(parent);
    rlimit ours {};
    QVERIFY(::getrlimit(RLIMIT_NOFILE, &ours) == 0);
    for (const Proc &w : workers) {
        QCOMPARE(w.pgid, w.pid);
        QVERIFY(w.pgid != parent->pgid);
        // Retried: glibc's pthread_create() blocks every signal in the creating thread for the clone(), so a read
        // while the worker starts its own threads can catch that instant; a mask the worker was started with stays.
        QTRY_COMPARE(ProcStatus::mask(w.pid, 0, "SigBlk"), quint64(0));
        QFile environment(QStringLiteral("/proc/%1/environ").arg(w.pid));
        QVERIFY(environment.open(QIODevice::ReadOnly));
        const QList<QByteArray> env = environment.readAll().split('\0');
        for (const QByteArray &entry : env) {
            QVERIFY2(!entry.startsWith("NOTIFY_SOCKET="), entry.constData());
            QVERIFY2(!entry.startsWith("LISTEN_FDS="), entry.constData());
        }
        const QStringList fds = ProcTree::fdTargets(w.pid);
        QVERIFY2(fds.contains(QStringLiteral("0=/dev/null")), qPrintable(fds.join(QLatin1Char(' '))));
        for (const QString &fd : fds)
            QVERIFY2(!fd.contains(QStringLiteral("state.sqlite")), qPrintable(fds.join(QLatin1Char(' '))));
        QFile limits(QStringLiteral("/proc/%1/limits").arg(w.pid));
        QVERIFY(limits.open(QIODevice::ReadOnly));
        const auto soft =
            QRegularExpression(QStringLiteral("^Max open files\\s+(\\d+)"), QRegularExpression::MultilineOption)
                .match(QString::fromUtf8(limits.readAll()));
        QVERIFY(soft.hasMatch());
        QCOMPARE(soft.captured(1).toULongLong(), quint64(ours.rlim_cur));
    }
    // The parent speaks to systemd; the workers never do (each READY=1 would be a lie about the service).
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    const QStringList said = notify.messages();
    QCOMPARE(said.filter(QStringLiteral("READY=1")).size(), 1);
}

void tst_Processes::idleStopEndsEveryWorker()
{
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("3"), QStringLiteral("--rate"), QStringLiteral("0")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 3, 0, &workers), q.describe());
    // Running is not yet ready: a worker is "starting" until its hello reached the parent.
    const QStringList allIdle {QStringLiteral("idle"), QStringLiteral("idle"), QStringLiteral("idle")};
    WorkerStatus s;
    QTRY_COMPARE_WITH_TIMEOUT((s = status(q)).states, allIdle, 20000);
    QCOMPARE(QSet<qint64>(s.pids.cbegin(), s.pids.cend()),
             QSet<qint64>({workers.at(0).pid, workers.at(1).pid, workers.at(2).pid}));

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    const QString report = q.waitForLine(QStringLiteral("SHUTDOWN report"));
    QCOMPARE(field(report, QStringLiteral("workers_stopped")), 3);
    QCOMPARE(field(report, QStringLiteral("workers_killed")), 0);
    // Reaped by the parent before it exited: gone now, not only soon.
    QVERIFY2(ProcTree::survivors(workers).isEmpty(), qPrintable(ProcTree::describe(ProcTree::survivors(workers))));
    QVERIFY(q.stderrText().isEmpty());
}

void tst_Processes::shortDrainRequeuesAndTheNextRunCompletesOnce()
{
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("4"), QStringLiteral("--work-ms"), QStringLiteral("2500"),
              QStringLiteral("--drain-timeout"), QStringLiteral("300ms"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 2, 2, &workers), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=drain end outcome=timed-out")) >= 0, q.describe());
    // Cancelled within one slice: the cancel phase did not need its budget, and no worker had to be killed.
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=cancel end outcome=ok")) >= 0, q.describe());
    const QString report = q.waitForLine(QStringLiteral("SHUTDOWN report"));
    QCOMPARE(field(report, QStringLiteral("workers_killed")), 0);
    QCOMPARE(field(report, QStringLiteral("requeued")), 2);
    const QList<quint64> accepted = Torture::idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    QCOMPARE(accepted.size(), 4);
    QList<quint64> done = Torture::idsWithPrefix(q.lines(), QStringLiteral("done id="));

    QuiesceProcess next(args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"),
                              QStringLiteral("0"), QStringLiteral("--work-ms"), QStringLiteral("1"),
                              QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    QVERIFY(start(next));
    QVERIFY2(next.waitForExit(60s), next.describe());
    QVERIFY2(next.exitedNormally() && next.exitCode() == 0, next.describe());
    done += Torture::idsWithPrefix(next.lines(), QStringLiteral("done id="));
    QVERIFY2(Torture::duplicates(done).isEmpty(), next.describe());
    QCOMPARE(Torture::toSet(done), Torture::toSet(accepted));
}

void tst_Processes::hungWorkerIsKilledAtItsDeadline()
{
    // Request 1 blocks ignoring cancellation: thread mode can only leave it to the watchdog (70); a process is
    // killed at the end of the cancel budget, its request requeued, and the run still ends with 0.
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("1"), QStringLiteral("--simulate-hang"), QStringLiteral("1"),
              QStringLiteral("--drain-timeout"), QStringLiteral("300ms"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 2, 1, &workers), q.describe());
    const QList<quint64> accepted = Torture::idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    QCOMPARE(accepted.size(), 1);
    const quint64 id = accepted.constFirst();
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    const QString report = q.waitForLine(QStringLiteral("SHUTDOWN report"));
    QCOMPARE(field(report, QStringLiteral("workers_killed")), 1);
    QCOMPARE(field(report, QStringLiteral("workers_stopped")), 1);
    QVERIFY2(ProcTree::survivors(workers).isEmpty(), qPrintable(ProcTree::describe(ProcTree::survivors(workers))));
    QString error;
    const QJsonObject state = Torture::inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QVERIFY2(Torture::stateIds(state, "pending").contains(id), QJsonDocument(state).toJson().constData());

    // The next start runs it (a hang is never persisted) and does not blame a watchdog that never acted.
    QuiesceProcess next(
        args({QStringLiteral("--workers"), QStringLiteral("1"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dumpNext(next);
    QVERIFY(start(next));
    QVERIFY2(next.waitForExit(60s) && next.exitedNormally() && next.exitCode() == 0, next.describe());
    QVERIFY2(next.indexOf(QStringLiteral("RECOVERY previous run")) < 0, next.describe());
    QCOMPARE(Torture::idsWithPrefix(next.lines(), QStringLiteral("done id=")), QList<quint64> {id});
}

void tst_Processes::parentKillNineTakesEveryWorker()
{
    QuiesceProcess q(args({QStringLiteral("--workers"), QStringLiteral("3"), QStringLiteral("--rate"),
                           QStringLiteral("20"), QStringLiteral("--work-ms"), QStringLiteral("100-400"),
                           QStringLiteral("--seed"), QStringLiteral("7"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 3, 0, &workers), q.describe());
    for (int i = 0; i < 5; ++i)
        QVERIFY2(!q.waitForLine(QStringLiteral("accepted id=")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGKILL));
    // PR_SET_PDEATHSIG and the death pipe: the whole tree goes with the parent. One second is a guard against a
    // hang, not a measurement (bench/ measures it).
    QTRY_VERIFY2_WITH_TIMEOUT(ProcTree::survivors(workers).isEmpty(),
                              qPrintable(ProcTree::describe(ProcTree::survivors(workers))), 1000);
    QVERIFY(q.waitForExit());
    const QList<quint64> accepted = Torture::idsWithPrefix(q.lines(), QStringLiteral("accepted id="));

    QuiesceProcess next(
        args({QStringLiteral("--workers"), QStringLiteral("3"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--work-ms"), QStringLiteral("1"), QStringLiteral("--exit-when-idle")}));
    const DumpOnFailure dumpNext(next);
    QVERIFY(start(next));
    QVERIFY2(next.waitForExit(60s), next.describe());
    QVERIFY2(next.exitedNormally() && next.exitCode() == 0, next.describe());
    QVERIFY2(next.indexOf(QStringLiteral("RECOVERY previous run")) >= 0, next.describe());
    QString error;
    const QJsonObject state = Torture::inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QSet<quint64> lost = Torture::toSet(accepted) - Torture::stateIds(state, "done");
    QVERIFY2(lost.isEmpty(), qPrintable(Torture::describeIds(lost)));
}

void tst_Processes::spawnRaceLeavesNoSurvivor_data()
{
    QTest::addColumn<quint32>("seed");
    // A seeded sample by default; 200 rounds under --long (QUIESCE_TEST_LONG=1).
    const int rounds = Torture::iterations(6, 200);
    for (int i = 0; i < rounds; ++i)
        QTest::addRow("seed %d", 1400 + i) << quint32(1400 + i);
}

void tst_Processes::spawnRaceLeavesNoSurvivor()
{
    QFETCH(quint32, seed);
    QRandomGenerator rng(seed);
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("4"), QStringLiteral("--rate"), QStringLiteral("0")}));
    const DumpOnFailure dump(q);
    QVERIFY(start(q));
    // Right after start: while the parent spawns (fork, exec, prctl, the getppid() re-check) or just before it.
    // The delay is the stimulus' timing, not a wait for anything.
    QThread::usleep(ulong(rng.bounded(60000)));
    const qint64 parent = q.pid();
    remember(ProcTree::workersOf(parent));
    QVERIFY(q.sendSignal(SIGKILL));
    QVERIFY(q.waitForExit());
    // Every worker it had spawned is re-parented to us (subreaper) and must die of the parent's death: none may
    // be left alive, whatever moment the kill hit.
    QTRY_VERIFY_WITH_TIMEOUT(ProcTree::workersOf(::getpid()).isEmpty(), 2000);
    QVERIFY2(ProcTree::survivors(m_seen).isEmpty(), qPrintable(ProcTree::describe(ProcTree::survivors(m_seen))));
}

void tst_Processes::ctrlCToTheGroupIsGraceful()
{
    // Like a terminal's Ctrl+C: SIGINT to the whole foreground process group. The workers are in groups of their
    // own, so only the parent sees it; it stops them in order, each exactly once, and nothing escalates.
    QuiesceProcess q(args({QStringLiteral("--workers"), QStringLiteral("3"), QStringLiteral("--rate"),
                           QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("3"),
                           QStringLiteral("--work-ms"), QStringLiteral("1500"), QStringLiteral("--log-requests")}));
    q.process().setChildProcessModifier([] {
        Quiesce::UnixSignalNotifier::resetSignalStateInChild();
        ::setpgid(0, 0);
        const rlimit none {0, 0};
        ::setrlimit(RLIMIT_CORE, &none);
    });
    const DumpOnFailure dump(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    const QList<Proc> workers = waitForWorkers(q, 3);
    QCOMPARE(workers.size(), 3);
    QVERIFY2(q.waitUntilBusy(3, 30s), q.describe());
    QVERIFY(::kill(-pid_t(q.pid()), SIGINT) == 0);
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN begin reason=sigint")) >= 0, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN begin")), 1);
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN escalate ")) < 0, q.describe());
    // The jobs in flight finished (graceful drain), and every worker ended by itself.
    QCOMPARE(Torture::idsWithPrefix(q.lines(), QStringLiteral("done id=")).size(), 3);
    const QString report = q.waitForLine(QStringLiteral("SHUTDOWN report"));
    QCOMPARE(field(report, QStringLiteral("workers_stopped")), 3);
    QCOMPARE(field(report, QStringLiteral("workers_killed")), 0);
    QVERIFY2(q.indexOf(QStringLiteral("LOST ")) < 0, q.describe());
}

void tst_Processes::secondRequestCancelsAtOnce()
{
    // FAST: the drain ends at once and every worker gives its job back within one slice; nothing is killed.
    QuiesceProcess q(args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"),
                           QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("2"),
                           QStringLiteral("--work-ms"), QStringLiteral("60000"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 2, 2, &workers), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=drain begin")).isEmpty(), q.describe());
    QVERIFY(q.sendSignalFromNewProcess(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN escalate mode=fast")) >= 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN phase=cancel end outcome=ok")) >= 0, q.describe());
    const QString report = q.waitForLine(QStringLiteral("SHUTDOWN report"));
    QCOMPARE(field(report, QStringLiteral("requeued")), 2);
    QCOMPARE(field(report, QStringLiteral("workers_stopped")), 2);
    QCOMPARE(field(report, QStringLiteral("workers_killed")), 0);
    QVERIFY2(ProcTree::survivors(workers).isEmpty(), qPrintable(ProcTree::describe(ProcTree::survivors(workers))));
}

void tst_Processes::thirdRequestKillsEveryWorker()
{
    // IMMEDIATE: SIGKILL to every worker group, then 128+signo; the journal already holds every accepted request.
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("3"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("3"), QStringLiteral("--work-ms"), QStringLiteral("60000"),
              QStringLiteral("--simulate-hang"), QStringLiteral("1"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 3, 3, &workers), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=drain begin")).isEmpty(), q.describe());
    QVERIFY(q.sendSignalFromNewProcess(SIGTERM));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN escalate ")).isEmpty(), q.describe());
    QVERIFY(q.sendSignalFromNewProcess(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 128 + SIGTERM, q.describe());
    // One second is a guard against a hang, not a measurement.
    QTRY_VERIFY2_WITH_TIMEOUT(ProcTree::survivors(workers).isEmpty(),
                              qPrintable(ProcTree::describe(ProcTree::survivors(workers))), 1000);

    QuiesceProcess next(args({QStringLiteral("--workers"), QStringLiteral("1"), QStringLiteral("--rate"),
                              QStringLiteral("0"), QStringLiteral("--drain-timeout"), QStringLiteral("300ms")}));
    QVERIFY(start(next));
    QVERIFY2(!next.waitForLine(QStringLiteral("RECOVERY previous run")).isEmpty(), next.describe());
    QVERIFY(next.sendSignal(SIGTERM));
    QVERIFY2(next.waitForExit() && next.exitedNormally() && next.exitCode() == 0, next.describe());
}

void tst_Processes::workerStoppedBySomeoneElseIsNoCrash()
{
    // `kill -TERM <worker>`: it finishes its job and exits 0. Not a crash: no LOST line, its job is done once, and
    // the slot is simply filled again.
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("4"), QStringLiteral("--work-ms"), QStringLiteral("1000"),
              QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 2, 2, &workers), q.describe());
    QVERIFY(::kill(pid_t(workers.at(0).pid), SIGTERM) == 0);
    QVERIFY2(!q.waitForLine(QStringLiteral("WORKER slot=")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit(60s), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QRegularExpression(QStringLiteral("^WORKER slot=\\d+ pid=%1 exited 0$").arg(workers.at(0).pid)))
                 >= 0,
             q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("LOST ")) < 0, q.describe());
    const QList<quint64> accepted = Torture::idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    const QList<quint64> done = Torture::idsWithPrefix(q.lines(), QStringLiteral("done id="));
    QVERIFY2(Torture::duplicates(done).isEmpty(), q.describe());
    QCOMPARE(Torture::toSet(done), Torture::toSet(accepted));
}

void tst_Processes::controlGroupStopDrainsEveryWorker()
{
    // systemd's KillMode=control-group: SIGTERM to every process of the service at once. Each worker drains its
    // job and exits 0 on its own, the parent stops in order, nothing counts as a crash and nothing is respawned.
    QuiesceProcess q(args({QStringLiteral("--workers"), QStringLiteral("3"), QStringLiteral("--rate"),
                           QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("3"),
                           QStringLiteral("--work-ms"), QStringLiteral("1000"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 3, 3, &workers), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    for (const Proc &w : std::as_const(workers))
        QVERIFY(::kill(pid_t(w.pid), SIGTERM) == 0);
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("LOST ")) < 0, q.describe());
    QCOMPARE(q.count(QStringLiteral("WORKER slot=")), 6); // three started, three exited; no replacement
    QCOMPARE(Torture::idsWithPrefix(q.lines(), QStringLiteral("done id=")).size(), 3);
    QVERIFY2(ProcTree::survivors(workers).isEmpty(), qPrintable(ProcTree::describe(ProcTree::survivors(workers))));
}

void tst_Processes::killedWorkerIsReplaced_data()
{
    QTest::addColumn<int>("signo");
    QTest::newRow("SIGSEGV") << SIGSEGV;
    QTest::newRow("SIGKILL") << SIGKILL;
}

void tst_Processes::killedWorkerIsReplaced()
{
    QFETCH(int, signo);
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("3"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("9"), QStringLiteral("--work-ms"), QStringLiteral("1500"),
              QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 3, 3, &workers), q.describe());
    const Proc victim = workers.at(1);
    QVERIFY(::kill(pid_t(victim.pid), signo) == 0);
    const QString lost = q.waitForLine(QStringLiteral("LOST id="));
    QVERIFY2(lost.contains(QStringLiteral(" requeued")), q.describe());
    // Replaced; its siblings untouched (same pid, same start time).
    QTRY_VERIFY_WITH_TIMEOUT(ProcTree::workersOf(q.pid()).size() == 3 || q.process().state() != QProcess::Running,
                             20000);
    QVERIFY(!ProcTree::isAlive(victim));
    QVERIFY(ProcTree::isAlive(workers.at(0)));
    QVERIFY(ProcTree::isAlive(workers.at(2)));
    remember(ProcTree::workersOf(q.pid()));
    QVERIFY2(ProcTree::zombieChildrenOf(q.pid()).isEmpty() || q.process().state() != QProcess::Running,
             qPrintable(ProcTree::describe(ProcTree::zombieChildrenOf(q.pid()))));

    QVERIFY2(q.waitForExit(60s), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    const QList<quint64> accepted = Torture::idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    const QList<quint64> done = Torture::idsWithPrefix(q.lines(), QStringLiteral("done id="));
    QCOMPARE(accepted.size(), 9);
    QVERIFY2(Torture::duplicates(done).isEmpty(), q.describe());
    QCOMPARE(Torture::toSet(done), Torture::toSet(accepted));
}

void tst_Processes::poisonJobIsMarkedFailed()
{
    // Request 2 aborts its worker on every attempt: requeued twice, marked failed at the third crash, and the run goes
    // on with every other request done. Short jobs travel in batches: the crash is still charged to the right one.
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("12"), QStringLiteral("--work-ms"), QStringLiteral("1"),
              QStringLiteral("--simulate-crash"), QStringLiteral("2"), QStringLiteral("--max-attempts"),
              QStringLiteral("3"), QStringLiteral("--exit-when-idle"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QVERIFY(start(q));
    QVERIFY2(q.waitForExit(60s), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    const QList<quint64> accepted = Torture::idsWithPrefix(q.lines(), QStringLiteral("accepted id="));
    QCOMPARE(accepted.size(), 12);
    const quint64 poison = accepted.at(1);
    const QStringList lost = Torture::linesAfter(q, QStringLiteral("READY"), QStringLiteral("LOST id="));
    QCOMPARE(lost.size(), 3);
    QVERIFY2(lost.at(0).startsWith(QStringLiteral("LOST id=%1 crashes=1 requeued").arg(poison)), q.describe());
    QVERIFY2(lost.at(1).startsWith(QStringLiteral("LOST id=%1 crashes=2 requeued").arg(poison)), q.describe());
    QVERIFY2(lost.at(2).startsWith(QStringLiteral("LOST id=%1 crashes=3 failed").arg(poison)), q.describe());
    const QList<quint64> done = Torture::idsWithPrefix(q.lines(), QStringLiteral("done id="));
    QCOMPARE(Torture::toSet(done), Torture::toSet(accepted) - QSet<quint64> {poison});
    const QString report = q.waitForLine(QStringLiteral("SHUTDOWN report"));
    QCOMPARE(field(report, QStringLiteral("failed")), 1);

    QString error;
    const QJsonObject state = Torture::inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QCOMPARE(Torture::stateIds(state, "failed"), QSet<quint64> {poison});
    QCOMPARE(Torture::stateCount(state, "failed"), qint64(1));
    QCOMPARE(Torture::stateCount(state, "pending"), qint64(0));
}

void tst_Processes::crashLoopDegradesAndExits69()
{
    // One slot, a request that crashes it every time and enough attempts allowed: the slot crash-loops, is no
    // longer restarted (degraded), and with no slot left the run stops in order with 69. The request is kept
    // pending (nothing is dropped); the respawns are bounded.
    NotifySocket notify(m_dir->filePath(QStringLiteral("notify")));
    QVERIFY(notify.isValid());
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("1"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("1"), QStringLiteral("--work-ms"), QStringLiteral("10"),
              QStringLiteral("--simulate-crash"), QStringLiteral("1"), QStringLiteral("--max-attempts"),
              QStringLiteral("1000"), QStringLiteral("--log-requests")}));
    q.setEnvironmentValue(QStringLiteral("NOTIFY_SOCKET"), notify.path());
    const DumpOnFailure dump(q);
    QVERIFY(start(q));
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    remember(waitForWorkers(q, 1));
    QVERIFY2(!q.waitForLine(QStringLiteral("WORKERS degraded"), 60s).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit(60s), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 69, q.describe());
    const int crashes = q.count(QStringLiteral("LOST id="));
    QVERIFY2(crashes >= 5 && crashes <= 7, q.describe());
    QVERIFY2(Torture::phasesInOrder(q, {QStringLiteral("stop-intake")}, QStringLiteral("SHUTDOWN begin")).isEmpty(),
             q.describe());
    const QStringList said = notify.messages();
    QVERIFY2(!said.filter(QRegularExpression(QStringLiteral("STATUS=.*degraded"))).isEmpty(),
             qPrintable(said.join(QLatin1Char('|'))));

    QString error;
    const QJsonObject state = Torture::inspect(statePath(), true, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    QCOMPARE(Torture::stateCount(state, "pending"), qint64(1));
}

void tst_Processes::stoppedWorkerIsKilledAndReplaced()
{
    // A SIGSTOPped worker sends no heartbeat: killed and replaced after --worker-timeout, its request requeued.
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--rate"), QStringLiteral("0"),
              QStringLiteral("--burst"), QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("30000"),
              QStringLiteral("--worker-timeout"), QStringLiteral("2s"), QStringLiteral("--drain-timeout"),
              QStringLiteral("300ms"), QStringLiteral("--log-requests")}));
    const DumpOnFailure dump(q);
    QList<Proc> workers;
    QVERIFY2(startWorking(q, 2, 2, &workers), q.describe());
    const Proc victim = workers.at(0);
    QVERIFY(::kill(pid_t(victim.pid), SIGSTOP) == 0);
    // Killed within --worker-timeout + 1 s, as the issue asks; the QTRY polls, it does not sleep. Its replacement's
    // start is not part of that bound (under ASan it alone can outlast the second).
    QTRY_VERIFY_WITH_TIMEOUT(!ProcTree::isAlive(victim), 3000);
    QTRY_COMPARE_WITH_TIMEOUT(ProcTree::workersOf(q.pid()).size(), 2, 20000);
    remember(ProcTree::workersOf(q.pid()));
    QVERIFY(ProcTree::isAlive(workers.at(1)));
    const QString lost = q.waitForLine(QStringLiteral("LOST id="));
    QVERIFY2(lost.contains(QStringLiteral(" requeued")), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

void tst_Processes::crashRestartCyclesLeakNothing()
{
    // Workers ended again and again: each is reaped at once (no zombie), replaced, and the parent's descriptor count
    // comes back to where it was (no leaked channel or pidfd). Crashes (SIGKILL) alternate with someone else's
    // SIGTERM (a clean exit, replaced after 100 ms). Every eighth cycle is a crash, at most one per second, of the
    // worker started longest ago: round the slots, so the crash-loop guard (more than 5 crashes of one slot in
    // 10 s) is not what this tests, and the crash backoff (doubling to 10 s) does not dominate. A sample by default;
    // 500 cycles under --long.
    const int cycles = Torture::iterations(16, 500);
    QuiesceProcess q(
        args({QStringLiteral("--workers"), QStringLiteral("4"), QStringLiteral("--rate"), QStringLiteral("0")}));
    const DumpOnFailure dump(q, 60);
    QVERIFY(start(q));
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    QCOMPARE(waitForWorkers(q, 4).size(), 4);
    const int fdsBefore = ProcTree::fdCount(q.pid());
    QVERIFY(fdsBefore > 0);
    QRandomGenerator rng(1414);
    QElapsedTimer sinceCrash;
    int crashes = 0;
    for (int cycle = 0; cycle < cycles; ++cycle) {
        QList<Proc> workers;
        QTRY_VERIFY_WITH_TIMEOUT(!(workers = ProcTree::workersOf(q.pid())).isEmpty(), 20000);
        remember(workers);
        const bool crash = cycle % 8 == 0 && (!sinceCrash.isValid() || sinceCrash.elapsed() >= 1000);
        Proc victim = workers.at(int(rng.bounded(quint32(workers.size()))));
        if (crash) {
            victim = *std::min_element(workers.cbegin(), workers.cend(),
                                       [](const Proc &a, const Proc &b) { return a.startTime < b.startTime; });
            sinceCrash.start();
            ++crashes;
        }
        QVERIFY(::kill(pid_t(victim.pid), crash ? SIGKILL : SIGTERM) == 0);
        // Reaped at once: neither alive nor left as a zombie.
        QTRY_VERIFY_WITH_TIMEOUT(
            !ProcTree::read(victim.pid) || ProcTree::read(victim.pid)->startTime != victim.startTime, 5000);
        QVERIFY2(q.process().state() == QProcess::Running, q.describe());
    }
    QVERIFY(crashes >= 1);
    QTRY_COMPARE_WITH_TIMEOUT(ProcTree::workersOf(q.pid()).size(), 4, 30000);
    remember(ProcTree::workersOf(q.pid()));
    QVERIFY2(ProcTree::zombieChildrenOf(q.pid()).isEmpty(),
             qPrintable(ProcTree::describe(ProcTree::zombieChildrenOf(q.pid()))));
    QTRY_COMPARE_WITH_TIMEOUT(ProcTree::fdCount(q.pid()), fdsBefore, 5000);
    QVERIFY2(q.indexOf(QStringLiteral("WORKERS degraded")) < 0, q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

void tst_Processes::reloadGrowsAndShrinksThePool()
{
    const QString config = m_dir->filePath(QStringLiteral("quiesce.ini"));
    const auto writeWorkers = [&config](int n) {
        QFile f(config);
        return f.open(QIODevice::WriteOnly | QIODevice::Truncate)
            && f.write(QStringLiteral("workers = %1\n").arg(n).toUtf8()) > 0;
    };
    QVERIFY(writeWorkers(2));
    QuiesceProcess q(args({QStringLiteral("--config"), config, QStringLiteral("--rate"), QStringLiteral("0")}));
    const DumpOnFailure dump(q);
    QVERIFY(start(q));
    QVERIFY2(!q.waitForLine(QStringLiteral("READY pid=")).isEmpty(), q.describe());
    const QList<Proc> first = waitForWorkers(q, 2);
    QCOMPARE(first.size(), 2);
    QVERIFY(writeWorkers(4));
    QVERIFY(q.sendSignal(SIGHUP));
    QVERIFY2(q.waitForLine(QStringLiteral("CONFIG ")).contains(QStringLiteral("workers 2 -> 4")), q.describe());
    QCOMPARE(waitForWorkers(q, 4).size(), 4);
    QVERIFY(ProcTree::isAlive(first.at(0)) && ProcTree::isAlive(first.at(1)));
    QVERIFY(writeWorkers(1));
    QVERIFY(q.sendSignal(SIGHUP));
    QVERIFY2(q.waitForLine(QStringLiteral("CONFIG ")).contains(QStringLiteral("workers 4 -> 1")), q.describe());
    QCOMPARE(waitForWorkers(q, 1).size(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(ProcTree::zombieChildrenOf(q.pid()).isEmpty(), 5000);
    QCOMPARE(status(q).pids.size(), 1);
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

QTEST_GUILESS_MAIN(tst_Processes)
#include "tst_processes.moc"
