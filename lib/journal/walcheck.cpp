#include "walcheck_p.h"

#include <QtCore/QFile>
#include <QtCore/QJsonValue>
#include <QtCore/QScopeGuard>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace Quiesce {

namespace {

// https://www.sqlite.org/fileformat2.html#walformat and SQLite's wal.c.
constexpr quint32 kWalMagic = 0x377f0682; // | 1: checksums over big-endian words, else little-endian
constexpr quint32 kWalVersion = 3007000;
constexpr qint64 kWalHeaderSize = 32;
constexpr qint64 kFrameHeaderSize = 24;

quint32 be32(const uchar *p)
{
    return (quint32(p[0]) << 24) | (quint32(p[1]) << 16) | (quint32(p[2]) << 8) | quint32(p[3]);
}

quint32 le32(const uchar *p)
{
    return (quint32(p[3]) << 24) | (quint32(p[2]) << 16) | (quint32(p[1]) << 8) | quint32(p[0]);
}

bool validPageSize(quint32 size)
{
    return size >= 512 && size <= 65536 && (size & (size - 1)) == 0;
}

struct Checksum
{
    quint32 s1 = 0;
    quint32 s2 = 0;
    bool operator==(const Checksum &other) const = default;
};

// walChecksumBytes(): Fletcher-like sums over pairs of 32-bit words, continued from \a seed. n is a multiple of 8.
Checksum walChecksum(bool bigEndian, const uchar *data, qint64 n, Checksum seed)
{
    Checksum c = seed;
    for (qint64 i = 0; i + 8 <= n; i += 8) {
        const quint32 x0 = bigEndian ? be32(data + i) : le32(data + i);
        const quint32 x1 = bigEndian ? be32(data + i + 4) : le32(data + i + 4);
        c.s1 += x0 + c.s2;
        c.s2 += x1 + c.s1;
    }
    return c;
}

// A frame's checksum covers the first 8 bytes of its header and its page, continuing from the previous one.
Checksum frameChecksum(bool bigEndian, const uchar *frame, qint64 pageSize, Checksum seed)
{
    return walChecksum(bigEndian, frame + kFrameHeaderSize, pageSize, walChecksum(bigEndian, frame, 8, seed));
}

bool readAt(int fd, uchar *buffer, qint64 size, qint64 offset)
{
    qint64 done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, buffer + done, size_t(size - done), off_t(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += n;
    }
    return true;
}

// Opens a regular file for reading only: O_NONBLOCK so a FIFO put in its place never blocks us, then fstat.
int openRegular(const QString &path, qint64 *size, QString *error)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        const int e = errno;
        if (e != ENOENT)
            *error = QString::fromLocal8Bit(std::strerror(e));
        return -1;
    }
    struct stat info;
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        *error = QStringLiteral("not a regular file");
        ::close(fd);
        return -1;
    }
    *size = info.st_size;
    return fd;
}

// The page size in the main database file's header (bytes 16-17, 1 meaning 65536); 0 when unknown.
quint32 mainFilePageSize(const QString &databasePath)
{
    qint64 size = 0;
    QString ignored;
    const int fd = openRegular(databasePath, &size, &ignored);
    if (fd < 0)
        return 0;
    uchar header[18];
    const bool ok = size >= qint64(sizeof header) && readAt(fd, header, sizeof header, 0);
    ::close(fd);
    if (!ok)
        return 0;
    const quint32 pageSize = (quint32(header[16]) << 8) | header[17];
    return pageSize == 1 ? 65536 : (validPageSize(pageSize) ? pageSize : 0);
}

bool readVarint(const uchar *page, qint64 end, qint64 *pos, quint64 *value)
{
    quint64 v = 0;
    for (int i = 0; i < 9; ++i) {
        if (*pos >= end)
            return false;
        const uchar byte = page[(*pos)++];
        if (i == 8) {
            *value = (v << 8) | byte;
            return true;
        }
        v = (v << 7) | (byte & 0x7f);
        if ((byte & 0x80) == 0) {
            *value = v;
            return true;
        }
    }
    return false;
}

