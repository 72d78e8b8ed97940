#include "themecolors.h"

#include <QtGui/QFontMetrics>
#include <QtGui/QGuiApplication>
#include <QtGui/QIconEngine>
#include <QtGui/QPainter>
#include <QtGui/QPainterPath>
#include <QtGui/QPalette>
#include <QtGui/QPixmap>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace Quiesce::App::Theme {

namespace {

double linear(double channel)
{
    return channel <= 0.04045 ? channel / 12.92 : std::pow((channel + 0.055) / 1.055, 2.4);
}

// The starting hues: strong enough on a light background, and a lighter variant for a dark one.
QColor preferred(Role role, bool dark)
{
    switch (role) {
    case Role::Busy:
        return dark ? QColor(0x6f, 0xd8, 0x8f) : QColor(0x1e, 0x84, 0x49);
    case Role::Hung:
        return dark ? QColor(0xff, 0x8a, 0x80) : QColor(0xc0, 0x39, 0x2b);
    case Role::Warning:
        return dark ? QColor(0xf5, 0xb0, 0x41) : QColor(0xa0, 0x52, 0x00);
    case Role::Throughput:
        return dark ? QColor(0x6c, 0xb4, 0xf5) : QColor(0x1f, 0x6f, 0xbf);
    case Role::Queue:
        return dark ? QColor(0xf5, 0xa6, 0x5b) : QColor(0xb3, 0x5a, 0x00);
    }
    return {};
}

qreal pixelRatio()
{
    return qGuiApp ? qGuiApp->devicePixelRatio() : 1.0;
}

QPixmap canvas(QSize size)
{
    const qreal dpr = pixelRatio();
    QPixmap pixmap(size * dpr);
    pixmap.setDevicePixelRatio(dpr);
    pixmap.fill(Qt::transparent);
    return pixmap;
}

} // namespace

QList<Role> allRoles()
{
    return {Role::Busy, Role::Hung, Role::Warning, Role::Throughput, Role::Queue};
}

double relativeLuminance(const QColor &color)
{
    const QColor c = color.toRgb();
    return 0.2126 * linear(c.redF()) + 0.7152 * linear(c.greenF()) + 0.0722 * linear(c.blueF());
}

