// SPDX-License-Identifier: MIT
// The run report as text (ml_report.h): the figures of the HTML page, for
// a terminal or a CI log.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml_report.h"

#define TOP_N 15

static void
clean(FILE *out, const char *s)
{
    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
    }
}

static double
pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0;
}

static int
by_self(const void *a, const void *b)
{
    const ml_summary_function *x = *(const ml_summary_function *const *)a;
    const ml_summary_function *y = *(const ml_summary_function *const *)b;
    return x->self < y->self ? 1 : x->self > y->self ? -1 : 0;
}

/* The summary's functions come by total time; by_self sorts a copy. */
static void
functions(const ml_report *r, FILE *out, int self)
{
    const ml_summary *s = r->summary;
    const ml_summary_function *order[TOP_N * 64];
    size_t n = s->nfunctions < TOP_N * 64 ? s->nfunctions : TOP_N * 64;
    for (size_t i = 0; i < n; i++) {
        order[i] = &s->functions[i];
    }
    if (self) {
        qsort(order, n, sizeof *order, by_self);
    }
    fprintf(out, "\ntop functions by %s time, of %llu running samples\n",
            self ? "self" : "total", (unsigned long long)s->running);
    fprintf(out, "  %7s %7s  function\n", "total", "self");
    for (size_t i = 0; i < n && i < TOP_N; i++) {
        const ml_summary_function *f = order[i];
        if (self && f->self == 0) {
            break;
        }
        fprintf(out, "  %6.1f%% %6.1f%%  ", pct(f->total, s->running),
                pct(f->self, s->running));
        clean(out, f->name);
        fputs("  ", out);
        clean(out, f->file);
        fprintf(out, ":%u\n", f->line);
    }
}

static void
threads(const ml_report *r, FILE *out)
{
    const ml_summary *s = r->summary;
    fprintf(out, "\nthreads\n  %4s  %-24s %8s %8s %8s %8s\n", "id", "name",
            "samples", "running", "waiting", "gil wait");
    for (size_t i = 0; i < s->nthreads; i++) {
        const ml_summary_thread *t = &s->threads[i];
        uint64_t waiting = t->samples - t->running - t->gil_wait - t->unknown;
        fprintf(out, "  %4u  %-24.24s %8llu %7.1f%% %7.1f%% %7.1f%%\n", t->id,
                t->name, (unsigned long long)t->samples,
                pct(t->running, t->samples), pct(waiting, t->samples),
                pct(t->gil_wait, t->samples));
    }
}

static void
status(const ml_report *r, FILE *out)
{
    const ml_report_series *cpu = ml_report_find_series(r, "cpu");
    const ml_report_series *rss = ml_report_find_series(r, "rss");
    const ml_report_series *mods = ml_report_find_series(r, "modules");
    fprintf(out, "\nstatus\n");
    if (cpu != NULL && cpu->n > 0) {
        fprintf(out, "  cpu        mean %.1f%%, max %.1f%%\n", cpu->mean,
                cpu->max);
    }
    if (rss != NULL && rss->n > 0) {
        fprintf(out, "  memory     peak %.1f MiB (rss), first %.1f MiB\n",
                rss->max / 1048576.0, rss->v[0] / 1048576.0);
    }
    if (mods != NULL && mods->n > 0) {
        fprintf(out, "  modules    %.0f at the end\n", mods->v[mods->n - 1]);
    }
    for (size_t i = 0; i < r->nseries; i++) {
        const ml_report_series *m = &r->series[i];
        if (m->metric && m->n > 0) {
            fprintf(out, "  metric ");
            clean(out, m->name);
            fprintf(out, ": min %.6g, mean %.6g, max %.6g %s\n", m->min,
                    m->mean, m->max, m->unit);
        }
    }
}

static void
logs(const ml_report *r, FILE *out)
{
    const ml_summary *s = r->summary;
    fprintf(out, "\nlogs: %llu", (unsigned long long)s->log_records);
    const char *sep = " (";
    for (int i = 0; i < ML_LEVEL_COUNT; i++) {
        if (s->log_levels[i] > 0) {
            fprintf(out, "%s%llu %s", sep,
                    (unsigned long long)s->log_levels[i],
                    ml_summary_level_name(i));
            sep = ", ";
        }
    }
    fprintf(out, "%s\n", s->log_records ? ")" : "");
    for (size_t i = 0; i < r->nerrors; i++) {
        const ml_report_log *e = &r->errors[i];
        fprintf(out, "  error at %.3f s: ", e->time);
        clean(out, e->text);
        fputc('\n', out);
        const char *p = e->stack;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(out, "      %.*s\n", (int)len, p);
            p += len + (nl != NULL);
        }
    }
}

