// SPDX-License-Identifier: MIT
// ml_catalog_tool: the catalog's API (src/store/ml_catalog.h) from the
// command line, for tests/store and for measuring it. Each command prints
// one JSON line ({"error": ...} on failure, exit status 1).
//
//   ml_catalog_tool CONNINFO COMMAND [ARG...]
//   ml_catalog_tool CONNINFO repl      one catalog, commands on stdin as
//                                      JSON arrays of strings, one a line
//
// Commands:
//   commit FILE             {"segment", "bytes", "runs": [{"run_id",
//                           "name", "label", "host", "start",
//                           "end_size"}], "pieces": [[run, off, len,
//                           seg_off]]} -> {"durable": [...], "ms"}
//   get NAME | get-id RUN_ID       -> the run, or null
//   list [label=L] [host=H] [text=T] [since=US] [until=US] [limit=N]
//        [offset=N]                -> {"total", "runs": [...]}
//   pieces RUN_ID [FROM]           -> [[off, len, segment, seg_off]]
//   take-job LEASE_S               -> {"id", "kind", "arg"} or null
//   finish-job ID | segment-deleted KEY | delete-run RUN_ID
//   compacted RUN_ID KEY SIZE DELAY_S
//   register RUN_ID NAME LABEL HOST START_US KEY SIZE
//   expired CUTOFF_US LIMIT        -> [runs]
//   listen N TIMEOUT_MS     "ready", then one line per notification
//                           {"t_us": wall clock, "payload"} until N came
//                           (an empty payload after a reconnection)
//   load N [PER_COMMIT]     N synthetic runs (labels, hosts, 30 days),
//                           two pieces each, PER_COMMIT runs a commit
//   bench-list REPS         list latency of typical filters
//   bench-commit PIECES RUNS REPS  commit latency of fresh segments
//   stress THREADS OPS      THREADS threads on one catalog (a pool of 4)
//                           each commit OPS segments over the same 50 runs
//                           in a shuffled order, and list; every run must
//                           end with durable 10 * THREADS * OPS
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "store/ml_catalog.h"

#define WHY 512

typedef struct {
    const char *conninfo;
    ml_catalog *cat;
    char why[WHY];
} tool;

static double
now_ms(void)
{
    return (double)ml_clock_mono_ns() / 1e6;
}

static int64_t
wall_us(void)
{
    return (int64_t)(ml_clock_wall_ns() / 1000);
}

/* Prints v (stolen) as one line. */
static int
emit(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (s == NULL) {
        return 1;
    }
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    return 0;
}

static int
fail(tool *t, int rc)
{
    emit(json_pack("{s:s, s:i, s:s}", "error", t->why[0] ? t->why : "", "code",
                   rc, "what", ml_strerror(rc)));
    return 1;
}

static int
usage(tool *t, const char *msg)
{
    snprintf(t->why, sizeof t->why, "usage: %s", msg);
    return fail(t, ML_EINVAL);
}

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
row_json(const ml_catalog_row *r)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:I, s:o, "
                     "s:I}",
                     "run_id", r->run_id, "name", r->name, "label", r->label,
                     "host", r->host, "start", (json_int_t)r->start_unix_us,
                     "updated", (json_int_t)r->updated_unix_us, "status",
                     r->status, "durable", (json_int_t)r->durable, "end_size",
                     (json_int_t)r->end_size, "object_key",
                     str_or_null(r->object_key), "object_size",
                     (json_int_t)r->object_size);
}

static int
append_row(void *ctx, const ml_catalog_row *r)
{
    json_array_append_new(ctx, row_json(r));
    return 0;
}

/* ------------------------------------------------------------ commit */

typedef struct {
    ml_catalog_run *runs;
    ml_catalog_piece *pieces;
    size_t nruns, npieces;
    const char *seg;
    uint64_t bytes;
} batch;

