#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: the data of a SystemdNotifier.
//

#include <QtCore/QDeadlineTimer>
#include <QtCore/QHash>
#include <QtCore/QString>

#include <Quiesce/systemdnotifier.h>

#include <chrono>

namespace Quiesce {

class SystemdNotifierPrivate
{
public:
    QString errorString;
    std::chrono::milliseconds extendMargin {5000};
    QHash<QString, QString> phaseStatus;
    QDeadlineTimer hardDeadline {QDeadlineTimer::Forever}; // the watchdog's, from the first request
    QString reason;
    SystemdStatusFormatter statusFormatter;

    QString word(const SystemdStatus &status) const
    {
        return statusFormatter ? statusFormatter(status) : SystemdNotifier::defaultStatus(status);
    }
};

} // namespace Quiesce
