// SPDX-License-Identifier: MIT
// Inline SVG charts (ml_svg.h). Layout: a title line, a label column on
// the left, the plot to its right, an axis with "nice" ticks (1, 2, 5 x
// 10^k) at the bottom. Colours come from one small palette.
#include "ml_svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_W 210
#define PLOT_X (LABEL_W + 10)
#define PLOT_W (ML_SVG_WIDTH - PLOT_X - 30)
#define ROW_H 22
#define TOP 30
#define AXIS_H 28

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759",
                                      "#76b7b2", "#59a14f", "#edc948",
                                      "#b07aa1", "#ff9da7", "#9c755f"};
#define NPALETTE (sizeof palette / sizeof palette[0])

void
ml_svg_escape(FILE *out, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n') {
                fputc(*s, out);
            }
            break;
        }
    }
}

/* A label cut to fit the label column. */
static void
label(FILE *out, const char *s)
{
    char buf[34];
    size_t n = strlen(s);
    if (n > 32) {
        snprintf(buf, sizeof buf, "%.29s...", s);
        s = buf;
    }
    ml_svg_escape(out, s);
}

static void
head(FILE *out, const char *title, int height)
{
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" class=\"chart\" "
            "role=\"img\"><title>",
            ML_SVG_WIDTH, height, ML_SVG_WIDTH, height);
    ml_svg_escape(out, title);
    fprintf(out, "</title><text x=\"0\" y=\"16\" class=\"ct\">");
    ml_svg_escape(out, title);
    fputs("</text>", out);
}

static void
tail(FILE *out)
{
    fputs("</svg>\n", out);
}

static double
nice_step(double range, int ticks)
{
    if (!(range > 0)) {
        return 1;
    }
    double raw = range / ticks, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    /* A little slack, so 100.1% gets ticks of 20 up to 120, not 150. */
    return (m <= 1.05 ? 1 : m <= 2.05 ? 2 : m <= 5.05 ? 5 : 10) * p;
}

static void
fmt(char *buf, size_t len, double v, const char *unit)
{
    double a = fabs(v);
    if (a != 0 && (a < 0.001 || a >= 1e6)) {
        snprintf(buf, len, "%.3g%s", v, unit);
    } else {
        snprintf(buf, len, "%.4g%s", v, unit);
    }
}

/* The x axis from lo to hi at y, plot coordinates x0 + (v - lo) * k. */
static void
axis(FILE *out, double lo, double hi, int y, int height, const char *unit)
{
    double step = nice_step(hi - lo, 5);
    fprintf(out,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>",
            PLOT_X, y, PLOT_X + PLOT_W, y);
    for (double v = ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
        double x = PLOT_X + (v - lo) / (hi - lo) * PLOT_W;
        char buf[32];
        fmt(buf, sizeof buf, fabs(v) < step * 1e-9 ? 0 : v, unit);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "class=\"grid\"/><text x=\"%.1f\" y=\"%d\" class=\"tick\" "
                "text-anchor=\"middle\">%s</text>",
                x, TOP - 4, x, y, x, y + 16, buf);
    }
    (void)height;
}

static void
range_of(const double *v, size_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(v[i])) {
            *lo = v[i] < *lo ? v[i] : *lo;
            *hi = v[i] > *hi ? v[i] : *hi;
        }
    }
    if (!isfinite(*lo)) {
        *lo = 0;
        *hi = 1;
    }
}

/* Widens [lo, hi] to include 0 and to nice ticks. */
static void
nice_range(double *lo, double *hi, int with_zero)
{
    if (with_zero) {
        *lo = *lo > 0 ? 0 : *lo;
        *hi = *hi < 0 ? 0 : *hi;
    }
    if (*hi <= *lo) {
        *hi = *lo + 1;
    }
    double step = nice_step(*hi - *lo, 5);
    *lo = floor(*lo / step) * step;
    *hi = ceil(*hi / step) * step;
}

static double
xpos(double v, double lo, double hi)
{
    return PLOT_X + (v - lo) / (hi - lo) * PLOT_W;
}

static void
row_label(FILE *out, int y, const char *s)
{
    fprintf(out,
            "<text x=\"%d\" y=\"%d\" class=\"lbl\" "
            "text-anchor=\"end\">",
            LABEL_W, y);
    label(out, s);
    fputs("</text>", out);
}

