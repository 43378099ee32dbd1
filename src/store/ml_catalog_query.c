// SPDX-License-Identifier: MIT
// Reads of the catalog: one run by name or id, the filtered list newest
// first with its total, a run's pieces, the runs past retention. Results
// are fetched whole before the callbacks run, so a callback may call the
// catalog again and a retried statement never repeats a callback.
#include "ml_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"

/* Runs a statement whose rows are ML_CATALOG_ROW_COLUMNS and gives them
 * to each; *found (when not NULL) says whether there was any. */
static int
each_row(ml_catalog *c, const char *sql, int nparams,
         const char *const *params, ml_catalog_row_fn each, void *ctx,
         int *found, char *why, size_t why_len)
{
    PGresult *res;
    int rc = ml_catalog_query(c, sql, nparams, params, &res, why, why_len);
    if (rc != 0) {
        return rc;
    }
    if (found != NULL) {
        *found = PQntuples(res) > 0;
    }
    rc = ml_catalog_rows(res, each, ctx);
    PQclear(res);
    return rc;
}

int
ml_catalog_get(ml_catalog *c, const char *name, ml_catalog_row_fn each,
               void *ctx, char *why, size_t why_len)
{
    if (!ml_catalog_fits(name, ML_CATALOG_MAX_TEXT)) {
        return 1; /* no run can have it */
    }
    const char *params[] = {name};
    int found = 0;
    int rc = each_row(
        c, "SELECT " ML_CATALOG_ROW_COLUMNS " FROM runs WHERE name = $1", 1,
        params, each, ctx, &found, why, why_len);
    return rc == 0 && !found ? 1 : rc;
}

int
ml_catalog_get_id(ml_catalog *c, const char *run_id, ml_catalog_row_fn each,
                  void *ctx, char *why, size_t why_len)
{
    if (!ml_catalog_is_uuid(run_id)) {
        return 1;
    }
    const char *params[] = {run_id};
    int found = 0;
    int rc = each_row(c,
                      "SELECT " ML_CATALOG_ROW_COLUMNS
                      " FROM runs WHERE run_id = $1::uuid",
                      1, params, each, ctx, &found, why, why_len);
    return rc == 0 && !found ? 1 : rc;
}

/* The LIKE pattern matching text anywhere: its own '%', '_' and '\'
 * escaped. NULL when out of memory. */
static char *
substring_pattern(const char *text)
{
    size_t n = strlen(text);
    char *p = malloc(2 * n + 3);
    if (p == NULL) {
        return NULL;
    }
    size_t j = 0;
    p[j++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '%' || text[i] == '_' || text[i] == '\\') {
            p[j++] = '\\';
        }
        p[j++] = text[i];
    }
    p[j++] = '%';
    p[j] = '\0';
    return p;
}

/* A WHERE clause of fixed fragments with placeholders: only the choice of
 * fragments depends on the filter, never its text. */
typedef struct {
    char where[256];
    const char *params[8];
    char since[24], until[24];
    char *pattern;
    int n;
} list_sql;

/* Appends " AND " before, the next placeholder, then after. */
static void
add_condition(list_sql *q, const char *before, const char *value,
              const char *after)
{
    size_t len = strlen(q->where);
    q->params[q->n++] = value;
    snprintf(q->where + len, sizeof q->where - len, " AND %s$%d%s", before,
             q->n, after);
}

static int
build_where(list_sql *q, const ml_catalog_filter *f)
{
    memset(q, 0, sizeof *q);
    snprintf(q->where, sizeof q->where, " WHERE true");
    if (f->label != NULL) {
        add_condition(q, "label = ", f->label, "");
    }
    if (f->host != NULL) {
        add_condition(q, "host = ", f->host, "");
    }
    if (f->text != NULL && f->text[0] != '\0') {
        q->pattern = substring_pattern(f->text);
        if (q->pattern == NULL) {
            return ML_ENOMEM;
        }
        add_condition(q, "name_lower LIKE lower(", q->pattern, ")");
    }
    if (f->since_unix_us != 0) {
        add_condition(
            q, "start_us >= ", ml_catalog_i64(q->since, f->since_unix_us), "");
    }
    if (f->until_unix_us != 0) {
        add_condition(q, "start_us < ",
                      ml_catalog_i64(q->until, f->until_unix_us), "");
    }
    return 0;
}

