// SPDX-License-Identifier: MIT
// Unit tests of src/format/ml_rounds (format 2.0 samples in rounds), through
// the writer and the reader: exact round trips with threads that appear,
// disappear and come back mid-chunk, time going back, CPU shares; round
// times within a tolerance, late rounds and a skip of the sampler; the size
// that buys; truncation at every byte and random damage; replay of a
// chunk; a round of more threads than one record holds; and 1.0 and 1.1
// files (tests/data) read as before.
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/ml_summary.h"
#include "core/ml_error.h"
#include "format/ml_format.h"
#include "format/ml_reader.h"
#include "format/ml_rounds.h"
#include "format/ml_writer.h"
#include "ml_test_util.h"

#define MAX_THREADS 8
#define NSTACKS 24

typedef struct {
    uint64_t time;
    uint32_t stack;
    uint8_t state, cpu;
} msample;

/* What was written, per writer thread id. */
typedef struct {
    msample *s[MAX_THREADS + 1];
    size_t n[MAX_THREADS + 1], cap[MAX_THREADS + 1];
    uint32_t stacks[NSTACKS + 1];
    uint64_t total;
} model;

static void
m_add(model *m, uint32_t th, msample x)
{
    if (m->n[th] == m->cap[th]) {
        m->cap[th] = m->cap[th] ? m->cap[th] * 2 : 256;
        m->s[th] = realloc(m->s[th], m->cap[th] * sizeof(msample));
        assert_non_null(m->s[th]);
    }
    m->s[th][m->n[th]++] = x;
    m->total++;
}

static void
m_free(model *m)
{
    for (int i = 0; i <= MAX_THREADS; i++) {
        free(m->s[i]);
    }
}

static void
sample(ml_writer *w, model *m, uint32_t th, msample x)
{
    assert_int_equal(
        ml_writer_sample_cpu(w, th, x.time, x.stack, x.state, x.cpu), 0);
    m_add(m, th, x);
}

/* Strings, frames and a tree of NSTACKS stacks. */
static void
define_stacks(ml_writer *w, model *m)
{
    uint32_t file, name, frame;
    assert_int_equal(ml_writer_string(w, "app.py", 6, &file), 0);
    assert_int_equal(ml_writer_string(w, "f", 1, &name), 0);
    for (uint32_t i = 1; i <= NSTACKS; i++) {
        assert_int_equal(ml_writer_frame(w, name, file, i, 1, &frame), 0);
        uint32_t parent = i <= 3 ? 0 : m->stacks[i / 3];
        assert_int_equal(ml_writer_stack(w, parent, frame, &m->stacks[i]), 0);
    }
}

/* Reads data and checks that each thread's runs spell out exactly its
 * samples (times within tol). Returns the number of runs. */
static size_t
verify(const model *m, const uint8_t *data, size_t len, uint32_t tol)
{
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(data, len, &r), 0);
    size_t pos[MAX_THREADS + 1] = {0}, runs = 0;
    ml_record rec;
    int rc;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        if (rec.kind != ML_KIND_SAMPLES) {
            continue;
        }
        uint32_t th = rec.u.samples.thread, c = rec.u.samples.count;
        assert_true(th >= 1 && th <= MAX_THREADS);
        assert_true(c >= 1 && pos[th] + c <= m->n[th]);
        const msample *s = &m->s[th][pos[th]];
        uint64_t first = rec.time_us,
                 last = rec.time_us + rec.u.samples.span_us;
        if (first + tol < s[0].time || first > s[0].time + tol
            || last + tol < s[c - 1].time || last > s[c - 1].time + tol) {
            fail_msg("thread %u sample %zu: run %llu..%llu, samples at "
                     "%llu..%llu",
                     th, pos[th], (unsigned long long)first,
                     (unsigned long long)last, (unsigned long long)s[0].time,
                     (unsigned long long)s[c - 1].time);
        }
        for (uint32_t i = 0; i < c; i++) {
            if (s[i].stack != rec.u.samples.stack
                || s[i].state != rec.u.samples.state
                || s[i].cpu != rec.u.samples.cpu) {
                fail_msg("thread %u sample %zu differs", th, pos[th] + i);
            }
        }
        pos[th] += c;
        runs++;
    }
    if (rc != 0) {
        fail_msg("reader: %d %s", rc, ml_reader_message(r));
    }
    for (int th = 1; th <= MAX_THREADS; th++) {
        assert_int_equal(pos[th], m->n[th]);
    }
    ml_reader_stats st;
    ml_reader_get_stats(r, &st);
    assert_int_equal(st.major_version, ML_FORMAT_VERSION_MAJOR);
    ml_reader_free(r);
    return runs;
}

