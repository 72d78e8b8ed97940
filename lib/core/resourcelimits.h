#pragma once

#include <Quiesce/quiesce_core_export.h>

#include <QtCore/QString>

class QThread;

namespace Quiesce {

/*! \brief Operating-system resources the process depends on: descriptors and threads.

    A resource that runs out must be an error the caller can report (exit code 71, EX_OSERR), never a crash or a
    hang deep inside Qt or GLib. Two rules follow:

    - Descriptors are counted up front. raiseDescriptorLimit() raises the soft \c RLIMIT_NOFILE to the hard limit
      first thing in \c main() and remembers what the process was started with (children get that back, see
      restoreDescriptorLimitInChild()); the application then compares what it needs with descriptorLimit() before
      it opens anything, because Qt's event dispatchers abort the process when a thread cannot get its wake-up
      descriptor (GLib's "Creating pipes for GWakeup", Qt's "Can not continue without a thread pipe").
    - Every thread start is checked: startThread() tells whether a QThread really runs (QThread::start() returns
      void in Qt 6.4 and only prints a warning when \c pthread_create fails).

    \code
    QString error;
    if (!ResourceLimits::startThread(thread, &error))
        return fail(ExitCode::OsError, error); // nothing may wait for that thread now
    \endcode */
class QUIESCE_CORE_EXPORT ResourceLimits
{
public:
    /*! Raises the soft RLIMIT_NOFILE to the hard limit and remembers the soft limit the process was started with
        and how many descriptors below the new limit are open now (inherited ones). Call it once, first thing in
        main(), before anything opens a descriptor. Returns false and fills \a error if getrlimit/setrlimit
        failed (the limit is then what it was). */
    static bool raiseDescriptorLimit(QString *error);
    /*! The soft RLIMIT_NOFILE now (after raiseDescriptorLimit(): the hard limit). */
    static quint64 descriptorLimit();
    /*! Descriptors open below the limit when raiseDescriptorLimit() ran (0 if it did not run). */
    static int descriptorsOpenAtStart();
    /*! Async-signal-safe: sets the soft RLIMIT_NOFILE back to what the process was started with. For a forked
        child before exec (UnixSignalNotifier::prepareChildProcess does it): a child must not inherit a limit
        raised for us (select() users break above FD_SETSIZE). No-op if raiseDescriptorLimit() did not run. */
    static void restoreDescriptorLimitInChild() noexcept;

    /*! Starts \a thread and returns whether it really runs. When pthread_create fails, Qt's own warning is
        swallowed (the caller reports the failure once, with the reason in \a error) and the QThread is left
        never started: it may be deleted, and nothing may wait for it or post blocking calls to it. Call it on
        the thread that owns \a thread. */
    static bool startThread(QThread *thread, QString *error);
};

} // namespace Quiesce