static int
check_filter(const ml_catalog_filter *f, char *why, size_t why_len)
{
    if ((f->label != NULL && !ml_catalog_fits(f->label, ML_CATALOG_MAX_TEXT))
        || (f->host != NULL && !ml_catalog_fits(f->host, ML_CATALOG_MAX_TEXT))
        || (f->text != NULL
            && !ml_catalog_fits(f->text, ML_CATALOG_MAX_TEXT))) {
        return ml_catalog_bad(why, why_len, "filter text too long");
    }
    if (f->limit > ML_CATALOG_MAX_LIMIT || f->offset > INT32_MAX) {
        return ml_catalog_bad(why, why_len, "limit or offset too large");
    }
    return 0;
}

static int
count_matching(ml_catalog *c, const list_sql *q, uint64_t *total, char *why,
               size_t why_len)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs%s", q->where);
    PGresult *res;
    int rc = ml_catalog_query(c, sql, q->n, q->params, &res, why, why_len);
    if (rc == 0) {
        *total = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return rc;
}

int
ml_catalog_list(ml_catalog *c, const ml_catalog_filter *f,
                ml_catalog_row_fn each, void *ctx, uint64_t *total, char *why,
                size_t why_len)
{
    static const ml_catalog_filter none = {0};
    if (f == NULL) {
        f = &none;
    }
    int rc = check_filter(f, why, why_len);
    list_sql q;
    if (rc == 0) {
        rc = build_where(&q, f);
    }
    if (rc != 0) {
        return rc;
    }
    char limit[24], offset[24], sql[768];
    q.params[q.n] = ml_catalog_i64(limit, f->limit ? (int64_t)f->limit : 1000);
    q.params[q.n + 1] = ml_catalog_i64(offset, (int64_t)f->offset);
    snprintf(sql, sizeof sql,
             "SELECT " ML_CATALOG_ROW_COLUMNS " FROM runs%s"
             " ORDER BY start_us DESC, run_id DESC LIMIT $%d OFFSET $%d",
             q.where, q.n + 1, q.n + 2);
    PGresult *res = NULL;
    rc = ml_catalog_query(c, sql, q.n + 2, q.params, &res, why, why_len);
    uint64_t n = 0;
    if (rc == 0 && total != NULL) {
        rc = count_matching(c, &q, &n, why, why_len);
    }
    if (rc == 0) {
        rc = ml_catalog_rows(res, each, ctx);
    }
    if (rc == 0 && total != NULL) {
        *total = n;
    }
    PQclear(res);
    free(q.pattern);
    return rc;
}

int
ml_catalog_pieces(ml_catalog *c, const char *run_id, uint64_t from,
                  ml_catalog_piece_fn each, void *ctx, char *why,
                  size_t why_len)
{
    if (!ml_catalog_is_uuid(run_id) || from > INT64_MAX) {
        return ml_catalog_bad(why, why_len, "bad run id or offset");
    }
    char f[24];
    const char *params[] = {run_id, ml_catalog_i64(f, (int64_t)from)};
    PGresult *res;
    int rc = ml_catalog_query(c,
                              "SELECT off, len, segment_key, seg_off FROM"
                              " pieces WHERE run_id = $1::uuid"
                              " AND off + len > $2 ORDER BY off",
                              2, params, &res, why, why_len);
    if (rc != 0) {
        return rc;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++) {
        rc = each(ctx, strtoull(PQgetvalue(res, i, 0), NULL, 10),
                  strtoull(PQgetvalue(res, i, 1), NULL, 10),
                  PQgetvalue(res, i, 2),
                  strtoull(PQgetvalue(res, i, 3), NULL, 10));
    }
    PQclear(res);
    return rc < 0 ? rc : 0;
}

int
ml_catalog_expired(ml_catalog *c, int64_t cutoff_unix_us, size_t limit,
                   ml_catalog_row_fn each, void *ctx, char *why,
                   size_t why_len)
{
    if (limit > ML_CATALOG_MAX_LIMIT) {
        limit = ML_CATALOG_MAX_LIMIT;
    }
    char cut[24], lim[24];
    const char *params[] = {ml_catalog_i64(cut, cutoff_unix_us),
                            ml_catalog_i64(lim, (int64_t)limit)};
    return each_row(c,
                    "SELECT " ML_CATALOG_ROW_COLUMNS
                    " FROM runs WHERE start_us < $1"
                    " ORDER BY start_us, run_id LIMIT $2",
                    2, params, each, ctx, NULL, why, why_len);
}
