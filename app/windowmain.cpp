// `quiesce`: the window, and the command everybody types. Headless runs and the other subcommands belong to
// `quiesce-nox` (app/noxmain.cpp), which this binary becomes before it loads anything of its own.
#include "lineoutput.h"
#include "main.h"
#include "mainwindow.h"
#include "options.h"
#include "pluginfreeicons.h"
#include "singleinstance.h"
#include "translations.h"

#include <QtCore/QLocale>
#include <QtGui/QFontDatabase>
#include <QtGui/QFontMetrics>
#include <QtGui/QGuiApplication>
#include <QtGui/QImageReader>
#include <QtWidgets/QApplication>

#if QUIESCE_HAVE_FONTCONFIG
#include <fontconfig/fontconfig.h>
#endif

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

using namespace Quiesce::App;

namespace {

// Starts \a work on a helper thread named \a name, with the handled signals blocked from its first instruction on
// (it inherits this mask): they belong to the bridge's main thread, and any that arrive meanwhile wait, pending,
// for the mask's restore. No thread to spare: returns an empty one, and the window does the work itself.
//
// The kernel queues a new thread on the CPU of the thread that created it, where it waits until the main thread
// sleeps or a load balance moves it: on the 2-core VM the font helper first ran 2-2.7 ms later, once QApplication
// was constructed, which was most of its head start. So it starts on the other CPUs the process may use (moved there
// at once, while queued) and takes the full set back as soon as it runs. Should it run before it is moved, it keeps
// the other CPUs for its few milliseconds: harmless.
std::thread startHelper(const char *name, std::function<void()> work)
{
    const sigset_t handled = handledSignals();
    sigset_t previous;
    const bool masked = ::pthread_sigmask(SIG_BLOCK, &handled, &previous) == 0;
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    const bool affinityKnown = ::sched_getaffinity(0, sizeof allowed, &allowed) == 0;
    std::thread helper;
    try {
        helper = std::thread([name, work = std::move(work), allowed, affinityKnown] {
            if (affinityKnown)
                ::pthread_setaffinity_np(::pthread_self(), sizeof allowed, &allowed);
            ::pthread_setname_np(::pthread_self(), name);
            work();
        });
    } catch (const std::system_error &) {}
    const int current = ::sched_getcpu();
    if (helper.joinable() && affinityKnown && current >= 0 && current < CPU_SETSIZE && CPU_ISSET(current, &allowed)
        && CPU_COUNT(&allowed) > 1) {
        cpu_set_t others = allowed;
        CPU_CLR(current, &others);
        ::pthread_setaffinity_np(helper.native_handle(), sizeof others, &others);
    }
    if (masked)
        ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return helper;
}

// Filling Qt's font database is nine tenths fontconfig reading its configuration (FcInit(): some sixty XML files),
// which needs no application object. The helper starts before QApplication and reads it while QApplication is
// constructed, then waits for the application object and fills Qt's database (whose own FcInit() then finds the
// configuration loaded). A base class, so that it is constructed before QApplication.
class FontHelper
{
protected:
    FontHelper()
        : m_thread(startHelper("quiesce-fonts", [this] { run(); }))
    {}

    // The application object exists: the helper may go on to Qt's font database.
    void applicationCreated() { m_applicationCreated.set_value(); }

    // Qt's font database is filled: the window may measure text. The helper may still be loading its two families
    // (below); Qt's font database lock keeps the window from loading an engine meanwhile, after which it finds the
    // fallback families cached, so the window builds its first widgets instead of waiting for both to be loaded.
    void waitForFontDatabase()
    {
        if (m_thread.joinable())
            m_filled.wait();
    }

    void waitForFonts()
    {
        if (m_thread.joinable())
            m_thread.join();
    }

private:
    void run()
    {
#if QUIESCE_HAVE_FONTCONFIG
        FcInit();
#endif
        m_created.wait();
        QFontDatabase::families();
        m_databaseFilled.set_value();
        // The first engine of a family asks fontconfig for its fallback families (about a tenth of the window's
        // construction). Qt keeps that answer in its font database for every thread, while the engines stay in
        // this thread's font cache: loading the window's two families here leaves the window only its own engines
        // to load. The bold and larger variants of the application font share its fallbacks.
        for (const QFont &font : {QGuiApplication::font(), QFontDatabase::systemFont(QFontDatabase::FixedFont)})
            QFontMetrics(font).height();
    }

    std::promise<void> m_applicationCreated;
    std::shared_future<void> m_created = m_applicationCreated.get_future().share();
    std::promise<void> m_databaseFilled;
    std::shared_future<void> m_filled = m_databaseFilled.get_future().share();
    std::thread m_thread; // last: it starts once the members it uses exist
};

// The window's application object. Two things the window needs take a large part of its start-up and can be done
// off the main thread, while it parses the command line and waits for the journal to open; the window is built
// once the font database is filled and the image plugins are loaded, and the font helper is joined before the window
// is shown (and the application object joins both before it goes, on every way out).
// - The first widget that measures text fills Qt's font database (FontHelper: about a third of the window's
//   start-up work). QFontDatabase is thread-safe; the font engines stay per thread and are loaded by the window.
// - Any image file Qt reads by its name (the menu bar's and tool bar's extension icon, the icons of a desktop's icon
//   theme) makes it load every image format plugin, to ask whether it reads that format (and the SVG one brings
//   libQt6Svg). Under Fusion without an icon theme nothing needs them: the extension icon, the group box frame and
//   the window icon are read by Qt's built-in PNG reader (app/pluginfreeicons.h), and no plugin is loaded at all.
//   Otherwise a helper loads them meanwhile: the plugin loader is thread-safe and moves each plugin object to the
//   main thread.
class WindowApplication final : private FontHelper, public QApplication
{
public:
    WindowApplication(int &argc, char **argv)
        : FontHelper()
        , QApplication(argc, argv)
        , m_images(PluginFreeIcons::avoidImagePlugins() ? std::thread() : startHelper("quiesce-images", [] {
            QImageReader::supportedImageFormats();
        }))
    {
        applicationCreated();
    }

