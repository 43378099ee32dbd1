// SPDX-License-Identifier: MIT
// ml_make_corpus: writes the seed inputs of the fuzz targets (committed in
// tests/fuzz/corpus/; rerun after a format change):
//
//   ml_make_corpus tests/fuzz/corpus
//
//   reader/     recordings of several shapes made with the writer, plus
//               damaged ones (cut, flipped, bad ids, gaps, unknown kinds)
//   codec/      kind byte, clock selector byte, payload: every record kind
//               encoded with the codec, plus cut and overlong payloads, and
//               ROUNDS payloads made with the rounds encoder
//
// Files from earlier format versions in the corpus are kept: this writes
// only the current version, and older entries have names of their own
// (2.0: rounds_*, kind14_*, and v2_*, the 2.0 writer's recordings and
// codec inputs of META and definitions in 2.0's layout, clock byte bit 2
// set).
//   roundtrip/  programs for fuzz_roundtrip (see that file for the ops)
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/ml_buf.h"
#include "format/ml_chunk.h"
#include "format/ml_codec.h"
#include "format/ml_format.h"
#include "format/ml_rounds.h"
#include "format/ml_writer.h"

static const char *root;
static int failed;

static void
die(const char *what)
{
    fprintf(stderr, "ml_make_corpus: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
put(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        die(path);
    }
}

static uint64_t rng = 1;

static uint32_t
rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33) % n;
}

/* ---- recordings made with the writer ---------------------------------- */

static int
new_writer(uint32_t chunk_bytes, ml_writer **w)
{
    int fd = memfd_create("corpus", MFD_CLOEXEC);
    if (fd < 0) {
        die("memfd_create");
    }
    ml_writer_options opt = {.chunk_bytes = chunk_bytes};
    if (ml_writer_open_fd(dup(fd), &opt, w) != 0) {
        die("ml_writer_open_fd");
    }
    return fd;
}

static uint8_t *
finish(ml_writer *w, int fd, size_t *len)
{
    if (ml_writer_close(w) != 0) {
        failed = 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        die("fstat");
    }
    *len = (size_t)st.st_size;
    uint8_t *data = malloc(*len + 1);
    if (data == NULL || pread(fd, data, *len, 0) != (ssize_t)*len) {
        die("pread");
    }
    close(fd);
    return data;
}

/* A small program's recording: every record kind, nthreads threads,
 * nsamples samples, chunks of chunk_bytes. */
