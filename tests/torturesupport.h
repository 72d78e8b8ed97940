#pragma once

// Shared by the reliability (torture) tests: iteration counts (normal vs QUIESCE_TEST_LONG=1), `quiesce inspect`,
// the state file checked from outside (SHA-256, PRAGMA integrity_check), and checks of the SHUTDOWN lines. Every
// check returns an empty string when it holds and a readable reason when it does not, for QVERIFY2.
#include "filesupport.h"
#include "quiesceprocess.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QStringList>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

#include <algorithm>
#include <csignal>

namespace Torture {

using namespace std::chrono_literals;

/*! QUIESCE_TEST_LONG=1 (scripts/quiesce test --long) runs many more iterations of every loop. */
inline bool longMode()
{
    return qEnvironmentVariableIntValue("QUIESCE_TEST_LONG") == 1;
}

inline int iterations(int normal, int longRun)
{
    return longMode() ? longRun : normal;
}

// One pair of file helpers for every test (filesupport.h), under the names the torture tests use.
using TestFiles::readBytes;
using TestFiles::writeBytes;

/*! The shared library of the sanitizer runtime this (instrumented) test was loaded with, or empty. The binary under
    test is built with the same flags, and ASan insists on coming first in the library list: a preloaded shim must
    come after it. */
inline QString asanRuntime()
{
    QFile maps(QStringLiteral("/proc/self/maps"));
    if (!maps.open(QIODevice::ReadOnly))
        return {};
    const QList<QByteArray> lines = maps.readAll().split('\n');
    for (const QByteArray &line : lines) {
        const qsizetype slash = line.indexOf('/');
        if (slash >= 0 && line.contains("/libasan.so"))
            return QString::fromLocal8Bit(line.mid(slash).trimmed());
    }
    return {};
}

inline QByteArray sha256(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

/*! XORs the byte at \a offset of \a path with \a mask in place: hand-made damage. */
inline bool flipByte(const QString &path, qint64 offset, uchar mask = 0x10)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadWrite) || !file.seek(offset))
        return false;
    char byte = 0;
    if (file.read(&byte, 1) != 1 || !file.seek(offset))
        return false;
    byte = char(uchar(byte) ^ mask);
    return file.write(&byte, 1) == 1;
}

/*! Every id in lines "<prefix><id>", in order, duplicates kept. */
inline QList<quint64> idsWithPrefix(const QStringList &lines, const QString &prefix)
{
    QList<quint64> ids;
    for (const QString &l : lines) {
        if (l.startsWith(prefix))
            ids.append(l.mid(prefix.size()).toULongLong());
    }
    return ids;
}

inline QSet<quint64> toSet(const QList<quint64> &ids)
{
    return QSet<quint64>(ids.cbegin(), ids.cend());
}

/*! The ids that occur more than once. */
inline QList<quint64> duplicates(const QList<quint64> &ids)
{
    QSet<quint64> seen;
    QList<quint64> twice;
    for (quint64 id : ids) {
        if (seen.contains(id))
            twice.append(id);
        seen.insert(id);
    }
    return twice;
}

inline QString describeIds(const QSet<quint64> &ids)
{
    QList<quint64> sorted(ids.cbegin(), ids.cend());
    std::sort(sorted.begin(), sorted.end());
    QStringList text;
    for (qsizetype i = 0; i < sorted.size() && i < 20; ++i)
        text << QString::number(sorted.at(i));
    if (sorted.size() > 20)
        text << QStringLiteral("...");
    return QStringLiteral("%1 ids [%2]").arg(sorted.size()).arg(text.join(QLatin1Char(' ')));
}

/*! `quiesce inspect --state path [--ids]` as JSON; an empty object (and \a error) when it failed. */
inline QJsonObject inspect(const QString &statePath, bool ids, QString *error = nullptr)
{
    QStringList args {QStringLiteral("inspect"), QStringLiteral("--state"), statePath};
    if (ids)
        args << QStringLiteral("--ids");
    QuiesceProcess q(args);
    if (!q.start() || !q.waitForExit(60s) || !q.exitedNormally() || q.exitCode() != 0) {
        if (error)
            *error = QString::fromUtf8(q.describe());
        return {};
    }
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(q.stdoutText().toUtf8(), &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        if (error)
            *error = QStringLiteral("inspect printed no JSON (%1)\n%2")
                         .arg(parseError.errorString(), QString::fromUtf8(q.describe()));
        return {};
    }
    return doc.object();
}

/*! ids.<state> of an inspect --ids object ("pending", "in_progress", "done"). */
inline QSet<quint64> stateIds(const QJsonObject &state, const char *which)
{
    QSet<quint64> ids;
    const QJsonArray array = state.value(QStringLiteral("ids")).toObject().value(QLatin1StringView(which)).toArray();
    for (const QJsonValue &v : array)
        ids.insert(quint64(v.toDouble()));
    return ids;
}

inline qint64 stateCount(const QJsonObject &state, const char *which)
{
    return state.value(QStringLiteral("counts")).toObject().value(QLatin1StringView(which)).toInteger(-1);
}

/*! Runs \a sql on a COPY of the journal (the file and its -wal, as a crash or the app left them) with Qt's SQLite
    driver, and returns the first column of every row; an empty list and \a error on failure. A copy, because
    opening the real file read-write would recover and checkpoint its WAL and so change what the app sees next. */
