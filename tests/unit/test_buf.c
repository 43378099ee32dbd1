// SPDX-License-Identifier: MIT
// Unit tests of src/core/ml_buf: appends of every width, the hard size
// limit (ML_ELIMIT, nothing appended), reset and free, little-endian stores.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"

static void
test_append_widths(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 1024);
    assert_int_equal(b.len, 0);
    assert_int_equal(ml_buf_append_u8(&b, 0xab), 0);
    assert_int_equal(ml_buf_append_u32le(&b, 0x01020304u), 0);
    assert_int_equal(ml_buf_append_u64le(&b, 0x1122334455667788ull), 0);
    assert_int_equal(ml_buf_append_varint(&b, 300), 0);
    assert_int_equal(ml_buf_append_svarint(&b, -2), 0);
    assert_int_equal(ml_buf_append_f64(&b, 1.0), 0);
    assert_int_equal(ml_buf_append_bytes(&b, "hey", 3), 0);
    assert_int_equal(ml_buf_append_bytes(&b, NULL, 0), 0);
    assert_int_equal(ml_buf_append(&b, NULL, 0), 0);
    static const uint8_t expect[] = {
        0xab,                                           /* u8 */
        0x04, 0x03, 0x02, 0x01,                         /* u32le */
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* u64le */
        0xac, 0x02,                                     /* varint 300 */
        0x03,                                           /* zigzag(-2) */
        0,    0,    0,    0,    0,    0,    0xf0, 0x3f, /* 1.0 */
        0x03, 'h',  'e',  'y',                          /* bytes */
        0x00,                                           /* empty bytes */
    };
    assert_int_equal(b.len, sizeof expect);
    assert_memory_equal(b.data, expect, sizeof expect);
    ml_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

/* Each append kind at a buffer with `room` bytes left: fits or ML_ELIMIT,
 * and a failed append leaves the buffer as it was. */
static void
test_limit_each_append(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        size_t need;
    } kinds[] = {
        {"u8", 1},        {"u32", 4},        {"u64", 8},
        {"varint300", 2}, {"f64", 8},        {"bytes3", 4},
        {"raw5", 5},      {"svarint-65", 2}, {"varintmax", 10},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (size_t room = 0; room <= kinds[k].need; room++) {
            ml_buf b;
            ml_buf_init(&b, 16 + room);
            uint8_t fill[16] = {0};
            assert_int_equal(ml_buf_append(&b, fill, 16), 0);
            int rc;
            switch (k) {
            case 0:
                rc = ml_buf_append_u8(&b, 1);
                break;
            case 1:
                rc = ml_buf_append_u32le(&b, 1);
                break;
            case 2:
                rc = ml_buf_append_u64le(&b, 1);
                break;
            case 3:
                rc = ml_buf_append_varint(&b, 300);
                break;
            case 4:
                rc = ml_buf_append_f64(&b, 2.5);
                break;
            case 5:
                rc = ml_buf_append_bytes(&b, "abc", 3);
                break;
            case 6:
                rc = ml_buf_append(&b, "abcde", 5);
                break;
            case 7:
                rc = ml_buf_append_svarint(&b, -65);
                break;
            default:
                rc = ml_buf_append_varint(&b, UINT64_MAX);
                break;
            }
            if (room >= kinds[k].need) {
                assert_int_equal(rc, 0);
                assert_int_equal(b.len, 16 + kinds[k].need);
            } else {
                assert_int_equal(rc, ML_ELIMIT);
                /* bytes: the length may have gone in before the data did
                 * not fit; everything else is all or nothing. */
                if (k != 5) {
                    assert_int_equal(b.len, 16);
                }
            }
            assert_true(b.len <= b.max);
            assert_true(b.len <= b.cap);
            ml_buf_free(&b);
        }
    }
}

static void
test_limit_zero_and_huge(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 0);
    assert_int_equal(ml_buf_append_u8(&b, 1), ML_ELIMIT);
    assert_int_equal(ml_buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    ml_buf_free(&b);

    ml_buf_init(&b, 100);
    assert_int_equal(ml_buf_reserve(&b, SIZE_MAX), ML_ELIMIT);
    assert_int_equal(ml_buf_reserve(&b, 101), ML_ELIMIT);
    assert_int_equal(ml_buf_reserve(&b, 100), 0);
    assert_true(b.cap >= 100);
    assert_int_equal(ml_buf_append(&b, "x", 1), 0);
    assert_int_equal(ml_buf_reserve(&b, SIZE_MAX), ML_ELIMIT);
    assert_int_equal(ml_buf_reserve(&b, 100), ML_ELIMIT);
    assert_int_equal(ml_buf_reserve(&b, 99), 0);
    ml_buf_free(&b);
}

static void
test_growth_keeps_content(void **state)
{
    (void)state;
    ml_buf b;
    ml_buf_init(&b, 1 << 20);
    for (uint32_t i = 0; i < 100000; i++) {
        assert_int_equal(ml_buf_append_u32le(&b, i), 0);
    }
    assert_int_equal(b.len, 400000);
    for (uint32_t i = 0; i < 100000; i++) {
        assert_int_equal(ml_load_u32le(b.data + 4 * i), i);
    }
    /* Filling to exactly the limit works, one more byte does not. */
    uint8_t zero[4096] = {0};
    while (b.len + sizeof zero <= b.max) {
        assert_int_equal(ml_buf_append(&b, zero, sizeof zero), 0);
    }
    assert_int_equal(ml_buf_append(&b, zero, b.max - b.len), 0);
    assert_int_equal(b.len, b.max);
    assert_int_equal(ml_buf_append_u8(&b, 0), ML_ELIMIT);
    size_t cap = b.cap;
    ml_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap); /* memory kept */
    ml_buf_free(&b);
    ml_buf_free(NULL);
}

static void
test_store_load(void **state)
{
    (void)state;
    uint8_t b[8];
    ml_store_u32le(b, 0xdeadbeefu);
    assert_memory_equal(b, "\xef\xbe\xad\xde", 4);
    assert_int_equal(ml_load_u32le(b), 0xdeadbeefu);
    ml_store_u64le(b, 0x0102030405060708ull);
    assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    assert_true(ml_load_u64le(b) == 0x0102030405060708ull);
    ml_store_u64le(b, UINT64_MAX);
    assert_true(ml_load_u64le(b) == UINT64_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_widths),
        cmocka_unit_test(test_limit_each_append),
        cmocka_unit_test(test_limit_zero_and_huge),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_store_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
