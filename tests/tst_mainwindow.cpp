// The window in-process: a real Engine (state file in a QTemporaryDir, exit function recorded instead of exiting)
// and the MainWindow on top of it, under the offscreen platform.
#include "engine.h"
#include "mainwindow.h"
#include "messagebar.h"
#include "pluginfreeicons.h"
#include "proctree.h"
#include "shutdowndialog.h"
#include "simulatedjob.h"
#include "singleinstance.h"
#include "themecolors.h"
#include "throughputplot.h"
#include "translations.h"
#include "watchdogrecord.h"
#include "workertablemodel.h"
#include <Quiesce/statestore.h>
#include <Quiesce/unixsignalnotifier.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>
#include <QtCore/QScopeGuard>
#include <QtCore/QSet>
#include <QtCore/QSettings>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QXmlStreamReader>
#include <QtGui/QAccessible>
#include <QtGui/QAction>
#include <QtGui/QImage>
#include <QtGui/QPainter>
#include <QtGui/QPixmapCache>
#include <QtGui/QScreen>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QAbstractButton>
#include <QtWidgets/QApplication>
#include <QtWidgets/QDoubleSpinBox>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QProgressBar>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QStyle>
#include <QtWidgets/QStyleFactory>
#include <QtWidgets/QStyleOption>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolButton>

#include <csignal>
#include <future>
#include <memory>

#include <unistd.h>

using namespace Quiesce;
using namespace Quiesce::App;
using namespace std::chrono_literals;

class tst_MainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    // The parts on their own.
    void niceCeiling_data();
    void niceCeiling();
    void plotKeepsTheLastMinute();
    void workerModel();
    void workerModelShowsProcesses();
    void applicationIconIsTheSvgRendered_data();
    void applicationIconIsTheSvgRendered();
    void extensionIconIsFusions();
    void groupBoxFrameIsFoundInQtsCache();
    void styleImagesAreQtsOwn();
    void dialogHidesButShutdownGoesOn();
    void describeWork_data();
    void describeWork();
    void dialogSpeaksPlainWords();

    // The window on a running engine.
    void showsWorkersAndCounters();
    void shutdownDialogIsBuiltAfterTheFirstFrame();
    void controlsDriveTheEngine();
    void closeStartsQuitPathAndStopNowEscalates();
    void repeatedClosesNeverEscalate();
    void exitImmediatelyIsApartAndConfirmed();
    void hangIsCalledHungAndNamed();
    void overrunTextIsNeverCut();
    void signalShowsTheSameDialog();
    void askBeforeQuitOnlyForAPerson();
    void logoutNeverAsksNorVetoes();
    void settingsPersist();
    void commandLineValuesAreForThisRunOnly();
    void reloadKeepsTheWindowsValues();
    void keyboardReachesEveryControl();
    void everyControlHasAnAccessibleName();
    void countersFitSixDigits();
    void headerTitlesFitWhenBold();
    void shortcutsAreStandardAndShown();
    void contrastFormula();
    void coloursReadableInLightAndDark_data();
    void coloursReadableInLightAndDark();
    void toolIconsDrawnWhenAskedLookAsBefore();
    void plotAxes();
    void statesAreVisible();
    void helpMenuAndTitle();
    void defaultSizeFitsTheScreen();
    void germanTranslationIsComplete_data();
    void germanTranslationIsComplete();
    void windowSpeaksGerman();
    void recoveryBarAfterAnUncleanStop();
    void recoveryBarFromTheJournalRecord();
    void singleInstanceSocket();
    void grabIsNotBlank();
    void screenshotOption();
    void closingWithProcessWorkersLeavesNoProcess();

private:
    Options options(double rate, int workMinMs, int workMaxMs, int workers);
    bool launch(const Options &options);
    bool createWindow(const Options &options);
    void shutDown();
    ShutdownDialog *dialog() const { return m_window->shutdownDialog(); }
    void closeWithAHungRequest(int burst, Quiesce::WorkerSnapshot *hung);
    QLabel *counter(const char *name) const;
    qint64 counterValue(const char *name) const;

    QTemporaryDir m_dir;
    UnixSignalNotifier m_signals;
    int m_runs = 0;
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<MainWindow> m_window;
    int m_exitCode = -1;
    int m_immediateCode = -1;
    QStringList m_lines; //!< the engine's lines, shown when a test failed
};

void tst_MainWindow::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // Nothing of the user's: the settings go to the temporary directory.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("Quiesce"));
    QCoreApplication::setApplicationName(QStringLiteral("quiesce-test"));
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QVERIFY2(QSettings().fileName().startsWith(m_dir.path()), qPrintable(QSettings().fileName()));
    // The texts the tests compare are English (with its plural forms), whatever the machine's locale.
    QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
    installTranslations(QLocale());
    // The bridge replaces QtTest's crash handler for SIGTERM, as the app's main() does.
    QVERIFY2(m_signals.watch(SIGTERM), qPrintable(m_signals.errorString()));
}

void tst_MainWindow::init()
{
    QSettings settings;
    settings.clear();
    settings.sync();
    QCOMPARE(settings.status(), QSettings::NoError);
    m_exitCode = -1;
    m_immediateCode = -1;
}

void tst_MainWindow::cleanup()
{
    shutDown();
    if (QTest::currentTestFailed()) {
        for (const QString &line : std::as_const(m_lines))
            qInfo("engine: %s", qPrintable(line));
    }
    m_lines.clear();
}

Options tst_MainWindow::options(double rate, int workMinMs, int workMaxMs, int workers)
{
    Options o;
    o.statePath = m_dir.filePath(QStringLiteral("state-%1.sqlite").arg(++m_runs));
    o.seed = 7;
    o.tunables.rate = rate;
    o.tunables.workMinMs = workMinMs;
    o.tunables.workMaxMs = workMaxMs;
    o.tunables.workers = workers;
    o.tunables.drainTimeout = 30s;
    o.tunables.hardTimeout = 90s;
    return o;
}

bool tst_MainWindow::launch(const Options &options)
{
    if (!createWindow(options))
        return false;
    m_engine->start();
    m_window->show();
    return QTest::qWaitForWindowExposed(m_window.get());
}

// The engine opened and the window built, not shown yet.
bool tst_MainWindow::createWindow(const Options &options)
{
    m_engine = std::make_unique<Engine>(options);
    m_engine->coordinator()->setExitFunction([this](int code) { m_exitCode = code; });
    m_engine->coordinator()->setImmediateExitFunction([this](int code) { m_immediateCode = code; });
    m_engine->attachSignals(&m_signals);
    connect(m_engine.get(), &Engine::line, this, [this](const QString &line) { m_lines << line; });
    QString error;
    int code = 0;
    if (!m_engine->open(&error, &code)) {
        qWarning("cannot open the state: %s", qPrintable(error));
        return false;
    }
    m_window = std::make_unique<MainWindow>(m_engine.get(), options);
    return true;
}

void tst_MainWindow::shutDown()
{
    if (m_engine && !m_engine->coordinator()->isFinished()) {
        ShutdownCoordinator *coordinator = m_engine->coordinator();
        SimulatedJob::releaseHangsForTesting();
        // Up to FAST (no need to wait for the work in flight), never IMMEDIATE.
        if (!coordinator->isShuttingDown())
            m_engine->requestShutdown(QStringLiteral("api"));
        if (coordinator->mode() == ShutdownMode::Graceful)
            m_engine->requestShutdown(QStringLiteral("api"));
        QTRY_VERIFY_WITH_TIMEOUT(coordinator->isFinished(), 30000);
        QCOMPARE(m_immediateCode, -1);
    }
    m_window.reset();
    m_engine.reset();
}

QLabel *tst_MainWindow::counter(const char *name) const
{
    return m_window->findChild<QLabel *>(QString::fromLatin1(name));
}

qint64 tst_MainWindow::counterValue(const char *name) const
{
    const QLabel *label = counter(name);
    return label ? label->text().toLongLong() : -1;
}

void tst_MainWindow::niceCeiling_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<double>("floor");
    QTest::addColumn<double>("expected");
    QTest::newRow("zero takes the floor") << 0.0 << 1.0 << 1.0;
    QTest::newRow("exact 1") << 1.0 << 1.0 << 1.0;
    QTest::newRow("1.2 -> 2") << 1.2 << 1.0 << 2.0;
    QTest::newRow("3 -> 5") << 3.0 << 1.0 << 5.0;
    QTest::newRow("7 -> 10") << 7.0 << 1.0 << 10.0;
    QTest::newRow("12 -> 20") << 12.0 << 1.0 << 20.0;
    QTest::newRow("480 -> 500") << 480.0 << 5.0 << 500.0;
    QTest::newRow("0.3 -> 0.5") << 0.3 << 0.1 << 0.5;
}

void tst_MainWindow::niceCeiling()
{
    QFETCH(double, value);
    QFETCH(double, floor);
    QFETCH(double, expected);
    QCOMPARE(ThroughputPlot::niceCeiling(value, floor), expected);
}

void tst_MainWindow::plotKeepsTheLastMinute()
{
    ThroughputPlot plot;
    QCOMPARE(plot.span(), std::chrono::milliseconds(60000));
    QCOMPARE(plot.visibleSpan(), std::chrono::milliseconds(10000));
    // A young history gets a shorter axis, in steps of 10 s, growing up to the span.
    plot.addSampleAt(0, 1.0, 1);
    plot.addSampleAt(12000, 1.0, 1);
    QCOMPARE(plot.visibleSpan(), std::chrono::milliseconds(20000));
    plot.clear();
    for (qint64 t = 0; t <= 120000; t += 500)
        plot.addSampleAt(t, t < 60000 ? 40.0 : 3.0, t < 60000 ? 900 : 12);
    // 60 s at two samples a second, plus the one just outside that lets the line reach the left edge.
    QCOMPARE(plot.sampleCount(), 122);
    QCOMPARE(plot.visibleSpan(), std::chrono::milliseconds(60000));
    // The old peaks dropped out, so the scales follow the minute shown.
    QCOMPARE(plot.throughputScale(), 5.0);
    QCOMPARE(plot.queueScale(), 20);
    plot.addSampleAt(120500, -1.0, -5); // nonsense is clamped, never drawn below the axis
    QCOMPARE(plot.throughputScale(), 5.0);

    plot.resize(400, 200);
    const QImage image = plot.grab().toImage();
    QVERIFY(!image.isNull());
    plot.clear();
    QCOMPARE(plot.sampleCount(), 0);
}

void tst_MainWindow::workerModel()
{
    WorkerTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

    QList<WorkerSnapshot> workers(3);
    for (int i = 0; i < 3; ++i) {
        workers[i].index = i;
        workers[i].threadName = QStringLiteral("quiesce-worker-%1").arg(i);
    }
    workers[1].busy = true;
    workers[1].jobId = 17;
    workers[1].progressPercent = 40;
    workers[1].elapsedMs = 1234;
    workers[2].busy = true;
    workers[2].hung = true;
    workers[2].jobId = 18;
    model.setSnapshot(workers);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(model.busyCount(), 2);

    auto cell = [&model](int row, int column) { return model.index(row, column).data(); };
    QCOMPARE(cell(0, WorkerTableModel::StateColumn).toString(), QStringLiteral("idle"));
    QVERIFY(!cell(0, WorkerTableModel::ProgressColumn).isValid()); // an idle worker draws no bar
    QVERIFY(!cell(0, WorkerTableModel::RequestColumn).isValid());
    QCOMPARE(cell(1, WorkerTableModel::StateColumn).toString(), QStringLiteral("busy"));
    QCOMPARE(cell(1, WorkerTableModel::RequestColumn).toULongLong(), 17u);
    QCOMPARE(cell(1, WorkerTableModel::ProgressColumn).toInt(), 40);
    QCOMPARE(cell(1, WorkerTableModel::ElapsedColumn).toString(), QStringLiteral("1.2 s"));
    QCOMPARE(cell(2, WorkerTableModel::StateColumn).toString(), QStringLiteral("hung"));
    QVERIFY(!model.index(2, WorkerTableModel::StateColumn).data(Qt::ToolTipRole).toString().isEmpty());

    // The same snapshot again changes nothing; one changed row is one dataChanged.
    changed.clear();
    model.setSnapshot(workers);
    QCOMPARE(changed.count(), 0);
    workers[1].progressPercent = 80;
    model.setSnapshot(workers);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toModelIndex().row(), 1);
    QCOMPARE(changed.at(0).at(1).toModelIndex().row(), 1);

    // Fewer workers: rows removed, not a reset.
    workers.removeLast();
    model.setSnapshot(workers);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(removed.count(), 1);
    QCOMPARE(model.busyCount(), 1);
}

