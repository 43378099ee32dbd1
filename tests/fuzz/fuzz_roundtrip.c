// SPDX-License-Identifier: MIT
// Fuzz target: write then read. The input is a program of writer calls
// (strings, frames, stacks, threads, samples, logs, spans, series values,
// meta, reports, flushes, ticks, clock jumps, sampler rounds over several
// threads with CPU shares, invalid calls; a round-time tolerance); it runs
// against a writer on a memfd while a model records what must come back,
// then ml_reader reads the file and everything must decode exactly: the
// same interned tables, every thread's samples in order (stack, state, CPU
// share, first and last time of each run, within the tolerance), every
// other record in order. Any
// difference aborts. Replayed over tests/fuzz/corpus/roundtrip/.
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ml_error.h"
#include "format/ml_format.h"
#include "format/ml_reader.h"
#include "format/ml_writer.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_roundtrip: %s:%d: %s\n", __FILE__,          \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Caps keep the model's linear searches cheap. */
#define MAX_STRINGS 256
#define MAX_FRAMES 256
#define MAX_STACKS 1024
#define MAX_THREADS 32
#define MAX_SERIES 16
#define MAX_OTHERS 4096
#define MAX_KEYS 64

typedef struct {
    const uint8_t *p, *end;
} src;

static uint8_t
u8(src *s)
{
    return s->p < s->end ? *s->p++ : 0;
}

static uint32_t
u16(src *s)
{
    uint32_t lo = u8(s);
    return lo | (uint32_t)u8(s) << 8;
}

/* A value of any magnitude: a byte count, then that many bytes. */
static uint64_t
u64(src *s)
{
    uint32_t n = u8(s) % 9;
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; i++) {
        v = v << 8 | u8(s);
    }
    return v;
}

/* Bytes taken from the input itself: they outlive the model. */
static ml_bytes
bytes(src *s, uint32_t max)
{
    uint32_t want = u8(s) % (max + 1);
    size_t left = (size_t)(s->end - s->p);
    ml_bytes b = {s->p, (uint32_t)(want < left ? want : left)};
    s->p += b.len;
    return b;
}

/* 0..n inclusive. */
static uint32_t
pick0(src *s, uint32_t n)
{
    return u8(s) % (n + 1);
}

typedef struct {
    uint64_t time;
    uint32_t stack;
    uint8_t state, cpu;
} sample;

typedef struct {
    uint64_t native, ident;
    sample *s;
    size_t n, cap, pos;
} thread;

typedef struct {
    ml_bytes strings[MAX_STRINGS + 1];
    uint32_t nstrings;
    uint32_t frames[MAX_FRAMES + 1][4];
    uint32_t nframes;
    uint32_t stacks[MAX_STACKS + 1][2];
    uint32_t nstacks;
    thread threads[MAX_THREADS + 1];
    uint32_t nthreads;
    uint32_t tolerance; /* of round times (ml_writer_set_rounds) */
    uint32_t nseries;
    ml_record others[MAX_OTHERS];
    size_t nothers;
    char keys[MAX_KEYS][33];
    uint32_t nkeys;
} model;

