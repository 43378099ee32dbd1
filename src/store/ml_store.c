// SPDX-License-Identifier: MIT
// The central store's parts put together (see ml_store.h).
#include "ml_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "net/ml_s3.h"
#include "store/ml_compactor.h"
#include "store/ml_mirror.h"

struct ml_store {
    char *url, *bucket, *prefix, *db;
    ml_s3 *s3;
    ml_catalog *catalog;
    ml_segwriter *writer;
    ml_compactor *compactor;
    ml_mirror *mirror;
    ml_catalog_listener *listener;
    pthread_t listen_thread;
    int listening;
    volatile int stopping;
};

/* Follows the catalog's notifications for the mirror. */
static void *
listen_main(void *arg)
{
    ml_store *s = arg;
    char payload[256];
    while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
        int rc =
            ml_catalog_listen_wait(s->listener, 250, payload, sizeof payload);
        if (rc == 1) {
            ml_mirror_notify(s->mirror, payload);
        } else if (rc < 0) {
            usleep(250000); /* the database is away; it reconnects */
        }
    }
    return NULL;
}

static int
open_s3(ml_store *s, const ml_store_options *o, char *why, size_t why_len)
{
    if (ml_s3_parse_url(o->url, &s->bucket, &s->prefix) != ML_OK) {
        snprintf(why, why_len, "--store %s: expected s3://BUCKET[/PREFIX]",
                 o->url);
        return ML_EINVAL;
    }
    ml_s3_config c;
    int rc = ml_s3_config_from_env(&c, why, why_len);
    if (rc == ML_OK) {
        rc = ml_s3_new(&c, &s->s3);
    }
    if (rc == ML_OK && o->create_bucket) {
        rc = ml_s3_create_bucket(s->s3, s->bucket, why, why_len);
    }
    /* A signed request now makes a wrong key or endpoint a start-up
     * error rather than every client's. */
    if (rc == ML_OK) {
        /* A GET (not a HEAD): its refusal has a body naming the reason. */
        ml_buf b;
        ml_buf_init(&b, 4096);
        rc = ml_s3_get(s->s3, s->bucket, "microlog-store-probe", 0, 1, &b,
                       NULL, why, why_len);
        ml_buf_free(&b);
        rc = rc == ML_S3_NOT_FOUND ? ML_OK : rc;
    }
    if (rc != ML_OK && strstr(why, "403") != NULL) {
        size_t n = strlen(why);
        snprintf(why + n, why_len - n,
                 " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
    return rc;
}

static void
default_server_id(char *out, size_t n)
{
    char host[64] = "server";
    gethostname(host, sizeof host - 1);
    for (char *p = host; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-')) {
            *p = '-';
        }
    }
    snprintf(out, n, "%s-%ld", host, (long)getpid());
}

static int
start_parts(ml_store *s, const ml_store_options *o, char *why, size_t why_len)
{
    char id[128];
    if (o->server_id == NULL) {
        default_server_id(id, sizeof id);
    }
    ml_segwriter_options w = {.s3 = s->s3,
                              .bucket = s->bucket,
                              .prefix = s->prefix,
                              .catalog = s->catalog,
                              .server_id = o->server_id ? o->server_id : id,
                              .window_ms = o->window_ms};
    ml_compactor_options c = {.s3 = s->s3,
                              .bucket = s->bucket,
                              .prefix = s->prefix,
                              .catalog = s->catalog,
                              .retention_s = o->retention_s};
    int rc = ml_segwriter_new(&w, &s->writer);
    rc = rc ? rc : ml_compactor_new(&c, 1, &s->compactor);
    rc = rc ? rc
            : ml_mirror_new(s->s3, s->bucket, s->catalog, o->cache_dir,
                            &s->mirror);
    rc = rc ? rc : ml_catalog_listen(o->db, &s->listener, why, why_len);
    if (rc == ML_OK) {
        s->listening =
            pthread_create(&s->listen_thread, NULL, listen_main, s) == 0;
        rc = s->listening ? ML_OK : ML_ENOMEM;
    }
    if (rc != ML_OK && !why[0]) {
        snprintf(why, why_len, "%s", ml_strerror(rc));
    }
    return rc;
}

int
ml_store_open(const ml_store_options *o, ml_store **out, char *why,
              size_t why_len)
{
    *out = NULL;
    why[0] = '\0';
    ml_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ML_ENOMEM;
    }
    s->url = strdup(o->url);
    int rc = s->url ? open_s3(s, o, why, why_len) : ML_ENOMEM;
    if (rc == ML_OK) {
        rc = ml_catalog_open(o->db, 0, &s->catalog, why, why_len);
    }
    if (rc == ML_OK) {
        rc = start_parts(s, o, why, why_len);
    }
    if (rc != ML_OK) {
        ml_store_free(s);
        return rc;
    }
    *out = s;
    return ML_OK;
}

void
ml_store_free(ml_store *s)
{
    if (s == NULL) {
        return;
    }
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    if (s->listening) {
        pthread_join(s->listen_thread, NULL);
    }
    ml_segwriter_free(s->writer); /* acknowledged pieces first */
    ml_compactor_free(s->compactor);
    ml_catalog_listen_free(s->listener);
    ml_mirror_free(s->mirror);
    ml_catalog_free(s->catalog);
    ml_s3_free(s->s3);
    free(s->url);
    free(s->bucket);
    free(s->prefix);
    free(s);
}

const char *
ml_store_url(const ml_store *s)
{
    return s->url;
}

int
ml_store_submit(ml_store *s, const ml_upload *u, ml_segwriter_done_fn done,
                void *ctx)
{
    return ml_segwriter_submit(s->writer, u, done, ctx);
}

void
ml_store_drain(ml_store *s)
{
    if (s != NULL) {
        ml_segwriter_drain(s->writer);
    }
}

int
ml_store_sync(ml_store *s, const char *name, char *why, size_t why_len)
{
    return ml_mirror_sync(s->mirror, name, why, why_len);
}

int
ml_store_is_live(ml_store *s, const char *name)
{
    return ml_mirror_is_live(s->mirror, name);
}

int
ml_store_list(ml_store *s, const ml_catalog_filter *f, ml_catalog_row_fn each,
              void *ctx, uint64_t *total, char *why, size_t why_len)
{
    return ml_catalog_list(s->catalog, f, each, ctx, total, why, why_len);
}

void
ml_store_get_stats(ml_store *s, ml_segwriter_stats *out)
{
    ml_segwriter_get_stats(s->writer, out);
}
