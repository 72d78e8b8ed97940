// End-to-end: output that nobody reads, or that does not exist, never stops the quit path. stdout is a FIFO whose
// reader stalls after READY, or fd 1 is closed at exec; Qt's own warnings become one stderr line each.
#include "lineoutput.h"
#include "procstatus.h"
#include "quiesceprocess.h"
#include "torturesupport.h"
#include <Quiesce/unixsignalnotifier.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// The read side of a FIFO the test holds open O_RDWR, or of an anonymous pipe whose write end it holds too: the child
// never sees EOF or EPIPE, and the test decides when (and whether) to read.
class Fifo
{
public:
    explicit Fifo(const QString &path)
        : m_path(path)
    {
        const QByteArray name = QFile::encodeName(path);
        if (::mkfifo(name.constData(), 0600) == 0)
            m_fd = ::open(name.constData(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        m_writeFd = m_fd;
    }
    /*! An anonymous pipe. Its write end stays blocking: that is what a child given it as stdout sees. */
    Fifo()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            return;
        m_fd = fds[0];
        m_writeFd = fds[1];
        ::fcntl(m_fd, F_SETFL, O_NONBLOCK);
    }
    ~Fifo()
    {
        if (m_writeFd >= 0 && m_writeFd != m_fd)
            ::close(m_writeFd);
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Fifo(const Fifo &) = delete;
    Fifo &operator=(const Fifo &) = delete;

    bool isValid() const { return m_fd >= 0 && m_writeFd >= 0; }
    QString path() const { return m_path; }
    int writeFd() const { return m_writeFd; }

    /*! Sets the pipe's capacity (F_SETPIPE_SZ); returns the capacity it got, or -1. */
    int setCapacity(int bytes) { return ::fcntl(m_fd, F_SETPIPE_SZ, bytes); }

    /*! Fills the pipe with whole lines of 64 bytes ("FFF...\n"), a page at a time, until poll(2) says it takes no
        more: every page slot is full. Returns how many bytes it took, or -1. */
    qsizetype fillToTheBrim()
    {
        QByteArray page;
        while (page.size() < 4096)
            page += QByteArray(63, 'F') + '\n';
        qsizetype total = 0;
        for (;;) {
            pollfd p {m_writeFd, POLLOUT, 0};
            const int ready = ::poll(&p, 1, 0);
            if (ready == 0)
                return total;
            if (ready < 0 || (p.revents & POLLOUT) == 0)
                return -1;
            // A free slot takes a page without blocking, even on the blocking write end.
            if (::write(m_writeFd, page.constData(), size_t(page.size())) != page.size())
                return -1; // a torn fill: the lines would not be whole
            total += page.size();
        }
    }

    /*! Bytes written into the FIFO and not read yet. */
    int pending() const
    {
        int n = 0;
        return ::ioctl(m_fd, FIONREAD, &n) == 0 ? n : -1;
    }

    /*! Reads what is there now, without waiting. */
    void readAvailable()
    {
        char buffer[65536];
        for (;;) {
            const ssize_t n = ::read(m_fd, buffer, sizeof buffer);
            if (n > 0) {
                m_text.append(buffer, n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            return;
        }
    }

    /*! Reads until a complete line starting with \a prefix arrived, or the deadline. */
    bool readUntilLine(const QByteArray &prefix, QDeadlineTimer deadline)
    {
        for (;;) {
            readAvailable();
            const QList<QByteArray> all = completeLines();
            for (const QByteArray &line : all) {
                if (line.startsWith(prefix))
                    return true;
            }
            if (deadline.hasExpired())
                return false;
            pollfd p {m_fd, POLLIN, 0};
            ::poll(&p, 1, int(qBound(qint64(1), deadline.remainingTime(), qint64(1000))));
        }
    }

    QList<QByteArray> completeLines() const
    {
        QList<QByteArray> lines = m_text.split('\n');
        lines.removeLast(); // the part after the last newline (empty when the text ends with one)
        return lines;
    }
    QByteArray text() const { return m_text; }

private:
    QString m_path;
    int m_fd = -1;
    int m_writeFd = -1;
    QByteArray m_text;
};

int countPrefix(const QList<QByteArray> &lines, const QByteArray &prefix)
{
    int n = 0;
    for (const QByteArray &l : lines)
        n += l.startsWith(prefix) ? 1 : 0;
    return n;
}

// The value of "key=N" in \a line, or -1.
qint64 field(const QByteArray &line, const QByteArray &key)
{
    const QRegularExpression re(QStringLiteral("(?:^| )%1=(\\d+)").arg(QString::fromLatin1(key)));
    const QRegularExpressionMatch m = re.match(QString::fromUtf8(line));
    return m.hasMatch() ? m.captured(1).toLongLong() : -1;
}

QByteArray lastLineWith(const QList<QByteArray> &lines, const QByteArray &prefix)
{
    for (auto it = lines.crbegin(); it != lines.crend(); ++it) {
        if (it->startsWith(prefix))
            return *it;
    }
    return {};
}

} // namespace

class tst_HostileOutput : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void stalledStdoutStillStopsInOrder();
    void closedStdoutStillStopsInOrder();
    void fullStdoutNeverBlocksTheMainThread_data();
    void fullStdoutNeverBlocksTheMainThread();
    void qtWarningIsOneStderrLine();
    void messageFormatting();
    void lineClassification();

private:
    QString statePath() const { return m_dir->filePath(QStringLiteral("state.sqlite")); }
    QJsonObject inspect(bool quiet = false);
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_HostileOutput::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
}

void tst_HostileOutput::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QJsonObject tst_HostileOutput::inspect(bool quiet)
{
    QString error;
    const QJsonObject state = Torture::inspect(statePath(), false, &error);
    if (!quiet && !error.isEmpty())
        qWarning("%s", qPrintable(error));
    return state;
}

// The first case: `--log-requests` at 2000 requests per second into a FIFO whose reader stops after READY.
// Before, write(2) blocked the main thread for good and SIGTERM did nothing. Now the stop runs in order, the
// lifecycle lines reach the FIFO through the room kept for them, and the dropped request lines are counted so that
// printed + dropped accepted lines equal the report's accepted count.
void tst_HostileOutput::stalledStdoutStillStopsInOrder()
{
    Fifo fifo(m_dir->filePath(QStringLiteral("stdout.fifo")));
    QVERIFY(fifo.isValid());
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                      QStringLiteral("2000"), QStringLiteral("--work-ms"), QStringLiteral("1-2"),
                      QStringLiteral("--log-requests"), QStringLiteral("--drain-timeout"), QStringLiteral("1s"),
                      QStringLiteral("--hard-timeout"), QStringLiteral("3s")});
    q.process().setStandardOutputFile(fifo.path());
    QVERIFY(q.start());
    QVERIFY2(fifo.readUntilLine("READY pid=", QDeadlineTimer(20s)), fifo.text().constData());

