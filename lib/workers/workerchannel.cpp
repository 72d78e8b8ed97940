#include "workerchannel_p.h"

#include <QtCore/QCborValue>
#include <QtCore/QtEndian>

namespace Quiesce::WorkerChannel {

namespace {

template<typename T>
QByteArray pack(const QList<T> &values)
{
    QByteArray bytes(values.size() * qsizetype(sizeof(T)), Qt::Uninitialized);
    char *out = bytes.data();
    for (T v : values) {
        qToLittleEndian<T>(v, out);
        out += sizeof(T);
    }
    return bytes;
}

template<typename T>
QList<T> unpack(const QByteArray &bytes)
{
    QList<T> values;
    const qsizetype n = bytes.size() / qsizetype(sizeof(T));
    values.reserve(n);
    for (qsizetype i = 0; i < n; ++i)
        values.append(qFromLittleEndian<T>(bytes.constData() + i * qsizetype(sizeof(T))));
    return values;
}

} // namespace

QByteArray packIds(const QList<quint64> &ids)
{
    return pack(ids);
}

QList<quint64> unpackIds(const QByteArray &bytes)
{
    return unpack<quint64>(bytes);
}

QByteArray packCounts(const QList<qint32> &counts)
{
    return pack(counts);
}

QList<qint32> unpackCounts(const QByteArray &bytes)
{
    return unpack<qint32>(bytes);
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
