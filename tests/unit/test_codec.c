// SPDX-License-Identifier: MIT
// Unit tests of src/format/ml_codec: every record kind round trips,
// including extreme values; bytes after the known fields are ignored; every
// truncation of a payload and every out-of-range field is ML_ECORRUPT with a
// reason; the chunk clock advances the same way in both directions. The
// cases use the 2.x layout (definitions with their ids);
// test_definitions_v3 covers 3.0's, where the ids are implied.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/ml_error.h"
#include "format/ml_codec.h"
#include "format/ml_format.h"
#include "ml_test_util.h"

#define TMAX ((UINT64_C(1) << 62) - 1) /* the largest time a file holds */

/* A 2.x file: definitions carry their ids. */
static const ml_codec_file V2 = {2, 0, 0, 0};

static const uint8_t text[] = "h\xc3\xa9llo\0world";
#define BYTES(s) ((ml_bytes){(const uint8_t *)(s), sizeof(s) - 1})
#define NOBYTES ((ml_bytes){NULL, 0})

static ml_value
val_u(uint64_t u)
{
    ml_value v = {.tag = ML_TAG_UINT};
    v.v.u = u;
    return v;
}

static ml_value
val_i(int64_t i)
{
    ml_value v = {.tag = ML_TAG_INT};
    v.v.i = i;
    return v;
}

static ml_value
val_f(double f)
{
    ml_value v = {.tag = ML_TAG_F64};
    v.v.f = f;
    return v;
}

static ml_value
val_b(ml_bytes b)
{
    ml_value v = {.tag = ML_TAG_BYTES};
    v.v.b = b;
    return v;
}

/* The table: every kind, with small, typical and extreme values. */
static ml_record cases[64];
static size_t ncases;

static void
add(ml_record r)
{
    assert_true(ncases < sizeof cases / sizeof cases[0]);
    cases[ncases++] = r;
}

