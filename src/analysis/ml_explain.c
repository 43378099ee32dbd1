// SPDX-License-Identifier: MIT
// The explanation prompt and the tips of a run (see ml_explain.h). Both
// are a reading of the views the server answers (call graph, functions,
// status, logs, summary), so the model and the user see the same figures.
#include "ml_explain.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_index_int.h"
#include "ml_names.h"
#include "ml_summary_json.h"
#include "ml_views.h"

#define TOP_FUNCTIONS 25
#define TOP_EDGES 40
#define MAX_PROBLEMS 20
#define MAX_MESSAGE 160

typedef int (*view_fn)(ml_index *, const ml_view_query *, ml_jsonw *);

/* A view's answer, parsed; NULL when it failed. */
static json_t *
view_json(ml_index *ix, view_fn fn, const ml_view_query *q)
{
    ml_jsonw w;
    ml_jsonw_init(&w, 64u << 20);
    json_t *j = NULL;
    if (fn(ix, q, &w) == 0) {
        json_error_t e;
        j = json_loadb((const char *)w.out.data, w.out.len, 0, &e);
    }
    ml_jsonw_free(&w);
    return j;
}

static json_t *
summary_json(ml_index *ix)
{
    ml_summary *s;
    if (ml_index_summary(ix, &s) < 0) {
        return NULL;
    }
    json_t *j = ml_summary_to_json(s, 0);
    ml_summary_free(s);
    return j;
}

static void
put(ml_buf *out, int *err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0
        && ml_buf_append(out, line,
                         (size_t)n < sizeof line ? (size_t)n : sizeof line - 1)
               < 0) {
        *err = ML_ENOMEM;
    }
}

static const char *
str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double
num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static double
pct(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* The last non-empty line of a message (an exception's "Type: text", not
 * the traceback and its source lines above it), cut to MAX_MESSAGE. */
static void
message_line(const char *text, char *out, size_t cap)
{
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == ' ')) {
        end--;
    }
    const char *start = end;
    while (start > text && start[-1] != '\n') {
        start--;
    }
    size_t n = (size_t)(end - start);
    if (n > MAX_MESSAGE) {
        n = MAX_MESSAGE;
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, start, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '`') {
            out[i] = '\''; /* keeps the Markdown of the prompt intact */
        }
    }
}

/* ---- prompt ------------------------------------------------------------ */

static void
prompt_run(ml_buf *out, int *err, json_t *sum)
{
    put(out, err,
        "# A Python program's run, recorded by microlog\n\n"
        "The figures below come from sampling the program's threads "
        "(about %.0f samples a second per thread). They name files and "
        "functions only: no source code, no argument values.\n\n"
        "- label: %s; Python %s; duration %.2f s; %zu threads; exit "
        "status %s\n",
        num(sum, "interval_us") > 0 ? 1e6 / num(sum, "interval_us") : 0.0,
        str(sum, "label"), str(sum, "python"), num(sum, "duration_s"),
        json_array_size(json_object_get(sum, "threads")),
        json_is_integer(json_object_get(sum, "exit_status"))
            ? (json_integer_value(json_object_get(sum, "exit_status")) == 0
                   ? "0"
                   : "not 0")
            : "unknown (the run did not end cleanly)");
}

static void
prompt_graph(ml_buf *out, int *err, json_t *cg)
{
    double total = num(cg, "total_us");
    put(out, err,
        "\n## Design: modules and classes, and the time that flows between "
        "them\n\n");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(cg, "nodes"), i, n)
    {
        if (pct(num(n, "total_us"), total) >= 1.0 && i < 60) {
            put(out, err, "- %s: %.1f%% of the time, %.1f%% in itself\n",
                str(n, "id"), pct(num(n, "total_us"), total),
                pct(num(n, "self_us"), total));
        }
    }
    put(out, err, "\nCalls (caller -> callee: share of time, functions):\n");
    json_t *e;
    json_array_foreach(json_object_get(cg, "edges"), i, e)
    {
        if (i >= TOP_EDGES) {
            break;
        }
        char names[300] = "";
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(e, "functions"), k, f)
        {
            strncat(names, k ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, json_string_value(f),
                    sizeof names - strlen(names) - 1);
        }
        put(out, err, "- %s -> %s: %.1f%% (%s)\n", str(e, "from"),
            str(e, "to"), pct(num(e, "time_us"), total), names);
    }
}

