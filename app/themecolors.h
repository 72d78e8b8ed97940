#pragma once

#include <QtCore/QList>
#include <QtCore/QSize>
#include <QtGui/QColor>
#include <QtGui/QIcon>
#include <QtGui/QPixmap>

class QFontMetrics;
class QPalette;

namespace Quiesce::App {

/*! \brief Colours and icons drawn from the palette, readable in a light and a dark one.

    Nothing in the window uses a fixed colour as it is: every accent starts from a hue that fits the palette (a
    darker one on a light palette, a lighter one on a dark palette, told apart by the window and text lightness, as
    QStyleHints::colorScheme() only exists from Qt 6.5) and is then moved in lightness until it reaches the WCAG
    contrast against the palette's background: 4.5:1 for text, 3:1 for lines and marks (WCAG 2.1, 1.4.3 and
    1.4.11). Icons are drawn with those colours, so they follow a palette change. */
namespace Theme {

enum class Role {
    Busy,       //!< a working worker
    Hung,       //!< a hung worker, a failed step
    Warning,    //!< a step that overran
    Throughput, //!< the plot's throughput line and legend
    Queue,      //!< the plot's queue-depth line and legend
};

/*! What a colour is for: text needs 4.5:1 against its background, a line or a mark 3:1. */
enum class Use { Text, Graphic };

/*! Every role, for tests and for whoever wants to check them all. */
QList<Role> allRoles();

/*! The WCAG 2.1 contrast ratio of two colours, from 1 (same) to 21 (black on white). */
double contrastRatio(const QColor &a, const QColor &b);
/*! WCAG relative luminance (0 black, 1 white) of the colour's sRGB value. */
double relativeLuminance(const QColor &color);
/*! A dark palette: its window is darker than its text. */
bool isDark(const QPalette &palette);
/*! \a preferred, made lighter or darker (same hue) until it has at least \a minRatio against \a background. */
QColor readable(const QColor &preferred, const QColor &background, double minRatio);
/*! The colour for \a role on \a palette's base (the background of views and the plot). */
QColor color(Role role, const QPalette &palette, Use use = Use::Text);
/*! The minimum contrast \a use needs. */
double minimumContrast(Use use);

/*! The marks of the shutdown dialog's steps, all of one size. */
enum class Mark { Pending, Running, Done, Warning, Failed, Skipped };
QIcon markIcon(Mark mark, const QPalette &palette, QSize size);
/*! An icon size that sits well beside text of \a metrics. */
QSize markIconSize(const QFontMetrics &metrics);

/*! The toolbar's actions: the desktop's themed icon where it has one (it follows the desktop's theme), else one
    drawn in the palette's button text colour. */
enum class ToolIcon { Quit, Pause, Resume, Burst, Hang };
QIcon toolIcon(ToolIcon icon, const QPalette &palette);
/*! The sizes (device-independent pixels) toolIcon() draws its own icons at, smallest first. */
QList<int> toolIconSides();
/*! One of toolIcon()'s own renderings: \a icon at \a side pixels in \a palette's button text colour. */
QPixmap drawToolIcon(ToolIcon icon, const QPalette &palette, int side);

} // namespace Theme

} // namespace Quiesce::App
