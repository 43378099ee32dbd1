// SPDX-License-Identifier: MIT
// Compaction, segment deletion, retention and discovery (see
// ml_compactor.h).
#include "ml_compactor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ml_buf.h"
#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_wake.h"
#include "format/ml_runmeta.h"
#include "net/ml_objkeys.h"
#include "format/ml_piece.h"

/* Reading a direct run's first bytes finds its META records. */
#define META_PREFIX (256u << 10)

/* Segments read whole for compaction: runs that end together have their
 * pieces in the same segments, so each is fetched once for all of them
 * instead of once per piece. */
#define SEGMENT_CACHE 64
#define SEGMENT_CACHE_BYTES ((size_t)256 << 20)
#define SEGMENT_MAX ((size_t)80 << 20)

typedef struct {
    char key[1024];
    ml_buf data;
    uint64_t used;
} cached_segment;

struct ml_compactor {
    ml_compactor_options o;
    cached_segment cache[SEGMENT_CACHE]; /* the compactor's thread only */
    size_t cache_bytes;
    uint64_t cache_clock;
    char *bucket, *prefix;
    pthread_t thread;
    int started;
    ml_wake stop;
};

/* ---- compaction --------------------------------------------------------- */

typedef struct {
    uint64_t end_size;
    int64_t start_unix_us;
    int has_object;
    int found;
} run_facts;

static int
take_facts(void *ctx, const ml_catalog_row *row)
{
    run_facts *f = ctx;
    f->found = 1;
    f->end_size = row->end_size >= 0 ? (uint64_t)row->end_size : 0;
    f->start_unix_us = row->start_unix_us;
    f->has_object = row->object_key != NULL && row->object_key[0];
    return 0;
}

/* Pieces are read back in order; consecutive pieces of one segment that
 * lie back to back there are read with one GET. */
typedef struct {
    ml_compactor *c;
    ml_buf *out;
    char seg[1024];
    uint64_t seg_off, len; /* the pending range */
    int rc;
    char *why;
    size_t why_len;
} assembly;

static void
cache_drop(ml_compactor *c, cached_segment *e)
{
    c->cache_bytes -= e->data.len;
    ml_buf_free(&e->data);
    e->key[0] = '\0';
    e->used = 0;
}

/* The segment's bytes, from the cache or read whole into it; NULL when it
 * cannot be read (then ranged reads are tried). */
static const ml_buf *
cached(ml_compactor *c, const char *key)
{
    cached_segment *slot = &c->cache[0];
    for (size_t i = 0; i < SEGMENT_CACHE; i++) {
        cached_segment *e = &c->cache[i];
        if (e->key[0] && strcmp(e->key, key) == 0) {
            e->used = ++c->cache_clock;
            return &e->data;
        }
        slot = e->used < slot->used ? e : slot;
    }
    if (slot->key[0]) {
        cache_drop(c, slot);
    }
    char why[256];
    ml_buf_init(&slot->data, SEGMENT_MAX);
    if (ml_s3_get(c->o.s3, c->bucket, key, 0, 0, &slot->data, NULL, why,
                  sizeof why)
        != ML_OK) {
        ml_buf_free(&slot->data);
        return NULL;
    }
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->used = ++c->cache_clock;
    c->cache_bytes += slot->data.len;
    /* Over the budget: the least recently used others go. */
    while (c->cache_bytes > SEGMENT_CACHE_BYTES) {
        cached_segment *old = NULL;
        for (size_t i = 0; i < SEGMENT_CACHE; i++) {
            cached_segment *e = &c->cache[i];
            if (e != slot && e->key[0] && (!old || e->used < old->used)) {
                old = e;
            }
        }
        if (old == NULL) {
            break;
        }
        cache_drop(c, old);
    }
    return &slot->data;
}

