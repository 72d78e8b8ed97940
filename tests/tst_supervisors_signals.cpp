// End-to-end: the real `quiesce` under the things that signal it besides a supervisor's one SIGTERM — a SIGHUP
// reload that must keep the command line's values, a terminal that goes away (a real pseudo-terminal whose master
// is closed), nohup, GNU timeout's TERM to the pid and then to the group, and a person's Ctrl+C typed twice.
#include "procstatus.h"
#include "torturesupport.h"
#include "unixsignalnotifier.h"

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

using namespace std::chrono_literals;
using Quiesce::UnixSignalNotifier;
using Torture::field;
using Torture::waitUntilBusy;

namespace {

/* A pseudo-terminal that becomes the controlling terminal of a child started by QProcess: the child calls
   setsid() and TIOCSCTTY in the child modifier, and with onStdio also gets the slave as stdin/stdout/stderr, as
   in a terminal emulator. hangUp() closes the master, which is what closing the terminal window does: the kernel
   sends SIGHUP (si_pid 0) to the session leader, and writes to the slave fail with EIO from then on. */
class PseudoTerminal
{
public:
    PseudoTerminal()
    {
        if (::openpty(&m_master, &m_slave, nullptr, nullptr, nullptr) == -1) {
            m_error = QString::fromLocal8Bit(std::strerror(errno));
            m_master = m_slave = -1;
            return;
        }
        // Close-on-exec: the child must hold the slave only as the descriptors it dup2()s, never the master (a
        // master held by the child would keep the terminal alive when the test "closes the window").
        ::fcntl(m_master, F_SETFD, FD_CLOEXEC);
        ::fcntl(m_slave, F_SETFD, FD_CLOEXEC);
    }
    ~PseudoTerminal()
    {
        hangUp();
        closeSlave();
    }

    bool isValid() const { return m_master >= 0; }
    QString errorString() const { return m_error; }

    /*! Makes \a process start as a session leader with this terminal as its controlling terminal. */
    void attach(QProcess &process, bool onStdio, bool ignoreHangup)
    {
        const int slave = m_slave;
        process.setChildProcessModifier([slave, onStdio, ignoreHangup] {
            // Between fork() and exec(): async-signal-safe calls only.
            UnixSignalNotifier::resetSignalStateInChild();
            if (ignoreHangup) { // what nohup does before it execs the command
                struct sigaction ignore;
                std::memset(&ignore, 0, sizeof ignore);
                ignore.sa_handler = SIG_IGN;
                ::sigaction(SIGHUP, &ignore, nullptr);
            }
            if (::setsid() == -1 || ::ioctl(slave, TIOCSCTTY, 0) == -1)
                ::_exit(120);
            if (onStdio
                && (::dup2(slave, STDIN_FILENO) == -1 || ::dup2(slave, STDOUT_FILENO) == -1
                    || ::dup2(slave, STDERR_FILENO) == -1))
                ::_exit(121);
        });
    }

    /*! After the child started: only the child holds the slave. */
    void closeSlave()
    {
        if (m_slave >= 0)
            ::close(m_slave);
        m_slave = -1;
    }

    /*! Closes the terminal window. */
    void hangUp()
    {
        if (m_master >= 0)
            ::close(m_master);
        m_master = -1;
    }

    /*! Types \a bytes (e.g. "\x03", Ctrl+C: with ISIG on, the terminal driver sends SIGINT to the foreground
        process group, with si_pid 0). */
    bool type(const QByteArray &bytes)
    {
        return ::write(m_master, bytes.constData(), size_t(bytes.size())) == bytes.size();
    }

