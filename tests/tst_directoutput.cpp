#include <Quiesce/directoutput.h>

#include <QtCore/QByteArray>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <csignal>

#include <fcntl.h>
#include <unistd.h>

class tst_DirectOutput : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void writesALineLongerThanThePipe();
    void givesUpOnAFullPipeAtTheDeadline_data();
    void givesUpOnAFullPipeAtTheDeadline();
    void reportsAClosedReader();
    void oneLineFoldsLineBreaks();
};

namespace {

struct Pipe
{
    int fds[2] = {-1, -1};
    explicit Pipe(int flags = O_CLOEXEC) { (void)::pipe2(fds, flags); }
    ~Pipe()
    {
        for (int fd : fds) {
            if (fd >= 0)
                ::close(fd);
        }
    }
    bool valid() const { return fds[0] >= 0 && fds[1] >= 0; }
    void closeReader()
    {
        ::close(fds[0]);
        fds[0] = -1;
    }
};

// Fills the pipe until it takes nothing more (its writer end must be non-blocking for this).
void fill(int fd)
{
    const QByteArray chunk(4096, 'x');
    while (::write(fd, chunk.constData(), size_t(chunk.size())) > 0) {}
}

} // namespace

void tst_DirectOutput::initTestCase()
{
    ::signal(SIGPIPE, SIG_IGN); // a closed reader must be an error we see (EPIPE), not our death
}

void tst_DirectOutput::writesALineLongerThanThePipe()
{
    // A blocking pipe and a reader that takes its time: partial writes are continued until all is written.
    Pipe pipe;
    QVERIFY(pipe.valid());
    QByteArray line(512 * 1024, 'a');
    line.append('\n');
    QByteArray read;
    QThread *reader = QThread::create([&] {
        char buffer[8192];
        for (;;) {
            const ssize_t n = ::read(pipe.fds[0], buffer, sizeof buffer);
            if (n <= 0)
                break;
            read.append(buffer, n);
        }
    });
    reader->start();
    QVERIFY(Quiesce::writeLineDirect(pipe.fds[1], line, QDeadlineTimer(QDeadlineTimer::Forever)));
    ::close(pipe.fds[1]);
    pipe.fds[1] = -1;
    QVERIFY(reader->wait());
    delete reader;
    QCOMPARE(read, line);
}

void tst_DirectOutput::givesUpOnAFullPipeAtTheDeadline_data()
{
    QTest::addColumn<bool>("blockingWriter");
    // A blocking descriptor (an inherited stdout) is the case that must never hold the caller past the deadline.
    QTest::newRow("blocking") << true;
    QTest::newRow("non-blocking") << false;
}

void tst_DirectOutput::givesUpOnAFullPipeAtTheDeadline()
{
    QFETCH(bool, blockingWriter);
    Pipe pipe(O_CLOEXEC | O_NONBLOCK);
    QVERIFY(pipe.valid());
    fill(pipe.fds[1]);
    if (blockingWriter)
        QCOMPARE(::fcntl(pipe.fds[1], F_SETFL, ::fcntl(pipe.fds[1], F_GETFL) & ~O_NONBLOCK), 0);
    // Nobody reads: the call returns (false) instead of waiting for a reader forever.
    QVERIFY(!Quiesce::writeLineDirect(pipe.fds[1], "SHUTDOWN stuck\n", QDeadlineTimer(50)));
    QVERIFY(!Quiesce::writeLineDirect(pipe.fds[1], "SHUTDOWN stuck\n", QDeadlineTimer(0)));
}

void tst_DirectOutput::reportsAClosedReader()
{
    Pipe pipe;
    QVERIFY(pipe.valid());
    pipe.closeReader();
    QVERIFY(!Quiesce::writeLineDirect(pipe.fds[1], "lost\n", QDeadlineTimer(1000)));
    QVERIFY(!Quiesce::writeLineDirect(pipe.fds[1], "lost\n", QDeadlineTimer(QDeadlineTimer::Forever)));
    QVERIFY(!Quiesce::writeLineDirect(-1, "nowhere\n", QDeadlineTimer(0)));
}

void tst_DirectOutput::oneLineFoldsLineBreaks()
{
    QCOMPARE(Quiesce::oneLine(QStringLiteral("a\nb\r\nc")), QStringLiteral("a b  c"));
    QCOMPARE(Quiesce::oneLine(QStringLiteral("plain")), QStringLiteral("plain"));
}

QTEST_GUILESS_MAIN(tst_DirectOutput)
#include "tst_directoutput.moc"
