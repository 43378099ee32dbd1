// SPDX-License-Identifier: MIT
// Unit tests of the analysis views: the anomaly rule on constructed data,
// module and class names, the JSON writer, and the index's views over a
// recording whose spans and counts are known exactly.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/ml_anomaly.h"
#include "analysis/ml_index.h"
#include "analysis/ml_index_int.h"
#include "analysis/ml_jsonw.h"
#include "analysis/ml_names.h"
#include "analysis/ml_regex.h"
#include "analysis/ml_views.h"
#include "core/ml_error.h"
#include "format/ml_writer.h"

/* ---- anomaly rule ----------------------------------------------------------
 */

static void
test_anomaly_rule(void **state)
{
    (void)state;
    double d[32];
    /* 20 calls of about 100 us and one of 1000: only that one. */
    for (int i = 0; i < 20; i++) {
        d[i] = 100 + (i % 5);
    }
    d[20] = 1000;
    ml_anomaly_rule r;
    ml_anomaly_fit(d, 21, 1, &r);
    assert_true(fabs(r.median - 102) < 1e-9);
    assert_true(ml_anomaly_is(&r, 1000));
    assert_false(ml_anomaly_is(&r, 104));
    /* Sampling jitter: a spread of zero must not make the next interval
     * an anomaly; two intervals above the median is the floor. */
    for (int i = 0; i < 10; i++) {
        d[i] = 1000;
    }
    ml_anomaly_fit(d, 10, 1000, &r);
    assert_true(r.mad == 0);
    assert_false(ml_anomaly_is(&r, 2000));
    assert_false(ml_anomaly_is(&r, 3000));
    assert_true(ml_anomaly_is(&r, 3001));
    /* A regular function (MAD 0) and a fine interval: 1.5x the median is
     * the floor, so 4% slower is not an anomaly. */
    for (int i = 0; i < 10; i++) {
        d[i] = 10000;
    }
    ml_anomaly_fit(d, 10, 1, &r);
    assert_false(ml_anomaly_is(&r, 10400));
    assert_false(ml_anomaly_is(&r, 15000));
    assert_true(ml_anomaly_is(&r, 15001));
    /* Fewer than five calls: nothing is anomalous. */
    double few[4] = {1, 1, 1, 1000};
    ml_anomaly_fit(few, 4, 1, &r);
    assert_true(isinf(r.threshold));
    assert_false(ml_anomaly_is(&r, 1e12));
    /* A very slow call does not hide itself: the robust spread ignores
     * it (a mean + 3 sd rule would not flag 200 here). */
    for (int i = 0; i < 12; i++) {
        d[i] = 100;
    }
    d[12] = 200;
    d[13] = 100000;
    ml_anomaly_fit(d, 14, 1, &r);
    assert_true(ml_anomaly_is(&r, 200)); /* 2x the median */
    assert_true(ml_anomaly_is(&r, 100000));
}

/* The similar-calls sample is uniform over all calls (Algorithm L), and
 * the longest are kept exactly. */
static void
test_similar_sample(void **state)
{
    (void)state;
    ix_pair p;
    memset(&p, 0, sizeof p);
    p.rng = 12345;
    const uint32_t n = 200000;
    for (uint32_t i = 0; i < n; i++) {
        ix_span s = {0};
        s.start = i;
        s.end = i + 1 + (i % 1000 == 0 ? 100000 + i : 10);
        ix_pair_note(&p, 1, &s);
    }
    assert_int_equal(p.count, n);
    assert_int_equal(p.sample.len, IX_RESERVOIR);
    double mean = 0;
    size_t late = 0;
    for (size_t i = 0; i < p.sample.len; i++) {
        mean += (double)p.sample.items[i].start / (double)p.sample.len;
        late += p.sample.items[i].start >= n / 2;
    }
    /* A uniform sample of 256 has its mean within a few percent of n/2
     * (standard error n / sqrt(12 * 256), about 1.8% of n). */
    assert_true(fabs(mean - n / 2.0) < n * 0.08);
    assert_true(late > 80 && late < 176);
    /* The 32 longest: calls 199000, 198000, ... 168000. */
    assert_int_equal(p.longest.len, IX_LONGEST);
    for (size_t i = 0; i < p.longest.len; i++) {
        assert_true(p.longest.items[i].start >= 168000);
        assert_true(p.longest.items[i].start % 1000 == 0);
    }
    free(p.sample.items);
    free(p.longest.items);
}

/* ---- names
 * --------------------------------------------------------------------- */

static void
check_module(const char *file, const char *want)
{
    char out[128];
    ml_module_of(file, strlen(file), out, sizeof out);
    assert_string_equal(out, want);
}

static void
check_class(const char *q, const char *want)
{
    char out[128];
    size_t n = ml_class_of(q, strlen(q), out, sizeof out);
    assert_string_equal(n ? out : "", want);
}