/* A sampler-like program: rounds over the live threads, which mostly
 * repeat, sometimes move (to a recent stack or a new one) or change their
 * CPU share; thread 5 starts at round 500, thread 2 ends at 1200, thread 6
 * starts at 1500 and misses every 7th round, and time goes back once. */
static uint8_t *
program(model *m, uint32_t tol, uint32_t chunk_bytes, uint32_t rounds,
        size_t *len)
{
    int fd;
    ml_writer_options opt = {.chunk_bytes = chunk_bytes};
    ml_writer *w = tu_writer(&opt, &fd);
    if (tol > 0) {
        ml_writer_set_rounds(w, 1000, tol);
    }
    define_stacks(w, m);
    uint32_t id;
    for (uint32_t i = 1; i <= 4; i++) {
        assert_int_equal(ml_writer_thread(w, 0, 100 + i, i, 0, &id), 0);
        assert_int_equal(id, i);
    }
    tu_rng rng = {99};
    msample cur[MAX_THREADS + 1];
    for (int i = 0; i <= MAX_THREADS; i++) {
        cur[i] = (msample){0, m->stacks[1 + i % NSTACKS], 3, ML_CPU_FULL};
    }
    uint32_t live = 4;
    uint64_t t = 1000;
    for (uint32_t r = 0; r < rounds; r++) {
        if (r == 500 || r == 1500) {
            assert_int_equal(ml_writer_thread(w, t, 200 + r, r, 0, &id), 0);
            live = id;
        }
        for (uint32_t th = 1; th <= live; th++) {
            if ((th == 2 && r >= 1200) || (th == 6 && r % 7 == 0)) {
                continue;
            }
            uint32_t dice = tu_below(&rng, 100);
            msample *c = &cur[th];
            if (dice < 10) {
                c->stack = m->stacks[1 + tu_below(&rng, NSTACKS)];
            } else if (dice < 14) {
                c->cpu = (uint8_t)tu_below(&rng, ML_CPU_FULL + 1);
                c->state = c->cpu ? 3 : 0;
            } else if (dice < 15) {
                c->cpu = ML_CPU_UNKNOWN;
                c->state = ML_STATE_UNKNOWN;
            } else if (dice < 16) {
                c->stack = 0; /* an empty stack */
            }
            c->time = t;
            sample(w, m, th, *c);
        }
        if (r == 1200) {
            assert_int_equal(ml_writer_thread_end(w, 2, t), 0);
        }
        t += 1000 + tu_below(&rng, 40);
        if (r % 97 == 50) {
            t += 300 + tu_below(&rng, 900); /* a late round */
        }
        if (r == 2000) {
            t -= 1700; /* the clock went back */
        }
    }
    assert_int_equal(ml_writer_end(w, t, 0), 0);
    assert_int_equal(ml_writer_close(w), 0);
    uint8_t *data = tu_slurp(fd, len);
    close(fd);
    return data;
}

static void
test_rounds_exact(void **state)
{
    (void)state;
    model m = {0};
    size_t len;
    uint8_t *data = program(&m, 0, 2048, 3000, &len);
    size_t runs = verify(&m, data, len, 0);
    print_message("exact: %llu samples, %zu runs, %zu bytes (%.3f per "
                  "sample)\n",
                  (unsigned long long)m.total, runs, len,
                  (double)len / (double)m.total);
    free(data);
    m_free(&m);
}

