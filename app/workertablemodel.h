#pragma once

#include <Quiesce/workerpool.h>

#include <QtCore/QAbstractTableModel>
#include <QtCore/QList>
#include <QtGui/QPalette>

namespace Quiesce::App {

/*! \brief The workers as rows: thread, state, request, progress, elapsed. Fed with WorkerPool::snapshot().

    setSnapshot() is called several times a second: it changes rows in place (dataChanged for the rows that
    changed) and inserts or removes rows only when the number of workers changed, so selection and scrolling in
    the view survive the refreshes. */
class WorkerTableModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    /*! PidColumn and RestartsColumn have data only with --isolation process (the window hides them otherwise). */
    enum Column {
        ThreadColumn,
        StateColumn,
        RequestColumn,
        ProgressColumn,
        ElapsedColumn,
        PidColumn,
        RestartsColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    explicit WorkerTableModel(QObject *parent = nullptr);
    ~WorkerTableModel() override;

    void setSnapshot(const QList<Quiesce::WorkerSnapshot> &workers);
    QList<Quiesce::WorkerSnapshot> snapshot() const;
    /*! Rows whose worker is busy (hung ones included). */
    int busyCount() const;

    /*! The palette the state colours must be readable on (the view's); set again when it changes. */
    void setPalette(const QPalette &palette);
    /*! "93 %", in the person's number format: the progress cell's text and what a screen reader says. */
    static QString percentText(int percent);

    /*! "idle", "busy" or "hung"; a worker process may also be "starting", "restarting" (waiting out its backoff),
        "disabled" (crash loop), "stopping" or "stopped". */
    static QString stateName(const Quiesce::WorkerSnapshot &worker);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    static bool sameRow(const Quiesce::WorkerSnapshot &a, const Quiesce::WorkerSnapshot &b);

    QList<WorkerSnapshot> m_workers;
    QPalette m_palette;
};

} // namespace Quiesce::App
