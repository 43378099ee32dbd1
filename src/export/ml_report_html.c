// SPDX-License-Identifier: MIT
// The run report as one self-contained HTML page (ml_report.h): inline
// CSS, inline SVG charts (ml_svg.h), no script, nothing fetched, so it
// opens from disk and can be mailed or kept as a CI artifact.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml_report.h"
#include "ml_svg.h"

#define TOP_N 10
#define MAX_ROWS 25 /* timed functions in a chart */
#define HIST_N 6

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;"
    "max-width:1000px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;"
    "border-bottom:1px solid #ddd;padding-bottom:4px}"
    "table{border-collapse:collapse;margin:6px 0}"
    "td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}"
    "th{font-weight:600;border-bottom:1px solid #ccc}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".dim{color:#777}pre{background:#f6f6f6;padding:6px 8px;margin:2px 0 10px;"
    "overflow-x:auto;font-size:12px}"
    ".chart{display:block;margin:8px 0 14px}"
    ".chart .ct{font-weight:600;font-size:13px}"
    ".chart .lbl,.chart .val,.chart .tick{font-size:11px;fill:#333}"
    ".chart .ax{stroke:#999}.chart .grid{stroke:#eee}"
    ".chart .wh{stroke:#4e79a7}.chart .md{stroke:#222;stroke-width:2}"
    ".grid2{display:flex;flex-wrap:wrap;gap:0 20px}"
    ".err{color:#b00}";

#define E(s) ml_svg_escape(out, (s))

static double
pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0;
}

static void
header(const ml_report *r, FILE *out)
{
    const ml_summary *s = r->summary;
    const char *label = ml_summary_meta_str(s, "label");
    const char *argv = ml_summary_meta_str(s, "argv");
    const char *py = ml_summary_meta_str(s, "python");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width\">"
          "<title>microlog report: ",
          out);
    E(label ? label : r->path);
    fprintf(out, "</title><style>%s</style></head><body>\n<h1>", css);
    E(label ? label : "-");
    fputs("</h1><table>", out);
    fputs("<tr><td class=\"dim\">recording</td><td>", out);
    E(r->path);
    fputs("</td></tr><tr><td class=\"dim\">command</td><td>", out);
    E(argv ? argv : "-");
    fputs("</td></tr><tr><td class=\"dim\">python</td><td>", out);
    E(py ? py : "-");
    fprintf(out, "</td></tr><tr><td class=\"dim\">duration</td><td>%.3f s, ",
            (double)s->duration_us / 1e6);
    if (s->complete) {
        fprintf(out, "exit status %lld", (long long)s->exit_status);
    } else {
        fputs("<span class=\"err\">incomplete: no end record</span>", out);
    }
    fprintf(out,
            "</td></tr><tr><td class=\"dim\">samples</td><td>%llu (%llu "
            "running), interval %.1f us</td></tr></table>\n",
            (unsigned long long)s->samples, (unsigned long long)s->running,
            s->interval_us);
}

static int
by_self(const void *a, const void *b)
{
    const ml_summary_function *x = *(const ml_summary_function *const *)a;
    const ml_summary_function *y = *(const ml_summary_function *const *)b;
    return x->self < y->self ? 1 : x->self > y->self ? -1 : 0;
}

static void
function_table(FILE *out, const ml_summary *s,
               const ml_summary_function *const *f, size_t n, const char *id)
{
    fprintf(out,
            "<table id=\"%s\"><tr><th>total</th><th>self</th><th>function"
            "</th><th>file</th></tr>",
            id);
    for (size_t i = 0; i < n; i++) {
        fprintf(out,
                "<tr><td class=\"n\">%.1f%%</td><td class=\"n\">%.1f%%</td>"
                "<td>",
                pct(f[i]->total, s->running), pct(f[i]->self, s->running));
        E(f[i]->name);
        fputs("</td><td class=\"dim\">", out);
        E(f[i]->file);
        fprintf(out, ":%u</td></tr>", f[i]->line);
    }
    fputs("</table>\n", out);
}

