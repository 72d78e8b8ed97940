#pragma once

// Private to the state store: test hooks, out of the public header. Tests include this file (the journal's
// folder is on their include path); exported only when the tests are built. Not installed.

#include <Quiesce/quiesce_journal_export.h>

namespace Quiesce {

/*! \brief Test hook: the next \a count commits (batches and save()'s transaction) fail after all their statements
    ran, as a full disk would, and are rolled back. Process-wide; 0 turns it off. */
QUIESCE_JOURNAL_AUTOTEST_EXPORT void setFailNextCommitsForTesting(int count);

/*! \brief Test hook: stores opened from now on run their batch statements through Qt Sql, as with a Qt whose
    SQLite is not this process's libsqlite3, instead of SQLite's C API. Process-wide; false turns it off. */
QUIESCE_JOURNAL_AUTOTEST_EXPORT void setBatchStatementsOnQtSqlForTesting(bool on);

} // namespace Quiesce