static int
flush_range(assembly *a)
{
    if (a->len == 0) {
        return ML_OK;
    }
    size_t before = a->out->len;
    const ml_buf *seg = cached(a->c, a->seg);
    if (seg != NULL && a->seg_off <= seg->len
        && a->len <= seg->len - a->seg_off) {
        int rc = ml_buf_append(a->out, seg->data + a->seg_off, (size_t)a->len);
        a->len = 0;
        if (rc != ML_OK) {
            snprintf(a->why, a->why_len, "run too large to compact");
        }
        return rc;
    }
    int rc = ml_s3_get(a->c->o.s3, a->c->bucket, a->seg, a->seg_off, a->len,
                       a->out, NULL, a->why, a->why_len);
    if (rc == ML_OK && a->out->len - before != a->len) {
        snprintf(a->why, a->why_len, "segment %s is shorter than its index",
                 a->seg);
        rc = ML_ECORRUPT;
    } else if (rc == ML_S3_NOT_FOUND) {
        snprintf(a->why, a->why_len, "segment %s is missing", a->seg);
        rc = ML_ECORRUPT;
    }
    a->len = 0;
    return rc;
}

static int
add_piece(void *ctx, uint64_t off, uint64_t len, const char *seg_key,
          uint64_t seg_off)
{
    assembly *a = ctx;
    uint64_t have = a->out->len + a->len;
    if (off != have) {
        snprintf(a->why, a->why_len,
                 "pieces leave a gap at byte %llu (next at %llu)",
                 (unsigned long long)have, (unsigned long long)off);
        return a->rc = ML_ECORRUPT;
    }
    if (a->len > 0
        && (strcmp(a->seg, seg_key) != 0 || a->seg_off + a->len != seg_off)) {
        if ((a->rc = flush_range(a)) != ML_OK) {
            return a->rc;
        }
    }
    if (a->len == 0) {
        snprintf(a->seg, sizeof a->seg, "%s", seg_key);
        a->seg_off = seg_off;
    }
    a->len += len;
    return 0;
}

static int
assemble(ml_compactor *c, const char *run_id, ml_buf *out, char *why,
         size_t why_len)
{
    assembly a = {.c = c, .out = out, .why = why, .why_len = why_len};
    int rc = ml_catalog_pieces(c->o.catalog, run_id, 0, add_piece, &a, why,
                               why_len);
    if (a.rc != ML_OK) {
        return a.rc;
    }
    return rc != ML_OK ? rc : flush_range(&a);
}

/* Stores the object unless an earlier try did (then its size must
 * match). */
static int
put_run(ml_compactor *c, const char *key, const ml_buf *b, char *why,
        size_t why_len)
{
    int rc =
        ml_s3_put(c->o.s3, c->bucket, key, b->data, b->len, 1, why, why_len);
    if (rc != ML_S3_EXISTS) {
        return rc;
    }
    uint64_t size = 0;
    rc = ml_s3_head(c->o.s3, c->bucket, key, &size, why, why_len);
    if (rc == ML_OK && size != b->len) {
        snprintf(why, why_len, "%s exists with another size", key);
        return ML_ECORRUPT;
    }
    return rc;
}

int
ml_compactor_compact(ml_compactor *c, const char *run_id, char *why,
                     size_t why_len)
{
    run_facts f = {0};
    int rc =
        ml_catalog_get_id(c->o.catalog, run_id, take_facts, &f, why, why_len);
    if (rc != ML_OK || !f.found || f.has_object) {
        return rc < 0 ? rc : ML_OK; /* gone, or done by an earlier try */
    }
    ml_buf b;
    ml_buf_init(&b, c->o.max_run);
    rc = assemble(c, run_id, &b, why, why_len);
    if (rc == ML_OK && b.len != f.end_size) {
        snprintf(why, why_len, "pieces hold %zu of %llu bytes", b.len,
                 (unsigned long long)f.end_size);
        rc = ML_ECORRUPT;
    }
    uint32_t chunks;
    size_t at;
    const char *bad;
    if (rc == ML_OK
        && (rc = ml_piece_check(b.data, b.len, 0, &chunks, &at, &bad))
               != ML_OK) {
        snprintf(why, why_len, "assembled run is damaged at byte %zu: %s", at,
                 bad);
    }
    char key[1024];
    ml_objkey_run(c->prefix, run_id, f.start_unix_us, key, sizeof key);
    if (rc == ML_OK) {
        rc = put_run(c, key, &b, why, why_len);
    }
    if (rc == ML_OK) {
        rc = ml_catalog_compacted(c->o.catalog, run_id, key, b.len,
                                  c->o.segment_delay_s, why, why_len);
    }
    ml_buf_free(&b);
    return rc;
}

static int
delete_segment(ml_compactor *c, const char *key, char *why, size_t why_len)
{
    int rc = ml_s3_delete(c->o.s3, c->bucket, key, why, why_len);
    return rc == ML_OK
               ? ml_catalog_segment_deleted(c->o.catalog, key, why, why_len)
               : rc;
}

