// SPDX-License-Identifier: MIT
// The report's charts, drawn as inline SVG (no script, no fonts, no
// request): horizontal bars, box plots, a call scatter over time, a
// histogram, a line over time and stacked bars. Each writes one <svg>
// element of a fixed width to out; labels are escaped. Values that are
// not finite are skipped.
#ifndef ML_SVG_H
#define ML_SVG_H

#include <stddef.h>
#include <stdio.h>

#define ML_SVG_WIDTH 760

/* Text with &, <, >, " escaped, for HTML and SVG. */
void ml_svg_escape(FILE *out, const char *s);

/* n bars, one per label, of value[i] (negative bars go left of 0); unit
 * follows each value ("s", "MiB", "%"). */
void ml_svg_bars(FILE *out, const char *title, const char *const *labels,
                 const double *values, size_t n, const char *unit);

/* A box plot per label of vals[i][0 .. counts[i]) (any order; they are
 * sorted in place): whiskers at min and max, box at the quartiles, a line
 * at the median. */
void ml_svg_boxes(FILE *out, const char *title, const char *const *labels,
                  double **vals, const size_t *counts, size_t n,
                  const char *unit);

/* One row per label; a dot per call at times[i][k] (seconds) whose area
 * grows with durations[i][k]; the x axis runs from 0 to t_end. */
void ml_svg_calls(FILE *out, const char *title, const char *const *labels,
                  double **times, double **durations, const size_t *counts,
                  size_t n, double t_end);

/* A histogram of v[0 .. n) in bins equal bins. */
void ml_svg_histogram(FILE *out, const char *title, const double *v, size_t n,
                      int bins, const char *unit);

/* v over t (seconds since the start), scaled by scale for display. */
void ml_svg_line(FILE *out, const char *title, const double *t,
                 const double *v, size_t n, double t_end, double scale,
                 const char *unit);

/* A bar per label split into k parts of parts[i * k + j] (shares that add
 * to 100), coloured by part, with a legend of names. */
void ml_svg_stacked(FILE *out, const char *title, const char *const *labels,
                    const double *parts, size_t n, size_t k,
                    const char *const *names);

#endif
