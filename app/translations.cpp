#include "translations.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QLibraryInfo>
#include <QtCore/QLocale>
#include <QtCore/QTranslator>

#include <memory>
#include <vector>

namespace Quiesce::App {

namespace {

std::vector<std::unique_ptr<QTranslator>> &installed()
{
    // Owned here, not by the application object: a test may switch languages many times in one process.
    static std::vector<std::unique_ptr<QTranslator>> translators;
    return translators;
}

bool add(const QLocale &locale, const QString &name, const QString &directory)
{
    auto translator = std::make_unique<QTranslator>();
    if (!translator->load(locale, name, QStringLiteral("_"), directory))
        return false;
    QCoreApplication::installTranslator(translator.get());
    installed().push_back(std::move(translator));
    return true;
}

} // namespace

bool installTranslations(const QLocale &locale)
{
    for (const auto &translator : installed())
        QCoreApplication::removeTranslator(translator.get());
    installed().clear();

    const QString resources = QStringLiteral(":/i18n");
    add(locale, QStringLiteral("qtbase"), QLibraryInfo::path(QLibraryInfo::TranslationsPath));
    // The English plural forms first, under whatever language follows: a language without a file of ours falls
    // back to English with correct plurals instead of "1 request(s)".
    add(QLocale(QLocale::English), QStringLiteral("quiesce"), resources);
    if (locale.language() == QLocale::English || locale.language() == QLocale::C)
        return true;
    return add(locale, QStringLiteral("quiesce"), resources);
}

} // namespace Quiesce::App