static void
prompt_functions(ml_buf *out, int *err, json_t *fns)
{
    put(out, err,
        "\n## Functions by total time (with the time in the function "
        "itself)\n\n| function | module | total | self | calls | on CPU "
        "|\n| --- | --- | --- | --- | --- | --- |\n");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fns, "functions"), i, f)
    {
        if (i >= TOP_FUNCTIONS) {
            break;
        }
        put(out, err, "| %s | %s | %.3f s | %.3f s | %.0f | %.0f%% |\n",
            str(f, "name"), str(f, "module"), num(f, "total_us") / 1e6,
            num(f, "self_us") / 1e6, num(f, "calls"), 100 * num(f, "running"));
    }
    json_t *timed = json_object_get(fns, "timed");
    if (json_array_size(timed) > 0) {
        put(out, err, "\nTimed functions (@microlog.timed):\n");
    }
    json_array_foreach(timed, i, f)
    {
        put(out, err,
            "- %s: %.0f calls, median %.1f ms, slowest %.1f ms, %.0f "
            "anomalous, %.0f errors\n",
            str(f, "name"), num(f, "calls"), num(f, "wall_us_median") / 1e3,
            num(f, "wall_us_max") / 1e3, num(f, "anomalies"),
            num(f, "errors"));
    }
}

static void
prompt_threads(ml_buf *out, int *err, json_t *sum)
{
    put(out, err, "\n## Threads\n\n");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(sum, "threads"), i, t)
    {
        double n = num(t, "samples");
        if (n <= 0) {
            continue;
        }
        put(out, err,
            "- %s: %.1f s sampled; running %.0f%%, waiting for the GIL "
            "%.0f%%, waiting %.0f%%\n",
            str(t, "name")[0] ? str(t, "name") : "(no name)",
            (num(t, "last_us") - num(t, "first_us")) / 1e6,
            pct(num(t, "running"), n), pct(num(t, "gil_wait"), n),
            pct(n - num(t, "running") - num(t, "gil_wait"), n));
    }
}

static void
prompt_status(ml_buf *out, int *err, json_t *st)
{
    put(out, err, "\n## Status (minimum, mean, maximum over the run)\n\n");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(st, "series"), i, s)
    {
        json_t *stats = json_object_get(s, "stats");
        if (num(stats, "count") > 0) {
            put(out, err, "- %s (%s): %.4g, %.4g, %.4g\n", str(s, "name"),
                str(s, "unit"), num(stats, "min"), num(stats, "mean"),
                num(stats, "max"));
        }
    }
}

static void
stack_text(json_t *stack, char *out, size_t cap)
{
    out[0] = '\0';
    size_t n = json_array_size(stack);
    for (size_t k = 0; k < n && k < 8; k++) {
        json_t *f = json_array_get(stack, n - 1 - k); /* innermost first */
        char one[200];
        const char *file = str(f, "file");
        const char *base = strrchr(file, '/');
        snprintf(one, sizeof one, "%s%s (%s:%lld)", k ? " <- " : "",
                 str(f, "function"), base ? base + 1 : file,
                 (long long)json_integer_value(json_object_get(f, "line")));
        strncat(out, one, cap - strlen(out) - 1);
    }
}

static void
prompt_problems(ml_buf *out, int *err, json_t *logs)
{
    json_t *entries = json_object_get(logs, "entries");
    put(out, err, "\n## Errors and warnings (%lld)\n\n",
        (long long)json_integer_value(json_object_get(logs, "total")));
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        char msg[MAX_MESSAGE + 1], stack[1200];
        message_line(str(e, "text"), msg, sizeof msg);
        stack_text(json_object_get(e, "stack"), stack, sizeof stack);
        put(out, err, "- %s at %.2f s (%s, thread %s): `%s`; in %s\n",
            str(e, "level_name"), num(e, "time_us") / 1e6, str(e, "source"),
            str(e, "thread_name"), msg, stack[0] ? stack : "(no stack)");
    }
}

