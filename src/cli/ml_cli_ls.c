// SPDX-License-Identifier: MIT
// `microlog ls` (ml_cli_ls.h): walks DIR/LABEL/*.mlog (the layout the
// recorder writes, docs/FORMAT.md), summarizes each file with
// ml_summary_build() and prints one row per run, newest first. A run is
// "live" when it has no END record and its file changed in the last 5
// seconds (the server's rule), "ended" with an END, else "incomplete".
#define _GNU_SOURCE
#include "ml_cli_ls.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "analysis/ml_json.h"
#include "analysis/ml_summary.h"
#include "core/ml_error.h"
#include "format/ml_reader.h"

#define LIVE_SECONDS 5
#define MAX_RUNS 100000

typedef struct {
    char *label;
    char *path;
    uint64_t start_ns; /* start_unix_ns, else the file's mtime */
    uint64_t duration_us;
    uint64_t bytes;
    const char *state; /* live, ended, incomplete, damaged */
    int has_exit;
    int64_t exit_status;
    char *damage; /* the reader's message for a damaged file */
} run_row;

typedef struct {
    run_row *rows;
    size_t n, cap;
} run_list;

void
ml_cli_ls_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog ls [--dir DIR] [--json]\n\n"
            "Lists the recordings under DIR (default $MICROLOG_DIR, else "
            "~/.microlog),\nnewest first: label, start, duration, size, "
            "state (live, ended,\nincomplete, damaged) and exit status.\n\n"
            "  --dir DIR  the recordings folder\n"
            "  --json     print a JSON array instead of the table\n"
            "  -h, --help show this help\n\n"
            "Exit status: 0 on success, 2 when DIR cannot be read.\n");
}

static int
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Fills row from the file at path; 0, or ML_ENOMEM. */
static int
read_row(run_row *row, const struct stat *st)
{
    ml_reader *r = NULL;
    ml_summary *s = NULL;
    row->bytes = (uint64_t)st->st_size;
    row->start_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u
                    + (uint64_t)st->st_mtim.tv_nsec;
    row->state = "damaged";
    int err = ml_reader_open(row->path, &r);
    if (err == 0) {
        err = ml_summary_build(r, &s);
    }
    if (err == ML_ENOMEM) {
        ml_reader_free(r);
        return ML_ENOMEM;
    }
    if (err < 0 || s == NULL) {
        const char *why = r != NULL ? ml_reader_message(r) : strerror(errno);
        row->damage = strdup(why[0] ? why : ml_strerror(err));
        ml_reader_free(r);
        return row->damage != NULL ? 0 : ML_ENOMEM;
    }
    uint64_t ns;
    if (ml_summary_meta_uint(s, "start_unix_ns", &ns) == 0) {
        row->start_ns = ns;
    }
    row->duration_us = s->duration_us;
    if (s->complete) {
        row->state = "ended";
        row->has_exit = 1;
        row->exit_status = s->exit_status;
    } else if (time(NULL) - st->st_mtim.tv_sec <= LIVE_SECONDS) {
        row->state = "live";
    } else {
        row->state = "incomplete";
    }
    ml_summary_free(s);
    ml_reader_free(r);
    return 0;
}

static int
add_run(run_list *l, const char *label, const char *path,
        const struct stat *st)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        run_row *rows = realloc(l->rows, cap * sizeof *rows);
        if (rows == NULL) {
            return ML_ENOMEM;
        }
        l->rows = rows;
        l->cap = cap;
    }
    run_row *row = &l->rows[l->n];
    *row = (run_row){0};
    row->label = strdup(label);
    row->path = strdup(path);
    if (row->label == NULL || row->path == NULL) {
        free(row->label);
        free(row->path);
        return ML_ENOMEM;
    }
    l->n++;
    return read_row(row, st);
}

/* Adds every *.mlog file of dir/label. */
static int
scan_label(run_list *l, const char *dir, const char *label)
{
    char sub[4096], path[8192];
    if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, label) >= sizeof sub) {
        return 0;
    }
    DIR *d = opendir(sub);
    if (d == NULL) {
        return 0;
    }
    int err = 0;
    struct dirent *e;
    while (err == 0 && l->n < MAX_RUNS && (e = readdir(d)) != NULL) {
        struct stat st;
        if (!has_suffix(e->d_name, ".mlog")) {
            continue;
        }
        if ((size_t)snprintf(path, sizeof path, "%s/%s", sub, e->d_name)
            >= sizeof path) {
            continue;
        }
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            err = add_run(l, label, path, &st);
        }
    }
    closedir(d);
    return err;
}

