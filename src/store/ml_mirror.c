// SPDX-License-Identifier: MIT
// Local copies of stored runs (see ml_mirror.h).
#include "ml_mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ml_buf.h"
#include "core/ml_clock.h"
#include "core/ml_error.h"

/* Runs opened over the server's life; copies are never forgotten, so a
 * pointer to one stays valid without reference counts. */
#define MAX_COPIES 65536
#define RANGE (8u << 20)         /* bytes per ranged GET */
#define LIVE_RECHECK_US 3000000u /* without a notification */
#define LIVE_WINDOW_US 10000000  /* a chunk in this long: live */

typedef struct {
    char name[256];
    char run_id[40];
    uint64_t have; /* bytes in the local copy */
    int final;     /* copied from the compacted object, whole */
    int stale;     /* notified since the last sync (atomic) */
    int live;      /* as of the last sync (atomic) */
    uint64_t checked_us;
    uint64_t used;
    pthread_mutex_t mu; /* one sync of a copy at a time */
} copy;

struct ml_mirror {
    ml_s3 *s3;
    char *bucket, *dir;
    ml_catalog *catalog;
    pthread_mutex_t mu; /* the table */
    copy **copies;      /* MAX_COPIES */
    size_t n;
    uint64_t clock;
};

int
ml_mirror_new(ml_s3 *s3, const char *bucket, ml_catalog *catalog,
              const char *dir, ml_mirror **out)
{
    *out = NULL;
    ml_mirror *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return ML_ENOMEM;
    }
    m->s3 = s3;
    m->catalog = catalog;
    m->bucket = strdup(bucket);
    m->dir = strdup(dir);
    m->copies = calloc(MAX_COPIES, sizeof *m->copies);
    pthread_mutex_init(&m->mu, NULL);
    if (!m->bucket || !m->dir || !m->copies) {
        ml_mirror_free(m);
        return ML_ENOMEM;
    }
    *out = m;
    return ML_OK;
}

void
ml_mirror_free(ml_mirror *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        pthread_mutex_destroy(&m->copies[i]->mu);
        free(m->copies[i]);
    }
    pthread_mutex_destroy(&m->mu);
    free(m->copies);
    free(m->bucket);
    free(m->dir);
    free(m);
}

static void
copy_path(const ml_mirror *m, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.mlog", m->dir, name);
}

/* A new copy starts empty: whatever an earlier server process left in the
 * folder may end inside a piece. */
static copy *
copy_new(ml_mirror *m, const char *name)
{
    copy *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    pthread_mutex_init(&c->mu, NULL);
    char path[PATH_MAX];
    copy_path(m, name, path, sizeof path);
    unlink(path);
    return c;
}

/* The copy for name, made when new; NULL when the table is full. */
static copy *
copy_of(ml_mirror *m, const char *name)
{
    pthread_mutex_lock(&m->mu);
    copy *c = NULL;
    for (size_t i = 0; i < m->n && c == NULL; i++) {
        if (strcmp(m->copies[i]->name, name) == 0) {
            c = m->copies[i];
        }
    }
    if (c == NULL && m->n < MAX_COPIES && (c = copy_new(m, name)) != NULL) {
        m->copies[m->n++] = c;
    }
    if (c != NULL) {
        c->used = ++m->clock;
    }
    pthread_mutex_unlock(&m->mu);
    return c;
}

static int
append_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ML_EIO;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            return ML_EIO;
        }
        done += (size_t)n;
    }
    return close(fd) == 0 ? ML_OK : ML_EIO;
}

static int
make_label_dir(const ml_mirror *m, const char *name)
{
    char path[PATH_MAX];
    const char *slash = strchr(name, '/');
    if (slash == NULL) {
        return ML_EINVAL;
    }
    snprintf(path, sizeof path, "%s/%.*s", m->dir, (int)(slash - name), name);
    return mkdir(path, 0700) == 0 || errno == EEXIST ? ML_OK : ML_EIO;
}

typedef struct {
    ml_mirror *m;
    copy *c;
    char path[PATH_MAX];
    ml_buf buf;
    char *why;
    size_t why_len;
} fetch;

