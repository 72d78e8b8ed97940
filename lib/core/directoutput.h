#pragma once

#include <Quiesce/quiesce_core_export.h>

#include <QtCore/QByteArrayView>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QString>

/*! \file
    Output that must get out when nothing else can be trusted: the watchdog's line, the immediate exit's line, an
    application's own line writer. No Qt event loop, no lock, no allocation on the write path. */

namespace Quiesce {

/*! \brief Writes all of \a bytes to \a fd with write(2), retrying interrupted (\c EINTR) and partial writes, and
    waiting (poll(2)) for a descriptor that is not writable until \a deadline. Returns true if every byte was written;
    false if the deadline passed first or the descriptor failed (\c EPIPE, \c EBADF, \c EIO: the rest is lost).

    With a finite deadline the descriptor is polled before each write and at most \c PIPE_BUF bytes go at a time, so a
    blocking pipe nobody reads cannot hold the caller past the deadline (QDeadlineTimer(0): only what it takes at
    once). With QDeadlineTimer::Forever it writes first and waits only when a non-blocking descriptor says
    \c EAGAIN: the caller waits for the reader as long as it takes. A pipe whose reader is gone raises \c SIGPIPE
    as any write(2) does: a process that writes to pipes ignores it and gets \c EPIPE (false) instead.

    \code
    // The last words of a process that must end even if nobody reads its output.
    Quiesce::writeLineDirect(STDOUT_FILENO, "SERVICE giving up\n", QDeadlineTimer(1000));
    ::_exit(70);
    \endcode */
QUIESCE_CORE_EXPORT bool writeLineDirect(int fd, QByteArrayView bytes, QDeadlineTimer deadline);

/*! \brief \a text with every line break (\c \\n, \c \\r) turned into a space: one line of a line protocol,
    whatever a hook, a provider or a user put in it. */
QUIESCE_CORE_EXPORT QString oneLine(QString text);

} // namespace Quiesce
