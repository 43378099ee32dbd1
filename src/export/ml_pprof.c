// SPDX-License-Identifier: MIT
// pprof: a gzip-compressed perftools.profiles.Profile (profile.proto in
// github.com/google/pprof). Sample types samples/count, cpu/nanoseconds
// (running samples times the interval) and wall/nanoseconds (every
// sample); cpu is the default, so `go tool pprof -top` shows the shares
// `microlog show` shows. One sample per (stack, thread, state) with the
// labels "thread" and "state" (a sample of an empty stack, a thread
// outside Python code, has no location but counts in the totals, as in
// `microlog show`); a location per frame (function and line),
// a function per Python function. Two functions of the same name get
// "name (file:line)" names, since pprof merges functions by name.
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "ml_export_int.h"
#include "ml_protobuf.h"

/* profile.proto field numbers */
enum {
    P_SAMPLE_TYPE = 1,
    P_SAMPLE = 2,
    P_LOCATION = 4,
    P_FUNCTION = 5,
    P_STRING_TABLE = 6,
    P_TIME_NANOS = 9,
    P_DURATION_NANOS = 10,
    P_PERIOD_TYPE = 11,
    P_PERIOD = 12,
    P_COMMENT = 13,
    P_DEFAULT_SAMPLE_TYPE = 14
};

/* The string table: entry 0 is "". */
typedef struct {
    char **s;
    uint32_t n, cap;
    ml_map map;
} strtab;

typedef struct {
    const strtab *t;
    const char *s;
} str_key;

static int
str_eq(const void *ctx, uint32_t v)
{
    const str_key *k = ctx;
    return strcmp(k->t->s[v - 1], k->s) == 0;
}

/* The index of s in the table, added when new; -1 when out of memory. */
static int64_t
intern(strtab *t, const char *s)
{
    str_key k = {t, s};
    uint64_t h = ml_hash_bytes(s, strlen(s));
    uint32_t v = ml_map_find(&t->map, h, str_eq, &k);
    if (v != 0) {
        return v - 1;
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? 2 * t->cap : 256;
        char **p = realloc(t->s, (size_t)cap * sizeof *p);
        if (p == NULL) {
            return -1;
        }
        t->s = p;
        t->cap = cap;
    }
    if ((t->s[t->n] = strdup(s)) == NULL) {
        return -1;
    }
    t->n++;
    if (ml_map_insert(&t->map, h, t->n) < 0) {
        return -1;
    }
    return t->n - 1;
}

static void
strtab_free(strtab *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        free(t->s[i]);
    }
    free(t->s);
    ml_map_free(&t->map);
}

typedef struct {
    xrun *x;
    strtab st;
    ml_buf out, msg, sub;
    int err;
    int64_t interval_ns;
} pprof;

static uint64_t
S(pprof *p, const char *s)
{
    int64_t i = intern(&p->st, s);
    if (i < 0) {
        p->err = ML_ENOMEM;
        return 0;
    }
    return (uint64_t)i;
}

/* A nested message in p->msg appended to p->out as field. */
static void
put_msg(pprof *p, ml_buf *into, uint32_t field, ml_buf *m)
{
    int e = ml_pb_bytes(into, field, m->data, m->len);
    p->err = p->err ? p->err : e;
    ml_buf_reset(m);
}

static void
value_type(pprof *p, uint32_t field, const char *type, const char *unit)
{
    p->err |= ml_pb_varint(&p->msg, 1, S(p, type));
    p->err |= ml_pb_varint(&p->msg, 2, S(p, unit));
    put_msg(p, &p->out, field, &p->msg);
}

static void
label(pprof *p, const char *key, const char *str)
{
    p->err |= ml_pb_varint(&p->sub, 1, S(p, key));
    p->err |= ml_pb_varint(&p->sub, 2, S(p, str));
    put_msg(p, &p->msg, 3, &p->sub);
}