static uint8_t *
recording(uint32_t chunk_bytes, uint32_t nthreads, uint32_t nsamples,
          size_t *len)
{
    ml_writer *w;
    int fd = new_writer(chunk_bytes, &w);
    ml_writer_meta_str(w, "label", "corpus");
    ml_writer_meta_str(w, "argv", "python app.py --fast");
    ml_writer_meta_uint(w, "pid", 4321);
    ml_value f = {.tag = ML_TAG_F64};
    f.v.f = 0.001;
    ml_writer_meta(w, "interval_s", &f);
    uint32_t file, names[6], frames[6], stacks[12] = {0}, threads[8];
    ml_writer_string(w, "app.py", 6, &file);
    static const char *fn[6] = {"<module>", "main",    "work",
                                "parse",    "compute", "wait"};
    for (int i = 0; i < 6; i++) {
        ml_writer_string(w, fn[i], strlen(fn[i]), &names[i]);
        ml_writer_frame(w, names[i], file, 10 * (uint32_t)i + 2,
                        10 * (uint32_t)i, &frames[i]);
    }
    /* A small tree: module > main > (work > (parse | compute) | wait). */
    ml_writer_stack(w, 0, frames[0], &stacks[0]);
    ml_writer_stack(w, stacks[0], frames[1], &stacks[1]);
    ml_writer_stack(w, stacks[1], frames[2], &stacks[2]);
    ml_writer_stack(w, stacks[2], frames[3], &stacks[3]);
    ml_writer_stack(w, stacks[2], frames[4], &stacks[4]);
    ml_writer_stack(w, stacks[1], frames[5], &stacks[5]);
    for (uint32_t i = 0; i < nthreads && i < 8; i++) {
        ml_writer_thread(w, i * 10, 1000 + i, 0x7f00 + i, i ? 0 : names[1],
                         &threads[i]);
    }
    uint32_t cpu, mb;
    ml_writer_string(w, "MB", 2, &mb);
    ml_writer_series(w, ML_SERIES_STATUS, names[4], 0, &cpu);
    uint64_t t = 100;
    uint32_t cur = 1;
    for (uint32_t i = 0; i < nsamples; i++) {
        if (rnd(6) == 0) {
            cur = rnd(6);
        }
        uint32_t th = threads[i % nthreads];
        ml_writer_sample(w, th, t, stacks[cur], (uint8_t)(cur == 5 ? 0 : 3));
        if (i % 40 == 7) {
            ml_log log = {.time_us = t,
                          .thread = th,
                          .level = 30,
                          .source = ML_LOG_LOGGING,
                          .stack = stacks[cur]};
            log.text = (ml_bytes){(const uint8_t *)"disk almost full", 16};
            ml_writer_log(w, &log);
        }
        if (i % 60 == 11) {
            ml_span sp = {.call_id = i,
                          .thread = th,
                          .time_us = t - 50,
                          .wall_ns = 50000,
                          .cpu_ns = 20000,
                          .mem_delta = -64,
                          .name = names[2],
                          .file = file,
                          .line = 22};
            sp.args = (ml_bytes){(const uint8_t *)"(n=10)", 6};
            ml_writer_span(w, &sp);
        }
        if (i % 30 == 0) {
            ml_value v = {.tag = ML_TAG_UINT};
            v.v.u = 20 + i % 50;
            ml_writer_value(w, cpu, t, &v);
        }
        t += 1000 + rnd(10);
    }
    if (nthreads > 1) {
        ml_writer_thread_name(w, threads[1], t, names[3]);
        ml_writer_thread_end(w, threads[1], t);
    }
    ml_writer_report(w, ML_REPORT_OPEN_FILES, names[0], "[\"a.txt\"]", 9);
    ml_writer_end(w, t, 0);
    return finish(w, fd, len);
}

/* A sampler's recording in format 2.0: nthreads threads sampled in every
 * round with CPU shares, round times within a tolerance, late rounds, a
 * thread that starts and one that ends in the middle of a chunk. */
static uint8_t *
rounds_recording(uint32_t rounds, size_t *len)
{
    ml_writer *w;
    int fd = new_writer(4096, &w);
    ml_writer_set_rounds(w, 1000, 62);
    ml_writer_meta_uint(w, "interval_us", 1000);
    uint32_t file, name, frames[4], stacks[4], threads[4];
    ml_writer_string(w, "loop.py", 7, &file);
    ml_writer_string(w, "step", 4, &name);
    uint32_t parent = 0;
    for (uint32_t i = 0; i < 4; i++) {
        ml_writer_frame(w, name, file, 10 + i, 10, &frames[i]);
        ml_writer_stack(w, i < 2 ? 0 : stacks[1], frames[i], &stacks[i]);
        parent = stacks[i];
    }
    (void)parent;
    for (uint32_t i = 0; i < 3; i++) {
        ml_writer_thread(w, 0, 2000 + i, 0x7e00 + i, 0, &threads[i]);
    }
    uint64_t t = 50;
    uint32_t live = 3;
    for (uint32_t r = 0; r < rounds; r++) {
        if (r == rounds / 4) {
            ml_writer_thread(w, t, 2003, 0x7e03, name, &threads[3]);
            live = 4;
        }
        for (uint32_t i = 0; i < live; i++) {
            if (i == 1 && r >= rounds / 2) {
                continue; /* ended */
            }
            uint32_t st = i == 2 ? stacks[3] : stacks[(r / (3 + i)) % 4];
            uint8_t cpu = i == 2 ? 0 : (uint8_t)(rnd(4) ? 15 : rnd(16));
            uint8_t state = cpu ? ML_STATE_RUNNING | ML_STATE_GIL : 0;
            ml_writer_sample_cpu(w, threads[i], t, st, state, cpu);
        }
        if (r == rounds / 2) {
            ml_writer_thread_end(w, threads[1], t);
        }
        t += 1000 + rnd(40) + (r % 37 == 36 ? 400 : 0);
    }
    ml_writer_end(w, t, 0);
    return finish(w, fd, len);
}

