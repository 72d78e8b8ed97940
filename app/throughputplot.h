#pragma once

#include "themecolors.h"
#include <QtCore/QElapsedTimer>

#include <QtCore/QList>
#include <QtWidgets/QWidget>

#include <chrono>

namespace Quiesce::App {

/*! \brief A live plot of throughput (requests done per second) and queue depth over the last minute.

    Drawn with QPainter only (no chart module): two lines on one time axis that ends at the newest sample, each
    with its own scale and unit (requests done per second on the left, rounded up to 1, 2 or 5 times a power of
    ten with round ticks; requests queued on the right, up to the queue limit when there is one). Samples older
    than span() drop out. */
class ThroughputPlot : public QWidget
{
    Q_OBJECT

public:
    explicit ThroughputPlot(QWidget *parent = nullptr);
    ~ThroughputPlot() override;

    /*! Appends a sample taken now. */
    void addSample(double throughput, int queueDepth);
    /*! Appends a sample taken \a atMs after the plot was created (samples must come in time order). */
    void addSampleAt(qint64 atMs, double throughput, int queueDepth);
    void clear();
    qsizetype sampleCount() const;
    /*! The newest sample's throughput (0 without samples). */
    double latestThroughput() const;

    /*! How much history is kept and shown at most; 60 s by default. */
    void setSpan(std::chrono::milliseconds span);
    std::chrono::milliseconds span() const;
    /*! The time axis drawn now: the history so far rounded up to 10 s, at least 10 s and at most span(), so a
        fresh plot is not a flat line squeezed against the right edge. */
    std::chrono::milliseconds visibleSpan() const;

    /*! The bounded queue's limit (0 = unbounded): the right axis then ends at it, so a full queue reaches the top. */
    void setQueueLimit(int limit);
    int queueLimit() const;

    /*! The top of each axis as drawn now (for tests and the tooltip). */
    double throughputScale() const;
    int queueScale() const;

    enum class Series { Throughput, Queue };
    /*! The colour \a series is drawn in on the current palette (a line: Theme::Use::Graphic; its labels and legend
        text: Theme::Use::Text), contrast-checked against the palette's base. */
    QColor seriesColor(Series series, Theme::Use use) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

    /*! 1, 2 or 5 times a power of ten, at least \a value (and at least \a floor). */
    static double niceCeiling(double value, double floor);
    /*! How many grid steps a scale from niceCeiling() gets so that every tick is a round number: 1 → 5 (0.2 each),
        2 → 4 (0.5 each), 5 → 5 (1 each), times the power of ten. */
    static int divisionsFor(double scale);

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    struct Sample
    {
        qint64 atMs = 0;
        double throughput = 0;
        int queueDepth = 0;
    };

    void dropOld();

    QList<Sample> m_samples;
    QElapsedTimer m_clock;
    std::chrono::milliseconds m_span {60000};
    int m_queueLimit = 0;
};

} // namespace Quiesce::App
