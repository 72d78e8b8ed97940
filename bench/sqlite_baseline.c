/* Baselines for durable throughput: the SQLite C API journaling the same jobs quiesce journals, with the same
   pragmas (WAL, synchronous=NORMAL or FULL). Two contenders (the MODE argument):

   same  (default) the state store's schema v2 and the very statements its store thread runs per batch, verbatim
         (lib/journal/statestoredb.cpp migrateSchema(), lib/journal/batchstatements.cpp), prepared once and reused,
         through the C API as the store binds them: per batch of B jobs (the store's batch is 1000)
           BEGIN IMMEDIATE; INSERT OR IGNORE ... VALUES (...) x 32 per statement (after a lookup that none of
                            the 32 ids exists), the rest one row each; raise meta.next_id;  COMMIT
           BEGIN IMMEDIATE; UPDATE jobs SET state = 1, attempts + 1 WHERE id = ? B times; COMMIT
           BEGIN IMMEDIATE; UPDATE jobs SET state = 2 WHERE id = ? B times;                COMMIT
         What is left between quiesce and this is the threads and the signalling around the store, and how the
         store groups the changes into transactions (it folds the start and the done of a job that fall into one
         batch into one UPDATE; this program keeps the three transitions apart).
   lean  the leanest journal that still records the three transitions (issue 16): INTEGER state without a CHECK,
         no secondary index, no id counter (the rowid is the id), one prepared statement per row, batches of B
         (256 by default in this mode), the three transitions as separate transactions:
           BEGIN IMMEDIATE; INSERT B rows (state 0);                 COMMIT
           BEGIN IMMEDIATE; UPDATE B rows -> 1, attempts + 1;         COMMIT
           BEGIN IMMEDIATE; UPDATE B rows -> 2;                       COMMIT

   Each job's payload is "0" (the app's payload for --work-ms 0: the cost in ms as ASCII decimal). Prints
   "READY pid=N" once the database is open and its schema created, "DONE requests=N" after the last commit (the
   driver times READY -> DONE, as it times quiesce's READY -> "SHUTDOWN begin"), then checkpoints (TRUNCATE) and
   closes like quiesce's save phase.

   usage: sqlite_baseline PATH REQUESTS [BATCH [normal|full [same|lean]]]   (BATCH 0: the mode's default) */

#define _POSIX_C_SOURCE 200809L

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *s_db;

static void die(const char *what)
{
    fprintf(stderr, "sqlite_baseline: %s: %s\n", what, s_db ? sqlite3_errmsg(s_db) : "no database");
    exit(1);
}

