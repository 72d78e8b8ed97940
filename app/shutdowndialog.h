#pragma once

#include <Quiesce/shutdowncoordinator.h>

#include <QtCore/QDeadlineTimer>
#include <QtWidgets/QDialog>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QProgressBar;
class QPushButton;
class QTimer;

namespace Quiesce::App {

/*! \brief What the quit path is doing, shown while it does it: the reason, the phase, the work left, a countdown
    to the drain deadline and one button to stop harder.

    Non-modal and never exec()'d: the event loop keeps running the quit path while the dialog is up. It follows the
    coordinator by itself (phases, escalation); the owner feeds it the work left with setWorkLeft() and passes
    stopNowRequested() to the quit path, where it counts exactly like another signal (FAST, then IMMEDIATE). It
    cannot be dismissed: the shutdown cannot be undone, and the dialog goes away with the window at the exit. */
class ShutdownDialog : public QDialog
{
    Q_OBJECT

public:
    explicit ShutdownDialog(ShutdownCoordinator *coordinator, QWidget *parent = nullptr);
    ~ShutdownDialog() override;

    /*! Shows the dialog (non-modal) for the shutdown that \a request started. */
    void begin(const Quiesce::ShutdownRequest &request);
    /*! The requests still in a worker and waiting in the queue. */
    void setWorkLeft(int inFlight, int queued);

    /*! The shown reason ("window", "sigterm", ...), the phase ("drain"; empty between phases), the drain
        deadline (QDeadlineTimer::Forever until the drain phase runs). */
    QString reason() const;
    QString phase() const;
    QDeadlineTimer drainDeadline() const;

    /*! "1 request in flight, 3 queued" (also used by the window's question before quitting). */
    static QString describeWork(int inFlight, int queued);

Q_SIGNALS:
    /*! The person pressed "Stop now": the owner asks the quit path again. */
    void stopNowRequested();

protected:
    /*! Escape and the dialog's close button do nothing: there is nothing to cancel. */
    void reject() override;

private:
    void onPhaseStarted(const QString &name, qint64 budgetMs);
    void onPhaseFinished(const Quiesce::PhaseRecord &record);
    void onModeChanged(Quiesce::ShutdownMode mode);
    void updateCountdowns();
    QListWidgetItem *phaseItem(const QString &name) const;

    ShutdownCoordinator *m_coordinator;
    QString m_reason;
    QString m_phase;
    QDeadlineTimer m_drainDeadline {QDeadlineTimer::Forever};
    qint64 m_drainBudgetMs = 0;
    bool m_drainOver = false;
    QDeadlineTimer m_hardDeadline {QDeadlineTimer::Forever};

    QLabel *m_reasonLabel;
    QLabel *m_modeLabel;
    QLabel *m_phaseLabel;
    QLabel *m_workLabel;
    QLabel *m_drainLabel;
    QProgressBar *m_drainBar;
    QLabel *m_hardLabel;
    QListWidget *m_phases;
    QPushButton *m_stopNow;
    QTimer *m_tick;
};

} // namespace Quiesce::App