void tst_MainWindow::workerModelShowsProcesses()
{
    // --isolation process: each row also has the worker's pid and restarts, and the states a process has.
    WorkerTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QList<WorkerSnapshot> workers(3);
    for (int i = 0; i < 3; ++i) {
        workers[i].index = i;
        workers[i].threadName = QStringLiteral("quiesce-worker-%1").arg(i);
    }
    workers[0].pid = 4242;
    workers[0].state = QStringLiteral("idle");
    workers[1].state = QStringLiteral("backoff");
    workers[1].restarts = 2;
    workers[2].state = QStringLiteral("disabled");
    workers[2].restarts = 6;
    model.setSnapshot(workers);
    auto cell = [&model](int row, int column) { return model.index(row, column).data(); };
    QCOMPARE(cell(0, WorkerTableModel::PidColumn).toLongLong(), 4242);
    QCOMPARE(cell(0, WorkerTableModel::RestartsColumn).toInt(), 0);
    QCOMPARE(cell(0, WorkerTableModel::StateColumn).toString(), QStringLiteral("idle"));
    QVERIFY(!cell(1, WorkerTableModel::PidColumn).isValid()); // none runs while it waits out its backoff
    QCOMPARE(cell(1, WorkerTableModel::RestartsColumn).toInt(), 2);
    QCOMPARE(cell(1, WorkerTableModel::StateColumn).toString(), QStringLiteral("restarting"));
    QCOMPARE(cell(2, WorkerTableModel::StateColumn).toString(), QStringLiteral("disabled"));
    QVERIFY(!model.index(2, WorkerTableModel::StateColumn).data(Qt::ToolTipRole).toString().isEmpty());
    QCOMPARE(model.headerData(WorkerTableModel::PidColumn, Qt::Horizontal).toString(), QStringLiteral("PID"));

    // A restart is a changed row, even when nothing else changed.
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    workers[0].pid = 4343;
    workers[0].restarts = 1;
    model.setSnapshot(workers);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(cell(0, WorkerTableModel::PidColumn).toLongLong(), 4343);
}

void tst_MainWindow::dialogHidesButShutdownGoesOn()
{
    ShutdownCoordinator coordinator;
    coordinator.addPhase(QStringLiteral("drain"), 1, 5s, [](ShutdownPhaseContext *) {});
    ShutdownDialog dialog(&coordinator);
    ShutdownRequest request;
    request.reason = QStringLiteral("window");
    dialog.begin(request);
    QVERIFY(dialog.isVisible());
    QVERIFY(!dialog.isModal());
    QCOMPARE(dialog.reason(), QStringLiteral("window"));
    QVERIFY(dialog.drainDeadline().isForever()); // the drain has not started
    auto *button = dialog.findChild<QPushButton *>(QStringLiteral("stopNowButton"));
    QVERIFY(button);
    // A stray Space must not escalate: the focus is never on Stop now when the dialog appears.
    QVERIFY(QApplication::focusWidget() != button);
    QVERIFY(!button->hasFocus());
    QVERIFY(!button->isDefault() && !button->autoDefault());

    QSignalSpy stopNow(&dialog, &ShutdownDialog::stopNowRequested);
    QTest::keyClick(&dialog, Qt::Key_Space);
    QTest::keyClick(&dialog, Qt::Key_Return); // Enter must not escalate by accident
    QCOMPARE(stopNow.count(), 0);

    // Escape and the close button hide it; the shutdown it shows is not touched; showAgain() brings it back.
    dialog.showAgain();
    QVERIFY(dialog.isVisible());
    QTest::keyClick(&dialog, Qt::Key_Escape);
    QVERIFY(!dialog.isVisible());
    dialog.showAgain();
    QVERIFY(dialog.isVisible());
    QVERIFY(!button->hasFocus());
    dialog.close();
    QVERIFY(!dialog.isVisible());
    dialog.showAgain();
    QVERIFY(!(dialog.windowFlags() & (Qt::WindowMinimizeButtonHint | Qt::WindowMaximizeButtonHint)));

    QTest::mouseClick(button, Qt::LeftButton);
    QCOMPARE(stopNow.count(), 1);
}

void tst_MainWindow::describeWork_data()
{
    QTest::addColumn<int>("inFlight");
    QTest::addColumn<int>("queued");
    QTest::addColumn<QString>("expected");
    QTest::newRow("nothing") << 0 << 0 << QStringLiteral("0 requests in progress, 0 queued");
    QTest::newRow("one") << 1 << 0 << QStringLiteral("1 request in progress, 0 queued");
    QTest::newRow("several") << 3 << 1200 << QStringLiteral("3 requests in progress, 1,200 queued");
}

void tst_MainWindow::describeWork()
{
    QFETCH(int, inFlight);
    QFETCH(int, queued);
    QFETCH(QString, expected);
    QCOMPARE(ShutdownDialog::describeWork(inFlight, queued), expected);
}

void tst_MainWindow::dialogSpeaksPlainWords()
{
    // A coordinator of its own whose steps end when the test says so.
    ShutdownCoordinator coordinator;
    coordinator.setExitFunction([](int) {});
    QList<QPointer<ShutdownPhaseContext>> contexts;
    for (const char *name : {"stop-intake", "drain", "save"}) {
        coordinator.addPhase(QString::fromLatin1(name), int(contexts.size() + 1) * 100, 60s,
                             [&contexts](ShutdownPhaseContext *ctx) { contexts << ctx; });
    }
    ShutdownDialog dialog(&coordinator);
    auto label = [&dialog](const char *name) {
        auto *l = dialog.findChild<QLabel *>(QString::fromLatin1(name));
        return l && l->isVisible() ? l->text() : QString();
    };
    QSignalSpy started(&coordinator, &ShutdownCoordinator::shutdownStarted);
    connect(&coordinator, &ShutdownCoordinator::shutdownStarted, &dialog, &ShutdownDialog::begin);
    coordinator.setReady();
    ShutdownRequest request;
    request.reason = QStringLiteral("window");
    coordinator.requestShutdown(request);
    QCOMPARE(started.count(), 1);
    dialog.setWorkLeft(1, 1000);
    QCOMPARE(label("reasonLabel"), QStringLiteral("Quiesce is shutting down because its window was closed."));
    QCOMPARE(label("workLabel"), QStringLiteral("1 request still in progress."));
    // Queued requests are kept, not worked off: the dialog says so, with the person's number format.
    QCOMPARE(label("keptLabel"), QStringLiteral("1,000 queued requests are saved and run first next time."));
    QCOMPARE(label("modeLabel"), QStringLiteral("Requests in progress may finish. Nothing new is accepted."));
    auto *bar = dialog.findChild<QProgressBar *>(QStringLiteral("progressBar"));
    QVERIFY(bar);
    QCOMPARE(bar->accessibleName(), QStringLiteral("Shutdown progress"));

    QTRY_COMPARE(contexts.size(), 1);
    QCOMPARE(label("phaseLabel"), QStringLiteral("Now: Accepting no new requests."));
    const int before = bar->value();
    contexts.at(0)->complete();
    QTRY_COMPARE(contexts.size(), 2);
    QCOMPARE(label("phaseLabel"), QStringLiteral("Now: Finishing requests in progress."));
    QVERIFY2(bar->value() > before, qPrintable(QString::number(bar->value()))); // it fills, it does not empty
    // One countdown, no wrapping, and no technical phase names anywhere in the dialog's labels.
    QVERIFY2(label("countdownLabel").startsWith(QStringLiteral("Waiting up to ")), qPrintable(label("countdownLabel")));
    QVERIFY(!dialog.findChild<QLabel *>(QStringLiteral("countdownLabel"))->wordWrap());
    QVERIFY(label("endLabel").isEmpty());
    QVERIFY(label("overrunLabel").isEmpty());
    for (const QLabel *l : dialog.findChildren<QLabel *>()) {
        for (const char *technical : {"drain", "stop-intake", "stop-threads", "watchdog", "SIGTERM"})
            QVERIFY2(!l->text().contains(QLatin1StringView(technical)), qPrintable(l->text()));
    }
    auto *list = dialog.findChild<QListWidget *>(QStringLiteral("phaseList"));
    QVERIFY(list);
    QCOMPARE(list->item(0)->text().left(25), QStringLiteral("Accepting no new requests"));
    QVERIFY(list->item(0)->data(Qt::AccessibleTextRole).toString().endsWith(QStringLiteral(": done")));
    QVERIFY(!list->item(0)->icon().isNull());
    // Every step shows: the list is as tall as its rows, whatever the font.
    QTRY_VERIFY(list->visualItemRect(list->item(list->count() - 1)).bottom() < list->viewport()->height());

    const int during = bar->value();
    coordinator.requestShutdown(request); // the escalation, as "Stop now" asks for it
    QCOMPARE(label("modeLabel"),
             QStringLiteral("Stopping now: requests in progress are cancelled, saved and run again first on the next "
                            "start."));
    contexts.at(1)->complete();
    QTRY_COMPARE(contexts.size(), 3);
    QCOMPARE(label("phaseLabel"), QStringLiteral("Now: Saving."));
    QVERIFY(bar->value() >= during);
    contexts.at(2)->complete();
    QTRY_VERIFY(coordinator.isFinished());
    QCOMPARE(label("phaseLabel"), QStringLiteral("Done. Quiesce ends now."));
    QCOMPARE(bar->value(), bar->maximum());
}

// The start path: what the first frame does not show (the shutdown dialog) is built after it, before a stop needs
// it; a stop that comes first builds it then.
void tst_MainWindow::shutdownDialogIsBuiltAfterTheFirstFrame()
{
    QVERIFY(createWindow(options(0, 50, 50, 1)));
    QVERIFY(!m_window->findChild<ShutdownDialog *>());
    m_engine->start();
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QTRY_VERIFY(m_window->findChild<ShutdownDialog *>());
    QCOMPARE(m_window->findChildren<ShutdownDialog *>().size(), 1);
    QVERIFY(!dialog()->isVisible());
    shutDown();

    QVERIFY(createWindow(options(0, 50, 50, 1)));
    m_engine->start();
    QVERIFY(!m_window->findChild<ShutdownDialog *>());
    m_engine->requestShutdown(QStringLiteral("window")); // before any frame: the stop builds it
    QTRY_VERIFY(m_window->findChild<ShutdownDialog *>());
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->coordinator()->isFinished(), 30000);
    QCOMPARE(m_window->findChildren<ShutdownDialog *>().size(), 1);
    shutDown();
}

// The window icon is resources/quiesce.svg rendered by Qt's SVG icon engine (resources/icons/): each PNG must be what
// that engine draws at its size today, so that an edited SVG without new renderings fails here. Sizes in between
// come from the next larger rendering.
void tst_MainWindow::applicationIconIsTheSvgRendered_data()
{
    QTest::addColumn<int>("side");
    for (const int side : {16, 22, 24, 32, 48, 64, 128, 256})
        QTest::addRow("%d", side) << side;
}

