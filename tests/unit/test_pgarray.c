// SPDX-License-Identifier: MIT
// Unit tests of src/store/ml_pgarray: array literals as PostgreSQL reads
// them (quoting, escapes, NULL, integers, the empty array) and the sticky
// size limit.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_error.h"
#include "store/ml_pgarray.h"

static void
test_texts(void **state)
{
    (void)state;
    static const struct {
        const char *in[3];
        size_t n;
        const char *literal;
    } cases[] = {
        {{NULL}, 0, "{}"},
        {{"a"}, 1, "{\"a\"}"},
        {{"a b", "", "x,y"}, 3, "{\"a b\",\"\",\"x,y\"}"},
        {{"say \"hi\"", "back\\slash", "{}"},
         3,
         "{\"say \\\"hi\\\"\",\"back\\\\slash\",\"{}\"}"},
        {{"NULL", "it's"}, 2, "{\"NULL\",\"it's\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ml_pgarray a;
        ml_pgarray_init(&a, 1024);
        for (size_t j = 0; j < cases[i].n; j++) {
            ml_pgarray_text(&a, cases[i].in[j]);
        }
        int err = 0;
        const char *lit = ml_pgarray_finish(&a, &err);
        assert_non_null(lit);
        assert_string_equal(lit, cases[i].literal);
        ml_pgarray_free(&a);
    }
}

static void
test_null_and_ints(void **state)
{
    (void)state;
    ml_pgarray a;
    ml_pgarray_init(&a, 1024);
    ml_pgarray_int(&a, 0);
    ml_pgarray_int(&a, -9223372036854775807LL - 1);
    ml_pgarray_text(&a, NULL);
    ml_pgarray_int(&a, 42);
    int err = 0;
    assert_string_equal(ml_pgarray_finish(&a, &err),
                        "{0,-9223372036854775808,NULL,42}");
    ml_pgarray_free(&a);
}

static void
test_limit_is_sticky(void **state)
{
    (void)state;
    ml_pgarray a;
    ml_pgarray_init(&a, 16);
    ml_pgarray_text(&a, "0123456789abcdef");
    ml_pgarray_text(&a, "x"); /* after a failure: still failed */
    int err = 0;
    assert_null(ml_pgarray_finish(&a, &err));
    assert_int_equal(err, ML_ELIMIT);
    ml_pgarray_free(&a);
    ml_pgarray_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_null_and_ints),
        cmocka_unit_test(test_limit_is_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
