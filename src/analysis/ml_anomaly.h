// SPDX-License-Identifier: MIT
// The anomaly rule for calls of one function from one caller (similar
// calls): a call is anomalous when its duration is above each of
//     median + 3 * 1.4826 * MAD,  median + 2 * sampling interval,
//     1.5 * median,
// where MAD is the median absolute deviation. Robust: one very slow call
// barely moves the median or the MAD, so it cannot hide itself the way it
// inflates a mean and a standard deviation; the interval floor keeps
// sampling jitter from ever counting, and the relative floor keeps calls
// of a very regular function (MAD near 0) from counting for a few percent.
// Fewer than ML_ANOMALY_MIN_CALLS calls: nothing is anomalous. docs/API.md
// states the rule for users.
#ifndef ML_ANOMALY_H
#define ML_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#define ML_ANOMALY_MIN_CALLS 5

typedef struct {
    double median, mad, threshold; /* threshold: INFINITY when none */
} ml_anomaly_rule;

/* Computes the rule from n durations (any unit; interval in the same
 * unit). Reorders durations. */
void ml_anomaly_fit(double *durations, size_t n, double interval,
                    ml_anomaly_rule *out);

static inline int
ml_anomaly_is(const ml_anomaly_rule *r, double duration)
{
    return duration > r->threshold;
}

#endif