void tst_MainWindow::applicationIconIsTheSvgRendered()
{
    QFETCH(int, side);
    const QIcon svg(QStringLiteral(":/icons/quiesce.svg"));
    const QIcon png = PluginFreeIcons::applicationIcon();
    QVERIFY(!png.isNull());
    const QImage expected = svg.pixmap(QSize(side, side)).toImage().convertToFormat(QImage::Format_ARGB32);
    const QImage actual = png.pixmap(QSize(side, side)).toImage().convertToFormat(QImage::Format_ARGB32);
    QCOMPARE(expected.size(), QSize(side, side));
    QCOMPARE(actual, expected);
    // Scalable like the SVG: any size, square in a box that is not.
    QCOMPARE(png.actualSize(QSize(side + 5, side + 9)), QSize(side + 5, side + 5));
    QCOMPARE(png.pixmap(QSize(side + 5, side + 5)).size(), QSize(side + 5, side + 5));
    QVERIFY(!png.pixmap(QSize(side, side), QIcon::Disabled).isNull());
    // On a 2x screen the rendering twice as large, as for the SVG.
    if (side <= 128) {
        const QPixmap hiDpi = png.pixmap(QSize(side / 2, side / 2), 2.0);
        QCOMPARE(hiDpi.size(), QSize(side, side));
        QCOMPARE(hiDpi.devicePixelRatio(), 2.0);
        QCOMPARE(hiDpi.toImage().convertToFormat(QImage::Format_ARGB32),
                 svg.pixmap(QSize(side / 2, side / 2), 2.0).toImage().convertToFormat(QImage::Format_ARGB32));
    }
}

// The proxy's extension ("»") icon is Fusion's, pixel for pixel, in both directions; other icons are Fusion's own.
void tst_MainWindow::extensionIconIsFusions()
{
    const std::unique_ptr<QStyle> fusion(QStyleFactory::create(QStringLiteral("fusion")));
    QVERIFY(fusion);
    ExtensionIconStyle proxy(QStyleFactory::create(QStringLiteral("fusion")));
    for (const Qt::LayoutDirection direction : {Qt::LeftToRight, Qt::RightToLeft}) {
        QStyleOption option;
        option.direction = direction;
        const QIcon expected = fusion->standardIcon(QStyle::SP_ToolBarHorizontalExtensionButton, &option);
        const QIcon actual = proxy.standardIcon(QStyle::SP_ToolBarHorizontalExtensionButton, &option);
        QVERIFY(!actual.isNull());
        QCOMPARE(actual.availableSizes(), expected.availableSizes());
        for (const QSize &size : expected.availableSizes())
            QCOMPARE(actual.pixmap(size).toImage(), expected.pixmap(size).toImage());
        QVERIFY(expected.pixmap(QSize(16, 16)).toImage()
                != fusion->standardIcon(QStyle::SP_ToolBarVerticalExtensionButton).pixmap(QSize(16, 16)).toImage());
    }
    const QIcon vertical = proxy.standardIcon(QStyle::SP_ToolBarVerticalExtensionButton);
    QCOMPARE(vertical.pixmap(QSize(16, 16)).toImage(),
             fusion->standardIcon(QStyle::SP_ToolBarVerticalExtensionButton).pixmap(QSize(16, 16)).toImage());
}

// Fusion frames a group box with an image it loads with QPixmap::load(), which looks in QPixmapCache first: the key
// the window files its own decoding under must be the one Qt uses.
void tst_MainWindow::groupBoxFrameIsFoundInQtsCache()
{
    const QString path = QStringLiteral(":/qt-project.org/styles/commonstyle/images/fusion_groupbox.png");
    QPixmapCache::clear();
    const QPixmap viaQt(path);
    QVERIFY(!viaQt.isNull());
    QPixmap cached;
    QVERIFY(QPixmapCache::find(PluginFreeIcons::pixmapCacheKey(path), &cached));
    QCOMPARE(cached.toImage(), viaQt.toImage());
    QCOMPARE(QPixmap::fromImage(PluginFreeIcons::readPng(path)).toImage(), viaQt.toImage());
    QVERIFY(!QPixmapCache::find(PluginFreeIcons::pixmapCacheKey(path + QStringLiteral("x")), &cached));
}

// The style images compiled into the window (app/qtstyleimages.inc) are Qt's, pixel for pixel, as QPixmap holds them
// after Qt's own PNG reader: a Qt whose images differ fails here (scripts/qt-style-images.cpp writes them again).
void tst_MainWindow::styleImagesAreQtsOwn()
{
    const QStringList paths = PluginFreeIcons::styleImagePaths();
    QCOMPARE(paths.size(), 7);
    for (const QString &path : paths) {
        const QImage decoded = PluginFreeIcons::readPng(path);
        QVERIFY2(!decoded.isNull(), qPrintable(path));
        const QImage compiledIn = PluginFreeIcons::styleImage(path);
        QCOMPARE(compiledIn.size(), decoded.size());
        QCOMPARE(QPixmap::fromImage(compiledIn).toImage(), QPixmap::fromImage(decoded).toImage());
    }
    // Anything else is read from its file.
    const QString other = QStringLiteral(":/icons/quiesce-16.png");
    QCOMPARE(PluginFreeIcons::styleImage(other), PluginFreeIcons::readPng(other));
    QVERIFY(
        PluginFreeIcons::styleImage(QStringLiteral(":/qt-project.org/styles/commonstyle/images/none.png")).isNull());
}

void tst_MainWindow::showsWorkersAndCounters()
{
    QVERIFY(launch(options(25, 50, 250, 3)));
    QCOMPARE(m_window->windowTitle(), QStringLiteral("Quiesce"));
    QVERIFY(!m_window->windowIcon().isNull());
    QVERIFY(!m_window->windowIcon().pixmap(32, 32).isNull()); // the SVG, or its renderings under Fusion
    QVERIFY(!QApplication::windowIcon().isNull());

    WorkerTableModel *model = m_window->workerModel();
    QTRY_COMPARE(model->rowCount(), 3);
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("workerTable"));
    QVERIFY(table);
    // Threads have no pid or restarts of their own: those columns are for --isolation process.
    QVERIFY(table->isColumnHidden(WorkerTableModel::PidColumn));
    QVERIFY(table->isColumnHidden(WorkerTableModel::RestartsColumn));
    QTRY_VERIFY_WITH_TIMEOUT(model->busyCount() > 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(counterValue("doneValue") >= 5, 15000);
    QVERIFY(counterValue("acceptedValue") >= counterValue("doneValue"));
    QTRY_VERIFY_WITH_TIMEOUT(counter("rateValue")->text().toDouble() > 0, 10000);
    QCOMPARE(counter("workersValue")->text().section(QStringLiteral(" of "), 1).trimmed(), QStringLiteral("3"));
    QTRY_VERIFY(m_window->plot()->sampleCount() >= 3);

    auto *log = m_window->findChild<QPlainTextEdit *>(QStringLiteral("logView"));
    QVERIFY(log);
    QTRY_VERIFY2(log->toPlainText().contains(QStringLiteral("READY pid=%1").arg(::getpid())),
                 qPrintable(log->toPlainText()));
}

void tst_MainWindow::controlsDriveTheEngine()
{
    QVERIFY(launch(options(0, 2000, 3000, 2)));
    auto *pause = m_window->findChild<QAction *>(QStringLiteral("pauseAction"));
    auto *burst = m_window->findChild<QAction *>(QStringLiteral("burstAction"));
    auto *burstSpin = m_window->findChild<QSpinBox *>(QStringLiteral("burstSpin"));
    auto *rateSpin = m_window->findChild<QDoubleSpinBox *>(QStringLiteral("rateSpin"));
    auto *workersSpin = m_window->findChild<QSpinBox *>(QStringLiteral("workersSpin"));
    auto *hang = m_window->findChild<QAction *>(QStringLiteral("hangAction"));
    QVERIFY(pause && burst && burstSpin && rateSpin && workersSpin && hang);

    burstSpin->setValue(6);
    burst->trigger();
    QTRY_COMPARE(m_engine->counters().accepted, 6u);
    QTRY_COMPARE(counterValue("acceptedValue"), 6);
    QTRY_COMPARE(counterValue("inFlightValue"), 2);
    QTRY_COMPARE(counterValue("queuedValue"), 4);

    pause->trigger();
    QVERIFY(m_engine->counters().paused);
    pause->trigger();
    QVERIFY(!m_engine->counters().paused);

    rateSpin->setValue(12.5);
    QCOMPARE(m_engine->tunables().rate, 12.5);
    workersSpin->setValue(4);
    QCOMPARE(m_engine->tunables().workers, 4);
    QTRY_COMPARE(m_window->workerModel()->rowCount(), 4);

    hang->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(
        [this] {
            const auto workers = m_window->workerModel()->snapshot();
            return std::any_of(workers.cbegin(), workers.cend(), [](const WorkerSnapshot &w) { return w.hung; });
        }(),
        15000);
    // Changes made elsewhere (SIGHUP reload, SIGUSR2) show up in the controls.
    Tunables t = m_engine->tunables();
    t.rate = 3;
    m_engine->applyTunables(t);
    QTRY_COMPARE(rateSpin->value(), 3.0);
}

void tst_MainWindow::closeStartsQuitPathAndStopNowEscalates()
{
    QVERIFY(launch(options(4, 5000, 6000, 2)));
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().inFlight > 0, 10000);
    ShutdownCoordinator *coordinator = m_engine->coordinator();
    QSignalSpy started(coordinator, &ShutdownCoordinator::shutdownStarted);
    QSignalSpy escalated(coordinator, &ShutdownCoordinator::escalated);
    QSignalSpy finished(coordinator, &ShutdownCoordinator::finished);
    QList<bool> visibleAtPhaseEnd;
    connect(coordinator, &ShutdownCoordinator::phaseFinished, this,
            [this, &visibleAtPhaseEnd] { visibleAtPhaseEnd << m_window->isVisible(); });

    QVERIFY(!m_window->close()); // ignored: the quit path decides
    QVERIFY(m_window->isVisible());
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).value<ShutdownRequest>().reason, QStringLiteral("window"));
    QVERIFY(dialog()->isVisible());
    QVERIFY(!dialog()->isModal());
    QCOMPARE(dialog()->reason(), QStringLiteral("window"));

    // The loop keeps running the quit path while the dialog is up: the drain starts and counts down.
    QTRY_COMPARE(dialog()->phase(), QStringLiteral("drain"));
    QCOMPARE(coordinator->currentPhase(), QStringLiteral("drain"));
    QVERIFY(!dialog()->drainDeadline().isForever());
    QVERIFY(dialog()->drainDeadline().remainingTime() > 0);
    auto *drainLabel = dialog()->findChild<QLabel *>(QStringLiteral("countdownLabel"));
    QTRY_VERIFY2(drainLabel->text().contains(QStringLiteral("Waiting up to")), qPrintable(drainLabel->text()));
    auto *work = dialog()->findChild<QLabel *>(QStringLiteral("workLabel"));
    QTRY_VERIFY2(work->text().contains(QStringLiteral("in progress")), qPrintable(work->text()));
    QVERIFY(m_window->isVisible());
    QCOMPARE(finished.count(), 0);

    auto *stopNow = dialog()->findChild<QPushButton *>(QStringLiteral("stopNowButton"));
    QVERIFY(stopNow);
    QTest::mouseClick(stopNow, Qt::LeftButton);
    QCOMPARE(escalated.count(), 1);
    QCOMPARE(escalated.at(0).at(0).value<ShutdownMode>(), ShutdownMode::Fast);
    QCOMPARE(coordinator->mode(), ShutdownMode::Fast);
    QCOMPARE(coordinator->report().requests, 2);
    QVERIFY(!stopNow->isEnabled());

    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
    QVERIFY(!visibleAtPhaseEnd.isEmpty());
    QVERIFY(!visibleAtPhaseEnd.contains(false)); // visible through every phase ...
    QTRY_VERIFY(!m_window->isVisible());         // ... and closed at the exit
    QVERIFY(!dialog()->isVisible());
    QCOMPARE(m_exitCode, 0);
    QCOMPARE(m_immediateCode, -1);
    // The log pane shows the same lifecycle lines as stdout, up to the last one.
    const QString log = m_window->findChild<QPlainTextEdit *>(QStringLiteral("logView"))->toPlainText();
    QVERIFY2(log.contains(QStringLiteral("SHUTDOWN begin reason=window sender=0 mode=graceful")), qPrintable(log));
    QVERIFY2(log.contains(QStringLiteral("SHUTDOWN escalate mode=fast reason=stop-now")), qPrintable(log));
    QVERIFY2(log.trimmed().endsWith(QStringLiteral("SHUTDOWN done exit=0")), qPrintable(log));
}

