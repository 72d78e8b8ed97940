#include "workerchannel_p.h"

#include <QtCore/QCborValue>
#include <QtCore/QtEndian>

namespace Quiesce::WorkerChannel {

QByteArray packIds(const QList<quint64> &ids)
{
    QByteArray bytes(ids.size() * qsizetype(sizeof(quint64)), Qt::Uninitialized);
    char *out = bytes.data();
    for (quint64 id : ids) {
        qToLittleEndian<quint64>(id, out);
        out += sizeof(quint64);
    }
    return bytes;
}

QList<quint64> unpackIds(const QByteArray &bytes)
{
    QList<quint64> ids;
    const qsizetype n = bytes.size() / qsizetype(sizeof(quint64));
    ids.reserve(n);
    for (qsizetype i = 0; i < n; ++i)
        ids.append(qFromLittleEndian<quint64>(bytes.constData() + i * qsizetype(sizeof(quint64))));
    return ids;
}

QByteArray packCounts(const QList<qint32> &counts)
{
    QByteArray bytes(counts.size() * qsizetype(sizeof(qint32)), Qt::Uninitialized);
    char *out = bytes.data();
    for (qint32 c : counts) {
        qToLittleEndian<qint32>(c, out);
        out += sizeof(qint32);
    }
    return bytes;
}

QList<qint32> unpackCounts(const QByteArray &bytes)
{
    QList<qint32> counts;
    const qsizetype n = bytes.size() / qsizetype(sizeof(qint32));
    counts.reserve(n);
    for (qsizetype i = 0; i < n; ++i)
        counts.append(qFromLittleEndian<qint32>(bytes.constData() + i * qsizetype(sizeof(qint32))));
    return counts;
}

QByteArray frame(const QCborArray &messages)
{
    const QByteArray body = messages.toCborValue().toCbor();
    QByteArray out(4, Qt::Uninitialized);
    qToBigEndian<quint32>(quint32(body.size()), out.data());
    out.append(body);
    return out;
}

bool takeMessages(QByteArray &buffer, QList<QCborArray> *messages)
{
    qsizetype pos = 0;
    bool ok = true;
    while (buffer.size() - pos >= 4) {
        const quint32 length = qFromBigEndian<quint32>(buffer.constData() + pos);
        if (length > MaxFrameBytes) {
            ok = false;
            break;
        }
        if (buffer.size() - pos - 4 < qsizetype(length))
            break;
        QCborParserError error;
        const QCborValue value = QCborValue::fromCbor(buffer.mid(pos + 4, length), &error);
        pos += 4 + length;
        if (error.error != QCborError::NoError || !value.isArray()) {
            ok = false;
            break;
        }
        const QCborArray list = value.toArray();
        for (const QCborValue &message : list) {
            if (!message.isArray() || message.toArray().isEmpty()) {
                ok = false;
                break;
            }
            messages->append(message.toArray());
        }
        if (!ok)
            break;
    }
    buffer.remove(0, pos);
    return ok;
}

} // namespace Quiesce::WorkerChannel