static void
test_rounds_tolerance(void **state)
{
    (void)state;
    model exact = {0}, loose = {0};
    size_t len0, len1;
    uint8_t *d0 = program(&exact, 0, 1 << 16, 3000, &len0);
    uint8_t *d1 = program(&loose, 62, 1 << 16, 3000, &len1);
    verify(&loose, d1, len1, 62);
    print_message("tolerance 62 us: %zu bytes, exact: %zu bytes\n", len1,
                  len0);
    /* Jitter within the tolerance costs nothing: most of the exact
     * file's time corrections are gone. */
    assert_true(len1 < len0 * 9 / 10);
    free(d0);
    free(d1);
    exact.total = 0;
    m_free(&exact);
    m_free(&loose);
}

/* One thread moving at every round, so that every run is one sample and
 * shows its round's stored time: on time, late, a lasting skip. */
static void
test_rounds_late(void **state)
{
    (void)state;
    static const uint64_t times[] = {0,     1000,  2010,  3450,  4003,
                                     5000,  8200,  9210,  10200, 11190,
                                     12800, 13200, 14200, 15201, 16190};
    const size_t n = sizeof times / sizeof times[0];
    model m = {0};
    int fd;
    ml_writer *w = tu_writer(NULL, &fd);
    ml_writer_set_rounds(w, 1000, 62);
    define_stacks(w, &m);
    uint32_t id;
    assert_int_equal(ml_writer_thread(w, 0, 1, 1, 0, &id), 0);
    for (size_t i = 0; i < n; i++) {
        sample(w, &m, id,
               (msample){times[i], m.stacks[1 + i % 2], 1, ML_CPU_FULL});
    }
    assert_int_equal(ml_writer_close(w), 0);
    size_t len;
    uint8_t *data = tu_slurp(fd, &len);
    close(fd);
    assert_int_equal(verify(&m, data, len, 62), n);
    free(data);
    m_free(&m);
}

/* Idle threads at a steady rate: a round costs next to nothing. */
static void
test_rounds_idle_size(void **state)
{
    (void)state;
    model m = {0};
    int fd;
    ml_writer *w = tu_writer(NULL, &fd);
    ml_writer_set_rounds(w, 1000, 62);
    define_stacks(w, &m);
    uint32_t id;
    for (uint32_t i = 1; i <= 4; i++) {
        assert_int_equal(ml_writer_thread(w, 0, i, i, 0, &id), 0);
    }
    tu_rng rng = {5};
    for (uint32_t r = 0; r < 20000; r++) {
        /* The sampler's deadlines, each woken up to 50 us late. */
        uint64_t t = 1000 * (uint64_t)r + tu_below(&rng, 50);
        for (uint32_t th = 1; th <= 4; th++) {
            sample(w, &m, th, (msample){t, m.stacks[th], 0, 0});
        }
        if (r % 1000 == 999) {
            assert_int_equal(ml_writer_flush(w), 0); /* one per second */
        }
    }
    assert_int_equal(ml_writer_close(w), 0);
    size_t len;
    uint8_t *data = tu_slurp(fd, &len);
    close(fd);
    verify(&m, data, len, 62);
    double per = (double)len / (double)m.total;
    print_message("idle: %llu samples, %zu bytes, %.4f per sample\n",
                  (unsigned long long)m.total, len, per);
    assert_true(per < 0.03);
    free(data);
    m_free(&m);
}

/* Every record of a full reading, to compare prefixes with. */
typedef struct {
    ml_record *r;
    size_t n;
} records;

static records
read_records(const uint8_t *data, size_t len, int *rc_out)
{
    records out = {NULL, 0};
    size_t cap = 0;
    ml_reader *r;
    int rc = ml_reader_open_mem(data, len, &r);
    ml_record rec;
    while (rc == 0 && (rc = ml_reader_next(r, &rec)) > 0) {
        rc = 0;
        if (out.n == cap) {
            cap = cap ? cap * 2 : 256;
            out.r = realloc(out.r, cap * sizeof *out.r);
            assert_non_null(out.r);
        }
        /* Only samples are compared: byte ranges die with the chunk. */
        out.r[out.n++] =
            rec.kind == ML_KIND_SAMPLES ? rec : (ml_record){.kind = rec.kind};
    }
    *rc_out = rc;
    ml_reader_free(r);
    return out;
}

