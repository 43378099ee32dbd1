// SPDX-License-Identifier: MIT
// `microlog show`: opens a recording, builds its summary (ml_summary.h) and
// prints it as text or, with --json, as one JSON object made with jansson.
// Exit status 2 for unreadable or malformed files (ml_cli_show.h).
#define _GNU_SOURCE
#include "ml_cli_show.h"

#include "analysis/ml_summary_json.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/ml_summary.h"
#include "core/ml_error.h"
#include "format/ml_reader.h"

#define DEFAULT_TOP 15

typedef struct {
    int json;
    long top; /* -1: the default (text: DEFAULT_TOP, JSON: all) */
    const char *path;
} show_options;

void
ml_cli_show_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog show [--json] [--top N] FILE\n\n"
            "Prints a summary of the recording FILE: label, command, Python "
            "version,\nduration, sampling interval, threads, record counts "
            "and the top functions.\n\n"
            "  --json     print one JSON object instead of text\n"
            "  --top N    list the N functions with the most samples "
            "(default %d;\n"
            "             with --json: all)\n"
            "  -h, --help show this help\n\n"
            "Exit status: 0 on success (also for a recording whose last "
            "chunk is\ncut off: a warning goes to stderr), 2 when FILE "
            "cannot be read or is\nmalformed.\n",
            DEFAULT_TOP);
}

/* ---- arguments and errors --------------------------------------------- */

static int
parse_args(int argc, char **argv, show_options *o)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"top", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (show_options){0, -1, NULL};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'j':
            o->json = 1;
            break;
        case 't':
            errno = 0;
            o->top = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || o->top < 0) {
                fprintf(stderr,
                        "microlog show: --top needs a number >= 0, "
                        "not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            ml_cli_show_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog show: unknown option or missing "
                    "value: '%s'\n",
                    argv[optind - 1]);
            ml_cli_show_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "microlog show: expected exactly one FILE\n");
        ml_cli_show_usage(stderr);
        return 2;
    }
    o->path = argv[optind];
    return -1;
}

/* Removes the first occurrence of cut from s, in place. */
static void
remove_text(char *s, const char *cut)
{
    char *p = strstr(s, cut);
    if (p != NULL) {
        size_t n = strlen(cut);
        memmove(p, p + n, strlen(p + n) + 1);
    }
}

/* One line: "microlog: FILE: byte N: message". The reader's messages may
 * already name the offset; it is said once. */
static void
report_reader_error(const char *path, const ml_reader *r)
{
    char msg[512], lead[48], mid[48];
    uint64_t off = ml_reader_error_offset(r);
    snprintf(msg, sizeof msg, "%s", ml_reader_message(r));
    snprintf(lead, sizeof lead, "byte %llu: ", (unsigned long long)off);
    snprintf(mid, sizeof mid, " at byte %llu", (unsigned long long)off);
    if (strncmp(msg, lead, strlen(lead)) == 0) {
        remove_text(msg, lead);
    } else {
        remove_text(msg, mid);
    }
    fprintf(stderr, "microlog: %s: byte %llu: %s\n", path,
            (unsigned long long)off, msg[0] ? msg : "malformed recording");
}

int
ml_cli_show_load(const char *path, ml_summary **out)
{
    ml_reader *r = NULL;
    int status = 2;
    int err = ml_reader_open(path, &r);
    if (r == NULL) {
        const char *why = err == ML_EIO ? strerror(errno) : ml_strerror(err);
        fprintf(stderr, "microlog: %s: %s\n", path, why);
        goto cleanup;
    }
    if (err == 0) {
        err = ml_summary_build(r, out);
    }
    if (err == ML_ENOMEM) {
        fprintf(stderr, "microlog: %s: out of memory\n", path);
        status = 1;
    } else if (err < 0) {
        report_reader_error(path, r);
    } else {
        status = -1;
    }
cleanup:
    ml_reader_free(r);
    return status;
}

static void
warn_truncated(const char *path, const ml_summary *s)
{
    fprintf(stderr,
            "microlog: %s: warning: recording ends inside a chunk at byte "
            "%llu (the process was probably killed); showing the %u "
            "complete chunk%s\n",
            path, (unsigned long long)s->truncated_at, s->chunks,
            s->chunks == 1 ? "" : "s");
}

/* ---- text ------------------------------------------------------------- */

/* Prints s with control characters replaced, so a recording cannot send
 * escape sequences to the terminal. */
static void
put_clean(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        putchar(c < 0x20 || c == 0x7f ? '?' : c);
    }
}

static void
put_field(const char *name, const char *value)
{
    printf("%-10s ", name);
    put_clean(value != NULL ? value : "-");
    putchar('\n');
}

static double
percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void
print_start(const ml_summary *s)
{
    uint64_t ns;
    char buf[64] = "-";
    if (ml_summary_meta_uint(s, "start_unix_ns", &ns) == 0) {
        time_t t = (time_t)(ns / 1000000000u);
        struct tm tm;
        if (localtime_r(&t, &tm) != NULL) {
            strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
        }
    }
    put_field("started", buf);
}

static void
print_process(const ml_summary *s)
{
    uint64_t pid;
    const char *host = ml_summary_meta_str(s, "host");
    printf("%-10s ", "process");
    if (ml_summary_meta_uint(s, "pid", &pid) == 0) {
        printf("pid %llu", (unsigned long long)pid);
    } else {
        printf("pid -");
    }
    if (host != NULL) {
        printf(" on ");
        put_clean(host);
    }
    putchar('\n');
}

