#include "mainwindow.h"

#include "engine.h"
#include "lineoutput.h"
#include "messagebar.h"
#include "pluginfreeicons.h"
#include "progressdelegate.h"
#include "requestsource.h"
#include "shutdowndialog.h"
#include "themecolors.h"
#include "throughputplot.h"
#include "workertablemodel.h"
#include <Quiesce/statestore.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QLocale>
#include <QtCore/QSettings>
#include <QtGui/QAction>
#include <QtGui/QCloseEvent>
#include <QtGui/QFontDatabase>
#include <QtGui/QGuiApplication>
#include <QtGui/QIcon>
#include <QtGui/QKeySequence>
#include <QtGui/QPixmap>
#include <QtGui/QScreen>
#if QT_CONFIG(sessionmanager)
#include <QtGui/QSessionManager>
#endif
#include <QtWidgets/QApplication>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QDoubleSpinBox>
#include <QtWidgets/QGridLayout>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QMenu>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QStyle>
#include <QtWidgets/QStyleOptionHeader>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolBar>
#include <QtWidgets/QToolButton>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>

namespace Quiesce::App {

using namespace std::chrono_literals;

namespace {

constexpr auto kPollInterval = 125ms;           // 8 Hz: smooth progress bars, negligible cost (snapshot() is cheap)
constexpr auto kPlotInterval = 500ms;           // two samples a second: 120 points for the minute shown
constexpr qint64 kThroughputWindowMs = 2000;    // the plotted rate is averaged over this long
constexpr qint64 kScreenshotAfterMs = 4000;     // --screenshot: let the plot and the table fill first ...
constexpr quint64 kScreenshotAfterDone = 3;     // ... and some requests finish
constexpr qint64 kScreenshotAtLatestMs = 15000; // ... but never wait forever (e.g. --rate 0)
constexpr int kLogLines = 5000;
constexpr int kDefaultBurst = 20;
constexpr int kStatusMessageMs = 8000;

// Settings keys: one place, so that a rename cannot leave a reader and a writer disagreeing.
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");
const QString kSplitterKey = QStringLiteral("window/splitter");
const QString kRateKey = QStringLiteral("control/rate");
const QString kWorkersKey = QStringLiteral("control/workers");
const QString kBurstKey = QStringLiteral("control/burst");
const QString kAskKey = QStringLiteral("behavior/askBeforeQuit");

enum CounterIndex { Accepted, Done, Queued, InFlight, Shed, Recovered, Workers, Rate, CounterCount };

QString settingsStatusText(QSettings::Status status)
{
    switch (status) {
    case QSettings::NoError:
        return QString();
    case QSettings::AccessError:
        return QStringLiteral("access denied");
    case QSettings::FormatError:
        return QStringLiteral("the file is not a valid settings file");
    }
    return QStringLiteral("unknown error");
}

// The tooltip says what the action does and how to reach it from the keyboard; the status tip says the same.
void describeAction(QAction *action, const QString &description)
{
    action->setStatusTip(description);
    const QKeySequence key = action->shortcut();
    action->setToolTip(key.isEmpty()
                           ? description
                           : MainWindow::tr("%1 (%2)").arg(description, key.toString(QKeySequence::NativeText)));
}

// The workers table's column header. QHeaderView measures every section's title in the bold variant of its font
// (so that a title painted bold, as a highlighted section is, always fits its size hint): a font engine of its own,
// set up on the start's critical path before the first frame (about 1.3 M instructions on the main thread, much of
// it fontconfig's match for the engine's hinting) for text that is painted in the regular font. This header
// measures in the font it paints with. Its sections never take their width from that measure (each has a set
// width or stretches: tst_MainWindow::headerTitlesFitWhenBold checks that a bold title fits its section all the
// same), and a weight does not change a font's height: the header looks the same.
class WorkerHeader final : public QHeaderView
{
public:
    explicit WorkerHeader(QWidget *parent)
        : QHeaderView(Qt::Horizontal, parent)
    {
        // What QTableView sets on the header it makes itself.
        setSectionsClickable(true);
        setHighlightSections(true);
    }

protected:
    QSize sectionSizeFromContents(int logicalIndex) const override
    {
        // QHeaderView's own, less the bold font (the model gives no size hint, font or decoration for a section).
        ensurePolished();
        QStyleOptionHeader option;
        initStyleOption(&option);
        option.section = logicalIndex;
        option.text = model()->headerData(logicalIndex, orientation(), Qt::DisplayRole).toString();
        if (isSortIndicatorShown())
            option.sortIndicator = QStyleOptionHeader::SortDown;
        return style()->sizeFromContents(QStyle::CT_HeaderSection, &option, QSize(), this);
    }
};

// Whether the --config file (if any) sets \a key, at the top level or in its [quiesce] group, as readConfigFile()
// reads it: such a key is the file's, not the window's.
bool configNames(const QString &path, const QString &key)
{
    if (path.isEmpty())
        return false;
    const QSettings config(path, QSettings::IniFormat);
    return config.contains(key) || config.contains(QStringLiteral("quiesce/") + key);
}

} // namespace

MainWindow::MainWindow(Engine *engine, const Options &options, QWidget *parent)
    : MainWindow(engine, options, AttachLater {}, parent)
{
    attachEngine(options);
}

MainWindow::MainWindow(Engine *engine, const Options &options, AttachLater, QWidget *parent)
    : QMainWindow(parent)
    , m_engine(engine)
    , m_model(new WorkerTableModel(this))
    , m_plot(new ThroughputPlot(this))
    , m_table(new QTableView(this))
    , m_log(new QPlainTextEdit(this))
    , m_splitter(new QSplitter(Qt::Vertical, this))
    , m_statusLabel(new QLabel(this))
    , m_messageBar(new MessageBar(this))
    , m_screenshotPath(options.screenshotPath)
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("Quiesce"));

    buildActions();
    buildCentralWidget();
    restoreLayout();
}

