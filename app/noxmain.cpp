// `quiesce-nox`: the headless executable (servers, containers, tests), as qBittorrent ships qbittorrent-nox. It is
// `quiesce --headless` without Qt Gui and Widgets: the same engine, options and output (app/main.cpp), linking Qt
// Core and Sql only. `quiesce` execs it for every headless run, so both names behave the same; `--headless` is
// accepted here and changes nothing.
#include "main.h"

#include <QtCore/QtGlobal>

int main(int argc, char **argv)
{
    // `quiesce` handed this run over because it found no display: say so as it would have. Gone from the
    // environment before anything could start a child.
    const bool noDisplay = qEnvironmentVariableIsSet(Quiesce::App::kNoDisplayHandoverVariable);
    qunsetenv(Quiesce::App::kNoDisplayHandoverVariable);
    return Quiesce::App::runApplication(argc, argv, nullptr, noDisplay);
}
