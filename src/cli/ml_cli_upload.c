// SPDX-License-Identifier: MIT
// `microlog upload` (see ml_cli_upload.h).
#include "ml_cli_upload.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/ml_error.h"
#include "net/ml_ship.h"

/* A file written to in the last few seconds is still being recorded: its
 * own program sends it. */
#define LIVE_SECONDS 5

typedef struct {
    const char *server, *token, *s3_root;
    long timeout_s;
    int force;
} upload_options;

void
ml_cli_upload_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog upload [--server URL] [--token T] "
            "[--s3-root s3://BUCKET/PREFIX]\n"
            "                       [--timeout S] [--force] FILE...\n\n"
            "Sends finished or interrupted recordings to the central store "
            "(docs/STORE.md):\nonly the part the store does not have yet, so "
            "it is safe to run again.\n\n"
            "  --server URL  a `microlog serve --store` server (default "
            "$MICROLOG_SERVER)\n"
            "  --token T     its token (default $MICROLOG_TOKEN)\n"
            "  --s3-root URL without a server: the bucket (default "
            "$MICROLOG_S3_ROOT;\n"
            "                credentials from the AWS variables, region "
            "from\n"
            "                $MICROLOG_S3_REGION or $AWS_REGION)\n"
            "  --timeout S   give up on a file after S seconds of failures "
            "(default 60)\n"
            "  --force       send a file even if it changed in the last "
            "%d seconds\n"
            "  -h, --help    show this help\n",
            LIVE_SECONDS);
}

static int
parse_args(int argc, char **argv, upload_options *o)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"token", required_argument, NULL, 't'},
        {"s3-root", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 'T'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->server = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'r':
            o->s3_root = optarg;
            break;
        case 'f':
            o->force = 1;
            break;
        case 'T':
            errno = 0;
            o->timeout_s = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->timeout_s < 1
                || o->timeout_s > 86400) {
                fprintf(stderr,
                        "microlog upload: --timeout needs seconds "
                        "from 1 to 86400, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            ml_cli_upload_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog upload: unknown option or missing value: "
                    "'%s'\n",
                    argv[optind - 1]);
            ml_cli_upload_usage(stderr);
            return 2;
        }
    }
    if (optind == argc) {
        fprintf(stderr, "microlog upload: no FILE given\n");
        ml_cli_upload_usage(stderr);
        return 2;
    }
    return -1;
}

static const char *
env_or(const char *given, const char *name)
{
    const char *v = given ? given : getenv(name);
    return v && v[0] ? v : NULL;
}

/* 0 when the file is stored, 1 when not (said on stderr). */
static int
upload_one(const upload_options *o, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "microlog upload: %s: no such file\n", path);
        return 1;
    }
    if (!o->force && time(NULL) - st.st_mtime < LIVE_SECONDS) {
        fprintf(stderr,
                "microlog upload: %s is still being written (its program "
                "sends it; --force to send it now)\n",
                path);
        return 1;
    }
    ml_ship_config c = {.path = path,
                        .server = o->server,
                        .token = o->token,
                        .s3_root = o->server ? NULL : o->s3_root,
                        .s3_region = getenv("MICROLOG_S3_REGION")};
    ml_ship *s;
    char why[512];
    if (ml_ship_new(&c, &s, why, sizeof why) != ML_OK) {
        fprintf(stderr, "microlog upload: %s\n", why);
        return 1;
    }
    int rc = ml_ship_finish(s, o->timeout_s * 1000, 0, why, sizeof why);
    if (rc == ML_OK) {
        printf("%s: stored as %s (%llu bytes)\n", path, ml_ship_name(s),
               (unsigned long long)ml_ship_acked(s));
    } else {
        fprintf(stderr, "microlog upload: %s: %s\n", path, why);
    }
    ml_ship_free(s);
    return rc == ML_OK ? 0 : 1;
}

int
ml_cli_upload(int argc, char **argv)
{
    upload_options o = {.timeout_s = 60};
    int status = parse_args(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    o.server = env_or(o.server, "MICROLOG_SERVER");
    o.token = env_or(o.token, "MICROLOG_TOKEN");
    o.s3_root = env_or(o.s3_root, "MICROLOG_S3_ROOT");
    if (o.server == NULL && o.s3_root == NULL) {
        fprintf(stderr, "microlog upload: nowhere to send: give --server "
                        "(or MICROLOG_SERVER) or --s3-root (or "
                        "MICROLOG_S3_ROOT)\n");
        return 2;
    }
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        failed |= upload_one(&o, argv[i]);
    }
    return failed;
}
