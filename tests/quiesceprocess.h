#pragma once

#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStringList>

#include <chrono>

/*! \brief Drives the real `quiesce` binary for end-to-end tests: starts it with a clean signal state, reads its
    stdout line by line, waits for lines (never sleeps), sends real signals with kill(). Every wait is bounded. */
class QuiesceProcess
{
public:
    explicit QuiesceProcess(const QStringList &arguments = {});
    ~QuiesceProcess();

    static QString binary();

    QProcess &process() { return m_process; }
    void setEnvironmentValue(const QString &name, const QString &value);
    bool start();
    qint64 pid() const;

    /*! Waits until a stdout line matches \a pattern (searching lines already read too, from \a from on); returns
        the matching line or an empty string on timeout or exit. */
    QString waitForLine(const QRegularExpression &pattern,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20));
    QString waitForLine(const QString &prefix, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /*! Index of the first line matching \a pattern, or -1. */
    int indexOf(const QRegularExpression &pattern) const;
    int indexOf(const QString &prefix) const;
    int count(const QString &prefix) const;

    bool sendSignal(int signo);
    /*! Sends \a signo from a short-lived child process: a sender of its own, like a second `kill` typed by an
        operator. Repeats from one sender within UnixSignalNotifier::kDuplicateWindow are one request, so a test
        that means a second, distinct request (escalation) sends it this way. */
    bool sendSignalFromNewProcess(int signo);
    /*! Asks for STATUS lines (SIGUSR1) until \a busy workers are busy; false on timeout or exit. */
    bool waitUntilBusy(int busy, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    bool waitForExit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    bool exitedNormally() const;
    int exitCode() const;

    QStringList lines() const { return m_lines; }
    QString stdoutText() const { return m_lines.join(QLatin1Char('\n')); }
    QString stderrText() const { return QString::fromUtf8(m_stderr); }
    /*! For QVERIFY2 messages: the arguments, exit state and all output. */
    QByteArray describe() const;

    /*! Reads whatever stdout has now without blocking. */
    void pump();

private:
    QStringList m_arguments;
    QProcess m_process;
    QStringList m_lines;
    QByteArray m_partial;
    QByteArray m_stderr;
    int m_scanFrom = 0;
};
