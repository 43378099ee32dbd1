// SPDX-License-Identifier: MIT
// Unit tests of src/format/ml_reader on damaged and hostile input: files cut
// at every byte offset (all earlier chunks delivered, then ML_ETRUNC or a
// clean end at a chunk boundary), flipped bytes everywhere (an error with a
// sensible offset or a valid decode, never a crash), header and chunk
// damage, undefined ids, unknown record kinds, sequence gaps. Every error
// message names the byte offset of the damaged structure.
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
#include <zstd.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "format/ml_chunk.h"
#include "format/ml_format.h"
#include "format/ml_reader.h"
#include "ml_test_util.h"

#define MAX_CHUNKS 4096

/* The error message names the offset as "byte N". */
static void
assert_mentions_offset(const char *msg, uint64_t off)
{
    char needle[48];
    snprintf(needle, sizeof needle, "byte %llu", (unsigned long long)off);
    if (strstr(msg, needle) == NULL) {
        fail_msg("message \"%s\" does not mention \"%s\"", msg, needle);
    }
}

/* Records delivered when reading the file cut at each chunk boundary. */
static void
records_at_boundaries(const uint8_t *data, const uint64_t *offs, size_t n,
                      size_t len, uint64_t *at)
{
    for (size_t k = 0; k <= n; k++) {
        uint64_t cut = k < n ? offs[k] : len;
        tu_result res = tu_read_all(data, (size_t)cut);
        assert_int_equal(res.rc, 0);
        at[k] = res.records;
        if (k > 0) {
            assert_true(at[k] > at[k - 1]);
        }
    }
}

/* Checks the read of data cut to `cut` bytes against the chunk layout. */
static void
check_cut(const uint8_t *data, size_t cut, const uint64_t *offs, size_t n,
          const uint64_t *at)
{
    tu_result res = tu_read_all(data, cut);
    if (cut < ML_FILE_HEADER_SIZE) {
        assert_int_equal(res.rc, ML_EMAGIC);
        assert_int_equal(res.err_offset, 0);
        assert_mentions_offset(res.msg, 0);
        return;
    }
    if (cut == ML_FILE_HEADER_SIZE) {
        assert_int_equal(res.rc, 0);
        assert_int_equal(res.records, 0);
        return;
    }
    size_t k = 0;
    while (k + 1 < n && offs[k + 1] <= cut) {
        k++;
    }
    if (cut == offs[k]) {
        assert_int_equal(res.rc, 0);
        assert_int_equal(res.records, at[k]);
        return;
    }
    /* Inside chunk k: everything before it, then "truncated". */
    if (res.rc != ML_ETRUNC || res.records != at[k]) {
        fail_msg("cut at %zu (chunk %zu at %llu): rc %d, %llu records "
                 "(expected %llu): %s",
                 cut, k, (unsigned long long)offs[k], res.rc,
                 (unsigned long long)res.records, (unsigned long long)at[k],
                 res.msg);
    }
    assert_int_equal(res.err_offset, offs[k]);
    assert_mentions_offset(res.msg, offs[k]);
}

static void
test_truncate_in_last_chunk(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = tu_sample_recording(2048, 4000, 11, &len);
    static uint64_t offs[MAX_CHUNKS], at[MAX_CHUNKS + 1];
    size_t n = tu_chunk_offsets(data, len, offs, MAX_CHUNKS);
    assert_true(n >= 5);
    records_at_boundaries(data, offs, n, len, at);
    print_message("cut in the last chunk: %zu chunks, last %zu bytes\n", n,
                  len - (size_t)offs[n - 1]);
    /* Every offset of the last chunk, its header included. */
    for (size_t cut = offs[n - 1]; cut <= len; cut++) {
        if (cut == len) {
            tu_result res = tu_read_all(data, cut);
            assert_int_equal(res.rc, 0);
            assert_int_equal(res.records, at[n]);
        } else {
            check_cut(data, cut, offs, n, at);
        }
    }
    free(data);
}

static void
test_truncate_everywhere(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = tu_sample_recording(256, 400, 12, &len);
    static uint64_t offs[MAX_CHUNKS], at[MAX_CHUNKS + 1];
    size_t n = tu_chunk_offsets(data, len, offs, MAX_CHUNKS);
    assert_true(n >= 5);
    records_at_boundaries(data, offs, n, len, at);
    print_message("cut everywhere: %zu chunks, %zu bytes\n", n, len);
    for (size_t cut = 0; cut < len; cut++) {
        check_cut(data, cut, offs, n, at);
    }
    free(data);
}