static void
assert_prefix(const records *part, const records *all)
{
    assert_true(part->n <= all->n);
    for (size_t i = 0; i < part->n; i++) {
        if (part->r[i].kind != all->r[i].kind
            || (part->r[i].kind == ML_KIND_SAMPLES
                && !tu_record_eq(&part->r[i], &all->r[i]))) {
            fail_msg("record %zu differs from the full reading", i);
        }
    }
}

/* A recording of program() and its full reading. */
typedef struct {
    model m;
    uint8_t *data;
    size_t len;
    records all;
} fixture;

static void
fixture_make(fixture *f, uint32_t chunk_bytes, uint32_t rounds)
{
    memset(f, 0, sizeof *f);
    f->data = program(&f->m, 62, chunk_bytes, rounds, &f->len);
    int rc;
    f->all = read_records(f->data, f->len, &rc);
    assert_int_equal(rc, 0);
}

static void
fixture_free(fixture *f)
{
    free(f->all.r);
    free(f->data);
    m_free(&f->m);
}

static void
test_rounds_truncation(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 512, 700);
    const uint8_t *data = f.data;
    size_t len = f.len;
    int rc;
    uint64_t offs[4096];
    size_t nchunks = tu_chunk_offsets(data, len, offs, 4096);
    assert_true(nchunks > 5);
    for (size_t cut = ML_FILE_HEADER_SIZE; cut < len; cut++) {
        records part = read_records(data, cut, &rc);
        int boundary = 0;
        for (size_t k = 0; k < nchunks; k++) {
            boundary |= offs[k] == cut;
        }
        if (rc != (boundary ? 0 : ML_ETRUNC)) {
            fail_msg("cut at %zu: rc %d", cut, rc);
        }
        assert_prefix(&part, &f.all);
        free(part.r);
    }
    print_message("cut at every byte of %zu (%zu chunks)\n", len, nchunks);
    fixture_free(&f);
}

static void
test_rounds_damage(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 1024, 1500);
    const uint8_t *data = f.data;
    size_t len = f.len;
    const records all = f.all;
    int rc;
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    tu_rng rng = {17};
    size_t errors = 0;
    for (int i = 0; i < 400; i++) {
        memcpy(copy, data, len);
        size_t at = ML_FILE_HEADER_SIZE + tu_below(&rng, (uint32_t)len - 16);
        copy[at] ^= (uint8_t)(1 + tu_below(&rng, 255));
        records part = read_records(copy, len, &rc);
        errors += rc != 0;
        /* What came before the damaged chunk is as it was. */
        size_t same = 0;
        while (same < part.n && same < all.n
               && part.r[same].kind == all.r[same].kind
               && (part.r[same].kind != ML_KIND_SAMPLES
                   || tu_record_eq(&part.r[same], &all.r[same]))) {
            same++;
        }
        assert_true(rc != 0 || same == all.n);
        free(part.r);
    }
    assert_true(errors > 300); /* checksums catch nearly every flip */
    free(copy);
    fixture_free(&f);
}

