#include "pluginfreeicons.h"

#include <QtCore/QDateTime>
#include <QtCore/QFileInfo>
#include <QtGui/QGuiApplication>
#include <QtGui/QIconEngine>
#include <QtGui/QImage>
#include <QtGui/QImageReader>
#include <QtGui/QPainter>
#include <QtGui/QPixmap>
#include <QtGui/QPixmapCache>
#include <QtWidgets/QApplication>
#include <QtWidgets/QStyleFactory>
#include <QtWidgets/QStyleOption>

#include <algorithm>
#include <array>
#include <cstddef>

namespace Quiesce::App {

namespace {

constexpr std::array kIconSides {16, 22, 24, 32, 48, 64, 128, 256};

// Qt's own style images the window draws, as QPixmap stores them after Qt's PNG reader (generated).
struct StyleImage
{
    const char *name; // in :/qt-project.org/styles/commonstyle/images/, without ".png"
    int width;
    int height;
    const quint32 *pixels; // premultiplied ARGB, row after row
};
#include "qtstyleimages.inc"

constexpr QLatin1StringView kStyleImageDir(":/qt-project.org/styles/commonstyle/images/");

// The disabled and selected looks, made the way Qt's own icon engines make them (from the style).
QPixmap styled(const QPixmap &pixmap, QIcon::Mode mode)
{
    if (mode == QIcon::Normal || pixmap.isNull() || !qobject_cast<QApplication *>(QCoreApplication::instance()))
        return pixmap;
    QStyleOption option(0);
    option.palette = QGuiApplication::palette();
    const QPixmap generated = QApplication::style()->generatedIconPixmap(mode, pixmap, &option);
    return generated.isNull() ? pixmap : generated;
}

// The application icon: scalable and lazy like the SVG icon engine it replaces (a size is decoded when asked for,
// nothing is kept), from the nearest rendering at least as large, scaled down smoothly when it is not exact.
class ApplicationIconEngine final : public QIconEngine
{
public:
    // \a size is in device pixels (QIcon::pixmap() scales it by the device pixel ratio before it asks).
    QPixmap pixmap(const QSize &size, QIcon::Mode mode, QIcon::State state) override
    {
        Q_UNUSED(state);
        // A square icon in the requested box keeps its aspect ratio, as the SVG engine draws it.
        const int side = std::min(size.width(), size.height());
        if (side <= 0)
            return {};
        const auto source = std::find_if(kIconSides.begin(), kIconSides.end(), [side](int s) { return s >= side; });
        const int sourceSide = source == kIconSides.end() ? kIconSides.back() : *source;
        QImage image = PluginFreeIcons::readPng(QStringLiteral(":/icons/quiesce-%1.png").arg(sourceSide));
        if (image.isNull())
            return {};
        if (sourceSide != side)
            image = image.scaled(side, side, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        return styled(QPixmap::fromImage(image), mode);
    }

    void paint(QPainter *painter, const QRect &rect, QIcon::Mode mode, QIcon::State state) override
    {
        const qreal dpr = painter->device() ? painter->device()->devicePixelRatioF() : 1.0;
        QPixmap drawn = pixmap(rect.size() * dpr, mode, state);
        drawn.setDevicePixelRatio(dpr);
        const QSizeF logical = drawn.deviceIndependentSize();
        painter->drawPixmap(
            QPointF(rect.x() + (rect.width() - logical.width()) / 2, rect.y() + (rect.height() - logical.height()) / 2),
            drawn);
    }

    QSize actualSize(const QSize &size, QIcon::Mode mode, QIcon::State state) override
    {
        Q_UNUSED(mode);
        Q_UNUSED(state);
        const int side = std::min(size.width(), size.height());
        return side > 0 ? QSize(side, side) : QSize();
    }

    // Scalable, as the SVG engine: no fixed sizes to offer.
    QList<QSize> availableSizes(QIcon::Mode mode, QIcon::State state) override
    {
        Q_UNUSED(mode);
        Q_UNUSED(state);
        return {};
    }

    bool isNull() override { return false; }

    QString key() const override { return QStringLiteral("quiesce-application-icon"); }

    QIconEngine *clone() const override { return new ApplicationIconEngine; }
};

// Qt's own renderings of the extension button's icon (QCommonStyle adds these three for the horizontal one).
constexpr std::array kExtensionSides {8, 16, 32};

QIcon extensionIcon(bool rightToLeft)
{
    QIcon icon;
    for (const int side : kExtensionSides) {
        const QString path = QStringLiteral(":/qt-project.org/styles/commonstyle/images/toolbar-ext-h-%1%2.png")
                                 .arg(rightToLeft ? QStringLiteral("rtl-") : QString())
                                 .arg(side);
        const QImage image = PluginFreeIcons::styleImage(path);
        if (image.isNull())
            return {};
        icon.addPixmap(QPixmap::fromImage(image));
    }
    return icon;
}

} // namespace

QImage PluginFreeIcons::readPng(const QString &path)
{
    QImageReader reader(path, QByteArrayLiteral("png"));
    // No guessing: with auto-detection on, QImageReader asks every plugin whether it reads "png" (loading each).
    reader.setAutoDetectImageFormat(false);
    return reader.read();
}

QImage PluginFreeIcons::styleImage(const QString &path)
{
    if (path.startsWith(kStyleImageDir) && path.endsWith(u".png")) {
        const QStringView name = QStringView(path).sliced(kStyleImageDir.size()).chopped(4);
        for (const StyleImage &image : kStyleImages) {
            if (name == QLatin1StringView(image.name)) {
                // Wraps the constant pixels (no copy): QPixmap::fromImage() takes them as they are.
                return QImage(reinterpret_cast<const uchar *>(image.pixels), image.width, image.height,
                              image.width * int(sizeof(quint32)), QImage::Format_ARGB32_Premultiplied);
            }
        }
    }
    return readPng(path);
}

QStringList PluginFreeIcons::styleImagePaths()
{
    QStringList paths;
    for (const StyleImage &image : kStyleImages)
        paths.append(kStyleImageDir + QLatin1StringView(image.name) + QStringLiteral(".png"));
    return paths;
}

QIcon PluginFreeIcons::applicationIcon()
{
    return QIcon(new ApplicationIconEngine);
}

QString PluginFreeIcons::pixmapCacheKey(const QString &path)
{
    // "qt_pixmap", the absolute path, then the modification time (seconds, 32 bits), the size (64 bits) and the
    // pixel type (0: a pixmap), each as the hex digits of its bytes in memory order, low nibble first.
    const QFileInfo info(path);
    QString key = QStringLiteral("qt_pixmap") + info.absoluteFilePath();
    auto appendHex = [&key](const auto value) {
        const auto *bytes = reinterpret_cast<const unsigned char *>(&value);
        for (std::size_t i = 0; i < sizeof value; ++i) {
            key += QLatin1Char("0123456789abcdef"[bytes[i] & 0xf]);
            key += QLatin1Char("0123456789abcdef"[bytes[i] >> 4]);
        }
    };
    appendHex(quint32(info.lastModified().toSecsSinceEpoch()));
    appendHex(quint64(info.size()));
    appendHex(quint32(0));
    return key;
}

bool PluginFreeIcons::avoidImagePlugins()
{
    // Only where the images are Qt's own PNG files: Fusion, and no icon theme (whose icons need the plugins anyway).
    // Other styles draw their own.
    const QStyle *current = QApplication::style();
    if (!current || !QIcon::themeName().isEmpty() || current->name().compare(u"fusion", Qt::CaseInsensitive) != 0)
        return false;
    QStyle *base = QStyleFactory::create(current->name());
    if (!base)
        return false;
    QApplication::setStyle(new ExtensionIconStyle(base));
    // Fusion draws a group box's frame from this file (QPixmap::load(), which first looks in the cache).
    const QString groupBox = QStringLiteral(":/qt-project.org/styles/commonstyle/images/fusion_groupbox.png");
    const QString key = pixmapCacheKey(groupBox);
    QPixmap cached;
    if (!QPixmapCache::find(key, &cached)) {
        if (const QImage image = styleImage(groupBox); !image.isNull())
            QPixmapCache::insert(key, QPixmap::fromImage(image));
    }
    return true;
}

ExtensionIconStyle::ExtensionIconStyle(QStyle *base)
    : QProxyStyle(base)
{}

QIcon ExtensionIconStyle::standardIcon(StandardPixmap standardIcon, const QStyleOption *option,
                                       const QWidget *widget) const
{
    if (standardIcon == SP_ToolBarHorizontalExtensionButton) {
        // QCommonStyle's test for the mirrored one.
        const bool rightToLeft = option ? option->direction == Qt::RightToLeft : QGuiApplication::isRightToLeft();
        if (QIcon icon = extensionIcon(rightToLeft); !icon.isNull())
            return icon;
    }
    return QProxyStyle::standardIcon(standardIcon, option, widget);
}

} // namespace Quiesce::App
