#include "workertablemodel.h"

#include "themecolors.h"

#include <QtCore/QLocale>
#include <QtGui/QColor>
#include <QtGui/QFont>

namespace Quiesce::App {

WorkerTableModel::WorkerTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

WorkerTableModel::~WorkerTableModel() = default;

void WorkerTableModel::setSnapshot(const QList<WorkerSnapshot> &workers)
{
    const int oldCount = int(m_workers.size());
    const int newCount = int(workers.size());
    if (newCount < oldCount) {
        beginRemoveRows(QModelIndex(), newCount, oldCount - 1);
        m_workers.resize(newCount);
        endRemoveRows();
    }
    int firstChanged = -1;
    int lastChanged = -1;
    for (int row = 0; row < int(m_workers.size()); ++row) {
        if (sameRow(m_workers.at(row), workers.at(row)))
            continue;
        m_workers[row] = workers.at(row);
        if (firstChanged < 0)
            firstChanged = row;
        lastChanged = row;
    }
    if (firstChanged >= 0)
        Q_EMIT dataChanged(index(firstChanged, 0), index(lastChanged, ColumnCount - 1));
    if (newCount > oldCount) {
        beginInsertRows(QModelIndex(), oldCount, newCount - 1);
        for (int row = oldCount; row < newCount; ++row)
            m_workers.append(workers.at(row));
        endInsertRows();
    }
}

QList<WorkerSnapshot> WorkerTableModel::snapshot() const
{
    return m_workers;
}

int WorkerTableModel::busyCount() const
{
    int n = 0;
    for (const WorkerSnapshot &w : m_workers)
        n += w.busy ? 1 : 0;
    return n;
}

QString WorkerTableModel::percentText(int percent)
{
    return tr("%1 %").arg(QLocale().toString(qBound(0, percent, 100)));
}

void WorkerTableModel::setPalette(const QPalette &palette)
{
    m_palette = palette;
    if (!m_workers.isEmpty())
        Q_EMIT dataChanged(index(0, StateColumn), index(int(m_workers.size()) - 1, StateColumn), {Qt::ForegroundRole});
}

QString WorkerTableModel::stateName(const WorkerSnapshot &worker)
{
    if (worker.hung)
        return tr("hung");
    if (worker.busy)
        return tr("busy");
    // A worker process has states a thread has not: the pool names them (C locale), the window translates them.
    const QString &state = worker.state;
    if (state == QLatin1StringView("starting"))
        return tr("starting");
    if (state == QLatin1StringView("backoff"))
        return tr("restarting");
    if (state == QLatin1StringView("disabled"))
        return tr("disabled");
    if (state == QLatin1StringView("draining") || state == QLatin1StringView("stopping"))
        return tr("stopping");
    if (state == QLatin1StringView("stopped"))
        return tr("stopped");
    return tr("idle");
}

int WorkerTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_workers.size());
}

int WorkerTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(ColumnCount);
}

QVariant WorkerTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const WorkerSnapshot &w = m_workers.at(index.row());
    const bool working = w.busy || w.hung;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case ThreadColumn:
            return w.threadName.isEmpty() ? QStringLiteral("quiesce-worker-%1").arg(w.index) : w.threadName;
        case StateColumn:
            return stateName(w);
        case RequestColumn:
            return working && w.jobId != 0 ? QVariant(w.jobId) : QVariant();
        case ProgressColumn:
            // The delegate draws a bar for a number and nothing for an idle worker.
            return working ? QVariant(qBound(0, w.progressPercent, 100)) : QVariant();
        case ElapsedColumn:
            return working ? QVariant(tr("%1 s").arg(QLocale().toString(double(w.elapsedMs) / 1000.0, 'f', 1)))
                           : QVariant();
        case PidColumn:
            return w.pid > 0 ? QVariant(w.pid) : QVariant();
        case RestartsColumn:
            return w.pid > 0 || w.restarts > 0 ? QVariant(w.restarts) : QVariant();
        default:
            return {};
        }
    case Qt::AccessibleTextRole:
        // A screen reader says "93 %", not "93".
        if (index.column() == ProgressColumn && working)
            return percentText(w.progressPercent);
        return data(index, Qt::DisplayRole);
    case Qt::TextAlignmentRole:
        if (index.column() == RequestColumn || index.column() == ElapsedColumn || index.column() == PidColumn
            || index.column() == RestartsColumn)
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return QVariant::fromValue(Qt::Alignment(Qt::AlignLeft | Qt::AlignVCenter));
    case Qt::ForegroundRole:
        // From the view's palette, readable on it (light or dark), never a fixed colour.
        if (index.column() == StateColumn && w.hung)
            return Theme::color(Theme::Role::Hung, m_palette);
        if (index.column() == StateColumn && w.busy)
            return Theme::color(Theme::Role::Busy, m_palette);
        return {};
    case Qt::FontRole:
        if (index.column() == StateColumn && working) {
            QFont font;
            font.setBold(true);
            return font;
        }
        return {};
    case Qt::ToolTipRole:
        if (w.hung && w.pid > 0)
            return tr("Blocked in a simulated hang: deaf to cancellation. Should it stay stuck through a shutdown, its "
                      "worker process is killed at the deadline and the request requeued.");
        if (w.state == QLatin1StringView("disabled"))
            return tr("This worker process crashed too often in a short time and is not restarted any more: the "
                      "others carry on (degraded).");
        if (w.hung)
            return tr("Blocked in a simulated hang: deaf to cancellation. Should it stay stuck through a shutdown, "
                      "the watchdog ends the process at the hard deadline.");
        return {};
    default:
        return {};
    }
}

QVariant WorkerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case ThreadColumn:
        return tr("Worker");
    case StateColumn:
        return tr("State");
    case RequestColumn:
        return tr("Request");
    case ProgressColumn:
        return tr("Progress");
    case ElapsedColumn:
        return tr("Elapsed");
    case PidColumn:
        return tr("PID");
    case RestartsColumn:
        return tr("Restarts");
    default:
        return {};
    }
}

bool WorkerTableModel::sameRow(const WorkerSnapshot &a, const WorkerSnapshot &b)
{
    return a.index == b.index && a.busy == b.busy && a.jobId == b.jobId && a.progressPercent == b.progressPercent
        && a.elapsedMs / 100 == b.elapsedMs / 100 && a.hung == b.hung && a.threadName == b.threadName && a.pid == b.pid
        && a.restarts == b.restarts && a.state == b.state;
}

} // namespace Quiesce::App