inline QStringList sqlColumn(const QString &path, const QString &sql, QString *error)
{
    static int counter = 0;
    QTemporaryDir scratch;
    const QString copy = scratch.filePath(QStringLiteral("copy.sqlite"));
    if (!scratch.isValid() || !QFile::copy(path, copy)) {
        *error = QStringLiteral("cannot copy %1").arg(path);
        return {};
    }
    for (const char *side : {"-wal", "-journal"}) {
        const QString from = QString(path + QLatin1StringView(side));
        if (QFile::exists(from) && !QFile::copy(from, QString(copy + QLatin1StringView(side)))) {
            *error = QStringLiteral("cannot copy %1").arg(from);
            return {};
        }
    }
    const QString name = QStringLiteral("torture-check-%1").arg(++counter);
    QStringList result;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(copy);
        if (!db.open()) {
            *error = db.lastError().text();
        } else {
            QSqlQuery query(db);
            if (!query.exec(sql))
                *error = query.lastError().text();
            while (query.next())
                result << query.value(0).toString();
            query.finish();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return result;
}

/*! Empty when PRAGMA integrity_check says "ok". */
inline QString integrityProblem(const QString &path)
{
    QString error;
    const QStringList rows = sqlColumn(path, QStringLiteral("PRAGMA integrity_check"), &error);
    if (!error.isEmpty())
        return QStringLiteral("integrity_check could not run: %1").arg(error);
    if (rows != QStringList {QStringLiteral("ok")})
        return QStringLiteral("integrity_check: %1").arg(rows.join(QStringLiteral("; ")));
    return {};
}

/*! Every request id in the file (any state), read directly with SQLite. */
inline QSet<quint64> idsInFile(const QString &path, QString *error)
{
    QSet<quint64> ids;
    const QStringList rows = sqlColumn(path, QStringLiteral("SELECT id FROM jobs"), error);
    for (const QString &r : rows)
        ids.insert(r.toULongLong());
    return ids;
}

/*! Empty when every phase in \a phases has a begin and an end line, in this order, ending with \a outcome
    (any outcome when empty), after the first line starting with \a after. */
inline QString phasesInOrder(const QuiesceProcess &q, const QStringList &phases, const QString &after,
                             const QString &outcome = QStringLiteral("ok"))
{
    int previous = q.indexOf(after);
    if (previous < 0)
        return QStringLiteral("no line starting with '%1'").arg(after);
    for (const QString &phase : phases) {
        const int begin = q.indexOf(QStringLiteral("SHUTDOWN phase=%1 begin").arg(phase));
        const int end = q.indexOf(QStringLiteral("SHUTDOWN phase=%1 end outcome=%2").arg(phase, outcome));
        if (begin <= previous || end <= begin)
            return QStringLiteral("phase %1 missing or out of order (begin at %2, end at %3, previous at %4)")
                .arg(phase)
                .arg(begin)
                .arg(end)
                .arg(previous);
        if (q.count(QStringLiteral("SHUTDOWN phase=%1 begin").arg(phase)) != 1)
            return QStringLiteral("phase %1 ran more than once").arg(phase);
        previous = end;
    }
    return {};
}

/*! "key=value" from a line like "SHUTDOWN report accepted=3 finished=2"; -1 when missing. */
inline qint64 field(const QString &line, const QString &key)
{
    const QRegularExpression re(QStringLiteral("(?:^| )%1=(-?\\d+)").arg(QRegularExpression::escape(key)));
    const QRegularExpressionMatch m = re.match(line);
    return m.hasMatch() ? m.captured(1).toLongLong() : -1;
}

/*! Asks for STATUS lines (SIGUSR1) until \a busy workers are busy; bounded (generously: the machine is loaded). */
inline bool waitUntilBusy(QuiesceProcess &q, int busy)
{
    return q.waitUntilBusy(busy, 30s);
}

/*! The lines after the first one starting with \a marker that start with \a prefix (empty when none). */
inline QStringList linesAfter(const QuiesceProcess &q, const QString &marker, const QString &prefix)
{
    QStringList found;
    const int from = q.indexOf(marker);
    if (from < 0)
        return found;
    const QStringList lines = q.lines();
    for (int i = from + 1; i < lines.size(); ++i) {
        if (lines.at(i).startsWith(prefix))
            found << lines.at(i);
    }
    return found;
}

/*! Prints a process's whole output when the test function fails while the guard lives (QtTest cuts long
    QVERIFY2 messages, and the interesting line is usually near the end). */
class DumpOnFailure
{
public:
    explicit DumpOnFailure(const QuiesceProcess &q, int maxLines = 400)
        : m_q(q)
        , m_maxLines(maxLines)
    {}
    ~DumpOnFailure()
    {
        if (!QTest::currentTestFailed())
            return;
        const QByteArray text = m_q.describe();
        const QList<QByteArray> lines = text.split('\n');
        const qsizetype from = std::max<qsizetype>(0, lines.size() - m_maxLines);
        qInfo("---- output of the failed run (last %d lines) ----", int(lines.size() - from));
        for (qsizetype i = from; i < lines.size(); ++i)
            qInfo("%s", lines.at(i).constData());
    }
    DumpOnFailure(const DumpOnFailure &) = delete;
    DumpOnFailure &operator=(const DumpOnFailure &) = delete;

private:
    const QuiesceProcess &m_q;
    int m_maxLines;
};

} // namespace Torture