static void
prompt_reports(ml_buf *out, int *err, ml_index *ix)
{
    for (size_t i = 0; i < ix->reports.len; i++) {
        json_error_t e;
        json_t *r = json_loads(ix->reports.items[i].body, 0, &e);
        if (r == NULL) {
            continue;
        }
        double count = num(r, "count");
        if (ix->reports.items[i].kind == 1 && count > 0) {
            put(out, err,
                "\n- %.0f files or sockets were still open at "
                "the end of the run\n",
                count);
        } else if (ix->reports.items[i].kind == 2 && count > 0) {
            json_t *top = json_array_get(json_object_get(r, "types"), 0);
            put(out, err,
                "\n- %.0f objects more were alive at the end than at the "
                "start (most: %s, %.0f)\n",
                count, str(top, "type"), num(top, "count"));
        }
        json_decref(r);
    }
}

int
ml_explain_prompt(ml_index *ix, ml_buf *out)
{
    ml_view_query q;
    ml_view_query_init(&q);
    json_t *sum = summary_json(ix);
    json_t *cg = view_json(ix, ml_view_callgraph, &q);
    json_t *fns = view_json(ix, ml_view_functions, &q);
    q.width = 1;
    json_t *st = view_json(ix, ml_view_status, &q);
    ml_view_query_init(&q);
    q.min_level = 30;
    q.limit = MAX_PROBLEMS;
    json_t *logs = view_json(ix, ml_view_logs, &q);
    int err = sum && cg && fns && st && logs ? ML_OK : ML_ENOMEM;
    if (err == 0) {
        prompt_run(out, &err, sum);
        prompt_graph(out, &err, cg);
        prompt_functions(out, &err, fns);
        prompt_threads(out, &err, sum);
        prompt_status(out, &err, st);
        prompt_problems(out, &err, logs);
        prompt_reports(out, &err, ix);
        put(out, &err,
            "\n## What to answer\n\nFrom these figures alone, describe in "
            "Markdown what this program is made of (its main parts and how "
            "they call each other), what it did during this run and where "
            "its time went, whether its threads worked or waited, and what "
            "went wrong. Then name the three most promising places to make "
            "it faster or more robust, each with the evidence above. Say "
            "when the figures are not enough to tell.\n");
    }
    json_decref(sum);
    json_decref(cg);
    json_decref(fns);
    json_decref(st);
    json_decref(logs);
    return err;
}

/* ---- tips -------------------------------------------------------------- */

#define MAX_TIP_MODULES 15

typedef struct {
    char name[128];
    const char *kind; /* "stdlib", "third-party" or "program" */
    double us;
} tip_module;

static const char *
module_kind(const char *file)
{
    if (strncmp(file, "<frozen ", 8) == 0) {
        return "stdlib";
    }
    if (strstr(file, "site-packages/") || strstr(file, "dist-packages/")) {
        return "third-party";
    }
    return strstr(file, "/lib/python3") ? "stdlib" : "program";
}

/* Packages by the time they were on the stack (the longest of their
 * functions' totals: a lower bound), largest first. */
static size_t
tip_modules(json_t *fns, tip_module *mods, size_t cap)
{
    size_t n = 0, i;
    json_t *f;
    json_array_foreach(json_object_get(fns, "functions"), i, f)
    {
        char top[128];
        snprintf(top, sizeof top, "%s", str(f, "module"));
        top[strcspn(top, ".")] = '\0';
        if (top[0] == '\0' || top[0] == '<' || strcmp(top, "microlog") == 0) {
            continue;
        }
        size_t k = 0;
        while (k < n && strcmp(mods[k].name, top) != 0) {
            k++;
        }
        if (k == n && n < cap) {
            snprintf(mods[n].name, sizeof mods[n].name, "%s", top);
            mods[n].kind = module_kind(str(f, "file"));
            mods[n++].us = 0;
        }
        if (k < n && num(f, "total_us") > mods[k].us) {
            mods[k].us = num(f, "total_us");
        }
    }
    for (size_t a = 1; a < n; a++) { /* few: insertion sort */
        for (size_t b = a; b > 0 && mods[b].us > mods[b - 1].us; b--) {
            tip_module t = mods[b];
            mods[b] = mods[b - 1];
            mods[b - 1] = t;
        }
    }
    return n;
}

static void
link(ml_jsonw *w, const char *title, const char *url)
{
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "title", title);
    ml_jsonw_kstr(w, "url", url);
    ml_jsonw_obj_end(w);
}