static const char *
opt_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int
parse_batch(json_t *doc, batch *b)
{
    json_t *runs = json_object_get(doc, "runs");
    json_t *pieces = json_object_get(doc, "pieces");
    b->seg = opt_str(doc, "segment");
    b->bytes = (uint64_t)json_integer_value(json_object_get(doc, "bytes"));
    b->nruns = json_array_size(runs);
    b->npieces = json_array_size(pieces);
    b->runs = calloc(b->nruns + 1, sizeof *b->runs);
    b->pieces = calloc(b->npieces + 1, sizeof *b->pieces);
    if (b->runs == NULL || b->pieces == NULL) {
        return ML_ENOMEM;
    }
    for (size_t i = 0; i < b->nruns; i++) {
        json_t *r = json_array_get(runs, i);
        json_t *end = json_object_get(r, "end_size");
        b->runs[i] = (ml_catalog_run){
            opt_str(r, "run_id"),
            opt_str(r, "name"),
            opt_str(r, "label"),
            opt_str(r, "host"),
            json_integer_value(json_object_get(r, "start")),
            json_is_integer(end) ? json_integer_value(end) : -1};
    }
    for (size_t i = 0; i < b->npieces; i++) {
        json_t *p = json_array_get(pieces, i);
        b->pieces[i] = (ml_catalog_piece){
            (size_t)json_integer_value(json_array_get(p, 0)),
            (uint64_t)json_integer_value(json_array_get(p, 1)),
            (uint64_t)json_integer_value(json_array_get(p, 2)),
            (uint64_t)json_integer_value(json_array_get(p, 3))};
    }
    return 0;
}

static int
cmd_commit(tool *t, int argc, char **argv)
{
    if (argc != 1) {
        return usage(t, "commit FILE");
    }
    json_error_t jerr;
    json_t *doc = json_load_file(argv[0], 0, &jerr);
    if (doc == NULL) {
        snprintf(t->why, sizeof t->why, "%s: %s", argv[0], jerr.text);
        return fail(t, ML_EINVAL);
    }
    batch b = {0};
    int rc = parse_batch(doc, &b);
    uint64_t *durable = calloc(b.nruns + 1, sizeof *durable);
    double t0 = now_ms();
    if (rc == 0 && durable != NULL) {
        rc = ml_catalog_commit(t->cat, b.seg, b.bytes, b.runs, b.nruns,
                               b.pieces, b.npieces, durable, t->why,
                               sizeof t->why);
    }
    double ms = now_ms() - t0;
    json_t *out = json_array();
    for (size_t i = 0; rc == 0 && i < b.nruns; i++) {
        json_array_append_new(out, json_integer((json_int_t)durable[i]));
    }
    free(durable);
    free(b.runs);
    free(b.pieces);
    json_decref(doc);
    if (rc != 0) {
        json_decref(out);
        return fail(t, rc);
    }
    return emit(json_pack("{s:o, s:f}", "durable", out, "ms", ms));
}

/* -------------------------------------------------------------- reads */

static int
cmd_get(tool *t, int argc, char **argv, int by_id)
{
    if (argc != 1) {
        return usage(t, "get NAME | get-id RUN_ID");
    }
    json_t *rows = json_array();
    int rc = by_id ? ml_catalog_get_id(t->cat, argv[0], append_row, rows,
                                       t->why, sizeof t->why)
                   : ml_catalog_get(t->cat, argv[0], append_row, rows, t->why,
                                    sizeof t->why);
    if (rc < 0) {
        json_decref(rows);
        return fail(t, rc);
    }
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return emit(row ? row : json_null());
}

static int
parse_filter(int argc, char **argv, ml_catalog_filter *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            return ML_EINVAL;
        }
        *eq = '\0';
        const char *k = argv[i], *v = eq + 1;
        if (strcmp(k, "label") == 0) {
            f->label = v;
        } else if (strcmp(k, "host") == 0) {
            f->host = v;
        } else if (strcmp(k, "text") == 0) {
            f->text = v;
        } else if (strcmp(k, "since") == 0) {
            f->since_unix_us = strtoll(v, NULL, 10);
        } else if (strcmp(k, "until") == 0) {
            f->until_unix_us = strtoll(v, NULL, 10);
        } else if (strcmp(k, "limit") == 0) {
            f->limit = strtoull(v, NULL, 10);
        } else if (strcmp(k, "offset") == 0) {
            f->offset = strtoull(v, NULL, 10);
        } else {
            return ML_EINVAL;
        }
    }
    return 0;
}