/* A chunk read again gives the same runs. */
static void
test_rounds_replay(void **state)
{
    (void)state;
    model m = {0};
    size_t len;
    uint8_t *data = program(&m, 62, 256, 900, &len);
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(data, len, &r), 0);
    ml_record rec;
    ml_record first[64];
    ml_reader_pos pos[64];
    size_t nchunks = 0;
    uint32_t seq = UINT32_MAX;
    int rc;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        ml_reader_pos at;
        ml_reader_tell(r, &at);
        if (rec.kind == ML_KIND_SAMPLES && at.chunk_seq != seq
            && nchunks < 64) {
            seq = at.chunk_seq;
            pos[nchunks] = at;
            first[nchunks++] = rec;
        }
    }
    assert_int_equal(rc, 0);
    assert_true(nchunks > 3);
    for (size_t k = 0; k < nchunks; k++) {
        assert_int_equal(
            ml_reader_replay(r, pos[k].chunk_off, pos[k].chunk_seq), 0);
        int found = 0;
        while ((rc = ml_reader_next(r, &rec)) > 0) {
            if (!found && rec.kind == ML_KIND_SAMPLES) {
                assert_true(tu_record_eq(&rec, &first[k]));
                found = 1;
            }
        }
        assert_int_equal(rc, 0);
        assert_true(found);
        ml_reader_replay_end(r);
    }
    ml_reader_free(r);
    free(data);
    m_free(&m);
}

/* More threads in one round than a record holds: the writer starts the
 * next record, nothing is lost. */
static void
test_rounds_many_threads(void **state)
{
    (void)state;
    const uint32_t n = ML_ROUNDS_MAX_LANES + 100;
    int fd;
    ml_writer *w = tu_writer(NULL, &fd);
    uint32_t id;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(ml_writer_thread(w, 0, i, i, 0, &id), 0);
    }
    for (uint32_t r = 0; r < 3; r++) {
        for (uint32_t i = 1; i <= n; i++) {
            assert_int_equal(
                ml_writer_sample_cpu(w, i, 1000 * r, 0, 0, (uint8_t)(i % 16)),
                0);
        }
    }
    assert_int_equal(ml_writer_close(w), 0);
    size_t len;
    uint8_t *data = tu_slurp(fd, &len);
    close(fd);
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(data, len, &r), 0);
    ml_record rec;
    int rc;
    uint64_t samples = 0;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        if (rec.kind == ML_KIND_SAMPLES) {
            assert_int_equal(rec.u.samples.cpu, rec.u.samples.thread % 16);
            samples += rec.u.samples.count;
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(samples, 3 * (uint64_t)n);
    ml_reader_free(r);
    free(data);
}

/* The summary adds up CPU shares (microlog show's cpu columns). */
static void
test_rounds_cpu_summary(void **state)
{
    (void)state;
    int fd;
    ml_writer *w = tu_writer(NULL, &fd);
    uint32_t id;
    assert_int_equal(ml_writer_thread(w, 0, 1, 1, 0, &id), 0);
    static const uint8_t cpu[] = {ML_CPU_UNKNOWN, 15, 15, 0, 5, 10, 15};
    for (uint32_t i = 0; i < sizeof cpu; i++) {
        assert_int_equal(
            ml_writer_sample_cpu(w, id, 1000 * i, 0, cpu[i] ? 1 : 0, cpu[i]),
            0);
    }
    assert_int_equal(ml_writer_close(w), 0);
    size_t len;
    uint8_t *data = tu_slurp(fd, &len);
    close(fd);
    ml_reader *r;
    ml_summary *s;
    assert_int_equal(ml_reader_open_mem(data, len, &r), 0);
    assert_int_equal(ml_summary_build(r, &s), 0);
    assert_int_equal(s->nthreads, 1);
    assert_int_equal(s->threads[0].samples, 7);
    assert_int_equal(s->threads[0].cpu_known, 6);
    assert_int_equal(s->threads[0].cpu_15ths, 60);
    ml_summary_free(s);
    ml_reader_free(r);
    free(data);
}

/* The worked example of docs/FORMAT.md, "Samples in rounds", byte for
 * byte, and the runs it gives. */
