// SPDX-License-Identifier: MIT
// Shared helpers of the C unit tests (see ml_test_util.h).
#define _GNU_SOURCE
#include "ml_test_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/ml_error.h"
#include "format/ml_chunk.h"
#include "format/ml_codec.h"
#include "format/ml_format.h"
#include "format/ml_reader.h"

uint64_t
tu_rand(tu_rng *r)
{
    /* splitmix64: good enough, and the same on every platform. */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t
tu_below(tu_rng *r, uint32_t n)
{
    return (uint32_t)(tu_rand(r) % n);
}

int
tu_memfd(void)
{
    int fd = memfd_create("ml_test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    return fd;
}

uint8_t *
tu_slurp(int fd, size_t *len)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    size_t n = (size_t)st.st_size;
    uint8_t *data = malloc(n + 1);
    assert_non_null(data);
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, data + got, n - got, (off_t)got);
        assert_true(k > 0);
        got += (size_t)k;
    }
    *len = n;
    return data;
}

ml_writer *
tu_writer(const ml_writer_options *opt, int *fd_out)
{
    int fd = tu_memfd();
    int wfd = dup(fd);
    assert_true(wfd >= 0);
    ml_writer *w = NULL;
    assert_int_equal(ml_writer_open_fd(wfd, opt, &w), 0);
    assert_non_null(w);
    *fd_out = fd;
    return w;
}

void
tu_file_header(ml_buf *file)
{
    tu_file_header_v(file, ML_FORMAT_VERSION_MAJOR);
}

void
tu_file_header_v(ml_buf *file, uint16_t major)
{
    uint8_t h[ML_FILE_HEADER_SIZE];
    ml_file_header_encode(h);
    h[8] = (uint8_t)major;
    h[9] = (uint8_t)(major >> 8);
    assert_int_equal(ml_buf_append(file, h, sizeof h), 0);
}

void
tu_raw_record(ml_buf *body, uint8_t kind, const void *payload, size_t len)
{
    assert_int_equal(ml_buf_append_u8(body, kind), 0);
    assert_int_equal(ml_buf_append_bytes(body, payload, len), 0);
}

void
tu_record(ml_buf *body, const ml_record *rec, int64_t *clock)
{
    tu_record_v(body, ML_FORMAT_VERSION_MAJOR, rec, clock);
}

void
tu_record_v(ml_buf *body, uint16_t major, const ml_record *rec, int64_t *clock)
{
    ml_buf payload;
    ml_buf_init(&payload, ML_RECORD_MAX);
    assert_int_equal(ml_codec_encode(&payload, major, rec, clock), 0);
    tu_raw_record(body, rec->kind, payload.data, payload.len);
    ml_buf_free(&payload);
}

void
tu_chunk(ml_buf *file, uint32_t seq, uint64_t base_time_us,
         const uint8_t *body, size_t len)
{
    size_t bound = ZSTD_compressBound(len);
    uint8_t *comp = malloc(bound);
    assert_non_null(comp);
    size_t n = ZSTD_compress(comp, bound, body, len, 1);
    assert_false(ZSTD_isError(n));
    ml_chunk_header h = {
        .seq = seq,
        .base_time_us = base_time_us,
        .compressed_size = (uint32_t)n,
        .raw_size = (uint32_t)len,
        .payload_checksum = ml_checksum(comp, n),
    };
    uint8_t hb[ML_CHUNK_HEADER_SIZE];
    ml_chunk_header_encode(&h, hb);
    assert_int_equal(ml_buf_append(file, hb, sizeof hb), 0);
    assert_int_equal(ml_buf_append(file, comp, n), 0);
    free(comp);
}

tu_result
tu_read_all(const void *data, size_t len)
{
    tu_result res = {0};
    ml_reader *r = NULL;
    res.rc = ml_reader_open_mem(data, len, &r);
    if (res.rc == 0) {
        ml_record rec;
        int rc;
        while ((rc = ml_reader_next(r, &rec)) > 0) {
            res.records++;
        }
        res.rc = rc;
    }
    if (res.rc < 0 && r != NULL) {
        res.err_offset = ml_reader_error_offset(r);
        snprintf(res.msg, sizeof res.msg, "%s", ml_reader_message(r));
    }
    ml_reader_free(r);
    return res;
}

size_t
tu_chunk_offsets(const uint8_t *data, size_t len, uint64_t *offs, size_t max)
{
    size_t n = 0;
    uint64_t pos = ML_FILE_HEADER_SIZE;
    while (pos + ML_CHUNK_HEADER_SIZE <= len && n < max) {
        ml_chunk_header h;
        const char *why;
        assert_int_equal(ml_chunk_header_decode(data + pos, &h, &why), 0);
        offs[n++] = pos;
        pos += ML_CHUNK_HEADER_SIZE + (uint64_t)h.compressed_size;
    }
    assert_true(pos == len || n == max);
    return n;
}

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
    case ML_TAG_F64:
        /* Bit patterns, so NaN and -0.0 round trips count. */
        return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    default:
        return 0;
    }
}

