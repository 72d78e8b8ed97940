// End-to-end: the real `quiesce` WITH its window (no --headless), offscreen and, where Xvfb is installed, on a real
// X server where the window is closed through the window system.
#include "quiesceprocess.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QtEndian>
#include <QtTest/QTest>

#include <csignal>

#include <unistd.h>

using namespace std::chrono_literals;

class tst_GuiE2e : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void signalGivesTheSameLinesAsHeadless_data();
    void signalGivesTheSameLinesAsHeadless();
    void screenshotWritesAPng();
    void windowSystemClose_data();
    void windowSystemClose();
    void ctrlQThroughTheWindowSystem();
    void secondWindowRaisesTheFirst();
    void windowLoadsLessAndKeepsItsSocketPrivate();
    void windowLoadsNoImagePlugin();
    void watchdogLeavesARecord();

private:
    QStringList baseArgs();
    void isolate(QuiesceProcess &q);
    QStringList shutdownLines(QuiesceProcess &q, int signo, bool headless);
    bool startXvfb(QString *why);

    QTemporaryDir m_dir;
    int m_runs = 0;
    QProcess m_xvfb;
    QString m_display;
};

void tst_GuiE2e::initTestCase()
{
    QVERIFY2(!QuiesceProcess::binary().isEmpty(), "QUIESCE_BINARY is not set (run through ctest)");
    QVERIFY(m_dir.isValid());
}

void tst_GuiE2e::cleanupTestCase()
{
    if (m_xvfb.state() != QProcess::NotRunning) {
        m_xvfb.terminate();
        if (!m_xvfb.waitForFinished(10000))
            m_xvfb.kill();
    }
}

QStringList tst_GuiE2e::baseArgs()
{
    return {QStringLiteral("--state"),   m_dir.filePath(QStringLiteral("state-%1.sqlite").arg(++m_runs)),
            QStringLiteral("--rate"),    QStringLiteral("0"),
            QStringLiteral("--workers"), QStringLiteral("2")};
}

void tst_GuiE2e::isolate(QuiesceProcess &q)
{
    // The window's settings go to a throwaway place, never the user's.
    q.setEnvironmentValue(QStringLiteral("XDG_CONFIG_HOME"), m_dir.filePath(QStringLiteral("config-%1").arg(m_runs)));
}

// Runs one process to READY, sends \a signo, and returns its SHUTDOWN lines with the timings blanked out.
QStringList tst_GuiE2e::shutdownLines(QuiesceProcess &q, int signo, bool headless)
{
    QStringList result;
    if (!q.start()) {
        qWarning("cannot start: %s", q.describe().constData());
        return result;
    }
    const QString ready = q.waitForLine(QStringLiteral("READY pid="));
    if (ready != QStringLiteral("READY pid=%1").arg(q.pid()) || !q.sendSignal(signo) || !q.waitForExit()) {
        qWarning("no orderly run: %s", q.describe().constData());
        return result;
    }
    if (!q.exitedNormally() || q.exitCode() != 0) {
        qWarning("bad exit: %s", q.describe().constData());
        return result;
    }
    // The window really was there: nothing fell back to headless.
    if (!headless && q.stderrText().contains(QStringLiteral("headless"))) {
        qWarning("the windowed run went headless: %s", q.describe().constData());
        return result;
    }
    static const QRegularExpression timing(QStringLiteral("\\bms=\\d+"));
    const QStringList lines = q.lines();
    for (QString line : lines) {
        if (line.startsWith(QStringLiteral("SHUTDOWN ")))
            result << line.replace(timing, QStringLiteral("ms=*"));
    }
    return result;
}

void tst_GuiE2e::signalGivesTheSameLinesAsHeadless_data()
{
    QTest::addColumn<int>("signo");
    QTest::addColumn<QString>("reason");
    QTest::newRow("SIGTERM") << SIGTERM << QStringLiteral("sigterm");
    QTest::newRow("SIGINT") << SIGINT << QStringLiteral("sigint");
}