void tst_MainWindow::repeatedClosesNeverEscalate()
{
    QVERIFY(launch(options(4, 5000, 6000, 2)));
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().inFlight > 0, 10000);
    ShutdownCoordinator *coordinator = m_engine->coordinator();
    QSignalSpy escalated(coordinator, &ShutdownCoordinator::escalated);
    // A double click on the title bar's close button: two closes back to back.
    QVERIFY(!m_window->close());
    QVERIFY(!m_window->close());
    QVERIFY(dialog()->isVisible());
    // Hidden, then closed again (or Ctrl+Q / Quit): the dialog comes back, nothing else happens.
    dialog()->hide();
    QVERIFY(!m_window->close());
    QVERIFY(dialog()->isVisible());
    dialog()->hide();
    auto *quit = m_window->findChild<QAction *>(QStringLiteral("quitAction"));
    QVERIFY(quit && quit->isEnabled());
    QVERIFY(quit->text() != tr("&Quit"));
    quit->trigger();
    quit->trigger();
    QVERIFY(dialog()->isVisible());
    QTRY_COMPARE(dialog()->phase(), QStringLiteral("drain"));
    QVERIFY(!m_window->close());
    QCOMPARE(escalated.count(), 0);
    QCOMPARE(coordinator->mode(), ShutdownMode::Graceful);
    QCOMPARE(coordinator->report().requests, 1);
    QVERIFY(m_window->isVisible());

    // Signals keep their ladder: a SIGTERM now is the second request, FAST.
    QCOMPARE(::kill(::getpid(), SIGTERM), 0);
    QVERIFY(escalated.wait(10000));
    QCOMPARE(escalated.at(0).at(0).value<ShutdownMode>(), ShutdownMode::Fast);
    QCOMPARE(escalated.at(0).at(1).value<ShutdownRequest>().reason, QStringLiteral("sigterm"));
    QVERIFY(!m_window->close());
    QCOMPARE(m_immediateCode, -1);
    QTRY_COMPARE_WITH_TIMEOUT(m_exitCode, 0, 20000);
}

void tst_MainWindow::exitImmediatelyIsApartAndConfirmed()
{
    // One worker stuck in a hang: even stopping fast, the quit path cannot end before the question is answered.
    QVERIFY(launch(options(0, 5000, 6000, 1)));
    m_engine->simulateHangNext();
    m_engine->submitBurst(2);
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->pool()->snapshot().value(0).hung, 10000);
    ShutdownCoordinator *coordinator = m_engine->coordinator();
    QVERIFY(!m_window->close());
    auto *stopNow = dialog()->findChild<QPushButton *>(QStringLiteral("stopNowButton"));
    auto *exitNow = dialog()->findChild<QPushButton *>(QStringLiteral("exitNowButton"));
    QVERIFY(stopNow && exitNow);
    QVERIFY(!exitNow->isVisible()); // not offered before stopping fast
    // A double click on Stop now: the second click lands on a disabled button, in FAST.
    QTest::mouseClick(stopNow, Qt::LeftButton);
    QTest::mouseClick(stopNow, Qt::LeftButton);
    QTest::keyClick(dialog(), Qt::Key_Space);
    QCOMPARE(coordinator->mode(), ShutdownMode::Fast);
    QCOMPARE(coordinator->report().requests, 2);
    QVERIFY(!stopNow->isEnabled());
    QVERIFY(exitNow->isVisible());
    QVERIFY(exitNow->text() != stopNow->text());
    // Not in the same spot: the two buttons do not overlap, so a click at Stop now's place misses Exit.
    QVERIFY(!exitNow->geometry().intersects(stopNow->geometry()));
    QVERIFY(!exitNow->hasFocus());

    exitNow->click();
    QPointer<QMessageBox> box = dialog()->findChild<QMessageBox *>(QStringLiteral("confirmExitBox"));
    QVERIFY(box);
    QTRY_VERIFY(box->isVisible());
    QCOMPARE(m_immediateCode, -1);
    // The safe answer is the default.
    QVERIFY(box->defaultButton() != box->findChild<QPushButton *>(QStringLiteral("confirmExitButton")));
    box->button(QMessageBox::Cancel)->click();
    QTRY_VERIFY(!box);
    QCOMPARE(m_immediateCode, -1);
    QCOMPARE(coordinator->mode(), ShutdownMode::Fast);

    exitNow->click();
    box = dialog()->findChild<QMessageBox *>(QStringLiteral("confirmExitBox"));
    QVERIFY(box);
    box->findChild<QPushButton *>(QStringLiteral("confirmExitButton"))->click();
    QCOMPARE(m_immediateCode, 128 + SIGINT);
    SimulatedJob::releaseHangsForTesting();
}

void tst_MainWindow::closeWithAHungRequest(int burst, WorkerSnapshot *hung)
{
    // One worker whose first request hangs, deaf to cancellation; a short drain so that it overruns soon. Then the
    // window is closed (the quit path starts, the dialog shows).
    Options o = options(0, 5000, 6000, 1);
    o.tunables.drainTimeout = 1s;
    QVERIFY(launch(o));
    m_engine->simulateHangNext();
    m_engine->submitBurst(burst);
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->pool()->snapshot().value(0).hung, 10000);
    *hung = m_engine->pool()->snapshot().value(0);
    QVERIFY(!m_window->close());
}

void tst_MainWindow::hangIsCalledHungAndNamed()
{
    // One worker, its request hung, two more queued.
    WorkerSnapshot hung;
    closeWithAHungRequest(3, &hung);
    if (QTest::currentTestFailed())
        return;
    auto label = [this](const char *name) {
        auto *l = dialog()->findChild<QLabel *>(QString::fromLatin1(name));
        return l && l->isVisible() ? l->text() : QString();
    };
    QTRY_VERIFY_WITH_TIMEOUT(!label("overrunLabel").isEmpty(), 10000);
    // The lines that appeared do not cut the list of steps: the dialog grew to fit.
    auto *steps = dialog()->findChild<QListWidget *>(QStringLiteral("phaseList"));
    QTRY_VERIFY(steps->visualItemRect(steps->item(steps->count() - 1)).bottom() < steps->viewport()->height());
    const QString overrun = label("overrunLabel");
    const QString end = label("endLabel");
    const QString kept = label("keptLabel");
    const QString mode = label("modeLabel");
    // Release at once: the quit path must not reach the thread join with the worker still stuck.
    SimulatedJob::releaseHangsForTesting();
    QVERIFY2(overrun.contains(QStringLiteral("took longer than allowed")), qPrintable(overrun));
    QVERIFY2(overrun.contains(QStringLiteral("Request %1 on worker %2 does not respond")
                                  .arg(QLocale().toString(hung.jobId), hung.threadName)),
             qPrintable(overrun));
    QVERIFY2(end.contains(QStringLiteral("Quiesce will now end within")), qPrintable(end));
    QVERIFY2(end.contains(QStringLiteral("Nothing accepted is lost")), qPrintable(end));
    QVERIFY2(kept.contains(QStringLiteral("2 queued requests are saved and run first next time")), qPrintable(kept));
    // No longer "may finish": the time for that is up.
    QVERIFY2(mode.startsWith(QStringLiteral("The time for the requests in progress is up")), qPrintable(mode));
    QVERIFY(label("countdownLabel").isEmpty()); // one countdown at a time: the end line carries it now
    QTRY_COMPARE_WITH_TIMEOUT(m_exitCode, 0, 20000);
}

void tst_MainWindow::overrunTextIsNeverCut()
{
    // At the default font the sentence about the stuck request, and the step that overran, are read in full:
    // wrapped, with the dialog grown to fit, never elided with "…".
    WorkerSnapshot hung;
    closeWithAHungRequest(1, &hung);
    if (QTest::currentTestFailed())
        return;
    auto *overrun = dialog()->findChild<QLabel *>(QStringLiteral("overrunLabel"));
    QVERIFY(overrun);
    QTRY_VERIFY_WITH_TIMEOUT(overrun->isVisible() && overrun->text().contains(QStringLiteral("does not respond")),
                             10000);
    auto *steps = dialog()->findChild<QListWidget *>(QStringLiteral("phaseList"));
    QTRY_VERIFY_WITH_TIMEOUT(
        steps->item(steps->row(steps->findItems(QStringLiteral("Finishing"), Qt::MatchStartsWith).value(0)))
            ->text()
            .contains(QStringLiteral("took too long")),
        10000);
    QCoreApplication::processEvents();
    const QString sentence = QStringLiteral("\u201cFinishing requests in progress\u201d took longer than allowed. "
                                            "Request %1 on worker %2 does not respond.")
                                 .arg(QLocale().toString(hung.jobId), hung.threadName);
    const QString overrunText = overrun->text();
    const bool labelFits = overrun->wordWrap() && overrun->heightForWidth(overrun->width()) <= overrun->height()
        && overrun->width() <= dialog()->width();
    // Every step's row shows its whole text: wrapped rows, none cut at the right edge.
    QStringList cut;
    for (int i = 0; i < steps->count(); ++i) {
        QListWidgetItem *item = steps->item(i);
        const QRect rect = steps->visualItemRect(item);
        const int textWidth = steps->fontMetrics().horizontalAdvance(item->text());
        const bool fitsOnOneLine = textWidth + steps->iconSize().width() + 16 <= steps->viewport()->width();
        const int lines = fitsOnOneLine ? 1 : 2;
        if (!fitsOnOneLine && (!steps->wordWrap() || rect.height() < lines * steps->fontMetrics().lineSpacing()))
            cut << item->text();
        if (rect.bottom() >= steps->viewport()->height())
            cut << item->text();
    }
    SimulatedJob::releaseHangsForTesting();
    QCOMPARE(overrunText, sentence);
    QVERIFY2(labelFits,
             qPrintable(QStringLiteral("label %1x%2, needs %3 high")
                            .arg(overrun->width())
                            .arg(overrun->height())
                            .arg(overrun->heightForWidth(overrun->width()))));
    QVERIFY2(cut.isEmpty(), qPrintable(cut.join(QStringLiteral(" | "))));
    QTRY_COMPARE_WITH_TIMEOUT(m_exitCode, 0, 20000);
}

void tst_MainWindow::signalShowsTheSameDialog()
{
    QVERIFY(launch(options(4, 5000, 6000, 2)));
    m_window->setAskBeforeQuit(true); // must not matter for a signal
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().inFlight > 0, 10000);
    QSignalSpy started(m_engine->coordinator(), &ShutdownCoordinator::shutdownStarted);
    QVERIFY(::kill(::getpid(), SIGTERM) == 0);
    QVERIFY(started.wait(10000));
    const auto request = started.at(0).at(0).value<ShutdownRequest>();
    QCOMPARE(request.reason, QStringLiteral("sigterm"));
    QCOMPARE(request.senderPid, qint64(::getpid()));
    QVERIFY(dialog()->isVisible());
    QCOMPARE(dialog()->reason(), QStringLiteral("sigterm"));
    QVERIFY(!m_window->findChild<QMessageBox *>(QStringLiteral("confirmQuitBox")));
    QVERIFY(m_window->isVisible());
    QTRY_COMPARE(dialog()->phase(), QStringLiteral("drain"));
}

