#pragma once

#include <QtWidgets/QFrame>

class QLabel;
class QToolButton;

namespace Quiesce::App {

/*! \brief An inline message above the content, in the manner of KDE's KMessageWidget: an icon, a text and a close
    button, tinted by its kind. It tells what happened without a modal box in the way, and stays until dismissed.

    Colours come from the palette (a light tint of the accent over the window colour, text in the window's text
    colour), so it reads in a light and a dark theme alike. */
class MessageBar : public QFrame
{
    Q_OBJECT

public:
    enum class Kind { Information, Warning };
    Q_ENUM(Kind)

    explicit MessageBar(QWidget *parent = nullptr);
    ~MessageBar() override;

    /*! Shows \a text (rich text allowed) as \a kind. */
    void showMessage(Kind kind, const QString &text);
    QString text() const;
    Kind kind() const;

Q_SIGNALS:
    /*! The person closed the bar. */
    void dismissed();

protected:
    void changeEvent(QEvent *event) override;

private:
    void applyPalette();

    Kind m_kind = Kind::Information;
    bool m_applying = false;
    QLabel *m_icon;
    QLabel *m_text;
    QToolButton *m_close;
};

} // namespace Quiesce::App
