#pragma once

//
//  W A R N I N G
//  -------------
// Private to the Quiesce library: its diagnostics. Library code prints nothing of its own; what it has to say goes
// to these categories, which the application routes (qInstallMessageHandler) or filters (QT_LOGGING_RULES).
//

#include <QtCore/QLoggingCategory>

namespace Quiesce {

Q_DECLARE_LOGGING_CATEGORY(lcSignal)      // "quiesce.signal": the signal bridge (unixsignalnotifier.cpp)
Q_DECLARE_LOGGING_CATEGORY(lcCoordinator) // "quiesce.coordinator": the quit path and its watchdog
Q_DECLARE_LOGGING_CATEGORY(lcSystemd)     // "quiesce.systemd": sd_notify (systemdnotifier.cpp)

} // namespace Quiesce