/* The same through the file API, and a file that grows while read. */
static void
test_truncated_and_growing_file(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = tu_sample_recording(1024, 2000, 13, &len);
    static uint64_t offs[MAX_CHUNKS], at[MAX_CHUNKS + 1];
    size_t n = tu_chunk_offsets(data, len, offs, MAX_CHUNKS);
    assert_true(n >= 4);
    records_at_boundaries(data, offs, n, len, at);

    char path[] = "/tmp/ml_test_reader_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* Half of chunk 2 on disk. */
    size_t cut = (size_t)(offs[2] + (offs[3] - offs[2]) / 2);
    assert_int_equal(write(fd, data, cut), (ssize_t)cut);
    ml_reader *r;
    assert_int_equal(ml_reader_open(path, &r), 0);
    ml_record rec;
    int rc;
    uint64_t got = 0;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        got++;
    }
    assert_int_equal(rc, ML_ETRUNC);
    assert_int_equal(got, at[2]);
    assert_int_equal(ml_reader_error_offset(r), offs[2]);
    assert_mentions_offset(ml_reader_message(r), offs[2]);
    assert_int_equal(ml_reader_next(r, &rec), ML_ETRUNC); /* sticky */
    ml_reader_free(r);

    /* Up to a chunk boundary: a clean end; then the file grows and the
     * same reader continues with the new chunks. */
    assert_int_equal(ftruncate(fd, (off_t)offs[2]), 0);
    assert_int_equal(ml_reader_open(path, &r), 0);
    got = 0;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        got++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got, at[2]);
    size_t rest = len - (size_t)offs[2];
    assert_int_equal(pwrite(fd, data + offs[2], rest, (off_t)offs[2]),
                     (ssize_t)rest);
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        got++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got, at[n]);
    ml_reader_free(r);
    close(fd);
    unlink(path);

    ml_reader *none = (ml_reader *)1;
    assert_int_equal(ml_reader_open("/nonexistent/x.mlog", &none), ML_EIO);
    assert_null(none);
    free(data);
}

/* Any byte of a small file changed: an error naming an offset inside the
 * file, or a clean read; never a crash (this runs under ASan too). */
static void
test_flip_every_byte(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = tu_sample_recording(256, 120, 14, &len);
    static uint64_t offs[MAX_CHUNKS];
    size_t n = tu_chunk_offsets(data, len, offs, MAX_CHUNKS);
    assert_true(n >= 3);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xff};
    size_t errors = 0, clean = 0;
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(copy, data, len);
            copy[pos] ^= masks[m];
            tu_result res = tu_read_all(copy, len);
            if (res.rc == 0) {
                clean++;
                continue;
            }
            errors++;
            assert_true(res.rc < 0);
            if (pos == 8 && copy[8] >= ML_FORMAT_VERSION_MAJOR_MIN
                && copy[8] < ML_FORMAT_VERSION_MAJOR) {
                continue; /* an older major: its layout misreads a chunk */
            }
            assert_true(res.err_offset <= pos);
            assert_true(strlen(res.msg) > 0);
            assert_mentions_offset(res.msg, res.err_offset);
            /* The damage is in the structure the error names: the file
             * header, or the chunk that starts at the offset. */
            if (pos >= ML_FILE_HEADER_SIZE) {
                size_t k = 0;
                while (k + 1 < n && offs[k + 1] <= pos) {
                    k++;
                }
                assert_int_equal(res.err_offset, offs[k]);
            }
        }
    }
    /* Only the header's flags and minor version may change unnoticed. */
    assert_true(clean <= 6 * sizeof masks);
    assert_true(errors > 0);
    print_message("flips: %zu bytes x %zu masks: %zu errors, %zu clean\n", len,
                  sizeof masks, errors, clean);
    free(copy);
    free(data);
}

/* Decompressed chunk bodies of a well-formed file. */
typedef struct {
    uint8_t *body;
    size_t len;
    uint64_t base;
} body;

static size_t
split_bodies(const uint8_t *data, size_t len, body *out, size_t max)
{
    static uint64_t offs[MAX_CHUNKS];
    size_t n = tu_chunk_offsets(data, len, offs, MAX_CHUNKS);
    assert_true(n <= max);
    for (size_t k = 0; k < n; k++) {
        ml_chunk_header h;
        const char *why;
        assert_int_equal(ml_chunk_header_decode(data + offs[k], &h, &why), 0);
        out[k].body = malloc(h.raw_size + 1);
        assert_non_null(out[k].body);
        size_t got = ZSTD_decompress(out[k].body, h.raw_size,
                                     data + offs[k] + ML_CHUNK_HEADER_SIZE,
                                     h.compressed_size);
        assert_int_equal(got, h.raw_size);
        out[k].len = got;
        out[k].base = h.base_time_us;
    }
    return n;
}

/* Damage inside the compressed payload is caught by checksums; damage that
 * a buggy writer could make (valid checksums, bad records) must be caught
 * by the record checks. Every byte of every body flipped, chunks rebuilt
 * with correct checksums: an error at the damaged chunk or a later one (a
 * definition turned into an unknown kind shows where it is missed), or a
 * clean decode. */