    WindowApplication(const WindowApplication &) = delete;
    WindowApplication &operator=(const WindowApplication &) = delete;

    // Before the platform integration goes, on every way out (a bad command line, a journal that cannot open).
    ~WindowApplication() override { waitForHelpers(); }

    // Before the first widget: the font database filled, the image plugins loaded.
    void waitForWindowPrerequisites()
    {
        waitForFontDatabase();
        if (m_images.joinable())
            m_images.join();
    }

    void waitForHelpers()
    {
        waitForFonts();
        if (m_images.joinable())
            m_images.join();
    }

private:
    std::thread m_images;
};

// The window's part of a run; the headless executable has none.
class Window final : public WindowFrontEnd
{
public:
    std::unique_ptr<QCoreApplication> createApplication(int &argc, char **argv) override
    {
        auto application = std::make_unique<WindowApplication>(argc, argv);
        m_application = application.get();
        return application;
    }

    void installTranslations() override { Quiesce::App::installTranslations(QLocale()); }

    bool activateRunning(const QString &statePath) override { return SingleInstance::activateRunning(statePath); }

    void showStartupError(const QString &error) override { SingleInstance::showStartupError(error); }

    void build(Engine *engine, const Options &options) override
    {
        // The font database and the image plugins are in place before the first widget measures text or loads an
        // icon.
        m_application->waitForWindowPrerequisites();
        m_window = std::make_unique<MainWindow>(engine, options, MainWindow::AttachLater {});
    }

    void show(Engine *engine, const Options &options, const QString &statePath) override
    {
        if (!m_window)
            build(engine, options);
        // The font helper's last engine was loaded while the window was built; it ends with the start-up.
        m_application->waitForHelpers();
        m_window->attachEngine(options);
        m_window->show();
        m_instance = std::make_unique<SingleInstance>();
        QObject::connect(m_instance.get(), &SingleInstance::activationRequested, m_window.get(),
                         &MainWindow::activateFromAnotherLaunch);
        if (!m_instance->listen(statePath))
            writeStderrLine(QStringLiteral("cannot offer the window to a second launch (%1)")
                                .arg(SingleInstance::socketPath(statePath)));
    }

    void close() override
    {
        m_window.reset();
        m_instance.reset();
    }

private:
    WindowApplication *m_application = nullptr; // owned by runApplication(), alive while the window is
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<SingleInstance> m_instance;
};

// A headless run (and --help, --version, inspect) becomes `quiesce-nox`, found next to this binary, which links Qt
// Core and Sql only: no Gui, Widgets, GL, X11 or DBus mapped, relocated and unloaded for a run that never shows a
// window. execv() keeps the pid, the arguments, the descriptors and the signal dispositions, so supervisors, shells
// and scripts see no difference; nothing has been opened, raised or installed yet. The stop signals are blocked
// across the exec, so one that lands in between waits for `quiesce-nox`'s bridge (which unblocks them) instead of
// killing the process. Returns only when the exec failed: the run then stays headless in this process. A missing
// `quiesce-nox` (only `quiesce` installed or copied) is not worth a line; any other failure is.
void handOverToNox(char **argv, bool noDisplay)
{
    char self[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0)
        return;
    std::string path(self, std::size_t(length));
    // An upgrade replaced our binary while it started: the new `quiesce-nox` is still next to where it was.
    const std::string deleted = " (deleted)";
    if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
        path.resize(path.size() - deleted.size());
    path = path.substr(0, path.rfind('/') + 1) + "quiesce-nox";

    if (noDisplay)
        ::setenv(kNoDisplayHandoverVariable, "1", 1);
    const sigset_t stopSignals = handledSignals();
    sigset_t previous;
    const bool blocked = ::sigprocmask(SIG_BLOCK, &stopSignals, &previous) == 0;
    ::execv(path.c_str(), argv);
    const int error = errno;
    if (blocked)
        ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    ::unsetenv(kNoDisplayHandoverVariable);
    if (error != ENOENT)
        writeStderrLine(QStringLiteral("cannot run %1 (%2); running headless in this process")
                            .arg(QString::fromLocal8Bit(path.c_str()), QString::fromLocal8Bit(std::strerror(error))));
}

} // namespace

int main(int argc, char **argv)
{
    // One malloc arena for the whole window process. glibc gives each thread that allocates an arena of its own
    // (the store, output, watchdog and font threads, the workers), and an arena keeps the pages it once touched,
    // free or not, where no other thread can reuse them: two of them held 0.33 and 0.36 MiB after the window's
    // start. One arena: peak RSS -0.25 to -0.3 MiB (34.7 -> 34.4 MiB, issue 16's window figure). The window's
    // threads allocate little and seldom at once; the throughput figures are quiesce-nox's, which keeps glibc's
    // default. Set before any second thread exists.
    ::mallopt(M_ARENA_MAX, 1);
    bool noDisplay = false;
    if (wantsHeadless(argc, argv, &noDisplay))
        handOverToNox(argv, noDisplay);
    Window window;
    return runApplication(argc, argv, &window, false);
}