static int
cmd_list(tool *t, int argc, char **argv)
{
    ml_catalog_filter f;
    if (parse_filter(argc, argv, &f) != 0) {
        return usage(t, "list [label=|host=|text=|since=|until=|limit=|"
                        "offset=VALUE]...");
    }
    json_t *rows = json_array();
    uint64_t total = 0;
    double t0 = now_ms();
    int rc = ml_catalog_list(t->cat, &f, append_row, rows, &total, t->why,
                             sizeof t->why);
    double ms = now_ms() - t0;
    if (rc != 0) {
        json_decref(rows);
        return fail(t, rc);
    }
    return emit(json_pack("{s:I, s:o, s:f}", "total", (json_int_t)total,
                          "runs", rows, "ms", ms));
}

static int
append_piece(void *ctx, uint64_t off, uint64_t len, const char *seg,
             uint64_t seg_off)
{
    json_array_append_new(ctx, json_pack("[I, I, s, I]", (json_int_t)off,
                                         (json_int_t)len, seg,
                                         (json_int_t)seg_off));
    return 0;
}

static int
cmd_pieces(tool *t, int argc, char **argv)
{
    if (argc < 1 || argc > 2) {
        return usage(t, "pieces RUN_ID [FROM]");
    }
    json_t *out = json_array();
    uint64_t from = argc == 2 ? strtoull(argv[1], NULL, 10) : 0;
    int rc = ml_catalog_pieces(t->cat, argv[0], from, append_piece, out,
                               t->why, sizeof t->why);
    if (rc != 0) {
        json_decref(out);
        return fail(t, rc);
    }
    return emit(out);
}

static int
cmd_expired(tool *t, int argc, char **argv)
{
    if (argc != 2) {
        return usage(t, "expired CUTOFF_US LIMIT");
    }
    json_t *rows = json_array();
    int rc = ml_catalog_expired(t->cat, strtoll(argv[0], NULL, 10),
                                strtoull(argv[1], NULL, 10), append_row, rows,
                                t->why, sizeof t->why);
    if (rc != 0) {
        json_decref(rows);
        return fail(t, rc);
    }
    return emit(rows);
}

/* --------------------------------------------------- jobs and life */

static int
done(tool *t, int rc)
{
    return rc == 0 ? emit(json_pack("{s:b}", "ok", 1)) : fail(t, rc);
}

static int
cmd_take_job(tool *t, int argc, char **argv)
{
    if (argc != 1) {
        return usage(t, "take-job LEASE_S");
    }
    ml_catalog_job job;
    int rc = ml_catalog_take_job(t->cat, atoi(argv[0]), &job, t->why,
                                 sizeof t->why);
    if (rc < 0) {
        return fail(t, rc);
    }
    if (rc == 1) {
        return emit(json_null());
    }
    return emit(json_pack("{s:I, s:i, s:s}", "id", (json_int_t)job.id, "kind",
                          job.kind, "arg", job.arg));
}

static int
cmd_one_arg(tool *t, int argc, char **argv, const char *name)
{
    if (argc != 1) {
        return usage(t, "finish-job ID | segment-deleted KEY | delete-run ID");
    }
    int rc;
    if (strcmp(name, "finish-job") == 0) {
        rc = ml_catalog_finish_job(t->cat, strtoll(argv[0], NULL, 10), t->why,
                                   sizeof t->why);
    } else if (strcmp(name, "segment-deleted") == 0) {
        rc =
            ml_catalog_segment_deleted(t->cat, argv[0], t->why, sizeof t->why);
    } else {
        rc = ml_catalog_delete_run(t->cat, argv[0], t->why, sizeof t->why);
    }
    return done(t, rc);
}

static int
cmd_compacted(tool *t, int argc, char **argv)
{
    if (argc != 4) {
        return usage(t, "compacted RUN_ID KEY SIZE DELAY_S");
    }
    return done(t, ml_catalog_compacted(t->cat, argv[0], argv[1],
                                        strtoull(argv[2], NULL, 10),
                                        atoi(argv[3]), t->why, sizeof t->why));
}

static int
cmd_register(tool *t, int argc, char **argv)
{
    if (argc != 7) {
        return usage(t, "register RUN_ID NAME LABEL HOST START KEY SIZE");
    }
    ml_catalog_run run = {
        argv[0], argv[1], argv[2], argv[3], strtoll(argv[4], NULL, 10), -1};
    return done(t, ml_catalog_register_object(t->cat, &run, argv[5],
                                              strtoull(argv[6], NULL, 10),
                                              t->why, sizeof t->why));
}

