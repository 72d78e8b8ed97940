#pragma once

#include <QtWidgets/QStyledItemDelegate>

namespace Quiesce::App {

/*! \brief Draws an integer 0..100 as a progress bar in the view's style; draws nothing for an empty cell. */
class ProgressDelegate : public QStyledItemDelegate
{
    Q_OBJECT

public:
    explicit ProgressDelegate(QObject *parent = nullptr);
    ~ProgressDelegate() override;

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

} // namespace Quiesce::App