    /*! Reads what the child wrote to the terminal until a line starts with \a prefix; bounded. */
    QString waitForLine(const QString &prefix, std::chrono::milliseconds timeout = 20s)
    {
        QDeadlineTimer deadline(timeout);
        for (;;) {
            for (; m_scanFrom < m_lines.size(); ++m_scanFrom) {
                if (m_lines.at(m_scanFrom).startsWith(prefix))
                    return m_lines.at(m_scanFrom++);
            }
            if (m_master < 0 || deadline.hasExpired())
                return {};
            pollfd p {m_master, POLLIN, 0};
            if (::poll(&p, 1, int(qMin<qint64>(deadline.remainingTime(), 1000))) <= 0)
                continue;
            char buffer[4096];
            const ssize_t n = ::read(m_master, buffer, sizeof buffer);
            if (n <= 0)
                return {}; // EIO: every slave descriptor is closed (the child exited)
            m_partial.append(buffer, n);
            qsizetype newline;
            while ((newline = m_partial.indexOf('\n')) >= 0) {
                m_lines << QString::fromUtf8(m_partial.left(newline)).remove(QLatin1Char('\r'));
                m_partial.remove(0, newline + 1);
            }
        }
    }

    QString text() const { return m_lines.join(QLatin1Char('\n')); }

private:
    int m_master = -1;
    int m_slave = -1;
    QString m_error;
    QStringList m_lines;
    QByteArray m_partial;
    int m_scanFrom = 0;
};

void writeFile(const QString &path, const QByteArray &text)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(text), qint64(text.size()));
}

} // namespace

class tst_SupervisorsSignals : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void reloadKeepsTheCommandLine();
    void fileIsCheckedTogetherWithTheCommandLine();
    void closingTheTerminalStopsGracefully();
    void hangupInTheForegroundNeverEscalates();
    void withoutATerminalSighupReloads();
    void onHangupReloadForcesAReload();
    void nohupIsRespected();
    void termToPidThenGroupIsOneRequest();
    void twoCtrlCFromTheTerminalEscalate();

private:
    QStringList args(const QStringList &extra) const;
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QString configPath() const { return m_dir->filePath(QStringLiteral("quiesce.ini")); }
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_SupervisorsSignals::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_SupervisorsSignals::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QStringList tst_SupervisorsSignals::args(const QStringList &extra) const
{
    return QStringList {QStringLiteral("--headless"), QStringLiteral("--state"), statePath()} + extra;
}

// Command line > config file > defaults, on every reload: a key the command line set never changes, a file-only
// key follows the file, a key removed from the file goes back to its default.
void tst_SupervisorsSignals::reloadKeepsTheCommandLine()
{
    writeFile(configPath(), "rate=0\nworkers=2\ndrain-timeout=25s\nqueue-limit=50\n");
    QuiesceProcess q(args({QStringLiteral("--config"), configPath(), QStringLiteral("--workers"), QStringLiteral("3"),
                           QStringLiteral("--drain-timeout"), QStringLiteral("7s")}));
    // No controlling terminal, whatever runs the test: SIGHUP means reload here.
    q.process().setChildProcessModifier([] {
        UnixSignalNotifier::resetSignalStateInChild();
        ::setsid();
    });
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());

    // The unchanged file changes nothing, and the line names what the command line kept.
    QVERIFY(q.sendSignal(SIGHUP));
    QString line = q.waitForLine(QStringLiteral("CONFIG "));
    QCOMPARE(line,
             QStringLiteral("CONFIG reloaded %1: no changes; kept from the command line: workers, drain-timeout")
                 .arg(configPath()));

    // A file-only key follows the file; the command line's keys stay although the file changed them too.
    writeFile(configPath(), "rate=0\nworkers=5\ndrain-timeout=30s\nqueue-limit=60\n");
    QVERIFY(q.sendSignal(SIGHUP));
    line = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(line.startsWith(QStringLiteral("CONFIG reloaded %1: queue-limit 50 -> 60;").arg(configPath())),
             q.describe());
    QVERIFY2(!line.contains(QStringLiteral("workers 3")) && !line.contains(QStringLiteral("drain-timeout 7000")),
             q.describe());

    // Removed from the file: back to the built-in default (1000).
    writeFile(configPath(), "rate=0\n");
    QVERIFY(q.sendSignal(SIGHUP));
    line = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(line.startsWith(QStringLiteral("CONFIG reloaded %1: queue-limit 60 -> 1000;").arg(configPath())),
             q.describe());

    QVERIFY(q.sendSignal(SIGUSR1));
    const QString status = q.waitForLine(QStringLiteral("STATUS "));
    QVERIFY2(status.contains(QStringLiteral(" workers=3 ")), q.describe());
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=drain begin budget_ms=7000")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

