#pragma once

#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QtGlobal>

namespace Quiesce {

/*! \brief One unit of simulated work. Ids are unique and increase across runs (the store hands out the next
    one); \c attempts counts how often processing started (at-least-once after a crash or a cancel). */
struct Request
{
    quint64 id = 0;
    int costMs = 0;    //!< simulated processing time
    int attempts = 0;  //!< times processing has started before this one
    bool hang = false; //!< --simulate-hang: blocks ignoring cancellation, like a stuck blocking C call
};

/*! How a request left a worker. */
enum class Outcome {
    Done,     //!< processed completely
    Returned, //!< given back unfinished (cancelled): to be requeued as pending
};

/*! The ids of \a requests, in order: what the store's batch calls and many checks take. */
inline QList<quint64> idsOf(const QList<Request> &requests)
{
    QList<quint64> ids;
    ids.reserve(requests.size());
    for (const Request &r : requests)
        ids.append(r.id);
    return ids;
}

} // namespace Quiesce

Q_DECLARE_METATYPE(Quiesce::Request)