static void
test_names(void **state)
{
    (void)state;
    check_module("/srv/venv/lib/python3.11/site-packages/flask/app.py",
                 "flask.app");
    check_module("/usr/lib/python3.11/json/__init__.py", "json");
    check_module("/root/.pyenv/versions/3.12.1/lib/python3.12/threading.py",
                 "threading");
    check_module("/home/me/proj/tool.py", "tool");
    check_module("<frozen importlib._bootstrap>", "importlib._bootstrap");
    check_module("<string>", "<string>");
    check_module("", "");
    check_class("Pool.map", "Pool");
    check_class("outer.<locals>.Inner.run", "Inner");
    check_class("outer.<locals>.helper", "");
    check_class("main", "");
    check_class(".x", "");
}

/* ---- JSON writer
 * ------------------------------------------------------------- */

static void
test_jsonw(void **state)
{
    (void)state;
    ml_jsonw w;
    ml_jsonw_init(&w, 1 << 16);
    ml_jsonw_obj(&w);
    ml_jsonw_kstr(&w, "a", "x\"y\\\n\x01");
    ml_jsonw_key(&w, "bad");
    ml_jsonw_strn(&w, "ok\xff\xc3", 4); /* not UTF-8 */
    ml_jsonw_key(&w, "list");
    ml_jsonw_arr(&w);
    ml_jsonw_u64(&w, UINT64_C(1) << 62);
    ml_jsonw_i64(&w, -5);
    ml_jsonw_f64(&w, NAN);
    ml_jsonw_f64(&w, 0.5);
    ml_jsonw_arr(&w);
    ml_jsonw_arr_end(&w);
    ml_jsonw_arr_end(&w);
    ml_jsonw_kbool(&w, "t", 1);
    ml_jsonw_obj_end(&w);
    assert_int_equal(ml_jsonw_error(&w), 0);
    json_error_t e;
    json_t *j = json_loadb((const char *)w.out.data, w.out.len, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "a")),
                        "x\"y\\\n\x01");
    assert_string_equal(json_string_value(json_object_get(j, "bad")),
                        "ok\xef\xbf\xbd\xef\xbf\xbd");
    json_t *l = json_object_get(j, "list");
    assert_int_equal(json_array_size(l), 5);
    assert_true(json_is_null(json_array_get(l, 2)));
    json_decref(j);
    ml_jsonw_free(&w);
    /* The bound holds: a failure is sticky. */
    ml_jsonw_init(&w, 8);
    ml_jsonw_str(&w, "longer than eight");
    assert_int_equal(ml_jsonw_error(&w), ML_ELIMIT);
    ml_jsonw_free(&w);
}

/* ---- views over a known recording
 * -------------------------------------------- */

/* Thread 1: 30 samples at 1 ms under main: f for 10, g for 10, f for 10
 * (running, waiting (the last 5 for the GIL), running); then END at
 * 30 ms. Thread 2: 5 samples of
 * h, running. */
static char *
known_recording(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/ml_test_analysis_%d.mlog", getpid());
    unlink(path);
    ml_writer *w;
    assert_int_equal(ml_writer_open(path, NULL, &w), 0);
    uint32_t s_main, s_f, s_g, s_h, s_file, fr_main, fr_f, fr_g, fr_h;
    uint32_t st_main, st_f, st_g, st_h, th1, th2, n1, n2;
    ml_writer_meta_uint(w, "interval_us", 1000);
    ml_writer_string(w, "main", 4, &s_main);
    ml_writer_string(w, "f", 1, &s_f);
    ml_writer_string(w, "Worker.g", 8, &s_g);
    ml_writer_string(w, "h", 1, &s_h);
    ml_writer_string(w, "/app/m.py", 9, &s_file);
    ml_writer_frame(w, s_main, s_file, 2, 1, &fr_main);
    ml_writer_frame(w, s_f, s_file, 11, 10, &fr_f);
    ml_writer_frame(w, s_g, s_file, 21, 20, &fr_g);
    ml_writer_frame(w, s_h, s_file, 31, 30, &fr_h);
    ml_writer_stack(w, 0, fr_main, &st_main);
    ml_writer_stack(w, st_main, fr_f, &st_f);
    ml_writer_stack(w, st_main, fr_g, &st_g);
    ml_writer_stack(w, 0, fr_h, &st_h);
    ml_writer_string(w, "MainThread", 10, &n1);
    ml_writer_string(w, "T2", 2, &n2);
    ml_writer_thread(w, 0, 1, 1, n1, &th1);
    ml_writer_thread(w, 0, 2, 2, n2, &th2);
    for (uint64_t k = 0; k < 30; k++) {
        uint32_t st = k < 10 || k >= 20 ? st_f : st_g;
        uint8_t state = k >= 10 && k < 20 ? 0 : ML_STATE_RUNNING;
        if (k >= 15 && k < 20) {
            state = ML_STATE_WANTS_GIL; /* the last 5 waiting for the GIL */
        }
        assert_int_equal(ml_writer_sample(w, th1, k * 1000, st, state), 0);
        if (k < 5) {
            ml_writer_sample(w, th2, k * 1000, st_h, ML_STATE_RUNNING);
        }
    }
    const char *text = "hello *world*";
    ml_log l = {12000, th1,
                30,    ML_LOG_STDOUT,
                st_g,  {(const uint8_t *)text, (uint32_t)strlen(text)}};
    ml_writer_log(w, &l);
    ml_writer_end(w, 30000, 0);
    assert_int_equal(ml_writer_close(w), 0);
    return path;
}