void MainWindow::attachEngine(const Options &options)
{
    // Application-wide, so set only now: a start whose journal cannot open never shows this window, and its error
    // box must look as it did before any window was built.
    const QIcon icon = PluginFreeIcons::applicationIcon();
    setWindowIcon(icon);
    QGuiApplication::setWindowIcon(icon);
    // Wayland compositors and docks match the window to resources/quiesce.desktop by this name.
    QGuiApplication::setDesktopFileName(QStringLiteral("quiesce"));
    // The process ends through the coordinator only. Closing the last window must not quit on its own, or a
    // close that slipped past closeEvent (or the dialog's) would bypass the quit path.
    QGuiApplication::setQuitOnLastWindowClosed(false);

    restoreSettings(options);
    showRecovery();

    Engine *engine = m_engine;
    connect(engine, &Engine::line, this, &MainWindow::appendLog);
    connect(engine, &Engine::countersChanged, this, &MainWindow::updateCounters);
    ShutdownCoordinator *coordinator = engine->coordinator();
    connect(coordinator, &ShutdownCoordinator::shutdownStarted, this, &MainWindow::onShutdownStarted);
    connect(coordinator, &ShutdownCoordinator::phaseStarted, this, &MainWindow::updateStatus);
    connect(coordinator, &ShutdownCoordinator::escalated, this, &MainWindow::updateStatus);
    connect(coordinator, &ShutdownCoordinator::finished, this, &MainWindow::onShutdownFinished);

#if QT_CONFIG(sessionmanager)
    if (auto *guiApp = qobject_cast<QGuiApplication *>(QCoreApplication::instance())) {
        connect(guiApp, &QGuiApplication::commitDataRequest, this, [this](QSessionManager &manager) {
            // No interaction and never manager.cancel(): a logout is not ours to veto.
            Q_UNUSED(manager);
            commitSessionData();
        });
    }
#endif

    m_pollTimer.setInterval(kPollInterval);
    connect(&m_pollTimer, &QTimer::timeout, this, &MainWindow::poll);
    m_pollTimer.start();
    m_plotTimer.setInterval(kPlotInterval);
    connect(&m_plotTimer, &QTimer::timeout, this, &MainWindow::samplePlot);
    m_plotClock.start();
    m_plotTimer.start();
    poll();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildActions()
{
    const QPalette pal = palette();

    m_quitAction = new QAction(Theme::toolIcon(Theme::ToolIcon::Quit, pal), tr("&Quit"), this);
    m_quitAction->setObjectName(QStringLiteral("quitAction"));
    m_quitAction->setMenuRole(QAction::QuitRole);
    // The platform's Quit (Ctrl+Q on Linux desktops); Ctrl+Q where the platform names none.
    const QList<QKeySequence> quitKeys = QKeySequence::keyBindings(QKeySequence::Quit);
    m_quitAction->setShortcuts(quitKeys.isEmpty() ? QList<QKeySequence> {QKeySequence(Qt::CTRL | Qt::Key_Q)}
                                                  : quitKeys);
    m_quitAction->setShortcutContext(Qt::ApplicationShortcut);
    describeAction(m_quitAction, tr("Stop intake, let the requests in progress finish, save, exit"));
    connect(m_quitAction, &QAction::triggered, this, [this] { requestQuit(QStringLiteral("quit")); });

    // Not Ctrl+P (Print everywhere else) nor Ctrl+B (Bold): shortcuts that clash with no standard one.
    m_pauseAction = new QAction(Theme::toolIcon(Theme::ToolIcon::Pause, pal), tr("&Pause intake"), this);
    m_pauseAction->setObjectName(QStringLiteral("pauseAction"));
    m_pauseAction->setCheckable(true);
    m_pauseAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    describeAction(m_pauseAction, tr("Suspend new arrivals; the workers finish what is queued (like SIGUSR2)"));
    connect(m_pauseAction, &QAction::toggled, this, [this](bool paused) {
        m_engine->setPaused(paused);
        updatePauseAction();
        updateStatus();
    });

    m_burstAction = new QAction(Theme::toolIcon(Theme::ToolIcon::Burst, pal), tr("Submit &burst"), this);
    m_burstAction->setObjectName(QStringLiteral("burstAction"));
    m_burstAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B));
    describeAction(m_burstAction, tr("Submit the number of requests set in Burst size at once"));
    connect(m_burstAction, &QAction::triggered, this, [this] {
        m_engine->submitBurst(m_burstSpin->value());
        // While paused a burst waits: say so, or the click seems to do nothing.
        if (m_pauseAction->isChecked()) {
            statusBar()->showMessage(tr("Intake is paused: the burst of %Ln request(s) is submitted when you resume",
                                        nullptr, m_burstSpin->value()),
                                     kStatusMessageMs);
        }
    });

    m_hangAction = new QAction(Theme::toolIcon(Theme::ToolIcon::Hang, pal), tr("Simulate a &hung request"), this);
    m_hangAction->setObjectName(QStringLiteral("hangAction"));
    describeAction(m_hangAction, tr("The next request blocks, deaf to cancellation, like a stuck blocking call"));
    connect(m_hangAction, &QAction::triggered, this, [this] {
        m_engine->simulateHangNext();
        appendLog(tr("GUI the next request will hang"));
    });

    m_askAction = new QAction(tr("&Ask before quitting while requests are in progress"), this);
    m_askAction->setObjectName(QStringLiteral("askBeforeQuitAction"));
    m_askAction->setCheckable(true);
    m_askAction->setStatusTip(tr("Only for closing the window or File \u2192 Quit; signals and logout never ask"));
    connect(m_askAction, &QAction::toggled, this, [this] { saveSettings(); });

    m_burstSpin = new QSpinBox(this);
    m_burstSpin->setObjectName(QStringLiteral("burstSpin"));
    m_burstSpin->setRange(1, 100000);
    m_burstSpin->setValue(kDefaultBurst);
    m_burstSpin->setToolTip(tr("Requests per burst"));
    m_burstSpin->setAccessibleName(tr("Burst size"));
    m_burstSpin->setAccessibleDescription(tr("Requests per burst"));
    m_burstSpin->setAccelerated(true);
    connect(m_burstSpin, &QSpinBox::valueChanged, this, [this] { saveSettings(); });

    m_rateSpin = new QDoubleSpinBox(this);
    m_rateSpin->setObjectName(QStringLiteral("rateSpin"));
    m_rateSpin->setRange(0, 10000);
    m_rateSpin->setDecimals(1);
    m_rateSpin->setSuffix(tr(" req/s"));
    m_rateSpin->setToolTip(tr("Mean arrival rate (Poisson); 0 = no arrivals"));
    m_rateSpin->setAccessibleName(tr("Arrival rate"));
    m_rateSpin->setAccessibleDescription(tr("Mean arrival rate in requests per second; 0 = no arrivals"));
    m_rateSpin->setAccelerated(true);
    // Apply on Enter, focus out or an arrow click, not on every keystroke of "120".
    m_rateSpin->setKeyboardTracking(false);

    m_workersSpin = new QSpinBox(this);
    m_workersSpin->setObjectName(QStringLiteral("workersSpin"));
    m_workersSpin->setRange(1, 256);
    m_workersSpin->setToolTip(tr("Worker threads; fewer retire idle ones first, a busy one after its request"));
    m_workersSpin->setAccessibleName(tr("Workers"));
    m_workersSpin->setAccessibleDescription(m_workersSpin->toolTip());
    m_workersSpin->setKeyboardTracking(false);

    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_quitAction);
    QMenu *control = menuBar()->addMenu(tr("&Control"));
    control->addAction(m_pauseAction);
    control->addAction(m_burstAction);
    control->addAction(m_hangAction);
    QMenu *settings = menuBar()->addMenu(tr("&Settings"));
    settings->addAction(m_askAction);
    settings->addSeparator();
    QAction *restore = settings->addAction(tr("Restore &defaults"), this, &MainWindow::restoreDefaults);
    restore->setObjectName(QStringLiteral("restoreDefaultsAction"));
    describeAction(restore,
                   tr("Forget the values changed in this window; the command line and the config file "
                      "still apply"));
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *shortcuts = help->addAction(tr("&Help and Keyboard Shortcuts"), this, &MainWindow::showShortcuts);
    shortcuts->setObjectName(QStringLiteral("shortcutsAction"));
    shortcuts->setShortcuts(QKeySequence::HelpContents);
    describeAction(shortcuts, tr("What the window does and every keyboard shortcut"));
    help->addSeparator();
    QAction *about = help->addAction(tr("&About Quiesce"), this, &MainWindow::showAbout);
    about->setObjectName(QStringLiteral("aboutAction"));
    about->setMenuRole(QAction::AboutRole);
    QAction *aboutQt = help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
    aboutQt->setObjectName(QStringLiteral("aboutQtAction"));
    aboutQt->setMenuRole(QAction::AboutQtRole);

    QToolBar *bar = addToolBar(tr("Control"));
    bar->setObjectName(QStringLiteral("controlToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->setMovable(false);
    bar->addAction(m_pauseAction);
    bar->addSeparator();
    // Each spin box with a visible label that is its buddy: Alt+B, Alt+R, Alt+W jump to it.
    auto labelFor = [this, bar](const QString &text, QWidget *buddy) {
        auto *label = new QLabel(text, this);
        label->setBuddy(buddy);
        label->setContentsMargins(6, 0, 3, 0);
        bar->addWidget(label);
        bar->addWidget(buddy);
    };
    labelFor(tr("&Burst size"), m_burstSpin);
    bar->addAction(m_burstAction);
    bar->addSeparator();
    labelFor(tr("Arrival &rate"), m_rateSpin);
    labelFor(tr("&Workers"), m_workersSpin);
    bar->addSeparator();
    bar->addAction(m_hangAction);
    bar->addSeparator();
    bar->addAction(m_quitAction);
    // On a narrow screen the rest of the toolbar hides behind Qt's "»" button: give it a name a reader can say.
    if (auto *more = bar->findChild<QToolButton *>(QStringLiteral("qt_toolbar_ext_button")))
        more->setAccessibleName(tr("More controls"));
}

void MainWindow::buildCentralWidget()
{
    // Counters: a label and a big value each, two columns.
    auto *countersBox = new QGroupBox(tr("Counters"), this);
    auto *grid = new QGridLayout(countersBox);
    const QString names[CounterCount] = {tr("Accepted"), tr("Done"),      tr("Queued"),       tr("In progress"),
                                         tr("Shed"),     tr("Recovered"), tr("Workers busy"), tr("Done/s")};
    const char *objectNames[CounterCount] = {"acceptedValue", "doneValue",      "queuedValue",  "inFlightValue",
                                             "shedValue",     "recoveredValue", "workersValue", "rateValue"};
    QFont valueFont = font();
    valueFont.setPointSizeF(valueFont.pointSizeF() * 1.5);
    valueFont.setBold(true);
    // The eight values share one font, so one measure of six digits serves all (each measure shapes the text).
    int valueWidth = -1;
    for (int i = 0; i < CounterCount; ++i) {
        auto *name = new QLabel(names[i], countersBox);
        auto *value = new QLabel(QStringLiteral("0"), countersBox);
        value->setObjectName(QString::fromLatin1(objectNames[i]));
        value->setFont(valueFont);
        value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        if (valueWidth < 0)
            valueWidth = value->fontMetrics().horizontalAdvance(QStringLiteral("000000"));
        value->setMinimumWidth(valueWidth);
        // A screen reader reads the value with its name ("Accepted, 120"), not a bare number.
        value->setAccessibleName(i == Rate ? tr("Requests done per second") : names[i]);
        if (i == Rate)
            value->setToolTip(tr("Requests done per second over the last two seconds, as the plot shows"));
        const int row = i / 2;
        const int column = (i % 2) * 2;
        grid->addWidget(name, row, column);
        grid->addWidget(value, row, column + 1);
        m_counterValues.append(value);
    }
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(3, 1);
    grid->setHorizontalSpacing(14);

    auto *plotBox = new QGroupBox(tr("Throughput and queue depth"), this);
    auto *plotLayout = new QVBoxLayout(plotBox);
    m_plot->setObjectName(QStringLiteral("throughputPlot"));
    m_plot->setAccessibleName(tr("Throughput and queue depth"));
    m_plot->setQueueLimit(m_engine->tunables().queueLimit);
    plotLayout->addWidget(m_plot);

    auto *top = new QWidget(this);
    auto *topLayout = new QHBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(countersBox, 0);
    topLayout->addWidget(plotBox, 1);

    m_table->setObjectName(QStringLiteral("workerTable"));
    m_table->setHorizontalHeader(new WorkerHeader(m_table));
    m_table->setModel(m_model);
    m_model->setPalette(m_table->palette());
    m_table->setItemDelegateForColumn(WorkerTableModel::ProgressColumn, new ProgressDelegate(m_table));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    // Tab leaves the table (no focus trap); the arrow keys move within it.
    m_table->setTabKeyNavigation(false);
    m_table->setAccessibleName(tr("Workers"));
    m_table->setAccessibleDescription(tr("One row per worker thread: state, request, progress and time taken"));
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 10);
    QHeaderView *header = m_table->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(WorkerTableModel::ProgressColumn, QHeaderView::Stretch);
    header->resizeSection(WorkerTableModel::ThreadColumn, 160);
    header->resizeSection(WorkerTableModel::StateColumn, 80);
    header->resizeSection(WorkerTableModel::RequestColumn, 90);
    header->resizeSection(WorkerTableModel::ElapsedColumn, 90);
    // A worker process's pid and restarts; threads have neither.
    const bool processes = m_engine->tunables().isolation == Isolation::Process;
    m_table->setColumnHidden(WorkerTableModel::PidColumn, !processes);
    m_table->setColumnHidden(WorkerTableModel::RestartsColumn, !processes);

    m_log->setObjectName(QStringLiteral("logView"));
    m_log->setReadOnly(true);
    // Reachable and selectable from the keyboard; Tab moves on instead of being swallowed.
    m_log->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_log->setTabChangesFocus(true);
    m_log->setAccessibleName(tr("Lifecycle log"));
    m_log->setMaximumBlockCount(kLogLines);
    m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_log->setPlaceholderText(tr("Lifecycle lines (READY, SHUTDOWN ...) appear here."));

    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->addWidget(top);
    m_splitter->addWidget(m_table);
    m_splitter->addWidget(m_log);
    m_splitter->setStretchFactor(0, 2);
    m_splitter->setStretchFactor(1, 2);
    m_splitter->setStretchFactor(2, 1);
    m_splitter->setChildrenCollapsible(false);
    // The message bar (shown after an unclean stop) sits above everything else; not edge to edge: the style's
    // margin around the content.
    auto *central = new QWidget(this);
    auto *centralLayout = new QVBoxLayout(central);
    const int margin = style()->pixelMetric(QStyle::PM_LayoutLeftMargin) / 2;
    centralLayout->setContentsMargins(margin, margin, margin, 0);
    centralLayout->addWidget(m_messageBar);
    centralLayout->addWidget(m_splitter, 1);
    setCentralWidget(central);
    // Toolbar controls, then the table, then the log: the order they are read in.
    QWidget::setTabOrder(m_burstSpin, m_rateSpin);
    QWidget::setTabOrder(m_rateSpin, m_workersSpin);
    QWidget::setTabOrder(m_workersSpin, m_table);
    QWidget::setTabOrder(m_table, m_log);
    // The workers are what the window is about: they get the focus first (arrows move in them, Tab moves on).
    m_table->setFocus(Qt::OtherFocusReason);

    m_statusLabel->setObjectName(QStringLiteral("statusLabel"));
    statusBar()->addPermanentWidget(m_statusLabel);
}

