// SPDX-License-Identifier: MIT
// `microlog report` (ml_cli_report.h): builds the report (and with
// --baseline the comparison), prints the text and writes DIR/NAME.html,
// NAME being the recording's file name without .mlog.
#define _GNU_SOURCE
#include "ml_cli_report.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/ml_diff.h"
#include "core/ml_error.h"
#include "export/ml_report.h"
#include "ml_cli_show.h"

void
ml_cli_report_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog report [-o DIR] [--baseline A] FILE\n\n"
            "Prints a report of the recording FILE and writes it as one "
            "self-contained\nHTML page with charts (it opens from disk; "
            "nothing is fetched) to\nDIR/NAME.html, NAME the file's name: top "
            "functions, threads, status,\nlogs and errors with their stacks, "
            "timed functions and anomalous calls,\nend-of-run reports.\n\n"
            "  -o DIR        where the HTML goes (default: the current "
            "folder)\n"
            "  --baseline A  add a comparison with the run A (as microlog "
            "diff A FILE)\n"
            "  -h, --help    show this help\n\n"
            "Exit status: 0 on success, 2 when a file cannot be read, 1 when "
            "the\nHTML cannot be written.\n");
}

static char *
html_path(const char *dir, const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".mlog") == 0) {
        n -= 5;
    }
    char *p;
    if (asprintf(&p, "%s/%.*s.html", dir, (int)n, base) < 0) {
        return NULL;
    }
    return p;
}

int
ml_cli_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"baseline", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dir = ".", *base_path = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            dir = optarg;
            break;
        case 'b':
            base_path = optarg;
            break;
        case 'h':
            ml_cli_report_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog report: unknown option or missing value: "
                    "'%s'\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "microlog report: expected exactly one FILE\n");
        ml_cli_report_usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "microlog report: %s is not a folder\n", dir);
        return 2;
    }
    ml_report *rep = NULL;
    ml_summary *base = NULL;
    ml_diff *diff = NULL;
    char why[512], *out_path = NULL;
    int status = 0;
    int err = ml_report_build(path, &rep, why, sizeof why);
    if (err < 0) {
        fprintf(stderr, "microlog report: %s: %s\n", path, why);
        return err == ML_ENOMEM ? 1 : 2;
    }
    if (base_path != NULL) {
        if ((status = ml_cli_show_load(base_path, &base)) >= 0) {
            goto done;
        }
        status = 0;
        if (ml_diff_build(base, rep->summary, &diff) < 0) {
            fprintf(stderr, "microlog report: out of memory\n");
            status = 1;
            goto done;
        }
    }
    if (rep->summary->truncated) {
        fprintf(stderr,
                "microlog report: %s: warning: the recording ends inside a "
                "chunk at byte %llu; reporting what came before\n",
                path, (unsigned long long)rep->summary->truncated_at);
    }
    ml_report_text(rep, diff, stdout);
    out_path = html_path(dir, path);
    FILE *f = out_path ? fopen(out_path, "w") : NULL;
    if (f == NULL) {
        fprintf(stderr, "microlog report: %s: %s\n", out_path ? out_path : dir,
                strerror(errno));
        status = 1;
        goto done;
    }
    ml_report_html(rep, diff, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "microlog report: %s: %s\n", out_path,
                strerror(errno));
        status = 1;
        goto done;
    }
    printf("\nreport: %s\n", out_path);
    if (fflush(stdout) != 0) {
        status = 1;
    }
done:
    free(out_path);
    ml_diff_free(diff);
    ml_summary_free(base);
    ml_report_free(rep);
    return status;
}
