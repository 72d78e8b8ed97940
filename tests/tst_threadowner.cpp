#include <Quiesce/threadowner.h>
#include <Quiesce/unixsignalnotifier.h>

#include "procstatus.h"

#include <QtCore/QPointer>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <atomic>
#include <csignal>
#include <memory>
#include <vector>

using Quiesce::ThreadOwner;
using StopResult = Quiesce::ThreadOwner::StopResult;

class tst_ThreadOwner : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void startsNamedWithTheBridgesSignalsBlocked();
    void startWithoutWaitingThenWaitOnce();
    void stopsAnEventLoopThread();
    void stopsAWorkerLoopThatPollsForInterruption();
    void leaksAThreadThatDoesNotEndInTime();
    void alreadyRequestedOnlyWaits();
    void destructorWaitsThenLeaks();
    void neverStartedNeedsNoStop();
    void plainThreadStartsNamedAndStops();
    void plainThreadIsLeakedWithWhatItUses();
};

void tst_ThreadOwner::startsNamedWithTheBridgesSignalsBlocked()
{
    Quiesce::UnixSignalNotifier bridge;
    QVERIFY(bridge.watch({SIGUSR1, SIGUSR2}));
    QSemaphore release;
    ThreadOwner owner([&release] { release.acquire(); });
    owner.thread()->setObjectName(QStringLiteral("tst-owned"));
    QString error;
    QVERIFY2(owner.start(&error), qPrintable(error));
    QVERIFY(owner.isRunning());
    // As soon as start() returns: under its name, with the bridge's signals blocked; the caller keeps them.
    const QList<qint64> tids = ProcStatus::threadsNamed(0, "tst-owned");
    QCOMPARE(tids.size(), 1);
    const quint64 wanted = ProcStatus::signalBit(SIGUSR1) | ProcStatus::signalBit(SIGUSR2);
    QCOMPARE(ProcStatus::mask(0, tids.constFirst(), "SigBlk") & wanted, wanted);
    QCOMPARE(ProcStatus::mask(0, 0, "SigBlk") & wanted, quint64(0));
    release.release();
    QCOMPARE(owner.stop(QDeadlineTimer(QDeadlineTimer::Forever)), StopResult::Stopped);
    // QThread::wait() returns when the thread's function has ended; Qt's threads are detached, so the kernel task
    // may still be in /proc for a moment after that.
    QTRY_VERIFY(ProcStatus::threadsNamed(0, "tst-owned").isEmpty());
    QVERIFY(!owner.isRunning());
    QCOMPARE(owner.thread(), nullptr);
}

// Several threads created side by side, one wait: each runs under its name with the bridge's signals blocked once
// waitUntilRunning() returns; waiting again, or stopping one nobody waited for, needs nothing more.
void tst_ThreadOwner::startWithoutWaitingThenWaitOnce()
{
    Quiesce::UnixSignalNotifier bridge;
    QVERIFY(bridge.watch({SIGUSR1}));
    std::vector<std::unique_ptr<ThreadOwner>> owners;
    for (int i = 0; i < 3; ++i) {
        auto owner = std::make_unique<ThreadOwner>(new QThread);
        owner->setName(QStringLiteral("tst-side-%1").arg(i));
        QString error;
        QVERIFY2(owner->startWithoutWaiting(&error), qPrintable(error));
        QVERIFY(owner->isRunning());
        owners.push_back(std::move(owner));
    }
    for (int i = 0; i < 2; ++i) {
        owners.at(std::size_t(i))->waitUntilRunning();
        owners.at(std::size_t(i))->waitUntilRunning(); // a second wait returns at once
        const QByteArray name = QStringLiteral("tst-side-%1").arg(i).toLatin1();
        const QList<qint64> tids = ProcStatus::threadsNamed(0, name.constData());
        QCOMPARE(tids.size(), 1);
        QVERIFY(ProcStatus::mask(0, tids.constFirst(), "SigBlk") & ProcStatus::signalBit(SIGUSR1));
    }
    // The third was never waited for: stop() alone ends it.
    for (auto &owner : owners)
        QCOMPARE(owner->stop(QDeadlineTimer(QDeadlineTimer::Forever)), StopResult::Stopped);
    QTRY_VERIFY(ProcStatus::threadsNamed(0, "tst-side-0").isEmpty());
    QTRY_VERIFY(ProcStatus::threadsNamed(0, "tst-side-2").isEmpty());
}

void tst_ThreadOwner::stopsAnEventLoopThread()
{
    ThreadOwner owner(new QThread);
    QPointer<QThread> thread = owner.thread();
    QString error;
    QVERIFY2(owner.start(&error), qPrintable(error));
    // quit() ends the event loop: the thread ends and is destroyed by stop().
    QCOMPARE(owner.stop(QDeadlineTimer(QDeadlineTimer::Forever)), StopResult::Stopped);
    QVERIFY(thread.isNull());
    QCOMPARE(owner.stop(QDeadlineTimer(0)), StopResult::NotRunning); // a second stop has nothing to do
}

void tst_ThreadOwner::stopsAWorkerLoopThatPollsForInterruption()
{
    QSemaphore looping;
    ThreadOwner owner([&looping] {
        looping.release();
        while (!QThread::currentThread()->isInterruptionRequested())
            QThread::yieldCurrentThread();
    });
    QString error;
    QVERIFY2(owner.start(&error), qPrintable(error));
    looping.acquire();
    QCOMPARE(owner.stop(QDeadlineTimer(QDeadlineTimer::Forever)), StopResult::Stopped);
}