// What the window alone remembers: it needs nothing of the engine.
void MainWindow::restoreLayout()
{
    QSettings settings;
    if (!restoreGeometry(settings.value(kGeometryKey).toByteArray()))
        fitToScreen();
    restoreState(settings.value(kStateKey).toByteArray());
    if (!m_splitter->restoreState(settings.value(kSplitterKey).toByteArray()))
        m_splitter->setSizes({260, 190, 180}); // counters and plot, a handful of workers, the log
    {
        const QSignalBlocker blockAsk(m_askAction);
        const QSignalBlocker blockBurst(m_burstSpin);
        m_askAction->setChecked(settings.value(kAskKey, false).toBool());
        m_burstSpin->setValue(settings.value(kBurstKey, m_burstSpin->value()).toInt());
    }
}

// The saved rate and worker count: applied to the engine, so only once its journal is open.
void MainWindow::restoreSettings(const Options &options)
{
    QSettings settings;
    // Precedence (docs/ARCHITECTURE.md): command line > --config file > values changed in the window > built-in
    // defaults. A key the command line or the config file set is theirs for this run; the window's remembered
    // value applies only to the others.
    m_baseTunables = m_engine->tunables();
    Tunables t = m_baseTunables;
    auto windowMayApply = [&options](const QString &key) {
        return !options.explicitTunables.contains(key) && !configNames(options.configPath, key);
    };
    bool ok = false;
    const double rate = settings.value(kRateKey).toDouble(&ok);
    if (ok && windowMayApply(QStringLiteral("rate")) && rate >= 0 && rate <= m_rateSpin->maximum()) {
        t.rate = rate;
        m_engine->setWindowTunable(QStringLiteral("rate"), QString::number(rate));
    }
    const int workers = settings.value(kWorkersKey).toInt(&ok);
    if (ok && windowMayApply(QStringLiteral("workers")) && workers >= 1 && workers <= m_workersSpin->maximum()) {
        t.workers = workers;
        m_engine->setWindowTunable(QStringLiteral("workers"), QString::number(workers));
    }
    if (t != m_engine->tunables())
        m_engine->applyTunables(t);
    {
        const QSignalBlocker blockRate(m_rateSpin);
        const QSignalBlocker blockWorkers(m_workersSpin);
        m_rateSpin->setValue(m_engine->tunables().rate);
        m_workersSpin->setValue(m_engine->tunables().workers);
    }
    // Connected only now, so that restoring the values does not write them back as if the user changed them.
    connect(m_rateSpin, &QDoubleSpinBox::valueChanged, this, &MainWindow::applyControlsToEngine);
    connect(m_workersSpin, &QSpinBox::valueChanged, this, &MainWindow::applyControlsToEngine);
}

