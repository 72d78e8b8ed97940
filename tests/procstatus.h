#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QList>

/*! Reading a process's or thread's signal state from /proc, for the tests that check who blocks, catches or
    ignores what. \a pid 0 means this process; \a tid 0 means the process as a whole (/proc/<pid>/status). */
namespace ProcStatus {

/*! The hex mask \a field ("SigBlk", "SigCgt", "SigIgn", "SigPnd") from the status file; 0 if unreadable. */
quint64 mask(qint64 pid, qint64 tid, const QByteArray &field);
/*! The same, parsed from the text of a status file (e.g. one a child process wrote). */
quint64 maskFromText(const QByteArray &statusText, const QByteArray &field);
/*! The bit of \a signo in such a mask. */
quint64 signalBit(int signo);
/*! The thread ids of \a pid whose name (comm, at most 15 characters) starts with \a prefix. */
QList<qint64> threadsNamed(qint64 pid, const QByteArray &prefix);

} // namespace ProcStatus