// The smallest next id that reuses no id this page shows, if it is a table b-tree leaf, else 0: one past its largest
// rowid (job ids are the jobs table's rowids, the requests table's in v1; every other table's rowids are small), and
// the value of the store's ('next_id', N) row if it holds it. Both are written in the same transaction as the jobs
// they count, so
// over the intact frames of a log they bound every id committed there, also when damage made SQLite drop them.
quint64 idFloorOfPage(const uchar *page, qint64 pageSize, quint32 pageNumber)
{
    constexpr quint64 kImplausible = quint64(1) << 62; // never an id of ours: ignored rather than trusted
    const qint64 header = pageNumber == 1 ? 100 : 0;   // page 1 starts with the database header
    if (pageSize < header + 8 || page[header] != 0x0d)
        return 0;
    const int cells = (int(page[header + 3]) << 8) | page[header + 4];
    quint64 best = 0;
    for (int c = 0; c < cells; ++c) {
        const qint64 pointerAt = header + 8 + 2 * c;
        if (pointerAt + 2 > pageSize)
            break;
        qint64 pos = (qint64(page[pointerAt]) << 8) | page[pointerAt + 1];
        quint64 payload = 0;
        quint64 rowid = 0;
        if (!readVarint(page, pageSize, &pos, &payload) || !readVarint(page, pageSize, &pos, &rowid))
            continue;
        if (rowid < kImplausible)
            best = std::max(best, rowid + 1);
        // Record header: its length (3), "text of 7 bytes" (serial type 27), an integer serial type; then the body.
        if (payload < 3 + 7 || payload > 32 || pos + qint64(payload) > pageSize || page[pos] != 3 || page[pos + 1] != 27
            || std::memcmp(page + pos + 3, "next_id", 7) != 0)
            continue;
        static constexpr int kIntSizes[] = {0, 1, 2, 3, 4, 6, 8};
        const uchar type = page[pos + 2];
        quint64 value = 0;
        if (type == 9) {
            value = 1;
        } else if (type >= 1 && type <= 6) {
            const int size = kIntSizes[type];
            if (payload < quint64(3 + 7 + size))
                continue;
            const uchar *p = page + pos + 10;
            for (int i = 0; i < size; ++i)
                value = (value << 8) | p[i];
            if (size > 0 && (p[0] & 0x80) != 0)
                continue; // negative: not ours
        }
        if (value < kImplausible)
            best = std::max(best, value);
    }
    return best;
}

} // namespace

QString WalReport::describe() const
{
    switch (state) {
    case State::None:
        return QStringLiteral("has no frames");
    case State::Intact:
        return QStringLiteral("is intact (%1 frames)").arg(framesUsed);
    case State::Torn:
        return QStringLiteral("ends in an uncommitted transaction (%1 frames not used)").arg(framesDropped);
    case State::Unreadable:
        return QStringLiteral("cannot be read (%1)").arg(error);
    case State::Damaged:
        break;
    }
    if (damage == Damage::Header) {
        if (pageSize == 0)
            return QStringLiteral("has a damaged header (and its page size is unknown): SQLite would ignore it");
        return QStringLiteral("has a damaged header: SQLite would ignore all %1 frames (%2 commits)")
            .arg(framesDropped)
            .arg(commitsDropped);
    }
    return QStringLiteral("has a damaged frame %1 of %2: SQLite would drop %3 frames (%4 commits) from there on")
        .arg(firstBadFrame)
        .arg(frames)
        .arg(framesDropped)
        .arg(commitsDropped);
}