void MainWindow::activateFromAnotherLaunch(qint64 pid, const QString &startupId, const QString &activationToken)
{
    // The desktop's permission to take the focus travels with the second launch: hand it to the platform plugin,
    // which reads it when the window asks to be activated (X11 startup notification, Wayland xdg-activation).
    if (!startupId.isEmpty())
        qputenv("DESKTOP_STARTUP_ID", startupId.toUtf8());
    if (!activationToken.isEmpty())
        qputenv("XDG_ACTIVATION_TOKEN", activationToken.toUtf8());
    if (isMinimized())
        showNormal();
    show();
    raise();
    activateWindow();
    if (m_engine->coordinator()->isShuttingDown() && !m_exitReached)
        shutdownDialog()->showAgain();
    appendLog(QStringLiteral("GUI raised by a second launch (pid %1)").arg(pid));
}

void MainWindow::showRecovery()
{
    // One number everywhere: "pending after recovery" is what the Recovered counter shows and what runs first.
    const RecoveryInfo recovery = m_engine->recovery();
    const auto pending = qint64(recovery.pending);
    const WatchdogRecord watchdog = m_engine->watchdogRecord();
    if (watchdog.present) {
        // The shutdown hung and the watchdog ended the process (exit 70): say so, and which request it was.
        QString text =
            QStringLiteral("<b>%1</b> ")
                .arg(
                    watchdog.requestId != 0
                        ? tr("Last time Quiesce had to be ended by its watchdog: request %1 on worker %2 did not "
                             "respond.")
                              .arg(QLocale().toString(watchdog.requestId), watchdog.worker)
                        : tr(
                            "Last time Quiesce had to be ended by its watchdog: its shutdown did not finish in time."));
        text += tr("Nothing accepted was lost: %Ln request(s) from last time run first now.", nullptr, int(pending));
        m_messageBar->showMessage(MessageBar::Kind::Warning, text);
        appendLog(QStringLiteral("GUI last run ended by the watchdog (pid %1, request %2 on %3)")
                      .arg(watchdog.pid)
                      .arg(watchdog.requestId)
                      .arg(watchdog.worker));
    } else if (recovery.previousUnclean) {
        QString text =
            QStringLiteral("<b>%1</b> ")
                .arg(tr("Quiesce did not stop cleanly last time (process %1: a crash, a power cut or a forced kill).")
                         .arg(recovery.previousPid));
        text += tr("Nothing accepted was lost: %Ln request(s) from last time run first now.", nullptr, int(pending));
        if (recovery.recovered > 0) {
            text += QLatin1Char(' ')
                + tr("%Ln of them had been interrupted while in progress and run again.", nullptr,
                     int(recovery.recovered));
        }
        m_messageBar->showMessage(MessageBar::Kind::Warning, text);
    } else if (pending > 0) {
        m_messageBar->showMessage(
            MessageBar::Kind::Information,
            tr("%Ln request(s) saved when Quiesce last stopped run first now.", nullptr, int(pending)));
    }
}