void tst_MainWindow::askBeforeQuitOnlyForAPerson()
{
    QVERIFY(launch(options(4, 5000, 6000, 2)));
    m_window->setAskBeforeQuit(true);
    ShutdownCoordinator *coordinator = m_engine->coordinator();
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().inFlight > 0, 10000);

    // A close with work in flight asks, without blocking: close() returns with the question up.
    QVERIFY(!m_window->close());
    QPointer<QMessageBox> box = m_window->findChild<QMessageBox *>(QStringLiteral("confirmQuitBox"));
    QVERIFY(box);
    QTRY_VERIFY(box->isVisible());
    QVERIFY(!coordinator->isShuttingDown());
    // Asking twice does not stack questions.
    QVERIFY(!m_window->close());
    QCOMPARE(m_window->findChildren<QMessageBox *>(QStringLiteral("confirmQuitBox")).size(), 1);

    box->button(QMessageBox::Cancel)->click();
    QTRY_VERIFY(!box);
    QVERIFY(!coordinator->isShuttingDown());
    QVERIFY(m_window->isVisible());

    // File → Quit asks the same way; answering Quit starts the quit path with that reason.
    auto *quit = m_window->findChild<QAction *>(QStringLiteral("quitAction"));
    QVERIFY(quit);
    QCOMPARE(quit->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_Q));
    quit->trigger();
    box = m_window->findChild<QMessageBox *>(QStringLiteral("confirmQuitBox"));
    QVERIFY(box);
    QSignalSpy started(coordinator, &ShutdownCoordinator::shutdownStarted);
    auto *confirm = box->findChild<QPushButton *>(QStringLiteral("confirmQuitButton"));
    QVERIFY(confirm);
    confirm->click();
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).value<ShutdownRequest>().reason, QStringLiteral("quit"));
    QCOMPARE(coordinator->mode(), ShutdownMode::Graceful); // one request, not two
    QVERIFY(dialog()->isVisible());

    // Once shutting down, a close asks nothing and escalates nothing: it shows the dialog.
    QVERIFY(!m_window->close());
    QCOMPARE(coordinator->mode(), ShutdownMode::Graceful);
    QVERIFY(dialog()->isVisible());
    // The answered question goes away (deleted on close) and no new one comes.
    QTRY_VERIFY(!m_window->findChild<QMessageBox *>(QStringLiteral("confirmQuitBox")));
}

void tst_MainWindow::logoutNeverAsksNorVetoes()
{
    QVERIFY(launch(options(4, 5000, 6000, 2)));
    m_window->setAskBeforeQuit(true);
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().inFlight > 0, 10000);
    m_window->resize(620, 430);
    QSignalSpy started(m_engine->coordinator(), &ShutdownCoordinator::shutdownStarted);
    m_window->commitSessionData();
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).value<ShutdownRequest>().reason, QStringLiteral("logout"));
    QVERIFY(!m_window->findChild<QMessageBox *>(QStringLiteral("confirmQuitBox")));
    // The settings were saved on the way out.
    QCOMPARE(QSettings().value(QStringLiteral("behavior/askBeforeQuit")).toBool(), true);
    // A repeated commit (some session managers ask twice) is not a second request.
    m_window->commitSessionData();
    QCOMPARE(m_engine->coordinator()->mode(), ShutdownMode::Graceful);
}

void tst_MainWindow::settingsPersist()
{
    const QRect geometry(30, 40, 720, 500);
    {
        QVERIFY(launch(options(2, 50, 100, 2)));
        m_window->setGeometry(geometry);
        QTRY_COMPARE(m_window->geometry(), geometry);
        m_window->setAskBeforeQuit(true);
        m_window->findChild<QDoubleSpinBox *>(QStringLiteral("rateSpin"))->setValue(7.5);
        m_window->findChild<QSpinBox *>(QStringLiteral("workersSpin"))->setValue(3);
        m_window->findChild<QSpinBox *>(QStringLiteral("burstSpin"))->setValue(33);
        QVERIFY(m_window->saveSettings());
        shutDown();
    }
    QSettings settings;
    QCOMPARE(settings.status(), QSettings::NoError);
    QVERIFY(settings.fileName().startsWith(m_dir.path()));
    QVERIFY(settings.contains(QStringLiteral("window/geometry")));

    // A second construction on the same settings restores them (the test binary's command line names no --rate).
    QVERIFY(launch(options(2, 50, 100, 2)));
    QCOMPARE(m_window->geometry(), geometry);
    QVERIFY(m_window->askBeforeQuit());
    QCOMPARE(m_window->findChild<QDoubleSpinBox *>(QStringLiteral("rateSpin"))->value(), 7.5);
    QCOMPARE(m_window->findChild<QSpinBox *>(QStringLiteral("burstSpin"))->value(), 33);
    QCOMPARE(m_engine->tunables().rate, 7.5);
    QCOMPARE(m_engine->tunables().workers, 3);
    QTRY_COMPARE(m_window->workerModel()->rowCount(), 3);
}

void tst_MainWindow::keyboardReachesEveryControl()
{
    QVERIFY(launch(options(0, 100, 200, 2)));
    QApplication::setActiveWindow(m_window.get());
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
    QTRY_COMPARE(m_window->workerModel()->rowCount(), 2);
    auto *start = m_window->findChild<QSpinBox *>(QStringLiteral("burstSpin"));
    start->setFocus(Qt::TabFocusReason);
    QTRY_VERIFY(start->hasFocus());
    // Walk the focus chain with real Tab presses and name what gets the focus.
    const QSet<QString> wanted {QStringLiteral("burstSpin"), QStringLiteral("rateSpin"), QStringLiteral("workersSpin"),
                                QStringLiteral("workerTable"), QStringLiteral("logView")};
    QStringList visited;
    for (int i = 0; i < 30; ++i) {
        QWidget *focus = QApplication::focusWidget();
        QVERIFY(focus);
        QWidget *named = focus;
        while (named && !wanted.contains(named->objectName()))
            named = named->parentWidget();
        const QString name = named ? named->objectName() : QString::fromLatin1(focus->metaObject()->className());
        if (visited.isEmpty() || visited.constLast() != name)
            visited << name;
        QTest::keyClick(focus, Qt::Key_Tab);
    }
    for (const QString &name : wanted)
        QVERIFY2(visited.contains(name), qPrintable(visited.join(QStringLiteral(", "))));
    // In reading order: the toolbar's controls, then the table, then the log; and Tab leaves the table.
    const qsizetype table = visited.indexOf(QStringLiteral("workerTable"));
    QCOMPARE(visited.value(table + 1), QStringLiteral("logView"));
    QVERIFY(visited.indexOf(QStringLiteral("rateSpin")) < table);
    QVERIFY(visited.count(QStringLiteral("workerTable")) >= 2); // went round the whole chain and came back
}

void tst_MainWindow::everyControlHasAnAccessibleName()
{
    QVERIFY(launch(options(0, 100, 200, 2)));
    QStringList unnamed;
    for (QWidget *w : m_window->findChildren<QWidget *>()) {
        if (!w->isVisibleTo(m_window.get()) || qobject_cast<QAbstractSpinBox *>(w->parentWidget()))
            continue;
        const bool interactive = (w->focusPolicy() & Qt::TabFocus) || qobject_cast<QAbstractButton *>(w);
        const bool value = w->objectName().endsWith(QLatin1StringView("Value"));
        if (!interactive && !value)
            continue;
        QAccessibleInterface *iface = QAccessible::queryAccessibleInterface(w);
        if (!iface || iface->text(QAccessible::Name).trimmed().isEmpty())
            unnamed << QStringLiteral("%1(%2)").arg(QString::fromLatin1(w->metaObject()->className()), w->objectName());
    }
    QVERIFY2(unnamed.isEmpty(), qPrintable(unnamed.join(QStringLiteral(", "))));
    // Counter values carry their name; the progress cells say "%".
    QCOMPARE(counter("acceptedValue")->accessibleName(), QStringLiteral("Accepted"));
    WorkerTableModel model;
    QList<WorkerSnapshot> workers(1);
    workers[0].busy = true;
    workers[0].jobId = 3;
    workers[0].progressPercent = 93;
    model.setSnapshot(workers);
    QCOMPARE(model.index(0, WorkerTableModel::ProgressColumn).data(Qt::AccessibleTextRole).toString(),
             QStringLiteral("93 %"));
}

// The counters' values keep room for six digits in their own (bold, larger) font, each of them: the window measures
// that width once and gives it to all eight.
void tst_MainWindow::countersFitSixDigits()
{
    QVERIFY(launch(options(0, 100, 200, 2)));
    for (const char *name : {"acceptedValue", "doneValue", "queuedValue", "inFlightValue", "shedValue",
                             "recoveredValue", "workersValue", "rateValue"}) {
        QLabel *value = counter(name);
        QVERIFY2(value, name);
        QVERIFY2(value->font().bold(), name);
        QVERIFY2(value->minimumWidth() > 0, name);
        QCOMPARE(value->minimumWidth(), value->fontMetrics().horizontalAdvance(QStringLiteral("000000")));
    }
}

// The workers table's header measures its titles in the font it paints them with, not in bold as QHeaderView does
// (one font engine less before the first frame): a title painted bold (its section highlighted) still fits its
// section, and the header is as high as QHeaderView's own measure makes it.
void tst_MainWindow::headerTitlesFitWhenBold()
{
    QVERIFY(launch(options(0, 100, 200, 2)));
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("workerTable"));
    QVERIFY(table);
    QHeaderView *header = table->horizontalHeader();
    // What QTableView sets on the header it makes itself.
    QVERIFY(header->highlightSections());
    QVERIFY(header->sectionsClickable());
    QFont bold = header->font();
    bold.setBold(true);
    const QFontMetrics boldMetrics(bold);
    const int margin = header->style()->pixelMetric(QStyle::PM_HeaderMargin, nullptr, header);
    int shown = 0;
    for (int section = 0; section < header->count(); ++section) {
        if (header->isSectionHidden(section))
            continue;
        ++shown;
        const QString title = table->model()->headerData(section, Qt::Horizontal).toString();
        QVERIFY2(boldMetrics.horizontalAdvance(title) + 2 * margin <= header->sectionSize(section),
                 qPrintable(QStringLiteral("%1: %2 px").arg(title).arg(header->sectionSize(section))));
    }
    QVERIFY(shown >= 5);
    QHeaderView reference(Qt::Horizontal);
    reference.setFont(header->font());
    reference.setModel(table->model());
    QCOMPARE(header->sizeHint().height(), reference.sizeHint().height());
}

void tst_MainWindow::shortcutsAreStandardAndShown()
{
    QVERIFY(launch(options(0, 100, 200, 2)));
    // Every standard binding of the platform, so that no action of ours takes one for something else.
    QHash<QKeySequence, int> standard;
    for (int key = QKeySequence::HelpContents; key <= QKeySequence::Cancel; ++key) {
        for (const QKeySequence &sequence : QKeySequence::keyBindings(QKeySequence::StandardKey(key)))
            standard.insert(sequence, key);
    }
    QVERIFY(!standard.isEmpty());
    const QHash<QString, QKeySequence::StandardKey> allowed {
        {QStringLiteral("quitAction"), QKeySequence::Quit},
        {QStringLiteral("shortcutsAction"), QKeySequence::HelpContents}};
    for (QAction *action : m_window->findChildren<QAction *>()) {
        for (const QKeySequence &sequence : action->shortcuts()) {
            const auto it = standard.constFind(sequence);
            if (it == standard.cend())
                continue;
            QVERIFY2(
                allowed.value(action->objectName(), QKeySequence::UnknownKey) == it.value(),
                qPrintable(
                    QStringLiteral("%1 takes %2, a standard shortcut").arg(action->objectName(), sequence.toString())));
        }
        if (!action->shortcut().isEmpty() && !action->objectName().isEmpty()) {
            // The tooltip names the shortcut.
            QVERIFY2(action->toolTip().contains(action->shortcut().toString(QKeySequence::NativeText)),
                     qPrintable(action->toolTip()));
        }
    }
    auto *pause = m_window->findChild<QAction *>(QStringLiteral("pauseAction"));
    QVERIFY(pause->shortcut() != QKeySequence(QKeySequence::Print));
    auto *quit = m_window->findChild<QAction *>(QStringLiteral("quitAction"));
    QVERIFY(!quit->icon().isNull());
    // Not the dialog-close cross.
    QVERIFY(quit->icon().pixmap(16, 16).toImage()
            != m_window->style()->standardIcon(QStyle::SP_DialogCloseButton).pixmap(16, 16).toImage());
}

