#include "systemdnotifier.h"

#include "corelogging_p.h"
#include "directoutput.h"
#include "shutdowncoordinator.h"
#include "systemdnotifier_p.h"

#include <QtCore/QtGlobal>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace Quiesce {

Q_LOGGING_CATEGORY(lcSystemd, "quiesce.systemd", QtWarningMsg)

namespace {

const QString kNotEnabled = QStringLiteral("NOTIFY_SOCKET is not set (not started by systemd with Type=notify)");

QString systemError(const char *what)
{
    return QStringLiteral("%1: %2").arg(QLatin1StringView(what), QString::fromLocal8Bit(std::strerror(errno)));
}

// The socket's address as sd_notify(3) reads NOTIFY_SOCKET: an absolute path, or '@' for Linux's abstract
// namespace (the name is then the bytes after a leading NUL, without a terminating one).
bool notifyAddress(const QByteArray &name, sockaddr_un *address, socklen_t *length, QString *error)
{
    std::memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (name.isEmpty() || (name.front() != '/' && name.front() != '@')) {
        *error = QStringLiteral("NOTIFY_SOCKET must be an absolute path or an abstract name (@...), not '%1'")
                     .arg(QString::fromLocal8Bit(name));
        return false;
    }
    if (size_t(name.size()) >= sizeof address->sun_path) {
        *error = QStringLiteral("NOTIFY_SOCKET is too long for a socket address");
        return false;
    }
    std::memcpy(address->sun_path, name.constData(), size_t(name.size()));
    *length = socklen_t(offsetof(sockaddr_un, sun_path) + size_t(name.size()));
    if (name.front() == '@')
        address->sun_path[0] = '\0';
    else
        *length += 1; // the terminating NUL of a path
    return true;
}

qint64 monotonicMicroseconds()
{
    timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

} // namespace

SystemdNotifier::SystemdNotifier(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<SystemdNotifierPrivate>())
{}

SystemdNotifier::~SystemdNotifier() = default;

bool SystemdNotifier::isEnabled()
{
    return !qEnvironmentVariableIsEmpty("NOTIFY_SOCKET");
}

bool SystemdNotifier::ready()
{
    return notify(QByteArrayLiteral("READY=1"));
}

bool SystemdNotifier::reloading()
{
    return notify("RELOADING=1\nMONOTONIC_USEC=" + QByteArray::number(monotonicMicroseconds()));
}

bool SystemdNotifier::stopping()
{
    return notify(QByteArrayLiteral("STOPPING=1"));
}

bool SystemdNotifier::status(const QString &text)
{
    return notify(QByteArray("STATUS=" + oneLine(text).toUtf8()));
}

bool SystemdNotifier::extendTimeout(std::chrono::microseconds extension)
{
    if (extension.count() <= 0) {
        d->errorString = QStringLiteral("the timeout extension must be positive");
        return false;
    }
    return notify(QByteArray("EXTEND_TIMEOUT_USEC=" + QByteArray::number(qint64(extension.count()))));
}

bool SystemdNotifier::notify(const QByteArray &state)
{
    const QByteArray name = qgetenv("NOTIFY_SOCKET");
    if (name.isEmpty()) {
        d->errorString = kNotEnabled;
        return false;
    }
    sockaddr_un address;
    socklen_t length = 0;
    if (!notifyAddress(name, &address, &length, &d->errorString))
        return false;
    // A socket per message, as sd_notify does: nothing to keep open across fork() or exec(), CLOEXEC anyway.
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        d->errorString = systemError("sd_notify failed: socket");
        return false;
    }
    // A full queue (a busy or stalled manager) may hold the caller, the main thread, half a second at most.
    // Should the option fail, the send blocks as sd_notify's own does: worth a message, not worth refusing it.
    const timeval sendTimeout {0, 500000};
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, sizeof sendTimeout);
    iovec iov {const_cast<char *>(state.constData()), size_t(state.size())};
    msghdr message {};
    message.msg_name = &address;
    message.msg_namelen = length;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    ssize_t sent = -1;
    do {
        sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    const bool ok = sent == ssize_t(state.size());
    if (!ok)
        d->errorString = systemError("sd_notify failed: sendmsg");
    ::close(fd);
    if (ok)
        d->errorString.clear();
    return ok;
}

QString SystemdNotifier::errorString() const
{
    return d->errorString;
}

void SystemdNotifier::setExtendMargin(std::chrono::milliseconds margin)
{
    d->extendMargin = margin;
}

std::chrono::milliseconds SystemdNotifier::extendMargin() const
{
    return d->extendMargin;
}

void SystemdNotifier::setPhaseStatus(const QString &phase, const QString &text)
{
    d->phaseStatus.insert(phase, text);
}

void SystemdNotifier::setStatusFormatter(SystemdStatusFormatter formatter)
{
    d->statusFormatter = std::move(formatter);
}

