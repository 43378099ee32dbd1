// SPDX-License-Identifier: MIT
// ml_prefetch: a round's reads come back from one batched copy in the next
// round, what changed since is seen only by fresh reads, regions that
// became unreadable are read (and fail) alone, and the plan stays bounded.
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ml_prefetch.h"

static uint64_t
addr_of(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void
test_round_serves_last_rounds_reads(void **state)
{
    (void)state;
    static uint64_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static char b[64] = "thread state";
    ml_prefetch p;
    assert_int_equal(ml_prefetch_init(&p), 0);
    uint64_t got[8];
    char text[64];

    ml_prefetch_round(&p); /* nothing planned yet: everything read alone */
    assert_int_equal(ml_prefetch_read(&p, got, addr_of(a), sizeof a), 0);
    assert_int_equal(ml_prefetch_read(&p, text, addr_of(b), sizeof b), 0);
    assert_int_equal(p.served, 0);
    assert_int_equal(p.missed, 2);

    a[3] = 40; /* changes before the next round's copy: it is seen */
    ml_prefetch_round(&p);
    a[4] = 50; /* after it: the copy keeps the round's moment */
    assert_int_equal(ml_prefetch_read(&p, got, addr_of(a), sizeof a), 0);
    assert_int_equal(got[3], 40);
    assert_int_equal(got[4], 5);
    /* A shorter read at the same start is served; a longer one is not. */
    assert_int_equal(ml_prefetch_read(&p, text, addr_of(b), 12), 0);
    assert_memory_equal(text, "thread state", 12);
    assert_int_equal(p.served, 2);
    assert_null(ml_prefetch_find(&p, addr_of(b), sizeof b + 1));
    /* Inside a region but not at its start: read alone. */
    assert_null(ml_prefetch_find(&p, addr_of(&a[1]), 8));

    /* A retried walk reads memory as it is now. */
    ml_prefetch_set_fresh(&p, 1);
    assert_int_equal(ml_prefetch_read(&p, got, addr_of(a), sizeof a), 0);
    assert_int_equal(got[4], 50);
    ml_prefetch_set_fresh(&p, 0);
    ml_prefetch_free(&p);
}

static void
test_unmapped_region_fails_alone(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    static uint64_t keep[4] = {9, 9, 9, 9};
    ml_prefetch p;
    assert_int_equal(ml_prefetch_init(&p), 0);
    uint8_t buf[64];

    memset(m, 7, (size_t)page * 2);
    ml_prefetch_round(&p);
    assert_int_equal(ml_prefetch_read(&p, buf, addr_of(m), sizeof buf), 0);
    assert_int_equal(ml_prefetch_read(&p, buf, addr_of(keep), 32), 0);
    munmap(m, (size_t)page * 2); /* a freed data stack chunk, a dead thread */
    ml_prefetch_round(&p);
    assert_int_equal(ml_prefetch_read(&p, buf, addr_of(m), sizeof buf), -1);
    /* The region planned after it was still copied in the same round. */
    uint64_t served = p.served;
    assert_int_equal(ml_prefetch_read(&p, buf, addr_of(keep), 32), 0);
    assert_int_equal(p.served, served + 1);
    /* A failed read is not planned again. */
    ml_prefetch_round(&p);
    assert_int_equal(p.ncur, 1);
    ml_prefetch_free(&p);
}

static void
test_batch_mixes_copies_and_reads(void **state)
{
    (void)state;
    static uint64_t x = 11, y = 22, z = 33;
    ml_prefetch p;
    assert_int_equal(ml_prefetch_init(&p), 0);
    uint64_t gx = 0, gy = 0, gz = 0;
    ml_saferead_req r[3] = {{&gx, addr_of(&x), 8, 0},
                            {&gy, addr_of(&y), 8, 0}};

    ml_prefetch_round(&p);
    ml_prefetch_read_batch(&p, r, 2);
    assert_true(r[0].ok && r[1].ok);
    ml_prefetch_round(&p);
    r[2] = (ml_saferead_req){&gz, addr_of(&z), 8, 0};
    r[1].addr = 0; /* unreadable: fails, the others do not */
    ml_prefetch_read_batch(&p, r, 3);
    assert_true(r[0].ok);
    assert_false(r[1].ok);
    assert_true(r[2].ok);
    assert_int_equal(gx, 11);
    assert_int_equal(gz, 33);
    assert_int_equal(p.served, 1);
    ml_prefetch_free(&p);
}

static void
test_plan_is_bounded(void **state)
{
    (void)state;
    static uint8_t big[8192];
    ml_prefetch p;
    assert_int_equal(ml_prefetch_init(&p), 0);

    ml_prefetch_round(&p);
    for (int i = 0; i < ML_PREFETCH_MAX_REGIONS + 100; i++) {
        ml_prefetch_plan(&p, addr_of(big) + (uint64_t)i, 1);
    }
    assert_int_equal(p.nplan, ML_PREFETCH_MAX_REGIONS);
    /* The longest length asked at one address wins, within the bytes
     * bound. */
    ml_prefetch_plan(&p, addr_of(big), 100);
    ml_prefetch_plan(&p, addr_of(big), 10);
    ml_prefetch_plan(&p, addr_of(big), ML_PREFETCH_MAX_BYTES + 1);
    assert_int_equal(p.plan[0].len, 100);
    ml_prefetch_round(&p);
    assert_int_equal(p.ncur, ML_PREFETCH_MAX_REGIONS);
    assert_non_null(ml_prefetch_find(&p, addr_of(big), 100));
    assert_non_null(ml_prefetch_find(&p, addr_of(big) + 4000, 1));
    ml_prefetch_free(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_serves_last_rounds_reads),
        cmocka_unit_test(test_unmapped_region_fails_alone),
        cmocka_unit_test(test_batch_mixes_copies_and_reads),
        cmocka_unit_test(test_plan_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