/* A ROUNDS payload as the codec fuzz target takes it: kind, selector
 * (clock 0, 8 threads defined), payload. */
static void
rounds_payload(ml_buf *out)
{
    ml_rounds_enc e;
    ml_rounds_enc_init(&e);
    ml_rounds_enc_config(&e, 1000, 62);
    uint64_t t = 1000;
    for (uint32_t r = 0; r < 60; r++) {
        for (uint32_t th = 1; th <= (r < 20 ? 3u : 5u); th++) {
            if (th == 2 && r > 40) {
                continue;
            }
            ml_rounds_key k = {(r / th) % 5, (uint8_t)(th & 3),
                               (uint8_t)(th == 1 ? 15 : rnd(16))};
            ml_rounds_enc_sample(&e, th, t, k);
        }
        t += 1000 + rnd(30) + (r % 13 == 12 ? 700 : 0);
    }
    uint64_t first = 0;
    ml_rounds_enc_first(&e, &first);
    ml_buf_append_u8(out, ML_KIND_ROUNDS);
    ml_buf_append_u8(out, 8 << 2);
    ml_buf_append_svarint(out, (int64_t)first);
    ml_rounds_enc_finish(&e, out);
    ml_rounds_enc_free(&e);
}

/* ---- hand-built chunks -------------------------------------------------- */

static void
chunk(ml_buf *file, uint32_t seq, uint64_t base, const ml_buf *body)
{
    uint8_t comp[1 << 16];
    size_t n = ZSTD_compress(comp, sizeof comp, body->data, body->len, 3);
    if (ZSTD_isError(n)) {
        die("ZSTD_compress");
    }
    ml_chunk_header h = {seq, base, (uint32_t)n, (uint32_t)body->len,
                         ml_checksum(comp, n)};
    uint8_t hb[ML_CHUNK_HEADER_SIZE];
    ml_chunk_header_encode(&h, hb);
    ml_buf_append(file, hb, sizeof hb);
    ml_buf_append(file, comp, n);
}

static void
record(ml_buf *body, const ml_record *r, int64_t *clock)
{
    ml_buf p;
    ml_buf_init(&p, ML_RECORD_MAX);
    if (ml_codec_encode(&p, ML_FORMAT_VERSION_MAJOR, r, clock) != 0) {
        failed = 1;
    }
    ml_buf_append_u8(body, r->kind);
    ml_buf_append_bytes(body, p.data, p.len);
    ml_buf_free(&p);
}

static void
header(ml_buf *file)
{
    uint8_t h[ML_FILE_HEADER_SIZE];
    ml_file_header_encode(h);
    ml_buf_append(file, h, sizeof h);
}

