#pragma once

// Private to the state store: reads a journal's write-ahead log the way SQLite's recovery will, before SQLite opens
// it, to find committed transactions SQLite would silently drop. Not installed.

#include <QtCore/QJsonObject>
#include <QtCore/QString>

namespace Quiesce {

/*! \brief What checkWal() found in `<db>-wal`.

    SQLite's recovery (wal.c, walIndexRecover) keeps the frames up to the last commit frame of an unbroken run of
    valid frames (salts equal to the header's, running checksum right) and silently ignores everything after it;
    a WAL whose header fails its checks is ignored as a whole. That is right for the tail of a transaction that
    was being written when the process died, and wrong for a damaged frame with committed transactions after it. */
struct WalReport
{
    enum class State {
        None,       //!< no WAL, a 0-byte one, or one without a complete frame: nothing for SQLite to recover
        Intact,     //!< SQLite will use every frame of the current generation
        Torn,       //!< only an uncommitted tail is dropped: a transaction in flight at the crash; nothing lost
        Damaged,    //!< frames of committed transactions will be dropped (or the whole WAL ignored)
        Unreadable, //!< the WAL could not be read (error says why); nothing is known about it
    };
    enum class Damage {
        None,
        Header, //!< bad magic, page size, version or header checksum: SQLite ignores every frame
        Frame,  //!< a frame fails its salt or checksum check, and commits follow it
    };

    State state = State::None;
    Damage damage = Damage::None;
    QString walPath;
    QString error;               //!< Unreadable: why
    quint32 pageSize = 0;        //!< from the WAL header (or the main file's when the header is damaged); 0: unknown
    qint64 frames = 0;           //!< complete frames in the file, by its size
    qint64 framesUsed = 0;       //!< frames SQLite's recovery keeps (up to its last valid commit frame)
    qint64 generationFrames = 0; //!< frames of the current generation (salts of the header); older ones are normal
    qint64 framesDropped = 0;    //!< frames of the current generation that SQLite's recovery discards
    qint64 commitsDropped = 0;   //!< commit frames among them (by their "database size after commit" field)
    qint64 firstBadFrame = 0;    //!< Damage::Frame: 1-based number of the first frame that fails its checks
    /*! The smallest next id that reuses no request id seen in a self-consistent frame of the generation (dropped
        or not): one past the largest rowid of a table leaf there, or the store's ('next_id', N) row if larger.
        0: none found. */
    quint64 idFloor = 0;

    bool damaged() const { return state == State::Damaged; }
    /*! One clause for an error message, e.g. "has a damaged frame 57 of 80: 24 frames (3 commits) would be
        dropped". */
    QString describe() const;
    /*! {"path", "state": "none"|"intact"|"torn"|"damaged"|"unreadable", "damage": "header"|"frame"|null,
        "page_size", "frames", "frames_used", "frames_dropped", "commits_dropped", "first_bad_frame", "error"?}. */
    QJsonObject toJson() const;
};

/*! \brief Reads `<databasePath>-wal` (and the main file's header for its page size) without writing anything,
    streaming it frame by frame. Never opens anything but a regular file and never blocks on a FIFO. */
WalReport checkWal(const QString &databasePath);

} // namespace Quiesce