static void
write_module(ml_jsonw *w, const tip_module *m, double run_us)
{
    char url[512];
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "module", m->name);
    ml_jsonw_kstr(w, "kind", m->kind);
    ml_jsonw_kf64(w, "share", run_us > 0 ? fmin(1.0, m->us / run_us) : 0);
    ml_jsonw_key(w, "links");
    ml_jsonw_arr(w);
    if (strcmp(m->kind, "stdlib") == 0) {
        snprintf(url, sizeof url,
                 "https://docs.python.org/3/library/%.100s.html", m->name);
        link(w, "documentation", url);
    } else if (strcmp(m->kind, "third-party") == 0) {
        snprintf(url, sizeof url, "https://pypi.org/project/%.100s/", m->name);
        link(w, "project page", url);
    }
    if (strcmp(m->kind, "program") != 0) {
        snprintf(
            url, sizeof url,
            "https://stackoverflow.com/search?q=python+%.100s+performance",
            m->name);
        link(w, "performance questions", url);
        snprintf(url, sizeof url,
                 "https://duckduckgo.com/?q=python+%.100s+best+practices",
                 m->name);
        link(w, "best practices", url);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
}

static void
observation(ml_jsonw *w, const char *kind, const char *url, const char *fmt,
            ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "kind", kind);
    ml_jsonw_kstr(w, "text", text);
    ml_jsonw_kstr(w, "url", url);
    ml_jsonw_obj_end(w);
}

static json_t *
row_named(json_t *fns, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fns, "functions"), i, f)
    {
        if (strcmp(str(f, "name"), name) == 0) {
            return f;
        }
    }
    return NULL;
}

static void
observe_threads(ml_jsonw *w, json_t *sum)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(sum, "threads"), i, t)
    {
        double share = pct(num(t, "gil_wait"), num(t, "samples"));
        if (share >= 10) {
            observation(w, "gil",
                        "https://docs.python.org/3/glossary.html"
                        "#term-global-interpreter-lock",
                        "Thread %s waited for the GIL %.0f%% of its time: "
                        "Python threads that compute take turns. Processes "
                        "(concurrent.futures.ProcessPoolExecutor) or native "
                        "code that releases the GIL let them run at once.",
                        str(t, "name")[0] ? str(t, "name") : "(no name)",
                        share);
        }
    }
}

static void
observe_imports(ml_jsonw *w, json_t *fns, double run_us)
{
    json_t *imp = row_named(fns, "_find_and_load");
    if (imp == NULL || num(imp, "total_us") < 200000) {
        return;
    }
    /* The slowest module body, the program's own (the longest) aside. */
    const char *slowest = NULL, *main_file = NULL;
    double slow_us = 0, main_us = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fns, "functions"), i, f)
    {
        if (strcmp(str(f, "name"), "<module>") != 0) {
            continue;
        }
        double us = num(f, "total_us");
        if (us > main_us) {
            slowest = main_file, slow_us = main_us;
            main_file = str(f, "file"), main_us = us;
        } else if (us > slow_us) {
            slowest = str(f, "file"), slow_us = us;
        }
    }
    (void)run_us;
    observation(w, "import",
                "https://docs.python.org/3/using/cmdline.html#cmdoption-X",
                "Imports took %.2f s%s%s%s. `python -X importtime` breaks "
                "them down; importing lazily (inside the function that "
                "needs a module) moves the cost off the start.",
                num(imp, "total_us") / 1e6, slowest ? " (slowest: " : "",
                slowest ? slowest : "", slowest ? ")" : "");
}

static void
observe_timed(ml_jsonw *w, json_t *fns)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fns, "timed"), i, f)
    {
        if (num(f, "anomalies") > 0) {
            observation(w, "anomaly", NULL,
                        "%s had %.0f anomalous calls: its slowest took %.1f "
                        "ms where the median is %.1f ms. The span popup of "
                        "the timeline lists them.",
                        str(f, "name"), num(f, "anomalies"),
                        num(f, "wall_us_max") / 1e3,
                        num(f, "wall_us_median") / 1e3);
        }
    }
}

