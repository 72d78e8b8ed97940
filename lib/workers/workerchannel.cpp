#include "workerchannel_p.h"

#include <QtCore/QCborValue>
#include <QtCore/QtEndian>

namespace Quiesce::WorkerChannel {

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