/* ------------------------------------------------------------ listen */

static int
cmd_listen(tool *t, int argc, char **argv)
{
    if (argc != 2) {
        return usage(t, "listen N TIMEOUT_MS");
    }
    long want = atol(argv[0]);
    double deadline = now_ms() + atof(argv[1]);
    ml_catalog_listener *l;
    int rc = ml_catalog_listen(t->conninfo, &l, t->why, sizeof t->why);
    if (rc != 0) {
        return fail(t, rc);
    }
    printf("ready\n");
    fflush(stdout);
    long got = 0;
    char buf[256];
    while (got < want && now_ms() < deadline) {
        rc = ml_catalog_listen_wait(l, 100, buf, sizeof buf);
        if (rc == 1) {
            got += buf[0] != '\0'; /* empty: reconnected, not counted */
            emit(json_pack("{s:I, s:s}", "t_us", (json_int_t)wall_us(),
                           "payload", buf));
        } else if (rc < 0) {
            /* The database is away: the listener retries on each wait. */
            emit(json_pack("{s:s}", "down", ml_strerror(rc)));
        }
    }
    ml_catalog_listen_free(l);
    return got == want ? 0 : 1;
}

/* ------------------------------------------------- scale and timing */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A UUIDv7-shaped id: the start time first, then a counter unique to
 * this process's seed. */
static void
make_id(char out[37], int64_t start_us, uint64_t seed, uint64_t i)
{
    uint64_t ms = (uint64_t)start_us / 1000;
    snprintf(out, 37, "%08llx-%04llx-7%03llx-8%03llx-%012llx",
             (unsigned long long)((ms >> 16) & 0xffffffffull),
             (unsigned long long)(ms & 0xffff),
             (unsigned long long)(seed & 0xfff),
             (unsigned long long)((seed >> 12) & 0xfff),
             (unsigned long long)(i & 0xffffffffffffull));
}

typedef struct {
    ml_catalog_run *runs;
    ml_catalog_piece *pieces;
    char (*ids)[37];
    char (*names)[64];
    char (*labels)[16];
    char (*hosts)[16];
    uint64_t *durable;
} synth;

static int
synth_alloc(synth *s, size_t nruns, size_t npieces)
{
    s->runs = calloc(nruns, sizeof *s->runs);
    s->pieces = calloc(npieces, sizeof *s->pieces);
    s->ids = calloc(nruns, sizeof *s->ids);
    s->names = calloc(nruns, sizeof *s->names);
    s->labels = calloc(nruns, sizeof *s->labels);
    s->hosts = calloc(nruns, sizeof *s->hosts);
    s->durable = calloc(nruns, sizeof *s->durable);
    return s->runs && s->pieces && s->ids && s->names && s->labels && s->hosts
                   && s->durable
               ? 0
               : ML_ENOMEM;
}

static void
synth_free(synth *s)
{
    free(s->runs);
    free(s->pieces);
    free(s->ids);
    free(s->names);
    free(s->labels);
    free(s->hosts);
    free(s->durable);
}

/* Run k of a synthetic fleet: 20 labels, 50 hosts, starts over 30 days
 * before 2026-11-01, names LABEL/run-K. */
static void
synth_run(synth *s, size_t i, uint64_t seed, uint64_t k)
{
    int64_t start = 1761955200000000LL - (int64_t)(rng() % 2592000000000ull);
    make_id(s->ids[i], start, seed, k);
    snprintf(s->labels[i], sizeof s->labels[i], "label%02d",
             (int)(rng() % 20));
    snprintf(s->hosts[i], sizeof s->hosts[i], "host-%02d", (int)(rng() % 50));
    snprintf(s->names[i], sizeof s->names[i], "%s/run-%07llu-%04llx",
             s->labels[i], (unsigned long long)k,
             (unsigned long long)(seed & 0xffff));
    s->runs[i] = (ml_catalog_run){s->ids[i],   s->names[i], s->labels[i],
                                  s->hosts[i], start,       -1};
}