static void
functions(const ml_report *r, FILE *out)
{
    const ml_summary *s = r->summary;
    size_t n = s->nfunctions;
    const ml_summary_function **order = malloc((n + 1) * sizeof *order);
    const char **labels = malloc((TOP_N + 1) * sizeof *labels);
    double *values = malloc((TOP_N + 1) * sizeof *values);
    if (order == NULL || labels == NULL || values == NULL) {
        goto done;
    }
    double interval = s->interval_us / 1e6;
    size_t k = n < TOP_N ? n : TOP_N;
    for (size_t i = 0; i < n; i++) {
        order[i] = &s->functions[i];
    }
    for (size_t i = 0; i < k; i++) {
        labels[i] = order[i]->name;
        values[i] = (double)order[i]->total * interval;
    }
    fputs("<h2>Functions</h2>", out);
    ml_svg_bars(out,
                "Top 10 functions by total time (running samples x "
                "interval)",
                labels, values, k, " s");
    fputs("<h3>By total time</h3>", out);
    function_table(out, s, order, n < 15 ? n : 15, "by-total");
    qsort(order, n, sizeof *order, by_self);
    size_t m = 0;
    while (m < n && m < 15 && order[m]->self > 0) {
        m++;
    }
    fputs("<h3>By self time</h3>", out);
    function_table(out, s, order, m, "by-self");
done:
    free(order);
    free(labels);
    free(values);
}

static void
threads(const ml_report *r, FILE *out)
{
    const ml_summary *s = r->summary;
    size_t n = s->nthreads;
    const char **labels = malloc((n + 1) * sizeof *labels);
    double *parts = malloc((n + 1) * 4 * sizeof *parts);
    static const char *const names[4] = {"running", "waiting", "GIL wait",
                                         "unknown"};
    if (labels == NULL || parts == NULL) {
        goto done;
    }
    fputs("<h2>Threads</h2><table id=\"threads\"><tr><th>id</th><th>name"
          "</th><th>samples</th><th>running</th><th>waiting</th><th>GIL wait"
          "</th></tr>",
          out);
    for (size_t i = 0; i < n; i++) {
        const ml_summary_thread *t = &s->threads[i];
        uint64_t waiting = t->samples - t->running - t->gil_wait - t->unknown;
        labels[i] = t->name[0] ? t->name : "(unnamed)";
        parts[i * 4 + 0] = pct(t->running, t->samples);
        parts[i * 4 + 1] = pct(waiting, t->samples);
        parts[i * 4 + 2] = pct(t->gil_wait, t->samples);
        parts[i * 4 + 3] = pct(t->unknown, t->samples);
        fprintf(out, "<tr><td class=\"n\">%u</td><td>", t->id);
        E(t->name);
        fprintf(out,
                "</td><td class=\"n\">%llu</td><td class=\"n\">%.1f%%</td>"
                "<td class=\"n\">%.1f%%</td><td class=\"n\">%.1f%%</td></tr>",
                (unsigned long long)t->samples, parts[i * 4], parts[i * 4 + 1],
                parts[i * 4 + 2]);
    }
    fputs("</table>", out);
    ml_svg_stacked(out, "Thread states (share of each thread's samples)",
                   labels, parts, n, 4, names);
done:
    free(labels);
    free(parts);
}

static void
status(const ml_report *r, FILE *out)
{
    const ml_report_series *cpu = ml_report_find_series(r, "cpu");
    const ml_report_series *rss = ml_report_find_series(r, "rss");
    const ml_report_series *mods = ml_report_find_series(r, "modules");
    double end = (double)r->summary->duration_us / 1e6;
    fputs("<h2>Status</h2><table id=\"status\">", out);
    if (cpu != NULL && cpu->n > 0) {
        fprintf(out,
                "<tr><td class=\"dim\">CPU</td><td>mean %.1f%%, max %.1f%%"
                "</td></tr>",
                cpu->mean, cpu->max);
    }
    if (rss != NULL && rss->n > 0) {
        fprintf(out,
                "<tr><td class=\"dim\">memory peak</td><td>%.1f MiB (RSS)"
                "</td></tr>",
                rss->max / 1048576.0);
    }
    if (mods != NULL && mods->n > 0) {
        fprintf(out,
                "<tr><td class=\"dim\">modules</td><td>%.0f at the end"
                "</td></tr>",
                mods->v[mods->n - 1]);
    }
    for (size_t i = 0; i < r->nseries; i++) {
        const ml_report_series *m = &r->series[i];
        if (m->metric && m->n > 0) {
            fputs("<tr><td class=\"dim\">metric ", out);
            E(m->name);
            fprintf(out, "</td><td>min %.6g, mean %.6g, max %.6g ", m->min,
                    m->mean, m->max);
            E(m->unit);
            fputs("</td></tr>", out);
        }
    }
    fputs("</table>", out);
    if (cpu != NULL && cpu->n > 0) {
        ml_svg_line(out, "CPU over time", cpu->t, cpu->v, cpu->n, end, 1, "%");
    }
    if (rss != NULL && rss->n > 0) {
        ml_svg_line(out, "Memory (RSS) over time", rss->t, rss->v, rss->n, end,
                    1 / 1048576.0, " MiB");
    }
}