void tst_MainWindow::commandLineValuesAreForThisRunOnly()
{
    auto rateSpin = [this] { return m_window->findChild<QDoubleSpinBox *>(QStringLiteral("rateSpin")); };
    // `--rate 9 --workers 3` once: used for that run, never saved as the default.
    Options cli = options(9, 50, 100, 3);
    cli.explicitTunables = {QStringLiteral("rate"), QStringLiteral("workers")};
    QVERIFY(launch(cli));
    QCOMPARE(rateSpin()->value(), 9.0);
    QVERIFY(m_window->saveSettings());
    shutDown();
    {
        QSettings settings;
        QVERIFY(!settings.contains(QStringLiteral("control/rate")));
        QVERIFY(!settings.contains(QStringLiteral("control/workers")));
    }
    // The next plain launch runs with its own values, not 9 and 3.
    QVERIFY(launch(options(2, 50, 100, 2)));
    QCOMPARE(m_engine->tunables().rate, 2.0);
    QCOMPARE(m_engine->tunables().workers, 2);
    // A value changed in the window is remembered ...
    rateSpin()->setValue(7.5);
    shutDown();
    QCOMPARE(QSettings().value(QStringLiteral("control/rate")).toDouble(), 7.5);
    QVERIFY(!QSettings().contains(QStringLiteral("control/workers")));
    // ... but the command line still wins over it, and does not overwrite it.
    QVERIFY(launch(cli));
    QCOMPARE(m_engine->tunables().rate, 9.0);
    shutDown();
    QCOMPARE(QSettings().value(QStringLiteral("control/rate")).toDouble(), 7.5);
    // A config file that sets the rate wins over the window's value too.
    const QString config = m_dir.filePath(QStringLiteral("quiesce.conf"));
    {
        QSettings ini(config, QSettings::IniFormat);
        ini.setValue(QStringLiteral("rate"), 4);
        ini.sync();
    }
    Options withConfig = options(4, 50, 100, 2);
    withConfig.configPath = config;
    QVERIFY(launch(withConfig));
    QCOMPARE(m_engine->tunables().rate, 4.0);
    shutDown();

    // Settings → Restore defaults forgets the window's values and goes back to this run's own.
    QVERIFY(launch(options(2, 50, 100, 2)));
    QCOMPARE(m_engine->tunables().rate, 7.5);
    auto *restore = m_window->findChild<QAction *>(QStringLiteral("restoreDefaultsAction"));
    QVERIFY(restore);
    restore->trigger();
    QCOMPARE(m_engine->tunables().rate, 2.0);
    QCOMPARE(rateSpin()->value(), 2.0);
    QVERIFY(!QSettings().contains(QStringLiteral("control/rate")));
}

void tst_MainWindow::reloadKeepsTheWindowsValues()
{
    // Precedence on every SIGHUP reload too: command line > config file > the window > defaults.
    const QString config = m_dir.filePath(QStringLiteral("reload.conf"));
    auto writeConfig = [&config](const QByteArray &text) {
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        QCOMPARE(file.write(text), qint64(text.size()));
    };
    writeConfig("queue-limit=500\n");
    Options o = options(2, 50, 100, 2);
    o.configPath = config;
    o.onHangup = OnHangup::Reload;
    QVERIFY(launch(o));
    QVERIFY2(m_signals.watch(SIGHUP), qPrintable(m_signals.errorString()));
    auto *rateSpin = m_window->findChild<QDoubleSpinBox *>(QStringLiteral("rateSpin"));
    QVERIFY(rateSpin);
    rateSpin->setValue(7.5);
    QCOMPARE(m_engine->tunables().rate, 7.5);

    QStringList reloads;
    connect(m_engine.get(), &Engine::line, this, [&reloads](const QString &text) {
        if (text.startsWith(QLatin1StringView("CONFIG reload")))
            reloads << text;
    });
    // The file does not set the rate: the window's 7.5 stays (it used to go back to the default).
    QCOMPARE(::raise(SIGHUP), 0);
    QTRY_COMPARE(reloads.size(), 1);
    QVERIFY2(reloads.at(0).startsWith(QStringLiteral("CONFIG reloaded ")), qPrintable(reloads.at(0)));
    QCOMPARE(m_engine->tunables().rate, 7.5);
    QCOMPARE(m_engine->tunables().queueLimit, 500);
    // The file sets it now: the file wins over the window.
    writeConfig("queue-limit=500\nrate=4\n");
    QCOMPARE(::raise(SIGHUP), 0);
    QTRY_COMPARE(reloads.size(), 2);
    QVERIFY2(reloads.at(1).startsWith(QStringLiteral("CONFIG reloaded ")), qPrintable(reloads.at(1)));
    QCOMPARE(m_engine->tunables().rate, 4.0);
    QTRY_COMPARE(rateSpin->value(), 4.0);
    m_signals.unwatch(SIGHUP);
}

void tst_MainWindow::contrastFormula()
{
    QCOMPARE(qRound(Theme::contrastRatio(Qt::black, Qt::white) * 100), 2100);
    QCOMPARE(qRound(Theme::contrastRatio(Qt::white, Qt::white) * 100), 100);
    // The figures for the old fixed colours on white: the orange legend 2.85:1, the blue labels 3.76:1.
    QCOMPARE(qRound(Theme::contrastRatio(QColor(0xe6, 0x7e, 0x22), Qt::white) * 100), 285);
    QCOMPARE(qRound(Theme::contrastRatio(QColor(0x2e, 0x86, 0xde), Qt::white) * 100), 376);
    const QColor fixed = Theme::readable(QColor(0xe6, 0x7e, 0x22), Qt::white, 4.5);
    QVERIFY(Theme::contrastRatio(fixed, Qt::white) >= 4.5);
    QVERIFY(Theme::contrastRatio(Theme::readable(QColor(0x1e, 0x84, 0x49), QColor(0x1e, 0x1e, 0x1e), 4.5),
                                 QColor(0x1e, 0x1e, 0x1e))
            >= 4.5);
}

static QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x2b, 0x2b, 0x2b), base(0x1e, 0x1e, 0x1e), text(0xe6, 0xe6, 0xe6);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x90, 0x90, 0x90));
    p.setColor(QPalette::Highlight, QColor(0x2a, 0x82, 0xda));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::ToolTipBase, window);
    p.setColor(QPalette::ToolTipText, text);
    return p;
}

// The mean colour of an icon's opaque pixels: what the eye sees of it.
static QColor inkOf(const QIcon &icon)
{
    const QImage image = icon.pixmap(24, 24).toImage().convertToFormat(QImage::Format_ARGB32);
    double r = 0, g = 0, b = 0;
    int n = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            const QRgb px = image.pixel(x, y);
            if (qAlpha(px) < 250)
                continue;
            r += qRed(px);
            g += qGreen(px);
            b += qBlue(px);
            ++n;
        }
    }
    return n == 0 ? QColor() : QColor(int(r / n), int(g / n), int(b / n));
}

void tst_MainWindow::coloursReadableInLightAndDark_data()
{
    QTest::addColumn<bool>("dark");
    QTest::newRow("light") << false;
    QTest::newRow("dark") << true;
}

void tst_MainWindow::coloursReadableInLightAndDark()
{
    QFETCH(bool, dark);
    const QPalette before = QApplication::palette();
    const QPalette palette = dark ? darkPalette() : QApplication::style()->standardPalette();
    QApplication::setPalette(palette);
    auto restore = qScopeGuard([&before] { QApplication::setPalette(before); });
    QCOMPARE(Theme::isDark(palette), dark);
    const QColor base = palette.color(QPalette::Base);

    for (const Theme::Role role : Theme::allRoles()) {
        const double text = Theme::contrastRatio(Theme::color(role, palette, Theme::Use::Text), base);
        const double graphic = Theme::contrastRatio(Theme::color(role, palette, Theme::Use::Graphic), base);
        QVERIFY2(text >= 4.5, qPrintable(QStringLiteral("role %1: %2").arg(int(role)).arg(text)));
        QVERIFY2(graphic >= 3.0, qPrintable(QStringLiteral("role %1: %2").arg(int(role)).arg(graphic)));
    }

    QVERIFY(launch(options(0, 100, 200, 2)));
    // The plot's text and lines, on the plot's own background.
    ThroughputPlot *plot = m_window->plot();
    const QColor plotBase = plot->palette().color(QPalette::Base);
    QCOMPARE(plotBase, base);
    for (const auto series : {ThroughputPlot::Series::Throughput, ThroughputPlot::Series::Queue}) {
        QVERIFY(Theme::contrastRatio(plot->seriesColor(series, Theme::Use::Text), plotBase) >= 4.5);
        QVERIFY(Theme::contrastRatio(plot->seriesColor(series, Theme::Use::Graphic), plotBase) >= 3.0);
    }
    QVERIFY(Theme::contrastRatio(plot->palette().color(QPalette::Text), plotBase) >= 4.5);

    // The table's state colours, on the table's base.
    QList<WorkerSnapshot> workers(2);
    workers[0].busy = true;
    workers[0].jobId = 1;
    workers[1].busy = true;
    workers[1].hung = true;
    workers[1].jobId = 2;
    WorkerTableModel model;
    model.setPalette(palette);
    model.setSnapshot(workers);
    for (int row = 0; row < 2; ++row) {
        const QColor c = model.index(row, WorkerTableModel::StateColumn).data(Qt::ForegroundRole).value<QColor>();
        QVERIFY(c.isValid());
        QVERIFY2(Theme::contrastRatio(c, base) >= 4.5, qPrintable(c.name()));
    }

    // Toolbar icons follow the palette: visible on the buttons (3:1 for graphics).
    for (const char *name : {"quitAction", "pauseAction", "burstAction", "hangAction"}) {
        auto *action = m_window->findChild<QAction *>(QString::fromLatin1(name));
        QVERIFY(action);
        const QColor ink = inkOf(action->icon());
        QVERIFY2(ink.isValid(), name);
        QVERIFY2(Theme::contrastRatio(ink, palette.color(QPalette::Button)) >= 3.0,
                 qPrintable(QStringLiteral("%1: %2").arg(QString::fromLatin1(name), ink.name())));
    }
    // The shutdown dialog's step marks, on the list's base.
    for (const auto mark : {Theme::Mark::Pending, Theme::Mark::Running, Theme::Mark::Done, Theme::Mark::Warning,
                            Theme::Mark::Failed, Theme::Mark::Skipped}) {
        const QColor ink = inkOf(Theme::markIcon(mark, palette, QSize(24, 24)));
        QVERIFY(ink.isValid());
        QVERIFY2(Theme::contrastRatio(ink, base) >= 3.0, qPrintable(ink.name()));
    }
}

