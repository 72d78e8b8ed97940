#pragma once

#include <Quiesce/shutdowncoordinator.h>
#include <Quiesce/workerpool.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QElapsedTimer>
#include <QtCore/QList>
#include <QtCore/QPointer>
#include <QtWidgets/QDialog>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QMessageBox;
class QProgressBar;
class QPushButton;
class QTimer;

namespace Quiesce::App {

/*! \brief What the quit path is doing, shown while it does it, in plain words: why, what happens now, what is
    still in progress, what is kept for the next start, one countdown and a progress bar that fills.

    Non-modal and never exec()'d: the event loop keeps running the quit path while the dialog is up. It follows the
    coordinator by itself (phases, escalation); the owner feeds it the work left with setWorkLeft() and the workers
    with setWorkers(), so that a step that overruns can name the stuck request and worker. The technical phase names
    ("drain", "stop-threads") stay in the log; the dialog says "Finishing requests in progress", "Saving", ...

    Escalation from the window is explicit only: "Stop now" (stopNowRequested(), graceful → FAST) and, once
    stopping fast, a separately worded "Exit immediately…" on the other side of the dialog that asks for
    confirmation first (exitImmediatelyRequested(), FAST → IMMEDIATE). Two clicks in one spot can never end the
    process. Escape, the close button and "Hide" only hide the dialog: the shutdown goes on, and showAgain() (a
    repeated close, Ctrl+Q) brings it back. */
class ShutdownDialog : public QDialog
{
    Q_OBJECT

public:
    explicit ShutdownDialog(ShutdownCoordinator *coordinator, QWidget *parent = nullptr);
    ~ShutdownDialog() override;

    /*! Shows the dialog (non-modal) for the shutdown that \a request started. */
    void begin(const Quiesce::ShutdownRequest &request);
    /*! Shows, raises and activates the dialog again (it may have been hidden), without moving the focus to a
        button that escalates. */
    void showAgain();
    /*! The requests still in a worker and waiting in the queue (the queued ones are kept for the next start). */
    void setWorkLeft(int inFlight, int queued);
    /*! The pool's snapshot: which worker holds which request, and which one is hung. */
    void setWorkers(const QList<Quiesce::WorkerSnapshot> &workers);

    /*! The shown reason ("window", "sigterm", ...), the phase ("drain"; empty between phases), the drain
        deadline (QDeadlineTimer::Forever until the drain phase runs). */
    QString reason() const;
    QString phase() const;
    QDeadlineTimer drainDeadline() const;

    /*! "1 request in progress, 3 queued" (also used by the window's question before quitting). */
    static QString describeWork(int inFlight, int queued);
    /*! The words a person reads for a phase: "drain" → "Finishing requests in progress". */
    static QString humanPhaseName(const QString &phase);

Q_SIGNALS:
    /*! The person pressed "Stop now" (graceful only): the owner escalates the quit path to FAST. */
    void stopNowRequested();
    /*! The person pressed "Exit immediately…" (FAST only) and confirmed it: the owner exits at once. */
    void exitImmediatelyRequested();

protected:
    /*! Escape and the dialog's close button hide it: there is nothing to cancel, and the shutdown goes on. */
    void reject() override;
    void changeEvent(QEvent *event) override;

private:
    enum class Mark { Pending, Running, Done, TimedOut, Failed, Skipped };

    void onPhaseStarted(const QString &name, qint64 budgetMs);
    void onPhaseFinished(const Quiesce::PhaseRecord &record);
    void onModeChanged(Quiesce::ShutdownMode mode);
    void refresh();
    void confirmExitImmediately();
    void setMark(QListWidgetItem *item, Mark mark, qint64 elapsedMs = -1);
    QListWidgetItem *phaseItem(const QString &name) const;

    ShutdownCoordinator *m_coordinator;
    QString m_reason;
    QString m_phase;
    QString m_overrunPhase; //!< the step that took longer than its budget, once one did
    QElapsedTimer m_phaseClock;
    qint64 m_phaseBudgetMs = 0;
    QDeadlineTimer m_drainDeadline {QDeadlineTimer::Forever};
    qint64 m_drainBudgetMs = 0;
    QDeadlineTimer m_hardDeadline {QDeadlineTimer::Forever};
    int m_inFlight = 0;
    int m_queued = 0;
    int m_phasesDone = 0;
    bool m_drainOver = false; //!< the drain ended: what is still in progress gets cancelled
    int m_progress = 0;       //!< only ever grows: the bar fills
    QList<Quiesce::WorkerSnapshot> m_workers;

    QLabel *m_reasonLabel;
    QLabel *m_phaseLabel;
    QLabel *m_modeLabel;
    QLabel *m_workLabel;
    QLabel *m_keptLabel;
    QLabel *m_countdownLabel;
    QProgressBar *m_progressBar;
    QLabel *m_overrunLabel;
    QLabel *m_endLabel;
    QListWidget *m_phases;
    QPushButton *m_stopNow;
    QPushButton *m_exitNow;
    QPushButton *m_hide;
    QPointer<QMessageBox> m_confirmExit;
    QTimer *m_tick;
};

} // namespace Quiesce::App