static json_t *
view(ml_index *ix, int (*fn)(ml_index *, const ml_view_query *, ml_jsonw *),
     const ml_view_query *q)
{
    ml_jsonw w;
    ml_jsonw_init(&w, 1 << 24);
    int err = fn(ix, q, &w);
    assert_int_equal(err, 0);
    json_error_t e;
    json_t *j = json_loadb((const char *)w.out.data, w.out.len, 0, &e);
    assert_non_null(j);
    ml_jsonw_free(&w);
    return j;
}

/* The spans of a thread as "depth:start-end" strings, sorted. */
static void
expect_spans(json_t *tl, size_t thread_index, const char *want)
{
    json_t *spans = json_object_get(
        json_array_get(json_object_get(tl, "threads"), thread_index), "spans");
    char got[512] = "";
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s)
    {
        char one[64];
        snprintf(one, sizeof one, "%s%lld:%lld-%lld", i ? " " : "",
                 json_integer_value(json_array_get(s, 2)),
                 json_integer_value(json_array_get(s, 0)),
                 json_integer_value(json_array_get(s, 1)));
        strncat(got, one, sizeof got - strlen(got) - 1);
    }
    assert_string_equal(got, want);
}

static json_t *
function_row(json_t *fns, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fns, "functions"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0) {
            return f;
        }
    }
    return NULL;
}

static void
test_views(void **state)
{
    (void)state;
    char *path = known_recording();
    ml_index *ix;
    assert_int_equal(ml_index_open(path, &ix), 0);
    ml_index_info info;
    ml_index_get_info(ix, &info);
    assert_true(info.complete);
    assert_int_equal(info.samples, 35);
    assert_int_equal(info.threads, 2);

    ml_view_query q;
    ml_view_query_init(&q);
    q.width = 10000; /* 4 us per pixel: every span */
    json_t *tl = view(ix, ml_view_timeline, &q);
    expect_spans(tl, 0, "0:0-30000 1:0-10000 1:10000-20000 1:20000-30000");
    expect_spans(tl, 1, "0:0-5000");
    json_t *root = json_array_get(
        json_object_get(json_array_get(json_object_get(tl, "threads"), 0),
                        "spans"),
        0);
    assert_int_equal(json_integer_value(json_array_get(root, 4)), 20);
    assert_int_equal(json_integer_value(json_array_get(root, 5)), 10);
    assert_int_equal(json_integer_value(json_array_get(root, 6)), 5);
    json_decref(tl);

    /* At 3 pixels a pixel is 16 ms: the 10 ms spans go, their parent
     * stays. */
    q.width = 3;
    tl = view(ix, ml_view_timeline, &q);
    expect_spans(tl, 0, "0:0-30000");
    json_decref(tl);

    ml_view_query_init(&q);
    json_t *fns = view(ix, ml_view_functions, &q);
    json_t *f = function_row(fns, "f");
    assert_non_null(f);
    assert_int_equal(json_integer_value(json_object_get(f, "calls")), 2);
    assert_int_equal(json_integer_value(json_object_get(f, "self_samples")),
                     20);
    assert_int_equal(json_integer_value(json_object_get(f, "max_us")), 10000);
    json_t *m = function_row(fns, "main");
    assert_int_equal(json_integer_value(json_object_get(m, "total_samples")),
                     30);
    assert_int_equal(json_integer_value(json_object_get(m, "running_samples")),
                     20);
    json_t *g = function_row(fns, "Worker.g");
    assert_string_equal(json_string_value(json_object_get(g, "class")),
                        "Worker");
    json_decref(fns);

    /* A window: only samples inside it, calls starting in it. */
    q.from = 10000;
    q.to = 20000;
    fns = view(ix, ml_view_functions, &q);
    assert_null(function_row(fns, "f"));
    g = function_row(fns, "Worker.g");
    assert_int_equal(json_integer_value(json_object_get(g, "self_samples")),
                     10);
    assert_int_equal(json_integer_value(json_object_get(g, "calls")), 1);
    json_decref(fns);

    /* The clicked span, its caller and similar calls. */
    ml_view_query_init(&q);
    uint32_t thread = 1;
    q.threads = &thread;
    q.nthreads = 1;
    q.at = 25000;
    q.depth = 1;
    json_t *sp = view(ix, ml_view_span, &q);
    assert_int_equal(json_integer_value(json_object_get(sp, "start_us")),
                     20000);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(sp, "caller"), "name")),
                        "main");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(sp, "similar"), "count")),
                     2);
    json_decref(sp);
    q.at = 40000;
    ml_jsonw w;
    ml_jsonw_init(&w, 1 << 20);
    assert_int_equal(ml_view_span(ix, &q, &w), ML_VIEW_NOT_FOUND);
    ml_jsonw_free(&w);
    /* An unknown thread is a bad parameter. */
    thread = 9;
    ml_jsonw_init(&w, 1 << 20);
    assert_int_equal(ml_view_timeline(ix, &q, &w), ML_EINVAL);
    ml_jsonw_free(&w);

    /* Logs with their stack, filtered by a regular expression. */
    ml_view_query_init(&q);
    char why[128];
    assert_int_equal(ml_regex_new("WORLD", &q.re, why, sizeof why), 0);
    json_t *logs = view(ix, ml_view_logs, &q);
    assert_int_equal(json_integer_value(json_object_get(logs, "total")), 1);
    json_t *e = json_array_get(json_object_get(logs, "entries"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "source")),
                        "stdout");
    json_t *stack = json_object_get(e, "stack");
    assert_int_equal(json_array_size(stack), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(stack, 1), "function")),
                        "Worker.g");
    json_decref(logs);
    ml_regex_free(q.re);

    /* A catastrophic pattern is stopped, not run for minutes. */
    ml_view_query_init(&q);
    assert_int_equal(ml_regex_new("(a+)+$", &q.re, why, sizeof why), 0);
    char text[64];
    memset(text, 'a', 40);
    text[40] = 'b';
    assert_int_equal(ml_regex_match(q.re, text, 41), ML_ELIMIT);
    ml_regex_free(q.re);
    assert_int_equal(ml_regex_new("(", &q.re, why, sizeof why), ML_EINVAL);

    ml_index_free(ix);
    unlink(path);
}

