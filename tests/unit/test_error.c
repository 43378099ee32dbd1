// SPDX-License-Identifier: MIT
// Unit tests of src/core/ml_error and src/core/ml_clock: every code has its
// own phrase, unknown codes are handled, clocks move the right way.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"

static void
test_strerror(void **state)
{
    (void)state;
    static const int codes[] = {
        ML_OK,       ML_ENOMEM,   ML_EIO,       ML_EINVAL,
        ML_EMAGIC,   ML_EVERSION, ML_ETRUNC,    ML_ECHECKSUM,
        ML_ECORRUPT, ML_ELIMIT,   ML_ECOMPRESS,
    };
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = ml_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, ml_strerror(-1000));
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(s, ml_strerror(codes[j]));
        }
    }
    assert_non_null(ml_strerror(12345));
    assert_non_null(ml_strerror(-12345));
}

static volatile uint64_t sink; /* keeps the busy loop */

static void
test_clocks(void **state)
{
    (void)state;
    uint64_t a = ml_clock_mono_ns();
    uint64_t wall = ml_clock_wall_ns();
    /* After 2020-01-01. */
    assert_true(wall > UINT64_C(1577836800) * 1000000000u);
    uint64_t cpu0 = ml_clock_thread_cpu_ns();
    while (ml_clock_thread_cpu_ns() - cpu0 < 2000000) { /* 2 ms of CPU */
        for (int i = 0; i < 10000; i++) {
            sink += (uint64_t)i;
        }
    }
    uint64_t b = ml_clock_mono_ns();
    assert_true(b >= a + 1000000); /* the busy loop took wall time too */
    for (int i = 0; i < 1000; i++) {
        uint64_t c = ml_clock_mono_ns();
        assert_true(c >= b);
        b = c;
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