int
ml_compactor_step(ml_compactor *c, char *why, size_t why_len)
{
    ml_catalog_job job;
    int rc = ml_catalog_take_job(c->o.catalog, 120, &job, why, why_len);
    if (rc != ML_OK) {
        return rc < 0 ? rc : 0;
    }
    if (job.kind == ML_JOB_COMPACT) {
        rc = ml_compactor_compact(c, job.arg, why, why_len);
    } else if (job.kind == ML_JOB_DELETE_SEGMENT) {
        rc = delete_segment(c, job.arg, why, why_len);
    }
    if (rc == ML_OK) {
        rc = ml_catalog_finish_job(c->o.catalog, job.id, why, why_len);
    }
    return rc == ML_OK ? 1 : rc;
}

/* ---- retention ---------------------------------------------------------- */

typedef struct {
    char (*ids)[40];
    char (*keys)[1024];
    size_t n;
} expired_list;

static int
take_expired(void *ctx, const ml_catalog_row *row)
{
    expired_list *l = ctx;
    snprintf(l->ids[l->n], sizeof l->ids[0], "%s", row->run_id);
    snprintf(l->keys[l->n], sizeof l->keys[0], "%s",
             row->object_key ? row->object_key : "");
    l->n++;
    return 0;
}

#define RETAIN_BATCH 64

int
ml_compactor_retain(ml_compactor *c, char *why, size_t why_len)
{
    if (c->o.retention_s <= 0) {
        return 0;
    }
    int64_t cutoff =
        (int64_t)(ml_clock_wall_ns() / 1000u) - c->o.retention_s * 1000000;
    expired_list l = {.ids = calloc(RETAIN_BATCH, sizeof *l.ids),
                      .keys = calloc(RETAIN_BATCH, sizeof *l.keys)};
    int rc = l.ids && l.keys ? ML_OK : ML_ENOMEM;
    if (rc == ML_OK) {
        rc = ml_catalog_expired(c->o.catalog, cutoff, RETAIN_BATCH,
                                take_expired, &l, why, why_len);
    }
    int removed = 0;
    for (size_t i = 0; rc == ML_OK && i < l.n; i++) {
        /* The object first: a run is never indexed without its bytes. */
        if (l.keys[i][0]) {
            rc = ml_s3_delete(c->o.s3, c->bucket, l.keys[i], why, why_len);
        }
        if (rc == ML_OK) {
            rc = ml_catalog_delete_run(c->o.catalog, l.ids[i], why, why_len);
            removed += rc == ML_OK;
        }
    }
    free(l.ids);
    free(l.keys);
    return rc == ML_OK ? removed : rc;
}

/* ---- discovery of direct runs ------------------------------------------- */

typedef struct {
    ml_compactor *c;
    int found;
    char *why;
    size_t why_len;
} discovery;

static int
known_run(void *ctx, const ml_catalog_row *row)
{
    (void)row;
    *(int *)ctx = 1;
    return 0;
}

static int
register_direct(void *ctx, const char *key, uint64_t size)
{
    discovery *d = ctx;
    char run_id[40];
    ml_objkey_direct_run_id(key, run_id, sizeof run_id);
    int known = 0;
    if (!run_id[0]
        || ml_catalog_get_id(d->c->o.catalog, run_id, known_run, &known,
                             d->why, d->why_len)
               < 0
        || known) {
        return 0;
    }
    ml_buf b;
    ml_buf_init(&b, META_PREFIX);
    ml_runmeta m;
    int rc = ml_s3_get(d->c->o.s3, d->c->bucket, key, 0, META_PREFIX, &b, NULL,
                       d->why, d->why_len);
    if (rc == ML_OK && ml_runmeta_read(b.data, b.len, &m) == ML_OK) {
        /* A name the UI could not open (or a hostile one) is replaced. */
        char fallback[64];
        snprintf(fallback, sizeof fallback, "direct/%s", run_id);
        int named = ml_runmeta_name_valid(m.name);
        ml_catalog_run run = {.run_id = run_id,
                              .name = named ? m.name : fallback,
                              .label = named ? m.label : "direct",
                              .host = m.host,
                              .start_unix_us = m.start_unix_us,
                              .end_size = (int64_t)size};
        if (ml_catalog_register_object(d->c->o.catalog, &run, key, size,
                                       d->why, d->why_len)
            == ML_OK) {
            d->found++;
        }
    }
    ml_buf_free(&b);
    return 0; /* one unreadable object does not stop the scan */
}

