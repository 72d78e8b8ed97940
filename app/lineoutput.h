#pragma once

#include <QtCore/QString>

namespace Quiesce::App {

/*! Writes one line to stdout at once (no stdio buffer), so a supervisor or a test reading the pipe sees READY,
    STATUS and SHUTDOWN lines the moment they happen and in order with the lines the watchdog writes directly.
    A closed pipe (EPIPE; SIGPIPE is ignored) is not an error worth dying for: the line is dropped. */
void writeStdoutLine(const QString &text);

/*! One line on stderr, prefixed "quiesce: ". */
void writeStderrLine(const QString &text);

} // namespace Quiesce::App
