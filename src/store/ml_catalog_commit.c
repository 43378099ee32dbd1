// SPDX-License-Identifier: MIT
// ml_catalog_commit(): one stored segment object recorded in one
// transaction, whatever the batch's size in a fixed number of statements
// (runs and pieces travel as arrays and are unnested by the database), so
// a segment of thousands of pieces over a thousand runs costs about ten
// round trips. Every step is written to change nothing the second time
// (ON CONFLICT DO NOTHING, counters moved by what was inserted), which
// makes the whole commit idempotent.
//
// Locks are taken in run_id order (inserts and FOR UPDATE alike), so two
// servers committing segments with the same runs queue instead of
// deadlocking; a deadlock that happens anyway is retried by the pool.
#include "ml_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_pgarray.h"

/* Array literals of a big batch stay well under this. */
#define ML_CATALOG_MAX_ARRAY (64u << 20)

/* Three tries at a name: as given, then with "-" and 8 hex digits of the
 * run_id (the contract in ml_catalog.h), then with all 32 (UUIDv7 starts
 * with the time, so two runs of one name within a minute share 8). */
#define INSERT_RUNS(NAME)                                                     \
    "WITH v AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[],"     \
    " $4::text[], $5::bigint[]) AS v(id, name, label, host, start_us)"        \
    " WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = v.id)),"        \
    " ins AS (INSERT INTO runs (run_id, name, label, host, start_us,"         \
    " updated_us, status, durable, end_size, object_key, object_size)"        \
    " SELECT v.id, " NAME ", v.label, v.host, v.start_us, ml_now_us(),"       \
    " $6::smallint, $7::bigint, $8::bigint, $9::text, $10::bigint FROM v"     \
    " ORDER BY v.id ON CONFLICT DO NOTHING RETURNING 1)"                      \
    " SELECT (SELECT count(DISTINCT id) FROM v) - (SELECT count(*) FROM ins)"

int
ml_catalog_insert_runs(ml_pg_call *call, const ml_catalog_new_runs *r)
{
    static const char *const passes[] = {
        INSERT_RUNS("v.name"),
        INSERT_RUNS("v.name || '-' || left(replace(v.id::text, '-', ''), 8)"),
        INSERT_RUNS("v.name || '-' || replace(v.id::text, '-', '')"),
    };
    const char *params[] = {
        r->ids,    r->names,   r->labels,   r->hosts,      r->starts,
        r->status, r->durable, r->end_size, r->object_key, r->object_size};
    int rc = 0, missing = 1;
    for (size_t i = 0; rc == 0 && missing && i < 3; i++) {
        PGresult *res;
        rc = ml_pg_exec(call, passes[i], 10, params, &res);
        if (rc == 0) {
            /* Runs left out by a taken name: the next pass retries them. */
            missing = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
            PQclear(res);
        }
    }
    return rc;
}

/* The batch as array literals, built once before the first try. */
typedef struct {
    ml_pgarray ids, names, labels, hosts, starts, ends;
    ml_pgarray piece_runs, offs, lens, seg_offs;
    int any_end;
    const char *seg_key;
    char seg_bytes[24];
    size_t nruns;
    PGresult *result; /* of notify_runs(): the durable sizes */
} batch;

static ml_pgarray *
batch_array(batch *b, size_t i)
{
    ml_pgarray *all[] = {&b->ids,    &b->names,   &b->labels,     &b->hosts,
                         &b->starts, &b->ends,    &b->piece_runs, &b->offs,
                         &b->lens,   &b->seg_offs};
    return i < sizeof all / sizeof all[0] ? all[i] : NULL;
}

static void
batch_free(batch *b)
{
    ml_pgarray *a;
    for (size_t i = 0; (a = batch_array(b, i)) != NULL; i++) {
        ml_pgarray_free(a);
    }
}

static int
check_runs(const ml_catalog_run *runs, size_t nruns, char *why, size_t why_len)
{
    if (nruns > ML_CATALOG_MAX_RUNS || (nruns > 0 && runs == NULL)) {
        return ml_catalog_bad(why, why_len, "too many runs");
    }
    for (size_t i = 0; i < nruns; i++) {
        const ml_catalog_run *r = &runs[i];
        if (!ml_catalog_is_uuid(r->run_id)) {
            return ml_catalog_bad(why, why_len, "run_id is not a UUID");
        }
        if (!ml_catalog_fits(r->name, ML_CATALOG_MAX_TEXT)
            || r->name[0] == '\0'
            || (r->label && !ml_catalog_fits(r->label, ML_CATALOG_MAX_TEXT))
            || (r->host && !ml_catalog_fits(r->host, ML_CATALOG_MAX_TEXT))) {
            return ml_catalog_bad(why, why_len,
                                  "run name missing, or a text too long");
        }
    }
    return 0;
}

