#pragma once

#include <memory>

#include <csignal>

class QCoreApplication;
class QString;

namespace Quiesce::App {

class Engine;
struct Options;

/*! \brief What the windowed executable (`quiesce`) adds to a run; the headless one (`quiesce-nox`) has none.
    runApplication() is the one start and quit path of both executables. It calls these hooks at the points where
    the window's needs differ, so that everything that touches Qt Gui or Widgets stays behind this interface and
    `quiesce-nox` links Qt Core and Sql only. */
class WindowFrontEnd
{
public:
    /*! \brief An interface: the windowed executable implements it. */
    WindowFrontEnd() = default;
    WindowFrontEnd(const WindowFrontEnd &) = delete;
    WindowFrontEnd &operator=(const WindowFrontEnd &) = delete;
    /*! \brief Destroys nothing of the run: close() has already taken the window down. */
    virtual ~WindowFrontEnd();

    /*! The application object of a windowed run (a QApplication); \a argc must outlive it. */
    virtual std::unique_ptr<QCoreApplication> createApplication(int &argc, char **argv) = 0;
    /*! Installs the translations the window speaks, before it builds a widget. */
    virtual void installTranslations() = 0;
    /*! The state at \a statePath is held by another process: true when that process was a window and came to the
        front (the launch then ends 0). */
    virtual bool activateRunning(const QString &statePath) = 0;
    /*! A start that failed with \a error says so in a box as well as on stderr. */
    virtual void showStartupError(const QString &error) = 0;
    /*! \brief Builds the window's widgets for \a engine while its journal opens (between Engine::beginOpen() and
        Engine::finishOpen()), without reading the engine's state and without showing anything. Optional: show()
        builds what was not built. */
    virtual void build(Engine *engine, const Options &options) = 0;
    /*! Binds the window to \a engine once its journal is open (building it first if build() did not) and shows it
        (before READY, so READY means "ready to be looked at") and offers it to a second launch on \a statePath. */
    virtual void show(Engine *engine, const Options &options, const QString &statePath) = 0;
    /*! Destroys the window once the event loop has returned (before the application object goes), or one that was
        built but never shown because the start failed. */
    virtual void close() = 0;
};

/*! \brief The name of the environment variable through which `quiesce` tells `quiesce-nox` that it handed a run
    over because no display was found (not because of `--headless`), so that `quiesce-nox` prints the same notice
    `quiesce` would have. `quiesce-nox` removes it at once: children never see it. */
inline constexpr char kNoDisplayHandoverVariable[] = "QUIESCE_NOX_NO_DISPLAY";

/*! \brief The signals the run's bridge handles (TERM, INT, USR1, USR2, HUP): blocked across the hand-over to
    `quiesce-nox` and in helper threads, unblocked in the main thread once the bridge holds them. */
sigset_t handledSignals();

/*! \brief Runs the application: the whole start, the event loop, and the exit (app/main.cpp; the order matters and
    is commented there). With \a window null the run is headless (`quiesce-nox`); otherwise it is headless only when
    the command line or a missing display asks for it (the command line is looked at before any application object
    exists). \a noDisplayHandedOver: a headless run that `quiesce` handed over because no display was found. Returns
    the exit code. */
int runApplication(int &argc, char **argv, WindowFrontEnd *window, bool noDisplayHandedOver);

} // namespace Quiesce::App