void tst_GuiE2e::signalGivesTheSameLinesAsHeadless()
{
    QFETCH(int, signo);
    QFETCH(QString, reason);

    QuiesceProcess windowed(baseArgs());
    isolate(windowed);
    const QStringList windowLines = shutdownLines(windowed, signo, false);
    QVERIFY2(!windowLines.isEmpty(), windowed.describe());

    QuiesceProcess headless(QStringList {QStringLiteral("--headless")} + baseArgs());
    isolate(headless);
    const QStringList headlessLines = shutdownLines(headless, signo, true);
    QVERIFY2(!headlessLines.isEmpty(), headless.describe());

    QCOMPARE(windowLines, headlessLines);
    QCOMPARE(windowLines.constFirst(),
             QStringLiteral("SHUTDOWN begin reason=%1 sender=%2 mode=graceful").arg(reason).arg(::getpid()));
    QCOMPARE(windowLines.constLast(), QStringLiteral("SHUTDOWN done exit=0"));
    // Every phase, in order.
    int previous = -1;
    for (const char *phase : {"stop-intake", "drain", "cancel", "save", "stop-threads"}) {
        const int at = windowed.indexOf(QStringLiteral("SHUTDOWN phase=%1 begin").arg(QLatin1StringView(phase)));
        QVERIFY2(at > previous, windowed.describe());
        previous = at;
    }
    QCOMPARE(windowed.count(QStringLiteral("SHUTDOWN done")), 1);
}

void tst_GuiE2e::screenshotWritesAPng()
{
    const QString path = m_dir.filePath(QStringLiteral("screenshot.png"));
    QStringList args = baseArgs();
    args << QStringLiteral("--rate") << QStringLiteral("20") << QStringLiteral("--work-ms") << QStringLiteral("100-400")
         << QStringLiteral("--burst") << QStringLiteral("10") << QStringLiteral("--screenshot") << path;
    QuiesceProcess q(args);
    isolate(q);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    const QString line = q.waitForLine(QStringLiteral("SCREENSHOT "), 40s);
    QCOMPARE(line, QStringLiteral("SCREENSHOT %1").arg(path));
    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN begin reason=quit")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally() && q.exitCode() == 0, q.describe());

    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray png = file.readAll();
    // The PNG signature, then the IHDR chunk with the size: a real picture of a real window.
    QVERIFY(png.size() > 10000);
    QVERIFY(png.startsWith(QByteArray("\x89PNG\r\n\x1a\n", 8)));
    QCOMPARE(png.mid(12, 4), QByteArray("IHDR"));
    const quint32 width = qFromBigEndian<quint32>(png.constData() + 16);
    const quint32 height = qFromBigEndian<quint32>(png.constData() + 20);
    QVERIFY2(width >= 400 && height >= 300, qPrintable(QStringLiteral("%1x%2").arg(width).arg(height)));
}

bool tst_GuiE2e::startXvfb(QString *why)
{
    if (!m_display.isEmpty())
        return true;
    const QString xvfb = QStandardPaths::findExecutable(QStringLiteral("Xvfb"));
    if (xvfb.isEmpty() || QStandardPaths::findExecutable(QStringLiteral("xvfb-run")).isEmpty()) {
        *why = QStringLiteral("Xvfb is not installed (Debian package xvfb)");
        return false;
    }
    // -displayfd: the server picks a free display and writes its number once it accepts connections.
    m_xvfb.setProgram(xvfb);
    m_xvfb.setArguments({QStringLiteral("-displayfd"), QStringLiteral("1"), QStringLiteral("-screen"),
                         QStringLiteral("0"), QStringLiteral("1280x800x24"), QStringLiteral("-nolisten"),
                         QStringLiteral("tcp")});
    m_xvfb.start();
    if (!m_xvfb.waitForStarted(10000)) {
        *why = QStringLiteral("Xvfb does not start: %1").arg(m_xvfb.errorString());
        return false;
    }
    QByteArray out;
    while (!out.contains('\n') && m_xvfb.waitForReadyRead(20000))
        out += m_xvfb.readAllStandardOutput();
    bool ok = false;
    const int number = out.trimmed().toInt(&ok);
    if (!ok) {
        *why = QStringLiteral("Xvfb gave no display number: %1")
                   .arg(QString::fromLocal8Bit(m_xvfb.readAllStandardError()));
        return false;
    }
    m_display = QStringLiteral(":%1").arg(number);
    return true;
}