    // From here on nobody reads. Wait until the process has made more lines than the FIFO holds (5000 requests are
    // some 150 KiB of lines, the FIFO holds 64 KiB): now request lines stop at half of the FIFO and queue, then
    // drop. Before the fix, write(2) blocked the main thread once the FIFO was full, and nothing moved any more.
    auto generated = [this] { return inspect(true).value(QStringLiteral("next_id")).toInteger() - 1; };
    QTRY_VERIFY2_WITH_TIMEOUT(generated() >= 5000 || fifo.pending() > 64 * 1024 - 256,
                              qPrintable(QString::number(fifo.pending())), 20000);

    QVERIFY(q.sendSignal(SIGTERM));
    // A hang guard, not a timing assertion: before the fix the process never exits.
    QVERIFY2(q.waitForExit(20s), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);

    fifo.readAvailable();
    const QList<QByteArray> lines = fifo.completeLines();
    const QByteArray all = fifo.text();
    QVERIFY2(all.endsWith('\n'), all.right(300).constData()); // no torn line at the end
    // Every line is whole: a request line or a lifecycle line, never a fragment.
    static const QRegularExpression whole(
        QStringLiteral("^((accepted|done|shed) id=\\d+|(READY|SHUTDOWN|OUTPUT|STATE|RECOVERY|INTAKE|CONFIG) .+)$"));
    for (const QByteArray &l : lines)
        QVERIFY2(whole.match(QString::fromUtf8(l)).hasMatch(), l.constData());

