#pragma once

#include <Quiesce/quiesce_core_export.h>
#include <Quiesce/shutdowncoordinator.h>

#include <QtCore/QByteArray>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>
#include <functional>
#include <memory>

namespace Quiesce {

class SystemdNotifierPrivate;

/*! \brief One \c STATUS= text of the quit path before it is worded: what a SystemdStatusFormatter gets. The fields
    a kind does not use keep their defaults. */
struct QUIESCE_CORE_EXPORT SystemdStatus
{
    /*! \brief Which text. */
    enum class Kind {
        Stopping,   //!< the first request, sent with STOPPING=1: \c request, \c reason, \c mode ("Stopping (sigterm):
                    //!< ...")
        Escalate,   //!< a later request changed the mode: \c request, \c mode ("Stopping fast (sigint, first ...")
        PhaseBegin, //!< a phase starts: \c phase, \c what, \c budgetMs, \c deadlineMs ("Stopping (...): drain ...")
        Stopped,    //!< the quit path ended: \c exitCode, \c mode, \c summary ("Stopped exit=0 mode=graceful: ...")
    };

    Kind kind = Kind::Stopping;                 //!< which text
    QString reason;                             //!< the first request's reason (every kind but Stopped)
    ShutdownRequest request;                    //!< Escalate: the request that changed the mode
    ShutdownMode mode = ShutdownMode::Graceful; //!< the mode now
    QString phase;                              //!< PhaseBegin: the phase's name
    QString what;                               //!< PhaseBegin: what it does (setPhaseStatus()), maybe empty
    qint64 budgetMs = -1;                       //!< PhaseBegin: the phase's budget, -1 for none
    qint64 deadlineMs = -1; //!< PhaseBegin: what is left of the hard deadline, -1 without a hard timeout
    int exitCode = 0;       //!< Stopped: the process's exit code
    QString summary;        //!< Stopped: ShutdownReport::summary(), maybe empty
};

/*! \brief Words a SystemdStatus (C locale: a machine format); an empty result sends no \c STATUS= (the rest of
    that datagram is still sent). Runs on the notifier's thread. Line breaks become spaces. */
using SystemdStatusFormatter = std::function<QString(const SystemdStatus &status)>;

/*! \brief Tells systemd how the service is doing, through the sd_notify(3) protocol: READY=1, RELOADING=1,
    STOPPING=1, STATUS=..., EXTEND_TIMEOUT_USEC=...

    The protocol is spoken natively (one AF_UNIX datagram to \c $NOTIFY_SOCKET, a path or an abstract \c \@name),
    so there is no libsystemd link and the same code runs in every build. Active only when the service manager
    asked for it (NOTIFY_SOCKET is set, as with Type=notify); otherwise every call is a no-op that returns false,
    so callers need no isEnabled() check. Messages come from the calling process, which is what NotifyAccess=main
    expects. A send waits at most half a second for a full queue, so a stalled manager cannot hold the caller.

    \code
    SystemdNotifier notifier;
    notifier.setStatusFormatter([](const SystemdStatus &s) {
        if (s.kind == SystemdStatus::Kind::Stopping)
            return QStringLiteral("Stopping (%1): finishing the open orders").arg(s.reason);
        return SystemdNotifier::defaultStatus(s); // the other texts as the library words them
    });
    notifier.attach(&coordinator);       // STOPPING=1, STATUS=, EXTEND_TIMEOUT_USEC= along the quit path
    notifier.ready();                    // once startup is complete
    \endcode */
class QUIESCE_CORE_EXPORT SystemdNotifier : public QObject
{
    Q_OBJECT

public:
    /*! \brief A notifier; whether it sends depends on \c NOTIFY_SOCKET (see isEnabled()). */
    explicit SystemdNotifier(QObject *parent = nullptr);
    ~SystemdNotifier() override;

    /*! True if notifications are sent: NOTIFY_SOCKET is set. */
    static bool isEnabled();

    /*! READY=1: startup (recovery) is complete, or a reload finished; systemd considers the service running. */
    bool ready();
    /*! RELOADING=1 with `MONOTONIC_USEC=<CLOCK_MONOTONIC now>`: a reload begins (systemd 253+ needs the timestamp
        for Type=notify-reload; older versions ignore it). End it with ready(). */
    bool reloading();
    /*! STOPPING=1: the service began to stop. */
    bool stopping();
    /*! STATUS=\a text, shown by systemctl status (newlines become spaces: they separate assignments). */
    bool status(const QString &text);
    /*! EXTEND_TIMEOUT_USEC=\a extension: the service needs \a extension more time, counted from now, in its
        current state (starting, running or stopping). systemd only ever moves its timeout later with it; the
        service must send again before the extension runs out. */
    bool extendTimeout(std::chrono::microseconds extension);
    /*! Sends \a state verbatim (assignments separated by newlines). Returns false and sets errorString() if
        notifications are disabled or sending failed. */
    bool notify(const QByteArray &state);

    /*! \brief Why the last call returned false. */
    QString errorString() const;

    /*! Added to the coordinator's remaining hard deadline in the EXTEND_TIMEOUT_USEC that attach() sends: the
        time the process needs after the deadline to end (the watchdog's line and exit). Default 5 s. */
    void setExtendMargin(std::chrono::milliseconds margin);
    /*! \brief The margin set by setExtendMargin(). */
    std::chrono::milliseconds extendMargin() const;

    /*! What phase \a phase does, in a few words of C-locale English ("waiting for requests in flight"): the
        STATUS= text of that phase says it. Phases without one show their name only. */
    void setPhaseStatus(const QString &phase, const QString &text);

    /*! \brief How the \c STATUS= texts attach() sends are worded (default: defaultStatus()). Set it before the
        first request. */
    void setStatusFormatter(SystemdStatusFormatter formatter);
    /*! \brief The library's default wording of \a status, the one attach() documents: "Stopping (<reason>):
        <mode>", "Stopping <mode> (<reason>, first <first reason>): <mode>", the phase texts with their budget, and
        "Stopped exit=<code> mode=<mode>: <summary>". A formatter that changes some kinds returns this for the
        others. */
    static QString defaultStatus(const SystemdStatus &status);

    /*! Reports \a coordinator's quit path to systemd (does nothing when disabled), one datagram each; the
        \c STATUS= texts as the status formatter words them (setStatusFormatter(); defaultStatus() shown here):
        - shutdownStarted: `STOPPING=1`, `STATUS=Stopping (<reason>): <mode>`, `EXTEND_TIMEOUT_USEC`
        - phaseStarted:    `STATUS=Stopping (<reason>): <phase> - <what it does>, up to <budget> ms` (or `until
                           the hard deadline in <n> ms` for a phase without a budget, or one reaching past
                           it); `EXTEND_TIMEOUT_USEC`
        - escalated:       `STATUS=Stopping fast (<reason>, first <first reason>): fast`, `EXTEND_TIMEOUT_USEC`
        - finished:        `STATUS=Stopped exit=<code> mode=<mode>: <the report's summary()>`
        The extension is what is left of the coordinator's hard timeout (counted from the first request, as the
        watchdog counts it) plus extendMargin(): the watchdog guarantees the process ends by then, so systemd
        never kills a stop that is within its budgets, however long the drain. Without a hard timeout a phase's
        own budget plus the margin is promised, and nothing for a phase without one. The connections end with
        this notifier or the coordinator. */
    void attach(ShutdownCoordinator *coordinator);

private:
    void notifyStopping(const QByteArray &first, const SystemdStatus &status, qint64 budgetMs);

    std::unique_ptr<SystemdNotifierPrivate> d;
};

} // namespace Quiesce
