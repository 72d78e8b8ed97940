#pragma once

// Private to the worker pool: WorkerPool's data. Not part of the library's API.

#include <Quiesce/workerpool.h>

#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QString>

#include <memory>

class QThread;
class QTimer;

namespace Quiesce {

class JobWorker;
class ThreadOwner;
struct WorkerPoolShared;
struct WorkerState;

class WorkerPoolPrivate
{
public:
    explicit WorkerPoolPrivate(WorkerPool *pool);

    struct Worker
    {
        QThread *thread = nullptr;          // owner's thread, kept to find the worker by it
        std::shared_ptr<ThreadOwner> owner; // starts it with the bridge's signals blocked; stops it join-or-leak
        JobWorker *worker = nullptr;
        std::shared_ptr<WorkerState> state;
    };

    bool addWorker();
    void waitUntilAllRunning();
    void retireWorker(QThread *thread);
    void deliver();
    void checkDrainedAndIdle();
    void onThreadFinished(QThread *thread);
    void onStopDeadline();
    void finishStop(const StopReport &report);
    static WorkerSnapshot snapshotOf(const WorkerState &state);

    WorkerPool *q;
    std::shared_ptr<WorkerPoolShared> shared;

    // Modified only on the pool's thread, always under workersMutex, so snapshot() can copy it from any thread.
    QList<Worker> workers;
    mutable QMutex workersMutex;

    QTimer *stopTimer = nullptr;
    QString errorString;
    QString threadNamePrefix = QStringLiteral("worker-");
    quint64 done = 0;
    quint64 givenBack = 0;
    quint64 failed = 0;
    quint64 backpressure = 0;
    int workersAtStop = 0; // threads running when stop() was called
    bool started = false;
    bool stopping = false;
    bool stopDone = false;
    bool stopTimedOut = false;
    bool drainRequested = false;
    bool hadWork = false;
};

} // namespace Quiesce
