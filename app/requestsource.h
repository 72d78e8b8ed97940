#pragma once

#include <Quiesce/job.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QRandomGenerator>

#include <optional>

class QTimer;

namespace Quiesce {

/*! \brief What a RequestSource generates: an optional burst, then Poisson arrivals. */
struct SourceConfig
{
    double ratePerSecond = 0; //!< mean Poisson arrival rate after the burst; 0 = no arrivals
    int workMinMs = 0;        //!< the cost is uniform in [workMinMs, workMaxMs] (swapped if given the wrong way round)
    int workMaxMs = 0;
    int burst = 0;      //!< requests emitted at once by start(), before the Poisson arrivals
    quint64 seed = 0;   //!< 0 = a random seed (see RequestSource::effectiveSeed())
    quint64 hangAt = 0; //!< 1-based: the N-th request generated in this run is announced by hangChosen(); 0 = off
};

/*! \brief Simulated arrivals of requests: an initial burst, then a Poisson process.

    Each request is a Quiesce::Job whose payload is its simulated cost in milliseconds, in ASCII decimal (what
    SimulatedJob works on).

    start() emits the burst in chunks of at most chunkSize() per event-loop turn (so that the receivers and a GUI
    stay responsive), then Poisson arrivals at SourceConfig::ratePerSecond. Arrivals are computed against a
    monotonic clock: every arrival that is due when the timer fires is emitted on that tick (again at most
    chunkSize() per turn), so high rates do not depend on 1 ms timers.

    Reproducibility: costs come from a QRandomGenerator seeded with the seed, inter-arrival times from a second
    generator derived from the same seed. The same seed therefore gives the same sequence of costs whatever the
    timing, pauses or rate changes.

    Suspension: pause (quiet mode, user or SIGUSR2) and hold (backpressure, set by the engine) both suspend the
    source. While suspended the source's clock stands still: nothing is emitted, the rest of the burst and the
    Poisson schedule stay where they were, and on resuming they continue from that point (the pending arrival comes
    after the rest of its inter-arrival time). So suspension delays arrivals; it neither drops them nor piles them
    up into a flood. A request taken out of generated() that cannot be accepted may be given back with putBack().

    Safe to call any function from a slot connected to generated(): a pause, hold or stop takes effect before the
    next emission. Lives on the main thread; not thread-safe. */
class RequestSource : public QObject
{
    Q_OBJECT

public:
    explicit RequestSource(QObject *parent = nullptr);
    ~RequestSource() override;

    /*! Live: a new rate or work time applies from the next arrival (for the rate: the pending inter-arrival time
        is redrawn with the new rate, which is exact for a memoryless process). \c burst and \c seed are read by
        start() only. */
    void setConfig(const SourceConfig &config);
    SourceConfig config() const;

    /*! The id of the next fresh request. Ids are unique and strictly increasing; the source never goes back. */
    void setNextId(quint64 id);
    quint64 nextId() const;

    /*! Starts generating (from the next event-loop turn). Only the first call counts; no-op after stop(). */
    void start();
    /*! Intake over for good (idempotent): no generated() after it returns; emits exhausted() if not yet. */
    void stop();

    /*! Quiet mode: suspends the source (see class docs); emits pausedChanged() when it changes. */
    void setPaused(bool paused);
    bool isPaused() const;

    /*! Backpressure hold by the engine: suspends the source like pause, without pausedChanged(). While held the
        clock stands still, so arrivals are delayed (by the time held), not lost and not accumulated. */
    void setHeld(bool held);
    bool isHeld() const;

    /*! Gives back \a request, taken from generated() but not accepted (e.g. the queue was full): it is emitted
        again, before anything else, once the source is neither paused nor held. Given-back requests keep their id
        and cost, are not announced by hangChosen() again and do not count again in generatedCount(); they are
        dropped by stop(). */
    void putBack(const Quiesce::Job &job);
    /*! Queues \a count more fresh requests, emitted like the start burst (in chunks, while not suspended). Only
        after start() and before stop(). */
    void addBurst(int count);
    /*! Requests given back and not yet emitted again. */
    int putBackCount() const;

    /*! Stopped, or started with rate 0, the whole burst emitted and nothing given back waiting. */
    bool isExhausted() const;
    /*! Fresh requests emitted since start() (given-back ones re-emitted are not counted again). */
    quint64 generatedCount() const;
    /*! The seed in use: config().seed, or the random one drawn by start() when that was 0 (to reproduce a run). */
    quint64 effectiveSeed() const;

    /*! Upper bound on generated() emissions per event-loop turn. */
    static constexpr int chunkSize() { return 1000; }

Q_SIGNALS:
    void generated(const Quiesce::Job &job);
    /*! The request with this id, about to be generated(), is the SourceConfig::hangAt-th of this run: it is to
        simulate a hang (SimulatedJob::addHang()). Not persisted: a recovered request never hangs. */
    void hangChosen(quint64 id);
    /*! Emitted when isExhausted() becomes true (once per such change; stop() makes it final). */
    void exhausted();
    void pausedChanged(bool paused);

private:
    bool isActive() const;
    void pump();
    void schedulePump();
    void scheduleNextTick();
    void suspendClock();
    void resumeClock();
    void startSchedule();
    qint64 drawInterArrivalNs();
    void emitFresh();
    void updateExhausted();

    SourceConfig m_config;
    quint64 m_nextId = 1;
    quint64 m_generated = 0;
    quint64 m_effectiveSeed = 0;
    int m_burstLeft = 0;
    QList<Job> m_putBack;

    bool m_started = false;
    bool m_stopped = false;
    bool m_paused = false;
    bool m_held = false;
    bool m_pumpPosted = false;
    bool m_exhaustedReported = false;

    // The Poisson schedule, against a monotonic clock. While suspended only the remaining time to the next arrival
    // is kept (m_remainingNs), which is what makes a suspension stop the clock.
    bool m_scheduleRunning = false;
    bool m_clockSuspended = false;
    qint64 m_nextDueNs = 0;
    qint64 m_remainingNs = 0;
    QElapsedTimer m_clock;
    QTimer *m_timer = nullptr;
    // Seeded from m_effectiveSeed at their first draw, not in start(): seeding one costs about 70 k instructions
    // (the Mersenne Twister's seed sequence), on the start's path to READY, and a run at --rate 0 draws nothing.
    std::optional<QRandomGenerator> m_costRng;
    std::optional<QRandomGenerator> m_arrivalRng;
    QRandomGenerator &costRng();
    QRandomGenerator &arrivalRng();
};

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::SourceConfig)
