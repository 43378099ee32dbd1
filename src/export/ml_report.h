// SPDX-License-Identifier: MIT
// `microlog report`: a run's figures gathered once (ml_report_build) and
// written as text (ml_report_text) and as one self-contained HTML file
// with inline SVG charts drawn here (ml_report_html). The figures: top
// functions by total and self time, per-thread running / waiting / GIL
// wait, status (CPU, memory peak, modules) over time, log counts by level
// with every error and its stack, timed-function aggregates and their
// anomalous calls (ml_anomaly.h's rule), end-of-run reports, and with a
// baseline the comparison of ml_diff.h. docs/EXPORT.md lists them.
#ifndef ML_REPORT_H
#define ML_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/ml_diff.h"
#include "analysis/ml_summary.h"

typedef struct {
    char *name, *unit;
    int metric;
    double *t, *v; /* seconds since the start, value */
    size_t n, cap;
    double min, max, mean;
} ml_report_series;

typedef struct {
    double time;
    uint32_t level;
    char *text;
    char *stack; /* "f (file:line)" lines, innermost last; "" when none */
} ml_report_log;

typedef struct {
    double time, wall, cpu, mem;
    char *args, *error;
} ml_report_call;

typedef struct {
    char *name, *file;
    uint32_t line;
    ml_report_call *calls; /* in file order */
    size_t n, cap;
    double sum, max, cpu_sum, mem_sum;
    double threshold; /* anomalous above it; INFINITY: none */
} ml_report_timed;

typedef struct {
    uint8_t kind;
    char *name, *body;
} ml_report_end;

typedef struct {
    char *path;
    ml_summary *summary;
    ml_report_series *series;
    size_t nseries;
    ml_report_log *errors; /* level >= 40 */
    size_t nerrors, caperrors;
    ml_report_timed *timed; /* by total wall time */
    size_t ntimed, captimed;
    ml_report_end *ends;
    size_t nends, capends;
} ml_report;

/* Reads the recording at path. 0 with *out set (ml_report_free); a reader
 * error (why: one line) or ML_ENOMEM. A cut-off last chunk is not an
 * error (summary->truncated says so). */
int ml_report_build(const char *path, ml_report **out, char *why,
                    size_t why_len);
void ml_report_free(ml_report *r);

/* The figures as text; base (or NULL) the comparison with a baseline. */
void ml_report_text(const ml_report *r, const ml_diff *base, FILE *out);
/* The HTML page; no script, no request to anywhere. */
void ml_report_html(const ml_report *r, const ml_diff *base, FILE *out);

/* For both writers. */
const ml_report_series *ml_report_find_series(const ml_report *r,
                                              const char *name);

#endif