static int
newest_first(const void *a, const void *b)
{
    const run_row *x = a, *y = b;
    if (x->start_ns != y->start_ns) {
        return x->start_ns < y->start_ns ? 1 : -1;
    }
    return strcmp(y->path, x->path);
}

static void
format_start(uint64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;
    snprintf(buf, len, "-");
    if (localtime_r(&t, &tm) != NULL) {
        strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    }
}

static void
format_size(uint64_t bytes, char *buf, size_t len)
{
    if (bytes < 10240) {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    } else if (bytes < 10u << 20) {
        snprintf(buf, len, "%.1f KiB", (double)bytes / 1024.0);
    } else {
        snprintf(buf, len, "%.1f MiB", (double)bytes / 1048576.0);
    }
}

/* Replaces control characters, so a label cannot drive the terminal. */
static void
put_clean(const char *s, int width)
{
    int n = 0;
    for (; *s; s++, n++) {
        unsigned char c = (unsigned char)*s;
        putchar(c < 0x20 || c == 0x7f ? '?' : c);
    }
    for (; n < width; n++) {
        putchar(' ');
    }
}

static void
print_table(const run_list *l)
{
    int w = 5;
    for (size_t i = 0; i < l->n; i++) {
        int n = (int)strlen(l->rows[i].label);
        w = n > w ? (n < 40 ? n : 40) : w;
    }
    put_clean("label", w);
    printf("  %-19s %10s %10s  %-10s %4s  %s\n", "start", "duration", "size",
           "state", "exit", "file");
    for (size_t i = 0; i < l->n; i++) {
        const run_row *r = &l->rows[i];
        char start[32], size[32], exitbuf[24] = "-";
        format_start(r->start_ns, start, sizeof start);
        format_size(r->bytes, size, sizeof size);
        if (r->has_exit) {
            snprintf(exitbuf, sizeof exitbuf, "%lld",
                     (long long)r->exit_status);
        }
        put_clean(r->label, w);
        printf("  %-19s %9.1fs %10s  %-10s %4s  ", start,
               (double)r->duration_us / 1e6, size, r->state, exitbuf);
        put_clean(r->path, 0);
        putchar('\n');
    }
}

static int
print_json(const run_list *l)
{
    int failed = 0;
    json_t *arr = json_array();
    failed = arr == NULL;
    for (size_t i = 0; !failed && i < l->n; i++) {
        const run_row *r = &l->rows[i];
        json_t *o = json_object();
        ml_json_put(o, "label", ml_json_text(r->label), &failed);
        ml_json_put(o, "file", ml_json_text(r->path), &failed);
        ml_json_put(o, "start_unix_ns", ml_json_uint(r->start_ns), &failed);
        ml_json_put(o, "duration_us", ml_json_uint(r->duration_us), &failed);
        ml_json_put(o, "bytes", ml_json_uint(r->bytes), &failed);
        ml_json_put(o, "state", json_string(r->state), &failed);
        ml_json_put(o, "exit_status",
                    r->has_exit ? json_integer(r->exit_status) : json_null(),
                    &failed);
        if (r->damage != NULL) {
            ml_json_put(o, "damage", ml_json_text(r->damage), &failed);
        }
        ml_json_append(arr, o, &failed);
    }
    if (failed || json_dumpf(arr, stdout, JSON_INDENT(2)) < 0) {
        json_decref(arr);
        fprintf(stderr, "microlog ls: out of memory\n");
        return 1;
    }
    json_decref(arr);
    putchar('\n');
    return 0;
}

static void
free_list(run_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].label);
        free(l->rows[i].path);
        free(l->rows[i].damage);
    }
    free(l->rows);
}

int
ml_cli_ls(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            ml_cli_ls_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog ls: unknown option or missing value: '%s'\n",
                    argv[optind - 1]);
            ml_cli_ls_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "microlog ls: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    char home_dir[4096];
    if (dir == NULL) {
        dir = getenv("MICROLOG_DIR");
    }
    if (dir == NULL || dir[0] == '\0') {
        const char *home = getenv("HOME");
        snprintf(home_dir, sizeof home_dir, "%s/.microlog", home ? home : ".");
        dir = home_dir;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "microlog ls: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    run_list l = {0};
    int err = 0;
    struct dirent *e;
    while (err == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            err = scan_label(&l, dir, e->d_name);
        }
    }
    closedir(d);
    int status = 0;
    if (err < 0) {
        fprintf(stderr, "microlog ls: out of memory\n");
        status = 1;
    } else {
        qsort(l.rows, l.n, sizeof *l.rows, newest_first);
        if (json) {
            status = print_json(&l);
        } else {
            print_table(&l);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        status = 1;
    }
    free_list(&l);
    return status;
}