int
tu_record_eq(const ml_record *a, const ml_record *b)
{
    if (a->kind != b->kind) {
        return 0;
    }
    switch (a->kind) {
    case ML_KIND_META:
        return bytes_eq(a->u.meta.key, b->u.meta.key)
               && value_eq(&a->u.meta.value, &b->u.meta.value);
    case ML_KIND_STRING:
        return a->u.string.id == b->u.string.id
               && bytes_eq(a->u.string.text, b->u.string.text);
    case ML_KIND_FRAME:
        return memcmp(&a->u.frame, &b->u.frame, sizeof a->u.frame) == 0;
    case ML_KIND_STACK:
        return memcmp(&a->u.stack, &b->u.stack, sizeof a->u.stack) == 0;
    case ML_KIND_THREAD:
        return a->time_us == b->time_us && a->u.thread.id == b->u.thread.id
               && a->u.thread.native_id == b->u.thread.native_id
               && a->u.thread.ident == b->u.thread.ident
               && a->u.thread.name == b->u.thread.name;
    case ML_KIND_THREAD_END:
        return a->time_us == b->time_us
               && a->u.thread_end.id == b->u.thread_end.id;
    case ML_KIND_SAMPLES:
        return a->time_us == b->time_us
               && a->u.samples.thread == b->u.samples.thread
               && a->u.samples.stack == b->u.samples.stack
               && a->u.samples.state == b->u.samples.state
               && a->u.samples.cpu == b->u.samples.cpu
               && a->u.samples.count == b->u.samples.count
               && a->u.samples.span_us == b->u.samples.span_us;
    case ML_KIND_SERIES:
        return a->u.series.id == b->u.series.id
               && a->u.series.cls == b->u.series.cls
               && a->u.series.name == b->u.series.name
               && a->u.series.unit == b->u.series.unit;
    case ML_KIND_VALUE:
        return a->time_us == b->time_us
               && a->u.value.series == b->u.value.series
               && value_eq(&a->u.value.value, &b->u.value.value);
    case ML_KIND_LOG: {
        const ml_log *x = &a->u.log, *y = &b->u.log;
        return a->time_us == b->time_us && x->time_us == y->time_us
               && x->thread == y->thread && x->level == y->level
               && x->source == y->source && x->stack == y->stack
               && bytes_eq(x->text, y->text);
    }
    case ML_KIND_SPAN: {
        const ml_span *x = &a->u.span, *y = &b->u.span;
        return a->time_us == b->time_us && x->call_id == y->call_id
               && x->parent_call == y->parent_call && x->thread == y->thread
               && x->time_us == y->time_us && x->wall_ns == y->wall_ns
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

uint8_t *
tu_sample_recording(uint32_t chunk_bytes, uint32_t samples, uint64_t seed,
                    size_t *len)
{
    ml_writer_options opt = {.chunk_bytes = chunk_bytes};
    int fd;
    ml_writer *w = tu_writer(&opt, &fd);
    tu_rng rng = {seed};
    assert_int_equal(ml_writer_meta_str(w, "label", "sample"), 0);
    assert_int_equal(ml_writer_meta_uint(w, "pid", 4242), 0);
    uint32_t names[8], file, frames[8], stacks[8] = {0}, threads[2], series;
    assert_int_equal(ml_writer_string(w, "app.py", 6, &file), 0);
    for (uint32_t i = 0; i < 8; i++) {
        char name[16];
        int n = snprintf(name, sizeof name, "func%u", i);
        assert_int_equal(ml_writer_string(w, name, (size_t)n, &names[i]), 0);
        assert_int_equal(
            ml_writer_frame(w, names[i], file, 10 * i + 3, 10 * i, &frames[i]),
            0);
        /* A chain: stack i is frames 0..i. */
        assert_int_equal(
            ml_writer_stack(w, i ? stacks[i - 1] : 0, frames[i], &stacks[i]),
            0);
    }
    assert_int_equal(ml_writer_thread(w, 0, 100, 200, names[0], &threads[0]),
                     0);
    assert_int_equal(ml_writer_thread(w, 5, 101, 201, 0, &threads[1]), 0);
    assert_int_equal(
        ml_writer_series(w, ML_SERIES_STATUS, names[1], names[2], &series), 0);
    uint64_t t = 1000;
    uint32_t cur = 3;
    for (uint32_t i = 0; i < samples; i++) {
        if (tu_below(&rng, 8) == 0) {
            cur = tu_below(&rng, 8);
        }
        uint32_t th = threads[i % 2];
        assert_int_equal(
            ml_writer_sample(w, th, t, stacks[cur], (uint8_t)(1 + (cur & 1))),
            0);
        if (i % 97 == 0) {
            char text[64];
            int n = snprintf(text, sizeof text, "log line %u", i);
            ml_log log = {.time_us = t,
                          .thread = th,
                          .level = 20,
                          .source = ML_LOG_API,
                          .stack = stacks[cur]};
            log.text = (ml_bytes){(const uint8_t *)text, (uint32_t)n};
            assert_int_equal(ml_writer_log(w, &log), 0);
        }
        if (i % 151 == 0) {
            ml_span sp = {.call_id = i + 1,
                          .thread = th,
                          .time_us = t,
                          .wall_ns = 1000 + i,
                          .cpu_ns = 500,
                          .mem_delta = -(int64_t)i,
                          .name = names[4],
                          .file = file,
                          .line = 43};
            sp.args = (ml_bytes){(const uint8_t *)"(n=3)", 5};
            assert_int_equal(ml_writer_span(w, &sp), 0);
        }
        if (i % 50 == 0) {
            ml_value v = {.tag = ML_TAG_F64};
            v.v.f = (double)i / 7.0;
            assert_int_equal(ml_writer_value(w, series, t, &v), 0);
        }
        t += 500 + tu_below(&rng, 20);
    }
    assert_int_equal(ml_writer_report(w, ML_REPORT_OTHER, names[5], "{}", 2),
                     0);
    assert_int_equal(ml_writer_thread_end(w, threads[1], t), 0);
    assert_int_equal(ml_writer_end(w, t + 1, 0), 0);
    assert_int_equal(ml_writer_close(w), 0);
    uint8_t *data = tu_slurp(fd, len);
    close(fd);
    return data;
}