static void
test_flip_records_with_valid_checksums(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = tu_sample_recording(200, 80, 15, &len);
    body bodies[64];
    size_t n = split_bodies(data, len, bodies, 64);
    assert_true(n >= 3);
    /* The chunks as they are, to splice around the damaged one. */
    ml_buf whole[64];
    for (size_t j = 0; j < n; j++) {
        ml_buf_init(&whole[j], 1 << 20);
        tu_chunk(&whole[j], (uint32_t)j, bodies[j].base, bodies[j].body,
                 bodies[j].len);
    }
    static const uint8_t masks[] = {0x01, 0x40, 0x80, 0xff};
    ml_buf file;
    ml_buf_init(&file, 1 << 24);
    size_t errors = 0, clean = 0;
    uint64_t at[64];
    for (size_t k = 0; k < n; k++) {
        for (size_t pos = 0; pos < bodies[k].len; pos++) {
            for (size_t m = 0; m < sizeof masks; m++) {
                ml_buf_reset(&file);
                tu_file_header(&file);
                for (size_t j = 0; j < n; j++) {
                    at[j] = file.len;
                    if (j != k) {
                        ml_buf_append(&file, whole[j].data, whole[j].len);
                        continue;
                    }
                    bodies[j].body[pos] ^= masks[m];
                    tu_chunk(&file, (uint32_t)j, bodies[j].base,
                             bodies[j].body, bodies[j].len);
                    bodies[j].body[pos] ^= masks[m];
                }
                tu_result res = tu_read_all(file.data, file.len);
                if (res.rc == 0) {
                    clean++;
                    continue;
                }
                errors++;
                size_t j = k;
                while (j < n && at[j] != res.err_offset) {
                    j++;
                }
                if (j == n) {
                    fail_msg("chunk %zu byte %zu ^%02x: error at %llu, "
                             "damage at %llu: %s",
                             k, pos, masks[m],
                             (unsigned long long)res.err_offset,
                             (unsigned long long)at[k], res.msg);
                }
                assert_mentions_offset(res.msg, res.err_offset);
            }
        }
    }
    print_message("record flips: %zu errors, %zu clean decodes\n", errors,
                  clean);
    assert_true(errors > 0 && clean > 0);
    for (size_t k = 0; k < n; k++) {
        free(bodies[k].body);
        ml_buf_free(&whole[k]);
    }
    ml_buf_free(&file);
    free(data);
}

/* ---- hand-built files --------------------------------------------------- */

static ml_record
r_string(uint32_t id, const char *s)
{
    ml_record r = {.kind = ML_KIND_STRING};
    r.u.string.id = id;
    r.u.string.text = (ml_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
    return r;
}

static ml_record
r_frame(uint32_t id, uint32_t name, uint32_t file)
{
    ml_record r = {.kind = ML_KIND_FRAME};
    r.u.frame.id = id;
    r.u.frame.name = name;
    r.u.frame.file = file;
    r.u.frame.line = 1;
    return r;
}

static ml_record
r_stack(uint32_t id, uint32_t parent, uint32_t frame)
{
    ml_record r = {.kind = ML_KIND_STACK};
    r.u.stack.id = id;
    r.u.stack.parent = parent;
    r.u.stack.frame = frame;
    return r;
}

static ml_record
r_thread(uint32_t id, uint32_t name)
{
    ml_record r = {.kind = ML_KIND_THREAD, .time_us = 10};
    r.u.thread.id = id;
    r.u.thread.name = name;
    return r;
}

static ml_record
r_samples(uint32_t thread, uint32_t stack)
{
    ml_record r = {.kind = ML_KIND_SAMPLES, .time_us = 20};
    r.u.samples.thread = thread;
    r.u.samples.stack = stack;
    r.u.samples.count = 3;
    return r;
}

static ml_record
r_series(uint32_t id, uint32_t name, uint32_t unit)
{
    ml_record r = {.kind = ML_KIND_SERIES};
    r.u.series.id = id;
    r.u.series.name = name;
    r.u.series.unit = unit;
    return r;
}

static ml_record
r_value(uint32_t series)
{
    ml_record r = {.kind = ML_KIND_VALUE, .time_us = 30};
    r.u.value.series = series;
    r.u.value.value.tag = ML_TAG_UINT;
    return r;
}

static ml_record
r_log(uint32_t thread, uint32_t stack)
{
    ml_record r = {.kind = ML_KIND_LOG, .time_us = 40};
    r.u.log.time_us = 40;
    r.u.log.thread = thread;
    r.u.log.stack = stack;
    r.u.log.text = (ml_bytes){(const uint8_t *)"hi", 2};
    return r;
}

static ml_record
r_span(uint32_t thread, uint32_t name, uint32_t file)
{
    ml_record r = {.kind = ML_KIND_SPAN, .time_us = 50};
    r.u.span.time_us = 50;
    r.u.span.thread = thread;
    r.u.span.name = name;
    r.u.span.file = file;
    return r;
}

static ml_record
r_thread_end(uint32_t id)
{
    ml_record r = {.kind = ML_KIND_THREAD_END, .time_us = 60};
    r.u.thread_end.id = id;
    return r;
}

static ml_record
r_report(uint32_t name)
{
    ml_record r = {.kind = ML_KIND_REPORT};
    r.u.report.kind = ML_REPORT_OTHER;
    r.u.report.name = name;
    return r;
}

/* A 2.0 file of one chunk holding recs (a prefix defining strings 1-2,
 * frame 1, stack 1, thread 1 and series 1 when `base` is set): 2.x
 * definitions state their ids, so a wrong one can be tested. */
static void
one_chunk_file(ml_buf *file, int base, const ml_record *recs, size_t n)
{
    ml_buf b;
    ml_buf_init(&b, 1 << 20);
    int64_t clock = 0;
    if (base) {
        ml_record pre[] = {r_string(1, "main"), r_string(2, "app.py"),
                           r_frame(1, 1, 2),    r_stack(1, 0, 1),
                           r_thread(1, 1),      r_series(1, 1, 2)};
        for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
            tu_record_v(&b, 2, &pre[i], &clock);
        }
    }
    for (size_t i = 0; i < n; i++) {
        tu_record_v(&b, 2, &recs[i], &clock);
    }
    ml_buf_init(file, 1 << 24);
    tu_file_header_v(file, 2);
    tu_chunk(file, 0, 0, b.data, b.len);
    ml_buf_free(&b);
}