/* One example of every kind, for the codec corpus and hand-built files. */
static size_t
examples(ml_record *out)
{
    size_t n = 0;
    ml_record r;
    r = (ml_record){.kind = ML_KIND_STRING};
    r.u.string.id = 1;
    r.u.string.text = (ml_bytes){(const uint8_t *)"main", 4};
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_FRAME};
    r.u.frame.id = 1;
    r.u.frame.name = 1;
    r.u.frame.file = 1;
    r.u.frame.line = 300;
    r.u.frame.firstline = 299;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_STACK};
    r.u.stack.id = 1;
    r.u.stack.frame = 1;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_THREAD, .time_us = 5};
    r.u.thread.id = 1;
    r.u.thread.native_id = 77;
    r.u.thread.ident = 140000000000ull;
    r.u.thread.name = 1;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_SERIES};
    r.u.series.id = 1;
    r.u.series.cls = ML_SERIES_METRIC;
    r.u.series.name = 1;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_META};
    r.u.meta.key = (ml_bytes){(const uint8_t *)"python", 6};
    r.u.meta.value.tag = ML_TAG_BYTES;
    r.u.meta.value.v.b = (ml_bytes){(const uint8_t *)"3.12.1", 6};
    out[n++] = r;
    r.u.meta.value.tag = ML_TAG_INT;
    r.u.meta.value.v.i = -12345;
    out[n++] = r;
    r.u.meta.value.tag = ML_TAG_F64;
    r.u.meta.value.v.f = 2.5;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_SAMPLES, .time_us = 1000};
    r.u.samples.thread = 1;
    r.u.samples.stack = 1;
    r.u.samples.state = 3;
    r.u.samples.count = 250;
    r.u.samples.span_us = 249000;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_VALUE, .time_us = 2000};
    r.u.value.series = 1;
    r.u.value.value.tag = ML_TAG_UINT;
    r.u.value.value.v.u = 1u << 30;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_LOG, .time_us = 2500};
    r.u.log.time_us = 2500;
    r.u.log.thread = 1;
    r.u.log.level = 40;
    r.u.log.source = ML_LOG_STDERR;
    r.u.log.stack = 1;
    r.u.log.text = (ml_bytes){(const uint8_t *)"Traceback ...", 13};
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_SPAN, .time_us = 1500};
    r.u.span.time_us = 1500;
    r.u.span.call_id = 9;
    r.u.span.parent_call = 3;
    r.u.span.thread = 1;
    r.u.span.wall_ns = 123456;
    r.u.span.cpu_ns = 100000;
    r.u.span.mem_delta = -4096;
    r.u.span.name = 1;
    r.u.span.file = 1;
    r.u.span.line = 301;
    r.u.span.args = (ml_bytes){(const uint8_t *)"(x=1)", 5};
    r.u.span.exception = (ml_bytes){(const uint8_t *)"ValueError", 10};
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_REPORT};
    r.u.report.kind = ML_REPORT_LEAKS;
    r.u.report.name = 1;
    r.u.report.body = (ml_bytes){(const uint8_t *)"{}", 2};
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_THREAD_END, .time_us = 3000};
    r.u.thread_end.id = 1;
    out[n++] = r;
    r = (ml_record){.kind = ML_KIND_END, .time_us = 3001};
    r.u.end.exit_status = 1;
    out[n++] = r;
    return n;
}

/* ---- the three corpora -------------------------------------------------- */

static void
reader_corpus(void)
{
    size_t len;
    uint8_t *d;
    ml_buf f, b;
    char name[64];

    d = recording(0, 2, 300, &len); /* one chunk */
    put("reader", "one_chunk", d, len);
    free(d);
    d = recording(256, 3, 400, &len); /* many small chunks */
    put("reader", "small_chunks", d, len);
    uint8_t *copy = malloc(len);
    /* Damaged copies of it: cut in the last chunk, in a header, flipped. */
    put("reader", "cut_last_chunk", d, len - 7);
    put("reader", "cut_early", d, len / 3);
    for (int i = 0; i < 4; i++) {
        memcpy(copy, d, len);
        size_t at = ML_FILE_HEADER_SIZE + rnd((uint32_t)len - 16);
        copy[at] ^= (uint8_t)(1u << rnd(8));
        snprintf(name, sizeof name, "flipped_%d", i);
        put("reader", name, copy, len);
    }
    memcpy(copy, d, len);
    copy[8] = ML_FORMAT_VERSION_MAJOR + 1;
    put("reader", "major_next", copy, len);
    memcpy(copy, d, len);
    copy[0] = 'X';
    put("reader", "bad_magic", copy, len);
    free(copy);
    free(d);
    d = recording(1024, 8, 1500, &len); /* 8 threads */
    put("reader", "eight_threads", d, len);
    free(d);

    /* Header only; header and an empty chunk. */
    ml_buf_init(&f, 1 << 20);
    ml_buf_init(&b, 1 << 20);
    header(&f);
    put("reader", "header_only", f.data, f.len);
    chunk(&f, 0, 0, &b);
    put("reader", "empty_chunk", f.data, f.len);

    /* Every kind in one chunk, with unknown kinds between them. */
    ml_record ex[32];
    size_t n = examples(ex);
    ml_buf_reset(&f);
    header(&f);
    int64_t clock = 0;
    for (size_t i = 0; i < n; i++) {
        record(&b, &ex[i], &clock);
        if (i == 3) {
            ml_buf_append(&b, "\xc8\x03xyz", 5); /* kind 200 */
        }
    }
    put("reader", "raw-every_kind", b.data,
        b.len); /* fuzz_reader's 2nd pass */
    chunk(&f, 0, 0, &b);
    put("reader", "every_kind", f.data, f.len);

    /* A sequence gap: the same chunk twice. */
    size_t one = f.len - ML_FILE_HEADER_SIZE;
    uint8_t *again = malloc(one);
    memcpy(again, f.data + ML_FILE_HEADER_SIZE, one);
    ml_buf_append(&f, again, one); /* not from f itself: it may move */
    free(again);
    put("reader", "sequence_repeat", f.data, f.len);

    /* An undefined id: a sample of thread 2. */
    ml_buf_reset(&f);
    ml_buf_reset(&b);
    header(&f);
    clock = 0;
    for (size_t i = 0; i < 4; i++) {
        record(&b, &ex[i], &clock);
    }
    ml_record bad = ex[8];
    bad.u.samples.thread = 2;
    record(&b, &bad, &clock);
    put("reader", "raw-undefined_thread", b.data, b.len);
    chunk(&f, 0, 0, &b);
    put("reader", "undefined_thread", f.data, f.len);

    /* Only empty strings: the reader's string store is still unallocated
     * when they are looked up (a regression input). */
    ml_buf_reset(&f);
    ml_buf_reset(&b);
    header(&f);
    clock = 0;
    ml_record empty = ex[0];
    empty.u.string.text.len = 0;
    record(&b, &empty, &clock);
    ml_record fr = ex[1];
    record(&b, &fr, &clock);
    chunk(&f, 0, 0, &b);
    put("reader", "empty_strings", f.data, f.len);
    d = rounds_recording(900, &len);
    put("reader", "rounds_threads", d, len);
    put("reader", "rounds_cut", d, len - 9);
    memcpy(copy = malloc(len), d, len);
    copy[len / 2] ^= 0x20;
    put("reader", "rounds_flipped", copy, len);
    free(copy);
    free(d);
    ml_buf_free(&f);
    ml_buf_free(&b);
}

