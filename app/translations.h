#pragma once

class QLocale;

namespace Quiesce::App {

/*! \brief Installs the translations the window speaks for \a locale, replacing those installed before.

    Three layers, the last installed searched first: Qt's own (qtbase_<lang> from QLibraryInfo's translations
    path: "Cancel" becomes "Abbrechen"), the English plural forms of our %n strings (quiesce_en: "1 request", "2
    requests"), then our translation for \a locale, compiled in under ":/i18n". Only for the window: the line
    protocol, STATUS= texts and inspect JSON are machine formats and never translated. Returns true when our
    translation for the locale's language was found (English always counts as found). */
bool installTranslations(const QLocale &locale);

} // namespace Quiesce::App
