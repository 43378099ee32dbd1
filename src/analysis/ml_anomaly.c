// SPDX-License-Identifier: MIT
// The robust anomaly rule (see ml_anomaly.h).
#include "ml_anomaly.h"

#include <math.h>
#include <stdlib.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of sorted v[0..n). */
static double
median_sorted(const double *v, size_t n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void
ml_anomaly_fit(double *d, size_t n, double interval, ml_anomaly_rule *out)
{
    out->median = out->mad = 0;
    out->threshold = INFINITY;
    if (n == 0) {
        return;
    }
    qsort(d, n, sizeof *d, cmp_double);
    double med = median_sorted(d, n);
    double *dev = malloc(n * sizeof *dev);
    if (dev == NULL) {
        out->median = med;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        dev[i] = fabs(d[i] - med);
    }
    qsort(dev, n, sizeof *dev, cmp_double);
    double mad = median_sorted(dev, n);
    free(dev);
    out->median = med;
    out->mad = mad;
    if (n >= ML_ANOMALY_MIN_CALLS) {
        double a = med + 3 * 1.4826 * mad, b = med + 2 * interval;
        double c = 1.5 * med;
        out->threshold = a > b ? (a > c ? a : c) : (b > c ? b : c);
    }
}