static void
test_bad_references(void **state)
{
    (void)state;
    struct {
        const char *what;
        int base; /* with the standard definitions first */
        ml_record rec[3];
        size_t n;
        const char *msg; /* in the error message; NULL: valid */
    } cases[] = {
        {"all defined",
         1,
         {r_samples(1, 1), r_log(1, 1), r_span(1, 1, 2)},
         3,
         NULL},
        {"none references are fine",
         1,
         {r_samples(1, 0), r_log(0, 0), r_span(0, 0, 0)},
         3,
         NULL},
        {"samples: undefined thread",
         1,
         {r_samples(2, 1)},
         1,
         "thread 2 is not defined"},
        {"samples: thread 0", 1, {r_samples(0, 1)}, 1, "thread 0"},
        {"samples: undefined stack",
         1,
         {r_samples(1, 2)},
         1,
         "stack 2 is not defined"},
        {"frame: undefined name",
         1,
         {r_frame(2, 3, 1)},
         1,
         "string 3 is not defined"},
        {"frame: undefined file",
         1,
         {r_frame(2, 1, 9)},
         1,
         "string 9 is not defined"},
        {"stack: undefined frame",
         1,
         {r_stack(2, 1, 2)},
         1,
         "frame 2 is not defined"},
        {"stack: undefined parent",
         1,
         {r_stack(2, 2, 1)},
         1,
         "stack 2 is not defined"},
        {"stack: no frame", 1, {r_stack(2, 1, 0)}, 1, "without a frame"},
        {"log: undefined stack",
         1,
         {r_log(1, 7)},
         1,
         "stack 7 is not defined"},
        {"log: undefined thread",
         1,
         {r_log(4, 1)},
         1,
         "thread 4 is not defined"},
        {"span: undefined name",
         1,
         {r_span(1, 3, 2)},
         1,
         "string 3 is not defined"},
        {"span: undefined thread",
         1,
         {r_span(2, 1, 2)},
         1,
         "thread 2 is not defined"},
        {"value: undefined series",
         1,
         {r_value(2)},
         1,
         "series 2 is not defined"},
        {"value: series 0", 1, {r_value(0)}, 1, "series 0"},
        {"thread end: undefined",
         1,
         {r_thread_end(2)},
         1,
         "thread 2 is not defined"},
        {"report: undefined name",
         1,
         {r_report(5)},
         1,
         "string 5 is not defined"},
        {"thread: undefined name",
         0,
         {r_thread(1, 1)},
         1,
         "string 1 is not defined"},
        {"thread: skipped id", 0, {r_thread(2, 0)}, 1, "thread id 2"},
        {"thread: id 0", 0, {r_thread(0, 0)}, 1, "thread id 0"},
        {"thread: rename is fine",
         1,
         {r_thread(1, 2), r_samples(1, 1)},
         2,
         NULL},
        {"series: undefined unit",
         1,
         {r_series(2, 1, 3)},
         1,
         "string 3 is not defined"},
        {"series: skipped id", 1, {r_series(3, 1, 1)}, 1, "series id 3"},
        {"string: skipped id", 0, {r_string(2, "x")}, 1, "string id 2"},
        {"string: id 0", 0, {r_string(0, "x")}, 1, "string id 0"},
        {"string: defined twice",
         0,
         {r_string(1, "x"), r_string(1, "x")},
         2,
         "string id 1 where 2"},
        {"frame: skipped id", 1, {r_frame(3, 1, 1)}, 1, "frame id 3"},
        {"stack: defined twice", 1, {r_stack(1, 0, 1)}, 1, "stack id 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ml_buf file;
        one_chunk_file(&file, cases[i].base, cases[i].rec, cases[i].n);
        tu_result res = tu_read_all(file.data, file.len);
        size_t pre = cases[i].base ? 6 : 0;
        if (cases[i].msg == NULL) {
            if (res.rc != 0) {
                fail_msg("%s: rc %d: %s", cases[i].what, res.rc, res.msg);
            }
            assert_int_equal(res.records, pre + cases[i].n);
        } else {
            if (res.rc != ML_ECORRUPT || !strstr(res.msg, cases[i].msg)) {
                fail_msg("%s: rc %d: \"%s\"", cases[i].what, res.rc, res.msg);
            }
            /* Everything before the bad record was delivered. */
            assert_int_equal(res.records, pre + cases[i].n - 1);
            assert_int_equal(res.err_offset, ML_FILE_HEADER_SIZE);
            assert_mentions_offset(res.msg, ML_FILE_HEADER_SIZE);
        }
        ml_buf_free(&file);
    }
}

/* Records of kinds this reader does not know are skipped by length. */
static void
test_unknown_kinds_skipped(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 1 << 16);
    int64_t clock = 0;
    ml_record s1 = r_string(1, "one");
    tu_record(&b, &s1, &clock);
    tu_raw_record(&b, 200, "\xff\xff\xff garbage", 12);
    tu_raw_record(&b, 0, "", 0);
    tu_raw_record(&b, ML_KIND_ROUNDS + 1, "\x01", 1);
    tu_raw_record(&b, 255, "\x80\x80\x80", 3); /* even a bad varint */
    ml_record s2 = r_string(2, "two");
    tu_record(&b, &s2, &clock);
    ml_buf file;
    ml_buf_init(&file, 1 << 20);
    tu_file_header(&file);
    tu_chunk(&file, 0, 0, b.data, b.len);
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(file.data, file.len, &r), 0);
    ml_record rec;
    assert_int_equal(ml_reader_next(r, &rec), 1);
    assert_int_equal(rec.u.string.id, 1);
    assert_int_equal(ml_reader_next(r, &rec), 1);
    assert_int_equal(rec.kind, ML_KIND_STRING);
    assert_int_equal(rec.u.string.id, 2);
    assert_memory_equal(rec.u.string.text.ptr, "two", 3);
    assert_int_equal(ml_reader_next(r, &rec), 0);
    ml_reader_stats st;
    ml_reader_get_stats(r, &st);
    assert_int_equal(st.records, 2);
    ml_reader_free(r);
    ml_buf_free(&file);
    ml_buf_free(&b);
}