// The file's hard-timeout (8 s) is below the default drain (10 s) but above the command line's (5 s): only the
// combination counts, at start and on reload (the file was once checked alone, against the defaults: exit 64).
void tst_SupervisorsSignals::fileIsCheckedTogetherWithTheCommandLine()
{
    writeFile(configPath(), "rate=0\nhard-timeout=8s\n");
    QuiesceProcess q(
        args({QStringLiteral("--config"), configPath(), QStringLiteral("--drain-timeout"), QStringLiteral("5s")}));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY(q.sendSignal(SIGHUP));
    QCOMPARE(
        q.waitForLine(QStringLiteral("CONFIG ")),
        QStringLiteral("CONFIG reloaded %1: no changes; kept from the command line: drain-timeout").arg(configPath()));
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=drain begin budget_ms=5000")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
}

// The process runs in a terminal (stdin/stdout/stderr on the pty, its controlling terminal); the window closes:
// an orderly stop, exit 0, the session recorded as a hangup, and the state free for the next start.
void tst_SupervisorsSignals::closingTheTerminalStopsGracefully()
{
    PseudoTerminal terminal;
    QVERIFY2(terminal.isValid(), qPrintable(terminal.errorString()));
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("2"), QStringLiteral("--work-ms"), QStringLiteral("100-300")}));
    terminal.attach(q.process(), true, false);
    QVERIFY(q.start());
    terminal.closeSlave();
    QVERIFY2(!terminal.waitForLine(QStringLiteral("READY")).isEmpty(), qPrintable(terminal.text()));

    terminal.hangUp();
    QVERIFY2(q.waitForExit(), qPrintable(terminal.text()));
    QVERIFY(q.exitedNormally());
    QCOMPARE(q.exitCode(), 0);

    QString error;
    const QJsonObject state = Torture::inspect(statePath(), false, &error);
    QVERIFY2(!state.isEmpty(), qPrintable(error));
    const QJsonArray sessions = state.value(QStringLiteral("sessions")).toArray();
    QCOMPARE(sessions.size(), 1);
    const QJsonObject session = sessions.at(0).toObject();
    QCOMPARE(session.value(QStringLiteral("reason")).toString(), QStringLiteral("hangup"));
    QCOMPARE(session.value(QStringLiteral("clean")).toBool(), true);
    QCOMPARE(session.value(QStringLiteral("exit_code")).toInt(), 0);

    // The lock went with the process: a new start on the same state runs.
    QuiesceProcess next(args({QStringLiteral("--rate"), QStringLiteral("0")}));
    QVERIFY(next.start());
    QVERIFY2(!next.waitForLine(QStringLiteral("READY")).isEmpty(), next.describe());
    QVERIFY(next.sendSignal(SIGTERM));
    QVERIFY2(next.waitForExit() && next.exitedNormally() && next.exitCode() == 0, next.describe());
}

