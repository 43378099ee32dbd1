// SPDX-License-Identifier: MIT
// The comparison of two runs of the same program (`microlog diff`, the
// report's baseline section): total time, and per function the change in
// its share of the running samples and in its self time, sorted by effect
// (the size of the self-time change), with the functions found in only
// one run. Functions are matched by name and file, and by first line when
// a file has two of the same name (an edit that moves a function keeps
// it matched).
#ifndef ML_DIFF_H
#define ML_DIFF_H

#include <stddef.h>

#include "ml_summary.h"

typedef struct {
    const ml_summary_function *a, *b; /* NULL: not in that run */
    double share_a, share_b; /* total share of the running samples, % */
    double self_a, self_b;   /* self time, seconds */
    double total_a, total_b; /* total time, seconds */
} ml_diff_function;

typedef struct {
    double duration_a, duration_b; /* seconds */
    double running_a, running_b;   /* running samples times the interval */
    ml_diff_function *functions;   /* in both runs, by effect */
    size_t nfunctions;
    ml_diff_function *only_a, *only_b; /* by self time, then total time */
    size_t nonly_a, nonly_b;
} ml_diff;

/* Compares a (the baseline) with b. 0 with *out set (ml_diff_free; it
 * points into a and b, which must outlive it), or ML_ENOMEM. */
int ml_diff_build(const ml_summary *a, const ml_summary *b, ml_diff **out);
void ml_diff_free(ml_diff *d);

#endif