/* Fields a later minor version appends to known records are ignored. */
static void
test_longer_records_accepted(void **state)
{
    (void)state;
    ml_buf b, p;
    ml_buf_init(&b, 1 << 16);
    ml_buf_init(&p, 1 << 16);
    ml_buf_append_bytes(&p, "name", 4); /* text (3.0: no id) */
    ml_buf_append(&p, "\x05new fields", 11);
    tu_raw_record(&b, ML_KIND_STRING, p.data, p.len);
    ml_buf file;
    ml_buf_init(&file, 1 << 20);
    tu_file_header(&file);
    file.data[10] = 9; /* minor 9 */
    tu_chunk(&file, 0, 0, b.data, b.len);
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(file.data, file.len, &r), 0);
    ml_record rec;
    assert_int_equal(ml_reader_next(r, &rec), 1);
    assert_int_equal(rec.u.string.text.len, 4);
    assert_int_equal(ml_reader_next(r, &rec), 0);
    ml_reader_stats st;
    ml_reader_get_stats(r, &st);
    assert_int_equal(st.minor_version, 9);
    ml_reader_free(r);
    ml_buf_free(&file);
    ml_buf_free(&b);
    ml_buf_free(&p);
}

/* Damage to the file header and to chunk framing, one case per row. The
 * file is: header, chunk 0 (one string), chunk 1 (one string). */