// `quiesce --headless </dev/null >log` typed in a shell: no descriptor is a tty, but the process is in the
// foreground of its controlling terminal. The hangup stops it (not a reload, although there is a --config), and the
// SIGHUPs that follow (the shell's, arriving with the kernel's) never escalate.
void tst_SupervisorsSignals::hangupInTheForegroundNeverEscalates()
{
    writeFile(configPath(), "rate=0\n");
    PseudoTerminal terminal;
    QVERIFY2(terminal.isValid(), qPrintable(terminal.errorString()));
    QuiesceProcess q(args({QStringLiteral("--config"), configPath(), QStringLiteral("--burst"), QStringLiteral("2"),
                           QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--work-ms"),
                           QStringLiteral("1000-1500"), QStringLiteral("--drain-timeout"), QStringLiteral("600s"),
                           QStringLiteral("--hard-timeout"), QStringLiteral("660s")}));
    terminal.attach(q.process(), false, false);
    QVERIFY(q.start());
    terminal.closeSlave();
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(waitUntilBusy(q, 2), q.describe());

    terminal.hangUp();
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN begin reason=hangup sender=0 mode=graceful")).isEmpty(),
             q.describe());
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN phase=drain begin")).isEmpty(), q.describe());
    for (int i = 0; i < 2; ++i) // the shell's SIGHUP, and one more for good measure; gone already is fine
        QVERIFY(q.sendSignal(SIGHUP) || q.process().state() == QProcess::NotRunning);
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN escalate")), 0);
    QCOMPARE(q.count(QStringLiteral("CONFIG reload")), 0); // "CONFIG budgets" at start is not a reload
    const int report = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(report >= 0, q.describe());
    QCOMPARE(field(q.lines().at(report), QStringLiteral("cancelled")), 0);
    QCOMPARE(field(q.lines().at(report), QStringLiteral("finished")), 2);
}

// Under a supervisor (no controlling terminal, plain pipes) SIGHUP stays "reload".
void tst_SupervisorsSignals::withoutATerminalSighupReloads()
{
    writeFile(configPath(), "rate=0\nworkers=2\n");
    QuiesceProcess q(args({QStringLiteral("--config"), configPath()}));
    q.process().setChildProcessModifier([] {
        UnixSignalNotifier::resetSignalStateInChild();
        ::setsid(); // no controlling terminal, like a service
    });
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    writeFile(configPath(), "rate=0\nworkers=3\n");
    QVERIFY(q.sendSignal(SIGHUP));
    const QString line = q.waitForLine(QStringLiteral("CONFIG "));
    QVERIFY2(line.startsWith(QStringLiteral("CONFIG reloaded")) && line.contains(QStringLiteral("workers 2 -> 3")),
             q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN")), 0);
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN begin reason=sigterm")) >= 0, q.describe());
}

// --on-hangup reload in a terminal: the terminal going away reloads, it does not stop.
void tst_SupervisorsSignals::onHangupReloadForcesAReload()
{
    writeFile(configPath(), "rate=0\n");
    PseudoTerminal terminal;
    QVERIFY2(terminal.isValid(), qPrintable(terminal.errorString()));
    QuiesceProcess q(
        args({QStringLiteral("--config"), configPath(), QStringLiteral("--on-hangup"), QStringLiteral("reload")}));
    terminal.attach(q.process(), false, false);
    QVERIFY(q.start());
    terminal.closeSlave();
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    terminal.hangUp();
    QVERIFY2(q.waitForLine(QStringLiteral("CONFIG ")).startsWith(QStringLiteral("CONFIG reloaded")), q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN")), 0);
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN begin reason=sigterm")) >= 0, q.describe());
}

// nohup: SIGHUP ignored before exec. In a terminal (stop mode) the ignored disposition stays: the hangup does
// nothing, the process runs on, and a SIGTERM still stops it in order.
void tst_SupervisorsSignals::nohupIsRespected()
{
    writeFile(configPath(), "rate=0\n");
    PseudoTerminal terminal;
    QVERIFY2(terminal.isValid(), qPrintable(terminal.errorString()));
    QuiesceProcess q(args({QStringLiteral("--config"), configPath()}));
    terminal.attach(q.process(), false, true);
    QVERIFY(q.start());
    terminal.closeSlave();
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    // Still ignored, not caught: the bridge did not take SIGHUP over.
    QVERIFY(ProcStatus::mask(q.pid(), 0, "SigIgn") & ProcStatus::signalBit(SIGHUP));
    QCOMPARE(ProcStatus::mask(q.pid(), 0, "SigCgt") & ProcStatus::signalBit(SIGHUP), quint64(0));

    terminal.hangUp();
    QVERIFY(q.sendSignal(SIGHUP));
    QVERIFY(q.sendSignal(SIGUSR1)); // answered after both SIGHUPs were discarded by the kernel
    const QString status = q.waitForLine(QStringLiteral("STATUS "));
    QVERIFY2(status.startsWith(QStringLiteral("STATUS phase=running ")), q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN")), 0);
    QCOMPARE(q.count(QStringLiteral("CONFIG reload")), 0); // "CONFIG budgets" at start is not a reload
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit() && q.exitedNormally() && q.exitCode() == 0, q.describe());
    QVERIFY2(q.indexOf(QStringLiteral("SHUTDOWN begin reason=sigterm")) >= 0, q.describe());
}

// GNU timeout: SIGTERM to the child, then to the child's process group, from the same pid within microseconds.
// One graceful request: no escalation, nothing in flight cancelled.
void tst_SupervisorsSignals::termToPidThenGroupIsOneRequest()
{
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("2"), QStringLiteral("--workers"), QStringLiteral("2"),
                           QStringLiteral("--work-ms"), QStringLiteral("1000-1500"), QStringLiteral("--drain-timeout"),
                           QStringLiteral("600s"), QStringLiteral("--hard-timeout"), QStringLiteral("660s")}));
    q.process().setChildProcessModifier([] {
        UnixSignalNotifier::resetSignalStateInChild();
        ::setpgid(0, 0); // its own process group, as timeout's child is
    });
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(waitUntilBusy(q, 2), q.describe());
    const pid_t pid = pid_t(q.pid());
    QCOMPARE(::getpgid(pid), pid);

    QCOMPARE(::kill(pid, SIGTERM), 0);
    QCOMPARE(::kill(-pid, SIGTERM), 0);
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN begin reason=sigterm sender=%1 ").arg(::getpid())), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN escalate")), 0);
    const int report = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(report >= 0, q.describe());
    QCOMPARE(field(q.lines().at(report), QStringLiteral("cancelled")), 0);
    QCOMPARE(field(q.lines().at(report), QStringLiteral("finished")), 2);
}

