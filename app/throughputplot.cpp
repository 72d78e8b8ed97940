#include "throughputplot.h"

#include "themecolors.h"

#include <QtCore/QLocale>
#include <QtCore/QStringList>
#include <QtGui/QPainter>
#include <QtGui/QPainterPath>

#include <algorithm>
#include <cmath>

namespace Quiesce::App {

namespace {

constexpr qint64 kSpanStepMs = 10000;

} // namespace

ThroughputPlot::ThroughputPlot(QWidget *parent)
    : QWidget(parent)
{
    m_clock.start();
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setToolTip(tr("Throughput (requests done per second, left scale) and queue depth (right scale) over the last "
                  "minute"));
}

ThroughputPlot::~ThroughputPlot() = default;

void ThroughputPlot::addSample(double throughput, int queueDepth)
{
    addSampleAt(m_clock.elapsed(), throughput, queueDepth);
}

void ThroughputPlot::addSampleAt(qint64 atMs, double throughput, int queueDepth)
{
    Sample s;
    s.atMs = atMs;
    s.throughput = std::isfinite(throughput) ? std::max(0.0, throughput) : 0.0;
    s.queueDepth = std::max(0, queueDepth);
    m_samples.append(s);
    dropOld();
    update();
}

void ThroughputPlot::clear()
{
    m_samples.clear();
    update();
}

qsizetype ThroughputPlot::sampleCount() const
{
    return m_samples.size();
}

double ThroughputPlot::latestThroughput() const
{
    return m_samples.isEmpty() ? 0.0 : m_samples.constLast().throughput;
}

void ThroughputPlot::setSpan(std::chrono::milliseconds span)
{
    m_span = std::max(span, std::chrono::milliseconds(1000));
    dropOld();
    update();
}

std::chrono::milliseconds ThroughputPlot::span() const
{
    return m_span;
}

std::chrono::milliseconds ThroughputPlot::visibleSpan() const
{
    const qint64 history = m_samples.size() < 2 ? 0 : m_samples.constLast().atMs - m_samples.constFirst().atMs;
    const qint64 rounded = (history + kSpanStepMs - 1) / kSpanStepMs * kSpanStepMs;
    const qint64 most = m_span.count();
    return std::chrono::milliseconds(std::clamp(rounded, std::min(kSpanStepMs, most), most));
}

double ThroughputPlot::niceCeiling(double value, double floor)
{
    const double v = std::max(value, floor);
    if (!(v > 0))
        return floor;
    const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
    for (const double step : {1.0, 2.0, 5.0, 10.0}) {
        if (v <= step * magnitude * (1 + 1e-9))
            return step * magnitude;
    }
    return 10 * magnitude;
}

double ThroughputPlot::throughputScale() const
{
    // Only the samples inside the window count: the one kept just outside (for the left edge) is clipped.
    double top = 0;
    const qint64 from = m_samples.isEmpty() ? 0 : m_samples.constLast().atMs - m_span.count();
    for (const Sample &s : m_samples) {
        if (s.atMs >= from)
            top = std::max(top, s.throughput);
    }
    return niceCeiling(top * 1.1, 1.0); // headroom: the line never runs along the top edge
}

int ThroughputPlot::divisionsFor(double scale)
{
    if (!(scale > 0))
        return 5;
    const double leading = scale / std::pow(10.0, std::floor(std::log10(scale)));
    // 1 → steps of 0.2, 2 → 0.5, 5 → 1 (times the power of ten): every tick a round number.
    return leading > 1.5 && leading < 3 ? 4 : 5;
}

void ThroughputPlot::setQueueLimit(int limit)
{
    m_queueLimit = std::max(0, limit);
    update();
}

int ThroughputPlot::queueLimit() const
{
    return m_queueLimit;
}

int ThroughputPlot::queueScale() const
{
    int top = 0;
    const qint64 from = m_samples.isEmpty() ? 0 : m_samples.constLast().atMs - m_span.count();
    for (const Sample &s : m_samples) {
        if (s.atMs >= from)
            top = std::max(top, s.queueDepth);
    }
    // With a bounded queue the right axis ends at the limit: a full queue reaches the top, half full is half.
    if (m_queueLimit > 0 && top <= m_queueLimit)
        return m_queueLimit;
    return int(niceCeiling(top * 1.1, 5.0));
}

QColor ThroughputPlot::seriesColor(Series series, Theme::Use use) const
{
    return Theme::color(series == Series::Throughput ? Theme::Role::Throughput : Theme::Role::Queue, palette(), use);
}

QSize ThroughputPlot::sizeHint() const
{
    return {480, 180};
}

QSize ThroughputPlot::minimumSizeHint() const
{
    return {240, 120};
}

void ThroughputPlot::dropOld()
{
    if (m_samples.isEmpty())
        return;
    // Keep one sample just outside the window so the lines reach the left edge instead of starting mid-air.
    const qint64 cutoff = m_samples.constLast().atMs - m_span.count();
    qsizetype firstInside = 0;
    while (firstInside < m_samples.size() && m_samples.at(firstInside).atMs < cutoff)
        ++firstInside;
    if (firstInside > 1)
        m_samples.remove(0, firstInside - 1);
}

void ThroughputPlot::paintEvent(QPaintEvent *event)
{
    Q_UNUSED(event);
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);

