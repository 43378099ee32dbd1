// SPDX-License-Identifier: MIT
// `microlog serve` (see ml_cli_serve.h): options, the safety rule for the
// address, where the UI comes from, and the wait for a stop signal.
#define _GNU_SOURCE
#include "ml_cli_serve.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/ml_app.h"
#include "server/ml_http.h"
#include "store/ml_store.h"

#ifndef ML_SOURCE_UI_DIR
#define ML_SOURCE_UI_DIR ""
#endif

typedef struct {
    const char *dir, *host, *token, *ui;
    long port;
    long memory_mb;
    const char *store, *db, *cache, *retention;
    long connections;
} serve_options;

void
ml_cli_serve_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog serve [--dir DIR] [--host ADDR] [--port N] "
            "[--token T]\n"
            "                      [--ui DIR] [--memory MB]\n"
            "       microlog serve --store s3://BUCKET[/PREFIX] --db "
            "postgresql://...\n"
            "                      [--cache DIR] [--retention 30d] "
            "[--connections N] ...\n\n"
            "Serves the recordings under DIR in the browser UI and as a "
            "JSON API\n(docs/API.md), and prints the URL to open. Stops "
            "cleanly on Ctrl-C\n(SIGINT) or SIGTERM.\n\n"
            "With --store and --db it serves a central store instead "
            "(docs/STORE.md):\nclients send their runs to POST "
            "/api/ingest (MICROLOG_SERVER=URL), the bytes\ngo to "
            "S3-compatible storage (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY,\nAWS_REGION), the index to "
            "PostgreSQL; any number of servers may share them.\n\n"
            "  --dir DIR    recordings folder (default $MICROLOG_DIR, else "
            "~/.microlog)\n"
            "  --host ADDR  address to listen on (default 127.0.0.1); any "
            "address other\n"
            "               than loopback needs a token\n"
            "  --port N     port (default 7777; 0 picks a free one)\n"
            "  --token T    every request must carry T (default "
            "$MICROLOG_TOKEN); the\n"
            "               printed URL sets it as a cookie when opened "
            "once\n"
            "  --ui DIR     the UI bundle (default $MICROLOG_UI_DIR, the "
            "installed one,\n"
            "               or the source tree's build/web)\n"
            "  --memory MB  memory for open recordings' indexes (default "
            "512)\n"
            "  --store URL  s3://BUCKET[/PREFIX]: keep runs in object "
            "storage\n"
            "  --db URL     the PostgreSQL index (libpq connection "
            "string)\n"
            "  --cache DIR  local copies of viewed runs (default: a new "
            "temporary folder)\n"
            "  --retention AGE  remove runs older than AGE (30d, 12h, "
            "90m; default: keep)\n"
            "  --connections N  open connections before 503 (default "
            "256; clients\n"
            "               streaming to a store keep one each)\n"
            "  -h, --help   show this help\n");
}