void
ml_svg_bars(FILE *out, const char *title, const char *const *labels,
            const double *values, size_t n, const char *unit)
{
    double lo, hi;
    range_of(values, n, &lo, &hi);
    nice_range(&lo, &hi, 1);
    int height = TOP + (int)n * ROW_H + AXIS_H;
    head(out, title, height);
    axis(out, lo, hi, TOP + (int)n * ROW_H, height, unit);
    double x0 = xpos(0, lo, hi);
    for (size_t i = 0; i < n; i++) {
        int y = TOP + (int)i * ROW_H;
        if (!isfinite(values[i])) {
            continue;
        }
        double x1 = xpos(values[i], lo, hi);
        char buf[32];
        fmt(buf, sizeof buf, values[i], unit);
        row_label(out, y + 15, labels[i]);
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                "fill=\"%s\"><title>%s</title></rect>"
                "<text x=\"%.1f\" y=\"%d\" class=\"val\">%s</text>",
                x1 < x0 ? x1 : x0, y + 3, fabs(x1 - x0), ROW_H - 6,
                values[i] < 0 ? palette[4] : palette[0], buf,
                (x1 > x0 ? x1 : x0) + 4, y + 15, buf);
    }
    tail(out);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double f = pos - (double)i;
    return i + 1 < n ? v[i] * (1 - f) + v[i + 1] * f : v[n - 1];
}

void
ml_svg_boxes(FILE *out, const char *title, const char *const *labels,
             double **vals, const size_t *counts, size_t n, const char *unit)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] == 0) {
            continue;
        }
        qsort(vals[i], counts[i], sizeof **vals, cmp_double);
        lo = vals[i][0] < lo ? vals[i][0] : lo;
        hi = vals[i][counts[i] - 1] > hi ? vals[i][counts[i] - 1] : hi;
    }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    nice_range(&lo, &hi, 1);
    int height = TOP + (int)n * ROW_H + AXIS_H;
    head(out, title, height);
    axis(out, lo, hi, TOP + (int)n * ROW_H, height, unit);
    for (size_t i = 0; i < n; i++) {
        if (counts[i] == 0) {
            continue;
        }
        const double *v = vals[i];
        size_t c = counts[i];
        int y = TOP + (int)i * ROW_H, mid = y + ROW_H / 2;
        double q1 = xpos(quantile(v, c, 0.25), lo, hi);
        double q3 = xpos(quantile(v, c, 0.75), lo, hi);
        double md = xpos(quantile(v, c, 0.5), lo, hi);
        char buf[160], a[24], b[24], m[24];
        fmt(a, sizeof a, v[0], unit);
        fmt(m, sizeof m, quantile(v, c, 0.5), unit);
        fmt(b, sizeof b, v[c - 1], unit);
        snprintf(buf, sizeof buf, "%zu calls: min %s, median %s, max %s", c, a,
                 m, b);
        row_label(out, y + 15, labels[i]);
        fprintf(out,
                "<g><title>%s</title>"
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "class=\"wh\"/>"
                "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                "fill=\"%s\" fill-opacity=\"0.6\" stroke=\"%s\"/>"
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "class=\"md\"/></g>",
                buf, xpos(v[0], lo, hi), mid, xpos(v[c - 1], lo, hi), mid, q1,
                y + 4, q3 - q1 > 1 ? q3 - q1 : 1, ROW_H - 8, palette[0],
                palette[0], md, y + 3, md, y + ROW_H - 3);
    }
    tail(out);
}

void
ml_svg_calls(FILE *out, const char *title, const char *const *labels,
             double **times, double **durations, const size_t *counts,
             size_t n, double t_end)
{
    double lo = 0, hi = t_end > 0 ? t_end : 1, dmax = 0;
    nice_range(&lo, &hi, 1);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < counts[i]; k++) {
            dmax = durations[i][k] > dmax ? durations[i][k] : dmax;
        }
    }
    int height = TOP + (int)n * ROW_H + AXIS_H;
    head(out, title, height);
    axis(out, lo, hi, TOP + (int)n * ROW_H, height, " s");
    for (size_t i = 0; i < n; i++) {
        int y = TOP + (int)i * ROW_H;
        row_label(out, y + 15, labels[i]);
        for (size_t k = 0; k < counts[i]; k++) {
            double r = dmax > 0 ? 2 + 7 * sqrt(durations[i][k] / dmax) : 2;
            fprintf(out,
                    "<circle cx=\"%.1f\" cy=\"%d\" r=\"%.1f\" fill=\"%s\" "
                    "fill-opacity=\"0.5\"><title>%.6g s at %.3f s</title>"
                    "</circle>",
                    xpos(times[i][k], lo, hi), y + ROW_H / 2, r,
                    palette[i % NPALETTE], durations[i][k], times[i][k]);
        }
    }
    tail(out);
}