// Theme::toolIcon() draws a rendering only when a request needs it: every size and mode must look exactly as from
// an icon holding all of its renderings (how it was built before), whatever the order of the requests.
void tst_MainWindow::toolIconsDrawnWhenAskedLookAsBefore()
{
    if (QIcon::hasThemeIcon(QStringLiteral("application-exit")))
        QSKIP("the desktop's icon theme draws the tool icons here");
    if (qApp->devicePixelRatio() != 1.0)
        QSKIP("drawn at once at this device pixel ratio");
    const QPalette palette = qApp->palette();
    const QList<int> requests = {24, 16, 20, 40, 12, 22, 32, 23, 8, 64, 17, 31};
    for (const auto kind : {Theme::ToolIcon::Quit, Theme::ToolIcon::Pause, Theme::ToolIcon::Resume,
                            Theme::ToolIcon::Burst, Theme::ToolIcon::Hang}) {
        QIcon all;
        for (const int side : Theme::toolIconSides())
            all.addPixmap(Theme::drawToolIcon(kind, palette, side));
        const QIcon lazy = Theme::toolIcon(kind, palette);
        QVERIFY(!lazy.isNull());
        for (const QIcon::Mode mode : {QIcon::Normal, QIcon::Disabled, QIcon::Active, QIcon::Selected}) {
            for (const int side : requests) {
                const QString what = QStringLiteral("icon %1, mode %2, %3 px").arg(int(kind)).arg(int(mode)).arg(side);
                QCOMPARE(lazy.actualSize(QSize(side, side), mode), all.actualSize(QSize(side, side), mode));
                QVERIFY2(lazy.pixmap(side, mode).toImage() == all.pixmap(side, mode).toImage(), qPrintable(what));
                // What a tool button does: paint into a rectangle.
                QImage painted(side, side, QImage::Format_ARGB32_Premultiplied);
                QImage expected = painted;
                painted.fill(Qt::transparent);
                expected.fill(Qt::transparent);
                {
                    QPainter p(&painted);
                    lazy.paint(&p, painted.rect(), Qt::AlignCenter, mode);
                    QPainter q(&expected);
                    all.paint(&q, expected.rect(), Qt::AlignCenter, mode);
                }
                QVERIFY2(painted == expected, qPrintable(what));
            }
        }
        QCOMPARE(lazy.availableSizes(), all.availableSizes());
        // A copy (QAction's, a tool button's) draws the same.
        QIcon copy = lazy;
        copy.detach();
        QVERIFY(copy.pixmap(20).toImage() == all.pixmap(20).toImage());
    }
}

void tst_MainWindow::plotAxes()
{
    // Every tick a round number: 1, 2, 5 × 10^k split in 5, 4, 5.
    QCOMPARE(ThroughputPlot::divisionsFor(1), 5);
    QCOMPARE(ThroughputPlot::divisionsFor(2), 4);
    QCOMPARE(ThroughputPlot::divisionsFor(5), 5);
    QCOMPARE(ThroughputPlot::divisionsFor(20), 4);
    QCOMPARE(ThroughputPlot::divisionsFor(0.5), 5);
    // The right axis ends at the queue limit: a full queue of 1000 reaches the top, not the middle of 2000.
    ThroughputPlot plot;
    plot.setQueueLimit(1000);
    plot.addSampleAt(0, 3, 1000);
    QCOMPARE(plot.queueScale(), 1000);
    plot.addSampleAt(500, 3, 500);
    QCOMPARE(plot.queueScale(), 1000);
    plot.setQueueLimit(0);
    QCOMPARE(plot.queueScale(), 2000);
    plot.resize(500, 220);
    QVERIFY(!plot.grab().toImage().isNull());
}

void tst_MainWindow::statesAreVisible()
{
    Options o = options(0, 60000, 60000, 1);
    o.tunables.queueLimit = 3;
    QVERIFY(launch(o));
    auto *status = m_window->findChild<QLabel *>(QStringLiteral("statusLabel"));
    auto *pause = m_window->findChild<QAction *>(QStringLiteral("pauseAction"));
    auto *burst = m_window->findChild<QAction *>(QStringLiteral("burstAction"));
    QVERIFY(status && pause && burst);
    QTRY_COMPARE(status->text(), QStringLiteral("Running"));
    QCOMPARE(m_window->plot()->queueLimit(), 3);

    // Paused: the action says what it does now, the status bar says the state, a burst says it waits.
    pause->trigger();
    QCOMPARE(pause->text(), QStringLiteral("&Resume intake"));
    QCOMPARE(status->text(), QStringLiteral("Intake paused"));
    m_window->findChild<QSpinBox *>(QStringLiteral("burstSpin"))->setValue(10);
    burst->trigger();
    QVERIFY2(m_window->statusBar()->currentMessage().contains(QStringLiteral("burst of 10 requests")),
             qPrintable(m_window->statusBar()->currentMessage()));
    QCOMPARE(m_engine->counters().accepted, 0u);
    pause->trigger();
    QCOMPARE(pause->text(), QStringLiteral("&Pause intake"));

    // One worker busy for a minute, three queued, the rest of the burst held back: the status bar says so.
    QTRY_VERIFY_WITH_TIMEOUT(status->text().startsWith(QStringLiteral("Intake held: the queue is full")), 10000);
    QVERIFY2(status->text().contains(QStringLiteral("(3 of 3)")), qPrintable(status->text()));

    // One throughput figure: the counter shows what the plot draws.
    QTRY_VERIFY(m_window->plot()->sampleCount() >= 2);
    QCOMPARE(counter("rateValue")->text(), QLocale().toString(m_window->plot()->latestThroughput(), 'f', 1));
}

void tst_MainWindow::helpMenuAndTitle()
{
    QVERIFY(launch(options(0, 5000, 6000, 1)));
    for (const char *name : {"aboutAction", "aboutQtAction", "shortcutsAction"})
        QVERIFY2(m_window->findChild<QAction *>(QString::fromLatin1(name)), name);
    auto *shortcuts = m_window->findChild<QAction *>(QStringLiteral("shortcutsAction"));
    QCOMPARE(shortcuts->shortcut(), QKeySequence(QKeySequence::HelpContents));

    m_window->findChild<QAction *>(QStringLiteral("aboutAction"))->trigger();
    auto *about = m_window->findChild<QMessageBox *>(QStringLiteral("aboutBox"));
    QVERIFY(about);
    QVERIFY2(about->text().contains(QRegularExpression(QStringLiteral("Quiesce \\d+\\.\\d+\\.\\d+"))),
             qPrintable(about->text()));
    QVERIFY(about->text().contains(QStringLiteral("Licence")));
    QVERIFY(about->text().contains(QStringLiteral("href=")));
    about->close();

    shortcuts->trigger();
    auto *list = m_window->findChild<QMessageBox *>(QStringLiteral("shortcutsBox"));
    QVERIFY(list);
    QVERIFY(list->isVisible());
    const auto *quit = m_window->findChild<QAction *>(QStringLiteral("quitAction"));
    QVERIFY2(list->text().contains(quit->shortcut().toString(QKeySequence::NativeText)), qPrintable(list->text()));
    list->close();

    // The title says when it is shutting down.
    QCOMPARE(m_window->windowTitle(), QStringLiteral("Quiesce"));
    m_engine->submitBurst(1);
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().inFlight > 0, 10000);
    QVERIFY(!m_window->close());
    QCOMPARE(m_window->windowTitle(), QStringLiteral("Quiesce \u2014 shutting down"));
}

void tst_MainWindow::defaultSizeFitsTheScreen()
{
    // No saved geometry (init() cleared the settings): the first start fits the available screen.
    QVERIFY(launch(options(0, 100, 200, 1)));
    const QRect available = m_window->screen()->availableGeometry();
    QVERIFY2(
        available.contains(m_window->geometry()),
        qPrintable(
            QStringLiteral("%1 in %2").arg(QVariant(m_window->geometry()).toString(), QVariant(available).toString())));
}

void tst_MainWindow::germanTranslationIsComplete_data()
{
    QTest::addColumn<QString>("file");
    QTest::newRow("de") << QStringLiteral("quiesce_de.ts");
    QTest::newRow("en plurals") << QStringLiteral("quiesce_en.ts");
}

