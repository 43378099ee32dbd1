// SPDX-License-Identifier: MIT
// CSV (RFC 4180) of the timed-function calls (SPAN records of the
// decorators, docs/TIMED.md): one row per call, or with --aggregate one
// row per function with the columns PyMAAP's results.py users know
// (count, sum, mean and max of the wall time, mean CPU time, mean memory
// change), sorted by total wall time. Times in seconds, memory in bytes.
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "ml_export_int.h"

/* A field, quoted when it holds a comma, quote or line break. */
static void
field(xrun *x, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') {
            quote = 1;
        }
    }
    if (!quote) {
        xrun_write(x, s, n);
        return;
    }
    xrun_write(x, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        xrun_write(x, &s[i], 1);
        if (s[i] == '"') {
            xrun_write(x, "\"", 1);
        }
    }
    xrun_write(x, "\"", 1);
}

static void
field_id(xrun *x, uint32_t id)
{
    ml_bytes b = {(const uint8_t *)"", 0};
    if (id != 0) {
        ml_reader_string(x->r, id, &b);
    }
    field(x, (const char *)b.ptr, b.len);
}

static void
printf_field(xrun *x, const char *fmt, ...)
{
    /* Numbers only: 7 of them at most 40 characters each. */
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        x->write_err = 1;
        return;
    }
    xrun_write(x, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int
wanted(const xrun *x, const ml_span *s)
{
    return s->time_us >= x->o->from
           && (x->o->to == UINT64_MAX || s->time_us < x->o->to)
           && xrun_thread_wanted(x, s->thread);
}

static int
calls(xrun *x)
{
    static const char head[] =
        "time_s,thread,function,file,line,wall_s,cpu_s,memory_change_bytes,"
        "args,call_id,parent_call_id,error\n";
    xrun_write(x, head, sizeof head - 1);
    ml_record rec;
    int rc;
    while ((rc = xrun_next(x, &rec)) > 0) {
        const ml_span *s = &rec.u.span;
        if (rec.kind != ML_KIND_SPAN || !wanted(x, s)) {
            continue;
        }
        const char *tn = xrun_thread_name(x, s->thread);
        printf_field(x, "%.6f,", (double)s->time_us / 1e6);
        field(x, tn, strlen(tn));
        xrun_write(x, ",", 1);
        field_id(x, s->name);
        xrun_write(x, ",", 1);
        field_id(x, s->file);
        printf_field(x, ",%u,%.9f,%.9f,%" PRId64 ",", s->line,
                     (double)s->wall_ns / 1e9, (double)s->cpu_ns / 1e9,
                     s->mem_delta);
        field(x, (const char *)s->args.ptr, s->args.len);
        printf_field(x, ",%" PRIu64 ",%" PRIu64 ",", s->call_id,
                     s->parent_call);
        field(x, (const char *)s->exception.ptr, s->exception.len);
        xrun_write(x, "\n", 1);
        x->res->items++;
    }
    return rc;
}

typedef struct {
    uint32_t name, file, line;
    uint64_t count;
    double wall_sum, wall_max, cpu_sum, mem_sum;
} agg;

typedef struct {
    agg *rows;
    uint32_t n, cap;
    ml_map map;
} aggs;

typedef struct {
    const aggs *a;
    uint32_t name, file, line;
} agg_key;

static int
agg_eq(const void *ctx, uint32_t v)
{
    const agg_key *k = ctx;
    const agg *r = &k->a->rows[v - 1];
    return r->name == k->name && r->file == k->file && r->line == k->line;
}

static int
by_total(const void *a, const void *b)
{
    const agg *x = a, *y = b;
    return x->wall_sum < y->wall_sum ? 1 : x->wall_sum > y->wall_sum ? -1 : 0;
}

static int
aggregate(xrun *x)
{
    aggs a = {0};
    ml_map_init(&a.map);
    ml_record rec;
    int rc;
    while ((rc = xrun_next(x, &rec)) > 0) {
        const ml_span *s = &rec.u.span;
        if (rec.kind != ML_KIND_SPAN || !wanted(x, s)) {
            continue;
        }
        agg_key k = {&a, s->name, s->file, s->line};
        uint64_t h = ml_hash_mix(ml_hash_mix(ml_hash_mix(5, s->name), s->file),
                                 s->line);
        uint32_t v = ml_map_find(&a.map, h, agg_eq, &k);
        if (v == 0) {
            if (a.n == a.cap) {
                uint32_t cap = a.cap ? 2 * a.cap : 64;
                agg *rows = realloc(a.rows, (size_t)cap * sizeof *rows);
                if (rows == NULL) {
                    rc = ML_ENOMEM;
                    break;
                }
                a.rows = rows;
                a.cap = cap;
            }
            a.rows[a.n] = (agg){s->name, s->file, s->line, 0, 0, 0, 0, 0};
            v = ++a.n;
            if (ml_map_insert(&a.map, h, v) < 0) {
                rc = ML_ENOMEM;
                break;
            }
        }
        agg *r = &a.rows[v - 1];
        double wall = (double)s->wall_ns / 1e9;
        r->count++;
        r->wall_sum += wall;
        r->wall_max = wall > r->wall_max ? wall : r->wall_max;
        r->cpu_sum += (double)s->cpu_ns / 1e9;
        r->mem_sum += (double)s->mem_delta;
    }
    if (rc == 0) {
        static const char head[] =
            "function,file,line,count,sum_s,mean_s,max_s,cpu_mean_s,"
            "memory_change_mean_bytes\n";
        xrun_write(x, head, sizeof head - 1);
        qsort(a.rows, a.n, sizeof *a.rows, by_total);
        for (uint32_t i = 0; i < a.n; i++) {
            const agg *r = &a.rows[i];
            double c = (double)r->count;
            field_id(x, r->name);
            xrun_write(x, ",", 1);
            field_id(x, r->file);
            printf_field(x, ",%u,%" PRIu64 ",%.9f,%.9f,%.9f,%.9f,%.1f\n",
                         r->line, r->count, r->wall_sum, r->wall_sum / c,
                         r->wall_max, r->cpu_sum / c, r->mem_sum / c);
            x->res->items++;
        }
    }
    free(a.rows);
    ml_map_free(&a.map);
    return rc;
}

int
ml_export_csv(xrun *x)
{
    return x->o->aggregate ? aggregate(x) : calls(x);
}
