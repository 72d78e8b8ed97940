#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>

namespace Quiesce {

class ShutdownCoordinator;

/*! \brief Tells systemd how the service is doing, through sd_notify(3): READY=1, STOPPING=1, STATUS=...,
    EXTEND_TIMEOUT_USEC=...

    Active only when the service manager asked for it (NOTIFY_SOCKET is set, as with Type=notify) and the library
    was built with libsystemd; otherwise every call is a no-op that returns false, so callers need no #ifdef and no
    isEnabled() check. Messages come from the calling process, which is what NotifyAccess=main expects. */
class SystemdNotifier : public QObject
{
    Q_OBJECT

public:
    explicit SystemdNotifier(QObject *parent = nullptr);
    ~SystemdNotifier() override;

    /*! True if the library was built with libsystemd (sd_notify available). */
    static bool isAvailable();
    /*! True if notifications are sent: built with libsystemd and NOTIFY_SOCKET is set. */
    static bool isEnabled();

    /*! READY=1: startup (recovery) is complete; systemd considers the service started. */
    bool ready();
    /*! STOPPING=1: the service began to stop. */
    bool stopping();
    /*! STATUS=\a text, shown by systemctl status (newlines become spaces: they separate assignments). */
    bool status(const QString &text);
    /*! EXTEND_TIMEOUT_USEC=\a extension: the service needs \a extension more time, counted from now, in its
        current state (starting, running or stopping). Only matters once the state has outlived its configured
        timeout (TimeoutStopSec= while stopping); the service must send again before the extension runs out. */
    bool extendTimeout(std::chrono::microseconds extension);
    /*! Sends \a state verbatim (assignments separated by newlines). Returns false and sets errorString() if
        notifications are disabled or sending failed. */
    bool notify(const QByteArray &state);

    QString errorString() const;

    /*! The extra time added to a phase's budget in the EXTEND_TIMEOUT_USEC that attach() sends. Default 5 s. */
    void setExtendMargin(std::chrono::milliseconds margin);
    std::chrono::milliseconds extendMargin() const;

    /*! Reports \a coordinator's quit path to systemd (does nothing when disabled):
        - shutdownStarted: STOPPING=1, then STATUS=Stopping (reason=<reason>)
        - escalated:       STATUS=Stopping fast (reason=<reason>)
        - phaseStarted:    STATUS=Stopping: phase <name>, then EXTEND_TIMEOUT_USEC=<budget + extendMargin()>
                           (a phase without a budget: the coordinator's hard timeout + margin, if it has one)
        - finished:        STATUS=Stopped (exit=<code>)
        So systemd never kills the service while a phase is within its budget, however long the configured drain,
        while the coordinator's hard timeout still bounds the whole stop. A drain that lasts long and makes
        progress may call extendTimeout() itself (e.g. each time a request finishes); attach() does not repeat
        the extension by itself. The connections end with this notifier or the coordinator. */
    void attach(ShutdownCoordinator *coordinator);

private:
    QString m_errorString;
    std::chrono::milliseconds m_extendMargin {5000};
};

} // namespace Quiesce