    const QPalette &pal = palette();
    p.fillRect(rect(), pal.base());
    // Series colours from the palette, checked for contrast on its base: 3:1 for the lines, 4.5:1 for text.
    const QColor throughputLineColor = seriesColor(Series::Throughput, Theme::Use::Graphic);
    const QColor queueLineColor = seriesColor(Series::Queue, Theme::Use::Graphic);
    const QColor throughputTextColor = seriesColor(Series::Throughput, Theme::Use::Text);
    const QColor queueTextColor = seriesColor(Series::Queue, Theme::Use::Text);

    const QFontMetrics fm = fontMetrics();
    const int lineHeight = fm.height();
    const double tScale = throughputScale();
    const int qScale = queueScale();
    // Ticks at round values of the left scale (1, 2 or 5 × 10^k split in 5, 4 or 5); the right scale shares them.
    const int divisions = divisionsFor(tScale);
    const QLocale locale;
    auto tickText = [&locale](double value) {
        const double rounded = std::round(value);
        return std::abs(value - rounded) < 1e-9 ? locale.toString(qint64(rounded))
                                                : locale.toString(value, 'f', value < 1 ? 2 : 1);
    };
    QStringList leftTicks;
    QStringList rightTicks;
    int leftWidth = 0;
    int rightWidth = 0;
    for (int i = 0; i <= divisions; ++i) {
        leftTicks << tickText(tScale * i / divisions);
        rightTicks << locale.toString(qRound64(double(qScale) * i / divisions));
        leftWidth = std::max(leftWidth, fm.horizontalAdvance(leftTicks.constLast()));
        rightWidth = std::max(rightWidth, fm.horizontalAdvance(rightTicks.constLast()));
    }
    // The units sit above each axis: requests per second on the left, requests queued on the right.
    const QString leftUnit = tr("req/s");
    const QString rightUnit = tr("queued");
    leftWidth = std::max(leftWidth, fm.horizontalAdvance(leftUnit));
    rightWidth = std::max(rightWidth, fm.horizontalAdvance(rightUnit));
    const int leftMargin = leftWidth + 10;
    const int rightMargin = rightWidth + 10;
    const QRectF plot(leftMargin, 2 * lineHeight + 12, std::max(10, width() - leftMargin - rightMargin),
                      std::max(10, height() - 3 * lineHeight - 18));

    // Grid.
    QColor gridColor = pal.color(QPalette::Text);
    gridColor.setAlpha(40);
    p.setPen(QPen(gridColor, 1));
    for (int i = 0; i <= divisions; ++i) {
        const double y = plot.bottom() - plot.height() * i / divisions;
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
    }
    const qint64 spanMs = visibleSpan().count();
    const qint64 gridStepMs = spanMs <= 20000 ? 2000 : spanMs <= 40000 ? 5000 : 10000;
    for (qint64 t = 0; t <= spanMs; t += gridStepMs) {
        const double x = plot.right() - plot.width() * double(t) / double(spanMs);
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
    }

