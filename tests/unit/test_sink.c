// SPDX-License-Identifier: MIT
// Unit tests of src/ext/ml_sink (the extension's writer end, which needs no
// Python): a run rolled over to new files loses no sample, every file is a
// recording of its own with the run's META and series and the links between
// files, and the file listener hears of every file opened and closed, in
// order, from the writing thread.
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "format/ml_reader.h"
#include "ml_sink.h"

#define MAX_EVENTS 64

/* What the listener heard; the writing thread calls it. */
static struct {
    pthread_mutex_t lock;
    int n;
    int event[MAX_EVENTS];
    char path[MAX_EVENTS][4096];
    pthread_t caller[MAX_EVENTS];
} heard = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void
listener(void *ctx, const char *path, int event)
{
    assert_ptr_equal(ctx, &heard);
    pthread_mutex_lock(&heard.lock);
    if (heard.n < MAX_EVENTS) {
        heard.event[heard.n] = event;
        snprintf(heard.path[heard.n], sizeof heard.path[0], "%s", path);
        heard.caller[heard.n] = pthread_self();
        heard.n++;
    }
    pthread_mutex_unlock(&heard.lock);
}

/* A sink on a fresh directory's run file (its path in path). */
static void
open_sink(ml_sink *s, ml_sink_config *cfg, char *path, size_t size)
{
    char dir[] = "/tmp/ml_test_sink_XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(path, size, "%s/run.mlog", dir);
    cfg->path = path;
    assert_int_equal(ml_sink_open(s, cfg), 0);
    ml_sink_lock(s);
}

typedef struct {
    uint64_t samples;
    int complete; /* an END record */
    char previous[4096], next[4096], label[64];
    uint64_t part;
    uint32_t series; /* SERIES records */
} file_facts;

static void
copy_bytes(char *out, size_t size, ml_bytes b)
{
    size_t n = b.len < size - 1 ? b.len : size - 1;
    memcpy(out, b.ptr, n);
    out[n] = 0;
}

static void
read_file(const char *path, file_facts *f)
{
    memset(f, 0, sizeof *f);
    ml_reader *r;
    assert_int_equal(ml_reader_open(path, &r), 0);
    ml_record rec;
    int rc;
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        if (rec.kind == ML_KIND_SAMPLES) {
            f->samples += rec.u.samples.count;
        } else if (rec.kind == ML_KIND_END) {
            f->complete = 1;
        } else if (rec.kind == ML_KIND_SERIES) {
            f->series++;
        } else if (rec.kind == ML_KIND_META) {
            char key[64];
            copy_bytes(key, sizeof key, rec.u.meta.key);
            const ml_value *v = &rec.u.meta.value;
            if (strcmp(key, "previous_run") == 0) {
                copy_bytes(f->previous, sizeof f->previous, v->v.b);
            } else if (strcmp(key, "next_run") == 0) {
                copy_bytes(f->next, sizeof f->next, v->v.b);
            } else if (strcmp(key, "label") == 0) {
                copy_bytes(f->label, sizeof f->label, v->v.b);
            } else if (strcmp(key, "part") == 0) {
                f->part = v->v.u;
            }
        }
    }
    assert_int_equal(rc, 0); /* read to the end without an error */
    ml_reader_free(r);
}

/* The run's thread and stack in the sink's current writer. */
static void
define(ml_sink *s, uint32_t *thread, uint32_t *stack)
{
    uint32_t name, frame;
    ml_writer *w = s->writer;
    assert_int_equal(ml_writer_string(w, "work", 4, &name), 0);
    assert_int_equal(ml_writer_frame(w, name, name, 3, 1, &frame), 0);
    assert_int_equal(ml_writer_stack(w, 0, frame, stack), 0);
    assert_int_equal(ml_writer_thread(w, 0, 42, 42, name, thread), 0);
}

