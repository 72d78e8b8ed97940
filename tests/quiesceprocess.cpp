#include "quiesceprocess.h"

#include "unixsignalnotifier.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QProcessEnvironment>

#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

QuiesceProcess::QuiesceProcess(const QStringList &arguments)
    : m_arguments(arguments)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    // Settings of the child go to a throwaway place, never the user's.
    m_process.setProcessEnvironment(env);
    m_process.setProgram(binary());
    m_process.setArguments(arguments);
    // The test runner's own signal state (QtTest's handlers, blocked masks) must not leak into the child. And the
    // child runs as under a supervisor whatever runs the tests (ctest in a terminal, an IDE): no controlling
    // terminal, so SIGHUP means reload. A test that wants a terminal attaches a pseudo-terminal itself.
    m_process.setChildProcessModifier([] {
        Quiesce::UnixSignalNotifier::resetSignalStateInChild();
        const int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC); // fails without a controlling terminal
        if (tty >= 0) {
            ::ioctl(tty, TIOCNOTTY); // not a session leader: detaches this process only, no SIGHUP to anyone
            ::close(tty);
        }
    });
}

QuiesceProcess::~QuiesceProcess()
{
    if (m_process.state() != QProcess::NotRunning) {
        m_process.kill();
        m_process.waitForFinished(10000);
    }
}

QString QuiesceProcess::binary()
{
    return qEnvironmentVariable("QUIESCE_BINARY");
}

void QuiesceProcess::setEnvironmentValue(const QString &name, const QString &value)
{
    QProcessEnvironment env = m_process.processEnvironment();
    env.insert(name, value);
    m_process.setProcessEnvironment(env);
}

bool QuiesceProcess::start()
{
    m_process.start();
    return m_process.waitForStarted(10000);
}

qint64 QuiesceProcess::pid() const
{
    return m_process.processId();
}

void QuiesceProcess::pump()
{
    m_partial += m_process.readAllStandardOutput();
    m_stderr += m_process.readAllStandardError();
    qsizetype newline;
    while ((newline = m_partial.indexOf('\n')) >= 0) {
        m_lines << QString::fromUtf8(m_partial.left(newline));
        m_partial.remove(0, newline + 1);
    }
}

QString QuiesceProcess::waitForLine(const QRegularExpression &pattern, std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    for (;;) {
        pump();
        for (; m_scanFrom < m_lines.size(); ++m_scanFrom) {
            if (pattern.match(m_lines.at(m_scanFrom)).hasMatch())
                return m_lines.at(m_scanFrom++);
        }
        if (deadline.hasExpired())
            return {};
        if (m_process.state() == QProcess::NotRunning) {
            pump();
            if (m_scanFrom >= m_lines.size())
                return {};
            continue;
        }
        m_process.waitForReadyRead(int(qMax<qint64>(1, qMin<qint64>(deadline.remainingTime(), 1000))));
    }
}

QString QuiesceProcess::waitForLine(const QString &prefix, std::chrono::milliseconds timeout)
{
    return waitForLine(QRegularExpression(QLatin1Char('^') + QRegularExpression::escape(prefix)), timeout);
}

int QuiesceProcess::indexOf(const QRegularExpression &pattern) const
{
    for (int i = 0; i < m_lines.size(); ++i) {
        if (pattern.match(m_lines.at(i)).hasMatch())
            return i;
    }
    return -1;
}

int QuiesceProcess::indexOf(const QString &prefix) const
{
    for (int i = 0; i < m_lines.size(); ++i) {
        if (m_lines.at(i).startsWith(prefix))
            return i;
    }
    return -1;
}

int QuiesceProcess::count(const QString &prefix) const
{
    int n = 0;
    for (const QString &l : m_lines)
        n += l.startsWith(prefix) ? 1 : 0;
    return n;
}

bool QuiesceProcess::sendSignal(int signo)
{
    const qint64 p = pid();
    return p > 0 && ::kill(pid_t(p), signo) == 0;
}

bool QuiesceProcess::sendSignalFromNewProcess(int signo)
{
    const qint64 target = pid();
    if (target <= 0)
        return false;
    const pid_t child = ::fork();
    if (child == -1)
        return false;
    if (child == 0)
        ::_exit(::kill(pid_t(target), signo) == 0 ? 0 : 1); // async-signal-safe only: we may have threads
    int status = 0;
    pid_t reaped;
    do {
        reaped = ::waitpid(child, &status, 0); // this child only, never -1: QProcess reaps its own
    } while (reaped == -1 && errno == EINTR);
    return reaped == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool QuiesceProcess::waitUntilBusy(int busy, std::chrono::milliseconds timeout)
{
    const QString want = QStringLiteral(" busy=%1 ").arg(busy);
    QDeadlineTimer deadline(timeout);
    while (!deadline.hasExpired()) {
        if (!sendSignal(SIGUSR1))
            return false;
        const QString status = waitForLine(QStringLiteral("STATUS "),
                                           std::chrono::milliseconds(qMax<qint64>(1, deadline.remainingTime())));
        if (status.isEmpty())
            return false;
        if (status.contains(want))
            return true;
    }
    return false;
}

bool QuiesceProcess::waitForExit(std::chrono::milliseconds timeout)
{
    QDeadlineTimer deadline(timeout);
    while (m_process.state() != QProcess::NotRunning && !deadline.hasExpired()) {
        m_process.waitForFinished(int(qMax<qint64>(1, qMin<qint64>(deadline.remainingTime(), 1000))));
        pump();
    }
    pump();
    return m_process.state() == QProcess::NotRunning;
}

bool QuiesceProcess::exitedNormally() const
{
    return m_process.state() == QProcess::NotRunning && m_process.exitStatus() == QProcess::NormalExit;
}

int QuiesceProcess::exitCode() const
{
    return m_process.exitCode();
}

QByteArray QuiesceProcess::describe() const
{
    QByteArray text = "quiesce " + m_arguments.join(QLatin1Char(' ')).toUtf8();
    if (m_process.state() == QProcess::NotRunning)
        text += m_process.exitStatus() == QProcess::NormalExit
            ? QByteArray("\nexit code " + QByteArray::number(m_process.exitCode()))
            : QByteArray("\ncrashed (signal)");
    else
        text += "\nstill running";
    text += QByteArray("\n--- stdout\n") + m_lines.join(QLatin1Char('\n')).toUtf8() + m_partial + "\n--- stderr\n"
        + m_stderr;
    return text;
}