QString SystemdNotifier::defaultStatus(const SystemdStatus &status)
{
    switch (status.kind) {
    case SystemdStatus::Kind::Stopping:
        return QStringLiteral("Stopping (%1): %2").arg(status.reason, shutdownModeName(status.mode));
    case SystemdStatus::Kind::Escalate:
        return QStringLiteral("Stopping %1 (%2, first %3): %1")
            .arg(shutdownModeName(status.mode), status.request.reason, status.reason);
    case SystemdStatus::Kind::PhaseBegin: {
        QString text = QStringLiteral("Stopping (%1): %2").arg(status.reason, status.phase);
        if (!status.what.isEmpty())
            text += QStringLiteral(" - ") + status.what;
        // A budget past the hard deadline (stop-threads') is not what bounds the phase: the watchdog is.
        if (status.budgetMs >= 0 && (status.deadlineMs < 0 || status.budgetMs <= status.deadlineMs))
            text += QStringLiteral(", up to %1 ms").arg(status.budgetMs);
        else if (status.deadlineMs >= 0)
            text += QStringLiteral(", until the hard deadline in %1 ms").arg(status.deadlineMs);
        return text;
    }
    case SystemdStatus::Kind::Stopped:
        return QStringLiteral("Stopped exit=%1 mode=%2%3")
            .arg(status.exitCode)
            .arg(shutdownModeName(status.mode),
                 status.summary.isEmpty() ? QString() : QStringLiteral(": ") + status.summary);
    }
    return {};
}

void SystemdNotifier::notifyStopping(const QByteArray &first, const SystemdStatus &status, qint64 budgetMs)
{
    // Not started by systemd: nobody to tell, so no text to build either (the stop path runs this at every phase).
    if (!isEnabled()) {
        d->errorString = kNotEnabled; // what notify() would have said
        return;
    }
    QByteArray state = first;
    const QString text = d->word(status);
    if (!text.isEmpty())
        state += "STATUS=" + oneLine(text).toUtf8();
    else if (state.endsWith('\n'))
        state.chop(1);
    // The watchdog ends the process by the hard deadline, so promising the rest of it (plus the time to exit) is
    // always safe, and enough for every phase whatever its budget. Without a deadline, the phase's own budget.
    qint64 extensionMs = -1;
    if (!d->hardDeadline.isForever())
        extensionMs = d->hardDeadline.remainingTime() + d->extendMargin.count();
    else if (budgetMs >= 0)
        extensionMs = budgetMs + d->extendMargin.count();
    if (extensionMs > 0)
        state +=
            QByteArray(state.isEmpty() ? "" : "\n") + "EXTEND_TIMEOUT_USEC=" + QByteArray::number(extensionMs * 1000);
    if (state.isEmpty())
        return; // nothing to say: no text and no extension
    // Nobody to return an error to along the quit path: said once per failure, in the library's category.
    if (!notify(state) && isEnabled())
        qCWarning(lcSystemd, "%s", qPrintable(d->errorString));
}

void SystemdNotifier::attach(ShutdownCoordinator *coordinator)
{
    Q_ASSERT(coordinator != nullptr);
    connect(coordinator, &ShutdownCoordinator::shutdownStarted, this,
            [this, coordinator](const ShutdownRequest &request) {
                // Emitted right after the coordinator armed its watchdog: the same deadline, within microseconds.
                d->hardDeadline = coordinator->hardTimeout().count() > 0 ? QDeadlineTimer(coordinator->hardTimeout())
                                                                         : QDeadlineTimer(QDeadlineTimer::Forever);
                d->reason = request.reason;
                SystemdStatus status;
                status.kind = SystemdStatus::Kind::Stopping;
                status.reason = d->reason;
                status.request = request;
                status.mode = coordinator->mode();
                notifyStopping(QByteArrayLiteral("STOPPING=1\n"), status, -1);
            });
    connect(coordinator, &ShutdownCoordinator::escalated, this,
            [this](ShutdownMode mode, const ShutdownRequest &request) {
                SystemdStatus status;
                status.kind = SystemdStatus::Kind::Escalate;
                status.reason = d->reason;
                status.request = request;
                status.mode = mode;
                notifyStopping({}, status, -1);
            });
    connect(coordinator, &ShutdownCoordinator::phaseStarted, this,
            [this, coordinator](const QString &name, qint64 budgetMs) {
                SystemdStatus status;
                status.kind = SystemdStatus::Kind::PhaseBegin;
                status.reason = d->reason;
                status.mode = coordinator->mode();
                status.phase = name;
                status.what = d->phaseStatus.value(name);
                status.budgetMs = budgetMs;
                status.deadlineMs = d->hardDeadline.isForever() ? -1 : d->hardDeadline.remainingTime();
                notifyStopping({}, status, budgetMs);
            });
    connect(coordinator, &ShutdownCoordinator::finished, this, [this](int exitCode, const ShutdownReport &report) {
        if (!isEnabled()) {
            d->errorString = kNotEnabled; // as in notifyStopping(): no summary to build for nobody
            return;
        }
        SystemdStatus status;
        status.kind = SystemdStatus::Kind::Stopped;
        status.reason = d->reason;
        status.mode = report.mode;
        status.exitCode = exitCode;
        status.summary = report.summary();
        const QString text = d->word(status);
        if (!text.isEmpty())
            this->status(text);
    });
}

} // namespace Quiesce