static int
check_pieces(const char *seg_key, const ml_catalog_piece *pieces,
             size_t npieces, size_t nruns, char *why, size_t why_len)
{
    if (seg_key != NULL && !ml_catalog_fits(seg_key, ML_CATALOG_MAX_KEY)) {
        return ml_catalog_bad(why, why_len, "segment key too long");
    }
    if (npieces == 0) {
        return 0;
    }
    if (seg_key == NULL || pieces == NULL || npieces > ML_CATALOG_MAX_PIECES) {
        return ml_catalog_bad(why, why_len,
                              "pieces without a segment, or too many");
    }
    for (size_t i = 0; i < npieces; i++) {
        const ml_catalog_piece *p = &pieces[i];
        if (p->run >= nruns || p->len == 0 || p->off > INT64_MAX
            || p->len > INT64_MAX - p->off || p->seg_off > INT64_MAX) {
            return ml_catalog_bad(why, why_len,
                                  "a piece's run, length or offset is bad");
        }
    }
    return 0;
}

static int
build_batch(batch *b, const ml_catalog_run *runs, size_t nruns,
            const ml_catalog_piece *pieces, size_t npieces)
{
    ml_pgarray *a;
    for (size_t i = 0; (a = batch_array(b, i)) != NULL; i++) {
        ml_pgarray_init(a, ML_CATALOG_MAX_ARRAY);
    }
    for (size_t i = 0; i < nruns; i++) {
        const ml_catalog_run *r = &runs[i];
        ml_pgarray_text(&b->ids, r->run_id);
        ml_pgarray_text(&b->names, r->name);
        ml_pgarray_text(&b->labels, r->label ? r->label : "");
        ml_pgarray_text(&b->hosts, r->host ? r->host : "");
        ml_pgarray_int(&b->starts, r->start_unix_us);
        if (r->end_size >= 0) {
            ml_pgarray_int(&b->ends, r->end_size);
            b->any_end = 1;
        } else {
            ml_pgarray_text(&b->ends, NULL);
        }
    }
    for (size_t i = 0; i < npieces; i++) {
        const ml_catalog_piece *p = &pieces[i];
        ml_pgarray_text(&b->piece_runs, runs[p->run].run_id);
        ml_pgarray_int(&b->offs, (int64_t)p->off);
        ml_pgarray_int(&b->lens, (int64_t)p->len);
        ml_pgarray_int(&b->seg_offs, (int64_t)p->seg_off);
    }
    int err = 0;
    for (size_t i = 0; (a = batch_array(b, i)) != NULL; i++) {
        if (ml_pgarray_finish(a, &err) == NULL) {
            return err;
        }
    }
    return 0;
}

#define ARR(b, name) ((const char *)(b)->name.buf.data)

/* Every run of the batch exists and is locked, in run_id order. */
static int
lock_runs(ml_pg_call *call, const batch *b)
{
    const char *params[] = {ARR(b, ids)};
    PGresult *res;
    int rc = ml_pg_exec(
        call,
        "WITH l AS (SELECT run_id FROM runs WHERE run_id = ANY($1::uuid[])"
        " ORDER BY run_id FOR UPDATE)"
        " SELECT (SELECT count(*) FROM l),"
        " (SELECT count(DISTINCT u) FROM unnest($1::uuid[]) u)",
        1, params, &res);
    if (rc != 0) {
        return rc;
    }
    int missing = strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) != 0;
    PQclear(res);
    if (missing) {
        ml_pg_why(call->why, call->why_len, "commit",
                  "a run could not be inserted (every name taken)");
        return ML_EIO;
    }
    return 0;
}

static int
record_runs(ml_pg_call *call, const batch *b)
{
    ml_catalog_new_runs r = {ARR(b, ids),
                             ARR(b, names),
                             ARR(b, labels),
                             ARR(b, hosts),
                             ARR(b, starts),
                             "0",
                             "0",
                             NULL,
                             NULL,
                             "0"};
    int rc = ml_catalog_insert_runs(call, &r);
    if (rc == 0) {
        rc = lock_runs(call, b);
    }
    if (rc == 0 && b->any_end) {
        const char *params[] = {ARR(b, ids), ARR(b, ends)};
        rc = ml_pg_exec(call,
                        "UPDATE runs r SET end_size = v.e FROM"
                        " unnest($1::uuid[], $2::bigint[]) AS v(id, e)"
                        " WHERE r.run_id = v.id AND v.e IS NOT NULL"
                        " AND r.end_size IS NULL",
                        2, params, NULL);
    }
    return rc;
}