void tst_MainWindow::germanTranslationIsComplete()
{
    QFETCH(QString, file);
    const QString path = QFINDTESTDATA(QStringLiteral("../resources/translations/") + file);
    QVERIFY2(!path.isEmpty(), qPrintable(file));
    QFile ts(path);
    QVERIFY(ts.open(QIODevice::ReadOnly));
    // Every <message> has a finished, non-empty <translation> (each plural form filled in), none obsolete.
    QXmlStreamReader xml(&ts);
    int messages = 0;
    QStringList problems;
    QString source;
    bool numerus = false;
    while (!xml.atEnd()) {
        xml.readNext();
        if (!xml.isStartElement())
            continue;
        if (xml.name() == QLatin1StringView("message")) {
            ++messages;
            numerus = xml.attributes().value(QLatin1StringView("numerus")) == QLatin1StringView("yes");
        } else if (xml.name() == QLatin1StringView("source")) {
            source = xml.readElementText();
        } else if (xml.name() == QLatin1StringView("translation")) {
            const QString type = xml.attributes().value(QLatin1StringView("type")).toString();
            if (!type.isEmpty())
                problems << QStringLiteral("%1 (%2)").arg(source, type);
            if (numerus) {
                int forms = 0;
                while (xml.readNextStartElement()) {
                    if (xml.readElementText().trimmed().isEmpty())
                        problems << QStringLiteral("%1 (empty plural form)").arg(source);
                    ++forms;
                }
                if (forms < 2)
                    problems << QStringLiteral("%1 (%2 plural forms)").arg(source).arg(forms);
            } else if (xml.readElementText().isEmpty()) {
                problems << QStringLiteral("%1 (empty)").arg(source);
            }
        }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(messages > 3);
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
}

void tst_MainWindow::windowSpeaksGerman()
{
    const QLocale english = QLocale();
    auto restore = qScopeGuard([english] {
        QLocale::setDefault(english);
        installTranslations(english);
    });
    QLocale::setDefault(QLocale(QLocale::German, QLocale::Germany));
    installTranslations(QLocale()); // as main() does before it builds the window
    Options o = options(0, 60000, 60000, 1);
    o.tunables.queueLimit = 5000;
    QVERIFY(launch(o));
    auto *pause = m_window->findChild<QAction *>(QStringLiteral("pauseAction"));
    QCOMPARE(pause->text(), QStringLiteral("Zulauf &anhalten"));
    // Qt's own strings too (qtbase_de): the Cancel of every message box.
    QCOMPARE(QCoreApplication::translate("QPlatformTheme", "Cancel"), QStringLiteral("Abbrechen"));
    // Numbers in the person's format, plurals in German.
    m_engine->submitBurst(1200);
    QTRY_VERIFY_WITH_TIMEOUT(counter("acceptedValue")->text() == QStringLiteral("1.200"), 20000);
    QVERIFY(!m_window->close());
    auto *kept = dialog()->findChild<QLabel *>(QStringLiteral("keptLabel"));
    QTRY_VERIFY2(kept->text().contains(QStringLiteral("wartende Anfragen werden gespeichert")),
                 qPrintable(kept->text()));
    QVERIFY2(kept->text().startsWith(QStringLiteral("1.199 ")), qPrintable(kept->text()));
    // Every button of the dialog speaks German too, also those built with it.
    QCOMPARE(dialog()->findChild<QPushButton *>(QStringLiteral("hideButton"))->text(), QStringLiteral("Ausblenden"));
    // The protocol never is: the log pane shows the lines as they are.
    const QString log = m_window->findChild<QPlainTextEdit *>(QStringLiteral("logView"))->toPlainText();
    QVERIFY2(log.contains(QStringLiteral("READY pid=")), qPrintable(log));
}

void tst_MainWindow::recoveryBarAfterAnUncleanStop()
{
    Options o = options(0, 60000, 60000, 1);
    {
        // A session that ends without save(), as after a crash: 10 accepted, 4 started, 2 of those done.
        StateStore store;
        StoreOptions storeOptions;
        storeOptions.path = o.statePath;
        QVERIFY2(store.open(storeOptions), qPrintable(store.errorString()));
        QSignalSpy completed(&store, &StateStore::completed);
        for (quint64 id = 1; id <= 10; ++id) {
            Job r;
            r.id = id;
            r.payload = "60000";
            store.accept(r);
        }
        store.markInProgress({1, 2, 3, 4});
        store.markDone({1, 2});
        QTRY_VERIFY_WITH_TIMEOUT(!completed.isEmpty(), 10000);
    }
    QVERIFY(launch(o));
    auto *bar = m_window->findChild<MessageBar *>(QStringLiteral("messageBar"));
    QVERIFY(bar);
    QVERIFY(bar->isVisible());
    QCOMPARE(bar->kind(), MessageBar::Kind::Warning);
    const QString text = bar->text();
    QVERIFY2(text.contains(QStringLiteral("did not stop cleanly last time")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("8 requests from last time run first now")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("2 of them had been interrupted")), qPrintable(text));
    // The same number as the Recovered counter.
    QTRY_COMPARE(counterValue("recoveredValue"), 8);
    QVERIFY(!bar->accessibleDescription().isEmpty());
    // Dismissed with its close button.
    auto *close = bar->findChild<QToolButton *>(QStringLiteral("messageBarClose"));
    QVERIFY(close);
    QVERIFY(!close->accessibleName().isEmpty());
    close->click();
    QVERIFY(!bar->isVisible());
    // A clean stop with work left queued: the next start says it runs first, as information.
    shutDown();
    QVERIFY(!QFile::exists(watchdogRecordPath(o.statePath)));
    QVERIFY(launch(o));
    bar = m_window->findChild<MessageBar *>(QStringLiteral("messageBar"));
    QVERIFY(bar->isVisible());
    QCOMPARE(bar->kind(), MessageBar::Kind::Information);
    QVERIFY2(bar->text().contains(QStringLiteral("saved when Quiesce last stopped run first now")),
             qPrintable(bar->text()));
    shutDown();

    // What the watchdog leaves when it ends a hung shutdown: the next start names the request, once.
    writeWatchdogRecord(QFile::encodeName(watchdogRecordPath(o.statePath)), {[] {
                            WorkerSnapshot w;
                            w.busy = true;
                            w.hung = true;
                            w.jobId = 17;
                            w.elapsedMs = 12000;
                            w.threadName = QStringLiteral("quiesce-worker-3");
                            return w;
                        }()});
    QVERIFY(QFile::exists(watchdogRecordPath(o.statePath)));
    QVERIFY(launch(o));
    QCOMPARE(m_engine->watchdogRecord().pid, qint64(::getpid()));
    bar = m_window->findChild<MessageBar *>(QStringLiteral("messageBar"));
    QVERIFY(bar->isVisible());
    QCOMPARE(bar->kind(), MessageBar::Kind::Warning);
    QVERIFY2(bar->text().contains(QStringLiteral("ended by its watchdog: request 17 on worker quiesce-worker-3 did "
                                                 "not respond")),
             qPrintable(bar->text()));
    QVERIFY(!QFile::exists(watchdogRecordPath(o.statePath))); // read once
}

void tst_MainWindow::recoveryBarFromTheJournalRecord()
{
    // The watchdog's sidecar is gone, but the quit path committed which request was stuck to the session's row
    // (as it does when drain or cancel overruns): the next start names it all the same.
    Options o = options(0, 60000, 60000, 1);
    {
        StateStore store;
        StoreOptions storeOptions;
        storeOptions.path = o.statePath;
        QVERIFY2(store.open(storeOptions), qPrintable(store.errorString()));
        QSignalSpy accepted(&store, &StateStore::accepted);
        WorkerSnapshot w;
        w.jobId = 5;
        w.threadName = QStringLiteral("quiesce-worker-2");
        store.noteSession(QStringLiteral("stuck"), stuckNote(w, QStringLiteral("cancel")));
        Job r;
        r.id = 5;
        r.payload = "60000";
        store.accept(r); // committed in the note's batch or after it: once accepted, the note is in the journal
        QTRY_VERIFY_WITH_TIMEOUT(!accepted.isEmpty(), 10000);
    }
    QVERIFY(!QFile::exists(watchdogRecordPath(o.statePath)));
    QVERIFY(launch(o));
    const WatchdogRecord record = m_engine->watchdogRecord();
    QVERIFY(record.present);
    QVERIFY(record.fromJournal);
    QCOMPARE(record.phase, QStringLiteral("cancel"));
    auto *bar = m_window->findChild<MessageBar *>(QStringLiteral("messageBar"));
    QVERIFY(bar && bar->isVisible());
    QCOMPARE(bar->kind(), MessageBar::Kind::Warning);
    QVERIFY2(bar->text().contains(QStringLiteral("ended by its watchdog: request 5 on worker quiesce-worker-2 did "
                                                 "not respond")),
             qPrintable(bar->text()));
    QVERIFY2(m_lines.contains(QStringLiteral("RECOVERY previous run (pid %1) was ended by the watchdog (exit 70) in "
                                             "phase cancel: request 5 on quiesce-worker-2 did not respond")
                                  .arg(::getpid())),
             qPrintable(m_lines.join(QLatin1Char('\n'))));
}

void tst_MainWindow::singleInstanceSocket()
{
    const QString runtime = m_dir.filePath(QStringLiteral("runtime"));
    QVERIFY(QDir().mkpath(runtime));
    QVERIFY(QFile::setPermissions(runtime, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
    const QByteArray oldRuntime = qgetenv("XDG_RUNTIME_DIR");
    qputenv("XDG_RUNTIME_DIR", runtime.toUtf8());
    auto restore = qScopeGuard([oldRuntime] {
        qputenv("XDG_RUNTIME_DIR", oldRuntime);
        qunsetenv("XDG_ACTIVATION_TOKEN");
    });
    const QString state = m_dir.filePath(QStringLiteral("single.sqlite"));
    {
        QFile file(state);
        QVERIFY(file.open(QIODevice::WriteOnly));
    }
    const QString link = m_dir.filePath(QStringLiteral("single-link.sqlite"));
    QVERIFY(QFile::link(state, link));
    // One socket per canonical state path, short enough for sockaddr_un, in the runtime directory.
    const QString socket = SingleInstance::socketPath(state);
    QCOMPARE(SingleInstance::socketPath(link), socket);
    QVERIFY(SingleInstance::socketPath(m_dir.filePath(QStringLiteral("other.sqlite"))) != socket);
    QVERIFY(socket.startsWith(runtime));
    QVERIFY(socket.toUtf8().size() < 108);

    QVERIFY(!SingleInstance::activateRunning(state)); // nobody listens yet
    SingleInstance first;
    QVERIFY(first.listen(state));
    SingleInstance second;
    QVERIFY(!second.listen(link)); // a live window has it
    QSignalSpy activation(&first, &SingleInstance::activationRequested);
    qputenv("XDG_ACTIVATION_TOKEN", "token-7");
    // The second launch blocks on its socket (startup only): from another thread, so the first can answer.
    auto answered = std::async(std::launch::async, [link] { return SingleInstance::activateRunning(link); });
    QVERIFY(activation.wait(10000));
    QVERIFY(answered.get());
    QCOMPARE(activation.at(0).at(0).toLongLong(), QCoreApplication::applicationPid());
    QCOMPARE(activation.at(0).at(2).toString(), QStringLiteral("token-7"));
}

void tst_MainWindow::grabIsNotBlank()
{
    QVERIFY(launch(options(25, 200, 800, 4)));
    QTRY_VERIFY_WITH_TIMEOUT(counterValue("doneValue") >= 5 && m_window->workerModel()->busyCount() > 0, 15000);
    QTRY_VERIFY(m_window->plot()->sampleCount() >= 4);
    const QImage image = m_window->grab().toImage();
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 400 && image.height() >= 300);
    QSet<QRgb> colors;
    for (int y = 0; y < image.height(); y += 2) {
        for (int x = 0; x < image.width(); x += 2)
            colors.insert(image.pixel(x, y));
    }
    // A blank or unpainted window has a handful of colours; text, bars and the plot give hundreds.
    QVERIFY2(colors.size() > 100, qPrintable(QString::number(colors.size())));
    // The plot's throughput line (its colour on this palette) is in the picture.
    const QImage plot = m_window->plot()->grab().toImage();
    const QRgb lineColor = m_window->plot()->seriesColor(ThroughputPlot::Series::Throughput, Theme::Use::Graphic).rgb();
    bool hasLine = false;
    for (int y = 0; y < plot.height() && !hasLine; ++y) {
        for (int x = 0; x < plot.width() && !hasLine; ++x)
            hasLine = plot.pixel(x, y) == lineColor;
    }
    QVERIFY(hasLine);
}

void tst_MainWindow::screenshotOption()
{
    Options o = options(20, 100, 400, 3);
    o.screenshotPath = m_dir.filePath(QStringLiteral("shot.png"));
    QVERIFY(launch(o));
    QSignalSpy taken(m_window.get(), &MainWindow::screenshotTaken);
    QSignalSpy started(m_engine->coordinator(), &ShutdownCoordinator::shutdownStarted);
    QVERIFY(taken.wait(30000));
    QCOMPARE(taken.at(0).at(0).toString(), o.screenshotPath);
    QVERIFY(taken.at(0).at(1).toBool());
    QImage image(o.screenshotPath);
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), m_window->size() * m_window->devicePixelRatio());
    // Then the quit path, as File → Quit would.
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).value<ShutdownRequest>().reason, QStringLiteral("quit"));
    QTRY_COMPARE_WITH_TIMEOUT(m_exitCode, 0, 20000);
}

void tst_MainWindow::closingWithProcessWorkersLeavesNoProcess()
{
    // The window's close takes the one quit path with worker processes too: each is stopped in order and reaped,
    // and nothing of the tree is left once the window is gone. The worker table shows each worker's pid.
    if (qEnvironmentVariableIsEmpty("QUIESCE_WORKER"))
        QSKIP("QUIESCE_WORKER is not set (run through ctest)");
    Options o = options(20, 100, 400, 3);
    o.tunables.isolation = Isolation::Process;
    QVERIFY(launch(o));
    const qint64 self = QCoreApplication::applicationPid();
    QTRY_COMPARE_WITH_TIMEOUT(ProcTree::workersOf(self).size(), 3, 20000);
    const QList<ProcTree::Proc> workers = ProcTree::workersOf(self);
    QSet<qint64> pids;
    for (const ProcTree::Proc &p : workers)
        pids.insert(p.pid);
    WorkerTableModel *model = m_window->workerModel();
    QTRY_COMPARE(model->rowCount(), 3);
    auto *table = m_window->findChild<QTableView *>(QStringLiteral("workerTable"));
    QVERIFY(table);
    QVERIFY(!table->isColumnHidden(WorkerTableModel::PidColumn));
    QVERIFY(!table->isColumnHidden(WorkerTableModel::RestartsColumn));
    QSet<qint64> shown;
    for (int row = 0; row < 3; ++row)
        shown.insert(model->index(row, WorkerTableModel::PidColumn).data().toLongLong());
    QCOMPARE(shown, pids);
    QTRY_VERIFY_WITH_TIMEOUT(m_engine->counters().done > 0, 20000);

    QSignalSpy finished(m_engine->coordinator(), &ShutdownCoordinator::finished);
    QVERIFY(!m_window->close());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
    QCOMPARE(m_exitCode, 0);
    QTRY_VERIFY(!m_window->isVisible());
    // Reaped by the pool before the quit path ended: gone now, not only soon, and no zombie of them left.
    QVERIFY2(ProcTree::survivors(workers).isEmpty(), qPrintable(ProcTree::describe(ProcTree::survivors(workers))));
    QVERIFY(ProcTree::workersOf(self).isEmpty());
    const QList<ProcTree::Proc> zombies = ProcTree::zombieChildrenOf(self);
    for (const ProcTree::Proc &z : zombies)
        QVERIFY2(z.comm != QByteArrayLiteral("quiesce-worker"), qPrintable(z.describe()));
    const QStringList report = m_lines.filter(QStringLiteral("SHUTDOWN report"));
    QCOMPARE(report.size(), 1);
    QVERIFY2(report.constFirst().contains(QStringLiteral(" workers_stopped=3")), qPrintable(report.constFirst()));
    QVERIFY2(report.constFirst().contains(QStringLiteral(" workers_killed=0")), qPrintable(report.constFirst()));
}

QTEST_MAIN(tst_MainWindow)
#include "tst_mainwindow.moc"