    const int begin =
        lines.indexOf("SHUTDOWN begin reason=sigterm sender=" + QByteArray::number(::getpid()) + " mode=graceful");
    const int done = lines.indexOf("SHUTDOWN done exit=0");
    QVERIFY2(begin >= 0 && done > begin, all.right(3000).constData());
    const QByteArray report = lastLineWith(lines, "SHUTDOWN report ");
    const QByteArray dropped = lastLineWith(lines, "OUTPUT dropped ");
    QVERIFY2(!report.isEmpty() && !dropped.isEmpty(), all.right(3000).constData());
    static const QRegularExpression droppedFormat(
        QStringLiteral("^OUTPUT dropped accepted=\\d+ done=\\d+ shed=\\d+ other=\\d+: stdout blocked$"));
    QVERIFY2(droppedFormat.match(QString::fromUtf8(dropped)).hasMatch(), dropped.constData());
    QVERIFY2(lines.lastIndexOf(dropped) > done, all.right(3000).constData()); // the totals come last
    QVERIFY2(field(dropped, "accepted") + field(dropped, "done") > 0, dropped.constData());
    QCOMPARE(field(dropped, "other"), 0); // lifecycle lines kept their room

    // The accounting: every accepted request was either printed or counted as dropped.
    const qint64 printedAccepted = countPrefix(lines, "accepted id=");
    QCOMPARE(printedAccepted + field(dropped, "accepted"), field(report, "accepted"));

    // The state agrees: the session closed cleanly with the same report.
    const QJsonObject state = inspect();
    const QJsonArray sessions = state.value(QStringLiteral("sessions")).toArray();
    QVERIFY(!sessions.isEmpty());
    const QJsonObject last = sessions.last().toObject();
    QVERIFY2(last.value(QStringLiteral("clean")).toBool(), QJsonDocument(last).toJson().constData());
    QCOMPARE(last.value(QStringLiteral("exit_code")).toInt(), 0);
    QCOMPARE(last.value(QStringLiteral("report"))
                 .toObject()
                 .value(QStringLiteral("counts"))
                 .toObject()
                 .value(QStringLiteral("accepted"))
                 .toInteger(),
             field(report, "accepted"));
}

// The fourth case: fd 1 closed at exec. Before, the signal bridge's socketpair took fd 1 and every line went
// into it; now /dev/null sits there before anything opens a file, and the stop is orderly.
void tst_HostileOutput::closedStdoutStillStopsInOrder()
{
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                      QStringLiteral("200"), QStringLiteral("--work-ms"), QStringLiteral("1-5"),
                      QStringLiteral("--log-requests")});
    q.process().setChildProcessModifier([] {
        Quiesce::UnixSignalNotifier::resetSignalStateInChild();
        ::close(STDOUT_FILENO);
    });
    QVERIFY(q.start());
    const qint64 pid = q.pid();

    // Running: its session row is open (inspect reads while it runs).
    auto sessionOpen = [this, pid] {
        const QJsonArray sessions = inspect(true).value(QStringLiteral("sessions")).toArray();
        if (sessions.isEmpty())
            return false;
        const QJsonObject last = sessions.last().toObject();
        return last.value(QStringLiteral("pid")).toInteger() == pid && last.value(QStringLiteral("ended")).isNull();
    };
    QTRY_VERIFY_WITH_TIMEOUT(sessionOpen(), 20000);
    QCOMPARE(QFile::symLinkTarget(QStringLiteral("/proc/%1/fd/1").arg(pid)), QStringLiteral("/dev/null"));
    // The writer thread exists and, like every other thread but the main one, blocks the bridge's signals.
    const QList<qint64> writers = ProcStatus::threadsNamed(pid, "quiesce-output");
    QCOMPARE(writers.size(), 1);
    const quint64 blocked = ProcStatus::mask(pid, writers.first(), "SigBlk");
    QVERIFY(blocked & ProcStatus::signalBit(SIGTERM));
    QVERIFY(blocked & ProcStatus::signalBit(SIGINT));

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(20s), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);
    const QJsonArray sessions = inspect().value(QStringLiteral("sessions")).toArray();
    QVERIFY(!sessions.isEmpty());
    QVERIFY(sessions.last().toObject().value(QStringLiteral("clean")).toBool());
}

