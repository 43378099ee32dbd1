// SPDX-License-Identifier: MIT
// `microlog diff` (ml_cli_diff.h): summarizes both recordings
// (ml_cli_show_load), compares them (ml_diff_build) and prints the
// comparison as text or, with --json, as one JSON object made with
// jansson (schema in docs/EXPORT.md).
#define _GNU_SOURCE
#include "ml_cli_diff.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/ml_diff.h"
#include "analysis/ml_json.h"
#include "ml_cli_show.h"

#define DEFAULT_TOP 20

void
ml_cli_diff_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog diff [--json] [--top N] A B\n\n"
            "Compares two runs of the same program, A the baseline: total "
            "time, and per\nfunction the change in its share of the running "
            "samples and in its self\ntime, largest effect first, then the "
            "functions found in only one run.\n\n"
            "  --json     print one JSON object instead of text\n"
            "  --top N    list N functions of each kind (default %d; with "
            "--json: all)\n"
            "  -h, --help show this help\n\n"
            "Exit status: 0 on success, 2 when a file cannot be read.\n",
            DEFAULT_TOP);
}

static void
put_clean(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        putchar(c < 0x20 || c == 0x7f ? '?' : c);
    }
}

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static const ml_summary_function *
either(const ml_diff_function *f)
{
    return f->a != NULL ? f->a : f->b;
}

static void
print_run(const char *tag, const char *path, const ml_summary *s,
          double running)
{
    const char *label = ml_summary_meta_str(s, "label");
    printf("%s  ", tag);
    put_clean(path);
    printf("\n   label ");
    put_clean(label ? label : "-");
    printf(", %.3f s, %.3f s running, exit %s\n", (double)s->duration_us / 1e6,
           running, s->complete ? "clean" : "none (incomplete)");
}

static void
print_function(const ml_diff_function *f)
{
    const ml_summary_function *fn = either(f);
    printf("  %9.3f %9.3f %+9.3f %+9.3f  %6.1f%% %6.1f%% %+6.1f  ", f->self_a,
           f->self_b, f->self_b - f->self_a, f->total_b - f->total_a,
           f->share_a, f->share_b, f->share_b - f->share_a);
    put_clean(fn->name);
    printf("  ");
    put_clean(base_name(fn->file));
    printf(":%u\n", fn->line);
}

static void
print_only(const char *which, const ml_diff_function *fs, size_t n, size_t top)
{
    if (n == 0) {
        return;
    }
    printf("\nonly in %s (%zu)\n  %9s %9s  function\n", which, n, "self s",
           "total s");
    for (size_t i = 0; i < n && i < top; i++) {
        const ml_diff_function *f = &fs[i];
        const ml_summary_function *fn = either(f);
        printf("  %9.3f %9.3f  ", f->a ? f->self_a : f->self_b,
               f->a ? f->total_a : f->total_b);
        put_clean(fn->name);
        printf("  ");
        put_clean(base_name(fn->file));
        printf(":%u\n", fn->line);
    }
}

static void
print_text(const ml_diff *d, const char *pa, const ml_summary *a,
           const char *pb, const ml_summary *b, size_t top)
{
    print_run("A", pa, a, d->running_a);
    print_run("B", pb, b, d->running_b);
    double dt = d->duration_b - d->duration_a;
    printf("\ntotal time  %.3f s -> %.3f s (%+.3f s", d->duration_a,
           d->duration_b, dt);
    if (d->duration_a > 0) {
        printf(", %+.1f%%", 100.0 * dt / d->duration_a);
    }
    printf(")\nrunning     %.3f s -> %.3f s (%+.3f s)\n", d->running_a,
           d->running_b, d->running_b - d->running_a);
    if (d->nfunctions > 0) {
        printf("\nfunctions in both, largest change in self time first\n"
               "  %9s %9s %9s %9s  %7s %7s %6s  function\n",
               "self A s", "self B s", "change", "total chg", "share A",
               "share B", "pp");
        for (size_t i = 0; i < d->nfunctions && i < top; i++) {
            print_function(&d->functions[i]);
        }
    }
    print_only("A", d->only_a, d->nonly_a, top);
    print_only("B", d->only_b, d->nonly_b, top);
}

