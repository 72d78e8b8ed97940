#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: the data of a UnixSignalNotifier.
//

#include <QtCore/QList>
#include <QtCore/QString>

namespace Quiesce {

class UnixSignalNotifierPrivate
{
public:
    QList<int> signos; // the signals this notifier watches, in the order it started watching them
    QString errorString;
};

} // namespace Quiesce