static void exec(const char *sql)
{
    char *error = NULL;
    if (sqlite3_exec(s_db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: %s: %s\n", sql, error ? error : "?");
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql)
{
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(s_db, sql, -1, &statement, NULL) != SQLITE_OK)
        die(sql);
    return statement;
}

static void step(sqlite3_stmt *statement, const char *what)
{
    if (sqlite3_step(statement) != SQLITE_DONE)
        die(what);
    sqlite3_reset(statement);
}

static sqlite3_int64 nowMs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (sqlite3_int64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void printLine(const char *line)
{
    /* One write(2) per line, like quiesce: the driver stamps the moment the line arrives. */
    if (write(STDOUT_FILENO, line, strlen(line)) < 0)
        exit(1);
}

static void runSame(long requests, long batch)
{
    /* Schema v2, verbatim from migrateSchema() (a fresh file). */
    exec("BEGIN IMMEDIATE");
    exec("CREATE TABLE jobs ("
         " id INTEGER PRIMARY KEY,"
         " state INTEGER NOT NULL CHECK (state = 0 OR state = 1 OR state = 2 OR state = 3),"
         " payload BLOB NOT NULL,"
         " attempts INTEGER NOT NULL DEFAULT 0,"
         " crashes INTEGER NOT NULL DEFAULT 0,"
         " reason TEXT,"
         " created INTEGER NOT NULL,"
         " updated INTEGER NOT NULL)");
    exec("CREATE INDEX jobs_pending ON jobs (id) WHERE state = 0");
    exec("CREATE TABLE sessions ("
         " id INTEGER PRIMARY KEY,"
         " pid INTEGER NOT NULL,"
         " started TEXT NOT NULL,"
         " ended TEXT,"
         " clean INTEGER NOT NULL DEFAULT 0,"
         " reason TEXT,"
         " sender INTEGER,"
         " exit_code INTEGER,"
         " report TEXT)");
    exec("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)");
    exec("INSERT INTO meta (key, value) VALUES ('next_id', 1)");
    exec("PRAGMA application_id = 1364543813"); /* 0x51554945, kStoreApplicationId */
    exec("PRAGMA user_version = 2");
    exec("COMMIT");

    /* The statements commitBatch() runs (lib/journal/batchstatements.cpp), verbatim: one row each, through the C
       API, without RETURNING (sqlite3_changes() says whether the row changed, as the store asks). */
    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare("COMMIT");
    sqlite3_stmt *insert = prepare("INSERT OR IGNORE INTO jobs (id, state, payload, attempts, crashes, created, updated) "
                                   "VALUES (?, 0, ?, ?, ?, ?, ?)");
    /* BatchStatements::insertChunk(): 32 rows per INSERT after one primary-key lookup that none of them exists. */
    enum { kChunk = 32 };
    char chunkSql[2048] = "INSERT OR IGNORE INTO jobs (id, state, payload, attempts, crashes, created, updated) VALUES ";
    for (int k = 0; k < kChunk; ++k)
        strcat(chunkSql, k == 0 ? "(?, 0, ?, ?, ?, ?, ?)" : ", (?, 0, ?, ?, ?, ?, ?)");
    sqlite3_stmt *insertChunk = prepare(chunkSql);
    sqlite3_stmt *anyInRange = prepare("SELECT EXISTS (SELECT 1 FROM jobs WHERE id BETWEEN ? AND ?)");
    sqlite3_stmt *counter = prepare("INSERT INTO meta (key, value) VALUES ('next_id', ?) "
                                    "ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)");
    sqlite3_stmt *start = prepare("UPDATE jobs SET state = 1, attempts = attempts + 1, updated = ? WHERE id = ? AND state < 2");
    sqlite3_stmt *done = prepare("UPDATE jobs SET state = 2, reason = NULL, updated = ? WHERE id = ? AND state <> 2");

    char line[96];
    snprintf(line, sizeof line, "READY pid=%ld\n", (long)getpid());
    printLine(line);

    for (long first = 1; first <= requests; first += batch) {
        const long last = first + batch - 1 < requests ? first + batch - 1 : requests;
        sqlite3_int64 now = nowMs();

        step(begin, "begin");
        long next = first;
        for (; next + kChunk - 1 <= last; next += kChunk) {
            sqlite3_bind_int64(anyInRange, 1, next);
            sqlite3_bind_int64(anyInRange, 2, next + kChunk - 1);
            if (sqlite3_step(anyInRange) != SQLITE_ROW || sqlite3_column_int(anyInRange, 0) != 0)
                die("accept: id taken");
            sqlite3_reset(anyInRange);
            for (int k = 0; k < kChunk; ++k) {
                sqlite3_bind_int64(insertChunk, 6 * k + 1, next + k);
                sqlite3_bind_blob(insertChunk, 6 * k + 2, "0", 1, SQLITE_STATIC);
                sqlite3_bind_int(insertChunk, 6 * k + 3, 0);
                sqlite3_bind_int(insertChunk, 6 * k + 4, 0);
                sqlite3_bind_int64(insertChunk, 6 * k + 5, now);
                sqlite3_bind_int64(insertChunk, 6 * k + 6, now);
            }
            step(insertChunk, "accept");
            if (sqlite3_changes(s_db) != kChunk)
                die("accept: rows missing");
        }
        for (long id = next; id <= last; ++id) {
            sqlite3_bind_int64(insert, 1, id);
            sqlite3_bind_blob(insert, 2, "0", 1, SQLITE_STATIC);
            sqlite3_bind_int(insert, 3, 0);
            sqlite3_bind_int(insert, 4, 0);
            sqlite3_bind_int64(insert, 5, now);
            sqlite3_bind_int64(insert, 6, now);
            step(insert, "accept");
            if (sqlite3_changes(s_db) != 1)
                die("accept: row missing");
        }
        sqlite3_bind_int64(counter, 1, last + 1);
        step(counter, "next_id");
        step(commit, "commit");

        now = nowMs();
        step(begin, "begin");
        for (long id = first; id <= last; ++id) {
            sqlite3_bind_int64(start, 1, now);
            sqlite3_bind_int64(start, 2, id);
            step(start, "in_progress");
        }
        step(commit, "commit");

        now = nowMs();
        step(begin, "begin");
        for (long id = first; id <= last; ++id) {
            sqlite3_bind_int64(done, 1, now);
            sqlite3_bind_int64(done, 2, id);
            step(done, "done");
            if (sqlite3_changes(s_db) != 1)
                die("done: row missing");
        }
        step(commit, "commit");
    }

    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(insert);
    sqlite3_finalize(insertChunk);
    sqlite3_finalize(anyInRange);
    sqlite3_finalize(counter);
    sqlite3_finalize(start);
    sqlite3_finalize(done);
}

static void runLean(long requests, long batch)
{
    exec("CREATE TABLE jobs ("
         " id INTEGER PRIMARY KEY,"
         " state INTEGER NOT NULL,"
         " payload BLOB NOT NULL,"
         " attempts INTEGER NOT NULL DEFAULT 0,"
         " updated INTEGER NOT NULL)");

    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare("COMMIT");
    sqlite3_stmt *insert = prepare("INSERT INTO jobs (id, state, payload, updated) VALUES (?, 0, ?, ?)");
    sqlite3_stmt *start = prepare("UPDATE jobs SET state = 1, attempts = attempts + 1, updated = ? WHERE id = ?");
    sqlite3_stmt *done = prepare("UPDATE jobs SET state = 2, updated = ? WHERE id = ?");

    char line[96];
    snprintf(line, sizeof line, "READY pid=%ld\n", (long)getpid());
    printLine(line);

    for (long first = 1; first <= requests; first += batch) {
        const long last = first + batch - 1 < requests ? first + batch - 1 : requests;
        sqlite3_int64 now = nowMs();

        step(begin, "begin");
        for (long id = first; id <= last; ++id) {
            sqlite3_bind_int64(insert, 1, id);
            sqlite3_bind_blob(insert, 2, "0", 1, SQLITE_STATIC);
            sqlite3_bind_int64(insert, 3, now);
            step(insert, "insert");
        }
        step(commit, "commit");

        now = nowMs();
        step(begin, "begin");
        for (long id = first; id <= last; ++id) {
            sqlite3_bind_int64(start, 1, now);
            sqlite3_bind_int64(start, 2, id);
            step(start, "in_progress");
        }
        step(commit, "commit");

        now = nowMs();
        step(begin, "begin");
        for (long id = first; id <= last; ++id) {
            sqlite3_bind_int64(done, 1, now);
            sqlite3_bind_int64(done, 2, id);
            step(done, "done");
        }
        step(commit, "commit");
    }

    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(insert);
    sqlite3_finalize(start);
    sqlite3_finalize(done);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sqlite_baseline PATH REQUESTS [BATCH [normal|full [same|lean]]]\n");
        return 64;
    }
    const char *path = argv[1];
    const long requests = strtol(argv[2], NULL, 10);
    const int lean = argc > 5 && strcmp(argv[5], "lean") == 0;
    long batch = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    if (batch == 0)
        batch = lean ? 256 : 1000;
    const int full = argc > 4 && strcmp(argv[4], "full") == 0;
    if (requests < 1 || batch < 1 || (argc > 4 && !full && strcmp(argv[4], "normal") != 0)
        || (argc > 5 && !lean && strcmp(argv[5], "same") != 0)) {
        fprintf(stderr, "sqlite_baseline: REQUESTS and BATCH must be positive, then normal|full, then same|lean\n");
        return 64;
    }

    if (sqlite3_open_v2(path, &s_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        die("open");
    sqlite3_busy_timeout(s_db, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (lean)
        runLean(requests, batch);
    else
        runSame(requests, batch);

    char line[96];
    snprintf(line, sizeof line, "DONE requests=%ld\n", requests);
    printLine(line);

    exec("PRAGMA wal_checkpoint(TRUNCATE)");
    if (sqlite3_close(s_db) != SQLITE_OK)
        die("close");
    return 0;
}
