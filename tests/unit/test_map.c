// SPDX-License-Identifier: MIT
// Unit tests of src/core/ml_map (and the ml_hash functions it is used with):
// find and insert, keys with equal hashes told apart by the caller's eq,
// growth across many resizes, and hash properties the interning relies on.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "core/ml_map.h"

/* Keys are small integers; value v stands for key keys[v]. */
#define NKEYS 20000
static uint64_t keys[NKEYS + 1];
static unsigned eq_calls;

static int
key_eq(const void *ctx, uint32_t value)
{
    eq_calls++;
    return value <= NKEYS && keys[value] == *(const uint64_t *)ctx;
}

static void
test_empty(void **state)
{
    (void)state;
    ml_map m;
    ml_map_init(&m);
    uint64_t k = 1;
    assert_int_equal(ml_map_find(&m, 123, key_eq, &k), 0);
    assert_int_equal(ml_map_insert(&m, 1, 0), ML_EINVAL);
    ml_map_free(&m);
    ml_map_free(NULL);
}

/* Hash functions of different quality: the map must be right with all. */
static uint64_t
hash_good(uint64_t k)
{
    return ml_hash_bytes(&k, sizeof k);
}

static uint64_t
hash_same(uint64_t k)
{
    (void)k;
    return 42; /* every key collides: only eq tells them apart */
}

static uint64_t
hash_low_bits_equal(uint64_t k)
{
    return k << 20; /* all land in slot 0 of a small table */
}

static void
check_with_hash(uint64_t (*hash)(uint64_t), uint32_t n)
{
    ml_map m;
    ml_map_init(&m);
    for (uint32_t v = 1; v <= n; v++) {
        keys[v] = 1000 + 7 * (uint64_t)v;
        uint64_t k = keys[v];
        assert_int_equal(ml_map_find(&m, hash(k), key_eq, &k), 0);
        assert_int_equal(ml_map_insert(&m, hash(k), v), 0);
        assert_int_equal(m.count, v);
        assert_true(m.count * 2 <= m.cap); /* at most half full */
        assert_int_equal(ml_map_find(&m, hash(k), key_eq, &k), v);
    }
    /* Everything is still found after all the growth. */
    for (uint32_t v = 1; v <= n; v++) {
        uint64_t k = keys[v];
        assert_int_equal(ml_map_find(&m, hash(k), key_eq, &k), v);
    }
    /* Absent keys, with hashes present and absent. */
    for (uint32_t v = 1; v <= 50; v++) {
        uint64_t k = 1000 + 7 * (uint64_t)v + 1;
        assert_int_equal(ml_map_find(&m, hash(k), key_eq, &k), 0);
        uint64_t present = keys[v];
        assert_int_equal(ml_map_find(&m, hash(present), key_eq, &k), 0);
    }
    ml_map_free(&m);
    assert_int_equal(m.cap, 0);
    assert_int_equal(m.count, 0);
}

static void
test_growth_good_hash(void **state)
{
    (void)state;
    check_with_hash(hash_good, NKEYS);
}

static void
test_all_collide(void **state)
{
    (void)state;
    eq_calls = 0;
    check_with_hash(hash_same, 300);
    assert_true(eq_calls > 0);
}

static void
test_low_bits_collide(void **state)
{
    (void)state;
    check_with_hash(hash_low_bits_equal, 2000);
}

static void
test_same_hash_eq_decides(void **state)
{
    (void)state;
    /* Two values under one hash; eq picks the right one either way. */
    ml_map m;
    ml_map_init(&m);
    keys[1] = 111;
    keys[2] = 222;
    assert_int_equal(ml_map_insert(&m, 5, 1), 0);
    assert_int_equal(ml_map_insert(&m, 5, 2), 0);
    uint64_t k = 222;
    assert_int_equal(ml_map_find(&m, 5, key_eq, &k), 2);
    k = 111;
    assert_int_equal(ml_map_find(&m, 5, key_eq, &k), 1);
    k = 333;
    assert_int_equal(ml_map_find(&m, 5, key_eq, &k), 0);
    /* The same key under a different hash is not found: hash first. */
    k = 111;
    assert_int_equal(ml_map_find(&m, 6, key_eq, &k), 0);
    ml_map_free(&m);
}

static void
test_hash_bytes(void **state)
{
    (void)state;
    /* Deterministic, length-sensitive, and every byte matters. */
    assert_true(ml_hash_bytes("abc", 3) == ml_hash_bytes("abc", 3));
    assert_true(ml_hash_bytes("a", 1) != ml_hash_bytes("a\0", 2));
    assert_true(ml_hash_bytes("", 0) != ml_hash_bytes("\0", 1));
    assert_true(ml_hash_bytes(NULL, 0) == ml_hash_bytes("", 0));
    uint8_t buf[40];
    memset(buf, 'x', sizeof buf);
    uint64_t base = ml_hash_bytes(buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] ^= 1;
        assert_true(ml_hash_bytes(buf, sizeof buf) != base);
        buf[i] ^= 1;
    }
    /* The mix separates small tuples (as used for stack keys). */
    assert_true(ml_hash_mix(1, 2) != ml_hash_mix(2, 1));
    assert_true(ml_hash_mix(0, 1) != ml_hash_mix(0, 2));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_growth_good_hash),
        cmocka_unit_test(test_all_collide),
        cmocka_unit_test(test_low_bits_collide),
        cmocka_unit_test(test_same_hash_eq_decides),
        cmocka_unit_test(test_hash_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