static void
logs(const ml_report *r, FILE *out)
{
    const ml_summary *s = r->summary;
    fputs("<h2>Logs</h2><table id=\"levels\"><tr>", out);
    for (int i = 0; i < ML_LEVEL_COUNT; i++) {
        fprintf(out, "<th>%s</th>", ml_summary_level_name(i));
    }
    fputs("<th>all</th></tr><tr>", out);
    for (int i = 0; i < ML_LEVEL_COUNT; i++) {
        fprintf(out, "<td class=\"n\">%llu</td>",
                (unsigned long long)s->log_levels[i]);
    }
    fprintf(out, "<td class=\"n\">%llu</td></tr></table>\n",
            (unsigned long long)s->log_records);
    if (r->nerrors > 0) {
        fprintf(out, "<h3>Errors (%zu)</h3><div id=\"errors\">", r->nerrors);
    }
    for (size_t i = 0; i < r->nerrors; i++) {
        const ml_report_log *e = &r->errors[i];
        fprintf(out, "<div class=\"err\">%.3f s: ", e->time);
        E(e->text);
        fputs("</div><pre>", out);
        E(e->stack[0] ? e->stack : "(no stack)");
        fputs("</pre>", out);
    }
    if (r->nerrors > 0) {
        fputs("</div>", out);
    }
}

static void
timed_charts(const ml_report *r, FILE *out)
{
    size_t n = r->ntimed < MAX_ROWS ? r->ntimed : MAX_ROWS;
    const char **labels = malloc((n + 1) * sizeof *labels);
    double **walls = calloc(n + 1, sizeof *walls);
    double **times = calloc(n + 1, sizeof *times);
    size_t *counts = calloc(n + 1, sizeof *counts);
    double *mem = malloc((n + 1) * sizeof *mem);
    int ok = labels && walls && times && counts && mem;
    for (size_t i = 0; ok && i < n; i++) {
        const ml_report_timed *f = &r->timed[i];
        labels[i] = f->name;
        counts[i] = f->n;
        mem[i] = f->mem_sum / (double)f->n / 1024.0;
        walls[i] = malloc((f->n + 1) * sizeof **walls);
        times[i] = malloc((f->n + 1) * sizeof **times);
        ok = walls[i] && times[i];
        for (size_t k = 0; ok && k < f->n; k++) {
            walls[i][k] = f->calls[k].wall;
            times[i][k] = f->calls[k].time;
        }
    }
    if (ok && n > 0) {
        double end = (double)r->summary->duration_us / 1e6;
        ml_svg_calls(out, "Calls over time (dot area: duration)", labels,
                     times, walls, counts, n, end);
        ml_svg_boxes(out, "Wall time per function", labels, walls, counts, n,
                     " s");
        ml_svg_bars(out, "Memory change per call, mean", labels, mem, n,
                    " KiB");
        fputs("<div class=\"grid2\">", out);
        for (size_t i = 0, shown = 0; i < n && shown < HIST_N; i++) {
            if (counts[i] < 3) {
                continue; /* a histogram of one or two calls says nothing */
            }
            shown++;
            char title[160];
            snprintf(title, sizeof title, "Durations of %.120s", labels[i]);
            ml_svg_histogram(out, title, walls[i], counts[i], 20, " s");
        }
        fputs("</div>", out);
    }
    for (size_t i = 0; walls && times && i < n; i++) {
        free(walls[i]);
        free(times[i]);
    }
    free(labels);
    free(walls);
    free(times);
    free(counts);
    free(mem);
}