static void
test_framing_damage(void **state)
{
    (void)state;
    enum {
        MAGIC,
        MAJOR,
        MAJOR_HI,
        MINOR_FLAGS,
        SHORT_HEADER,
        EMPTY,
        SEQ_GAP,
        SEQ_FIRST,
        SEQ_REPEAT,
        COMP_LIMIT,
        RAW_LIMIT,
        BASE_LIMIT,
        HDR_CHECKSUM,
        PAY_CHECKSUM,
        NOT_ZSTD,
        RAW_SIZE_WRONG,
        CHUNK_MAGIC,
        TAIL_SHORT,
        TAIL_ZEROS,
        EMPTY_CHUNK,
        BIG_LEN,
        LEN_PAST_END,
        HUGE_COMPRESSED,
    };
    static const struct {
        const char *what;
        int how;
        int rc;
        uint64_t records; /* delivered before the end or the error */
        int at_chunk;     /* error offset: -1 file header else chunk */
        uint64_t at;      /* for at_chunk == -1 */
    } cases[] = {
        {"wrong magic", MAGIC, ML_EMAGIC, 0, -1, 0},
        {"wrong major", MAJOR, ML_EVERSION, 0, -1, 8},
        {"major 257", MAJOR_HI, ML_EVERSION, 0, -1, 8},
        {"newer minor, unknown flags", MINOR_FLAGS, 0, 2, 0, 0},
        {"15-byte file", SHORT_HEADER, ML_EMAGIC, 0, -1, 0},
        {"empty file", EMPTY, ML_EMAGIC, 0, -1, 0},
        {"sequence gap", SEQ_GAP, ML_ECORRUPT, 1, 1, 0},
        {"first chunk not 0", SEQ_FIRST, ML_ECORRUPT, 0, 0, 0},
        {"sequence repeated", SEQ_REPEAT, ML_ECORRUPT, 1, 1, 0},
        {"compressed size over limit", COMP_LIMIT, ML_ELIMIT, 1, 1, 0},
        {"raw size over limit", RAW_LIMIT, ML_ELIMIT, 1, 1, 0},
        {"base time over limit", BASE_LIMIT, ML_ELIMIT, 1, 1, 0},
        {"header checksum", HDR_CHECKSUM, ML_ECHECKSUM, 1, 1, 0},
        {"payload checksum", PAY_CHECKSUM, ML_ECHECKSUM, 1, 1, 0},
        {"payload not zstd", NOT_ZSTD, ML_ECOMPRESS, 1, 1, 0},
        {"raw size wrong", RAW_SIZE_WRONG, ML_ECOMPRESS, 1, 1, 0},
        {"no chunk magic", CHUNK_MAGIC, ML_EMAGIC, 1, 1, 0},
        {"10 bytes of tail", TAIL_SHORT, ML_ETRUNC, 2, 2, 0},
        {"40 zero bytes of tail", TAIL_ZEROS, ML_EMAGIC, 2, 2, 0},
        {"an empty chunk", EMPTY_CHUNK, 0, 2, 0, 0},
        {"record length over limit", BIG_LEN, ML_ECORRUPT, 2, 1, 0},
        {"record past the chunk", LEN_PAST_END, ML_ECORRUPT, 2, 1, 0},
        {"payload larger than the file", HUGE_COMPRESSED, ML_ETRUNC, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int how = cases[i].how;
        ml_buf f;
        ml_buf_init(&f, 1 << 24);
        tu_file_header(&f);
        ml_buf b0, b1;
        ml_buf_init(&b0, 1 << 16);
        ml_buf_init(&b1, 1 << 16);
        int64_t clock = 0;
        ml_record s1 = r_string(1, "one"), s2 = r_string(2, "two");
        tu_record(&b0, &s1, &clock);
        tu_record(&b1, &s2, &clock);
        if (how == BIG_LEN) {
            ml_buf_append_u8(&b1, ML_KIND_LOG);
            ml_buf_append_varint(&b1, ML_RECORD_MAX + 1);
        } else if (how == LEN_PAST_END) {
            ml_buf_append(&b1, "\x02\x05\x03xy", 5);
        }
        uint64_t c1;
        uint32_t seq0 = how == SEQ_FIRST ? 1 : 0;
        uint32_t seq1 = how == SEQ_GAP ? 2 : how == SEQ_REPEAT ? 0 : 1;
        if (how == EMPTY_CHUNK) {
            tu_chunk(&f, 0, 0, NULL, 0);
            seq0 = 1;
            seq1 = 2;
        }
        uint64_t c0 = f.len;
        tu_chunk(&f, seq0, 0, b0.data, b0.len);
        c1 = f.len;
        tu_chunk(&f, seq1, 0, b1.data, b1.len);
        uint64_t c2 = f.len;
        uint8_t *h1 = f.data + c1;
        ml_chunk_header h;
        const char *why;
        assert_int_equal(ml_chunk_header_decode(h1, &h, &why), 0);
        switch (how) {
        case MAGIC:
            f.data[3] = 'X';
            break;
        case MAJOR:
            f.data[8] = ML_FORMAT_VERSION_MAJOR + 1;
            break;
        case MAJOR_HI:
            f.data[9] = 1;
            break;
        case MINOR_FLAGS:
            f.data[10] = 0xff;
            f.data[12] = 0xff;
            f.data[15] = 0x80;
            break;
        case SHORT_HEADER:
            f.len = 15;
            break;
        case EMPTY:
            f.len = 0;
            break;
        case COMP_LIMIT:
            h.compressed_size = ML_CHUNK_MAX_COMPRESSED + 1;
            ml_chunk_header_encode(&h, h1);
            break;
        case HUGE_COMPRESSED:
            h.compressed_size = ML_CHUNK_MAX_COMPRESSED;
            ml_chunk_header_encode(&h, h1);
            break;
        case RAW_LIMIT:
            h.raw_size = UINT32_MAX;
            ml_chunk_header_encode(&h, h1);
            break;
        case BASE_LIMIT:
            h.base_time_us = UINT64_MAX;
            ml_chunk_header_encode(&h, h1);
            break;
        case HDR_CHECKSUM:
            h1[29] ^= 1;
            break;
        case PAY_CHECKSUM:
            h1[ML_CHUNK_HEADER_SIZE + 2] ^= 0x20;
            break;
        case NOT_ZSTD:
            memset(h1 + ML_CHUNK_HEADER_SIZE, 0x41, h.compressed_size);
            h.payload_checksum =
                ml_checksum(h1 + ML_CHUNK_HEADER_SIZE, h.compressed_size);
            ml_chunk_header_encode(&h, h1);
            break;
        case RAW_SIZE_WRONG:
            h.raw_size += 1;
            ml_chunk_header_encode(&h, h1);
            break;
        case CHUNK_MAGIC:
            h1[0] = 'm';
            break;
        case TAIL_SHORT:
            ml_buf_append(&f, "MLCK\0\0\0\0\0\0", 10);
            break;
        case TAIL_ZEROS: {
            uint8_t z[40] = {0};
            ml_buf_append(&f, z, sizeof z);
            break;
        }
        default:
            break;
        }
        uint64_t chunk_at[3] = {c0, c1, c2};
        if (how == EMPTY_CHUNK) {
            chunk_at[0] = ML_FILE_HEADER_SIZE;
        }
        tu_result res = tu_read_all(f.data, f.len);
        if (res.rc != cases[i].rc || res.records != cases[i].records) {
            fail_msg("%s: rc %d records %llu: %s", cases[i].what, res.rc,
                     (unsigned long long)res.records, res.msg);
        }
        if (res.rc < 0) {
            uint64_t at = cases[i].at_chunk < 0 ? cases[i].at
                                                : chunk_at[cases[i].at_chunk];
            if (res.err_offset != at) {
                fail_msg("%s: error at %llu, expected %llu: %s", cases[i].what,
                         (unsigned long long)res.err_offset,
                         (unsigned long long)at, res.msg);
            }
            assert_mentions_offset(res.msg, at);
        }
        ml_buf_free(&f);
        ml_buf_free(&b0);
        ml_buf_free(&b1);
    }
}

/* Errors are sticky, and what was defined before stays available. */
static void
test_sticky_error_and_lookups(void **state)
{
    (void)state;
    ml_record recs[] = {r_samples(1, 1), r_samples(1, 9), r_samples(1, 1)};
    ml_buf file;
    one_chunk_file(&file, 1, recs, 3);
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(file.data, file.len, &r), 0);
    assert_string_equal(ml_reader_message(r), "");
    ml_record rec;
    int rc, n = 0;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        n++;
    }
    assert_int_equal(n, 7);
    assert_int_equal(rc, ML_ECORRUPT);
    const char *msg = ml_reader_message(r);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", msg);
    assert_int_equal(ml_reader_next(r, &rec), ML_ECORRUPT);
    assert_int_equal(ml_reader_next(r, &rec), ML_ECORRUPT);
    assert_string_equal(ml_reader_message(r), copy);
    assert_int_equal(ml_reader_error_offset(r), ML_FILE_HEADER_SIZE);
    ml_bytes b;
    assert_int_equal(ml_reader_string(r, 2, &b), 0);
    assert_memory_equal(b.ptr, "app.py", 6);
    uint32_t parent, frame;
    assert_int_equal(ml_reader_stack(r, 1, &parent, &frame), 0);
    assert_true(parent == 0 && frame == 1);
    ml_reader_free(r);
    ml_reader_free(NULL);
    ml_buf_free(&file);
}