void MainWindow::fitToScreen()
{
    // The size it was designed for, but never more than most of the available screen (at 2× scale 1100×720 would
    // push Quit and the Elapsed column off-screen), and centred on it.
    QSize size(1100, 720);
    if (const QScreen *screen = this->screen() ? this->screen() : QGuiApplication::primaryScreen()) {
        const QRect available = screen->availableGeometry();
        size = size.boundedTo(available.size() * 0.9).expandedTo(minimumSizeHint());
        resize(size);
        move(available.center() - rect().center());
        return;
    }
    resize(size);
}

void MainWindow::applyControlsToEngine()
{
    Tunables t = m_engine->tunables();
    const Tunables before = t;
    t.rate = m_rateSpin->value();
    t.workers = m_workersSpin->value();
    if (t == before)
        return;
    // Only what the person changed here is remembered: a --rate from the command line is for this run only.
    m_rateChangedHere = m_rateChangedHere || t.rate != before.rate;
    m_workersChangedHere = m_workersChangedHere || t.workers != before.workers;
    // A reload keeps what was changed here, unless the config file or the command line sets it (precedence).
    if (t.rate != before.rate)
        m_engine->setWindowTunable(QStringLiteral("rate"), QString::number(t.rate));
    if (t.workers != before.workers)
        m_engine->setWindowTunable(QStringLiteral("workers"), QString::number(t.workers));
    m_engine->applyTunables(t);
    appendLog(QStringLiteral("GUI %1").arg(describeChanges(before, t)));
    saveSettings();
}

bool MainWindow::saveSettings()
{
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
    settings.setValue(kSplitterKey, m_splitter->saveState());
    settings.setValue(kAskKey, m_askAction->isChecked());
    settings.setValue(kBurstKey, m_burstSpin->value());
    // Never the command line's values: a key not changed in this window keeps what an earlier session chose.
    if (m_rateChangedHere)
        settings.setValue(kRateKey, m_rateSpin->value());
    if (m_workersChangedHere)
        settings.setValue(kWorkersKey, m_workersSpin->value());
    settings.sync();
    if (settings.status() == QSettings::NoError)
        return true;
    if (!m_settingsErrorReported) {
        m_settingsErrorReported = true;
        const QString message = QStringLiteral("SETTINGS cannot be saved to %1: %2")
                                    .arg(settings.fileName(), settingsStatusText(settings.status()));
        appendLog(message);
        writeStderrLine(message);
    }
    return false;
}