double contrastRatio(const QColor &a, const QColor &b)
{
    const double la = relativeLuminance(a);
    const double lb = relativeLuminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

bool isDark(const QPalette &palette)
{
    return relativeLuminance(palette.color(QPalette::Window)) < relativeLuminance(palette.color(QPalette::WindowText));
}

double minimumContrast(Use use)
{
    return use == Use::Text ? 4.5 : 3.0;
}

QColor readable(const QColor &translucent, const QColor &background, double minRatio)
{
    // A translucent colour (Qt's default placeholder text is) is what it looks like on the background: opaque.
    const QColor bg = background.toRgb();
    const QColor fg = translucent.toRgb();
    const double a = fg.alphaF();
    const QColor preferredColor =
        QColor::fromRgbF(float(fg.redF() * a + bg.redF() * (1 - a)), float(fg.greenF() * a + bg.greenF() * (1 - a)),
                         float(fg.blueF() * a + bg.blueF() * (1 - a)));
    if (contrastRatio(preferredColor, background) >= minRatio)
        return preferredColor;
    // Same hue and saturation, lightness moved away from the background's until the contrast is reached; the
    // extreme (black or white) always reaches 4.5:1 against a background that is clearly light or dark.
    const bool towardsBlack = relativeLuminance(background) > 0.18;
    const QColor hsl = preferredColor.toHsl();
    QColor candidate = preferredColor;
    for (int step = 1; step <= 100; ++step) {
        const float lightness = towardsBlack ? std::max(0.0f, hsl.lightnessF() - 0.01f * float(step))
                                             : std::min(1.0f, hsl.lightnessF() + 0.01f * float(step));
        candidate = QColor::fromHslF(hsl.hslHueF(), hsl.hslSaturationF(), lightness).toRgb();
        if (contrastRatio(candidate, background) >= minRatio)
            return candidate;
    }
    return towardsBlack ? QColor(Qt::black) : QColor(Qt::white);
}

QColor color(Role role, const QPalette &palette, Use use)
{
    const QColor background = palette.color(QPalette::Base);
    return readable(preferred(role, isDark(palette)), background, minimumContrast(use));
}

QSize markIconSize(const QFontMetrics &metrics)
{
    const int side = std::max(12, metrics.height() - 2);
    return {side, side};
}

QIcon markIcon(Mark mark, const QPalette &palette, QSize size)
{
    QPixmap pixmap = canvas(size);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    const QColor text = readable(palette.color(QPalette::Text), palette.color(QPalette::Base), 4.5);
    const qreal s = std::min(size.width(), size.height());
    const qreal pen = std::max<qreal>(1.5, s / 8.0);
    const QRectF box(pen, pen, s - 2 * pen, s - 2 * pen);
    switch (mark) {
    case Mark::Pending: {
        QColor faint = palette.color(QPalette::PlaceholderText);
        faint = readable(faint, palette.color(QPalette::Base), 3.0);
        p.setPen(QPen(faint, pen));
        p.drawEllipse(box.adjusted(s / 8, s / 8, -s / 8, -s / 8));
        break;
    }
    case Mark::Running: {
        QPainterPath triangle;
        triangle.moveTo(box.left() + s / 8, box.top());
        triangle.lineTo(box.right(), box.center().y());
        triangle.lineTo(box.left() + s / 8, box.bottom());
        triangle.closeSubpath();
        p.fillPath(triangle, color(Role::Throughput, palette, Use::Graphic));
        break;
    }
    case Mark::Done: {
        p.setPen(QPen(color(Role::Busy, palette, Use::Graphic), pen * 1.3, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
        const QPointF points[] = {{box.left(), box.center().y()},
                                  {box.left() + box.width() * 0.38, box.bottom() - box.height() * 0.1},
                                  {box.right(), box.top() + box.height() * 0.1}};
        p.drawPolyline(points, 3);
        break;
    }
    case Mark::Warning: {
        // A clock: the step ran out of time.
        p.setPen(QPen(color(Role::Warning, palette, Use::Graphic), pen, Qt::SolidLine, Qt::RoundCap));
        p.drawEllipse(box);
        p.drawLine(box.center(), QPointF(box.center().x(), box.top() + box.height() * 0.22));
        p.drawLine(box.center(), QPointF(box.right() - box.width() * 0.25, box.center().y()));
        break;
    }
    case Mark::Failed: {
        p.setPen(QPen(color(Role::Hung, palette, Use::Graphic), pen * 1.3, Qt::SolidLine, Qt::RoundCap));
        const QRectF x = box.adjusted(s / 10, s / 10, -s / 10, -s / 10);
        p.drawLine(x.topLeft(), x.bottomRight());
        p.drawLine(x.topRight(), x.bottomLeft());
        break;
    }
    case Mark::Skipped:
        p.setPen(QPen(text, pen, Qt::SolidLine, Qt::RoundCap));
        p.drawLine(QPointF(box.left() + s / 8, box.center().y()), QPointF(box.right() - s / 8, box.center().y()));
        break;
    }
    p.end();
    return QIcon(pixmap);
}

namespace {

constexpr int kToolIconSides[] = {16, 22, 24, 32};

} // namespace

QList<int> toolIconSides()
{
    return {std::begin(kToolIconSides), std::end(kToolIconSides)};
}

QPixmap drawToolIcon(ToolIcon icon, const QPalette &palette, int side)
{
    const QSize size(side, side);
    QPixmap pixmap = canvas(size);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    const QColor ink = readable(palette.color(QPalette::ButtonText), palette.color(QPalette::Button), 4.5);
    const qreal s = side;
    const qreal pen = std::max<qreal>(1.5, s / 11.0);
    p.setPen(QPen(ink, pen, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    p.setBrush(Qt::NoBrush);
    switch (icon) {
    case ToolIcon::Quit: {
        // A door frame with an arrow leaving it: "leave the application", not "close this dialog".
        p.drawPolyline(QPolygonF({{s * 0.45, s * 0.2}, {s * 0.2, s * 0.2}, {s * 0.2, s * 0.8}, {s * 0.45, s * 0.8}}));
        p.drawLine(QPointF(s * 0.4, s * 0.5), QPointF(s * 0.85, s * 0.5));
        p.drawPolyline(QPolygonF({{s * 0.7, s * 0.35}, {s * 0.85, s * 0.5}, {s * 0.7, s * 0.65}}));
        break;
    }
    case ToolIcon::Pause:
        p.fillRect(QRectF(s * 0.25, s * 0.2, s * 0.17, s * 0.6), ink);
        p.fillRect(QRectF(s * 0.58, s * 0.2, s * 0.17, s * 0.6), ink);
        break;
    case ToolIcon::Resume: {
        QPainterPath triangle;
        triangle.moveTo(s * 0.28, s * 0.18);
        triangle.lineTo(s * 0.8, s * 0.5);
        triangle.lineTo(s * 0.28, s * 0.82);
        triangle.closeSubpath();
        p.fillPath(triangle, ink);
        break;
    }
    case ToolIcon::Burst:
        // Three stacked arrows up: many requests at once.
        for (const qreal x : {0.25, 0.5, 0.75}) {
            p.drawLine(QPointF(s * x, s * 0.82), QPointF(s * x, s * 0.25));
            p.drawPolyline(QPolygonF({{s * (x - 0.1), s * 0.38}, {s * x, s * 0.22}, {s * (x + 0.1), s * 0.38}}));
        }
        break;
    case ToolIcon::Hang:
        p.drawEllipse(QRectF(s * 0.15, s * 0.15, s * 0.7, s * 0.7));
        p.drawLine(QPointF(s * 0.5, s * 0.5), QPointF(s * 0.5, s * 0.28));
        p.drawLine(QPointF(s * 0.5, s * 0.5), QPointF(s * 0.68, s * 0.5));
        break;
    }
    p.end();
    return pixmap;
}

namespace {

// The drawn tool icon, rendered when it is first asked for and only at the sizes asked for: the window builds its
// actions before its first frame, which shows one size of four (the tool bar's; the menus' when one opens), and
// drawing all four for five icons was a tenth of the window's construction. What it paints is what a QIcon holding
// all four renderings paints: every request goes to such an icon (m_drawn) after the rendering that icon would pick
// for it is added. QIcon's pixmap engine picks the smallest rendering at least as large as the request (by area),
// else the largest; a subset holding that one picks it too. At a device pixel ratio other than 1 the request's
// size and the renderings' are in different units: there the first request draws all four, and an application
// that starts at another ratio gets them drawn at once (toolIcon()).
class ToolIconEngine final : public QIconEngine
{
public:
    ToolIconEngine(ToolIcon icon, const QPalette &palette)
        : m_icon(icon)
        , m_palette(palette)
    {}

    void paint(QPainter *painter, const QRect &rect, QIcon::Mode mode, QIcon::State state) override
    {
        const qreal dpr = painter && painter->device() ? painter->device()->devicePixelRatio() : 1.0;
        ensureFor(rect.size(), dpr);
        m_drawn.paint(painter, rect, Qt::AlignCenter, mode, state);
    }

    QSize actualSize(const QSize &size, QIcon::Mode mode, QIcon::State state) override
    {
        ensureFor(size, pixelRatio());
        return m_drawn.actualSize(size, mode, state);
    }

    QPixmap pixmap(const QSize &size, QIcon::Mode mode, QIcon::State state) override
    {
        ensureFor(size, 1.0);
        return m_drawn.pixmap(size, 1.0, mode, state);
    }

    QPixmap scaledPixmap(const QSize &size, QIcon::Mode mode, QIcon::State state, qreal scale) override
    {
        // QIcon::pixmap() passes the size in device pixels here; the inner icon multiplies it again.
        ensureFor(size, scale);
        if (!(scale > 1.0))
            return m_drawn.pixmap(size, 1.0, mode, state);
        return m_drawn.pixmap(size / scale, scale, mode, state);
    }

    QList<QSize> availableSizes(QIcon::Mode mode, QIcon::State state) override
    {
        ensureAll();
        return m_drawn.availableSizes(mode, state);
    }

    void addPixmap(const QPixmap &pixmap, QIcon::Mode mode, QIcon::State state) override
    {
        ensureAll();
        m_drawn.addPixmap(pixmap, mode, state);
    }

    void addFile(const QString &fileName, const QSize &size, QIcon::Mode mode, QIcon::State state) override
    {
        ensureAll();
        m_drawn.addFile(fileName, size, mode, state);
    }

    bool isNull() override { return false; }

    QString key() const override { return QStringLiteral("QuiesceToolIcon"); }

    QIconEngine *clone() const override { return new ToolIconEngine(*this); }

private:
    ToolIconEngine(const ToolIconEngine &) = default;

    void ensureSide(int index)
    {
        if (!m_renderings[index].isNull())
            return;
        m_renderings[index] = drawToolIcon(m_icon, m_palette, kToolIconSides[index]);
        m_drawn.addPixmap(m_renderings[index]);
    }

    // All four, added in the order an icon built at once holds them (availableSizes() lists them in that order).
    void ensureAll()
    {
        if (m_complete)
            return;
        m_complete = true;
        m_drawn = QIcon();
        for (std::size_t i = 0; i < std::size(kToolIconSides); ++i) {
            if (m_renderings[i].isNull())
                m_renderings[i] = drawToolIcon(m_icon, m_palette, kToolIconSides[i]);
            m_drawn.addPixmap(m_renderings[i]);
        }
    }

    void ensureFor(const QSize &size, qreal dpr)
    {
        if (dpr != 1.0 || pixelRatio() != 1.0 || !size.isValid()) {
            ensureAll();
            return;
        }
        const qint64 area = qint64(size.width()) * size.height();
        int pick = int(std::size(kToolIconSides)) - 1;
        for (int i = 0; i < int(std::size(kToolIconSides)); ++i) {
            if (qint64(kToolIconSides[i]) * kToolIconSides[i] >= area) {
                pick = i;
                break;
            }
        }
        ensureSide(pick);
    }

    ToolIcon m_icon;
    QPalette m_palette;
    QIcon m_drawn;
    QPixmap m_renderings[std::size(kToolIconSides)];
    bool m_complete = false;
};

} // namespace

QIcon toolIcon(ToolIcon icon, const QPalette &palette)
{
    // The freedesktop names: a desktop theme draws them in its own style and colours.
    static const char *const themeNames[] = {"application-exit", "media-playback-pause", "media-playback-start",
                                             "list-add", "appointment-soon"};
    const QIcon themed = QIcon::fromTheme(QString::fromLatin1(themeNames[int(icon)]));
    if (!themed.isNull())
        return themed;
    if (pixelRatio() == 1.0)
        return QIcon(new ToolIconEngine(icon, palette));
    QIcon drawn;
    for (const int side : kToolIconSides)
        drawn.addPixmap(drawToolIcon(icon, palette, side));
    return drawn;
}

} // namespace Quiesce::App::Theme