/* Copies bytes [c->have, c->have + len) from object key at offset off. */
static int
fetch_range(fetch *f, const char *key, uint64_t off, uint64_t len)
{
    while (len > 0) {
        uint64_t n = len < RANGE ? len : RANGE;
        ml_buf_reset(&f->buf);
        int rc = ml_s3_get(f->m->s3, f->m->bucket, key, off, n, &f->buf, NULL,
                           f->why, f->why_len);
        if (rc == ML_S3_NOT_FOUND || (rc == ML_OK && f->buf.len != n)) {
            snprintf(f->why, f->why_len, "%s is missing or short", key);
            return ML_EIO;
        }
        if (rc != ML_OK) {
            return rc;
        }
        if (append_file(f->path, f->buf.data, f->buf.len) != ML_OK) {
            snprintf(f->why, f->why_len, "cannot write %s", f->path);
            return ML_EIO;
        }
        f->c->have += n;
        off += n;
        len -= n;
    }
    return ML_OK;
}

static int
fetch_piece(void *ctx, uint64_t off, uint64_t len, const char *seg_key,
            uint64_t seg_off)
{
    fetch *f = ctx;
    if (off != f->c->have) {
        return 1; /* a gap: the rest is not stored yet */
    }
    return fetch_range(f, seg_key, seg_off, len) == ML_OK ? 0 : -1;
}

typedef struct {
    int found;
    char run_id[40];
    uint64_t durable, object_size;
    char object_key[1024];
    int live;
} row_copy;

static int
take_row(void *ctx, const ml_catalog_row *row)
{
    row_copy *r = ctx;
    r->found = 1;
    snprintf(r->run_id, sizeof r->run_id, "%s", row->run_id);
    r->durable = row->durable;
    r->object_size = row->object_size;
    snprintf(r->object_key, sizeof r->object_key, "%s",
             row->object_key ? row->object_key : "");
    int64_t age = (int64_t)(ml_clock_wall_ns() / 1000u) - row->updated_unix_us;
    r->live = row->status == ML_RUN_LIVE && age < LIVE_WINDOW_US;
    return 0;
}

static int
bring_up_to_date(ml_mirror *m, copy *c, const row_copy *row, char *why,
                 size_t why_len)
{
    fetch f = {.m = m, .c = c, .why = why, .why_len = why_len};
    copy_path(m, c->name, f.path, sizeof f.path);
    ml_buf_init(&f.buf, RANGE);
    int rc = make_label_dir(m, c->name);
    if (rc == ML_OK && row->object_key[0]) {
        if (c->have < row->object_size) {
            rc = fetch_range(&f, row->object_key, c->have,
                             row->object_size - c->have);
        }
        c->final = rc == ML_OK;
    } else if (rc == ML_OK && c->have < row->durable) {
        rc = ml_catalog_pieces(m->catalog, row->run_id, c->have, fetch_piece,
                               &f, why, why_len);
        rc = rc < 0 ? rc : ML_OK;
    }
    ml_buf_free(&f.buf);
    return rc;
}

int
ml_mirror_sync(ml_mirror *m, const char *name, char *why, size_t why_len)
{
    copy *c = copy_of(m, name);
    if (c == NULL) {
        snprintf(why, why_len,
                 "too many runs opened since the server started");
        return ML_ELIMIT;
    }
    pthread_mutex_lock(&c->mu);
    uint64_t now = ml_clock_mono_ns() / 1000u;
    int rc = ML_OK;
    if (!c->final
        && (__atomic_exchange_n(&c->stale, 0, __ATOMIC_ACQ_REL)
            || c->checked_us == 0 || now - c->checked_us >= LIVE_RECHECK_US)) {
        row_copy row = {0};
        rc = ml_catalog_get(m->catalog, name, take_row, &row, why, why_len);
        if (rc == ML_OK && !row.found) {
            rc = 1;
        } else if (rc == ML_OK) {
            if (c->run_id[0] == '\0') { /* read by notifications */
                pthread_mutex_lock(&m->mu);
                snprintf(c->run_id, sizeof c->run_id, "%s", row.run_id);
                pthread_mutex_unlock(&m->mu);
            }
            __atomic_store_n(&c->live, row.live, __ATOMIC_RELEASE);
            rc = bring_up_to_date(m, c, &row, why, why_len);
        }
        c->checked_us = now;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int
ml_mirror_is_live(ml_mirror *m, const char *name)
{
    copy *c = copy_of(m, name);
    if (c == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    int live = !c->final && c->live;
    pthread_mutex_unlock(&c->mu);
    return live;
}

void
ml_mirror_notify(ml_mirror *m, const char *payload)
{
    char run_id[40];
    if (sscanf(payload, "%39s", run_id) != 1) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->copies[i]->run_id, run_id) == 0) {
            __atomic_store_n(&m->copies[i]->stale, 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&m->mu);
}