void MainWindow::restoreDefaults()
{
    {
        QSettings settings;
        for (const QString &key : {kRateKey, kWorkersKey, kBurstKey, kAskKey})
            settings.remove(key);
    }
    m_rateChangedHere = false;
    m_workersChangedHere = false;
    m_engine->clearWindowTunables();
    {
        const QSignalBlocker blockAsk(m_askAction);
        const QSignalBlocker blockBurst(m_burstSpin);
        m_askAction->setChecked(false);
        m_burstSpin->setValue(kDefaultBurst);
    }
    // Back to what this run would use without remembered values: the command line, the config file, the defaults.
    const Tunables before = m_engine->tunables();
    Tunables t = before;
    t.rate = m_baseTunables.rate;
    t.workers = m_baseTunables.workers;
    if (t != before) {
        m_engine->applyTunables(t);
        appendLog(QStringLiteral("GUI defaults restored: %1").arg(describeChanges(before, t)));
    }
    {
        const QSignalBlocker blockRate(m_rateSpin);
        const QSignalBlocker blockWorkers(m_workersSpin);
        m_rateSpin->setValue(t.rate);
        m_workersSpin->setValue(t.workers);
    }
    saveSettings();
}

bool MainWindow::askBeforeQuit() const
{
    return m_askAction->isChecked();
}

void MainWindow::setAskBeforeQuit(bool ask)
{
    m_askAction->setChecked(ask);
}

ShutdownDialog *MainWindow::shutdownDialog()
{
    if (!m_dialog) {
        m_dialog = new ShutdownDialog(m_engine->coordinator(), this);
        // The only ways the window escalates, each an explicit, separately placed choice: "Stop now" (graceful →
        // FAST) and the confirmed "Exit immediately…" (FAST → immediate). The dialog emits each only in its mode.
        connect(m_dialog, &ShutdownDialog::stopNowRequested, this,
                [this] { m_engine->requestShutdown(QStringLiteral("stop-now")); });
        connect(m_dialog, &ShutdownDialog::exitImmediatelyRequested, this,
                [this] { m_engine->requestShutdown(QStringLiteral("exit-now")); });
    }
    return m_dialog;
}

ThroughputPlot *MainWindow::plot() const
{
    return m_plot;
}

WorkerTableModel *MainWindow::workerModel() const
{
    return m_model;
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_exitReached) {
        event->accept();
        return;
    }
    // Never close directly: the quit path decides when the process (and so the window) ends.
    event->ignore();
    requestQuit(QStringLiteral("window"));
}

bool MainWindow::event(QEvent *event)
{
    // What the first frame does not show is built right after it, so that the window appears sooner: the shutdown
    // dialog (ready before a stop needs it; a stop that comes first builds it then, and it catches up).
    if (event->type() == QEvent::Paint && !m_firstFramePainted) {
        m_firstFramePainted = true;
        QTimer::singleShot(0, this, [this] { shutdownDialog(); });
    }
    return QMainWindow::event(event);
}

void MainWindow::showEvent(QShowEvent *event)
{
    QMainWindow::showEvent(event);
    if (!m_shownClock.isValid())
        m_shownClock.start();
}

void MainWindow::showAbout()
{
    const QString licence = QStringLiteral(QUIESCE_LICENSE);
    auto *box = new QMessageBox(
        QMessageBox::NoIcon, tr("About Quiesce"),
        tr("<h3>Quiesce %1</h3>"
           "<p>Simulated request processing on worker threads that stops in order: it stops taking requests, lets "
           "those in progress finish, saves the rest for the next start and exits.</p>"
           "<p>Closing this window, File \u2192 Quit, logging out and the signals SIGTERM and SIGINT all take that "
           "same path.</p>")
                .arg(QStringLiteral(QUIESCE_APP_VERSION))
            + tr("<p>Website: <a href=\"%1\">%1</a><br>Licence: %2<br>Built with Qt %3, running on Qt %4.</p>")
                  .arg(QStringLiteral(QUIESCE_HOMEPAGE),
                       licence.isEmpty() ? tr("not declared yet (see the README)") : licence,
                       QStringLiteral(QT_VERSION_STR), QString::fromLatin1(qVersion())),
        QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("aboutBox"));
    box->setTextFormat(Qt::RichText);
    box->setTextInteractionFlags(Qt::TextBrowserInteraction);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setIconPixmap(windowIcon().pixmap(64, 64));
    box->open();
}

void MainWindow::showShortcuts()
{
    if (m_shortcuts) {
        m_shortcuts->show();
        m_shortcuts->raise();
        m_shortcuts->activateWindow();
        return;
    }
    // Built from the actions themselves, so the list can never disagree with what the keys do.
    QString rows;
    auto row = [&rows](const QString &what, const QString &keys) {
        rows += QStringLiteral("<tr><td>%1</td><td>&nbsp;&nbsp;<b>%2</b></td></tr>")
                    .arg(what.toHtmlEscaped(), keys.toHtmlEscaped());
    };
    for (QAction *action : {m_quitAction, m_pauseAction, m_burstAction}) {
        row(QString(action->text()).remove(QLatin1Char('&')), action->shortcut().toString(QKeySequence::NativeText));
    }
    row(tr("Help and keyboard shortcuts"), QKeySequence(QKeySequence::HelpContents).toString(QKeySequence::NativeText));
    row(tr("Go to Burst size, Arrival rate, Workers"), tr("Alt+B, Alt+R, Alt+W"));
    row(tr("Next or previous control"), tr("Tab, Shift+Tab"));
    row(tr("Open a menu"), tr("Alt + the underlined letter, or F10"));
    auto *box = new QMessageBox(QMessageBox::NoIcon, tr("Help and Keyboard Shortcuts"),
                                tr("<p>The window shows the workers, the counters, a plot of the last minute and the "
                                   "log. Closing it stops Quiesce in order: no new requests, those in progress "
                                   "finish, queued ones are saved and run first next time. While it stops, closing "
                                   "again only shows its progress; only \u201cStop now\u201d hurries it.</p>")
                                    + QStringLiteral("<table>%1</table>").arg(rows),
                                QMessageBox::Close, this);
    box->setObjectName(QStringLiteral("shortcutsBox"));
    box->setTextFormat(Qt::RichText);
    box->setWindowModality(Qt::NonModal);
    box->setAttribute(Qt::WA_DeleteOnClose);
    m_shortcuts = box;
    box->show();
}

