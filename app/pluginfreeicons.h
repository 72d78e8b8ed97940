#pragma once

#include <QtCore/QStringList>
#include <QtGui/QIcon>
#include <QtWidgets/QProxyStyle>

class QImage;
class QString;

namespace Quiesce::App {

/*! \brief Icons the window shows without loading an image format plugin.

    Qt reads an image file it is given by name (QIcon::addFile(), QPixmap::load(): QImageReader with auto-detection)
    by first asking every image format plugin whether it reads that format, so one PNG icon loads them all, and the
    SVG one brings libQt6Svg: about 0.6 MiB of the window's peak RSS for pictures that are PNG files Qt decodes
    itself. These helpers name the format and turn auto-detection off, so Qt's built-in PNG reader decodes them and
    no plugin is loaded. */
namespace PluginFreeIcons {

/*! Reads the PNG file \a path with Qt's built-in reader only; a null image if it cannot. */
QImage readPng(const QString &path);

/*! The image \a path of Qt's own styles (":/qt-project.org/styles/commonstyle/images/…png") as QPixmap holds it
    once Qt's PNG reader has decoded it: the images the window draws (the extension icons, Fusion's group box frame)
    are compiled in as premultiplied ARGB (app/qtstyleimages.inc, written by scripts/qt-style-images.cpp), so that
    no PNG is decoded for them (libpng's and zlib's code and the decoder's buffers: about 0.3 MiB of the window's
    peak RSS). Any other \a path is read with readPng(). */
QImage styleImage(const QString &path);

/*! The paths styleImage() has compiled in (tst_mainwindow compares each with Qt's decoding). */
QStringList styleImagePaths();

/*! The application and window icon: resources/quiesce.svg rendered by Qt's SVG icon engine at 16, 22, 24, 32, 48,
    64, 128 and 256 pixels (resources/icons/, compiled in). Like the SVG icon it is scalable and lazy: a size is
    decoded when it is asked for, from the nearest rendering at least as large. The SVG stays the desktop's icon. */
QIcon applicationIcon();

/*! Under Fusion with no icon theme (the style Qt picks without a desktop's own, where the images Qt's styles use
    are its own PNG files): installs ExtensionIconStyle around the application's style and puts the image Fusion
    frames a QGroupBox with into QPixmapCache, where QPixmap::load() finds it, so that the window loads no image
    format plugin. Returns whether it did; call it before the first QToolBar or QMenuBar is built (they take their
    icon when they are constructed). Elsewhere it changes nothing. */
bool avoidImagePlugins();

/*! The key QPixmap::load() files the image \a path under in QPixmapCache (Qt 6.4; tst_mainwindow checks it against
    Qt's own, and with another key Qt would only read the file itself again). */
QString pixmapCacheKey(const QString &path);

} // namespace PluginFreeIcons

/*! \brief The application's style, with the tool bar's and menu bar's extension button ("»") icon read without
    image format plugins.

    QToolBar and QMenuBar take that icon from QCommonStyle when they are constructed, as three PNG files of Qt's own
    resources added with QIcon::addFile(), which asks every image format plugin to read them. This proxy returns the
    same three images, decoded by Qt's built-in PNG reader; everything else is the base style's. */
class ExtensionIconStyle : public QProxyStyle
{
    Q_OBJECT

public:
    /*! Proxies \a base (taking ownership, as QProxyStyle does). */
    explicit ExtensionIconStyle(QStyle *base);

    /*! The extension buttons' icons as described above; any other (or one whose files are missing) from the base
        style. */
    QIcon standardIcon(StandardPixmap standardIcon, const QStyleOption *option = nullptr,
                       const QWidget *widget = nullptr) const override;
};

} // namespace Quiesce::App
