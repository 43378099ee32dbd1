// SPDX-License-Identifier: MIT
// `microlog export` (ml_cli_export.h): parses the options into
// ml_export_options and runs the exporter to stdout or -o OUT. A failed
// export removes the OUT it began.
#define _GNU_SOURCE
#include "ml_cli_export.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_error.h"
#include "export/ml_export.h"

void
ml_cli_export_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog export --format F [--thread T] [--from S] "
            "[--to S] [--idle]\n"
            "                       [--aggregate] FILE [-o OUT]\n\n"
            "Writes the recording FILE in another tool's format "
            "(docs/EXPORT.md):\n"
            "  collapsed   folded stacks 'root;...;leaf count' "
            "(flamegraph.pl, speedscope)\n"
            "  speedscope  speedscope JSON, per thread a wall-time and a "
            "running profile\n"
            "  pprof       gzipped profile.proto (go tool pprof): samples, "
            "cpu and wall\n"
            "  chrome      Chrome Trace Event JSON (Perfetto, "
            "chrome://tracing)\n"
            "  json        the whole decoded recording\n"
            "  csv         one row per timed call (--aggregate: per "
            "function)\n\n"
            "  --format F    one of the formats above\n"
            "  --thread T    only the thread with this id or name\n"
            "  --from S      start of the range, seconds since the run's "
            "start\n"
            "  --to S        end of the range (exclusive)\n"
            "  --idle        collapsed: waiting samples too (default: "
            "running only)\n"
            "  --aggregate   csv: one row per function\n"
            "  -o OUT        write to OUT instead of stdout\n"
            "  -h, --help    show this help\n\n"
            "Exit status: 0 on success (also when the last chunk is cut "
            "off: a warning\nsays what was lost), 1 when part of the file "
            "is damaged (the readable\npart is exported) or output fails, "
            "2 for an unknown format, thread or\nrange, or a file that "
            "cannot be read.\n");
}

/* Seconds to microseconds; -1 for what is not a number >= 0. */
static int64_t
parse_seconds(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0
        || v > 1e12) {
        return -1;
    }
    return (int64_t)(v * 1e6 + 0.5);
}

int
ml_cli_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"thread", required_argument, NULL, 't'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"idle", no_argument, NULL, 'i'},
        {"aggregate", no_argument, NULL, 'a'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    ml_export_options o;
    const char *format = NULL, *out_path = NULL;
    ml_export_options_init(&o);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        int64_t us;
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 't':
            o.thread = optarg;
            break;
        case 'F':
        case 'T':
            if ((us = parse_seconds(optarg)) < 0) {
                fprintf(stderr,
                        "microlog export: --%s needs seconds >= 0, not "
                        "'%s'\n",
                        c == 'F' ? "from" : "to", optarg);
                return 2;
            }
            *(c == 'F' ? &o.from : &o.to) = (uint64_t)us;
            break;
        case 'i':
            o.idle = 1;
            break;
        case 'a':
            o.aggregate = 1;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            ml_cli_export_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog export: unknown option or missing value: "
                    "'%s'\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "microlog export: expected exactly one FILE (see "
                        "microlog help export)\n");
        return 2;
    }
    const char *path = argv[optind];
    if (format == NULL) {
        fprintf(stderr, "microlog export: --format is needed: collapsed, "
                        "speedscope, pprof, chrome, json or csv\n");
        return 2;
    }
    if ((o.format = ml_export_format_parse(format)) < 0) {
        fprintf(stderr,
                "microlog export: unknown format '%s' (collapsed, "
                "speedscope, pprof, chrome, json, csv)\n",
                format);
        return 2;
    }
    if (o.aggregate && o.format != ML_EXPORT_CSV) {
        fprintf(stderr, "microlog export: --aggregate is for --format "
                        "csv\n");
        return 2;
    }
    FILE *out = stdout;
    if (out_path != NULL && (out = fopen(out_path, "wb")) == NULL) {
        fprintf(stderr, "microlog export: %s: %s\n", out_path,
                strerror(errno));
        return 2;
    }
    ml_export_result res;
    char why[512];
    int err = ml_export_run(path, &o, out, &res, why, sizeof why);
    int status = 0;
    if (err == ML_ENOMEM) {
        fprintf(stderr, "microlog export: %s: out of memory\n", path);
        status = 1;
    } else if (err == ML_EIO && strncmp(why, "cannot write", 12) == 0) {
        fprintf(stderr, "microlog export: %s\n", why);
        status = 1;
    } else if (err < 0) {
        fprintf(stderr, "microlog export: %s: %s\n", path,
                why[0] ? why : ml_strerror(err));
        status = 2;
    } else if (res.lost) {
        fprintf(stderr, "microlog export: %s: warning: %s\n", path,
                res.message);
        status = res.truncated ? 0 : 1;
    }
    if (out != stdout) {
        if (fclose(out) != 0 && status == 0) {
            fprintf(stderr, "microlog export: %s: %s\n", out_path,
                    strerror(errno));
            status = 1;
        }
        if (err < 0) {
            unlink(out_path);
        }
    }
    return status;
}