/* One segment of per runs with ppr pieces each. */
static int
synth_commit(tool *t, synth *s, size_t per, size_t ppr, uint64_t seed,
             uint64_t *next, double *ms)
{
    for (size_t i = 0; i < per; i++) {
        synth_run(s, i, seed, (*next)++);
        for (size_t j = 0; j < ppr; j++) {
            s->pieces[i * ppr + j] =
                (ml_catalog_piece){i, j * 4096, 4096, (i * ppr + j) * 4096};
        }
    }
    char seg[96];
    snprintf(seg, sizeof seg, "seg/load-%llx-%llu", (unsigned long long)seed,
             (unsigned long long)*next);
    double t0 = now_ms();
    int rc = ml_catalog_commit(t->cat, seg, per * ppr * 4096, s->runs, per,
                               s->pieces, per * ppr, s->durable, t->why,
                               sizeof t->why);
    *ms = now_ms() - t0;
    return rc;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* {"n", "p50", "p95", "max"} of ms[0..n), sorted in place. */
static json_t *
stats(double *ms, size_t n)
{
    qsort(ms, n, sizeof *ms, cmp_double);
    size_t p95 = n ? (n * 95 + 99) / 100 - 1 : 0;
    return json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)n, "p50",
                     n ? ms[n / 2] : 0.0, "p95", n ? ms[p95] : 0.0, "max",
                     n ? ms[n - 1] : 0.0);
}

static int
run_commits(tool *t, size_t count, size_t per, size_t ppr, const char *what)
{
    synth s;
    double *ms = calloc(count + 1, sizeof *ms);
    int rc = synth_alloc(&s, per, per * ppr);
    uint64_t seed = (uint64_t)wall_us() ^ rng(), next = 0;
    rng_state ^= seed;
    for (size_t c = 0; rc == 0 && ms && c < count; c++) {
        rc = synth_commit(t, &s, per, ppr, seed, &next, &ms[c]);
    }
    synth_free(&s);
    if (rc != 0 || ms == NULL) {
        free(ms);
        return fail(t, rc ? rc : ML_ENOMEM);
    }
    json_t *st = stats(ms, count);
    free(ms);
    return emit(json_pack("{s:s, s:I, s:I, s:I, s:o}", "what", what, "runs",
                          (json_int_t)(count * per), "runs_per_commit",
                          (json_int_t)per, "pieces_per_commit",
                          (json_int_t)(per * ppr), "commit_ms", st));
}

static int
cmd_load(tool *t, int argc, char **argv)
{
    if (argc < 1 || argc > 2) {
        return usage(t, "load N [PER_COMMIT]");
    }
    size_t n = strtoull(argv[0], NULL, 10);
    size_t per = argc == 2 ? strtoull(argv[1], NULL, 10) : 1000;
    if (per == 0 || n % per != 0) {
        return usage(t, "load N [PER_COMMIT]: N a multiple of PER_COMMIT");
    }
    return run_commits(t, n / per, per, 2, "load");
}

static int
cmd_bench_commit(tool *t, int argc, char **argv)
{
    if (argc != 3) {
        return usage(t, "bench-commit PIECES RUNS REPS");
    }
    size_t pieces = strtoull(argv[0], NULL, 10);
    size_t runs = strtoull(argv[1], NULL, 10);
    if (runs == 0 || pieces % runs != 0) {
        return usage(t, "bench-commit: PIECES a multiple of RUNS");
    }
    return run_commits(t, strtoull(argv[2], NULL, 10), runs, pieces / runs,
                       "commit");
}