/* Definitions carry across chunks; times are relative to each chunk's
 * base time. */
static void
test_across_chunks(void **state)
{
    (void)state;
    ml_buf f, b;
    ml_buf_init(&f, 1 << 20);
    ml_buf_init(&b, 1 << 16);
    tu_file_header(&f);
    int64_t clock = 5000;
    ml_record defs[] = {r_string(1, "main"), r_string(2, "app.py"),
                        r_frame(1, 1, 2), r_stack(1, 0, 1), r_thread(1, 1)};
    defs[4].time_us = 5000;
    for (size_t i = 0; i < 5; i++) {
        tu_record(&b, &defs[i], &clock);
    }
    tu_chunk(&f, 0, 5000, b.data, b.len);
    ml_buf_reset(&b);
    clock = 1000000;
    ml_record s = r_samples(1, 1);
    s.time_us = 1000007;
    tu_record(&b, &s, &clock);
    tu_chunk(&f, 1, 1000000, b.data, b.len);
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(f.data, f.len, &r), 0);
    ml_record rec;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ml_reader_next(r, &rec), 1);
    }
    assert_int_equal(rec.kind, ML_KIND_THREAD);
    assert_true(rec.time_us == 5000);
    assert_int_equal(ml_reader_next(r, &rec), 1);
    assert_int_equal(rec.kind, ML_KIND_SAMPLES);
    assert_true(rec.time_us == 1000007);
    assert_int_equal(rec.u.samples.count, 3);
    assert_int_equal(ml_reader_next(r, &rec), 0);
    assert_int_equal(ml_reader_next(r, &rec), 0); /* the end stays */
    ml_reader_free(r);
    ml_buf_free(&f);
    ml_buf_free(&b);
}