static void
build_cases(void)
{
    static uint8_t big[ML_TEXT_MAX];
    memset(big, 'z', sizeof big);
    ml_bytes bigb = {big, sizeof big};
    ml_bytes bigs = {big, ML_STRING_MAX};
    ncases = 0;
    ml_record r;

    /* META with each tag. */
    const ml_value metas[] = {
        val_u(0),         val_u(UINT64_MAX), val_i(INT64_MIN),
        val_i(INT64_MAX), val_i(-1),         val_f(0.0),
        val_f(-0.0),      val_f(NAN),        val_f(INFINITY),
        val_f(-1e308),    val_f(5e-324),     val_b(BYTES(text)),
        val_b(NOBYTES),   val_b(bigb),
    };
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
        r = (ml_record){.kind = ML_KIND_META};
        r.u.meta.key = i % 2 ? BYTES("python") : NOBYTES;
        r.u.meta.value = metas[i];
        add(r);
    }
    r = (ml_record){.kind = ML_KIND_META};
    r.u.meta.key = bigs;
    r.u.meta.value = val_u(1);
    add(r);

    r = (ml_record){.kind = ML_KIND_STRING};
    r.u.string.id = 1;
    r.u.string.text = BYTES(text);
    add(r);
    r.u.string.id = UINT32_MAX;
    r.u.string.text = NOBYTES;
    add(r);
    r.u.string.text = bigs;
    add(r);

    r = (ml_record){.kind = ML_KIND_FRAME};
    r.u.frame.id = 1;
    r.u.frame.name = 2;
    r.u.frame.file = 3;
    r.u.frame.line = 40;
    r.u.frame.firstline = 39;
    add(r);
    r.u.frame.id = r.u.frame.name = r.u.frame.file = UINT32_MAX;
    r.u.frame.line = r.u.frame.firstline = UINT32_MAX;
    add(r);
    memset(&r.u.frame, 0, sizeof r.u.frame);
    add(r);

    r = (ml_record){.kind = ML_KIND_STACK};
    r.u.stack.id = 2;
    r.u.stack.parent = 1;
    r.u.stack.frame = 7;
    add(r);
    r.u.stack.id = r.u.stack.parent = r.u.stack.frame = UINT32_MAX;
    add(r);

    r = (ml_record){.kind = ML_KIND_THREAD, .time_us = 5};
    r.u.thread.id = 1;
    r.u.thread.native_id = 4242;
    r.u.thread.ident = 140234234234ull;
    r.u.thread.name = 3;
    add(r);
    r.time_us = TMAX;
    r.u.thread.id = UINT32_MAX;
    r.u.thread.native_id = UINT64_MAX;
    r.u.thread.ident = UINT64_MAX;
    r.u.thread.name = UINT32_MAX;
    add(r);

    r = (ml_record){.kind = ML_KIND_THREAD_END, .time_us = 0};
    r.u.thread_end.id = 1;
    add(r);
    r.time_us = TMAX;
    r.u.thread_end.id = UINT32_MAX;
    add(r);

    r = (ml_record){.kind = ML_KIND_SAMPLES, .time_us = 1000};
    r.u.samples.thread = 1;
    r.u.samples.cpu = ML_CPU_UNKNOWN; /* SAMPLES records carry none */
    r.u.samples.stack = 9;
    r.u.samples.state = ML_STATE_RUNNING | ML_STATE_GIL;
    r.u.samples.count = 1;
    r.u.samples.span_us = 0;
    add(r);
    r.u.samples.stack = 0; /* no stack */
    r.u.samples.state = 0xff;
    r.u.samples.count = UINT32_MAX;
    r.u.samples.span_us = TMAX - 1000;
    add(r);
    r.time_us = TMAX;
    r.u.samples.thread = UINT32_MAX;
    r.u.samples.stack = UINT32_MAX;
    r.u.samples.span_us = 0;
    add(r);

    r = (ml_record){.kind = ML_KIND_SERIES};
    r.u.series.id = 1;
    r.u.series.cls = ML_SERIES_METRIC;
    r.u.series.name = 4;
    r.u.series.unit = 0;
    add(r);
    r.u.series.id = r.u.series.name = r.u.series.unit = UINT32_MAX;
    r.u.series.cls = 0xff;
    add(r);

    const ml_value values[] = {val_u(UINT64_MAX), val_i(INT64_MIN),
                               val_f(-0.0), val_b(BYTES("MB"))};
    for (size_t i = 0; i < 4; i++) {
        r = (ml_record){.kind = ML_KIND_VALUE, .time_us = i ? TMAX : 0};
        r.u.value.series = i ? UINT32_MAX : 1;
        r.u.value.value = values[i];
        add(r);
    }

    r = (ml_record){.kind = ML_KIND_LOG, .time_us = 77};
    r.u.log.time_us = 77;
    r.u.log.thread = 1;
    r.u.log.level = 20;
    r.u.log.source = ML_LOG_LOGGING;
    r.u.log.stack = 3;
    r.u.log.text = BYTES(text);
    add(r);
    r.time_us = r.u.log.time_us = TMAX;
    r.u.log.thread = r.u.log.level = r.u.log.stack = UINT32_MAX;
    r.u.log.source = 0xff;
    r.u.log.text = bigb;
    add(r);
    r.time_us = r.u.log.time_us = 0;
    r.u.log.thread = r.u.log.level = r.u.log.stack = 0;
    r.u.log.text = NOBYTES;
    add(r);

    r = (ml_record){.kind = ML_KIND_SPAN, .time_us = 123};
    ml_span *s = &r.u.span;
    s->call_id = 1;
    s->parent_call = 0;
    s->thread = 2;
    s->time_us = 123;
    s->wall_ns = 1500000;
    s->cpu_ns = 900000;
    s->mem_delta = -4096;
    s->name = 5;
    s->file = 6;
    s->line = 10;
    s->args = BYTES("(x=1, y='a')");
    s->exception = NOBYTES;
    add(r);
    r.time_us = s->time_us = TMAX;
    s->call_id = s->parent_call = s->wall_ns = s->cpu_ns = UINT64_MAX;
    s->mem_delta = INT64_MIN;
    s->thread = s->name = s->file = s->line = UINT32_MAX;
    s->args = bigb;
    s->exception = bigb;
    add(r);
    s->mem_delta = INT64_MAX;
    s->args = NOBYTES;
    s->exception = BYTES("ValueError: boom");
    add(r);

    r = (ml_record){.kind = ML_KIND_REPORT};
    r.u.report.kind = ML_REPORT_OPEN_FILES;
    r.u.report.name = 0;
    r.u.report.body = BYTES("{\"files\": []}");
    add(r);
    r.u.report.kind = 0xff;
    r.u.report.name = UINT32_MAX;
    r.u.report.body = bigb;
    add(r);

    r = (ml_record){.kind = ML_KIND_END, .time_us = 999};
    r.u.end.exit_status = 0;
    add(r);
    r.time_us = TMAX;
    r.u.end.exit_status = INT64_MIN;
    add(r);
    r.time_us = 0;
    r.u.end.exit_status = INT64_MAX;
    add(r);
}

