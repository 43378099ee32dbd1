// SPDX-License-Identifier: MIT
// The sending threads for Python (see ml_shipper.h): one sender per file of
// the recording. When the recorder goes on in a new linked file (a
// rollover), the file listener hands the old file's sender its end and
// starts one for the new file, under a run id and name of its own, so each
// file is its own run in the store, linked by its META.
#include "ml_shipper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_uuid.h"
#include "net/ml_ship.h"

#define MAX_FILES 256

/* What every file's sender shares (copied: the caller's strings go). */
typedef struct {
    char *server, *token, *s3_root, *s3_region, *host;
} shared_config;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static ml_ship *ships[MAX_FILES]; /* the last one sends the current file */
static size_t nships;
static shared_config shared;
static int atfork_done;
static ml_shipper_listen_fn listen_files;

void
ml_shipper_set_listen(ml_shipper_listen_fn listen)
{
    listen_files = listen;
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void
shared_free(void)
{
    free(shared.server);
    free(shared.token);
    free(shared.s3_root);
    free(shared.s3_region);
    free(shared.host);
    memset(&shared, 0, sizeof shared);
}

/* A forked child has no sending threads: forget the parent's (their
 * memory is not freed: the threads they describe do not exist here). */
static void
forget_in_child(void)
{
    pthread_mutex_init(&lock, NULL);
    nships = 0;
    memset(&shared, 0, sizeof shared);
}

static int
new_sender(const char *path, const char *run_id, const char *name,
           int64_t start_us, ml_ship **out, char *why, size_t why_len)
{
    ml_ship_config c = {.path = path,
                        .server = shared.server,
                        .token = shared.token,
                        .s3_root = shared.s3_root,
                        .s3_region = shared.s3_region,
                        .run_id = run_id,
                        .name = name,
                        .host = shared.host,
                        .start_unix_us = start_us};
    int rc = ml_ship_new(&c, out, why, why_len);
    if (rc == ML_OK && (rc = ml_ship_start(*out)) != ML_OK) {
        ml_ship_free(*out);
        snprintf(why, why_len, "cannot start a thread");
    }
    return rc;
}

/* From the recorder's writer thread: quick, no GIL, no waiting. */
static void
on_file(void *ctx, const char *path, int event)
{
    (void)ctx;
    pthread_mutex_lock(&lock);
    ml_ship *cur = nships ? ships[nships - 1] : NULL;
    if (event == ML_FILE_CLOSED && cur != NULL) {
        ml_ship_end(cur); /* its thread sends the rest with the end */
    } else if (event == ML_FILE_OPENED && cur != NULL && nships < MAX_FILES) {
        /* The recording goes on in a new file: a run of its own. */
        uint8_t id[16];
        char run_id[ML_UUID_TEXT], name[256], why[512];
        ml_uuid_v7(ml_clock_wall_ns() / 1000000u, id);
        ml_uuid_format(id, run_id);
        ml_ship_name_from_path(path, name, sizeof name);
        ml_ship *next;
        if (new_sender(path, run_id, name,
                       (int64_t)(ml_clock_wall_ns() / 1000u), &next, why,
                       sizeof why)
            == ML_OK) {
            ships[nships++] = next;
        } else {
            fprintf(stderr, "microlog: %s is not sent: %s\n", path, why);
        }
    }
    pthread_mutex_unlock(&lock);
}

PyObject *
ml_shipper_start(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kw[] = {"path",   "server", "token", "s3_root",  "s3_region",
                         "run_id", "name",   "host",  "start_us", NULL};
    const char *path, *server = NULL, *token = NULL, *s3_root = NULL;
    const char *s3_region = NULL, *run_id = NULL, *name = NULL, *host = NULL;
    long long start_us = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|zzzzzzzL", kw, &path,
                                     &server, &token, &s3_root, &s3_region,
                                     &run_id, &name, &host, &start_us)) {
        return NULL;
    }
    pthread_mutex_lock(&lock);
    int busy = nships != 0;
    pthread_mutex_unlock(&lock);
    if (busy) {
        PyErr_SetString(PyExc_RuntimeError, "microlog: already sending");
        return NULL;
    }
    shared = (shared_config){dup_or_null(server), dup_or_null(token),
                             dup_or_null(s3_root), dup_or_null(s3_region),
                             dup_or_null(host)};
    char why[512];
    ml_ship *s;
    if (new_sender(path, run_id, name, start_us, &s, why, sizeof why)
        != ML_OK) {
        shared_free();
        PyErr_Format(PyExc_ValueError, "microlog: %s", why);
        return NULL;
    }
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, forget_in_child);
        atfork_done = 1;
    }
    pthread_mutex_lock(&lock);
    ships[0] = s;
    nships = 1;
    pthread_mutex_unlock(&lock);
    listen_files(on_file, NULL);
    Py_RETURN_NONE;
}

/* ship_stop(timeout_s) -> (stored, acked_bytes, why): stops the threads
 * and sends the rest of every file, without the GIL, for at most
 * timeout_s seconds in all. */
PyObject *
ml_shipper_stop(PyObject *module, PyObject *args)
{
    (void)module;
    double timeout_s = 10;
    if (!PyArg_ParseTuple(args, "|d", &timeout_s)) {
        return NULL;
    }
    /* Returns once no call of the listener runs: the list is ours. */
    listen_files(NULL, NULL);
    pthread_mutex_lock(&lock);
    size_t n = nships;
    nships = 0;
    pthread_mutex_unlock(&lock);
    if (n == 0) {
        Py_RETURN_NONE;
    }
    char why[512] = "", one[512];
    int ok = 1;
    unsigned long long acked = 0;
    Py_BEGIN_ALLOW_THREADS;
    uint64_t deadline =
        ml_clock_mono_ns() / 1000000u + (uint64_t)(timeout_s * 1000);
    for (size_t i = 0; i < n; i++) {
        uint64_t now = ml_clock_mono_ns() / 1000000u;
        long left = now < deadline ? (long)(deadline - now) : 1;
        if (ml_ship_stop(ships[i], left, one, sizeof one) != ML_OK) {
            ok = 0;
            snprintf(why, sizeof why, "%s", one);
        }
        acked += ml_ship_acked(ships[i]);
        ml_ship_free(ships[i]);
    }
    Py_END_ALLOW_THREADS;
    shared_free();
    return Py_BuildValue("(OKs)", ok ? Py_True : Py_False, acked, why);
}