static int
count_row(void *ctx, const ml_catalog_row *r)
{
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

static int
cmd_bench_list(tool *t, int argc, char **argv)
{
    static const char *const filters[][3] = {
        {"limit=50", NULL, NULL},
        {"label=label07", "limit=50", NULL},
        {"host=host-13", "limit=50", NULL},
        {"text=run-00123", "limit=50", NULL},
        {"text=RUN", "limit=50", NULL},
        {"since=1760000000000000", "until=1760086400000000", "limit=50"},
        {"label=label03", "text=-0004", "limit=50"},
        {"offset=5000", "limit=50", NULL},
    };
    size_t nf = sizeof filters / sizeof filters[0];
    size_t reps = argc == 1 ? strtoull(argv[0], NULL, 10) : 20;
    double *all = calloc(nf * reps + 1, sizeof *all);
    double *one = calloc(reps + 1, sizeof *one);
    json_t *per = json_object();
    int rc = all && one ? 0 : ML_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        char buf[3][64];
        char *args[3];
        int n = 0;
        for (; n < 3 && filters[i][n]; n++) {
            snprintf(buf[n], sizeof buf[n], "%s", filters[i][n]);
            args[n] = buf[n];
        }
        ml_catalog_filter f;
        parse_filter(n, args, &f);
        uint64_t total = 0;
        for (size_t r = 0; rc == 0 && r < reps; r++) {
            size_t rows = 0;
            double t0 = now_ms();
            rc = ml_catalog_list(t->cat, &f, count_row, &rows, &total, t->why,
                                 sizeof t->why);
            one[r] = all[i * reps + r] = now_ms() - t0;
        }
        char key[200];
        snprintf(key, sizeof key, "%s %s %s", filters[i][0],
                 filters[i][1] ? filters[i][1] : "",
                 filters[i][2] ? filters[i][2] : "");
        json_t *st = stats(one, reps);
        json_object_set_new(st, "total", json_integer((json_int_t)total));
        json_object_set_new(per, key, st);
    }
    free(one);
    if (rc != 0) {
        free(all);
        json_decref(per);
        return fail(t, rc);
    }
    json_t *st = stats(all, nf * reps);
    free(all);
    return emit(json_pack("{s:o, s:o}", "all", st, "filters", per));
}

/* ------------------------------------------------------------ stress */

#define STRESS_RUNS 50

typedef struct {
    tool *t;
    int index, nthreads, ops, rc;
    char why[WHY];
} stress_thread;

static char stress_ids[STRESS_RUNS][37];
static char stress_names[STRESS_RUNS][32];

/* Piece k of every run is [10k, 10k + 10): thread i commits the pieces
 * k = op * nthreads + i, so together they fill every run without gaps. */
static void *
stress_main(void *arg)
{
    stress_thread *st = arg;
    ml_catalog_run runs[STRESS_RUNS];
    ml_catalog_piece pieces[STRESS_RUNS];
    uint64_t durable[STRESS_RUNS];
    unsigned seed = (unsigned)st->index * 7919u + 1;
    for (int op = 0; op < st->ops && st->rc == 0; op++) {
        int order[STRESS_RUNS];
        for (int i = 0; i < STRESS_RUNS; i++) {
            order[i] = i;
        }
        for (int i = STRESS_RUNS - 1; i > 0; i--) {
            int j = (int)(rand_r(&seed) % (unsigned)(i + 1));
            int x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
        uint64_t k =
            (uint64_t)op * (uint64_t)st->nthreads + (uint64_t)st->index;
        for (int i = 0; i < STRESS_RUNS; i++) {
            int r = order[i];
            runs[i] = (ml_catalog_run){
                stress_ids[r], stress_names[r], "stress", "h", 1000 + r, -1};
            pieces[i] =
                (ml_catalog_piece){(size_t)i, k * 10, 10, (uint64_t)i * 10};
        }
        char seg[64];
        snprintf(seg, sizeof seg, "seg/stress-%d-%d", st->index, op);
        st->rc =
            ml_catalog_commit(st->t->cat, seg, 500, runs, STRESS_RUNS, pieces,
                              STRESS_RUNS, durable, st->why, sizeof st->why);
        if (st->rc == 0) {
            ml_catalog_filter f = {.label = "stress", .limit = 10};
            size_t rows = 0;
            st->rc = ml_catalog_list(st->t->cat, &f, count_row, &rows, NULL,
                                     st->why, sizeof st->why);
        }
    }
    return NULL;
}

static int
check_durable(void *ctx, const ml_catalog_row *r)
{
    uint64_t *want = ctx;
    if (r->durable != want[0]) {
        want[1]++;
    }
    return 0;
}

static int
cmd_stress(tool *t, int argc, char **argv)
{
    if (argc != 2) {
        return usage(t, "stress THREADS OPS");
    }
    int n = atoi(argv[0]), ops = atoi(argv[1]);
    if (n < 1 || n > 64 || ops < 1) {
        return usage(t, "stress THREADS(1..64) OPS");
    }
    uint64_t seed = (uint64_t)wall_us();
    for (int i = 0; i < STRESS_RUNS; i++) {
        make_id(stress_ids[i], 1000 + i, seed, (uint64_t)i);
        snprintf(stress_names[i], sizeof stress_names[i], "stress/%d", i);
    }
    stress_thread th[64];
    pthread_t tid[64];
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        th[i] = (stress_thread){t, i, n, ops, 0, ""};
        pthread_create(&tid[i], NULL, stress_main, &th[i]);
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(tid[i], NULL);
        if (th[i].rc != 0 && rc == 0) {
            rc = th[i].rc;
            snprintf(t->why, sizeof t->why, "thread %d: %.400s", i, th[i].why);
        }
    }
    double ms = now_ms() - t0;
    if (rc != 0) {
        return fail(t, rc);
    }
    uint64_t want[2] = {(uint64_t)n * (uint64_t)ops * 10, 0};
    ml_catalog_filter f = {.label = "stress", .limit = STRESS_RUNS};
    rc = ml_catalog_list(t->cat, &f, check_durable, want, NULL, t->why,
                         sizeof t->why);
    if (rc != 0) {
        return fail(t, rc);
    }
    return emit(json_pack("{s:I, s:I, s:f}", "durable", (json_int_t)want[0],
                          "wrong", (json_int_t)want[1], "ms", ms));
}