static void
codec_corpus(void)
{
    ml_record ex[32];
    size_t n = examples(ex);
    ml_buf b;
    ml_buf_init(&b, 1 << 20);
    char name[64];
    for (size_t i = 0; i < n; i++) {
        ml_buf_reset(&b);
        ml_buf_append_u8(&b, ex[i].kind);
        ml_buf_append_u8(&b, (uint8_t)(i % 4));
        int64_t clock = i % 4 == 2 ? 1000000 : i % 4 == 1 ? 1 : 0;
        if (i % 4 == 3) {
            clock = (INT64_C(1) << 62) - 1;
        }
        if (ml_codec_encode(&b, ML_FORMAT_VERSION_MAJOR, &ex[i], &clock)
            != 0) {
            failed = 1;
        }
        snprintf(name, sizeof name, "kind%02u_%zu", ex[i].kind, i);
        put("codec", name, b.data, b.len);
        if (b.len > 4) {
            snprintf(name, sizeof name, "kind%02u_%zu_cut", ex[i].kind, i);
            put("codec", name, b.data, b.len - 1);
        }
    }
    static const uint8_t overlong[] = {ML_KIND_END, 0,    0x80, 0x80, 0x80,
                                       0x80,        0x80, 0x80, 0x80, 0x80,
                                       0x80,        0x80, 0x01, 0x00};
    put("codec", "overlong_varint", overlong, sizeof overlong);
    static const uint8_t tenth[] = {ML_KIND_STRING, 0,    0xff, 0xff, 0xff,
                                    0xff,           0xff, 0xff, 0xff, 0xff,
                                    0xff,           0x01, 0x00};
    put("codec", "u64_max_id", tenth, sizeof tenth);
    static const uint8_t unknown[] = {200, 0, 1, 2, 3};
    put("codec", "unknown_kind", unknown, sizeof unknown);
    ml_buf r;
    ml_buf_init(&r, 1 << 20);
    rounds_payload(&r);
    put("codec", "kind14_rounds", r.data, r.len);
    put("codec", "kind14_rounds_cut", r.data, r.len - r.len / 3);
    ml_buf_free(&r);
    ml_buf_free(&b);
}