/* Writes the samples; marks the frames they use in used[]. */
static void
samples(pprof *p, const xagg *a, uint8_t *used, uint32_t nused)
{
    xrun *x = p->x;
    uint32_t frames[XMAX_DEPTH];
    uint64_t locs[XMAX_DEPTH];
    for (uint32_t i = 0; p->err == 0 && i < a->n; i++) {
        const xagg_row *r = &a->rows[i];
        int depth = xrun_path(x, r->stack, NULL, NULL, frames);
        if (depth < 0) {
            p->err = depth;
            return;
        }
        for (int d = 0; d < depth; d++) {
            locs[d] = frames[depth - 1 - d]; /* leaf first */
            if (frames[d] < nused) {
                used[frames[d]] = 1;
            }
        }
        uint64_t wall = r->count * (uint64_t)p->interval_ns;
        uint64_t v[3] = {r->count, r->state == XS_RUNNING ? wall : 0, wall};
        p->err |= ml_pb_packed(&p->msg, 1, locs, (size_t)depth);
        p->err |= ml_pb_packed(&p->msg, 2, v, 3);
        const char *tn = xrun_thread_name(x, r->thread);
        char tbuf[32];
        if (tn[0] == '\0') {
            snprintf(tbuf, sizeof tbuf, "thread %u", r->thread);
            tn = tbuf;
        }
        label(p, "thread", tn);
        label(p, "state", xstate_name((int)r->state));
        put_msg(p, &p->out, P_SAMPLE, &p->msg);
        x->res->items += r->count;
    }
}

static int
by_name(const void *a, const void *b, void *ctx)
{
    const xfunc *f = ctx;
    return strcmp(f[*(const uint32_t *)a].name, f[*(const uint32_t *)b].name);
}

static void
locations_and_functions(pprof *p, const uint8_t *used, uint32_t nused)
{
    xrun *x = p->x;
    uint8_t *fused = calloc(x->nfuncs + 1, 1);
    uint32_t *order = malloc((x->nfuncs + 1) * sizeof *order);
    uint8_t *dup = calloc(x->nfuncs + 1, 1);
    if (fused == NULL || order == NULL || dup == NULL) {
        p->err = ML_ENOMEM;
        goto done;
    }
    for (uint32_t fr = 1; fr < nused && p->err == 0; fr++) {
        if (!used[fr]) {
            continue;
        }
        int64_t f = xrun_frame_func(x, fr);
        uint32_t name, file, line = 0, first;
        ml_reader_frame(x->r, fr, &name, &file, &line, &first);
        if (f <= 0) {
            continue;
        }
        fused[f - 1] = 1;
        p->err |= ml_pb_varint(&p->sub, 1, (uint64_t)f);
        p->err |= ml_pb_varint(&p->sub, 2, line);
        p->err |= ml_pb_varint(&p->msg, 1, fr);
        put_msg(p, &p->msg, 4, &p->sub);
        put_msg(p, &p->out, P_LOCATION, &p->msg);
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < x->nfuncs; i++) {
        if (fused[i]) {
            order[n++] = i;
        }
    }
    qsort_r(order, n, sizeof *order, by_name, x->funcs);
    for (uint32_t i = 1; i < n; i++) {
        if (strcmp(x->funcs[order[i]].name, x->funcs[order[i - 1]].name)
            == 0) {
            dup[order[i]] = dup[order[i - 1]] = 1;
        }
    }
    for (uint32_t i = 0; i < x->nfuncs && p->err == 0; i++) {
        if (!fused[i]) {
            continue;
        }
        const xfunc *f = &x->funcs[i];
        size_t len = strlen(f->name) + strlen(f->file) + 32;
        char *full = malloc(len);
        if (full == NULL) {
            p->err = ML_ENOMEM;
            break;
        }
        snprintf(full, len, "%s (%s:%u)", f->name, f->file, f->line);
        p->err |= ml_pb_varint(&p->msg, 1, i + 1);
        p->err |= ml_pb_varint(&p->msg, 2, S(p, dup[i] ? full : f->name));
        p->err |= ml_pb_varint(&p->msg, 3, S(p, full));
        p->err |= ml_pb_varint(&p->msg, 4, S(p, f->file));
        p->err |= ml_pb_varint(&p->msg, 5, f->line);
        put_msg(p, &p->out, P_FUNCTION, &p->msg);
        free(full);
    }
done:
    free(fused);
    free(order);
    free(dup);
}