static int
bytes_eq(ml_bytes a, ml_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int
value_eq(const ml_value *a, const ml_value *b)
{
    if (a->tag != b->tag) {
        return 0;
    }
    switch (a->tag) {
    case ML_TAG_BYTES:
        return bytes_eq(a->v.b, b->v.b);
    case ML_TAG_UINT:
        return a->v.u == b->v.u;
    case ML_TAG_INT:
        return a->v.i == b->v.i;
    default:
        return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    }
}

static int
record_eq(const ml_record *a, const ml_record *b)
{
    if (a->kind != b->kind) {
        return 0;
    }
    switch (a->kind) {
    case ML_KIND_META:
        return bytes_eq(a->u.meta.key, b->u.meta.key)
               && value_eq(&a->u.meta.value, &b->u.meta.value);
    case ML_KIND_THREAD:
        return a->time_us == b->time_us && a->u.thread.id == b->u.thread.id
               && a->u.thread.native_id == b->u.thread.native_id
               && a->u.thread.ident == b->u.thread.ident
               && a->u.thread.name == b->u.thread.name;
    case ML_KIND_THREAD_END:
        return a->time_us == b->time_us
               && a->u.thread_end.id == b->u.thread_end.id;
    case ML_KIND_SERIES:
        return a->u.series.id == b->u.series.id
               && a->u.series.cls == b->u.series.cls
               && a->u.series.name == b->u.series.name
               && a->u.series.unit == b->u.series.unit;
    case ML_KIND_VALUE:
        return a->time_us == b->time_us
               && a->u.value.series == b->u.value.series
               && value_eq(&a->u.value.value, &b->u.value.value);
    case ML_KIND_LOG:
        return a->time_us == b->time_us && a->u.log.time_us == b->time_us
               && a->u.log.thread == b->u.log.thread
               && a->u.log.level == b->u.log.level
               && a->u.log.source == b->u.log.source
               && a->u.log.stack == b->u.log.stack
               && bytes_eq(a->u.log.text, b->u.log.text);
    case ML_KIND_SPAN: {
        const ml_span *x = &a->u.span, *y = &b->u.span;
        return a->time_us == b->time_us && x->time_us == y->time_us
               && x->call_id == y->call_id && x->parent_call == y->parent_call
               && x->thread == y->thread && x->wall_ns == y->wall_ns
               && x->cpu_ns == y->cpu_ns && x->mem_delta == y->mem_delta
               && x->name == y->name && x->file == y->file
               && x->line == y->line && bytes_eq(x->args, y->args)
               && bytes_eq(x->exception, y->exception);
    }
    case ML_KIND_REPORT:
        return a->u.report.kind == b->u.report.kind
               && a->u.report.name == b->u.report.name
               && bytes_eq(a->u.report.body, b->u.report.body);
    case ML_KIND_END:
        return a->time_us == b->time_us
               && a->u.end.exit_status == b->u.end.exit_status;
    default:
        return 0;
    }
}

static void
expect(model *m, const ml_record *r)
{
    CHECK(m->nothers < MAX_OTHERS);
    m->others[m->nothers++] = *r;
}

static ml_value
value(src *s)
{
    ml_value v = {.tag = (uint8_t)(u8(s) % 4)};
    switch (v.tag) {
    case ML_TAG_BYTES:
        v.v.b = bytes(s, 40);
        break;
    case ML_TAG_UINT:
        v.v.u = u64(s);
        break;
    case ML_TAG_INT:
        v.v.i = (int64_t)u64(s);
        break;
    default: {
        uint64_t bits = u64(s);
        memcpy(&v.v.f, &bits, sizeof v.v.f);
        break;
    }
    }
    return v;
}

static void
add_sample(thread *t, sample x)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->s = realloc(t->s, t->cap * sizeof *t->s);
        CHECK(t->s != NULL);
    }
    t->s[t->n++] = x;
}

/* Stored round times may be this far from the sampled ones. */
static int
near(uint64_t stored, uint64_t sampled, uint32_t tolerance)
{
    return stored >= sampled ? stored - sampled <= tolerance
                             : sampled - stored <= tolerance;
}

