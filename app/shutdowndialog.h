#pragma once

#include "shutdowncoordinator.h"

#include <QtCore/QDeadlineTimer>
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

/*! \brief What the quit path is doing, shown while it does it: the reason, the phase, the work left, a countdown
    to the drain deadline and the explicit ways to stop harder.

    Non-modal and never exec()'d: the event loop keeps running the quit path while the dialog is up. It follows the
    coordinator by itself (phases, escalation); the owner feeds it the work left with setWorkLeft().

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
    /*! The person pressed "Stop now" (graceful only): the owner escalates the quit path to FAST. */
    void stopNowRequested();
    /*! The person pressed "Exit immediately…" (FAST only) and confirmed it: the owner exits at once. */
    void exitImmediatelyRequested();

protected:
    /*! Escape and the dialog's close button hide it: there is nothing to cancel, and the shutdown goes on. */
    void reject() override;

private:
    void onPhaseStarted(const QString &name, qint64 budgetMs);
    void onPhaseFinished(const Quiesce::PhaseRecord &record);
    void onModeChanged(Quiesce::ShutdownMode mode);
    void updateCountdowns();
    void confirmExitImmediately();
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
    QPushButton *m_exitNow;
    QPushButton *m_hide;
    QPointer<QMessageBox> m_confirmExit;
    QTimer *m_tick;
};

} // namespace Quiesce::App
