#pragma once

// Small file helpers shared by the tests that build hostile files by hand (FIFOs, links, replaced journals).
#include <QtCore/QByteArray>
#include <QtCore/QFile>
#include <QtCore/QString>

#include <sys/stat.h>

namespace TestFiles {

/*! The file type lstat() sees at \a path (S_IFREG, S_IFIFO, S_IFLNK, ...); 0 when nothing is there. */
inline mode_t fileType(const QString &path)
{
    struct stat info;
    if (::lstat(QFile::encodeName(path).constData(), &info) != 0)
        return 0;
    return info.st_mode & S_IFMT;
}

/*! Creates or truncates \a path and writes \a bytes; false on any failure. */
inline bool writeBytes(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(bytes) == bytes.size();
}

/*! The whole content of \a path; empty when it cannot be read. */
inline QByteArray readBytes(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace TestFiles