/* Inserts the pieces not stored yet (none for a run already compacted)
 * and counts them into the segment: *inserted and *live get the counts,
 * touched the array literal of the runs that got pieces (PQclear it). */
static int
record_pieces(ml_pg_call *call, const batch *b, long *inserted, long *live,
              PGresult **touched)
{
    const char *params[] = {ARR(b, piece_runs), ARR(b, offs), ARR(b, lens),
                            ARR(b, seg_offs), b->seg_key};
    PGresult *res;
    int rc = ml_pg_exec(
        call,
        "WITH v AS (SELECT * FROM unnest($1::uuid[], $2::bigint[],"
        " $3::bigint[], $4::bigint[]) AS v(run_id, off, len, seg_off)),"
        " ins AS (INSERT INTO pieces (run_id, off, len, segment_key, seg_off)"
        " SELECT v.run_id, v.off, v.len, $5, v.seg_off FROM v"
        " JOIN runs r USING (run_id) WHERE r.object_key IS NULL"
        " ORDER BY v.run_id, v.off"
        " ON CONFLICT (run_id, off) DO NOTHING RETURNING run_id),"
        " seg AS (UPDATE segments SET live_pieces = live_pieces"
        " + (SELECT count(*) FROM ins) WHERE key = $5 RETURNING live_pieces)"
        " SELECT (SELECT count(*) FROM ins), (SELECT live_pieces FROM seg),"
        " (SELECT coalesce(array_agg(DISTINCT run_id), '{}') FROM ins)",
        5, params, &res);
    if (rc == 0) {
        *inserted = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        *live = strtol(PQgetvalue(res, 0, 1), NULL, 10);
        *touched = res;
    }
    return rc;
}

/* A segment no piece refers to (all were retried copies) is deleted
 * later; one that just got pieces loses a deletion queued before. */
static int
queue_or_keep_segment(ml_pg_call *call, const char *seg_key, long inserted,
                      long live)
{
    const char *params[] = {seg_key};
    if (live == 0) {
        return ml_pg_exec(call,
                          "INSERT INTO jobs (kind, arg, due_us) VALUES (2, $1,"
                          " ml_now_us() + " ML_CATALOG_ORPHAN_DELAY_US
                          ") ON CONFLICT (kind, arg) DO NOTHING",
                          1, params, NULL);
    }
    if (inserted == 0) {
        return 0;
    }
    return ml_pg_exec(call,
                      "DELETE FROM jobs WHERE kind = 2 AND arg = $1 AND"
                      " (leased_until_us IS NULL"
                      " OR leased_until_us < ml_now_us())",
                      1, params, NULL);
}

static int
record_segment(ml_pg_call *call, const batch *b, long *inserted,
               PGresult **touched)
{
    const char *params[] = {b->seg_key, b->seg_bytes};
    int rc = ml_pg_exec(call,
                        "INSERT INTO segments (key, bytes, created_us)"
                        " VALUES ($1, $2, ml_now_us())"
                        " ON CONFLICT (key) DO NOTHING",
                        2, params, NULL);
    long live = 0;
    if (rc == 0 && b->piece_runs.n > 0) {
        rc = record_pieces(call, b, inserted, &live, touched);
    }
    if (rc == 0) {
        rc = queue_or_keep_segment(call, b->seg_key, *inserted, live);
    }
    return rc;
}

/* The runs that got pieces: their durable size grows over the pieces
 * that now continue it, and those whose durable size reached the end are
 * ended and queued for compaction; one update of each row (the runs'
 * columns changed here have no index, so it stays a HOT update). */
