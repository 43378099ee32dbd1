// SPDX-License-Identifier: MIT
// What the exporters share (ml_export.c): the scan of the run (threads,
// end, interval), the record loop that stops at damage and notes it,
// sample runs clipped to the chosen range, stacks resolved to functions,
// the span builder that turns samples of a thread into calls (a function
// at a depth from its first sample to the end of its last, as
// docs/ANALYSIS.md defines them) and a JSON writer that streams to a FILE.
#ifndef ML_EXPORT_INT_H
#define ML_EXPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "analysis/ml_jsonw.h"
#include "core/ml_map.h"
#include "format/ml_reader.h"
#include "ml_export.h"

#define XMAX_DEPTH 4096 /* deeper stacks are cut at the root side */

typedef struct {
    uint32_t id;
    char *name; /* latest name, "" when none */
    uint64_t native_id;
    uint64_t first_us, last_us, samples;
} xthread;

/* A Python function, by content (name, file, first line). */
typedef struct {
    char *name, *file;
    uint32_t line;
    uint32_t name_id, file_id; /* string ids, the identity */
} xfunc;

typedef struct {
    const char *path;
    const ml_export_options *o;
    ml_export_result *res;
    FILE *out;
    ml_reader *r; /* of the export pass */
    int write_err;

    /* from the scan */
    xthread *threads; /* by id: threads[i].id == i + 1 */
    size_t nthreads;
    uint32_t want; /* the chosen thread id, 0: every thread */
    double interval_us;
    uint64_t end_us;
    uint64_t start_unix_ns;
    int64_t pid;
    char *label;
    int complete;
    int64_t exit_status;
    uint64_t stop_off; /* where the scan's reader stopped, 0: clean end */

    /* functions, made from frames as they are met */
    uint32_t *frame_func; /* frame id -> function index + 1 */
    uint32_t nframe_func;
    xfunc *funcs;
    uint32_t nfuncs, capfuncs;
    ml_map fmap;
} xrun;

/* The next record of the export pass: 1, 0 at the end (clean, or where
 * the file was damaged: res notes it), or ML_ENOMEM. */
int xrun_next(xrun *x, ml_record *rec);
/* Opens a fresh reader on the file for another pass over it. */
int xrun_rewind(xrun *x);

/* Whether samples of this thread are exported. */
int xrun_thread_wanted(const xrun *x, uint32_t thread);
const char *xrun_thread_name(const xrun *x, uint32_t thread);

/* The samples of a SAMPLES record that are exported: t0 the first in
 * the range, step the time between samples, n how many. */
typedef struct {
    uint64_t t0;
    double step;
    uint32_t n;
} xsamples;

/* 1 when rec is a SAMPLES record of a chosen thread (not thread 0) with
 * samples in the range, which *out describes; else 0. */
int xrun_samples(const xrun *x, const ml_record *rec, xsamples *out);

/* The stack's functions from the root in funcs[] (and the frames' lines in
 * lines[] when not NULL): the depth, or ML_ENOMEM. Cut to XMAX_DEPTH. */
int xrun_path(xrun *x, uint32_t stack, uint32_t *funcs, uint32_t *lines,
              uint32_t *frames);
/* The function of a frame id: index + 1, 0 for a bad id, ML_ENOMEM. */
int64_t xrun_frame_func(xrun *x, uint32_t frame);

/* State classes of a sample (docs/FORMAT.md, state byte). */
enum xstate {
    XS_RUNNING,
    XS_GIL_WAIT,
    XS_UNKNOWN,
    XS_WAITING,
    XS_COUNT
};
int xstate_of(uint8_t state);
const char *xstate_name(int cls);

/* Writes what w holds to x->out and empties it. */
void xrun_flush(xrun *x, ml_jsonw *w);
void xrun_write(xrun *x, const void *p, size_t n);

/* ---- the span builder --------------------------------------------- */

typedef struct xspans xspans;
typedef void (*xspan_open_fn)(void *ctx, uint32_t thread, uint32_t depth,
                              uint32_t func, uint64_t at);
typedef void (*xspan_close_fn)(void *ctx, uint32_t thread, uint32_t depth,
                               uint32_t func, uint64_t start, uint64_t end,
                               uint64_t running, uint64_t samples);

/* gap: in intervals, the silence after which a thread's spans end one
 * interval after their last sample (see ml_xspans.c). */
int xspans_new(double interval_us, double gap, xspan_open_fn on_open,
               xspan_close_fn on_close, void *ctx, xspans **out);
void xspans_free(xspans *s);
/* n samples of thread from t0, step apart, all with the stack funcs[0 ..
 * depth) (root first). 0 or ML_ENOMEM. */
int xspans_feed(xspans *s, uint32_t thread, uint64_t t0, double step,
                uint32_t n, const uint32_t *funcs, uint32_t depth,
                int running);
/* Closes every open span at the end of its thread's last sample. */
void xspans_finish(xspans *s);

/* ---- sample counts by (stack, thread, state) ------------------------ */

typedef struct {
    uint32_t stack, thread, state;
    uint64_t count;
} xagg_row;

typedef struct {
    xagg_row *rows;
    uint32_t n, cap;
    ml_map map;
} xagg;

void xagg_init(xagg *a);
void xagg_free(xagg *a);
/* Adds count to the row of the key: 0 or ML_ENOMEM. */
int xagg_add(xagg *a, uint32_t stack, uint32_t thread, uint32_t state,
             uint64_t count);

/* ---- the exporters ------------------------------------------------- */

int ml_export_collapsed(xrun *x);
int ml_export_speedscope(xrun *x);
int ml_export_pprof(xrun *x);
int ml_export_chrome(xrun *x);
int ml_export_json(xrun *x);
int ml_export_csv(xrun *x);

#endif