/* Every chunk replayed after a full read gives the same non-definition
 * records as the first time, and the reader then goes on where it was. */
static void
test_replay_every_chunk(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = tu_sample_recording(2048, 5000, 7, &len);
    enum {
        MAXC = 512,
        MAXR = 20000
    };
    static ml_record first[MAXR];
    static uint32_t chunk_of[MAXR];
    static ml_reader_pos pos[MAXC];
    ml_reader *r;
    assert_int_equal(ml_reader_open_mem(data, len, &r), 0);
    ml_record rec;
    size_t n = 0;
    uint32_t nchunks = 0;
    int rc;
    /* Byte ranges point into the reader's buffers: compare kinds, times
     * and fixed fields only. */
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        ml_reader_pos p;
        ml_reader_tell(r, &p);
        if (nchunks == 0 || pos[nchunks - 1].chunk_seq != p.chunk_seq) {
            assert_true(nchunks < MAXC);
            pos[nchunks++] = p;
        }
        if (rec.kind == ML_KIND_STRING || rec.kind == ML_KIND_FRAME
            || rec.kind == ML_KIND_STACK) {
            continue;
        }
        assert_true(n < MAXR);
        chunk_of[n] = p.chunk_seq;
        first[n++] = rec;
    }
    assert_int_equal(rc, 0);
    assert_true(nchunks > 3);
    /* Not between chunks of its own: not allowed while inside one. */
    size_t k = 0;
    for (uint32_t c = 0; c < nchunks; c++) {
        uint32_t seq = pos[c].chunk_seq;
        assert_int_equal(ml_reader_replay(r, pos[c].chunk_off, seq), 0);
        assert_int_equal(ml_reader_replay(r, pos[c].chunk_off, seq),
                         ML_EINVAL);
        while ((rc = ml_reader_next(r, &rec)) > 0) {
            assert_true(k < n);
            assert_int_equal(chunk_of[k], seq);
            assert_int_equal(rec.kind, first[k].kind);
            assert_true(rec.time_us == first[k].time_us);
            k++;
        }
        assert_int_equal(rc, 0);
        ml_reader_replay_end(r);
    }
    assert_int_equal(k, n);
    /* A wrong sequence number or offset is refused; the reader is at its
     * end as before. */
    assert_int_equal(ml_reader_replay(r, pos[1].chunk_off, 0), ML_EINVAL);
    assert_int_equal(ml_reader_replay(r, 3, 0), ML_EINVAL);
    assert_int_equal(ml_reader_next(r, &rec), 0);
    ml_reader_free(r);
    free(data);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncate_in_last_chunk),
        cmocka_unit_test(test_truncate_everywhere),
        cmocka_unit_test(test_truncated_and_growing_file),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_flip_records_with_valid_checksums),
        cmocka_unit_test(test_bad_references),
        cmocka_unit_test(test_unknown_kinds_skipped),
        cmocka_unit_test(test_longer_records_accepted),
        cmocka_unit_test(test_framing_damage),
        cmocka_unit_test(test_sticky_error_and_lookups),
        cmocka_unit_test(test_across_chunks),
        cmocka_unit_test(test_replay_every_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