static int
extend_runs(ml_pg_call *call, const char *touched)
{
    const char *params[] = {touched};
    return ml_pg_exec(
        call,
        "WITH RECURSIVE ext(run_id, d) AS ("
        " SELECT run_id, durable FROM runs"
        " WHERE run_id = ANY($1::uuid[]) AND object_key IS NULL"
        " UNION ALL SELECT e.run_id, e.d + p.len FROM ext e"
        " JOIN pieces p ON p.run_id = e.run_id AND p.off = e.d),"
        " x AS (SELECT r.run_id, m.d, r.status = 0 AND r.end_size IS NOT NULL"
        " AND m.d >= r.end_size AS ends FROM (SELECT run_id, max(d) AS d"
        " FROM ext GROUP BY run_id) m JOIN runs r USING (run_id)),"
        " upd AS (UPDATE runs r SET durable = x.d, updated_us = ml_now_us(),"
        " status = CASE WHEN x.ends THEN 1 ELSE r.status END FROM x"
        " WHERE r.run_id = x.run_id RETURNING r.run_id, x.ends)"
        " INSERT INTO jobs (kind, arg, due_us)"
        " SELECT 1, run_id::text, ml_now_us() FROM upd WHERE ends"
        " ON CONFLICT (kind, arg) DO NOTHING",
        1, params, NULL);
}

/* Runs whose end arrived now, after their bytes: ended and queued for
 * compaction (once: an ended run is never queued again). */
static int
end_runs(ml_pg_call *call, const batch *b)
{
    const char *params[] = {ARR(b, ids)};
    return ml_pg_exec(call,
                      "WITH done AS (UPDATE runs SET status = 1"
                      " WHERE run_id = ANY($1::uuid[]) AND status = 0"
                      " AND object_key IS NULL AND end_size IS NOT NULL"
                      " AND durable >= end_size RETURNING run_id)"
                      " INSERT INTO jobs (kind, arg, due_us)"
                      " SELECT 1, run_id::text, ml_now_us() FROM done"
                      " ON CONFLICT (kind, arg) DO NOTHING",
                      1, params, NULL);
}

/* One NOTIFY per run (sent at COMMIT) and the durable sizes, in the order
 * of the caller's runs. */
static int
notify_runs(ml_pg_call *call, const batch *b, PGresult **res)
{
    const char *params[] = {ARR(b, ids)};
    int rc = ml_pg_exec(call,
                        "SELECT r.durable, pg_notify('microlog_runs',"
                        " r.run_id::text || ' ' || r.durable)"
                        " FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, i)"
                        " JOIN runs r ON r.run_id = u.id ORDER BY u.i",
                        1, params, res);
    if (rc == 0 && (size_t)PQntuples(*res) != b->nruns) {
        PQclear(*res);
        ml_pg_why(call->why, call->why_len, "commit", "a run vanished");
        return ML_EIO;
    }
    return rc;
}

/* The transaction's body; durable[] is written by the caller once the
 * transaction committed (a retry runs all of it again). */
static int
commit_batch(ml_pg_call *call, void *arg)
{
    batch *b = arg;
    long inserted = 0;
    PGresult *touched = NULL;
    int rc = 0;
    if (b->nruns > 0) {
        rc = record_runs(call, b);
    }
    if (rc == 0 && b->seg_key != NULL) {
        rc = record_segment(call, b, &inserted, &touched);
    }
    if (rc == 0 && inserted > 0) {
        rc = extend_runs(call, PQgetvalue(touched, 0, 2));
    }
    if (rc == 0 && b->any_end) {
        rc = end_runs(call, b);
    }
    PQclear(b->result);
    b->result = NULL;
    if (rc == 0 && b->nruns > 0) {
        rc = notify_runs(call, b, &b->result);
    }
    PQclear(touched);
    return rc;
}

int
ml_catalog_commit(ml_catalog *c, const char *seg_key, uint64_t seg_bytes,
                  const ml_catalog_run *runs, size_t nruns,
                  const ml_catalog_piece *pieces, size_t npieces,
                  uint64_t *durable, char *why, size_t why_len)
{
    int rc = check_runs(runs, nruns, why, why_len);
    if (rc == 0) {
        rc = check_pieces(seg_key, pieces, npieces, nruns, why, why_len);
    }
    if (rc == 0 && seg_bytes > INT64_MAX) {
        rc = ml_catalog_bad(why, why_len, "segment size too large");
    }
    if (rc != 0) {
        return rc;
    }
    batch b = {.seg_key = seg_key, .nruns = nruns};
    ml_catalog_i64(b.seg_bytes, (int64_t)seg_bytes);
    rc = build_batch(&b, runs, nruns, pieces, npieces);
    if (rc != 0) {
        ml_catalog_bad(why, why_len, "batch too large for memory");
    } else {
        rc = ml_pgpool_transaction(c->pool, commit_batch, &b, why, why_len);
    }
    for (size_t i = 0; rc == 0 && durable != NULL && i < nruns; i++) {
        durable[i] = strtoull(PQgetvalue(b.result, (int)i, 0), NULL, 10);
    }
    PQclear(b.result);
    batch_free(&b);
    return rc;
}