void tst_HostileOutput::fullStdoutNeverBlocksTheMainThread_data()
{
    QTest::addColumn<bool>("named");
    QTest::addColumn<int>("capacity");
    // An anonymous pipe takes pwritev2(RWF_NOWAIT); a named FIFO does not, and gets the poll(2) check instead.
    QTest::newRow("pipe") << false << 0;
    QTest::newRow("FIFO") << true << 0;
    // Below four pages the writer keeps no room in the pipe: only the kernel's answer stands between a line and a
    // write(2) that blocks.
    QTest::newRow("one-page pipe") << false << 4096;
    QTest::newRow("one-page FIFO") << true << 4096;
}

// Lines mostly go out directly from the thread that makes them (no hop to the writer thread), but only where that
// cannot block. Here stdout is a pipe filled to the brim after READY and never read until the stop is over:
// SIGUSR1 (a STATUS line) and SIGTERM (the SHUTDOWN lines) each have a line to write into it. Were any of them
// written on the main thread with a plain write(2), the main thread would block there and the session would never
// close. The session closes cleanly while the pipe is still full; read afterwards, the lines are whole.
void tst_HostileOutput::fullStdoutNeverBlocksTheMainThread()
{
    QFETCH(bool, named);
    QFETCH(int, capacity);
    const std::unique_ptr<Fifo> pipe =
        named ? std::make_unique<Fifo>(m_dir->filePath(QStringLiteral("stdout.fifo"))) : std::make_unique<Fifo>();
    Fifo &fifo = *pipe;
    QVERIFY(fifo.isValid());
    if (capacity > 0)
        QCOMPARE(fifo.setCapacity(capacity), capacity);
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), statePath(), QStringLiteral("--rate"),
                      QStringLiteral("0")});
    if (named) {
        q.process().setStandardOutputFile(fifo.path());
    } else {
        const int writeFd = fifo.writeFd();
        q.process().setChildProcessModifier([writeFd] {
            Quiesce::UnixSignalNotifier::resetSignalStateInChild();
            ::dup2(writeFd, STDOUT_FILENO);
        });
    }
    QVERIFY(q.start());
    const qint64 pid = q.pid();
    QVERIFY2(fifo.readUntilLine("READY pid=", QDeadlineTimer(20s)), fifo.text().constData());
    const QByteArray before = fifo.text();

    const qsizetype filled = fifo.fillToTheBrim();
    QVERIFY2(filled > 0, "could not fill the FIFO exactly");
    for (int i = 0; i < 3; ++i)
        QVERIFY(q.sendSignal(SIGUSR1));
    QVERIFY(q.sendSignal(SIGTERM));

    // The quit path ran to its save with the pipe full all along (nothing reads it yet).
    auto sessionClosedCleanly = [this, pid] {
        const QJsonArray sessions = inspect(true).value(QStringLiteral("sessions")).toArray();
        if (sessions.isEmpty())
            return false;
        const QJsonObject last = sessions.last().toObject();
        return last.value(QStringLiteral("pid")).toInteger() == pid && !last.value(QStringLiteral("ended")).isNull()
            && last.value(QStringLiteral("clean")).toBool();
    };
    QTRY_VERIFY_WITH_TIMEOUT(sessionClosedCleanly(), 20000);
    QCOMPARE(fifo.pending(), int(filled));

    // Now read, so that the lines still queued can go out; the process ends whether they do or not (the final
    // flush is bounded). A hang guard, not a timing assertion.
    const QDeadlineTimer guard(20s);
    while (!q.waitForExit(20ms) && !guard.hasExpired())
        fifo.readAvailable();
    QVERIFY2(guard.remainingTime() > 0, q.describe());
    fifo.readAvailable();
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);

    // The filler comes out as it went in, and whatever followed it is whole lines, in order.
    const QByteArray all = fifo.text();
    QVERIFY(all.startsWith(before));
    const QByteArray after = all.mid(before.size());
    QVERIFY(after.size() >= filled);
    for (qsizetype at = 0; at < filled; at += 64)
        QCOMPARE(after.mid(at, 64), QByteArray(63, 'F') + '\n');
    const QByteArray rest = after.mid(filled);
    QVERIFY2(rest.isEmpty() || rest.endsWith('\n'), rest.constData());
    QList<QByteArray> lines = rest.split('\n');
    lines.removeLast();
    static const QRegularExpression whole(QStringLiteral("^(STATUS|SHUTDOWN|OUTPUT) .+$"));
    for (const QByteArray &l : lines)
        QVERIFY2(whole.match(QString::fromUtf8(l)).hasMatch(), rest.constData());
    const int begin = int(lines.indexOf(QByteArrayLiteral("SHUTDOWN begin reason=sigterm sender=")
                                        + QByteArray::number(::getpid()) + " mode=graceful"));
    const int done = int(lines.indexOf("SHUTDOWN done exit=0"));
    if (done >= 0)
        QVERIFY2(begin >= 0 && begin < done, rest.constData());
}

