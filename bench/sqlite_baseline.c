/* Baseline for durable throughput: the SQLite C API doing the writes the quiesce state store does for each
   request, in the same batch size, with the same schema and pragmas (WAL, synchronous=NORMAL or FULL):

     per batch of B requests:  BEGIN IMMEDIATE; INSERT B rows as pending; bump meta.next_id; COMMIT
                               BEGIN IMMEDIATE; UPDATE B rows -> in_progress, attempts + 1;  COMMIT
                               BEGIN IMMEDIATE; UPDATE B rows -> done;                       COMMIT

   Prepared statements are made once and reused (the natural C API way). Prints "READY pid=N" once the database
   is open and its schema created, "DONE requests=N" after the last commit (the driver times READY -> DONE, as it
   times quiesce's READY -> "SHUTDOWN begin"), then checkpoints (TRUNCATE) and closes like quiesce's save phase.

   usage: sqlite_baseline PATH REQUESTS [BATCH [normal|full]] */

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

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sqlite_baseline PATH REQUESTS [BATCH [normal|full]]\n");
        return 64;
    }
    const char *path = argv[1];
    const long requests = strtol(argv[2], NULL, 10);
    const long batch = argc > 3 ? strtol(argv[3], NULL, 10) : 1000;
    const int full = argc > 4 && strcmp(argv[4], "full") == 0;
    if (requests < 1 || batch < 1) {
        fprintf(stderr, "sqlite_baseline: REQUESTS and BATCH must be positive\n");
        return 64;
    }

    if (sqlite3_open_v2(path, &s_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        die("open");
    sqlite3_busy_timeout(s_db, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    /* The state store's schema v1, verbatim. */
    exec("BEGIN IMMEDIATE");
    exec("CREATE TABLE IF NOT EXISTS requests ("
         " id INTEGER PRIMARY KEY,"
         " state TEXT NOT NULL CHECK (state = 'pending' OR state = 'in_progress' OR state = 'done'),"
         " cost_ms INTEGER NOT NULL,"
         " attempts INTEGER NOT NULL DEFAULT 0,"
         " created INTEGER NOT NULL,"
         " updated INTEGER NOT NULL)");
    exec("CREATE INDEX IF NOT EXISTS requests_state ON requests (state)");
    exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)");
    exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('next_id', 1)");
    exec("COMMIT");

    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare("COMMIT");
    sqlite3_stmt *insert = prepare("INSERT OR IGNORE INTO requests (id, state, cost_ms, attempts, created, updated) "
                                   "VALUES (?, 'pending', ?, ?, ?, ?)");
    sqlite3_stmt *counter = prepare("UPDATE meta SET value = MAX(value, ?) WHERE key = 'next_id'");
    sqlite3_stmt *start = prepare("UPDATE requests SET state = 'in_progress', attempts = attempts + 1, updated = ? "
                                  "WHERE id = ? AND state <> 'done'");
    sqlite3_stmt *done = prepare("UPDATE requests SET state = 'done', updated = ? WHERE id = ? AND state <> 'done'");

    char line[96];
    snprintf(line, sizeof line, "READY pid=%ld\n", (long)getpid());
    printLine(line);

    for (long first = 1; first <= requests; first += batch) {
        const long last = first + batch - 1 < requests ? first + batch - 1 : requests;
        sqlite3_int64 now = nowMs();

        step(begin, "begin");
        for (long id = first; id <= last; ++id) {
            sqlite3_bind_int64(insert, 1, id);
            sqlite3_bind_int(insert, 2, 0);
            sqlite3_bind_int(insert, 3, 0);
            sqlite3_bind_int64(insert, 4, now);
            sqlite3_bind_int64(insert, 5, now);
            step(insert, "insert");
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
        }
        step(commit, "commit");
    }

    snprintf(line, sizeof line, "DONE requests=%ld\n", requests);
    printLine(line);

    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(insert);
    sqlite3_finalize(counter);
    sqlite3_finalize(start);
    sqlite3_finalize(done);
    exec("PRAGMA wal_checkpoint(TRUNCATE)");
    if (sqlite3_close(s_db) != SQLITE_OK)
        die("close");
    return 0;
}
