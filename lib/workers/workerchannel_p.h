#pragma once

// Private to the Workers component: the wire format between a ProcessPool and its worker processes. Not part of
// the library's API; both ends are always built from the same sources, so there is no versioning.
//
// A frame is a 4-byte big-endian length followed by that many bytes of CBOR: an array of messages, each an array
// whose first element is a Message code. Both ends batch: one frame carries every message that accumulated while
// the previous frame was being written.

#include <QtCore/QByteArray>
#include <QtCore/QCborArray>
#include <QtCore/QList>

#include <atomic>

namespace Quiesce::WorkerChannel {

enum Message : int {
    // parent -> child
    Jobs = 1,    // [Jobs, ids, payloads, counts]: run these, in order. payloads: all of them, concatenated;
                 // counts: per job its payload's length, attempts and crashes
    Reclaim = 2, // [Reclaim]: give back (Returned) every job received and not started
    Cancel = 3,  // [Cancel]: ask the running job to give up
    Stop = 4,    // [Stop]: Reclaim + Cancel, then exit 0
    Retire = 5,  // [Retire]: Reclaim, finish the running job, then exit 0 (what SIGTERM does too)

    // child -> parent
    Hello = 10,     // [Hello, pid]
    Started = 11,   // [Started, ids]
    Done = 12,      // [Done, ids, microseconds]: the time the jobs took together, which sizes the next batches
    GivenBack = 13, // [GivenBack, ids]: started, then given back unfinished
    Failed = 14,    // [Failed, [[id, reason], ...]]
    Returned = 15,  // [Returned, ids]: received, never started
    Progress = 16,  // [Progress, id, percent, blocking]
    Heartbeat = 17, // [Heartbeat]
};

// The descriptor the channel has in the child, and the environment that tells the child about it.
inline constexpr int ChildFd = 3;
inline constexpr char FdVariable[] = "QUIESCE_WORKER_FD";
inline constexpr char HeartbeatVariable[] = "QUIESCE_WORKER_HEARTBEAT_MS";

// Right after the start, before any frame, the parent sends one byte, FdMarker, carrying (SCM_RIGHTS) a memfd
// of sizeof(SharedState) bytes that both map: the job the worker is running, readable after the worker died. So a
// crash is charged to the job that caused it, even when the worker's last messages never left it (batches).
// Not inherited: the worker's only inherited descriptor stays its channel.
inline constexpr char FdMarker = 'Q';
struct SharedState
{
    std::atomic<quint64> jobId;
    std::atomic<quint32> running; // 1 while the job thread is inside the job function for jobId
};

// A frame larger than this is a protocol error (a corrupt or hostile peer), not an allocation to attempt.
inline constexpr quint32 MaxFrameBytes = 64u * 1024u * 1024u;

// Lists of ids (and of counts) travel as one CBOR byte string of packed little-endian integers: a batch of
// thousands of short jobs costs a copy, not thousands of CBOR items.
QByteArray packIds(const QList<quint64> &ids);
QList<quint64> unpackIds(const QByteArray &bytes);
QByteArray packCounts(const QList<qint32> &counts);
QList<qint32> unpackCounts(const QByteArray &bytes);

// One frame holding \a messages.
QByteArray frame(const QCborArray &messages);

// Moves every complete frame's messages out of \a buffer into \a messages (consumed bytes are removed). Returns
// false on a malformed frame (too large, not CBOR, not an array of arrays).
bool takeMessages(QByteArray &buffer, QList<QCborArray> *messages);

} // namespace Quiesce::WorkerChannel
