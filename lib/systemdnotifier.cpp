#include "systemdnotifier.h"

#include "shutdowncoordinator.h"

#include <QtCore/QtGlobal>

#include <cstring>

#if defined(QUIESCE_HAVE_SYSTEMD) && QUIESCE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#define QUIESCE_SD_NOTIFY 1
#else
#define QUIESCE_SD_NOTIFY 0
#endif

namespace Quiesce {

SystemdNotifier::SystemdNotifier(QObject *parent)
    : QObject(parent)
{}

SystemdNotifier::~SystemdNotifier() = default;

bool SystemdNotifier::isAvailable()
{
    return QUIESCE_SD_NOTIFY != 0;
}

bool SystemdNotifier::isEnabled()
{
    return isAvailable() && !qEnvironmentVariableIsEmpty("NOTIFY_SOCKET");
}

bool SystemdNotifier::ready()
{
    return notify(QByteArrayLiteral("READY=1"));
}

bool SystemdNotifier::stopping()
{
    return notify(QByteArrayLiteral("STOPPING=1"));
}

bool SystemdNotifier::status(const QString &text)
{
    QString oneLine = text;
    oneLine.replace(QLatin1Char('\n'), QLatin1Char(' ')).replace(QLatin1Char('\r'), QLatin1Char(' '));
    return notify(QByteArray("STATUS=" + oneLine.toUtf8()));
}

bool SystemdNotifier::extendTimeout(std::chrono::microseconds extension)
{
    if (extension.count() <= 0) {
        m_errorString = QStringLiteral("the timeout extension must be positive");
        return false;
    }
    return notify(QByteArray("EXTEND_TIMEOUT_USEC=" + QByteArray::number(qint64(extension.count()))));
}

bool SystemdNotifier::notify(const QByteArray &state)
{
#if QUIESCE_SD_NOTIFY
    if (!isEnabled()) {
        m_errorString = QStringLiteral("NOTIFY_SOCKET is not set (not started by systemd with Type=notify)");
        return false;
    }
    // unset_environment = 0: children we start are not services, but a later call here must still work.
    const int rc = ::sd_notify(0, state.constData());
    if (rc < 0) {
        m_errorString = QStringLiteral("sd_notify failed: %1").arg(QString::fromLocal8Bit(std::strerror(-rc)));
        return false;
    }
    if (rc == 0) {
        m_errorString = QStringLiteral("NOTIFY_SOCKET is not set (not started by systemd with Type=notify)");
        return false;
    }
    m_errorString.clear();
    return true;
#else
    Q_UNUSED(state);
    m_errorString = QStringLiteral("built without libsystemd: systemd notifications are disabled");
    return false;
#endif
}

QString SystemdNotifier::errorString() const
{
    return m_errorString;
}

void SystemdNotifier::setExtendMargin(std::chrono::milliseconds margin)
{
    m_extendMargin = margin;
}

std::chrono::milliseconds SystemdNotifier::extendMargin() const
{
    return m_extendMargin;
}

void SystemdNotifier::attach(ShutdownCoordinator *coordinator)
{
    Q_ASSERT(coordinator != nullptr);
    connect(coordinator, &ShutdownCoordinator::shutdownStarted, this, [this](const ShutdownRequest &request) {
        stopping();
        status(QStringLiteral("Stopping (reason=%1)").arg(request.reason));
    });
    connect(coordinator, &ShutdownCoordinator::escalated, this,
            [this](ShutdownMode mode, const ShutdownRequest &request) {
                status(QStringLiteral("Stopping %1 (reason=%2)").arg(shutdownModeName(mode), request.reason));
            });
    connect(coordinator, &ShutdownCoordinator::phaseStarted, this,
            [this, coordinator](const QString &name, qint64 budgetMs) {
                status(QStringLiteral("Stopping: phase %1").arg(name));
                // Enough for the phase to use its whole budget; the coordinator's watchdog bounds the total.
                // A phase without a budget gets the hard timeout; with neither there is nothing to promise.
                const std::chrono::milliseconds needed =
                    budgetMs >= 0 ? std::chrono::milliseconds(budgetMs) : coordinator->hardTimeout();
                if (budgetMs >= 0 || needed.count() > 0)
                    extendTimeout(needed + m_extendMargin);
            });
    connect(coordinator, &ShutdownCoordinator::finished, this, [this](int exitCode, const ShutdownReport &) {
        status(QStringLiteral("Stopped (exit=%1)").arg(exitCode));
    });
}

} // namespace Quiesce