static void
timed(const ml_report *r, FILE *out)
{
    fputs("<h2>Timed functions</h2>", out);
    if (r->ntimed == 0) {
        fputs("<p class=\"dim\">No function was decorated with "
              "<code>@microlog.timed</code>.</p>",
              out);
        return;
    }
    fputs("<table id=\"timed\"><tr><th>function</th><th>count</th><th>sum s"
          "</th><th>mean s</th><th>max s</th><th>CPU mean s</th><th>memory "
          "change mean</th></tr>",
          out);
    for (size_t i = 0; i < r->ntimed; i++) {
        const ml_report_timed *f = &r->timed[i];
        double c = (double)f->n;
        fputs("<tr><td>", out);
        E(f->name);
        fprintf(out,
                "</td><td class=\"n\">%zu</td><td class=\"n\">%.6f</td>"
                "<td class=\"n\">%.6f</td><td class=\"n\">%.6f</td>"
                "<td class=\"n\">%.6f</td><td class=\"n\">%.0f B</td></tr>",
                f->n, f->sum, f->sum / c, f->max, f->cpu_sum / c,
                f->mem_sum / c);
    }
    fputs("</table>", out);
    timed_charts(r, out);
    fputs("<h3>Anomalous calls</h3><table id=\"anomalies\"><tr><th>function"
          "</th><th>at</th><th>wall s</th><th>above</th><th>arguments</th>"
          "</tr>",
          out);
    size_t shown = 0;
    for (size_t i = 0; i < r->ntimed; i++) {
        const ml_report_timed *f = &r->timed[i];
        for (size_t k = 0; k < f->n; k++) {
            const ml_report_call *c = &f->calls[k];
            if (!(c->wall > f->threshold)) {
                continue;
            }
            shown++;
            fputs("<tr><td>", out);
            E(f->name);
            fprintf(out,
                    "</td><td class=\"n\">%.3f s</td><td class=\"n\">%.6f"
                    "</td><td class=\"n\">%.6f</td><td>",
                    c->time, c->wall, f->threshold);
            E(c->args);
            fputs("</td></tr>", out);
        }
    }
    fputs("</table>", out);
    if (shown == 0) {
        fputs("<p class=\"dim\">None: no call was slower than the rule of "
              "docs/API.md allows.</p>",
              out);
    }
}

static void
ends(const ml_report *r, FILE *out)
{
    fputs("<h2>End-of-run reports</h2>", out);
    if (r->nends == 0) {
        fputs("<p class=\"dim\">None recorded.</p>", out);
    }
    for (size_t i = 0; i < r->nends; i++) {
        fputs("<h3>", out);
        E(r->ends[i].name);
        fputs("</h3><pre>", out);
        E(r->ends[i].body);
        fputs("</pre>", out);
    }
}

static void
baseline(const ml_diff *d, FILE *out)
{
    if (d == NULL) {
        return;
    }
    fprintf(out,
            "<h2>Compared with the baseline</h2><p>Total time %.3f s &rarr; "
            "%.3f s (%+.3f s).</p><table id=\"baseline\"><tr><th>self "
            "change</th><th>share change</th><th>function</th></tr>",
            d->duration_a, d->duration_b, d->duration_b - d->duration_a);
    size_t n = d->nfunctions < TOP_N ? d->nfunctions : TOP_N;
    const char **labels = malloc((n + 1) * sizeof *labels);
    double *values = malloc((n + 1) * sizeof *values);
    for (size_t i = 0; i < n; i++) {
        const ml_diff_function *f = &d->functions[i];
        fprintf(out,
                "<tr><td class=\"n\">%+.3f s</td><td class=\"n\">%+.1f pp"
                "</td><td>",
                f->self_b - f->self_a, f->share_b - f->share_a);
        E(f->b->name);
        fputs("</td></tr>", out);
        if (labels && values) {
            labels[i] = f->b->name;
            values[i] = f->self_b - f->self_a;
        }
    }
    for (size_t i = 0; i < d->nonly_b && i < TOP_N; i++) {
        fprintf(out, "<tr><td class=\"n\">+%.3f s</td><td>new</td><td>",
                d->only_b[i].self_b);
        E(d->only_b[i].b->name);
        fputs("</td></tr>", out);
    }
    for (size_t i = 0; i < d->nonly_a && i < TOP_N; i++) {
        fprintf(out, "<tr><td class=\"n\">-%.3f s</td><td>gone</td><td>",
                d->only_a[i].self_a);
        E(d->only_a[i].a->name);
        fputs("</td></tr>", out);
    }
    fputs("</table>", out);
    if (d->nonly_a > TOP_N || d->nonly_b > TOP_N) {
        fprintf(out,
                "<p class=\"dim\">%zu new and %zu gone functions in all; "
                "<code>microlog diff</code> lists every one.</p>",
                d->nonly_b, d->nonly_a);
    }
    if (labels && values && n > 0) {
        ml_svg_bars(out, "Change in self time against the baseline", labels,
                    values, n, " s");
    }
    free(labels);
    free(values);
}

void
ml_report_html(const ml_report *r, const ml_diff *base, FILE *out)
{
    header(r, out);
    baseline(base, out);
    functions(r, out);
    threads(r, out);
    status(r, out);
    logs(r, out);
    timed(r, out);
    ends(r, out);
    fputs("<p class=\"dim\">Made by microlog report.</p></body></html>\n",
          out);
}