static void
test_rounds_worked_example(void **state)
{
    (void)state;
    ml_rounds_enc e;
    ml_rounds_enc_init(&e);
    ml_rounds_enc_config(&e, 1000, 62);
    static const struct {
        uint32_t thread;
        uint64_t time;
        ml_rounds_key key;
    } in[] = {
        {1, 5000000, {7, 3, 15}}, {2, 5000000, {9, 0, 0}},
        {1, 5001020, {7, 3, 15}}, {2, 5001020, {9, 0, 0}},
        {1, 5002400, {8, 3, 15}}, {2, 5002400, {9, 0, 0}},
        {1, 5003010, {7, 3, 15}}, {2, 5003010, {9, 0, 4}},
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        assert_int_equal(
            ml_rounds_enc_sample(&e, in[i].thread, in[i].time, in[i].key), 0);
    }
    uint64_t first;
    assert_int_equal(ml_rounds_enc_first(&e, &first), 1);
    assert_true(first == 5000000);
    ml_buf out;
    ml_buf_init(&out, 1024);
    assert_int_equal(ml_buf_append_svarint(&out, 0), 0); /* the clock */
    assert_int_equal(ml_rounds_enc_finish(&e, &out), 0);
    static const uint8_t doc[] = {
        0x00, 0xE8, 0x07, 0x3E, 0x04,       /* time, interval, tolerance, 4 */
        0xF2, 0x02, 0x01, 0x07, 0x03, 0x0F, /* round 0: 2 new lanes */
        0x02, 0x09, 0x00, 0x00,             /* ... */
        0x00,                               /* round 1: all repeat */
        0xF4, 0x06, 0x31, 0x02, 0x00,       /* round 2: late, a new stack */
        0x21, 0x54,                         /* round 3: recent, CPU */
    };
    assert_int_equal(out.len, sizeof doc);
    assert_memory_equal(out.data, doc, sizeof doc);
    ml_rounds_dec d;
    ml_rounds_dec_init(&d);
    int64_t clock = 5000000;
    const char *why = NULL;
    assert_int_equal(
        ml_rounds_dec_begin(&d, out.data, (uint32_t)out.len, &clock, 2, &why),
        0);
    static const struct {
        uint32_t thread, stack;
        uint8_t cpu;
        uint64_t time, span;
        uint32_t count;
    } runs[] = {
        {1, 7, 15, 5000000, 1000, 2}, {1, 8, 15, 5002375, 0, 1},
        {2, 9, 0, 5000000, 2375, 3},  {1, 7, 15, 5003000, 0, 1},
        {2, 9, 4, 5003000, 0, 1},
    };
    ml_record r;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        assert_int_equal(ml_rounds_dec_next(&d, &r, &why), 1);
        assert_int_equal(r.u.samples.thread, runs[i].thread);
        assert_int_equal(r.u.samples.stack, runs[i].stack);
        assert_int_equal(r.u.samples.cpu, runs[i].cpu);
        assert_int_equal(r.u.samples.count, runs[i].count);
        assert_true(r.time_us == runs[i].time);
        assert_true(r.u.samples.span_us == runs[i].span);
    }
    assert_int_equal(ml_rounds_dec_next(&d, &r, &why), 0);
    ml_rounds_dec_free(&d);
    ml_buf_free(&out);
    ml_rounds_enc_free(&e);
}

/* ---- earlier versions --------------------------------------------------- */

static uint8_t *
load(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", ML_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    uint8_t *data = malloc(1 << 20);
    assert_non_null(data);
    *len = fread(data, 1, 1 << 20, f);
    fclose(f);
    return data;
}

/* tests/data/v1_1.mlog, v2_0.mlog and v3_0.mlog: written by the writers of
 * those versions (ml_gen --threads 3 --seconds 0.3). Their counts are
 * ml_gen's exact ones, whatever the version. */
static void
check_gen(const uint8_t *data, size_t len, uint16_t major, uint16_t minor)
{
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(data, len, &r), 0);
    ml_record rec;
    int rc;
    uint64_t samples = 0, running = 0, runs = 0, logs = 0;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        if (rec.kind == ML_KIND_SAMPLES) {
            if (major == 1) {
                assert_int_equal(rec.u.samples.cpu, ML_CPU_UNKNOWN);
            }
            samples += rec.u.samples.count;
            running += rec.u.samples.state & ML_STATE_RUNNING
                           ? rec.u.samples.count
                           : 0;
            runs++;
        }
        logs += rec.kind == ML_KIND_LOG;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(samples, 900);
    assert_int_equal(running, 600);
    assert_int_equal(runs, 166);
    assert_int_equal(logs, 3);
    ml_reader_stats st;
    ml_reader_get_stats(r, &st);
    assert_int_equal(st.major_version, major);
    assert_int_equal(st.minor_version, minor);
    assert_int_equal(st.threads, 3);
    ml_reader_free(r);
}

