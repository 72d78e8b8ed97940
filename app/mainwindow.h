#pragma once

#include "options.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QList>
#include <QtCore/QPointer>
#include <QtCore/QStringList>
#include <QtCore/QTimer>
#include <QtWidgets/QMainWindow>

class QAction;
class QDoubleSpinBox;
class QLabel;
class QMessageBox;
class QPlainTextEdit;
class QSpinBox;
class QSplitter;
class QTableView;

namespace Quiesce {
struct ShutdownRequest;
}

namespace Quiesce::App {

class Engine;
struct EngineCounters;
class MessageBar;
class ShutdownDialog;
class ThroughputPlot;
class WorkerTableModel;

/*! \brief The live view: workers, counters, a plot of the last minute, the lifecycle log and the controls.

    Closing it never closes it. Every close (title bar, window manager, Alt+F4, Ctrl+Q) goes to the engine's one
    quit path; the window shows the shutdown dialog and goes away only when that path reaches its exit
    (ShutdownCoordinator::finished). A close, Ctrl+Q or Quit while shutting down only shows the dialog again: the
    window escalates only through the dialog's explicit "Stop now" and confirmed "Exit immediately…" (signals keep
    their ladder). The window never runs a nested event loop: the dialog and the confirmations are non-modal or
    open()ed.

    Window geometry and the controls' settings persist in the default QSettings (organization "Quiesce",
    application "quiesce"). */
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    /*! Builds the window for \a engine and restores the saved settings (install the translations before, with
        installTranslations(): the window's widgets take their texts as they are built); the saved rate and worker count
       are applied to the engine unless the command line or the --config file sets them (DECISIONS: command line >
       config file > values changed in the window > built-in defaults). */
    explicit MainWindow(Engine *engine, const Options &options, QWidget *parent = nullptr);
    /*! \brief Selects the constructor that builds the widgets only: attachEngine() follows. */
    struct AttachLater
    {
    };
    /*! \brief Builds the window's widgets for \a engine without reading the engine's state, for a start that builds
        the window while the journal opens (Engine::beginOpen()). Once the open succeeded, attachEngine() binds the
        window to the engine (what the other constructor does after building), and only then may it be shown. Needs
        nothing of the engine but its tunables. */
    MainWindow(Engine *engine, const Options &options, AttachLater, QWidget *parent = nullptr);
    ~MainWindow() override;

    /*! \brief After the constructor that takes AttachLater, once the engine's journal is open: applies the saved rate
        and worker count as the other constructor does (\a options: the same as the constructor's), shows what the
        open recovered, connects the engine and starts following it. Call once. */
    void attachEngine(const Options &options);

    /*! A person asks to quit ("window" or "quit"): while running, confirms first if askBeforeQuit() is on and
        work is in flight, then starts the quit path; while shutting down, shows the shutdown dialog again and does
        nothing else. */
    void requestQuit(const QString &reason);

    /*! The session is ending (QGuiApplication::commitDataRequest): saves the settings and starts the quit path
        with reason "logout", without any question and without ever vetoing the logout. */
    void commitSessionData();

    /*! A second windowed launch on the same state asked for this window (SingleInstance): comes to the front,
        using the desktop's activation tokens the launch forwarded. */
    void activateFromAnotherLaunch(qint64 pid, const QString &startupId, const QString &activationToken);

    /*! "Ask before quitting while work is in flight": for a person's close only, never for signals or logout. */
    bool askBeforeQuit() const;
    void setAskBeforeQuit(bool ask);

    /*! Settings → Restore defaults: forgets the values changed in the window and goes back to what the command
        line, the config file and the built-in defaults give. */
    void restoreDefaults();

    /*! Writes geometry and settings now; the rate and worker count only if they were changed in this window (a
        command-line value is for its run only). Returns false if QSettings could not write them (the reason goes to the
        log pane and stderr, once). */
    bool saveSettings();

    /*! The shutdown dialog; built right after the first frame (nothing of it is shown before a stop), or now if
        that has not come yet. */
    ShutdownDialog *shutdownDialog();
    ThroughputPlot *plot() const;
    WorkerTableModel *workerModel() const;

Q_SIGNALS:
    /*! --screenshot: the PNG was written (or \a ok is false) just before the quit path starts. */
    void screenshotTaken(const QString &path, bool ok);

protected:
    bool event(QEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    void showEvent(QShowEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    void buildActions();
    void buildCentralWidget();
    void updateIcons();
    void updatePauseAction();
    void fitToScreen();
    void showRecovery();
    void showAbout();
    void showShortcuts();
    void restoreLayout();
    void restoreSettings(const Options &options);
    void applyControlsToEngine();
    void poll();
    void samplePlot();
    void updateCounters();
    void updateStatus();
    void onShutdownStarted(const Quiesce::ShutdownRequest &request);
    void onShutdownFinished();
    void askThenQuit(const QString &reason, const EngineCounters &counters);
    void maybeTakeScreenshot();
    void appendLog(const QString &text);
    void flushLog();

    Engine *m_engine;
    WorkerTableModel *m_model;
    ThroughputPlot *m_plot;
    QTableView *m_table;
    QPlainTextEdit *m_log;
    QSplitter *m_splitter;
    ShutdownDialog *m_dialog = nullptr; //!< see shutdownDialog()
    QPointer<QMessageBox> m_confirm;
    QPointer<QMessageBox> m_shortcuts;
    QList<QLabel *> m_counterValues;
    QStringList m_pendingLog; //!< lines not yet shown in the log pane
    QLabel *m_statusLabel;
    MessageBar *m_messageBar;

    QAction *m_pauseAction = nullptr;
    QAction *m_burstAction = nullptr;
    QAction *m_hangAction = nullptr;
    QAction *m_quitAction = nullptr;
    QAction *m_askAction = nullptr;
    QSpinBox *m_burstSpin = nullptr;
    QDoubleSpinBox *m_rateSpin = nullptr;
    QSpinBox *m_workersSpin = nullptr;

    Tunables m_baseTunables;        //!< what this run uses without remembered values (command line, config, defaults)
    bool m_rateChangedHere = false; //!< changed in the window this session: written to the settings
    bool m_workersChangedHere = false;

    QTimer m_pollTimer;
    QTimer m_plotTimer;
    QElapsedTimer m_plotClock;
    struct DoneAt
    {
        qint64 atMs;
        quint64 done;
    };
    QList<DoneAt> m_doneHistory;
    double m_throughput = 0; //!< done per second over the last few seconds: the one figure the counter and plot show
                             //!< //!< the last few seconds of the done counter, for a smooth plotted throughput

    QString m_screenshotPath;
    QElapsedTimer m_shownClock;
    bool m_exitReached = false;
    bool m_firstFramePainted = false;
    bool m_settingsErrorReported = false;
};

} // namespace Quiesce::App
