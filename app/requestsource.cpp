#include "requestsource.h"

#include <QtCore/QTimer>

#include <algorithm>
#include <cmath>

namespace Quiesce {

namespace {

// Longest single timer interval: a very low rate just re-arms the timer instead of overflowing its int.
constexpr qint64 MaxTimerMs = 60 * 60 * 1000;
// Longest inter-arrival time we represent; beyond it qint64 nanoseconds would overflow on addition.
constexpr double MaxInterArrivalNs = 1e15;

} // namespace

RequestSource::RequestSource(QObject *parent)
    : QObject(parent)
    , m_timer(new QTimer(this))
{
    m_clock.start();
    m_timer->setSingleShot(true);
    // Precise: at moderate rates the arrival times are worth honouring to the millisecond.
    m_timer->setTimerType(Qt::PreciseTimer);
    connect(m_timer, &QTimer::timeout, this, &RequestSource::pump);
}

RequestSource::~RequestSource() = default;

void RequestSource::setConfig(const SourceConfig &config)
{
    const bool rateChanged = !(config.ratePerSecond == m_config.ratePerSecond);
    m_config = config;
    if (!m_started || m_stopped || !rateChanged)
        return;
    if (!(m_config.ratePerSecond > 0)) {
        m_scheduleRunning = false;
        m_clockSuspended = false;
        m_timer->stop();
    } else if (m_scheduleRunning) {
        // Poisson arrivals are memoryless, so redrawing the pending inter-arrival time with the new rate is exact.
        const qint64 interval = drawInterArrivalNs();
        if (m_clockSuspended)
            m_remainingNs = interval;
        else
            m_nextDueNs = m_clock.nsecsElapsed() + interval;
    }
    // Otherwise the schedule starts once the burst is out (or on the next pump, if the rate was 0).
    updateExhausted();
    if (isActive())
        schedulePump();
}

SourceConfig RequestSource::config() const
{
    return m_config;
}

void RequestSource::setNextId(quint64 id)
{
    // Ids handed out must stay strictly increasing: once something was generated, never go back.
    if (m_generated > 0 && id < m_nextId)
        return;
    m_nextId = id;
}

quint64 RequestSource::nextId() const
{
    return m_nextId;
}

void RequestSource::start()
{
    if (m_started || m_stopped)
        return;
    m_started = true;
    m_effectiveSeed = m_config.seed;
    // Eight bytes from the system generator: the first use of global() seeds a whole Mersenne Twister state from
    // it (624 words, one RDRAND each where the CPU has it: 0.2-0.3 ms on the way to READY on a virtual EPYC).
    while (m_effectiveSeed == 0)
        m_effectiveSeed = QRandomGenerator::system()->generate64();
    m_costRng.reset(); // seeded from m_effectiveSeed at the first draw
    m_arrivalRng.reset();
    m_burstLeft = std::max(0, m_config.burst);
    // Nothing is emitted from inside start(): the first chunk comes on the next event-loop turn.
    if (isActive())
        schedulePump();
}

void RequestSource::stop()
{
    if (m_stopped)
        return;
    m_stopped = true;
    m_timer->stop();
    m_burstLeft = 0;
    m_putBack.clear();
    m_scheduleRunning = false;
    m_clockSuspended = false;
    updateExhausted();
}

void RequestSource::setPaused(bool paused)
{
    if (paused == m_paused)
        return;
    const bool wasActive = isActive();
    m_paused = paused;
    if (wasActive && !isActive())
        suspendClock();
    else if (!wasActive && isActive())
        resumeClock();
    Q_EMIT pausedChanged(m_paused);
}

bool RequestSource::isPaused() const
{
    return m_paused;
}

void RequestSource::setHeld(bool held)
{
    if (held == m_held)
        return;
    const bool wasActive = isActive();
    m_held = held;
    if (wasActive && !isActive())
        suspendClock();
    else if (!wasActive && isActive())
        resumeClock();
}

bool RequestSource::isHeld() const
{
    return m_held;
}

void RequestSource::putBack(const Job &job)
{
    if (m_stopped)
        return;
    m_putBack.append(job);
    updateExhausted();
    if (isActive())
        schedulePump();
}

void RequestSource::addBurst(int count)
{
    if (m_stopped || !m_started || count <= 0)
        return;
    m_burstLeft += count;
    updateExhausted();
    if (isActive())
        schedulePump();
}

int RequestSource::putBackCount() const
{
    return int(m_putBack.size());
}

bool RequestSource::isExhausted() const
{
    return m_stopped || (m_started && m_burstLeft == 0 && m_putBack.isEmpty() && !(m_config.ratePerSecond > 0));
}

quint64 RequestSource::generatedCount() const
{
    return m_generated;
}

quint64 RequestSource::effectiveSeed() const
{
    return m_effectiveSeed;
}

bool RequestSource::isActive() const
{
    return m_started && !m_stopped && !m_paused && !m_held;
}

void RequestSource::pump()
{
    m_pumpPosted = false;
    int emitted = 0;
    // Every condition is re-read after each emission: a slot connected to generated() may pause, hold, stop, give
    // a request back or change the rate, and that must take effect before the next emission.
    while (isActive() && emitted < chunkSize()) {
        if (!m_putBack.isEmpty()) {
            const Job job = m_putBack.takeFirst();
            ++emitted;
            Q_EMIT generated(job);
            continue;
        }
        if (m_burstLeft > 0) {
            --m_burstLeft;
            ++emitted;
            emitFresh();
            continue;
        }
        if (!(m_config.ratePerSecond > 0))
            break;
        if (!m_scheduleRunning)
            startSchedule();
        if (m_nextDueNs > m_clock.nsecsElapsed())
            break;
        // Advance from the due time, not from now: a late tick emits everything that fell due meanwhile, which
        // keeps the long-run rate exact whatever the timer resolution.
        m_nextDueNs += drawInterArrivalNs();
        ++emitted;
        emitFresh();
    }
    updateExhausted();
    scheduleNextTick();
}

void RequestSource::schedulePump()
{
    if (m_pumpPosted)
        return;
    m_pumpPosted = true;
    // A posted event rather than a 0 ms timer: it keeps FIFO order with other posted events, and Qt delivers events
    // posted while it is delivering on the next loop iteration, so timers, sockets and the GUI get their turn.
    QMetaObject::invokeMethod(this, &RequestSource::pump, Qt::QueuedConnection);
}

void RequestSource::scheduleNextTick()
{
    if (!isActive()) {
        m_timer->stop();
        return;
    }
    if (!m_putBack.isEmpty() || m_burstLeft > 0) {
        m_timer->stop();
        schedulePump();
        return;
    }
    if (!m_scheduleRunning) {
        m_timer->stop();
        return;
    }
    const qint64 waitNs = m_nextDueNs - m_clock.nsecsElapsed();
    if (waitNs <= 0) {
        m_timer->stop();
        schedulePump();
        return;
    }
    const qint64 waitMs = std::min(MaxTimerMs, (waitNs + 999'999) / 1'000'000);
    m_timer->start(int(waitMs));
}

void RequestSource::suspendClock()
{
    m_timer->stop();
    if (m_scheduleRunning && !m_clockSuspended) {
        m_remainingNs = std::max<qint64>(0, m_nextDueNs - m_clock.nsecsElapsed());
        m_clockSuspended = true;
    }
}

void RequestSource::resumeClock()
{
    if (m_clockSuspended) {
        m_nextDueNs = m_clock.nsecsElapsed() + m_remainingNs;
        m_clockSuspended = false;
    }
    schedulePump();
}

void RequestSource::startSchedule()
{
    m_scheduleRunning = true;
    m_clockSuspended = false;
    m_nextDueNs = m_clock.nsecsElapsed() + drawInterArrivalNs();
}

QRandomGenerator &RequestSource::costRng()
{
    if (!m_costRng) {
        const quint32 seed[] = {quint32(m_effectiveSeed), quint32(m_effectiveSeed >> 32)};
        m_costRng.emplace(seed);
    }
    return *m_costRng;
}

QRandomGenerator &RequestSource::arrivalRng()
{
    if (!m_arrivalRng) {
        // A different seed sequence for the arrivals, so that costs do not depend on how many arrivals were drawn.
        const quint32 seed[] = {quint32(m_effectiveSeed) ^ 0x9e3779b9u, quint32(m_effectiveSeed >> 32) ^ 0x7f4a7c15u,
                                0x51ed270bu};
        m_arrivalRng.emplace(seed);
    }
    return *m_arrivalRng;
}

qint64 RequestSource::drawInterArrivalNs()
{
    const double rate = m_config.ratePerSecond;
    if (!(rate > 0))
        return qint64(MaxInterArrivalNs);
    // Exponential inter-arrival time by inversion; generateDouble() is in [0, 1), so log1p(-u) is finite.
    const double u = arrivalRng().generateDouble();
    const double ns = -std::log1p(-u) / rate * 1e9;
    return qint64(std::clamp(ns, 0.0, MaxInterArrivalNs));
}

void RequestSource::emitFresh()
{
    int low = std::min(m_config.workMinMs, m_config.workMaxMs);
    int high = std::max(m_config.workMinMs, m_config.workMaxMs);
    low = std::max(0, low);
    high = std::max(low, high);
    Job job;
    job.id = m_nextId++;
    // Always draw, even when low == high: one draw per request keeps a seed's sequence aligned across live range
    // changes.
    job.payload = QByteArray::number(low + int(costRng().bounded(quint32(high - low) + 1u)));
    job.attempts = 0;
    ++m_generated;
    // Announced before the job itself, so that whoever runs it knows before it can be taken.
    if (m_config.hangAt != 0 && m_generated == m_config.hangAt)
        Q_EMIT hangChosen(job.id);
    Q_EMIT generated(job);
}

void RequestSource::updateExhausted()
{
    const bool exhaustedNow = isExhausted();
    if (exhaustedNow && !m_exhaustedReported) {
        m_exhaustedReported = true;
        Q_EMIT exhausted();
    } else if (!exhaustedNow) {
        m_exhaustedReported = false;
    }
}

} // namespace Quiesce
