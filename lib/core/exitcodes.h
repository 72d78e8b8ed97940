#pragma once

/*! \file
    The process exit codes, shared by the library and the applications built on it (BSD sysexits.h values where one
    fits). */

namespace Quiesce::ExitCode {

inline constexpr int Ok = 0;         //!< orderly shutdown, state saved
inline constexpr int Usage = 64;     //!< bad command line or configuration value (EX_USAGE)
inline constexpr int DataError = 65; //!< state file corrupt, not ours, or from a newer version (EX_DATAERR)
//! process isolation: no worker slot left (every slot crash-looping); the stop was still orderly (EX_UNAVAILABLE)
inline constexpr int NoWorkerSlot = 69;
inline constexpr int HardDeadline = 70; //!< the watchdog's hard deadline passed (EX_SOFTWARE)
//! an operating-system resource failed: threads, descriptors, signal handlers, spawning a worker
//! process (EX_OSERR)
inline constexpr int OsError = 71;
//! state cannot be created, opened or locked: in use, not a regular file, read-only (EX_CANTCREAT)
inline constexpr int CantCreate = 73;
//! I/O error on the state at start or stop: save failed or timed out, state deleted or replaced (EX_IOERR)
inline constexpr int IoError = 74;
inline constexpr int SignalBase = 128; //!< 128 + signo: immediate exit on the third request

} // namespace Quiesce::ExitCode
