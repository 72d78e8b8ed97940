// Baseline for startup time and peak RSS: the smallest Qt Widgets application that shows a window. It prints
// "READY pid=N" right after show() has returned (quiesce prints READY when its engine has started and its window
// is constructed), then runs the event loop until SIGTERM's default action ends it.
//
// With --ready-after-paint it prints READY after the window's first paint instead: the time a user waits for
// pixels, which includes the style, font and backing-store set-up that a bare show() leaves to the event loop.

#include <QtCore/QByteArray>
#include <QtWidgets/QApplication>
#include <QtWidgets/QLabel>

#include <cstring>

#include <unistd.h>

namespace {

void printReady()
{
    const QByteArray ready("READY pid=" + QByteArray::number(qint64(::getpid())) + '\n');
    [[maybe_unused]] const ssize_t n = ::write(STDOUT_FILENO, ready.constData(), size_t(ready.size()));
}

class Window : public QLabel
{
public:
    explicit Window(bool readyAfterPaint)
        : QLabel(QStringLiteral("minimal"))
        , m_readyAfterPaint(readyAfterPaint)
    {}

protected:
    void paintEvent(QPaintEvent *event) override
    {
        QLabel::paintEvent(event);
        if (m_readyAfterPaint) {
            m_readyAfterPaint = false;
            printReady();
        }
    }

private:
    bool m_readyAfterPaint;
};

} // namespace

int main(int argc, char **argv)
{
    const bool readyAfterPaint = argc > 1 && std::strcmp(argv[1], "--ready-after-paint") == 0;
    QApplication app(argc, argv);
    Window window(readyAfterPaint);
    window.resize(640, 480);
    window.show();
    if (!readyAfterPaint)
        printReady();
    return QApplication::exec();
}