void MainWindow::updatePauseAction()
{
    // The label says what a click does now: "Resume intake" while paused.
    const bool paused = m_pauseAction->isChecked();
    m_pauseAction->setText(paused ? tr("&Resume intake") : tr("&Pause intake"));
    m_pauseAction->setIcon(Theme::toolIcon(paused ? Theme::ToolIcon::Resume : Theme::ToolIcon::Pause, palette()));
    describeAction(m_pauseAction,
                   paused ? tr("Accept new arrivals again (like SIGUSR2)")
                          : tr("Suspend new arrivals; the workers finish what is queued (like SIGUSR2)"));
}

void MainWindow::changeEvent(QEvent *event)
{
    QMainWindow::changeEvent(event);
    // A new palette (light ↔ dark) or style: icons and colours are drawn from it, so draw them again.
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange)
        updateIcons();
}

void MainWindow::updateIcons()
{
    const QPalette pal = palette();
    m_quitAction->setIcon(Theme::toolIcon(Theme::ToolIcon::Quit, pal));
    m_pauseAction->setIcon(
        Theme::toolIcon(m_pauseAction->isChecked() ? Theme::ToolIcon::Resume : Theme::ToolIcon::Pause, pal));
    m_burstAction->setIcon(Theme::toolIcon(Theme::ToolIcon::Burst, pal));
    m_hangAction->setIcon(Theme::toolIcon(Theme::ToolIcon::Hang, pal));
    m_model->setPalette(m_table->palette());
}

void MainWindow::requestQuit(const QString &reason)
{
    const ShutdownCoordinator *coordinator = m_engine->coordinator();
    if (coordinator->isFinished())
        return;
    if (coordinator->isShuttingDown()) {
        // A repeated close, Ctrl+Q or Quit never escalates by itself (a double click on the title bar's X must
        // not cancel work): it only brings the dialog back, where "Stop now" is the explicit way to stop harder.
        // Signals keep their ladder (second = FAST, third = immediate): they come from the engine, not from here.
        shutdownDialog()->showAgain();
        return;
    }
    if (m_confirm) {
        m_confirm->raise();
        m_confirm->activateWindow();
        return;
    }
    const EngineCounters counters = m_engine->counters();
    if (m_askAction->isChecked() && counters.inFlight + counters.queued > 0) {
        askThenQuit(reason, counters);
        return;
    }
    m_engine->requestShutdown(reason);
}

void MainWindow::askThenQuit(const QString &reason, const EngineCounters &counters)
{
    auto *box = new QMessageBox(QMessageBox::Question, tr("Quit Quiesce?"),
                                tr("Quit while requests are in progress? %1.")
                                    .arg(ShutdownDialog::describeWork(counters.inFlight, counters.queued)),
                                QMessageBox::NoButton, this);
    box->setObjectName(QStringLiteral("confirmQuitBox"));
    box->setInformativeText(tr("Quitting accepts no new requests and lets those in progress finish (up to the "
                               "drain timeout). Nothing accepted is lost: unfinished requests run on the next start."));
    QPushButton *quit = box->addButton(tr("Quit"), QMessageBox::AcceptRole);
    quit->setObjectName(QStringLiteral("confirmQuitButton"));
    box->addButton(QMessageBox::Cancel);
    box->setDefaultButton(quit);
    auto *dontAsk = new QCheckBox(tr("Do not ask again"), box);
    box->setCheckBox(dontAsk);
    box->setAttribute(Qt::WA_DeleteOnClose);
    // Non-blocking: open() returns at once, the answer arrives through finished(). No nested event loop.
    connect(box, &QMessageBox::finished, this, [this, box, quit, dontAsk, reason] {
        if (box->clickedButton() != quit)
            return;
        if (dontAsk->isChecked())
            setAskBeforeQuit(false);
        // A signal may have started the shutdown while the question was up: then this is not a second request.
        if (!m_engine->coordinator()->isShuttingDown())
            m_engine->requestShutdown(reason);
    });
    m_confirm = box;
    box->open();
}

void MainWindow::commitSessionData()
{
    saveSettings();
    if (m_confirm)
        m_confirm->close();
    // A logout never asks (there may be nobody to answer) and is not escalated by a repeat.
    if (!m_engine->coordinator()->isShuttingDown())
        m_engine->requestShutdown(QStringLiteral("logout"));
}

void MainWindow::onShutdownStarted(const ShutdownRequest &request)
{
    // Whatever started it (a close, a signal, logout, idle), the same dialog shows it; a pending question is moot.
    if (m_confirm)
        m_confirm->close();
    saveSettings();
    for (QAction *a : {m_pauseAction, m_burstAction, m_hangAction})
        a->setEnabled(false);
    // Quit cannot mean "cancel work" now: it shows the shutdown's progress (requestQuit() does just that).
    m_quitAction->setText(tr("Show shutdown &progress"));
    describeAction(m_quitAction, tr("Show what the shutdown is doing; it goes on by itself"));
    m_rateSpin->setEnabled(false);
    m_workersSpin->setEnabled(false);
    m_burstSpin->setEnabled(false);
    const EngineCounters counters = m_engine->counters();
    ShutdownDialog *dialog = shutdownDialog();
    dialog->setWorkers(m_engine->pool()->snapshot());
    dialog->setWorkLeft(counters.inFlight, counters.queued);
    dialog->begin(request);
    updateStatus();
}

void MainWindow::onShutdownFinished()
{
    // The quit path reached its exit: only now does the window go away.
    m_exitReached = true;
    poll();
    m_pollTimer.stop();
    m_plotTimer.stop();
    saveSettings();
    if (m_dialog)
        m_dialog->hide();
    close();
}

void MainWindow::poll()
{
    const QList<WorkerSnapshot> workers = m_engine->pool()->snapshot();
    m_model->setSnapshot(workers);
    if (m_dialog && m_dialog->isVisible())
        m_dialog->setWorkers(workers);
    updateCounters();
    flushLog();
    maybeTakeScreenshot();
}