// Qt's own messages go through the handler: one "quiesce: " line each, newlines folded, and qFatal still aborts.
// An unknown platform plugin makes Qt warn (qt.qpa.plugin) and then fail fatally with a multi-line message.
void tst_HostileOutput::qtWarningIsOneStderrLine()
{
    QuiesceProcess q({QStringLiteral("--state"), statePath()});
    q.setEnvironmentValue(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("no-such-platform"));
    q.process().setChildProcessModifier([] {
        Quiesce::UnixSignalNotifier::resetSignalStateInChild();
        const rlimit noCore {0, 0}; // the abort is expected: no core file
        ::setrlimit(RLIMIT_CORE, &noCore);
    });
    QVERIFY(q.start());
    QVERIFY2(q.waitForExit(20s), q.describe());
    QVERIFY2(!q.exitedNormally(), q.describe()); // qFatal aborted
    const QStringList lines = q.stderrText().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QVERIFY2(!lines.isEmpty(), q.describe());
    for (const QString &l : lines)
        QVERIFY2(l.startsWith(QLatin1StringView("quiesce: ")), q.describe());
    // The fatal message spans several lines in Qt; here it is one.
    bool fatalOnOneLine = false;
    for (const QString &l : lines)
        fatalOnOneLine = fatalOnOneLine
            || (l.contains(QLatin1StringView("no Qt platform plugin could be initialized"))
                && l.contains(QLatin1StringView("Available platform plugins are")));
    QVERIFY2(fatalOnOneLine, q.describe());
    QVERIFY2(q.stderrText().contains(QLatin1StringView("Could not find the Qt platform plugin")), q.describe());
}

void tst_HostileOutput::messageFormatting()
{
    using Quiesce::App::formatQtMessage;
    QCOMPARE(formatQtMessage(QtWarningMsg, QStringLiteral("one\ntwo\r\nthree")).value_or(QString()),
             QStringLiteral("one two  three"));
    QCOMPARE(formatQtMessage(QtCriticalMsg, QStringLiteral("bad")).value_or(QString()), QStringLiteral("bad"));
    QCOMPARE(formatQtMessage(QtFatalMsg, QStringLiteral("end\n")).value_or(QString()), QStringLiteral("end "));
    QVERIFY(formatQtMessage(QtWarningMsg, QString()).has_value()); // an empty warning is still a line
    qunsetenv("QT_LOGGING_RULES");
    QVERIFY(!formatQtMessage(QtDebugMsg, QStringLiteral("chatter")).has_value());
    QVERIFY(!formatQtMessage(QtInfoMsg, QStringLiteral("chatter")).has_value());
    qputenv("QT_LOGGING_RULES", "*.debug=true");
    QCOMPARE(formatQtMessage(QtDebugMsg, QStringLiteral("asked for")).value_or(QString()), QStringLiteral("asked for"));
    qunsetenv("QT_LOGGING_RULES");
}

void tst_HostileOutput::lineClassification()
{
    using Quiesce::App::LineKind;
    using Quiesce::App::lineKind;
    QCOMPARE(lineKind(QStringLiteral("accepted id=7")), LineKind::Accepted);
    QCOMPARE(lineKind(QStringLiteral("done id=7")), LineKind::Done);
    QCOMPARE(lineKind(QStringLiteral("shed id=7")), LineKind::Shed);
    QCOMPARE(lineKind(QStringLiteral("READY pid=1")), LineKind::Lifecycle);
    QCOMPARE(lineKind(QStringLiteral("SHUTDOWN done exit=0")), LineKind::Lifecycle);
    QCOMPARE(lineKind(QStringLiteral("STATE write failed, retrying: disk full")), LineKind::Lifecycle);
    QCOMPARE(lineKind(QStringLiteral("accepted")), LineKind::Lifecycle); // only the exact request prefixes drop
}

QTEST_GUILESS_MAIN(tst_HostileOutput)
#include "tst_hostile_output.moc"