static int
is_timed(uint8_t kind)
{
    switch (kind) {
    case ML_KIND_THREAD:
    case ML_KIND_THREAD_END:
    case ML_KIND_SAMPLES:
    case ML_KIND_VALUE:
    case ML_KIND_LOG:
    case ML_KIND_SPAN:
    case ML_KIND_END:
        return 1;
    default:
        return 0;
    }
}

static ml_buf
encode(const ml_record *r, int64_t start_clock, int64_t *clock_out)
{
    ml_buf b;
    ml_buf_init(&b, ML_RECORD_MAX);
    int64_t clock = start_clock;
    assert_int_equal(ml_codec_encode(&b, 2, r, &clock), 0);
    assert_true(b.len <= ML_RECORD_MAX);
    if (clock_out != NULL) {
        *clock_out = clock;
    }
    return b;
}

static void
test_every_kind_known(void **state)
{
    (void)state;
    for (int k = 0; k < 256; k++) {
        int known = k >= ML_KIND_META && k <= ML_KIND_END;
        assert_int_equal(!!ml_codec_known((uint8_t)k), known);
    }
}

static void
test_roundtrip(void **state)
{
    (void)state;
    build_cases();
    /* Several starting clocks: times are deltas from the chunk clock. */
    const int64_t clocks[] = {0, 1000, (int64_t)TMAX};
    int seen[256] = {0};
    for (size_t i = 0; i < ncases; i++) {
        seen[cases[i].kind] = 1;
        for (size_t c = 0; c < 3; c++) {
            int64_t after_enc;
            ml_buf b = encode(&cases[i], clocks[c], &after_enc);
            ml_record out;
            memset(&out, 0xcc, sizeof out);
            int64_t clock = clocks[c];
            const char *why = NULL;
            int rc = ml_codec_decode(cases[i].kind, &V2, b.data,
                                     (uint32_t)b.len, &clock, &out, &why);
            if (rc != 0) {
                fail_msg("case %zu (kind %u): %d %s", i, cases[i].kind, rc,
                         why ? why : "");
            }
            assert_true(tu_record_eq(&cases[i], &out));
            assert_true(clock == after_enc);
            if (is_timed(cases[i].kind)) {
                assert_true(clock == (int64_t)cases[i].time_us);
                assert_true(out.time_us == cases[i].time_us);
            } else {
                assert_true(clock == clocks[c]);
            }
            ml_buf_free(&b);
        }
    }
    for (int k = ML_KIND_META; k <= ML_KIND_END; k++) {
        if (!seen[k]) {
            fail_msg("kind %d has no test case", k);
        }
    }
}