int
ml_compactor_discover(ml_compactor *c, int full, char *why, size_t why_len)
{
    discovery d = {.c = c, .why = why, .why_len = why_len};
    char prefix[1024];
    int rc = ML_OK;
    if (full) {
        ml_objkey_direct_all(c->prefix, prefix, sizeof prefix);
        rc = ml_s3_list(c->o.s3, c->bucket, prefix, register_direct, &d, why,
                        why_len);
    } else {
        int64_t now = (int64_t)(ml_clock_wall_ns() / 1000u);
        for (int h = 1; h >= 0 && rc == ML_OK; h--) {
            ml_objkey_direct_hour(c->prefix, now - h * 3600 * INT64_C(1000000),
                                  prefix, sizeof prefix);
            rc = ml_s3_list(c->o.s3, c->bucket, prefix, register_direct, &d,
                            why, why_len);
        }
    }
    return rc == ML_OK ? d.found : rc;
}

/* ---- the thread --------------------------------------------------------- */

static void
complain(const char *what, const char *why)
{
    fprintf(stderr, "microlog serve: %s: %s\n", what, why);
}

static void *
compactor_main(void *arg)
{
    ml_compactor *c = arg;
    ml_wake_block_signals(); /* the server's main thread takes them */
    char why[512];
    uint64_t next_retain = 0, next_discover = 0;
    int full_scan = 1;
    do {
        int rc;
        while ((rc = ml_compactor_step(c, why, sizeof why)) > 0) {
        }
        if (rc < 0) {
            complain("background job", why);
        }
        uint64_t now = ml_clock_mono_ns() / 1000000u;
        if (now >= next_retain) {
            if (ml_compactor_retain(c, why, sizeof why) < 0) {
                complain("retention", why);
            }
            /* Often enough that nothing outlives the limit by more than
             * half of it, and at most once a minute. */
            int64_t every = c->o.retention_s * 500;
            every = every < 1000 ? 1000 : every > 60000 ? 60000 : every;
            next_retain = now + (uint64_t)every;
        }
        if (now >= next_discover) {
            if (ml_compactor_discover(c, full_scan, why, sizeof why) >= 0) {
                full_scan = 0;
            } else {
                complain("looking for direct runs", why);
            }
            next_discover = now + c->o.discovery_s * 1000u;
        }
    } while (!ml_wake_sleep_until(
        &c->stop, ml_clock_mono_ns() + c->o.idle_ms * UINT64_C(1000000)));
    return NULL;
}

int
ml_compactor_new(const ml_compactor_options *o, int start, ml_compactor **out)
{
    *out = NULL;
    ml_compactor *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ML_ENOMEM;
    }
    if (ml_wake_init(&c->stop) != ML_OK) {
        free(c);
        return ML_ENOMEM;
    }
    c->o = *o;
    c->o.idle_ms = o->idle_ms ? o->idle_ms : 1000;
    c->o.segment_delay_s = o->segment_delay_s ? o->segment_delay_s : 60;
    c->o.max_run = o->max_run ? o->max_run : ((size_t)1 << 30);
    c->o.discovery_s = o->discovery_s ? o->discovery_s : 10;
    c->bucket = strdup(o->bucket);
    c->prefix = strdup(o->prefix ? o->prefix : "");
    if (!c->bucket || !c->prefix
        || (start && pthread_create(&c->thread, NULL, compactor_main, c))) {
        ml_compactor_free(c);
        return ML_ENOMEM;
    }
    c->started = start;
    *out = c;
    return ML_OK;
}

void
ml_compactor_free(ml_compactor *c)
{
    if (c == NULL) {
        return;
    }
    if (c->started) {
        ml_wake_stop(&c->stop);
        pthread_join(c->thread, NULL);
    }
    for (size_t i = 0; i < SEGMENT_CACHE; i++) {
        if (c->cache[i].key[0]) {
            cache_drop(c, &c->cache[i]);
        }
    }
    ml_wake_destroy(&c->stop);
    free(c->bucket);
    free(c->prefix);
    free(c);
}