QJsonObject WalReport::toJson() const
{
    static const char *const states[] = {"none", "intact", "torn", "damaged", "unreadable"};
    QJsonObject json;
    json.insert(QStringLiteral("path"), walPath);
    json.insert(QStringLiteral("state"), QLatin1StringView(states[int(state)]));
    json.insert(QStringLiteral("damage"),
                damage == Damage::None         ? QJsonValue(QJsonValue::Null)
                    : damage == Damage::Header ? QJsonValue(QStringLiteral("header"))
                                               : QJsonValue(QStringLiteral("frame")));
    json.insert(QStringLiteral("page_size"), qint64(pageSize));
    json.insert(QStringLiteral("frames"), frames);
    json.insert(QStringLiteral("frames_used"), framesUsed);
    json.insert(QStringLiteral("frames_dropped"), framesDropped);
    json.insert(QStringLiteral("commits_dropped"), commitsDropped);
    json.insert(QStringLiteral("first_bad_frame"), firstBadFrame);
    if (!error.isEmpty())
        json.insert(QStringLiteral("error"), error);
    return json;
}

WalReport checkWal(const QString &databasePath)
{
    WalReport report;
    report.walPath = QString(databasePath + QStringLiteral("-wal"));

    qint64 size = 0;
    const int fd = openRegular(report.walPath, &size, &report.error);
    if (fd < 0) {
        if (!report.error.isEmpty())
            report.state = WalReport::State::Unreadable;
        return report;
    }
    const auto closeFd = qScopeGuard([fd] { ::close(fd); });
    const auto unreadable = [&report](const QString &why) {
        report.state = WalReport::State::Unreadable;
        report.error = why;
        return report;
    };
    // Shorter than its header: SQLite treats the log as empty.
    if (size < kWalHeaderSize)
        return report;

    uchar header[kWalHeaderSize];
    if (!readAt(fd, header, kWalHeaderSize, 0))
        return unreadable(QStringLiteral("read error"));
    const quint32 magic = be32(header);
    const quint32 headerPageSize = be32(header + 8);
    const bool bigEndian = (magic & 1) != 0;
    const Checksum stored {be32(header + 24), be32(header + 28)};
    const bool headerOk = (magic & ~quint32(1)) == kWalMagic && validPageSize(headerPageSize)
        && walChecksum(bigEndian, header, 24, {}) == stored && be32(header + 4) == kWalVersion;

    // A damaged header may have a damaged page size too: then the main file's (they are always equal) gives the
    // frame size, so the frames can still be counted.
    quint32 pageSize = headerPageSize;
    if (!headerOk) {
        const quint32 mainPageSize = mainFilePageSize(databasePath);
        pageSize = mainPageSize != 0 ? mainPageSize : (validPageSize(headerPageSize) ? headerPageSize : 0);
    }
    report.pageSize = pageSize;
    if (pageSize == 0) {
        // Header damaged and no way to find the frames: whatever follows the header is lost to SQLite.
        if (size > kWalHeaderSize) {
            report.state = WalReport::State::Damaged;
            report.damage = WalReport::Damage::Header;
        }
        return report;
    }

    const qint64 frameSize = kFrameHeaderSize + pageSize;
    report.frames = (size - kWalHeaderSize) / frameSize;
    if (report.frames == 0) {
        // A header without a frame (or a torn first frame): nothing committed is in it.
        return report;
    }

    // The salts of the current generation: the header's, unless the header is damaged and its salts are not
    // those of the first frames (then a salt byte of the header is what was damaged).
    uchar salts[8];
    std::memcpy(salts, header + 16, 8);
    if (!headerOk) {
        uchar first[kFrameHeaderSize];
        uchar second[kFrameHeaderSize];
        if (!readAt(fd, first, kFrameHeaderSize, kWalHeaderSize))
            return unreadable(QStringLiteral("read error"));
        const bool haveSecond = report.frames > 1 && readAt(fd, second, kFrameHeaderSize, kWalHeaderSize + frameSize);
        if (std::memcmp(first + 8, salts, 8) != 0 && haveSecond && std::memcmp(first + 8, second + 8, 8) == 0)
            std::memcpy(salts, first + 8, 8);
    }

    // One pass, frame by frame (a log can be large: never read it whole). With a good header this is SQLite's own
    // walk: frames stay valid while their salts match and the running checksum does; a valid commit frame ends
    // what SQLite uses. Every frame is also checked on its own (seeded with the previous frame's stored checksum),
    // so a frame after a break can still be trusted for the id floor. With a damaged header the byte order of
    // the checksums is unknown: both are tried.
    std::vector<uchar> frame(size_t(frameSize), 0);
    const int orders = headerOk ? 1 : 2;
    Checksum previous[2] = {stored, stored};
    quint64 idFloor[2] = {0, 0};
    qint64 selfConsistent[2] = {0, 0};
    bool chainAlive = headerOk;
    qint64 breakAt = -1; // 0-based first frame SQLite rejects
    qint64 lastInGeneration = -1;
    std::vector<qint64> commits; // 0-based commit frames of the generation
    std::vector<bool> commitConsistent;
    for (qint64 i = 0; i < report.frames; ++i) {
        if (!readAt(fd, frame.data(), frameSize, kWalHeaderSize + i * frameSize))
            return unreadable(QStringLiteral("read error"));
        const quint32 pageNumber = be32(frame.data());
        const bool isCommit = be32(frame.data() + 4) != 0;
        const bool inGeneration = std::memcmp(frame.data() + 8, salts, 8) == 0;
        const Checksum frameStored {be32(frame.data() + 16), be32(frame.data() + 20)};
        bool consistent = false;
        for (int o = 0; o < orders; ++o) {
            const bool order = orders == 1 ? bigEndian : o == 1;
            const bool ok = frameChecksum(order, frame.data(), pageSize, previous[o]) == frameStored;
            previous[o] = frameStored;
            if (ok && inGeneration && pageNumber != 0) {
                ++selfConsistent[o];
                idFloor[o] = std::max(idFloor[o], idFloorOfPage(frame.data() + kFrameHeaderSize, pageSize, pageNumber));
                consistent = true;
            }
        }
        if (chainAlive) {
            // With the chain unbroken so far, the running checksum is the previous frame's stored one.
            if (consistent) {
                if (isCommit)
                    report.framesUsed = i + 1;
            } else {
                chainAlive = false;
                breakAt = i;
            }
        } else if (breakAt < 0) {
            breakAt = i; // header damaged: SQLite uses nothing
        }
        if (inGeneration) {
            lastInGeneration = i;
        }
        // Commit frames are counted by their field even where the frame fails (a damaged salt included): the
        // frames up to the last one of the generation all belong to it, since a generation is written from frame 1.
        if (isCommit) {
            commits.push_back(i);
            commitConsistent.push_back(consistent);
        }
    }
    report.idFloor = selfConsistent[1] > selfConsistent[0] ? idFloor[1] : idFloor[0];
    report.generationFrames = lastInGeneration + 1;
    if (report.generationFrames == 0) {
        // No frame of the current generation (a header written right after a restart): nothing to recover.
        return report;
    }
    report.framesDropped = std::max<qint64>(0, report.generationFrames - report.framesUsed);

    // A commit frame SQLite drops is committed data unless it is the last frame of the generation and fails its
    // own checksum: that is a commit torn by the crash, before it returned (so nothing was reported accepted).
    bool committedLost = false;
    for (size_t k = 0; k < commits.size(); ++k) {
        const qint64 c = commits[k];
        if (c < report.framesUsed || c > lastInGeneration)
            continue;
        ++report.commitsDropped;
        if (c < lastInGeneration || commitConsistent[k])
            committedLost = true;
    }
    if (report.framesDropped == 0) {
        report.state = WalReport::State::Intact;
    } else if (!committedLost) {
        report.state = WalReport::State::Torn;
    } else {
        report.state = WalReport::State::Damaged;
        report.damage = headerOk ? WalReport::Damage::Frame : WalReport::Damage::Header;
        if (headerOk)
            report.firstBadFrame = breakAt + 1;
    }
    return report;
}

} // namespace Quiesce
