#include "messagebar.h"

#include "themecolors.h"

#include <QtCore/QEvent>
#include <QtCore/QRegularExpression>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QStyle>
#include <QtWidgets/QToolButton>

namespace Quiesce::App {

MessageBar::MessageBar(QWidget *parent)
    : QFrame(parent)
    , m_icon(new QLabel(this))
    , m_text(new QLabel(this))
    , m_close(new QToolButton(this))
{
    setObjectName(QStringLiteral("messageBar"));
    setFrameShape(QFrame::StyledPanel);
    setAutoFillBackground(true);
    m_text->setObjectName(QStringLiteral("messageBarText"));
    m_text->setWordWrap(true);
    m_text->setTextFormat(Qt::RichText);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_close->setObjectName(QStringLiteral("messageBarClose"));
    m_close->setAutoRaise(true);
    m_close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    m_close->setToolTip(tr("Dismiss this message"));
    m_close->setAccessibleName(tr("Dismiss"));
    auto *layout = new QHBoxLayout(this);
    layout->addWidget(m_icon, 0, Qt::AlignTop);
    layout->addWidget(m_text, 1);
    layout->addWidget(m_close, 0, Qt::AlignTop);
    connect(m_close, &QToolButton::clicked, this, [this] {
        hide();
        Q_EMIT dismissed();
    });
    hide();
}

MessageBar::~MessageBar() = default;

void MessageBar::showMessage(Kind kind, const QString &text)
{
    m_kind = kind;
    m_text->setText(text);
    // What a screen reader announces: the kind and the words, without markup.
    setAccessibleName(kind == Kind::Warning ? tr("Warning") : tr("Information"));
    setAccessibleDescription(m_text->text().remove(QRegularExpression(QStringLiteral("<[^>]*>"))));
    applyPalette();
    show();
}

QString MessageBar::text() const
{
    return m_text->text();
}

MessageBar::Kind MessageBar::kind() const
{
    return m_kind;
}

void MessageBar::changeEvent(QEvent *event)
{
    QFrame::changeEvent(event);
    // Our own setPalette() sends a PaletteChange too: only a change from outside recolours.
    if (!m_applying && (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange))
        applyPalette();
}

void MessageBar::applyPalette()
{
    // A light tint of the accent over the window colour; the text stays the window's text colour, which the tint
    // barely changes the contrast against (checked: 4.5:1 at least, else no tint).
    const QPalette base = parentWidget() ? parentWidget()->palette() : palette();
    const QColor window = base.color(QPalette::Window);
    const QColor accent = m_kind == Kind::Warning ? Theme::color(Theme::Role::Warning, base, Theme::Use::Graphic)
                                                  : base.color(QPalette::Highlight);
    QColor tint = window;
    const double share = 0.15;
    tint.setRgbF(float(window.redF() * (1 - share) + accent.redF() * share),
                 float(window.greenF() * (1 - share) + accent.greenF() * share),
                 float(window.blueF() * (1 - share) + accent.blueF() * share));
    const QColor text = base.color(QPalette::WindowText);
    if (Theme::contrastRatio(text, tint) < 4.5)
        tint = window;
    QPalette pal = base;
    pal.setColor(QPalette::Window, tint);
    pal.setColor(QPalette::WindowText, text);
    m_applying = true;
    setPalette(pal);
    m_applying = false;
    const int side = fontMetrics().height() + 4;
    m_icon->setPixmap(
        style()
            ->standardIcon(m_kind == Kind::Warning ? QStyle::SP_MessageBoxWarning : QStyle::SP_MessageBoxInformation)
            .pixmap(side, side));
}

} // namespace Quiesce::App
