#pragma once

#include <QtCore/QObject>
#include <QtCore/QString>

class QSocketNotifier;

namespace Quiesce::App {

/*! \brief One window per state file, from the desktop: a second windowed launch on a state that a running window
    holds raises that window instead of failing with 73.

    The running window listens on a local socket in $XDG_RUNTIME_DIR (the temporary directory without it) named by a
    hash of the canonical state path, so that two windows on two state files do not meet, and the path stays far
    below the 108 bytes a socket path may have. The second launch connects, forwards DESKTOP_STARTUP_ID and
    XDG_ACTIVATION_TOKEN (the desktop's permission to take the focus) and exits 0 once the first one answered.
    Only windowed starts listen or ask: a headless one on either side keeps the one-line 73.

    Plain AF_UNIX sockets and QSocketNotifier, not QLocalServer: Qt Network (and the Kerberos, GSSAPI and proxy
    libraries it needs) would be loaded, relocated and kept resident by every window for one line a launch. */
class SingleInstance : public QObject
{
    Q_OBJECT

public:
    explicit SingleInstance(QObject *parent = nullptr);
    ~SingleInstance() override;

    /*! The socket path for the state at \a statePath (canonical path, symlinks resolved). */
    static QString socketPath(const QString &statePath);
    /*! Starts listening for \a statePath. False when another live window listens already (or the socket cannot
        be created); a stale socket from a crashed window is replaced. Call only while holding the state's lock. */
    bool listen(const QString &statePath);
    /*! The second launch: asks the window that holds \a statePath to come to the front, forwarding this
        process's activation tokens. Blocks up to about two seconds (startup only). True once it answered. */
    static bool activateRunning(const QString &statePath);
    /*! A windowed start that failed says why in a box as well as on stderr: launched from a menu, nobody reads
        stderr. Blocks until closed (before the event loop: no quit path yet); on a platform nobody can see
        (offscreen, minimal) it does nothing, as the box would only wait forever. */
    static void showStartupError(const QString &error);

Q_SIGNALS:
    /*! A second launch asked for the window, from process \a pid, with the desktop's tokens (empty if none). */
    void activationRequested(qint64 pid, const QString &startupId, const QString &activationToken);

private:
    void onNewConnection();
    void onReadable(QSocketNotifier *connection);
    void closeConnection(QSocketNotifier *connection);

    int m_fd = -1;                         //!< the listening socket, or -1
    QString m_path;                        //!< where it listens (removed again when this object goes)
    QSocketNotifier *m_notifier = nullptr; //!< new connections on m_fd
};

} // namespace Quiesce::App
