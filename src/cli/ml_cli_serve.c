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

#ifndef ML_SOURCE_UI_DIR
#define ML_SOURCE_UI_DIR ""
#endif

typedef struct {
    const char *dir, *host, *token, *ui;
    long port;
    long memory_mb;
} serve_options;

void
ml_cli_serve_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog serve [--dir DIR] [--host ADDR] [--port N] "
            "[--token T]\n"
            "                      [--ui DIR] [--memory MB]\n\n"
            "Serves the recordings under DIR in the browser UI and as a "
            "JSON API\n(docs/API.md), and prints the URL to open. Stops "
            "cleanly on Ctrl-C\n(SIGINT) or SIGTERM.\n\n"
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        long *num = c == 'p' ? &o->port : c == 'm' ? &o->memory_mb : NULL;
        switch (c) {
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

int
ml_cli_serve(int argc, char **argv)
{
    serve_options o = {NULL, "127.0.0.1", NULL, NULL, 7777, 512};
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
    if (!is_dir(o.dir)) {
        fprintf(stderr, "microlog serve: %s is not a folder\n", o.dir);
        return 2;
    }
    const char *ui = find_ui(o.ui, ui_buf, sizeof ui_buf);
    if (ui == NULL) {
        fprintf(stderr, "microlog serve: no UI bundle found (build it with "
                        "`make web`, or give --ui DIR): serving the API and "
                        "a plain page\n");
    }
    ml_app_options ao = {o.dir, has_token ? o.token : NULL, ui, !has_token,
                         (size_t)o.memory_mb << 20};
    ml_app *app;
    if (ml_app_new(&ao, &app) < 0) {
        fprintf(stderr, "microlog serve: cannot read %s\n", o.dir);
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
    ml_http_options ho = {o.host, (uint16_t)o.port, 4, 256, 64};
    ml_http *http;
    char why[256];
    if (ml_http_start(&ho, app, &http, why, sizeof why) < 0) {
        fprintf(stderr, "microlog serve: %s\n", why);
        ml_app_free(app);
        return 2;
    }
    int v6 = strchr(o.host, ':') != NULL;
    printf("microlog: serving %s at http://%s%s%s:%u/%s%s\n", o.dir,
           v6 ? "[" : "", o.host, v6 ? "]" : "", ml_http_port(http),
           has_token ? "?token=" : "", has_token ? o.token : "");
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    ml_http_stop(http);
    ml_app_free(app);
    printf("microlog: stopped\n");
    return 0;
}
