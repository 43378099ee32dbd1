// SPDX-License-Identifier: MIT
// Unit tests of src/export: the protocol-buffer encodings pprof needs (the
// worked examples of protobuf.dev's encoding guide) and the span builder
// that turns samples into calls (continuing stacks, returns, recursion,
// gaps, the end).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_buf.h"
#include "export/ml_export_int.h"
#include "export/ml_protobuf.h"

static void
expect_bytes(const ml_buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
}

static void
test_pb_varint_field(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 1024);
    assert_int_equal(ml_pb_varint(&b, 1, 150), 0);
    static const uint8_t want[] = {0x08, 0x96, 0x01};
    expect_bytes(&b, want, sizeof want);
    ml_buf_free(&b);
}

static void
test_pb_string_field(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 1024);
    assert_int_equal(ml_pb_bytes(&b, 2, "testing", 7), 0);
    static const uint8_t want[] = {0x12, 0x07, 't', 'e', 's',
                                   't',  'i',  'n', 'g'};
    expect_bytes(&b, want, sizeof want);
    ml_buf_free(&b);
}

static void
test_pb_packed_field(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 1024);
    static const uint64_t v[] = {3, 270, 86942};
    assert_int_equal(ml_pb_packed(&b, 4, v, 3), 0);
    static const uint8_t want[] = {0x22, 0x06, 0x03, 0x8e,
                                   0x02, 0x9e, 0xa7, 0x05};
    expect_bytes(&b, want, sizeof want);
    ml_buf_reset(&b);
    assert_int_equal(ml_pb_packed(&b, 1, v, 0), 0);
    static const uint8_t empty[] = {0x0a, 0x00};
    expect_bytes(&b, empty, sizeof empty);
    ml_buf_free(&b);
}

static void
test_pb_limit(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 4);
    assert_true(ml_pb_bytes(&b, 2, "testing", 7) < 0);
    ml_buf_free(&b);
}

/* ---- the span builder ------------------------------------------------- */

typedef struct {
    char kind; /* 'O' or 'C' */
    uint32_t thread, depth, func;
    uint64_t start, end, samples;
} ev;

typedef struct {
    ev e[64];
    int n;
} evs;

static void
on_open(void *ctx, uint32_t thread, uint32_t depth, uint32_t func, uint64_t at)
{
    evs *v = ctx;
    v->e[v->n++] = (ev){'O', thread, depth, func, at, 0, 0};
}

static void
on_close(void *ctx, uint32_t thread, uint32_t depth, uint32_t func,
         uint64_t start, uint64_t end, uint64_t running, uint64_t samples)
{
    evs *v = ctx;
    (void)running;
    v->e[v->n++] = (ev){'C', thread, depth, func, start, end, samples};
}

static void
expect_close(const ev *e, uint32_t depth, uint32_t func, uint64_t start,
             uint64_t end, uint64_t samples)
{
    assert_int_equal(e->kind, 'C');
    assert_int_equal(e->depth, depth);
    assert_int_equal(e->func, func);
    assert_int_equal(e->start, start);
    assert_int_equal(e->end, end);
    assert_int_equal(e->samples, samples);
}

/* Interval 1000 us: main() calls a() then b(); each sample run continues
 * the calls it shares with the open stack. */
static void
test_spans_continue_and_return(void **state)
{
    (void)state;
    evs v = {0};
    xspans *s;
    assert_int_equal(xspans_new(1000, 4, on_open, on_close, &v, &s), 0);
    static const uint32_t main_a[] = {7, 8}, main_b[] = {7, 9};
    assert_int_equal(xspans_feed(s, 1, 0, 1000, 3, main_a, 2, 1), 0);
    assert_int_equal(v.n, 2); /* main and a opened at 0 */
    assert_int_equal(xspans_feed(s, 1, 3000, 1000, 2, main_b, 2, 1), 0);
    /* a returned at b's first sample; main goes on */
    assert_int_equal(v.n, 4);
    expect_close(&v.e[2], 1, 8, 0, 3000, 3);
    assert_int_equal(v.e[3].kind, 'O');
    assert_int_equal(v.e[3].func, 9);
    xspans_finish(s);
    /* b, then main, end one interval after the last sample (4000) */
    assert_int_equal(v.n, 6);
    expect_close(&v.e[4], 1, 9, 3000, 5000, 2);
    expect_close(&v.e[5], 0, 7, 0, 5000, 5);
    xspans_free(s);
}

