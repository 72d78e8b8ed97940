#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: the data of a ShutdownCoordinator and of its phase contexts.
//

#include "shutdowncoordinator.h"

#include <QtCore/QElapsedTimer>

class QTimer;

namespace Quiesce {

class ShutdownWatchdog;

class ShutdownPhaseContextPrivate
{
public:
    ShutdownCoordinator *coordinator;
    QString name;
    QDeadlineTimer deadline;
    bool finished = false;
};

class ShutdownCoordinatorPrivate
{
public:
    struct Phase
    {
        QString name;
        int order = 0;
        std::chrono::milliseconds budget {0};
        PhaseHook hook;
        int timeoutExitCode = 0;
    };
    enum class State { Idle, Pending, Running, Finished };

    ShutdownCoordinatorPrivate();
    ~ShutdownCoordinatorPrivate();

    QList<Phase> phases;
    State state = State::Idle;
    ShutdownMode mode = ShutdownMode::Graceful;
    ShutdownReport report;
    bool ready = false;
    bool advanceScheduled = false;
    bool inAdvance = false;
    qsizetype phaseIndex = -1;
    ShutdownPhaseContext *context = nullptr;
    QTimer *budgetTimer = nullptr;
    QElapsedTimer phaseClock;
    PhaseOutcome pendingOutcome = PhaseOutcome::Ok;
    QString pendingDetail;
    qint64 pendingElapsedMs = 0;
    bool phaseEnded = false;

    std::chrono::milliseconds hardTimeout {30000};
    std::function<QString()> diagnostics;
    std::function<void(int)> exit;
    std::function<void(int)> immediateExit;
    std::function<void(const QString &)> output;
    int directFd = -1; // none until the application names one
    ShutdownLineFormatter lineFormatter;
    QString watchdogThreadName = QStringLiteral("watchdog");
    QString firstRequestHint;
    std::unique_ptr<ShutdownWatchdog> watchdog;
};

} // namespace Quiesce