void tst_ThreadOwner::leaksAThreadThatDoesNotEndInTime()
{
    // Deaf to interruption and without an event loop: stop() cannot end it, so it is left running, not destroyed.
    auto release = std::make_shared<QSemaphore>();
    ThreadOwner owner([release] { release->acquire(); });
    owner.thread()->setObjectName(QStringLiteral("tst-leaked"));
    QPointer<QThread> thread = owner.thread();
    QString error;
    QVERIFY2(owner.start(&error), qPrintable(error));
    QCOMPARE(owner.stop(QDeadlineTimer(20)), StopResult::Leaked);
    QVERIFY(!thread.isNull());
    QVERIFY(thread->isRunning());
    QCOMPARE(ProcStatus::threadsNamed(0, "tst-leaked").size(), 1);
    QCOMPARE(owner.thread(), nullptr); // no longer ours
    // Once it ends, it deletes itself (on this thread's event loop).
    release->release();
    QTRY_VERIFY(thread.isNull());
    QTRY_VERIFY(ProcStatus::threadsNamed(0, "tst-leaked").isEmpty()); // the kernel task ends just after
}

void tst_ThreadOwner::alreadyRequestedOnlyWaits()
{
    // A thread that ends on interruption: asked with StopRequest::AlreadyRequested, stop() must not ask it (the
    // caller told it to end its own way, e.g. a queued last call), so it is still running at the deadline.
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto interrupted = std::make_shared<std::atomic<bool>>(false);
    QSemaphore looping;
    ThreadOwner owner([release, interrupted, &looping] {
        looping.release();
        while (!release->load()) {
            if (QThread::currentThread()->isInterruptionRequested()) {
                interrupted->store(true);
                return;
            }
            QThread::yieldCurrentThread();
        }
    });
    QPointer<QThread> thread = owner.thread();
    QString error;
    QVERIFY2(owner.start(&error), qPrintable(error));
    looping.acquire();
    QCOMPARE(owner.stop(QDeadlineTimer(20), ThreadOwner::StopRequest::AlreadyRequested), StopResult::Leaked);
    QVERIFY(!interrupted->load());
    // Told its own way now: it ends and, leaked, deletes itself.
    release->store(true);
    QTRY_VERIFY(thread.isNull());
    QVERIFY(!interrupted->load());
}

void tst_ThreadOwner::destructorWaitsThenLeaks()
{
    auto release = std::make_shared<QSemaphore>();
    QPointer<QThread> thread;
    {
        ThreadOwner owner([release] { release->acquire(); });
        owner.setDestructionTimeout(std::chrono::milliseconds(20));
        thread = owner.thread();
        QString error;
        QVERIFY2(owner.start(&error), qPrintable(error));
    }
    // The owner is gone, the thread is not: destroying it while it runs would abort the process.
    QVERIFY(!thread.isNull());
    release->release();
    QTRY_VERIFY(thread.isNull());
}

void tst_ThreadOwner::neverStartedNeedsNoStop()
{
    QPointer<QThread> thread;
    {
        ThreadOwner owner(new QThread);
        thread = owner.thread();
        QCOMPARE(owner.stop(QDeadlineTimer(0)), StopResult::NotRunning);
    }
    QVERIFY(thread.isNull());
}

void tst_ThreadOwner::plainThreadStartsNamedAndStops()
{
    Quiesce::UnixSignalNotifier bridge;
    QVERIFY(bridge.watch(SIGUSR1));
    auto release = std::make_shared<QSemaphore>();
    ThreadOwner owner([release] { release->acquire(); }, ThreadOwner::Kind::PlainThread);
    owner.setName(QStringLiteral("tst-plain"));
    QCOMPARE(owner.thread(), nullptr); // no QThread behind it
    QString error;
    QVERIFY2(owner.start(&error), qPrintable(error));
    const QList<qint64> tids = ProcStatus::threadsNamed(0, "tst-plain");
    QCOMPARE(tids.size(), 1);
    const quint64 wanted = ProcStatus::signalBit(SIGUSR1);
    QCOMPARE(ProcStatus::mask(0, tids.constFirst(), "SigBlk") & wanted, wanted);
    release->release();
    QCOMPARE(owner.stop(QDeadlineTimer(QDeadlineTimer::Forever)), StopResult::Stopped);
    // The join returns when the kernel clears the thread's tid, just before its task leaves /proc.
    QTRY_VERIFY(ProcStatus::threadsNamed(0, "tst-plain").isEmpty());
}

void tst_ThreadOwner::plainThreadIsLeakedWithWhatItUses()
{
    auto release = std::make_shared<QSemaphore>();
    auto returned = std::make_shared<QSemaphore>();
    {
        ThreadOwner owner(
            [release, returned] {
                release->acquire();
                returned->release();
            },
            ThreadOwner::Kind::PlainThread);
        owner.setName(QStringLiteral("tst-plainleak"));
        QString error;
        QVERIFY2(owner.start(&error), qPrintable(error));
        QCOMPARE(owner.stop(QDeadlineTimer(20)), StopResult::Leaked);
    }
    // The owner is gone; the thread still runs its function, with everything it captured.
    QCOMPARE(ProcStatus::threadsNamed(0, "tst-plainleak").size(), 1);
    release->release();
    QVERIFY(returned->tryAcquire(1, 30000));
    QTRY_VERIFY(ProcStatus::threadsNamed(0, "tst-plainleak").isEmpty());
}

QTEST_GUILESS_MAIN(tst_ThreadOwner)
#include "tst_threadowner.moc"