static void
test_rollover_keeps_every_sample_and_tells_the_listener(void **state)
{
    (void)state;
    heard.n = 0;
    ml_sink_set_file_listener(listener, &heard);
    char path[4096];
    /* An age of one nanosecond: every tick goes on in a new file. */
    ml_sink_config cfg = {.roll_ns = 1};
    ml_sink s;
    open_sink(&s, &cfg, path, sizeof path);
    ml_value label = {.tag = ML_TAG_BYTES};
    label.v.b.ptr = (const uint8_t *)"roll";
    label.v.b.len = 4;
    assert_int_equal(ml_sink_meta(&s, "label", &label), 0);
    uint32_t series;
    assert_int_equal(ml_sink_series(&s, 1, "queue", "items", &series), 0);
    uint32_t thread, stack, gen = s.gen;
    define(&s, &thread, &stack);
    uint64_t taken = 0;
    const int files = 5;
    for (int f = 0; f < files; f++) {
        for (int i = 0; i < 1000; i++) {
            uint64_t t_us = ml_sink_time_us(&s, ml_clock_mono_ns());
            /* two states in turn: runs of one sample each */
            assert_int_equal(
                ml_writer_sample(s.writer, thread, t_us, stack, i & 1), 0);
            taken++;
        }
        ml_value v = {.tag = ML_TAG_UINT};
        v.v.u = (uint64_t)f;
        assert_int_equal(ml_writer_value(s.writer, series, 0, &v), 0);
        if (f + 1 < files) {
            assert_int_equal(ml_sink_tick(&s, ml_clock_mono_ns() + 10), 0);
            assert_int_equal(s.gen, gen + 1); /* a new file: define again */
            gen = s.gen;
            define(&s, &thread, &stack);
        }
    }
    assert_int_equal(ml_sink_samples(&s), taken);
    assert_int_equal(ml_writer_end(s.writer, 1, 0), 0);
    ml_sink_unlock(&s);
    uint64_t bytes;
    assert_int_equal(ml_sink_close(&s, &bytes), 0);
    assert_true(bytes > 0);
    ml_sink_set_file_listener(NULL, NULL);

    /* Opened, closed, opened, closed, ... one file after the other, all
     * from one thread that is not this one (the writing thread). */
    assert_int_equal(heard.n, 2 * files);
    uint64_t found = 0;
    for (int f = 0; f < files; f++) {
        const char *p = heard.path[2 * f];
        assert_int_equal(heard.event[2 * f], ML_FILE_OPENED);
        assert_int_equal(heard.event[2 * f + 1], ML_FILE_CLOSED);
        assert_string_equal(heard.path[2 * f + 1], p);
        assert_false(pthread_equal(heard.caller[2 * f], pthread_self()));
        if (f == 0) {
            assert_string_equal(p, path);
        } else {
            char want[4200];
            snprintf(want, sizeof want, "%.*s.%d.mlog",
                     (int)(strlen(path) - 5), path, f);
            assert_string_equal(p, want);
        }
        file_facts ff;
        read_file(p, &ff);
        found += ff.samples;
        assert_string_equal(ff.label, "roll"); /* the run's META again */
        assert_int_equal(ff.series, 1);        /* and its series */
        assert_int_equal(ff.complete, f == files - 1);
        assert_int_equal(ff.part, (uint64_t)f);
        if (f > 0) {
            assert_string_equal(ff.previous, heard.path[2 * f - 2]);
        }
        if (f < files - 1) {
            assert_string_equal(ff.next, heard.path[2 * f + 2]);
        }
        unlink(p);
    }
    assert_int_equal(found, taken); /* not one sample lost */
}