/* gzip of data to the output (RFC 1952 through zlib). */
static int
write_gzip(xrun *x, const uint8_t *data, size_t len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK) {
        return ML_ENOMEM;
    }
    unsigned char buf[65536];
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    int zr;
    do {
        z.next_out = buf;
        z.avail_out = sizeof buf;
        zr = deflate(&z, Z_FINISH);
        if (zr == Z_STREAM_ERROR) {
            break;
        }
        xrun_write(x, buf, sizeof buf - z.avail_out);
    } while (zr != Z_STREAM_END);
    deflateEnd(&z);
    return zr == Z_STREAM_END ? 0 : ML_ECOMPRESS;
}

int
ml_export_pprof(xrun *x)
{
    pprof p = {0};
    p.x = x;
    xagg a;
    ml_record rec;
    int rc;
    uint8_t *used = NULL;
    xagg_init(&a);
    ml_buf_init(&p.out, (size_t)1 << 31);
    ml_buf_init(&p.msg, (size_t)1 << 30);
    ml_buf_init(&p.sub, (size_t)1 << 30);
    ml_map_init(&p.st.map);
    p.interval_ns = (int64_t)(x->interval_us * 1000.0 + 0.5);
    while ((rc = xrun_next(x, &rec)) > 0) {
        xsamples sm;
        if (!xrun_samples(x, &rec, &sm)) {
            continue;
        }
        rc = xagg_add(&a, rec.u.samples.stack, rec.u.samples.thread,
                      (uint32_t)xstate_of(rec.u.samples.state), sm.n);
        if (rc < 0) {
            break;
        }
    }
    if (rc < 0) {
        goto done;
    }
    ml_reader_stats st;
    ml_reader_get_stats(x->r, &st);
    uint32_t nused = st.frames + 1;
    if ((used = calloc(nused, 1)) == NULL) {
        rc = ML_ENOMEM;
        goto done;
    }
    S(&p, "");
    value_type(&p, P_SAMPLE_TYPE, "samples", "count");
    value_type(&p, P_SAMPLE_TYPE, "cpu", "nanoseconds");
    value_type(&p, P_SAMPLE_TYPE, "wall", "nanoseconds");
    samples(&p, &a, used, nused);
    locations_and_functions(&p, used, nused);
    uint64_t from = x->o->from;
    uint64_t to = x->o->to < x->end_us ? x->o->to : x->end_us;
    p.err |=
        ml_pb_varint(&p.out, P_TIME_NANOS, x->start_unix_ns + from * 1000);
    p.err |= ml_pb_varint(&p.out, P_DURATION_NANOS,
                          to > from ? (to - from) * 1000 : 0);
    value_type(&p, P_PERIOD_TYPE, "cpu", "nanoseconds");
    p.err |= ml_pb_varint(&p.out, P_PERIOD, (uint64_t)p.interval_ns);
    char comment[512];
    snprintf(comment, sizeof comment, "microlog recording %s%s%s", x->path,
             x->label ? ", label " : "", x->label ? x->label : "");
    p.err |= ml_pb_varint(&p.out, P_COMMENT, S(&p, comment));
    p.err |= ml_pb_varint(&p.out, P_DEFAULT_SAMPLE_TYPE, S(&p, "cpu"));
    /* The string table last: every index above is known by now. */
    for (uint32_t i = 0; p.err == 0 && i < p.st.n; i++) {
        p.err =
            ml_pb_bytes(&p.out, P_STRING_TABLE, p.st.s[i], strlen(p.st.s[i]));
    }
    rc = p.err < 0 ? p.err : p.err ? ML_ENOMEM : 0;
    if (rc == 0) {
        rc = write_gzip(x, p.out.data, p.out.len);
    }
done:
    free(used);
    xagg_free(&a);
    strtab_free(&p.st);
    ml_buf_free(&p.out);
    ml_buf_free(&p.msg);
    ml_buf_free(&p.sub);
    return rc;
}