static int
parse_args(int argc, char **argv, serve_options *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"token", required_argument, NULL, 't'},
        {"ui", required_argument, NULL, 'u'},
        {"memory", required_argument, NULL, 'm'},
        {"store", required_argument, NULL, 'S'},
        {"db", required_argument, NULL, 'D'},
        {"cache", required_argument, NULL, 'C'},
        {"retention", required_argument, NULL, 'R'},
        {"connections", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        long *num = c == 'p' ? &o->port : c == 'm' ? &o->memory_mb : NULL;
        switch (c) {
        case 'S':
            o->store = optarg;
            break;
        case 'D':
            o->db = optarg;
            break;
        case 'C':
            o->cache = optarg;
            break;
        case 'R':
            o->retention = optarg;
            break;
        case 'N':
            o->connections = strtol(optarg, &end, 10);
            if (*end || end == optarg || o->connections < 1
                || o->connections > 1800) {
                fprintf(stderr,
                        "microlog serve: --connections needs a "
                        "number from 1 to 1800, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'u':
            o->ui = optarg;
            break;
        case 'p':
        case 'm':
            errno = 0;
            *num = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || *num < 0
                || (c == 'p' && *num > 65535) || (c == 'm' && *num < 16)) {
                fprintf(stderr, "microlog serve: --%s needs %s, not '%s'\n",
                        c == 'p' ? "port" : "memory",
                        c == 'p' ? "a port from 0 to 65535"
                                 : "a number of MB >= 16",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            ml_cli_serve_usage(stdout);
            return 0;
        default:
            fprintf(stderr,
                    "microlog serve: unknown option or missing value: "
                    "'%s'\n",
                    argv[optind - 1]);
            ml_cli_serve_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "microlog serve: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    return -1;
}

static int
is_dir(const char *p)
{
    struct stat st;
    return p && p[0] && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The UI bundle: --ui, $MICROLOG_UI_DIR, next to the installed program,
 * or the source tree's build. NULL when none has an index.html. */
static const char *
find_ui(const char *given, char *buf, size_t cap)
{
    if (given) {
        return given;
    }
    const char *env = getenv("MICROLOG_UI_DIR");
    if (env && env[0]) {
        return env;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if ((size_t)snprintf(buf, cap, "%.3900s/../share/microlog/ui", exe)
                >= cap) {
                return NULL;
            }
            char probe[PATH_MAX + 16];
            snprintf(probe, sizeof probe, "%s/index.html", buf);
            if (access(probe, R_OK) == 0) {
                return buf;
            }
        }
    }
    return is_dir(ML_SOURCE_UI_DIR) ? ML_SOURCE_UI_DIR : NULL;
}

/* "30d", "12h", "90m", "45s": seconds, or -1. */
static int64_t
parse_age(const char *s)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    int64_t unit = *end == 'd'   ? 86400
                   : *end == 'h' ? 3600
                   : *end == 'm' ? 60
                   : *end == 's' ? 1
                                 : 0;
    if (errno || end == s || n <= 0 || unit == 0 || end[1] != '\0'
        || n > INT64_C(1) << 40) {
        return -1;
    }
    return (int64_t)n * unit;
}

/* Opens the central store when asked: 0 (nothing asked or opened), or 2
 * after saying why it cannot be. */
static int
open_store(const serve_options *o, char *cache, size_t cache_len,
           ml_store **out)
{
    *out = NULL;
    if (o->store == NULL && o->db == NULL) {
        return 0;
    }
    if (o->store == NULL || o->db == NULL) {
        fprintf(stderr, "microlog serve: --store and --db go together\n");
        return 2;
    }
    int64_t retention = 0;
    if (o->retention && (retention = parse_age(o->retention)) < 0) {
        fprintf(stderr,
                "microlog serve: --retention needs an age such as 30d, "
                "12h or 90m, not '%s'\n",
                o->retention);
        return 2;
    }
    if (o->cache) {
        snprintf(cache, cache_len, "%s", o->cache);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(cache, cache_len, "%s/microlog-cache-XXXXXX",
                 tmp && tmp[0] ? tmp : "/tmp");
        if (mkdtemp(cache) == NULL) {
            fprintf(stderr, "microlog serve: cannot make a cache folder\n");
            return 2;
        }
    }
    ml_store_options so = {.url = o->store,
                           .db = o->db,
                           .cache_dir = cache,
                           .retention_s = retention,
                           .create_bucket =
                               getenv("MICROLOG_CREATE_BUCKET") != NULL};
    char why[512];
    if (ml_store_open(&so, out, why, sizeof why) != 0) {
        fprintf(stderr, "microlog serve: %s\n", why);
        return 2;
    }
    return 0;
}

int
ml_cli_serve(int argc, char **argv)
{
    serve_options o = {NULL, "127.0.0.1", NULL, NULL, 7777, 512,
                       NULL, NULL,        NULL, NULL, 256};
    int status = parse_args(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    char home_dir[PATH_MAX], ui_buf[PATH_MAX];
    if (o.dir == NULL) {
        o.dir = getenv("MICROLOG_DIR");
    }
    if (o.dir == NULL || o.dir[0] == '\0') {
        const char *home = getenv("HOME");
        snprintf(home_dir, sizeof home_dir, "%s/.microlog", home ? home : ".");
        mkdir(home_dir, 0700); /* the default folder may not exist yet */
        o.dir = home_dir;
    }
    if (o.token == NULL) {
        o.token = getenv("MICROLOG_TOKEN");
    }
    int has_token = o.token && o.token[0];
    if (!ml_http_is_loopback(o.host) && !has_token) {
        fprintf(stderr,
                "microlog serve: refusing to serve %s without a token: "
                "give --token T or set MICROLOG_TOKEN\n",
                o.host);
        return 2;
    }
    char cache[PATH_MAX];
    ml_store *store = NULL;
    if (open_store(&o, cache, sizeof cache, &store) != 0) {
        return 2;
    }
    if (store != NULL) {
        o.dir = cache; /* the views read the store's local copies */
    }
    if (!is_dir(o.dir)) {
        fprintf(stderr, "microlog serve: %s is not a folder\n", o.dir);
        ml_store_free(store);
        return 2;
    }
    const char *ui = find_ui(o.ui, ui_buf, sizeof ui_buf);
    if (ui == NULL) {
        fprintf(stderr, "microlog serve: no UI bundle found (build it with "
                        "`make web`, or give --ui DIR): serving the API and "
                        "a plain page\n");
    }
    ml_app_options ao = {o.dir,      has_token ? o.token : NULL, ui,
                         !has_token, (size_t)o.memory_mb << 20,  store};
    ml_app *app;
    if (ml_app_new(&ao, &app) < 0) {
        fprintf(stderr, "microlog serve: cannot read %s\n", o.dir);
        ml_store_free(store);
        return 2;
    }
    /* Signals are taken by this thread only: the server's threads start
     * with them blocked. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    ml_http_options ho = {o.host, (uint16_t)o.port, 4, (unsigned)o.connections,
                          64};
    ml_http *http;
    char why[256];
    if (ml_http_start(&ho, app, &http, why, sizeof why) < 0) {
        fprintf(stderr, "microlog serve: %s\n", why);
        ml_app_free(app);
        ml_store_free(store);
        return 2;
    }
    int v6 = strchr(o.host, ':') != NULL;
    printf("microlog: serving %s at http://%s%s%s:%u/%s%s\n",
           store ? o.store : o.dir, v6 ? "[" : "", o.host, v6 ? "]" : "",
           ml_http_port(http), has_token ? "?token=" : "",
           has_token ? o.token : "");
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    ml_store_drain(store); /* uploads taken are answered first */
    usleep(store ? 200000 : 0);
    ml_http_stop(http);
    ml_app_free(app);
    ml_store_free(store); /* stores what it holds before it goes */
    printf("microlog: stopped\n");
    return 0;
}
