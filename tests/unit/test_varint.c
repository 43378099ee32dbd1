// SPDX-License-Identifier: MIT
// Unit tests of src/core/ml_varint: LEB128 byte layouts (the worked examples
// of docs/FORMAT.md), zigzag mapping, truncated and overlong input.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_error.h"
#include "core/ml_varint.h"

typedef struct {
    uint64_t value;
    size_t len;
    uint8_t bytes[ML_VARINT_MAX];
} varint_case;

static const varint_case varint_cases[] = {
    {0, 1, {0x00}},
    {1, 1, {0x01}},
    {127, 1, {0x7f}},
    {128, 2, {0x80, 0x01}},
    {300, 2, {0xac, 0x02}},
    {16383, 2, {0xff, 0x7f}},
    {16384, 3, {0x80, 0x80, 0x01}},
    {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
    {UINT64_C(1) << 56,
     9,
     {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
    {UINT64_C(1) << 63,
     10,
     {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
    {UINT64_MAX,
     10,
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
};

#define N_VARINT (sizeof varint_cases / sizeof varint_cases[0])

static void
test_encode_known_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VARINT; i++) {
        const varint_case *c = &varint_cases[i];
        uint8_t buf[ML_VARINT_MAX + 4];
        memset(buf, 0xee, sizeof buf);
        size_t n = ml_varint_encode(buf, c->value);
        assert_int_equal(n, c->len);
        assert_memory_equal(buf, c->bytes, c->len);
        assert_int_equal(buf[n], 0xee); /* nothing written past the end */
    }
}

static void
test_decode_known_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VARINT; i++) {
        const varint_case *c = &varint_cases[i];
        uint64_t v = 0;
        int n = ml_varint_decode(c->bytes, c->bytes + c->len, &v);
        assert_int_equal(n, (int)c->len);
        assert_true(v == c->value);
        /* Bytes after the varint are not consumed. */
        uint8_t more[ML_VARINT_MAX + 2];
        memcpy(more, c->bytes, c->len);
        more[c->len] = 0xff;
        more[c->len + 1] = 0xff;
        v = 0;
        n = ml_varint_decode(more, more + c->len + 2, &v);
        assert_int_equal(n, (int)c->len);
        assert_true(v == c->value);
    }
}

static void
test_decode_truncated(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VARINT; i++) {
        const varint_case *c = &varint_cases[i];
        for (size_t cut = 0; cut < c->len; cut++) {
            uint64_t v = 12345;
            assert_int_equal(ml_varint_decode(c->bytes, c->bytes + cut, &v),
                             ML_ETRUNC);
            assert_true(v == 12345); /* output untouched on failure */
        }
    }
}

static void
test_decode_overlong_rejected(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        uint8_t bytes[12];
        int expect;
    } bad[] = {
        /* 11 bytes: ten continuation bytes then a terminator. */
        {11,
         {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
         ML_ECORRUPT},
        /* Tenth byte 0x02: would be bit 64. */
        {10,
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
         ML_ECORRUPT},
        /* Tenth byte 0x7f. */
        {10,
         {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f},
         ML_ECORRUPT},
        /* Tenth byte 0x81: continuation at the last allowed byte. */
        {12,
         {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00,
          0x00},
         ML_ECORRUPT},
        /* Nine continuation bytes and the end of input: truncated. */
        {9, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}, ML_ETRUNC},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        assert_int_equal(
            ml_varint_decode(bad[i].bytes, bad[i].bytes + bad[i].len, &v),
            bad[i].expect);
        assert_true(v == 7);
    }
}

static void
test_roundtrip_every_length(void **state)
{
    (void)state;
    /* Every power of two and its neighbours: each length boundary. */
    for (int bit = 0; bit < 64; bit++) {
        uint64_t base = UINT64_C(1) << bit;
        uint64_t vals[3] = {base - 1, base, base + 1};
        for (int k = 0; k < 3; k++) {
            uint8_t buf[ML_VARINT_MAX];
            size_t n = ml_varint_encode(buf, vals[k]);
            assert_true(n >= 1 && n <= ML_VARINT_MAX);
            /* 7 bits per byte. */
            size_t bits = 1;
            for (uint64_t x = vals[k]; x >>= 1;) {
                bits++;
            }
            assert_int_equal(n, (bits + 6) / 7);
            uint64_t v;
            assert_int_equal(ml_varint_decode(buf, buf + n, &v), (int)n);
            assert_true(v == vals[k]);
        }
    }
}

static void
test_zigzag(void **state)
{
    (void)state;
    static const struct {
        int64_t s;
        uint64_t u;
    } cases[] = {
        {0, 0},
        {-1, 1},
        {1, 2},
        {-2, 3},
        {2, 4},
        {-64, 127},
        {64, 128},
        {INT32_MAX, UINT64_C(0xfffffffe)},
        {INT32_MIN, UINT64_C(0xffffffff)},
        {INT64_MAX, UINT64_MAX - 1},
        {INT64_MIN, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(ml_zigzag_encode(cases[i].s) == cases[i].u);
        assert_true(ml_zigzag_decode(cases[i].u) == cases[i].s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_known_bytes),
        cmocka_unit_test(test_decode_known_bytes),
        cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_decode_overlong_rejected),
        cmocka_unit_test(test_roundtrip_every_length),
        cmocka_unit_test(test_zigzag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