/* A later minor version may append fields: a reader ignores them. */
static void
test_trailing_bytes_ignored(void **state)
{
    (void)state;
    build_cases();
    static const uint8_t extra[] = {0xff, 0xff, 0xff, 0x00, 0x80};
    for (size_t i = 0; i < ncases; i++) {
        ml_buf b = encode(&cases[i], 0, NULL);
        size_t len = b.len;
        assert_int_equal(ml_buf_reserve(&b, sizeof extra), 0);
        memcpy(b.data + len, extra, sizeof extra);
        for (size_t n = 1; n <= sizeof extra; n++) {
            ml_record out;
            int64_t clock = 0;
            const char *why = NULL;
            assert_int_equal(ml_codec_decode(cases[i].kind, &V2, b.data,
                                             (uint32_t)(len + n), &clock, &out,
                                             &why),
                             0);
            assert_true(tu_record_eq(&cases[i], &out));
        }
        ml_buf_free(&b);
    }
}

/* Every proper prefix of a payload is an error with a reason, and leaves
 * the clock and the output alone. */
static void
test_every_truncation(void **state)
{
    (void)state;
    build_cases();
    for (size_t i = 0; i < ncases; i++) {
        ml_buf b = encode(&cases[i], 0, NULL);
        /* Big payloads: every cut near the ends of each field is enough,
         * but walking them all is cheap below 64 KiB. */
        size_t step = b.len > 65536 ? 4093 : 1;
        for (size_t cut = 0; cut < b.len; cut += step) {
            ml_record out;
            memset(&out, 0x5a, sizeof out);
            ml_record before = out;
            int64_t clock = 17;
            const char *why = NULL;
            int rc = ml_codec_decode(cases[i].kind, &V2, b.data, (uint32_t)cut,
                                     &clock, &out, &why);
            if (rc != ML_ECORRUPT) {
                fail_msg("case %zu kind %u cut %zu/%zu: rc %d", i,
                         cases[i].kind, cut, b.len, rc);
            }
            assert_non_null(why);
            assert_true(strlen(why) > 0);
            assert_true(clock == 17);
            assert_memory_equal(&out, &before, sizeof out);
        }
        ml_buf_free(&b);
    }
}

/* Hand-made payloads that must be refused, each with the reason. */
static void
test_bad_payloads(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t kind;
        size_t len;
        uint8_t p[24];
        int64_t clock;
    } bad[] = {
        {"meta: unknown value tag", ML_KIND_META, 3, {1, 'k', 9}, 0},
        {"meta: short double", ML_KIND_META, 6, {0, 3, 1, 2, 3, 4}, 0},
        {"string: id over 32 bits",
         ML_KIND_STRING,
         6,
         {0x80, 0x80, 0x80, 0x80, 0x10, 0},
         0},
        {"string: length over the string limit",
         ML_KIND_STRING,
         5,
         {1, 0x81, 0x80, 0x40, 'x'},
         0},
        {"frame: line over 32 bits",
         ML_KIND_FRAME,
         9,
         {1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x7f, 1},
         0},
        {"samples: count 0", ML_KIND_SAMPLES, 6, {1, 0, 1, 1, 0, 0}, 0},
        {"samples: time before 0", ML_KIND_SAMPLES, 6, {1, 3, 1, 1, 1, 0}, 1},
        {"samples: span past 2^62",
         ML_KIND_SAMPLES,
         14,
         {1, 0, 1, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40},
         0},
        {"thread: time at 2^62",
         ML_KIND_THREAD,
         14,
         {1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0,
          0},
         0},
        {"end: huge negative delta",
         ML_KIND_END,
         11,
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},
         5},
        {"value: unknown tag", ML_KIND_VALUE, 3, {1, 0, 4}, 0},
        {"log: 11-byte varint",
         ML_KIND_LOG,
         12,
         {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0},
         0},
        {"span: args length past the end",
         ML_KIND_SPAN,
         12,
         {0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 5, 'a'},
         0},
        {"report: body past the end", ML_KIND_REPORT, 4, {1, 0, 9, 'x'}, 0},
        {"unknown kind", 200, 1, {0}, 0},
        {"kind 0", 0, 1, {0}, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ml_record out;
        int64_t clock = bad[i].clock;
        const char *why = NULL;
        int rc = ml_codec_decode(bad[i].kind, &V2, bad[i].p,
                                 (uint32_t)bad[i].len, &clock, &out, &why);
        if (rc != ML_ECORRUPT || why == NULL) {
            fail_msg("%s: rc %d", bad[i].what, rc);
        }
        assert_true(clock == bad[i].clock);
    }
}