static void
roundtrip_corpus(void)
{
    /* A structured program: strings, frames, a stack chain, threads, long
     * bursts of samples, and one of each other op. Op numbers are those of
     * fuzz_roundtrip.c's step(). */
    static const uint8_t program[] = {
        0x03, 0x10, 0x00,                          /* options, start time */
        0,    4,    'm',  'a', 'i', 'n',           /* string 1 */
        0,    6,    'a',  'p', 'p', '.', 'p', 'y', /* string 2 */
        0,    4,    'w',  'o', 'r', 'k',           /* string 3 */
        1,    1,    2,    1,   10,  9,   0, /* frame 1: main app.py 10 */
        1,    3,    2,    1,   20,  19,  0, /* frame 2: work */
        2,    0,    0,                      /* stack 1: [main] */
        2,    1,    1,                      /* stack 2: [main, work] */
        3,    1,    1,    7,   1,   9,      /* thread 1 "main" */
        3,    0,    1,    8,   1,   10,     /* thread 2, no name */
        6,    0,    2,    3,   63,  1,      /* 64 samples, thread 1 */
        6,    1,    1,    1,   20,  2,      /* 21 samples, thread 2 */
        6,    0,    2,    3,   10,  0,      /* same time, same run */
        7,    1,    30,   3,   2,   5,   'h', 'e', 'l', 'l', 'o', /* log */
        9,    1,    1,    0,       /* series 1 */
        10,   0,    1,    1,   42, /* value uint 42 */
        11,   5,    'l',  'a', 'b', 'e', 'l', 0,   3,   'a', 'b', 'c', /* meta
                                                                        */
        8,    5,    1,    1,   0,   1,   1,   100, 1,   50,  1,   8,   1,
        3,    7,    0,    2,   'o', 'k', 0,   12, /* flush */
        13,   1,    1,    5,                      /* clock back */
        6,    0,    1,    1,   5,   1,   /* samples after going back */
        4,    1,    3,                   /* rename thread 2 */
        5,    1,                         /* thread 2 ends */
        14,   1,                         /* tick, due */
        17,   0,                         /* invalid calls */
        15,   1,    1,    2,   '{', '}', /* report */
        16,   1,    0,                   /* end, status 0 */
    };
    put("roundtrip", "structured", program, sizeof program);
    /* Sampler rounds (op 18) over three threads, round times within a
     * tolerance (options bit 6). */
    uint8_t rounds[512];
    size_t n = 0;
    rounds[n++] = 0x43;
    for (size_t i = 1; i < 55; i++) { /* the definitions above */
        rounds[n++] = program[i];
    }
    static const uint8_t third[] = {3, 0, 1, 9, 1, 11}; /* thread 3 */
    memcpy(rounds + n, third, sizeof third);
    n += sizeof third;
    while (n + 40 < sizeof rounds) {
        rounds[n++] = 18;
        rounds[n++] = 3; /* 4 rounds */
        rounds[n++] = (uint8_t)rnd(3);
        rounds[n++] = (uint8_t)rnd(3);
        for (int k = 0; k < 4 * 3 * 3 + 4; k++) {
            rounds[n++] = (uint8_t)rnd(256);
        }
    }
    put("roundtrip", "rounds", rounds, n);
    /* Random programs of a few sizes. */
    char name[64];
    for (int i = 0; i < 6; i++) {
        size_t len = (size_t)64 << i;
        uint8_t *p = malloc(len);
        for (size_t k = 0; k < len; k++) {
            p[k] = (uint8_t)rnd(256);
        }
        /* Bias towards the interesting ops. */
        for (size_t k = 2; k + 8 < len; k += 1 + rnd(8)) {
            p[k] = (uint8_t)(rnd(3) == 0 ? 6 : rnd(18));
        }
        snprintf(name, sizeof name, "random_%zu", len);
        put("roundtrip", name, p, len);
        free(p);
    }
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ml_make_corpus DIR (tests/fuzz/corpus)\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    reader_corpus();
    codec_corpus();
    roundtrip_corpus();
    if (failed) {
        fprintf(stderr, "ml_make_corpus: a writer call failed\n");
        return 1;
    }
    return 0;
}