/* ---------------------------------------------------------- dispatch */

static int
dispatch(tool *t, int argc, char **argv)
{
    const char *c = argv[0];
    argc--;
    argv++;
    t->why[0] = '\0';
    if (strcmp(c, "commit") == 0) {
        return cmd_commit(t, argc, argv);
    } else if (strcmp(c, "get") == 0 || strcmp(c, "get-id") == 0) {
        return cmd_get(t, argc, argv, c[3] == '-');
    } else if (strcmp(c, "list") == 0) {
        return cmd_list(t, argc, argv);
    } else if (strcmp(c, "pieces") == 0) {
        return cmd_pieces(t, argc, argv);
    } else if (strcmp(c, "expired") == 0) {
        return cmd_expired(t, argc, argv);
    } else if (strcmp(c, "take-job") == 0) {
        return cmd_take_job(t, argc, argv);
    } else if (strcmp(c, "finish-job") == 0
               || strcmp(c, "segment-deleted") == 0
               || strcmp(c, "delete-run") == 0) {
        return cmd_one_arg(t, argc, argv, c);
    } else if (strcmp(c, "compacted") == 0) {
        return cmd_compacted(t, argc, argv);
    } else if (strcmp(c, "register") == 0) {
        return cmd_register(t, argc, argv);
    } else if (strcmp(c, "load") == 0) {
        return cmd_load(t, argc, argv);
    } else if (strcmp(c, "bench-list") == 0) {
        return cmd_bench_list(t, argc, argv);
    } else if (strcmp(c, "bench-commit") == 0) {
        return cmd_bench_commit(t, argc, argv);
    } else if (strcmp(c, "stress") == 0) {
        return cmd_stress(t, argc, argv);
    }
    return usage(t, "unknown command (see tests/tools/ml_catalog_tool.c)");
}

/* Commands as JSON arrays of strings, one a line, until end of input. */
static int
repl(tool *t)
{
    char line[65536];
    while (fgets(line, sizeof line, stdin) != NULL) {
        json_t *cmd = json_loads(line, 0, NULL);
        size_t n = json_array_size(cmd);
        char **argv = calloc(n + 1, sizeof *argv);
        for (size_t i = 0; argv && i < n; i++) {
            argv[i] = strdup(json_string_value(json_array_get(cmd, i)) ?: "");
        }
        if (n == 0 || argv == NULL) {
            usage(t, "a JSON array of strings a line");
        } else {
            dispatch(t, (int)n, argv);
        }
        for (size_t i = 0; argv && i < n; i++) {
            free(argv[i]);
        }
        free(argv);
        json_decref(cmd);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    tool t = {0};
    if (argc < 3) {
        fprintf(stderr, "usage: ml_catalog_tool CONNINFO COMMAND [ARG...]\n");
        return 2;
    }
    t.conninfo = argv[1];
    if (strcmp(argv[2], "listen") == 0) {
        return cmd_listen(&t, argc - 3, argv + 3);
    }
    int rc = ml_catalog_open(t.conninfo, 4, &t.cat, t.why, sizeof t.why);
    if (rc != 0) {
        return fail(&t, rc);
    }
    rc = strcmp(argv[2], "repl") == 0 ? repl(&t)
                                      : dispatch(&t, argc - 2, argv + 2);
    ml_catalog_free(t.cat);
    return rc;
}