/* The clock carries from record to record: a sequence of timed records
 * encodes as small deltas and decodes back to absolute times. */
static void
test_clock_sequence(void **state)
{
    (void)state;
    static const uint64_t times[] = {1000000, 1000010, 999990, 5, TMAX,
                                     0,       TMAX,    1,      2};
    ml_buf b;
    ml_buf_init(&b, 1 << 16);
    int64_t enc = 1000000;
    size_t ends[16];
    size_t n = sizeof times / sizeof times[0];
    for (size_t i = 0; i < n; i++) {
        ml_record r = {.kind = ML_KIND_END, .time_us = times[i]};
        r.u.end.exit_status = (int64_t)i;
        assert_int_equal(ml_codec_encode(&b, 2, &r, &enc), 0);
        ends[i] = b.len;
    }
    /* Deltas of 10 and -20 take one byte each for the time. */
    assert_int_equal(ends[1] - ends[0], 2);
    assert_int_equal(ends[2] - ends[1], 2);
    int64_t dec = 1000000;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        ml_record out;
        const char *why;
        assert_int_equal(ml_codec_decode(ML_KIND_END, &V2, b.data + start,
                                         (uint32_t)(ends[i] - start), &dec,
                                         &out, &why),
                         0);
        assert_true(out.time_us == times[i]);
        assert_true(out.u.end.exit_status == (int64_t)i);
        start = ends[i];
    }
    ml_buf_free(&b);
}

static void
test_encode_errors(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 64);
    int64_t clock = 0;
    ml_record r = {.kind = 200};
    assert_int_equal(ml_codec_encode(&b, 2, &r, &clock), ML_EINVAL);
    r.kind = 0;
    assert_int_equal(ml_codec_encode(&b, 2, &r, &clock), ML_EINVAL);
    r = (ml_record){.kind = ML_KIND_META};
    r.u.meta.value.tag = 7;
    assert_int_equal(ml_codec_encode(&b, 2, &r, &clock), ML_EINVAL);
    /* A payload that does not fit the buffer's limit. */
    r = (ml_record){.kind = ML_KIND_STRING};
    r.u.string.id = 1;
    static uint8_t big[100];
    r.u.string.text = (ml_bytes){big, sizeof big};
    ml_buf_reset(&b);
    assert_int_equal(ml_codec_encode(&b, 2, &r, &clock), ML_ELIMIT);
    ml_buf_free(&b);
}

/* Decodes one 3.x definition in a file with `defined` of each so far. */
static int
decode_v3(uint8_t kind, const ml_buf *b, uint32_t defined, ml_record *out)
{
    ml_codec_file f = {3, defined, defined, defined};
    int64_t clock = 0;
    const char *why = NULL;
    return ml_codec_decode(kind, &f, b->data, (uint32_t)b->len, &clock, out,
                           &why);
}

/* 3.0: a definition takes the next id of its table, and a stack's parent is
 * the distance back (FORMAT.md's example: stack 6 under 5, frame 4, is the
 * payload `01 04`). */