static void
observe_reports(ml_jsonw *w, ml_index *ix)
{
    for (size_t i = 0; i < ix->reports.len; i++) {
        json_error_t e;
        json_t *r = json_loads(ix->reports.items[i].body, 0, &e);
        double count = r ? num(r, "count") : 0;
        if (r && ix->reports.items[i].kind == 1 && count > 0) {
            json_t *first = json_array_get(json_object_get(r, "open"), 0);
            json_t *where = json_array_get(json_object_get(first, "stack"), 0);
            observation(w, "open-file",
                        "https://docs.python.org/3/reference/"
                        "compound_stmts.html#the-with-statement",
                        "%.0f files or sockets were still open at the end, "
                        "for example %s opened in %s. A `with` block closes "
                        "them.",
                        count,
                        str(first, "path")[0] ? str(first, "path")
                                              : str(first, "kind"),
                        json_string_value(where) ? json_string_value(where)
                                                 : "an unknown place");
        } else if (r && ix->reports.items[i].kind == 2 && count > 0) {
            json_t *top = json_array_get(json_object_get(r, "types"), 0);
            observation(w, "leak",
                        "https://docs.python.org/3/library/"
                        "tracemalloc.html",
                        "%.0f more objects were alive at the end than at "
                        "the start, most of them %s (%.0f): a cache or list "
                        "that only grows?",
                        count, str(top, "type"), num(top, "count"));
        }
        json_decref(r);
    }
}

static void
observe_errors(ml_jsonw *w, json_t *sum)
{
    json_t *levels = json_object_get(sum, "log_levels");
    double errors = num(levels, "error") + num(levels, "critical");
    if (errors > 0) {
        observation(w, "error", NULL,
                    "%.0f error%s logged or raised; the Log tab lists "
                    "them with their stacks.",
                    errors, errors == 1 ? " was" : "s were");
    }
    json_t *status = json_object_get(sum, "exit_status");
    if (json_is_integer(status) && json_integer_value(status) != 0) {
        observation(w, "exit", NULL, "The program exited with status %lld.",
                    (long long)json_integer_value(status));
    }
}

int
ml_explain_tips(ml_index *ix, ml_jsonw *w)
{
    ml_view_query q;
    ml_view_query_init(&q);
    json_t *sum = summary_json(ix);
    json_t *fns = view_json(ix, ml_view_functions, &q);
    if (sum == NULL || fns == NULL) {
        json_decref(sum);
        json_decref(fns);
        return ML_ENOMEM;
    }
    double run_us = num(sum, "duration_s") * 1e6;
    tip_module mods[64];
    size_t n = tip_modules(fns, mods, 64);
    ml_jsonw_obj(w);
    ml_jsonw_key(w, "modules");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < n && i < MAX_TIP_MODULES; i++) {
        write_module(w, &mods[i], run_us);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_key(w, "observations");
    ml_jsonw_arr(w);
    observe_threads(w, sum);
    observe_imports(w, fns, run_us);
    observe_timed(w, fns);
    observe_reports(w, ix);
    observe_errors(w, sum);
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
    json_decref(sum);
    json_decref(fns);
    return ml_jsonw_error(w);
}

int
ml_explain_tips_text(ml_index *ix, ml_buf *out)
{
    ml_jsonw w;
    ml_jsonw_init(&w, 16u << 20);
    int err = ml_explain_tips(ix, &w);
    json_error_t e;
    json_t *j = err == 0
                    ? json_loadb((const char *)w.out.data, w.out.len, 0, &e)
                    : NULL;
    ml_jsonw_free(&w);
    if (j == NULL) {
        return err < 0 ? err : ML_ENOMEM;
    }
    put(out, &err, "Observations\n");
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(j, "observations"), i, o)
    {
        put(out, &err, "  - %s\n", str(o, "text"));
        if (str(o, "url")[0]) {
            put(out, &err, "    %s\n", str(o, "url"));
        }
    }
    if (json_array_size(json_object_get(j, "observations")) == 0) {
        put(out, &err, "  (none)\n");
    }
    put(out, &err, "\nModules where the time went\n");
    json_array_foreach(json_object_get(j, "modules"), i, o)
    {
        put(out, &err, "  %-24s %-12s %5.1f%%\n", str(o, "module"),
            str(o, "kind"), 100 * num(o, "share"));
        size_t k;
        json_t *l;
        json_array_foreach(json_object_get(o, "links"), k, l)
        {
            put(out, &err, "      %-22s %s\n", str(l, "title"), str(l, "url"));
        }
    }
    json_decref(j);
    return err;
}