static void
test_read_v1(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = load("v1_1.mlog", &len);
    check_gen(data, len, 1, 1);
    data[10] = 0; /* the same bytes as a 1.0 file */
    check_gen(data, len, 1, 0);
    free(data);
}

/* Every string, frame and stack of a reader's tables, in id order. */
static void
definitions(const uint8_t *data, size_t len, ml_buf *out)
{
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(data, len, &r), 0);
    ml_record rec;
    int rc;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        if (rec.kind == ML_KIND_STRING) {
            ml_buf_append_bytes(out, rec.u.string.text.ptr,
                                rec.u.string.text.len);
        } else if (rec.kind == ML_KIND_FRAME) {
            ml_buf_append(out, &rec.u.frame, sizeof rec.u.frame);
        } else if (rec.kind == ML_KIND_STACK) {
            ml_buf_append(out, &rec.u.stack, sizeof rec.u.stack);
        }
    }
    assert_int_equal(rc, 0);
    ml_reader_free(r);
}

/* 2.0 files (definitions with ids) and 3.0 ones (ids implied, parents as
 * distances) of the same program hold the same definitions, and 3.0 is
 * smaller. */
static void
test_read_v2_and_v3(void **state)
{
    (void)state;
    size_t len2, len3;
    uint8_t *v2 = load("v2_0.mlog", &len2);
    uint8_t *v3 = load("v3_0.mlog", &len3);
    check_gen(v2, len2, 2, 0);
    check_gen(v3, len3, 3, 0);
    ml_buf d2, d3;
    ml_buf_init(&d2, 1 << 20);
    ml_buf_init(&d3, 1 << 20);
    definitions(v2, len2, &d2);
    definitions(v3, len3, &d3);
    assert_true(d2.len > 0);
    assert_int_equal(d2.len, d3.len);
    assert_memory_equal(d2.data, d3.data, d2.len);
    assert_true(len3 < len2);
    ml_buf_free(&d2);
    ml_buf_free(&d3);
    free(v2);
    free(v3);
}

/* Kind 14 means nothing to a 1.x file: skipped there, decoded in 2.0. */
static void
test_kind14_by_version(void **state)
{
    (void)state;
    for (int major = 1; major <= 2; major++) {
        ml_buf body, file;
        ml_buf_init(&body, 1 << 16);
        ml_buf_init(&file, 1 << 16);
        tu_raw_record(&body, ML_KIND_ROUNDS, "\x05\x01garbage", 9);
        tu_file_header(&file);
        file.data[8] = (uint8_t)major;
        file.data[10] = 1;
        tu_chunk(&file, 0, 0, body.data, body.len);
        tu_result res = tu_read_all(file.data, file.len);
        if (major == 1) {
            assert_int_equal(res.rc, 0);
            assert_int_equal(res.records, 0);
        } else {
            assert_int_equal(res.rc, ML_ECORRUPT);
            assert_non_null(strstr(res.msg, "rounds"));
        }
        ml_buf_free(&body);
        ml_buf_free(&file);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds_exact),
        cmocka_unit_test(test_rounds_tolerance),
        cmocka_unit_test(test_rounds_late),
        cmocka_unit_test(test_rounds_idle_size),
        cmocka_unit_test(test_rounds_truncation),
        cmocka_unit_test(test_rounds_damage),
        cmocka_unit_test(test_rounds_replay),
        cmocka_unit_test(test_rounds_many_threads),
        cmocka_unit_test(test_rounds_cpu_summary),
        cmocka_unit_test(test_rounds_worked_example),
        cmocka_unit_test(test_read_v1),
        cmocka_unit_test(test_read_v2_and_v3),
        cmocka_unit_test(test_kind14_by_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