static void
test_definitions_v3(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 64);
    int64_t clock = 0;
    ml_record r = {.kind = ML_KIND_STACK};
    r.u.stack.id = 6;
    r.u.stack.parent = 5;
    r.u.stack.frame = 4;
    assert_int_equal(ml_codec_encode(&b, 3, &r, &clock), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "\x01\x04", 2);
    ml_record out;
    assert_int_equal(decode_v3(ML_KIND_STACK, &b, 5, &out), 0);
    assert_true(tu_record_eq(&r, &out));
    /* The same bytes one stack later are stack 7 under 6. */
    assert_int_equal(decode_v3(ML_KIND_STACK, &b, 6, &out), 0);
    assert_int_equal(out.u.stack.id, 7);
    assert_int_equal(out.u.stack.parent, 6);
    /* A root stack stores 0; a distance past stack 1 is corrupt. */
    ml_buf_reset(&b);
    r.u.stack.parent = 0;
    r.u.stack.frame = 1;
    assert_int_equal(ml_codec_encode(&b, 3, &r, &clock), 0);
    assert_memory_equal(b.data, "\x00\x01", 2);
    assert_int_equal(decode_v3(ML_KIND_STACK, &b, 5, &out), 0);
    assert_int_equal(out.u.stack.parent, 0);
    ml_buf_reset(&b);
    ml_buf_append(&b, "\x06\x04", 2);
    assert_int_equal(decode_v3(ML_KIND_STACK, &b, 5, &out), ML_ECORRUPT);
    /* A parent that is not an earlier stack cannot be written. */
    r.u.stack.parent = 6;
    assert_int_equal(ml_codec_encode(&b, 3, &r, &clock), ML_EINVAL);
    /* Strings and frames: the fields without the id. */
    ml_buf_reset(&b);
    r = (ml_record){.kind = ML_KIND_STRING};
    r.u.string.id = 6;
    r.u.string.text = (ml_bytes){(const uint8_t *)"fib", 3};
    assert_int_equal(ml_codec_encode(&b, 3, &r, &clock), 0);
    assert_memory_equal(b.data,
                        "\x03"
                        "fib",
                        4);
    assert_int_equal(decode_v3(ML_KIND_STRING, &b, 5, &out), 0);
    assert_true(tu_record_eq(&r, &out));
    ml_buf_reset(&b);
    r = (ml_record){.kind = ML_KIND_FRAME};
    r.u.frame.id = 4;
    r.u.frame.name = 6;
    r.u.frame.file = 2;
    r.u.frame.line = 5;
    r.u.frame.firstline = 4;
    assert_int_equal(ml_codec_encode(&b, 3, &r, &clock), 0);
    assert_memory_equal(b.data, "\x06\x02\x05\x04", 4);
    assert_int_equal(decode_v3(ML_KIND_FRAME, &b, 3, &out), 0);
    assert_true(tu_record_eq(&r, &out));
    ml_buf_free(&b);
}

/* 3.0: the keys every run has are one byte, others a 0 and their text. */
static void
test_meta_keys_v3(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 64);
    int64_t clock = 0;
    ml_record r = {.kind = ML_KIND_META};
    r.u.meta.key = (ml_bytes){(const uint8_t *)"pid", 3};
    r.u.meta.value = (ml_value){.tag = ML_TAG_UINT, .v.u = 300};
    assert_int_equal(ml_codec_encode(&b, 3, &r, &clock), 0);
    assert_memory_equal(b.data, "\x08\x01\xac\x02", 4);
    ml_record out;
    assert_int_equal(decode_v3(ML_KIND_META, &b, 0, &out), 0);
    assert_true(tu_record_eq(&r, &out));
    ml_buf_reset(&b);
    r.u.meta.key = (ml_bytes){(const uint8_t *)"pids", 4};
    assert_int_equal(ml_codec_encode(&b, 3, &r, &clock), 0);
    assert_memory_equal(b.data, "\x00\x04pids\x01\xac\x02", 9);
    assert_int_equal(decode_v3(ML_KIND_META, &b, 0, &out), 0);
    assert_true(tu_record_eq(&r, &out));
    /* A code past the table is malformed. */
    ml_buf_reset(&b);
    ml_buf_append(&b, "\x12\x01\x00", 3);
    assert_int_equal(decode_v3(ML_KIND_META, &b, 0, &out), ML_ECORRUPT);
    ml_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_known),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_trailing_bytes_ignored),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_bad_payloads),
        cmocka_unit_test(test_clock_sequence),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_definitions_v3),
        cmocka_unit_test(test_meta_keys_v3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