/* Recursion is one call per depth; the inner one returns first. */
static void
test_spans_recursion(void **state)
{
    (void)state;
    evs v = {0};
    xspans *s;
    assert_int_equal(xspans_new(1000, 4, on_open, on_close, &v, &s), 0);
    static const uint32_t r3[] = {1, 1, 1}, r1[] = {1};
    assert_int_equal(xspans_feed(s, 2, 100, 1000, 1, r1, 1, 1), 0);
    assert_int_equal(xspans_feed(s, 2, 1100, 1000, 2, r3, 3, 1), 0);
    assert_int_equal(xspans_feed(s, 2, 3100, 1000, 1, r1, 1, 0), 0);
    assert_int_equal(v.n, 5);
    expect_close(&v.e[3], 2, 1, 1100, 3100, 2);
    expect_close(&v.e[4], 1, 1, 1100, 3100, 2);
    xspans_finish(s);
    expect_close(&v.e[5], 0, 1, 100, 4100, 4);
    xspans_free(s);
}

/* A gap of more than 4 intervals ends everything one interval after the
 * last sample, even the calls the next samples share; a shorter one is
 * bridged. */
static void
test_spans_gap(void **state)
{
    (void)state;
    evs v = {0};
    xspans *s;
    assert_int_equal(xspans_new(1000, 4, on_open, on_close, &v, &s), 0);
    static const uint32_t st[] = {5, 6};
    assert_int_equal(xspans_feed(s, 1, 0, 1000, 2, st, 2, 1), 0);
    assert_int_equal(xspans_feed(s, 1, 4000, 1000, 1, st, 2, 1), 0);
    assert_int_equal(v.n, 2); /* 3 ms of silence: bridged */
    assert_int_equal(xspans_feed(s, 1, 20000, 1000, 1, st, 2, 1), 0);
    assert_int_equal(v.n, 6);
    expect_close(&v.e[2], 1, 6, 0, 5000, 3);
    expect_close(&v.e[3], 0, 5, 0, 5000, 3);
    assert_int_equal(v.e[4].start, 20000);
    assert_int_equal(v.e[5].start, 20000);
    xspans_free(s);
}

/* An empty stack ends every call at its time; samples a little out of
 * order never make time go back. */
static void
test_spans_empty_and_out_of_order(void **state)
{
    (void)state;
    evs v = {0};
    xspans *s;
    assert_int_equal(xspans_new(1000, 4, on_open, on_close, &v, &s), 0);
    static const uint32_t st[] = {3};
    assert_int_equal(xspans_feed(s, 1, 5000, 1000, 1, st, 1, 1), 0);
    assert_int_equal(xspans_feed(s, 1, 4990, 1000, 1, NULL, 0, 0), 0);
    assert_int_equal(v.n, 2);
    expect_close(&v.e[1], 0, 3, 5000, 5000, 1);
    xspans_finish(s);
    assert_int_equal(v.n, 2);
    xspans_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_varint_field),
        cmocka_unit_test(test_pb_string_field),
        cmocka_unit_test(test_pb_packed_field),
        cmocka_unit_test(test_pb_limit),
        cmocka_unit_test(test_spans_continue_and_return),
        cmocka_unit_test(test_spans_recursion),
        cmocka_unit_test(test_spans_gap),
        cmocka_unit_test(test_spans_empty_and_out_of_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
