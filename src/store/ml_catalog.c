// SPDX-License-Identifier: MIT
// The catalog handle: open (pool and migrations), free, and the helpers
// its other files share (ml_catalog_int.h). The reads are in
// ml_catalog_query.c, the commit in ml_catalog_commit.c, jobs and the
// life of a run after its end in ml_catalog_jobs.c.
#include "ml_catalog_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_catalog_schema.h"

int
ml_catalog_bad(char *why, size_t why_len, const char *msg)
{
    if (why != NULL && why_len > 0) {
        snprintf(why, why_len, "%s", msg);
    }
    return ML_EINVAL;
}

int
ml_catalog_is_uuid(const char *s)
{
    if (s == NULL || strlen(s) != 36) {
        return 0;
    }
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int
ml_catalog_fits(const char *s, size_t max)
{
    return s != NULL && strnlen(s, max + 1) <= max;
}

const char *
ml_catalog_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

typedef struct {
    const char *sql;
    int nparams;
    const char *const *params;
    PGresult *res;
} query_arg;

static int
run_query(ml_pg_call *call, void *arg)
{
    query_arg *q = arg;
    return ml_pg_exec(call, q->sql, q->nparams, q->params, &q->res);
}

int
ml_catalog_query(ml_catalog *c, const char *sql, int nparams,
                 const char *const *params, PGresult **res, char *why,
                 size_t why_len)
{
    query_arg q = {sql, nparams, params, NULL};
    int rc = ml_pgpool_run(c->pool, run_query, &q, why, why_len);
    if (rc == 0) {
        *res = q.res;
    }
    return rc;
}

static int64_t
int_at(PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *
text_at(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int
ml_catalog_rows(PGresult *res, ml_catalog_row_fn each, void *ctx)
{
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        ml_catalog_row row = {
            .run_id = text_at(res, i, 0),
            .name = text_at(res, i, 1),
            .label = text_at(res, i, 2),
            .host = text_at(res, i, 3),
            .start_unix_us = int_at(res, i, 4),
            .updated_unix_us = int_at(res, i, 5),
            .status = (int)int_at(res, i, 6),
            .durable = (uint64_t)int_at(res, i, 7),
            .end_size = PQgetisnull(res, i, 8) ? -1 : int_at(res, i, 8),
            .object_key = text_at(res, i, 9),
            .object_size = (uint64_t)int_at(res, i, 10),
        };
        int rc = each(ctx, &row);
        if (rc != 0) {
            return rc < 0 ? rc : 0;
        }
    }
    return 0;
}

static int
migrate(ml_pg_call *call, void *arg)
{
    (void)arg;
    return ml_catalog_migrate(call);
}

int
ml_catalog_open(const char *conninfo, int pool_size, ml_catalog **out,
                char *why, size_t why_len)
{
    ml_catalog *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ML_ENOMEM;
    }
    int rc = ml_pgpool_new(conninfo, pool_size, &c->pool);
    if (rc != 0) {
        free(c);
        return rc == ML_EINVAL
                   ? ml_catalog_bad(why, why_len, "bad conninfo or pool size")
                   : rc;
    }
    rc = ml_pgpool_transaction(c->pool, migrate, NULL, why, why_len);
    if (rc != 0) {
        ml_catalog_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void
ml_catalog_free(ml_catalog *c)
{
    if (c != NULL) {
        ml_pgpool_free(c->pool);
        free(c);
    }
}