void tst_GuiE2e::windowSystemClose_data()
{
    QTest::addColumn<int>("closes");
    QTest::addColumn<QStringList>("extraArgs");
    QTest::addColumn<QString>("waitFor");
    QTest::newRow("close once") << 1 << QStringList() << QString();
    // Two requests in flight: the second close lands while the first one drains, and it only shows the dialog
    // (a double click on the title bar's X must not cancel work), so the drain runs to the end.
    QTest::newRow("close twice never escalates")
        << 2
        << QStringList {QStringLiteral("--burst"), QStringLiteral("2"), QStringLiteral("--work-ms"),
                        QStringLiteral("3000"), QStringLiteral("--log-requests")}
        << QStringLiteral("accepted id=2");
}

void tst_GuiE2e::windowSystemClose()
{
    QFETCH(int, closes);
    QFETCH(QStringList, extraArgs);
    QFETCH(QString, waitFor);
    const QString xclose = qEnvironmentVariable("QUIESCE_XCLOSE");
    if (xclose.isEmpty())
        QSKIP("quiesce_xclose was not built (libxcb development files missing)");
    QString why;
    if (!startXvfb(&why))
        QSKIP(qPrintable(why));

    QuiesceProcess q(baseArgs() + extraArgs);
    isolate(q);
    q.setEnvironmentValue(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("xcb"));
    q.setEnvironmentValue(QStringLiteral("DISPLAY"), m_display);
    q.setEnvironmentValue(QStringLiteral("WAYLAND_DISPLAY"), QString());
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    if (!waitFor.isEmpty())
        QVERIFY2(!q.waitForLine(waitFor).isEmpty(), q.describe());

    // What a window manager sends for the title bar's X or Alt+F4.
    QProcess close;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("DISPLAY"), m_display);
    close.setProcessEnvironment(env);
    close.start(xclose, {QString::number(q.pid()), QStringLiteral("Quiesce"), QString::number(closes)});
    QVERIFY(close.waitForFinished(30000));
    QVERIFY2(close.exitStatus() == QProcess::NormalExit && close.exitCode() == 0,
             close.readAllStandardError().constData());

    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN begin reason=window sender=0")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN done exit=0")), 1);
    QCOMPARE(q.count(QStringLiteral("SHUTDOWN escalate")), 0);
    if (closes > 1) // both requests in flight finished: nothing was cancelled
        QCOMPARE(q.count(QStringLiteral("done id=")), 2);
}

void tst_GuiE2e::ctrlQThroughTheWindowSystem()
{
    const QString xdotool = QStandardPaths::findExecutable(QStringLiteral("xdotool"));
    if (xdotool.isEmpty())
        QSKIP("xdotool is not installed (Debian package xdotool)");
    QString why;
    if (!startXvfb(&why))
        QSKIP(qPrintable(why));

    QuiesceProcess q(baseArgs());
    isolate(q);
    q.setEnvironmentValue(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("xcb"));
    q.setEnvironmentValue(QStringLiteral("DISPLAY"), m_display);
    q.setEnvironmentValue(QStringLiteral("WAYLAND_DISPLAY"), QString());
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());

    // Focus the window, then real key events through the X server (XTEST, as from a keyboard) to it. Two calls:
    // chained after a search, xdotool would send the keys to the found window as synthetic events instead.
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("DISPLAY"), m_display);
    auto run = [&env, &xdotool](const QStringList &arguments) {
        QProcess tool;
        tool.setProcessEnvironment(env);
        tool.start(xdotool, arguments);
        if (!tool.waitForFinished(30000))
            tool.kill();
        tool.waitForFinished(1000);
        return tool.exitStatus() == QProcess::NormalExit && tool.exitCode() == 0
            ? QByteArray()
            : QByteArray("xdotool " + arguments.join(QLatin1Char(' ')).toUtf8()
                         + " failed: " + tool.readAllStandardError());
    };
    const QByteArray focusError =
        run({QStringLiteral("search"), QStringLiteral("--sync"), QStringLiteral("--onlyvisible"),
             QStringLiteral("--pid"), QString::number(q.pid()), QStringLiteral("--name"), QStringLiteral("^Quiesce$"),
             QStringLiteral("windowfocus"), QStringLiteral("--sync"), QStringLiteral("%1")});
    QVERIFY2(focusError.isEmpty(), focusError.constData());
    const QByteArray keyError = run({QStringLiteral("key"), QStringLiteral("ctrl+q")});
    QVERIFY2(keyError.isEmpty(), keyError.constData());

    QVERIFY2(!q.waitForLine(QStringLiteral("SHUTDOWN begin reason=quit sender=0")).isEmpty(), q.describe());
    QVERIFY2(q.waitForExit(), q.describe());
    QVERIFY2(q.exitedNormally(), q.describe());
    QCOMPARE(q.exitCode(), 0);
}