void MainWindow::samplePlot()
{
    const EngineCounters c = m_engine->counters();
    const qint64 now = m_plotClock.elapsed();
    m_doneHistory.append({now, c.done});
    while (m_doneHistory.size() > 2 && now - m_doneHistory.at(1).atMs >= kThroughputWindowMs)
        m_doneHistory.removeFirst();
    const DoneAt &first = m_doneHistory.constFirst();
    // One throughput figure for the person: the plot and the "Done per second" counter show this same value.
    m_throughput = now > first.atMs ? double(c.done - first.done) * 1000.0 / double(now - first.atMs) : 0.0;
    m_plot->addSampleAt(now, m_throughput, c.queued);
    updateCounters();
}

void MainWindow::updateCounters()
{
    const EngineCounters c = m_engine->counters();
    const QLocale locale;
    // A hung worker still counts after its thread was asked to stop: never "1 busy of 0".
    const QString values[CounterCount] = {
        locale.toString(c.accepted),
        locale.toString(c.done),
        locale.toString(c.queued),
        locale.toString(c.inFlight),
        locale.toString(c.shed),
        locale.toString(c.recovered),
        tr("%1 of %2").arg(locale.toString(c.busy), locale.toString(std::max(c.workers, c.busy))),
        locale.toString(m_throughput, 'f', 1)};
    for (int i = 0; i < CounterCount; ++i) {
        if (m_counterValues.at(i)->text() != values[i])
            m_counterValues.at(i)->setText(values[i]);
    }
    {
        // Follow changes made elsewhere (SIGUSR2 pause, SIGHUP reload) without feeding them back.
        const QSignalBlocker blockPause(m_pauseAction);
        if (m_pauseAction->isChecked() != c.paused) {
            m_pauseAction->setChecked(c.paused);
            updatePauseAction();
        }
        const Tunables t = m_engine->tunables();
        if (m_plot->queueLimit() != t.queueLimit)
            m_plot->setQueueLimit(t.queueLimit);
        if (!m_rateSpin->hasFocus() && m_rateSpin->value() != t.rate) {
            const QSignalBlocker block(m_rateSpin);
            m_rateSpin->setValue(t.rate);
        }
        if (!m_workersSpin->hasFocus() && m_workersSpin->value() != t.workers) {
            const QSignalBlocker block(m_workersSpin);
            m_workersSpin->setValue(t.workers);
        }
    }
    if (m_dialog && m_dialog->isVisible())
        m_dialog->setWorkLeft(c.inFlight, c.queued);
    updateStatus();
}

void MainWindow::updateStatus()
{
    const ShutdownCoordinator *coordinator = m_engine->coordinator();
    QString text;
    if (coordinator->isFinished()) {
        text = tr("Exiting");
    } else if (coordinator->isShuttingDown()) {
        const QString phase = coordinator->currentPhase();
        const QString how = coordinator->mode() == ShutdownMode::Graceful ? tr("Shutting down") : tr("Stopping now");
        text = phase.isEmpty() ? how : tr("%1: %2").arg(how, ShutdownDialog::humanPhaseName(phase));
    } else if (const EngineCounters counters = m_engine->counters(); counters.disabledWorkers > 0) {
        // Process isolation's crash-loop guard took slots out: said first, it is what needs attention.
        text = tr("Degraded: %1 of %2 worker processes disabled after crashing repeatedly")
                   .arg(QLocale().toString(counters.disabledWorkers), QLocale().toString(counters.workers));
    } else if (m_pauseAction->isChecked()) {
        text = tr("Intake paused");
    } else if (m_engine->source()->isHeld()) {
        // Backpressure: the queue is full and intake waits for room (--overflow wait).
        const EngineCounters c = m_engine->counters();
        text = tr("Intake held: the queue is full (%1 of %2)")
                   .arg(QLocale().toString(c.queued), QLocale().toString(m_engine->tunables().queueLimit));
    } else {
        text = tr("Running");
    }
    if (m_statusLabel->text() != text)
        m_statusLabel->setText(text);
    // The title says it too (task bars and window lists show it), but only while stopping.
    const QString title =
        coordinator->isShuttingDown() ? tr("Quiesce \u2014 shutting down") : QStringLiteral("Quiesce");
    if (windowTitle() != title)
        setWindowTitle(title);
}

void MainWindow::maybeTakeScreenshot()
{
    if (m_screenshotPath.isEmpty() || !isVisible() || !m_shownClock.isValid()
        || m_engine->coordinator()->isShuttingDown())
        return;
    const qint64 shownFor = m_shownClock.elapsed();
    const bool showsWork = shownFor >= kScreenshotAfterMs && m_engine->counters().done >= kScreenshotAfterDone;
    if (!showsWork && shownFor < kScreenshotAtLatestMs)
        return;
    const QString path = std::exchange(m_screenshotPath, QString());
    const QPixmap pixmap = grab();
    const bool ok = !pixmap.isNull() && pixmap.save(path, "PNG");
    if (ok)
        writeStdoutLine(QStringLiteral("SCREENSHOT %1").arg(path));
    else
        writeStderrLine(QStringLiteral("cannot write the screenshot %1").arg(path));
    Q_EMIT screenshotTaken(path, ok);
    // Straight to the quit path: an unattended run must never stop at the "ask before quitting" question.
    m_engine->requestShutdown(QStringLiteral("quit"));
}

void MainWindow::appendLog(const QString &text)
{
    // Batched: with --log-requests thousands of lines a second may arrive, and one layout per line would make
    // the window lag. They are shown on the next poll (at most 1/8 s later), all at once.
    m_pendingLog.append(text);
    if (m_pendingLog.size() > kLogLines)
        m_pendingLog.remove(0, m_pendingLog.size() - kLogLines);
}

void MainWindow::flushLog()
{
    if (m_pendingLog.isEmpty())
        return;
    m_log->appendPlainText(m_pendingLog.join(QLatin1Char('\n')));
    m_pendingLog.clear();
}

} // namespace Quiesce::App