/* Runs one operation; returns 0 when the input is used up. */
static int
step(ml_writer *w, model *m, src *s, uint64_t *now)
{
    if (s->p >= s->end) {
        return 0;
    }
    uint8_t op = u8(s) % 19;
    uint32_t id = 0;
    ml_record rec = {0};
    switch (op) {
    case 0: { /* string */
        ml_bytes b = bytes(s, 40);
        uint32_t known = 0;
        for (uint32_t i = 1; i <= m->nstrings && !known; i++) {
            known = bytes_eq(m->strings[i], b) ? i : 0;
        }
        if (!known && m->nstrings == MAX_STRINGS) {
            break;
        }
        CHECK(ml_writer_string(w, (const char *)b.ptr, b.len, &id) == 0);
        if (known) {
            CHECK(id == known);
        } else {
            CHECK(id == m->nstrings + 1);
            m->strings[++m->nstrings] = b;
        }
        break;
    }
    case 1: { /* frame */
        uint32_t k[4] = {pick0(s, m->nstrings), pick0(s, m->nstrings),
                         (uint32_t)u64(s), u16(s)};
        uint32_t known = 0;
        for (uint32_t i = 1; i <= m->nframes && !known; i++) {
            known = memcmp(m->frames[i], k, sizeof k) == 0 ? i : 0;
        }
        if (!known && m->nframes == MAX_FRAMES) {
            break;
        }
        CHECK(ml_writer_frame(w, k[0], k[1], k[2], k[3], &id) == 0);
        if (known) {
            CHECK(id == known);
        } else {
            CHECK(id == m->nframes + 1);
            memcpy(m->frames[++m->nframes], k, sizeof k);
        }
        break;
    }
    case 2: { /* stack */
        if (m->nframes == 0) {
            break;
        }
        uint32_t parent = pick0(s, m->nstacks);
        uint32_t frame = 1 + u8(s) % m->nframes;
        uint32_t known = 0;
        for (uint32_t i = 1; i <= m->nstacks && !known; i++) {
            known =
                m->stacks[i][0] == parent && m->stacks[i][1] == frame ? i : 0;
        }
        if (!known && m->nstacks == MAX_STACKS) {
            break;
        }
        CHECK(ml_writer_stack(w, parent, frame, &id) == 0);
        if (known) {
            CHECK(id == known);
        } else {
            CHECK(id == m->nstacks + 1);
            m->stacks[++m->nstacks][0] = parent;
            m->stacks[m->nstacks][1] = frame;
        }
        break;
    }
    case 3: { /* new thread */
        if (m->nthreads == MAX_THREADS) {
            break;
        }
        uint32_t name = pick0(s, m->nstrings);
        uint64_t native = u64(s), ident = u64(s);
        CHECK(ml_writer_thread(w, *now, native, ident, name, &id) == 0);
        CHECK(id == m->nthreads + 1);
        thread *t = &m->threads[++m->nthreads];
        t->native = native;
        t->ident = ident;
        rec = (ml_record){.kind = ML_KIND_THREAD, .time_us = *now};
        rec.u.thread.id = id;
        rec.u.thread.native_id = native;
        rec.u.thread.ident = ident;
        rec.u.thread.name = name;
        expect(m, &rec);
        break;
    }
    case 4:   /* rename */
    case 5: { /* thread end */
        if (m->nthreads == 0) {
            break;
        }
        uint32_t th = 1 + u8(s) % m->nthreads;
        if (op == 4) {
            uint32_t name = pick0(s, m->nstrings);
            CHECK(ml_writer_thread_name(w, th, *now, name) == 0);
            rec = (ml_record){.kind = ML_KIND_THREAD, .time_us = *now};
            rec.u.thread.id = th;
            rec.u.thread.native_id = m->threads[th].native;
            rec.u.thread.ident = m->threads[th].ident;
            rec.u.thread.name = name;
        } else {
            CHECK(ml_writer_thread_end(w, th, *now) == 0);
            rec = (ml_record){.kind = ML_KIND_THREAD_END, .time_us = *now};
            rec.u.thread_end.id = th;
        }
        expect(m, &rec);
        break;
    }
    case 6: { /* a burst of samples of one thread */
        if (m->nthreads == 0) {
            break;
        }
        thread *t = &m->threads[1 + u8(s) % m->nthreads];
        uint32_t th = (uint32_t)(t - m->threads);
        uint32_t stack = pick0(s, m->nstacks);
        uint8_t state = u8(s);
        uint32_t reps = 1 + u8(s) % 64;
        uint32_t dt = u8(s) % 4;
        for (uint32_t i = 0; i < reps; i++) {
            CHECK(ml_writer_sample(w, th, *now, stack, state) == 0);
            add_sample(t, (sample){*now, stack, state, ML_CPU_UNKNOWN});
            *now += dt;
        }
        break;
    }
    case 18: { /* sampler rounds: several threads at one time each */
        if (m->nthreads == 0) {
            break;
        }
        uint32_t rounds = 1 + u8(s) % 16;
        uint32_t first = u8(s), n = 1 + u8(s) % m->nthreads;
        for (uint32_t r = 0; r < rounds; r++) {
            for (uint32_t k = 0; k < n; k++) {
                uint32_t th = 1 + (first + k) % m->nthreads;
                uint8_t b = u8(s);
                /* Mostly the same sample again, as in real rounds. */
                thread *t = &m->threads[th];
                sample x = {*now, pick0(s, m->nstacks), u8(s) & 31,
                            (uint8_t)(b % 17 == 16 ? ML_CPU_UNKNOWN : b % 17)};
                if (t->n > 0 && (b & 0x80)) {
                    x = t->s[t->n - 1];
                    x.time = *now;
                }
                CHECK(
                    ml_writer_sample_cpu(w, th, *now, x.stack, x.state, x.cpu)
                    == 0);
                add_sample(t, x);
            }
            /* On time, a little off, or late. */
            int8_t j = (int8_t)u8(s);
            *now += 1000 + (j > 100 ? (uint64_t)j * 37 : (uint64_t)(j & 7));
        }
        break;
    }
    case 7: { /* log */
        ml_log log = {.time_us = *now,
                      .thread = pick0(s, m->nthreads),
                      .level = u8(s),
                      .source = u8(s),
                      .stack = pick0(s, m->nstacks)};
        log.text = bytes(s, 60);
        CHECK(ml_writer_log(w, &log) == 0);
        rec = (ml_record){.kind = ML_KIND_LOG, .time_us = *now};
        rec.u.log = log;
        expect(m, &rec);
        break;
    }
    case 8: { /* span */
        uint64_t back = u8(s);
        ml_span sp = {.call_id = u64(s),
                      .parent_call = u64(s),
                      .thread = pick0(s, m->nthreads),
                      .time_us = *now - (back < *now ? back : *now),
                      .wall_ns = u64(s),
                      .cpu_ns = u64(s),
                      .mem_delta = (int64_t)u64(s),
                      .name = pick0(s, m->nstrings),
                      .file = pick0(s, m->nstrings),
                      .line = u16(s)};
        sp.args = bytes(s, 30);
        sp.exception = bytes(s, 30);
        CHECK(ml_writer_span(w, &sp) == 0);
        rec = (ml_record){.kind = ML_KIND_SPAN, .time_us = sp.time_us};
        rec.u.span = sp;
        expect(m, &rec);
        break;
    }
    case 9: { /* series */
        if (m->nseries == MAX_SERIES) {
            break;
        }
        uint8_t cls = u8(s);
        uint32_t name = pick0(s, m->nstrings), unit = pick0(s, m->nstrings);
        CHECK(ml_writer_series(w, cls, name, unit, &id) == 0);
        CHECK(id == ++m->nseries);
        rec = (ml_record){.kind = ML_KIND_SERIES};
        rec.u.series.id = id;
        rec.u.series.cls = cls;
        rec.u.series.name = name;
        rec.u.series.unit = unit;
        expect(m, &rec);
        break;
    }
    case 10: { /* value */
        if (m->nseries == 0) {
            break;
        }
        uint32_t series = 1 + u8(s) % m->nseries;
        ml_value v = value(s);
        CHECK(ml_writer_value(w, series, *now, &v) == 0);
        rec = (ml_record){.kind = ML_KIND_VALUE, .time_us = *now};
        rec.u.value.series = series;
        rec.u.value.value = v;
        expect(m, &rec);
        break;
    }
    case 11: { /* meta: the key is a C string */
        if (m->nkeys == MAX_KEYS) {
            break;
        }
        ml_bytes kb = bytes(s, 32);
        char *key = m->keys[m->nkeys++];
        uint32_t n = 0;
        for (uint32_t i = 0; i < kb.len; i++) {
            if (kb.ptr[i] != 0) {
                key[n++] = (char)kb.ptr[i];
            }
        }
        key[n] = 0;
        ml_value v = value(s);
        CHECK(ml_writer_meta(w, key, &v) == 0);
        rec = (ml_record){.kind = ML_KIND_META};
        rec.u.meta.key = (ml_bytes){(const uint8_t *)key, n};
        rec.u.meta.value = v;
        expect(m, &rec);
        break;
    }
    case 12:
        CHECK(ml_writer_flush(w) == 0);
        break;
    case 13: /* the clock jumps, backwards too */
        if (u8(s) & 1) {
            uint64_t back = u64(s);
            *now -= back < *now ? back : *now;
        } else {
            *now += u64(s) & 0xffffffffffULL;
        }
        break;
    case 14: /* a tick: due (far future) or not (time 0) */
        CHECK(ml_writer_tick(w, u8(s) & 1 ? UINT64_MAX : 0) == 0);
        break;
    case 15: { /* report */
        uint8_t kind = u8(s);
        uint32_t name = pick0(s, m->nstrings);
        ml_bytes body = bytes(s, 60);
        CHECK(ml_writer_report(w, kind, name, body.ptr, body.len) == 0);
        rec = (ml_record){.kind = ML_KIND_REPORT};
        rec.u.report.kind = kind;
        rec.u.report.name = name;
        rec.u.report.body = body;
        expect(m, &rec);
        break;
    }
    case 16: { /* end of the run (it may come more than once) */
        int64_t status = (int64_t)u64(s);
        CHECK(ml_writer_end(w, *now, status) == 0);
        rec = (ml_record){.kind = ML_KIND_END, .time_us = *now};
        rec.u.end.exit_status = status;
        expect(m, &rec);
        break;
    }
    default: { /* invalid calls change nothing */
        uint32_t bad_thread = m->nthreads + 1 + u8(s) % 4;
        CHECK(ml_writer_sample(w, bad_thread, *now, 0, 0) == ML_EINVAL);
        CHECK(ml_writer_sample(w, 0, *now, 0, 0) == ML_EINVAL);
        CHECK(ml_writer_frame(w, m->nstrings + 1, 0, 0, 0, &id) == ML_EINVAL);
        CHECK(ml_writer_stack(w, m->nstacks + 1, 1, &id) == ML_EINVAL);
        CHECK(ml_writer_stack(w, 0, 0, &id) == ML_EINVAL);
        ml_value v = {.tag = ML_TAG_UINT};
        CHECK(ml_writer_value(w, m->nseries + 1, *now, &v) == ML_EINVAL);
        CHECK(ml_writer_thread_end(w, bad_thread, *now) == ML_EINVAL);
        break;
    }
    }
    return 1;
}