void tst_GuiE2e::secondWindowRaisesTheFirst()
{
    // Two launches from the desktop on one state: the second raises the first and exits 0, instead of failing.
    const QStringList args = baseArgs();
    const QString runtime = m_dir.filePath(QStringLiteral("runtime-%1").arg(m_runs));
    QVERIFY(QDir().mkpath(runtime));
    QVERIFY(QFile::setPermissions(runtime, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
    auto prepare = [&](QuiesceProcess &q) {
        isolate(q);
        q.setEnvironmentValue(QStringLiteral("XDG_RUNTIME_DIR"), runtime);
    };
    QuiesceProcess first(args);
    prepare(first);
    QVERIFY(first.start());
    QVERIFY2(!first.waitForLine(QStringLiteral("READY")).isEmpty(), first.describe());

    QuiesceProcess second(args);
    prepare(second);
    second.setEnvironmentValue(QStringLiteral("XDG_ACTIVATION_TOKEN"), QStringLiteral("token-42"));
    QVERIFY(second.start());
    QVERIFY2(second.waitForExit(), second.describe());
    QVERIFY2(second.exitedNormally(), second.describe());
    QCOMPARE(second.exitCode(), 0);
    QVERIFY2(!second.waitForLine(QStringLiteral("ACTIVATE raised the running window")).isEmpty(), second.describe());
    QCOMPARE(second.count(QStringLiteral("READY")), 0);

    // Headless on either side stays 73 with one line.
    QuiesceProcess headless(args + QStringList {QStringLiteral("--headless")});
    prepare(headless);
    QVERIFY(headless.start());
    QVERIFY2(headless.waitForExit(), headless.describe());
    QCOMPARE(headless.exitCode(), 73);
    QCOMPARE(headless.stderrText().trimmed().count(QLatin1Char('\n')), 0);

    QVERIFY(first.sendSignal(SIGTERM));
    QVERIFY2(first.waitForExit(), first.describe());
    QCOMPARE(first.exitCode(), 0);
}

// The window's start-up: no Qt Network (the single-instance socket is a plain AF_UNIX socket), the start-up helper
// threads joined before READY, and the socket only its user may use, gone again at exit with nothing left next to it.
void tst_GuiE2e::windowLoadsLessAndKeepsItsSocketPrivate()
{
    const QString runtime = m_dir.filePath(QStringLiteral("runtime-private-%1").arg(++m_runs));
    QVERIFY(QDir().mkpath(runtime));
    QVERIFY(QFile::setPermissions(runtime, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
    QuiesceProcess q(baseArgs());
    isolate(q);
    q.setEnvironmentValue(QStringLiteral("XDG_RUNTIME_DIR"), runtime);
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());

    QFile maps(QStringLiteral("/proc/%1/maps").arg(q.pid()));
    QVERIFY(maps.open(QIODevice::ReadOnly));
    const QByteArray mapped = maps.readAll();
    QVERIFY(mapped.contains("libQt6Widgets"));
    QVERIFY2(!mapped.contains("libQt6Network"), mapped.constData());
    QStringList threads;
    const QStringList tasks =
        QDir(QStringLiteral("/proc/%1/task").arg(q.pid())).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &task : tasks) {
        QFile comm(QStringLiteral("/proc/%1/task/%2/comm").arg(q.pid()).arg(task));
        if (comm.open(QIODevice::ReadOnly))
            threads << QString::fromLocal8Bit(comm.readAll().trimmed());
    }
    QVERIFY2(threads.contains(QStringLiteral("quiesce-store")), qPrintable(threads.join(QLatin1Char(' '))));
    QVERIFY2(!threads.contains(QStringLiteral("quiesce-fonts")), qPrintable(threads.join(QLatin1Char(' '))));
    QVERIFY2(!threads.contains(QStringLiteral("quiesce-images")), qPrintable(threads.join(QLatin1Char(' '))));

    const QFileInfoList entries =
        QDir(runtime).entryInfoList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
    QCOMPARE(entries.size(), 1); // the socket, and no directory it was made in
    QVERIFY2(entries.constFirst().fileName().endsWith(QLatin1String(".socket")),
             qPrintable(entries.constFirst().fileName()));
    QCOMPARE(
        entries.constFirst().permissions()
            & (QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ReadOther | QFileDevice::WriteOther),
        QFileDevice::Permissions());

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QCOMPARE(q.exitCode(), 0);
    QVERIFY(QDir(runtime).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot));
}

// Under Fusion without an icon theme (as here: offscreen) the window's images are Qt's built-in PNG reader's: the
// window icon, the tool bar's and menu bar's extension icon and the group box frame. No image format or icon engine
// plugin is loaded and so no libQt6Svg, neither while the window is built nor when it has painted.
void tst_GuiE2e::windowLoadsNoImagePlugin()
{
    QuiesceProcess q(baseArgs());
    isolate(q);
    q.setEnvironmentValue(QStringLiteral("QT_STYLE_OVERRIDE"), QStringLiteral("fusion"));
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    // Two passes of the event loop after the window was shown: its first frame is painted by then.
    for (int pass = 0; pass < 2; ++pass) {
        QVERIFY(q.sendSignal(SIGUSR1));
        QVERIFY2(!q.waitForLine(QStringLiteral("STATUS ")).isEmpty(), q.describe()); // each call finds a new one
    }

    QFile maps(QStringLiteral("/proc/%1/maps").arg(q.pid()));
    QVERIFY(maps.open(QIODevice::ReadOnly));
    const QByteArray mapped = maps.readAll();
    QVERIFY(mapped.contains("libQt6Widgets"));
    QVERIFY2(!mapped.contains("libQt6Svg"), mapped.constData());
    QVERIFY2(!mapped.contains("/imageformats/"), mapped.constData());
    QVERIFY2(!mapped.contains("/iconengines/"), mapped.constData());

    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(), q.describe());
    QCOMPARE(q.exitCode(), 0);
}