static void
test_full_table_asks_for_a_new_file(void **state)
{
    (void)state;
    char path[4096];
    /* Few definitions per file: the tables are full after a few stacks. */
    ml_sink_config cfg = {.max_defs = 64};
    ml_sink s;
    open_sink(&s, &cfg, path, sizeof path);
    uint32_t name, id;
    assert_int_equal(ml_writer_string(s.writer, "f", 1, &name), 0);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t frame;
        assert_int_equal(ml_writer_frame(s.writer, name, name, i, 1, &frame),
                         0);
    }
    assert_int_equal(s.gen, 0);
    assert_int_equal(ml_sink_tick(&s, ml_clock_mono_ns()), 0);
    assert_int_equal(s.gen, 1);
    /* An item too big for the format is no full table: no new file for
     * it (the error is kept and said once). */
    assert_int_equal(ml_sink_check(&s, ML_ELIMIT), ML_ELIMIT);
    assert_int_equal(s.failed, 0);
    assert_int_equal(ml_sink_tick(&s, ml_clock_mono_ns()), 0);
    assert_int_equal(s.gen, 1);
    assert_int_equal(ml_writer_string(s.writer, "g", 1, &id), 0);
    ml_sink_unlock(&s);
    uint64_t bytes;
    assert_int_equal(ml_sink_close(&s, &bytes), ML_ELIMIT);
    char part[4200];
    for (int i = 0; i < 2; i++) {
        if (i == 0) {
            snprintf(part, sizeof part, "%s", path);
        } else {
            snprintf(part, sizeof part, "%.*s.%d.mlog",
                     (int)(strlen(path) - 5), path, i);
        }
        file_facts ff;
        read_file(part, &ff);
        unlink(part);
    }
}

/* A listener that holds the writing thread (as a stalled disk would) until
 * released. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int held, released;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void
holding_listener(void *ctx, const char *path, int event)
{
    (void)ctx;
    (void)path;
    (void)event;
    pthread_mutex_lock(&gate.lock);
    gate.held = 1;
    pthread_cond_broadcast(&gate.cond);
    while (!gate.released) {
        pthread_cond_wait(&gate.cond, &gate.lock);
    }
    pthread_mutex_unlock(&gate.lock);
}

static void
test_queue_past_its_bound_stops_the_recording_without_waiting(void **state)
{
    (void)state;
    ml_sink_set_file_listener(holding_listener, NULL);
    char path[4096];
    ml_sink_config cfg = {.max_queued = 1 << 20};
    ml_sink s;
    open_sink(&s, &cfg, path, sizeof path);
    uint32_t thread, stack;
    define(&s, &thread, &stack);
    ml_sink_unlock(&s);
    pthread_mutex_lock(&gate.lock);
    while (!gate.held) { /* the writing thread is stuck now */
        pthread_cond_wait(&gate.cond, &gate.lock);
    }
    pthread_mutex_unlock(&gate.lock);
    /* Chunks pile up; each flush returns at once, and past the bound the
     * recording stops, once, saying so. */
    ml_sink_lock(&s);
    uint64_t t0 = ml_clock_mono_ns();
    int flushes = 0;
    for (; flushes < 10000 && !s.failed; flushes++) {
        for (int i = 0; i < 2000; i++) {
            uint64_t t_us = ml_sink_time_us(&s, ml_clock_mono_ns());
            ml_writer_sample(s.writer, thread, t_us, stack, i & 1);
        }
        ml_writer_flush(s.writer);
    }
    uint64_t took_ms = (ml_clock_mono_ns() - t0) / 1000000;
    assert_int_equal(s.failed, 1);
    assert_true(flushes > 1);
    assert_true(took_ms < 10000); /* never waited for the disk */
    ml_sink_unlock(&s);
    pthread_mutex_lock(&gate.lock);
    gate.released = 1;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
    uint64_t bytes;
    assert_int_equal(ml_sink_close(&s, &bytes), ML_EIO);
    ml_sink_set_file_listener(NULL, NULL);
    /* What was queued before the bound was written and reads back. */
    file_facts ff;
    read_file(path, &ff);
    assert_true(ff.samples > 0);
    assert_int_equal(ff.complete, 0);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_rollover_keeps_every_sample_and_tells_the_listener),
        cmocka_unit_test(test_full_table_asks_for_a_new_file),
        cmocka_unit_test(
            test_queue_past_its_bound_stops_the_recording_without_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