static json_t *
function_json(const ml_diff_function *f, int *failed)
{
    const ml_summary_function *fn = either(f);
    json_t *o = json_object();
    ml_json_put(o, "name", ml_json_text(fn->name), failed);
    ml_json_put(o, "file", ml_json_text(fn->file), failed);
    ml_json_put(o, "line", json_integer(fn->line), failed);
    ml_json_put(o, "share_a", f->a ? ml_json_real(f->share_a) : json_null(),
                failed);
    ml_json_put(o, "share_b", f->b ? ml_json_real(f->share_b) : json_null(),
                failed);
    ml_json_put(o, "share_change", ml_json_real(f->share_b - f->share_a),
                failed);
    ml_json_put(o, "self_a_s", f->a ? ml_json_real(f->self_a) : json_null(),
                failed);
    ml_json_put(o, "self_b_s", f->b ? ml_json_real(f->self_b) : json_null(),
                failed);
    ml_json_put(o, "self_change_s", ml_json_real(f->self_b - f->self_a),
                failed);
    ml_json_put(o, "total_a_s", f->a ? ml_json_real(f->total_a) : json_null(),
                failed);
    ml_json_put(o, "total_b_s", f->b ? ml_json_real(f->total_b) : json_null(),
                failed);
    return o;
}

static json_t *
list_json(const ml_diff_function *fs, size_t n, int *failed)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        ml_json_append(arr, function_json(&fs[i], failed), failed);
    }
    return arr;
}

static json_t *
run_json(const char *path, const ml_summary *s, double running, int *failed)
{
    json_t *o = json_object();
    ml_json_put(o, "file", ml_json_text(path), failed);
    ml_json_put(o, "label", ml_json_text(ml_summary_meta_str(s, "label")),
                failed);
    ml_json_put(o, "duration_s", ml_json_real((double)s->duration_us / 1e6),
                failed);
    ml_json_put(o, "running_s", ml_json_real(running), failed);
    ml_json_put(o, "complete", json_boolean(s->complete), failed);
    return o;
}

static int
print_json(const ml_diff *d, const char *pa, const ml_summary *a,
           const char *pb, const ml_summary *b)
{
    int failed = 0;
    json_t *o = json_object();
    ml_json_put(o, "a", run_json(pa, a, d->running_a, &failed), &failed);
    ml_json_put(o, "b", run_json(pb, b, d->running_b, &failed), &failed);
    ml_json_put(o, "duration_change_s",
                ml_json_real(d->duration_b - d->duration_a), &failed);
    ml_json_put(o, "running_change_s",
                ml_json_real(d->running_b - d->running_a), &failed);
    ml_json_put(o, "functions",
                list_json(d->functions, d->nfunctions, &failed), &failed);
    ml_json_put(o, "only_in_a", list_json(d->only_a, d->nonly_a, &failed),
                &failed);
    ml_json_put(o, "only_in_b", list_json(d->only_b, d->nonly_b, &failed),
                &failed);
    if (failed || o == NULL
        || json_dumpf(o, stdout,
                      JSON_INDENT(2) | JSON_PRESERVE_ORDER
                          | JSON_REAL_PRECISION(12))
               < 0) {
        json_decref(o);
        fprintf(stderr, "microlog diff: out of memory\n");
        return 1;
    }
    json_decref(o);
    putchar('\n');
    return 0;
}

int
ml_cli_diff(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"top", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int json = 0, c;
    long top = -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 't':
            errno = 0;
            top = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || top < 0) {
                fprintf(stderr,
                        "microlog diff: --top needs a number >= 0, not "
                        "'%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            ml_cli_diff_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog diff: unknown option or missing value: "
                    "'%s'\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "microlog diff: expected two files, A and B\n");
        ml_cli_diff_usage(stderr);
        return 2;
    }
    const char *pa = argv[optind], *pb = argv[optind + 1];
    ml_summary *a = NULL, *b = NULL;
    ml_diff *d = NULL;
    int status = ml_cli_show_load(pa, &a);
    if (status < 0) {
        status = ml_cli_show_load(pb, &b);
    }
    if (status < 0) {
        if (ml_diff_build(a, b, &d) < 0) {
            fprintf(stderr, "microlog diff: out of memory\n");
            status = 1;
        } else if (json) {
            status = print_json(d, pa, a, pb, b);
        } else {
            print_text(d, pa, a, pb, b, top < 0 ? DEFAULT_TOP : (size_t)top);
            status = 0;
        }
    }
    if (status == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        status = 1;
    }
    ml_diff_free(d);
    ml_summary_free(a);
    ml_summary_free(b);
    return status;
}