void
ml_svg_histogram(FILE *out, const char *title, const double *v, size_t n,
                 int bins, const char *unit)
{
    double lo, hi;
    range_of(v, n, &lo, &hi);
    if (hi <= lo) {
        hi = lo + (lo != 0 ? fabs(lo) * 0.1 : 1);
    }
    size_t *count = calloc((size_t)bins, sizeof *count);
    if (count == NULL) {
        return;
    }
    size_t most = 1;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(v[i])) {
            int b = (int)((v[i] - lo) / (hi - lo) * bins);
            b = b >= bins ? bins - 1 : b < 0 ? 0 : b;
            most = ++count[b] > most ? count[b] : most;
        }
    }
    int plot_h = 90, height = TOP + plot_h + AXIS_H;
    head(out, title, height);
    axis(out, lo, hi, TOP + plot_h, height, unit);
    double w = (double)PLOT_W / bins;
    for (int b = 0; b < bins; b++) {
        double h = (double)plot_h * (double)count[b] / (double)most;
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"%s\"><title>%zu</title></rect>",
                PLOT_X + b * w + 0.5, TOP + plot_h - h, w - 1, h, palette[0],
                count[b]);
    }
    fprintf(out,
            "<text x=\"%d\" y=\"%d\" class=\"lbl\" text-anchor=\"end\">"
            "%zu calls</text>",
            LABEL_W, TOP + 14, n);
    free(count);
    tail(out);
}

void
ml_svg_line(FILE *out, const char *title, const double *t, const double *v,
            size_t n, double t_end, double scale, const char *unit)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = v[i] * scale < lo ? v[i] * scale : lo;
        hi = v[i] * scale > hi ? v[i] * scale : hi;
    }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    nice_range(&lo, &hi, 1);
    double t_hi = t_end > 0 ? t_end : 1, t_lo = 0;
    nice_range(&t_lo, &t_hi, 1);
    int plot_h = 110, height = TOP + plot_h + AXIS_H;
    head(out, title, height);
    axis(out, t_lo, t_hi, TOP + plot_h, height, " s");
    char a[32], b[32];
    fmt(a, sizeof a, lo, unit);
    fmt(b, sizeof b, hi, unit);
    fprintf(out,
            "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">%s"
            "</text><text x=\"%d\" y=\"%d\" class=\"tick\" "
            "text-anchor=\"end\">%s</text>",
            PLOT_X - 4, TOP + plot_h, a, PLOT_X - 4, TOP + 10, b);
    fprintf(out,
            "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
            "points=\"",
            palette[0]);
    for (size_t i = 0; i < n; i++) {
        double y = TOP + plot_h - (v[i] * scale - lo) / (hi - lo) * plot_h;
        fprintf(out, "%.1f,%.1f ", xpos(t[i], t_lo, t_hi), y);
    }
    fputs("\"/>", out);
    tail(out);
}

void
ml_svg_stacked(FILE *out, const char *title, const char *const *labels,
               const double *parts, size_t n, size_t k,
               const char *const *names)
{
    int height = TOP + (int)n * ROW_H + AXIS_H + 6;
    head(out, title, height);
    axis(out, 0, 100, TOP + (int)n * ROW_H, height, "%");
    for (size_t i = 0; i < n; i++) {
        int y = TOP + (int)i * ROW_H;
        double x = PLOT_X;
        row_label(out, y + 15, labels[i]);
        for (size_t j = 0; j < k; j++) {
            double w = parts[i * k + j] / 100.0 * PLOT_W;
            if (w > 0) {
                fprintf(out,
                        "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                        "height=\"%d\" fill=\"%s\"><title>%s %.1f%%</title>"
                        "</rect>",
                        x, y + 3, w, ROW_H - 6, palette[j % NPALETTE],
                        names[j], parts[i * k + j]);
            }
            x += w;
        }
    }
    int lx = PLOT_X;
    for (size_t j = 0; j < k; j++) {
        fprintf(out,
                "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" "
                "fill=\"%s\"/><text x=\"%d\" y=\"%d\" class=\"tick\">%s"
                "</text>",
                lx, height - 10, palette[j % NPALETTE], lx + 14, height - 1,
                names[j]);
        lx += 14 + 8 * (int)strlen(names[j]) + 16;
    }
    tail(out);
}