static void
verify(model *m, const uint8_t *data, size_t len)
{
    ml_reader *r;
    CHECK(ml_reader_open_mem(data, len, &r) == 0);
    ml_record rec;
    int rc;
    uint32_t strings = 0, frames = 0, stacks = 0;
    size_t other = 0;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        switch (rec.kind) {
        case ML_KIND_STRING:
            CHECK(rec.u.string.id == ++strings && strings <= m->nstrings);
            CHECK(bytes_eq(rec.u.string.text, m->strings[strings]));
            break;
        case ML_KIND_FRAME:
            CHECK(rec.u.frame.id == ++frames && frames <= m->nframes);
            CHECK(rec.u.frame.name == m->frames[frames][0]);
            CHECK(rec.u.frame.file == m->frames[frames][1]);
            CHECK(rec.u.frame.line == m->frames[frames][2]);
            CHECK(rec.u.frame.firstline == m->frames[frames][3]);
            break;
        case ML_KIND_STACK:
            CHECK(rec.u.stack.id == ++stacks && stacks <= m->nstacks);
            CHECK(rec.u.stack.parent == m->stacks[stacks][0]);
            CHECK(rec.u.stack.frame == m->stacks[stacks][1]);
            break;
        case ML_KIND_SAMPLES: {
            uint32_t th = rec.u.samples.thread;
            CHECK(th >= 1 && th <= m->nthreads);
            thread *t = &m->threads[th];
            uint32_t c = rec.u.samples.count;
            CHECK(c >= 1 && t->pos + c <= t->n);
            const sample *s = &t->s[t->pos];
            uint32_t tol = m->tolerance;
            CHECK(near(rec.time_us, s[0].time, tol));
            CHECK(
                near(rec.time_us + rec.u.samples.span_us, s[c - 1].time, tol));
            for (uint32_t i = 0; i < c; i++) {
                CHECK(s[i].stack == rec.u.samples.stack);
                CHECK(s[i].state == rec.u.samples.state);
                CHECK(s[i].cpu == rec.u.samples.cpu);
                CHECK(tol > 0 || i == 0 || s[i].time >= s[i - 1].time);
            }
            t->pos += c;
            break;
        }
        default:
            CHECK(other < m->nothers);
            CHECK(record_eq(&rec, &m->others[other]));
            other++;
            break;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "fuzz_roundtrip: reader: %s\n", ml_reader_message(r));
    }
    CHECK(rc == 0);
    CHECK(other == m->nothers);
    CHECK(strings == m->nstrings && frames == m->nframes
          && stacks == m->nstacks);
    for (uint32_t i = 1; i <= m->nthreads; i++) {
        CHECK(m->threads[i].pos == m->threads[i].n);
    }
    ml_reader_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src s = {data, data + size};
    uint8_t o = u8(&s);
    static const int levels[4] = {1, 3, -5, 9};
    ml_writer_options opt = {
        .chunk_bytes = 16u << (o % 12), /* 16 B .. 32 KiB */
        .zstd_level = levels[(o >> 4) % 4],
    };
    model *m = calloc(1, sizeof *m);
    CHECK(m != NULL);
    int fd = memfd_create("fuzz_roundtrip", MFD_CLOEXEC);
    CHECK(fd >= 0);
    int wfd = dup(fd);
    CHECK(wfd >= 0);
    ml_writer *w;
    CHECK(ml_writer_open_fd(wfd, &opt, &w) == 0);
    if (o & 0xC0) {
        /* Round times within a tolerance (as the sampler sets it). */
        m->tolerance = 7u * (o >> 6);
        ml_writer_set_rounds(w, 1000, m->tolerance);
    }
    uint64_t now = u16(&s);
    uint64_t before = 0;
    while (step(w, m, &s, &now)) {
        /* What the writer reports is what the file holds. */
        uint64_t bytes = ml_writer_bytes(w);
        CHECK(bytes >= before);
        before = bytes;
    }
    uint64_t samples = 0;
    for (uint32_t i = 1; i <= m->nthreads; i++) {
        samples += m->threads[i].n;
    }
    CHECK(ml_writer_samples(w) == samples);
    CHECK(ml_writer_close(w) == 0);

    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    size_t len = (size_t)st.st_size;
    uint8_t *file = malloc(len + 1);
    CHECK(file != NULL);
    CHECK(pread(fd, file, len, 0) == (ssize_t)len);
    close(fd);
    CHECK(len == before || len > before); /* close flushed the rest */
    verify(m, file, len);

    free(file);
    for (uint32_t i = 1; i <= m->nthreads; i++) {
        free(m->threads[i].s);
    }
    free(m);
    return 0;
}
