#pragma once

// Private to the Workers component: the logging category of the pools' diagnostics ("quiesce.pool").

#include <QtCore/QLoggingCategory>

namespace Quiesce {
Q_DECLARE_LOGGING_CATEGORY(lcPool)
} // namespace Quiesce