    // Time axis: seconds before now.
    p.setPen(pal.color(QPalette::Text));
    const int labelY = int(plot.bottom()) + lineHeight + 2;
    p.drawText(QPointF(plot.left(), labelY), tr("%1 s ago").arg(locale.toString(spanMs / 1000)));
    const QString now = tr("now");
    p.drawText(QPointF(plot.right() - fm.horizontalAdvance(now), labelY), now);

    // Value axes with their units.
    const double unitY = plot.top() - lineHeight / 2.0 - 2;
    p.setPen(throughputTextColor);
    p.drawText(QPointF(leftMargin - 6 - fm.horizontalAdvance(leftUnit), unitY), leftUnit);
    for (int i = 0; i <= divisions; ++i) {
        const double y = plot.bottom() - plot.height() * i / divisions + fm.ascent() / 2.0 - 1;
        p.drawText(QPointF(leftMargin - 6 - fm.horizontalAdvance(leftTicks.at(i)), y), leftTicks.at(i));
    }
    p.setPen(queueTextColor);
    p.drawText(QPointF(plot.right() + 6, unitY), rightUnit);
    for (int i = 0; i <= divisions; ++i) {
        const double y = plot.bottom() - plot.height() * i / divisions + fm.ascent() / 2.0 - 1;
        p.drawText(QPointF(plot.right() + 6, y), rightTicks.at(i));
    }

    // Legend, above the plot.
    auto legend = [&p, &fm, lineHeight](int x, const QColor &line, const QColor &textColor, const QString &text) {
        p.fillRect(QRectF(x, 4 + lineHeight / 2.0 - 2, 14, 4), line);
        p.setPen(textColor);
        p.drawText(QPointF(x + 18, 4 + fm.ascent()), text);
        return x + 18 + fm.horizontalAdvance(text) + 16;
    };
    const int next = legend(leftMargin, throughputLineColor, throughputTextColor, tr("requests done per second"));
    legend(next, queueLineColor, queueTextColor,
           m_queueLimit > 0 ? tr("queue (limit %1)").arg(locale.toString(m_queueLimit)) : tr("queue"));

    if (m_samples.isEmpty())
        return;

    // The lines: time runs right to left from the newest sample.
    const qint64 newest = m_samples.constLast().atMs;
    auto xOf = [&plot, newest, spanMs](qint64 atMs) {
        const double age = double(newest - atMs) / double(spanMs);
        return plot.right() - plot.width() * std::min(1.0, age);
    };
    auto yOf = [&plot](double value, double scale) { return plot.bottom() - plot.height() * (value / scale); };

    p.save();
    p.setClipRect(plot.adjusted(-1, -1, 1, 1));
    QPainterPath throughputLine;
    QPainterPath queueLine;
    for (qsizetype i = 0; i < m_samples.size(); ++i) {
        const Sample &s = m_samples.at(i);
        const QPointF t(xOf(s.atMs), yOf(s.throughput, tScale));
        const QPointF q(xOf(s.atMs), yOf(s.queueDepth, qScale));
        if (i == 0) {
            throughputLine.moveTo(t);
            queueLine.moveTo(q);
        } else {
            throughputLine.lineTo(t);
            queueLine.lineTo(q);
        }
    }
    // A soft fill under the throughput: the eye reads the area as "work done".
    QPainterPath area = throughputLine;
    area.lineTo(xOf(newest), plot.bottom());
    area.lineTo(xOf(m_samples.constFirst().atMs), plot.bottom());
    area.closeSubpath();
    QColor fill = throughputLineColor;
    fill.setAlpha(45);
    p.fillPath(area, fill);
    p.setBrush(Qt::NoBrush);
    p.setPen(QPen(queueLineColor, 2));
    p.drawPath(queueLine);
    p.setPen(QPen(throughputLineColor, 2));
    p.drawPath(throughputLine);
    p.restore();
}

} // namespace Quiesce::App