// A person's Ctrl+C twice: the terminal driver sends SIGINT with sender 0 each time; the second stops fast.
void tst_SupervisorsSignals::twoCtrlCFromTheTerminalEscalate()
{
    PseudoTerminal terminal;
    QVERIFY2(terminal.isValid(), qPrintable(terminal.errorString()));
    QuiesceProcess q(args({QStringLiteral("--rate"), QStringLiteral("0"), QStringLiteral("--burst"),
                           QStringLiteral("2"), QStringLiteral("--workers"), QStringLiteral("2"),
                           QStringLiteral("--work-ms"), QStringLiteral("600000"), QStringLiteral("--drain-timeout"),
                           QStringLiteral("600s"), QStringLiteral("--hard-timeout"), QStringLiteral("660s")}));
    terminal.attach(q.process(), false, false);
    QVERIFY(q.start());
    terminal.closeSlave();
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(waitUntilBusy(q, 2), q.describe());

    QVERIFY(terminal.type("\x03"));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN begin reason=sigint sender=0 ")).isEmpty(), q.describe());
    // Acknowledged before the second one, so the kernel cannot merge the two pending SIGINTs.
    QVERIFY(terminal.type("\x03"));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN escalate mode=fast reason=sigint sender=0")).isEmpty(),
             q.describe());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());
    const int report = q.indexOf(QStringLiteral("SHUTDOWN report "));
    QVERIFY2(report >= 0, q.describe());
    QCOMPARE(field(q.lines().at(report), QStringLiteral("cancelled")), 2);
}

QTEST_GUILESS_MAIN(tst_SupervisorsSignals)
#include "tst_supervisors_signals.moc"