/* A stack the recorder read only in part (under its "<truncated>" root,
 * docs/SAMPLER.md) does not end the spans of the frames around it. */
static void
test_truncated_sample_keeps_spans(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/ml_test_trunc_%d.mlog", getpid());
    unlink(path);
    ml_writer *w;
    assert_int_equal(ml_writer_open(path, NULL, &w), 0);
    uint32_t s_main, s_f, s_tr, s_file, fr_main, fr_f, fr_tr, st_main, st_f;
    uint32_t st_tr, st_trf, th;
    ml_writer_meta_uint(w, "interval_us", 1000);
    ml_writer_string(w, "main", 4, &s_main);
    ml_writer_string(w, "f", 1, &s_f);
    ml_writer_string(w, "<truncated>", 11, &s_tr);
    ml_writer_string(w, "/app/m.py", 9, &s_file);
    ml_writer_frame(w, s_main, s_file, 2, 1, &fr_main);
    ml_writer_frame(w, s_f, s_file, 11, 10, &fr_f);
    ml_writer_frame(w, s_tr, 0, 0, 0, &fr_tr);
    ml_writer_stack(w, 0, fr_main, &st_main);
    ml_writer_stack(w, st_main, fr_f, &st_f);
    ml_writer_stack(w, 0, fr_tr, &st_tr);
    ml_writer_stack(w, st_tr, fr_f, &st_trf);
    ml_writer_thread(w, 0, 1, 1, s_main, &th);
    for (uint64_t k = 0; k < 20; k++) {
        ml_writer_sample(w, th, k * 1000, k == 9 ? st_trf : st_f,
                         ML_STATE_RUNNING);
    }
    ml_writer_end(w, 20000, 0);
    assert_int_equal(ml_writer_close(w), 0);
    ml_index *ix;
    assert_int_equal(ml_index_open(path, &ix), 0);
    ml_view_query q;
    ml_view_query_init(&q);
    q.width = 10000;
    json_t *tl = view(ix, ml_view_timeline, &q);
    expect_spans(tl, 0, "0:0-20000 1:0-20000");
    json_t *root = json_array_get(
        json_object_get(json_array_get(json_object_get(tl, "threads"), 0),
                        "spans"),
        0);
    assert_int_equal(json_integer_value(json_array_get(root, 4)), 20);
    json_decref(tl);
    ml_index_free(ix);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anomaly_rule),
        cmocka_unit_test(test_similar_sample),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_jsonw),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_truncated_sample_keeps_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