static void
print_run(const ml_summary *s)
{
    put_field("label", ml_summary_meta_str(s, "label"));
    put_field("command", ml_summary_meta_str(s, "argv"));
    put_field("python", ml_summary_meta_str(s, "python"));
    print_process(s);
    print_start(s);
    printf("%-10s %.3f s", "duration", (double)s->duration_us / 1e6);
    if (s->complete) {
        printf(" (exit status %lld)\n", (long long)s->exit_status);
    } else {
        printf(" (incomplete: the run has no end record)\n");
    }
    uint64_t req;
    const char *sampler = ml_summary_meta_str(s, "sampler");
    printf("%-10s ", "sampler");
    put_clean(sampler != NULL ? sampler : "-");
    if (ml_summary_meta_uint(s, "interval_us", &req) == 0) {
        printf(", requested %llu us", (unsigned long long)req);
    }
    printf(", achieved %.1f us\n", s->interval_us);
}

static void
print_counts(const ml_summary *s)
{
    printf("%-10s %llu (%llu running)\n", "samples",
           (unsigned long long)s->samples, (unsigned long long)s->running);
    printf("%-10s %llu status, %llu metric, %llu span, %llu report\n",
           "records", (unsigned long long)s->status_records,
           (unsigned long long)s->metric_records,
           (unsigned long long)s->span_records,
           (unsigned long long)s->report_records);
    printf("%-10s %llu", "logs", (unsigned long long)s->log_records);
    const char *sep = " (";
    for (int i = 0; i < ML_LEVEL_COUNT; i++) {
        if (s->log_levels[i] > 0) {
            printf("%s%llu %s", sep, (unsigned long long)s->log_levels[i],
                   ml_summary_level_name(i));
            sep = ", ";
        }
    }
    printf("%s\n", s->log_records ? ")" : "");
    printf("%-10s %llu bytes in %u chunk%s", "file",
           (unsigned long long)s->bytes, s->chunks, s->chunks == 1 ? "" : "s");
    if (s->samples > 0) {
        printf(", %.2f bytes per sample",
               (double)s->bytes / (double)s->samples);
    }
    printf("\n");
}

/* The CPU a thread used, from its samples' CPU shares (format 2.0): its
 * share of the sampled time, and the seconds it stands for. */
static void
print_cpu(const ml_summary *s, const ml_summary_thread *t)
{
    if (t->cpu_known == 0) {
        printf(" %6s %8s", "-", "-");
        return;
    }
    double intervals = (double)t->cpu_15ths / ML_CPU_FULL;
    printf(" %5.1f%% %7.3fs", 100.0 * intervals / (double)t->cpu_known,
           intervals * s->interval_us / 1e6);
}

static void
print_threads(const ml_summary *s)
{
    printf("\nthreads\n  %4s  %-24s %10s %10s %8s %8s %8s %8s %6s %8s\n", "id",
           "name", "native id", "samples", "running", "native", "gil wait",
           "waiting", "cpu", "cpu time");
    for (size_t i = 0; i < s->nthreads; i++) {
        const ml_summary_thread *t = &s->threads[i];
        char name[25];
        snprintf(name, sizeof name, "%s", t->name);
        printf("  %4u  ", t->id);
        put_clean(name);
        uint64_t waiting = t->samples - t->running - t->gil_wait - t->unknown;
        printf("%*s %10llu %10llu %7.1f%% %7.1f%% %7.1f%% %7.1f%%",
               (int)(24 - strlen(name)), "", (unsigned long long)t->native_id,
               (unsigned long long)t->samples, percent(t->running, t->samples),
               percent(t->native, t->samples),
               percent(t->gil_wait, t->samples), percent(waiting, t->samples));
        print_cpu(s, t);
        printf("\n");
    }
    printf("  (cpu: the CPU a thread used in the intervals before its "
           "samples, as a share\n  of them, and as time; - when the "
           "recording does not say)\n");
}

static void
print_functions(const ml_summary *s, long top)
{
    size_t n = s->nfunctions < (size_t)top ? s->nfunctions : (size_t)top;
    if (n == 0) {
        return;
    }
    printf("\ntop %zu function%s, of %llu running samples\n"
           "  %6s %7s  %s\n",
           n, n == 1 ? "" : "s", (unsigned long long)s->running, "self",
           "total", "function");
    for (size_t i = 0; i < n; i++) {
        const ml_summary_function *f = &s->functions[i];
        printf("  %5.1f%% %6.1f%%  ", percent(f->self, s->running),
               percent(f->total, s->running));
        put_clean(f->name);
        printf("  ");
        put_clean(f->file);
        printf(":%u\n", f->line);
    }
}

static void
print_text(const ml_summary *s, const show_options *o)
{
    put_field("recording", o->path);
    print_run(s);
    print_counts(s);
    print_threads(s);
    print_functions(s, o->top < 0 ? DEFAULT_TOP : o->top);
}

/* ---- JSON ------------------------------------------------------------- */

static int
print_json(const ml_summary *s, long top)
{
    json_t *o = ml_summary_to_json(s, top);
    if (o == NULL) {
        fprintf(stderr, "microlog: out of memory\n");
        return 1;
    }
    int err = json_dumpf(o, stdout,
                         JSON_INDENT(2) | JSON_PRESERVE_ORDER
                             | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (err < 0) {
        return 1;
    }
    putchar('\n');
    return 0;
}

/* ---- entry ------------------------------------------------------------ */

int
ml_cli_show(int argc, char **argv)
{
    show_options o;
    ml_summary *s = NULL;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    if ((status = ml_cli_show_load(o.path, &s)) >= 0) {
        return status;
    }
    if (s->truncated) {
        warn_truncated(o.path, s);
    }
    if (o.json) {
        status = print_json(s, o.top);
    } else {
        print_text(s, &o);
        status = 0;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "microlog: cannot write the output: %s\n",
                strerror(errno));
        status = 1;
    }
    ml_summary_free(s);
    return status;
}
