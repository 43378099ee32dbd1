// SPDX-License-Identifier: MIT
// Fuzz target: the server's request handling (ml_app_handle), as
// libmicrohttpd hands requests over: a method, a decoded path, query
// parameters and three headers. The input is text: the first line is the
// method, the second the path, then one "key=value" parameter per line, or
// "H:authorization: ...", "H:cookie: ...", "H:host: ...". The first byte's
// low bit picks a server with a token. Every answer must be a status from
// 200 to 599 with a body that, when JSON, parses. A folder with a good,
// a truncated and a garbage recording is made once, in /tmp.
// Replayed over tests/fuzz/corpus/request/.
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/ml_writer.h"
#include "server/ml_app.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_request: %s:%d: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

static ml_app *apps[2];

/* Two threads, nested stacks, logs, a series and timed calls. */
static void
write_recording(const char *path, int cut)
{
    ml_writer *w;
    CHECK(ml_writer_open(path, NULL, &w) == 0);
    uint32_t s[6], fr[4], st[4], th[2], series;
    const char *names[] = {"main", "work", "C.step", "/app/m.py", "T", "cpu"};
    for (int i = 0; i < 6; i++) {
        ml_writer_string(w, names[i], strlen(names[i]), &s[i]);
    }
    for (int i = 0; i < 3; i++) {
        ml_writer_frame(w, s[i], s[3], 10 * (i + 1), 10 * i, &fr[i]);
    }
    ml_writer_stack(w, 0, fr[0], &st[0]);
    ml_writer_stack(w, st[0], fr[1], &st[1]);
    ml_writer_stack(w, st[1], fr[2], &st[2]);
    ml_writer_stack(w, st[0], fr[2], &st[3]);
    ml_writer_thread(w, 0, 1, 1, s[4], &th[0]);
    ml_writer_thread(w, 0, 2, 2, s[4], &th[1]);
    ml_writer_series(w, ML_SERIES_STATUS, s[5], s[4], &series);
    for (uint64_t k = 0; k < 3000; k++) {
        uint32_t stack = st[(k / 7 + k / 100) % 4];
        ml_writer_sample(w, th[0], k * 1000, stack,
                         k % 3 ? ML_STATE_RUNNING : 0);
        ml_writer_sample(w, th[1], k * 1000 + 5, st[k / 500 % 4],
                         ML_STATE_RUNNING);
        if (k % 100 == 0) {
            ml_value v = {ML_TAG_F64, {.f = (double)(k % 37)}};
            ml_writer_value(w, series, k * 1000, &v);
            ml_log l = {
                k * 1000,       th[0], 20 + (uint32_t)(k % 3) * 10,
                ML_LOG_LOGGING, stack, {(const uint8_t *)"step **done**", 13}};
            ml_writer_log(w, &l);
            ml_span sp = {k + 1,       0,      th[1],     k * 1000,
                          1000000 + k, 500000, -3,        s[1],
                          s[3],        20,     {NULL, 0}, {NULL, 0}};
            ml_writer_span(w, &sp);
        }
        if (k % 1000 == 999) {
            ml_writer_flush(w);
        }
    }
    ml_writer_end(w, 3000000, 0);
    CHECK(ml_writer_close(w) == 0);
    if (cut) {
        struct stat stt;
        CHECK(stat(path, &stt) == 0);
        CHECK(truncate(path, stt.st_size - 40) == 0);
    }
}

static void
setup(void)
{
    /* POST explain must never reach a real model from a fuzz run. */
    unsetenv("MICROLOG_LLM_URL");
    unsetenv("MICROLOG_LLM_MODEL");
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/ml_fuzz_request_%d", getpid());
    mkdir(dir, 0700);
    const char *labels[] = {"gen", "cut", "bad"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, labels[i]);
        mkdir(path, 0700);
        snprintf(path, sizeof path, "%s/%s/run1.mlog", dir, labels[i]);
        unlink(path);
        if (i < 2) {
            write_recording(path, i == 1);
        } else {
            FILE *f = fopen(path, "wb");
            CHECK(f != NULL);
            fputs("\x89MLOG\r\n\x1a\x01\x00\x00\x00\x00\x00\x00\x00garbage",
                  f);
            fclose(f);
        }
    }
    for (int i = 0; i < 2; i++) {
        ml_app_options o = {dir,    i ? "tok" : NULL, NULL,
                            i == 0, 64u << 20,        NULL};
        CHECK(ml_app_new(&o, &apps[i]) == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (apps[0] == NULL) {
        setup();
    }
    if (size == 0 || size > 8192) {
        return 0;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    ml_app_param params[ML_APP_MAX_PARAMS];
    ml_app_request req = {
        .method = "GET", .path = "/", .params = params, .host = "127.0.0.1"};
    char *save = NULL;
    int line = 0;
    for (char *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save), line++) {
        if (line == 0) {
            req.method = l;
        } else if (line == 1) {
            req.path = l;
        } else if (strncmp(l, "H:authorization: ", 17) == 0) {
            req.authorization = l + 17;
        } else if (strncmp(l, "H:cookie: ", 10) == 0) {
            req.cookie = l + 10;
        } else if (strncmp(l, "H:host: ", 8) == 0) {
            req.host = l + 8;
        } else if (strncmp(l, "H:content-type: ", 16) == 0) {
            req.content_type = l + 16;
        } else if (strncmp(l, "H:origin: ", 10) == 0) {
            req.origin = l + 10;
        } else if (req.nparams < ML_APP_MAX_PARAMS) {
            char *eq = strchr(l, '=');
            if (eq) {
                *eq = '\0';
            }
            params[req.nparams].key = l;
            params[req.nparams].value = eq ? eq + 1 : NULL;
            req.nparams++;
        }
    }
    ml_app_response res;
    ml_app_handle(apps[data[0] & 1], &req, &res);
    CHECK(res.status >= 200 && res.status < 600);
    if (res.content_type
        && strncmp(res.content_type, "application/json", 16) == 0) {
        json_error_t e;
        json_t *j = json_loadb(res.body, res.len, 0, &e);
        CHECK(j != NULL || res.len == 0);
        json_decref(j);
    }
    ml_app_response_free(&res);
    free(text);
    return 0;
}
