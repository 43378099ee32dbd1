// SPDX-License-Identifier: MIT
// The job queue and what happens to a run after its end: leasing and
// finishing jobs, a run compacted into its own object (its pieces go, and
// segments left without pieces are queued for deletion), a segment
// deleted, a finished object registered, a run deleted by retention.
#include "ml_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_pgarray.h"

/* The due job with the oldest due time whose lease (if any) ran out,
 * skipping those another server holds; a segment that got pieces again
 * is not deleted (the commit that gave them cancels such jobs too). */
int
ml_catalog_take_job(ml_catalog *c, int lease_s, ml_catalog_job *job, char *why,
                    size_t why_len)
{
    if (lease_s <= 0 || lease_s > 86400) {
        return ml_catalog_bad(why, why_len, "lease out of 1..86400 s");
    }
    char lease[24];
    const char *params[] = {ml_catalog_i64(lease, lease_s * 1000000LL)};
    PGresult *res;
    int rc = ml_catalog_query(
        c,
        "UPDATE jobs SET leased_until_us = ml_now_us() + $1::bigint,"
        " attempts = attempts + 1 WHERE id = (SELECT j.id FROM jobs j"
        " WHERE j.due_us <= ml_now_us() AND (j.leased_until_us IS NULL"
        " OR j.leased_until_us < ml_now_us())"
        " AND NOT (j.kind = 2 AND EXISTS (SELECT 1 FROM segments s"
        " WHERE s.key = j.arg AND s.live_pieces > 0))"
        " ORDER BY j.due_us, j.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, kind, arg",
        1, params, &res, why, why_len);
    if (rc != 0) {
        return rc;
    }
    int found = PQntuples(res) == 1;
    if (found) {
        job->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        job->kind = atoi(PQgetvalue(res, 0, 1));
        snprintf(job->arg, sizeof job->arg, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return found ? 0 : 1;
}

/* Runs one statement that returns no rows. */
static int
command(ml_catalog *c, const char *sql, int nparams, const char *const *params,
        char *why, size_t why_len)
{
    PGresult *res;
    int rc = ml_catalog_query(c, sql, nparams, params, &res, why, why_len);
    if (rc == 0) {
        PQclear(res);
    }
    return rc;
}

int
ml_catalog_finish_job(ml_catalog *c, int64_t id, char *why, size_t why_len)
{
    char i[24];
    const char *params[] = {ml_catalog_i64(i, id)};
    return command(c, "DELETE FROM jobs WHERE id = $1", 1, params, why,
                   why_len);
}

int
ml_catalog_release_pieces(ml_pg_call *call, const char *run_id,
                          const char *delay_us)
{
    const char *params[] = {run_id, delay_us};
    return ml_pg_exec(
        call,
        "WITH gone AS (DELETE FROM pieces WHERE run_id = $1::uuid"
        " RETURNING segment_key),"
        " n AS (SELECT segment_key, count(*) AS n FROM gone"
        " GROUP BY segment_key),"
        " seg AS (UPDATE segments s SET live_pieces = s.live_pieces - n.n"
        " FROM n WHERE s.key = n.segment_key RETURNING s.key, s.live_pieces)"
        " INSERT INTO jobs (kind, arg, due_us)"
        " SELECT 2, key, ml_now_us() + $2::bigint FROM seg"
        " WHERE live_pieces <= 0 ON CONFLICT (kind, arg) DO NOTHING",
        2, params, NULL);
}

typedef struct {
    const char *run_id, *object_key;
    char size[24], delay[24];
} compacted_arg;

static int
compacted_tx(ml_pg_call *call, void *arg)
{
    compacted_arg *a = arg;
    const char *params[] = {a->run_id, a->object_key, a->size};
    int rc = ml_pg_exec(call,
                        "UPDATE runs SET object_key = $2, object_size = $3,"
                        " status = 1, updated_us = ml_now_us()"
                        " WHERE run_id = $1::uuid",
                        3, params, NULL);
    if (rc == 0) {
        rc = ml_catalog_release_pieces(call, a->run_id, a->delay);
    }
    return rc;
}

int
ml_catalog_compacted(ml_catalog *c, const char *run_id, const char *object_key,
                     uint64_t size, int delay_s, char *why, size_t why_len)
{
    if (!ml_catalog_is_uuid(run_id)
        || !ml_catalog_fits(object_key, ML_CATALOG_MAX_KEY) || size > INT64_MAX
        || delay_s < 0 || delay_s > 86400 * 365) {
        return ml_catalog_bad(why, why_len,
                              "bad run id, object key, size or delay");
    }
    compacted_arg a = {run_id, object_key, "", ""};
    ml_catalog_i64(a.size, (int64_t)size);
    ml_catalog_i64(a.delay, delay_s * 1000000LL);
    return ml_pgpool_transaction(c->pool, compacted_tx, &a, why, why_len);
}

int
ml_catalog_segment_deleted(ml_catalog *c, const char *seg_key, char *why,
                           size_t why_len)
{
    if (!ml_catalog_fits(seg_key, ML_CATALOG_MAX_KEY)) {
        return ml_catalog_bad(why, why_len, "bad segment key");
    }
    const char *params[] = {seg_key};
    return command(c, "DELETE FROM segments WHERE key = $1", 1, params, why,
                   why_len);
}

static int
register_tx(ml_pg_call *call, void *arg)
{
    return ml_catalog_insert_runs(call, arg);
}

int
ml_catalog_register_object(ml_catalog *c, const ml_catalog_run *run,
                           const char *object_key, uint64_t size, char *why,
                           size_t why_len)
{
    if (run == NULL || !ml_catalog_is_uuid(run->run_id)
        || !ml_catalog_fits(run->name, ML_CATALOG_MAX_TEXT)
        || run->name[0] == '\0'
        || (run->label && !ml_catalog_fits(run->label, ML_CATALOG_MAX_TEXT))
        || (run->host && !ml_catalog_fits(run->host, ML_CATALOG_MAX_TEXT))
        || !ml_catalog_fits(object_key, ML_CATALOG_MAX_KEY)
        || size > INT64_MAX) {
        return ml_catalog_bad(why, why_len,
                              "bad run, object key or object size");
    }
    /* One-element arrays: the statement is the commit's. */
    ml_pgarray a[5];
    for (int i = 0; i < 5; i++) {
        ml_pgarray_init(&a[i], 4 * ML_CATALOG_MAX_TEXT);
    }
    ml_pgarray_text(&a[0], run->run_id);
    ml_pgarray_text(&a[1], run->name);
    ml_pgarray_text(&a[2], run->label ? run->label : "");
    ml_pgarray_text(&a[3], run->host ? run->host : "");
    ml_pgarray_int(&a[4], run->start_unix_us);
    const char *lit[5] = {0};
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) {
        lit[i] = ml_pgarray_finish(&a[i], &rc);
    }
    char size_s[24];
    ml_catalog_i64(size_s, (int64_t)size);
    ml_catalog_new_runs r = {lit[0], lit[1], lit[2], lit[3],     lit[4],
                             "1",    size_s, size_s, object_key, size_s};
    if (rc == 0) {
        rc = ml_pgpool_transaction(c->pool, register_tx, &r, why, why_len);
    }
    for (int i = 0; i < 5; i++) {
        ml_pgarray_free(&a[i]);
    }
    return rc;
}

typedef struct {
    const char *run_id;
} delete_arg;

static int
delete_tx(ml_pg_call *call, void *arg)
{
    delete_arg *a = arg;
    const char *params[] = {a->run_id};
    int rc =
        ml_catalog_release_pieces(call, a->run_id, ML_CATALOG_ORPHAN_DELAY_US);
    if (rc == 0) {
        rc = ml_pg_exec(call,
                        "DELETE FROM jobs WHERE kind = 1"
                        " AND arg = $1::uuid::text",
                        1, params, NULL);
    }
    if (rc == 0) {
        rc = ml_pg_exec(call, "DELETE FROM runs WHERE run_id = $1::uuid", 1,
                        params, NULL);
    }
    return rc;
}

int
ml_catalog_delete_run(ml_catalog *c, const char *run_id, char *why,
                      size_t why_len)
{
    if (!ml_catalog_is_uuid(run_id)) {
        return ml_catalog_bad(why, why_len, "run_id is not a UUID");
    }
    delete_arg a = {run_id};
    return ml_pgpool_transaction(c->pool, delete_tx, &a, why, why_len);
}