static void
timed(const ml_report *r, FILE *out)
{
    if (r->ntimed == 0) {
        return;
    }
    fprintf(out, "\ntimed functions\n  %-28s %6s %10s %10s %10s %10s %12s\n",
            "function", "count", "sum s", "mean s", "max s", "cpu mean",
            "mem mean B");
    for (size_t i = 0; i < r->ntimed; i++) {
        const ml_report_timed *f = &r->timed[i];
        double c = (double)f->n;
        fprintf(out, "  %-28.28s %6zu %10.6f %10.6f %10.6f %10.6f %12.0f\n",
                f->name, f->n, f->sum, f->sum / c, f->max, f->cpu_sum / c,
                f->mem_sum / c);
    }
    size_t shown = 0;
    for (size_t i = 0; i < r->ntimed; i++) {
        const ml_report_timed *f = &r->timed[i];
        for (size_t k = 0; k < f->n; k++) {
            if (!(f->calls[k].wall > f->threshold)) {
                continue;
            }
            if (shown++ == 0) {
                fprintf(out, "\nanomalous calls (slower than the rule of "
                             "docs/API.md allows)\n");
            }
            fprintf(out, "  ");
            clean(out, f->name);
            fprintf(out, " at %.3f s: %.6f s (above %.6f s) ",
                    f->calls[k].time, f->calls[k].wall, f->threshold);
            clean(out, f->calls[k].args);
            fputc('\n', out);
        }
    }
    if (shown == 0) {
        fprintf(out, "\nanomalous calls: none\n");
    }
}

static void
ends(const ml_report *r, FILE *out)
{
    if (r->nends == 0) {
        return;
    }
    fprintf(out, "\nend-of-run reports\n");
    for (size_t i = 0; i < r->nends; i++) {
        fprintf(out, "  ");
        clean(out, r->ends[i].name);
        fprintf(out, ": ");
        clean(out, r->ends[i].body);
        fputc('\n', out);
    }
}

static void
baseline(const ml_diff *d, FILE *out)
{
    if (d == NULL) {
        return;
    }
    fprintf(out,
            "\ncompared with the baseline\n  total time %.3f s -> "
            "%.3f s (%+.3f s)\n",
            d->duration_a, d->duration_b, d->duration_b - d->duration_a);
    for (size_t i = 0; i < d->nfunctions && i < 10; i++) {
        const ml_diff_function *f = &d->functions[i];
        fprintf(out, "  %+9.3f s self %+6.1f pp  ", f->self_b - f->self_a,
                f->share_b - f->share_a);
        clean(out, f->b->name);
        fputc('\n', out);
    }
    for (size_t i = 0; i < d->nonly_b && i < 10; i++) {
        fprintf(out, "  new: ");
        clean(out, d->only_b[i].b->name);
        fprintf(out, " (%.3f s self)\n", d->only_b[i].self_b);
    }
    for (size_t i = 0; i < d->nonly_a && i < 10; i++) {
        fprintf(out, "  gone: ");
        clean(out, d->only_a[i].a->name);
        fprintf(out, " (%.3f s self)\n", d->only_a[i].self_a);
    }
}

void
ml_report_text(const ml_report *r, const ml_diff *base, FILE *out)
{
    const ml_summary *s = r->summary;
    const char *label = ml_summary_meta_str(s, "label");
    const char *argv = ml_summary_meta_str(s, "argv");
    fprintf(out, "microlog report: ");
    clean(out, r->path);
    fprintf(out, "\nlabel      ");
    clean(out, label ? label : "-");
    fprintf(out, "\ncommand    ");
    clean(out, argv ? argv : "-");
    fprintf(out, "\nduration   %.3f s, ", (double)s->duration_us / 1e6);
    if (s->complete) {
        fprintf(out, "exit status %lld\n", (long long)s->exit_status);
    } else {
        fprintf(out, "incomplete (no end record)\n");
    }
    fprintf(out, "samples    %llu (%llu running), interval %.1f us\n",
            (unsigned long long)s->samples, (unsigned long long)s->running,
            s->interval_us);
    functions(r, out, 0);
    functions(r, out, 1);
    threads(r, out);
    status(r, out);
    logs(r, out);
    timed(r, out);
    ends(r, out);
    baseline(base, out);
}
