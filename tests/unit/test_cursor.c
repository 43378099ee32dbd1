// SPDX-License-Identifier: MIT
// Unit tests of src/core/ml_cursor: every getter checks its bytes are there
// (ML_ETRUNC), 32-bit varints and byte lengths are capped, and a failed
// getter neither moves the cursor nor writes its output.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_cursor.h"
#include "core/ml_error.h"

static void
test_reads_in_order(void **state)
{
    (void)state;
    static const uint8_t in[] = {
        0x2a,                                           /* u8 */
        0xac, 0x02,                                     /* varint 300 */
        0xff, 0xff, 0xff, 0xff, 0x0f,                   /* varint32 max */
        0x03,                                           /* svarint -2 */
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* u64le */
        0,    0,    0,    0,    0,    0,    0xf8, 0x3f, /* 1.5 */
        0x02, 'o',  'k',                                /* bytes */
    };
    ml_cursor c;
    ml_cursor_init(&c, in, sizeof in);
    uint8_t u8;
    uint64_t u64;
    uint32_t u32;
    int64_t i64;
    double f;
    const uint8_t *p;
    uint32_t len;
    assert_int_equal(ml_cursor_left(&c), sizeof in);
    assert_int_equal(ml_cursor_u8(&c, &u8), 0);
    assert_int_equal(u8, 0x2a);
    assert_int_equal(ml_cursor_varint(&c, &u64), 0);
    assert_true(u64 == 300);
    assert_int_equal(ml_cursor_varint32(&c, &u32), 0);
    assert_int_equal(u32, UINT32_MAX);
    assert_int_equal(ml_cursor_svarint(&c, &i64), 0);
    assert_true(i64 == -2);
    assert_int_equal(ml_cursor_u64le(&c, &u64), 0);
    assert_true(u64 == 0x1122334455667788ull);
    assert_int_equal(ml_cursor_f64(&c, &f), 0);
    assert_true(f == 1.5);
    assert_int_equal(ml_cursor_bytes(&c, 2, &p, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(p, "ok", 2);
    assert_ptr_equal(p, in + sizeof in - 2); /* points into the input */
    assert_int_equal(ml_cursor_left(&c), 0);
    assert_int_equal(ml_cursor_offset(&c), sizeof in);
    assert_int_equal(ml_cursor_u8(&c, &u8), ML_ETRUNC);
}

/* Each getter on inputs that fail: expected error, cursor unmoved. */
static void
test_failures_leave_cursor(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        int getter; /* 0 u8, 1 varint, 2 varint32, 3 svarint, 4 u64, 5 f64,
                       6 bytes(max 4) */
        size_t len;
        uint8_t in[12];
        int expect;
    } cases[] = {
        {"u8 empty", 0, 0, {0}, ML_ETRUNC},
        {"varint empty", 1, 0, {0}, ML_ETRUNC},
        {"varint cut", 1, 2, {0x80, 0x80}, ML_ETRUNC},
        {"varint 11 bytes",
         1,
         11,
         {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0},
         ML_ECORRUPT},
        {"varint32 2^32", 2, 5, {0x80, 0x80, 0x80, 0x80, 0x10}, ML_ECORRUPT},
        {"varint32 cut", 2, 1, {0x80}, ML_ETRUNC},
        {"svarint cut", 3, 1, {0xff}, ML_ETRUNC},
        {"u64 7 bytes", 4, 7, {1, 2, 3, 4, 5, 6, 7}, ML_ETRUNC},
        {"f64 3 bytes", 5, 3, {1, 2, 3}, ML_ETRUNC},
        {"bytes over max", 6, 6, {5, 'a', 'b', 'c', 'd', 'e'}, ML_ELIMIT},
        {"bytes past end", 6, 3, {3, 'a', 'b'}, ML_ETRUNC},
        {"bytes no length", 6, 0, {0}, ML_ETRUNC},
        {"bytes huge length",
         6,
         10,
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         ML_ELIMIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ml_cursor c;
        ml_cursor_init(&c, cases[i].in, cases[i].len);
        uint8_t u8 = 9;
        uint64_t u64 = 9;
        uint32_t u32 = 9;
        int64_t i64 = 9;
        double f = 9;
        const uint8_t *p = NULL;
        uint32_t len = 9;
        int rc;
        switch (cases[i].getter) {
        case 0:
            rc = ml_cursor_u8(&c, &u8);
            break;
        case 1:
            rc = ml_cursor_varint(&c, &u64);
            break;
        case 2:
            rc = ml_cursor_varint32(&c, &u32);
            break;
        case 3:
            rc = ml_cursor_svarint(&c, &i64);
            break;
        case 4:
            rc = ml_cursor_u64le(&c, &u64);
            break;
        case 5:
            rc = ml_cursor_f64(&c, &f);
            break;
        default:
            rc = ml_cursor_bytes(&c, 4, &p, &len);
            break;
        }
        if (rc != cases[i].expect) {
            fail_msg("%s: got %d, expected %d", cases[i].what, rc,
                     cases[i].expect);
        }
        assert_int_equal(ml_cursor_offset(&c), 0);
        assert_true(u8 == 9 && u64 == 9 && u32 == 9 && i64 == 9 && f == 9);
        assert_true(p == NULL && len == 9);
    }
}

static void
test_empty_cursor(void **state)
{
    (void)state;
    static const uint8_t one[1] = {0};
    ml_cursor c;
    ml_cursor_init(&c, one, 0);
    assert_int_equal(ml_cursor_left(&c), 0);
    assert_int_equal(ml_cursor_offset(&c), 0);
    const uint8_t *p;
    uint32_t len;
    assert_int_equal(ml_cursor_bytes(&c, 0, &p, &len), ML_ETRUNC);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_in_order),
        cmocka_unit_test(test_failures_leave_cursor),
        cmocka_unit_test(test_empty_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