void tst_GuiE2e::watchdogLeavesARecord()
{
    // A request that never stops: the watchdog ends the shutdown (70) and leaves "<state>.watchdog" naming it.
    const QString state = m_dir.filePath(QStringLiteral("watchdog-%1.sqlite").arg(++m_runs));
    const QString record = state + QStringLiteral(".watchdog");
    QuiesceProcess q({QStringLiteral("--headless"), QStringLiteral("--state"), state, QStringLiteral("--rate"),
                      QStringLiteral("0"), QStringLiteral("--burst"), QStringLiteral("1"), QStringLiteral("--workers"),
                      QStringLiteral("1"), QStringLiteral("--simulate-hang"), QStringLiteral("1"),
                      QStringLiteral("--drain-timeout"), QStringLiteral("200"), QStringLiteral("--hard-timeout"),
                      QStringLiteral("3000")});
    QVERIFY(q.start());
    QVERIFY2(!q.waitForLine(QStringLiteral("READY")).isEmpty(), q.describe());
    QVERIFY2(q.waitUntilBusy(1), q.describe());
    const qint64 pid = q.pid();
    QVERIFY(q.sendSignal(SIGTERM));
    QVERIFY2(q.waitForExit(std::chrono::seconds(30)), q.describe());
    QCOMPARE(q.exitCode(), 70);
    QFile file(record);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(record));
    const QByteArray line = file.readAll();
    QVERIFY2(line.contains("request=1 worker=quiesce-worker-0"), line.constData());
    QVERIFY2(line.startsWith(QByteArray("pid=" + QByteArray::number(pid) + ' ')), line.constData());
    file.close();

    // The next start takes it (the window shows it; tst_mainwindow checks the words) and leaves no file behind.
    QuiesceProcess next({QStringLiteral("--headless"), QStringLiteral("--state"), state, QStringLiteral("--rate"),
                         QStringLiteral("0"), QStringLiteral("--work-ms"), QStringLiteral("1"),
                         QStringLiteral("--exit-when-idle")});
    QVERIFY(next.start());
    QVERIFY2(next.waitForExit(), next.describe());
    QCOMPARE(next.exitCode(), 0);
    QVERIFY(!QFile::exists(record));
}

QTEST_GUILESS_MAIN(tst_GuiE2e)
#include "tst_gui_e2e.moc"
