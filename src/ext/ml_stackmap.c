// SPDX-License-Identifier: MIT
// Frame and stack interning for the sampler (see ml_stackmap.h).
#include "ml_stackmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "core/ml_map.h"

/* What a code object resolved to. name and file are the source's pointers:
 * when the source hands out other pointers for the same address, the
 * address was reused by a new code object and the entry is refreshed. */
typedef struct {
    uint64_t code;
    const char *name, *file;
    uint32_t name_id, file_id, firstline;
    uint32_t gen;
} code_entry;

typedef struct {
    uint64_t code;
    int32_t lasti;
    uint32_t gen;
    uint32_t frame_id;
} frame_entry;

struct ml_stackmap {
    ml_map code_map; /* code address -> index in codes */
    code_entry *codes;
    uint32_t ncodes, code_cap;
    ml_map frame_map; /* (code, lasti, gen) -> index in frames */
    frame_entry *frames;
    uint32_t nframes, frame_cap;
    uint32_t root_frames[3]; /* frame ids of the ML_ROOT_* markers */
    uint32_t epoch;          /* bumped by ml_stackmap_clear */
};

int
ml_stackmap_new(ml_stackmap **out)
{
    ml_stackmap *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return ML_ENOMEM;
    }
    ml_map_init(&m->code_map);
    ml_map_init(&m->frame_map);
    *out = m;
    return ML_OK;
}

void
ml_stackmap_free(ml_stackmap *m)
{
    if (m == NULL) {
        return;
    }
    ml_map_free(&m->code_map);
    ml_map_free(&m->frame_map);
    free(m->codes);
    free(m->frames);
    free(m);
}

void
ml_stackmap_clear(ml_stackmap *m)
{
    ml_map_free(&m->code_map);
    ml_map_free(&m->frame_map);
    ml_map_init(&m->code_map);
    ml_map_init(&m->frame_map);
    free(m->codes);
    free(m->frames);
    m->codes = NULL;
    m->frames = NULL;
    m->ncodes = m->code_cap = 0;
    m->nframes = m->frame_cap = 0;
    memset(m->root_frames, 0, sizeof m->root_frames);
    m->epoch++;
}

void
ml_stackmap_sizes(const ml_stackmap *m, uint32_t *codes, uint32_t *places)
{
    *codes = m ? m->ncodes : 0;
    *places = m ? m->nframes : 0;
}

void
ml_stackcache_free(ml_stackcache *c)
{
    free(c->frames);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

/* Makes room for one more element (index count + 1, ids from 1). */
static int
reserve(void **arr, uint32_t *cap, uint32_t count, size_t elem)
{
    if (count + 1 < *cap) {
        return ML_OK;
    }
    uint32_t ncap = *cap ? *cap * 2 : 256;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL) {
        return ML_ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return ML_OK;
}

static int
code_eq(const void *ctx, uint32_t i)
{
    const void *const *c = ctx;
    return ((const ml_stackmap *)c[0])->codes[i].code
           == *(const uint64_t *)c[1];
}

static int
intern_names(ml_writer *w, code_entry *e, const ml_pycode_info *info)
{
    const char *name = info->name ? info->name : "<unknown>";
    const char *file = info->file ? info->file : "";
    int err = ml_writer_string(w, name, strlen(name), &e->name_id);
    if (err == 0) {
        err = ml_writer_string(w, file, strlen(file), &e->file_id);
    }
    e->name = info->name;
    e->file = info->file;
    e->firstline = info->firstlineno > 0 ? (uint32_t)info->firstlineno : 0;
    return err;
}

/* The entry for a code address, resolved or refreshed as needed. */
static int
lookup_code(ml_stackmap *m, const ml_codesource *src, ml_writer *w,
            uint64_t code, code_entry **out)
{
    ml_pycode_info info = {0};
    if (src->code(src->ctx, code, &info) < 0) {
        info.name = NULL;
        info.file = NULL;
    }
    uint64_t h = ml_hash_mix(0, code);
    const void *ctx[2] = {m, &code};
    uint32_t i = ml_map_find(&m->code_map, h, code_eq, ctx);
    if (i != 0) {
        code_entry *e = &m->codes[i];
        if (e->name != info.name || e->file != info.file) {
            e->gen++;
            int err = intern_names(w, e, &info);
            if (err < 0) {
                return err;
            }
        }
        *out = e;
        return ML_OK;
    }
    int err =
        reserve((void **)&m->codes, &m->code_cap, m->ncodes, sizeof *m->codes);
    if (err < 0) {
        return err;
    }
    code_entry *e = &m->codes[m->ncodes + 1];
    memset(e, 0, sizeof *e);
    e->code = code;
    if ((err = intern_names(w, e, &info)) < 0
        || (err = ml_map_insert(&m->code_map, h, m->ncodes + 1)) < 0) {
        return err;
    }
    m->ncodes++;
    *out = e;
    return ML_OK;
}

static int
frame_eq(const void *ctx, uint32_t i)
{
    const void *const *c = ctx;
    const frame_entry *e = &((const ml_stackmap *)c[0])->frames[i];
    const frame_entry *k = c[1];
    return e->code == k->code && e->lasti == k->lasti && e->gen == k->gen;
}

/* The recording's frame id for (code, lasti). */
static int
lookup_frame(ml_stackmap *m, const ml_codesource *src, ml_writer *w,
             const ml_pyframe *f, uint32_t *frame_id)
{
    code_entry *ce;
    int err = lookup_code(m, src, w, f->code, &ce);
    if (err < 0) {
        return err;
    }
    frame_entry key = {f->code, f->lasti, ce->gen, 0};
    uint64_t h =
        ml_hash_mix(ml_hash_mix(f->code, (uint32_t)f->lasti), ce->gen);
    const void *ctx[2] = {m, &key};
    uint32_t i = ml_map_find(&m->frame_map, h, frame_eq, ctx);
    if (i != 0) {
        *frame_id = m->frames[i].frame_id;
        return ML_OK;
    }
    int line = src->line(src->ctx, f->code, f->lasti);
    if ((err = ml_writer_frame(w, ce->name_id, ce->file_id,
                               line > 0 ? (uint32_t)line : 0, ce->firstline,
                               &key.frame_id))
            < 0
        || (err = reserve((void **)&m->frames, &m->frame_cap, m->nframes,
                          sizeof *m->frames))
               < 0
        || (err = ml_map_insert(&m->frame_map, h, m->nframes + 1)) < 0) {
        return err;
    }
    m->frames[++m->nframes] = key;
    *frame_id = key.frame_id;
    return ML_OK;
}

static int
marker_root(ml_stackmap *m, ml_writer *w, int root, uint32_t *stack)
{
    static const char *const names[3] = {"", "<truncated>", "<unreadable>"};
    uint32_t *frame = &m->root_frames[root];
    if (*frame == 0) {
        uint32_t name;
        int err = ml_writer_string(w, names[root], strlen(names[root]), &name);
        if (err == 0) {
            err = ml_writer_frame(w, name, 0, 0, 0, frame);
        }
        if (err < 0) {
            return err;
        }
    }
    return ml_writer_stack(w, 0, *frame, stack);
}

static int
cache_reserve(ml_stackcache *c, int depth)
{
    if (depth <= c->cap) {
        return ML_OK;
    }
    int cap = c->cap ? c->cap : 64;
    while (cap < depth) {
        cap *= 2;
    }
    ml_pyframe *frames = realloc(c->frames, (size_t)cap * sizeof *frames);
    if (frames == NULL) {
        return ML_ENOMEM;
    }
    c->frames = frames;
    uint32_t *ids = realloc(c->ids, (size_t)cap * sizeof *ids);
    if (ids == NULL) {
        return ML_ENOMEM;
    }
    c->ids = ids;
    c->cap = cap;
    return ML_OK;
}

/* How many frames from the root are the same as in the previous sample. */
static int
common_prefix(const ml_stackcache *prev, const ml_pyframe *frames, int n)
{
    int k = 0;
    while (k < n && k < prev->depth) {
        const ml_pyframe *f = &frames[n - 1 - k];
        if (prev->frames[k].code != f->code
            || prev->frames[k].lasti != f->lasti) {
            break;
        }
        k++;
    }
    return k;
}

int
ml_stackmap_intern(ml_stackmap *m, const ml_codesource *src, ml_writer *w,
                   ml_stackcache *prev, const ml_pyframe *frames, int n,
                   int truncated, uint32_t *stack)
{
    uint32_t root = 0;
    int err;
    if (truncated < ML_ROOT_WHOLE || truncated > ML_ROOT_UNREADABLE) {
        return ML_EINVAL;
    }
    if (truncated && (err = marker_root(m, w, truncated, &root)) < 0) {
        return err;
    }
    if ((err = cache_reserve(prev, n)) < 0) {
        return err;
    }
    if (prev->epoch != m->epoch) {
        prev->depth = 0; /* its ids or code addresses are stale */
        prev->epoch = m->epoch;
    }
    /* Frames are compared from the root down: from the real root, or from
     * the first frame under "<truncated>", never one against the other. */
    int k = truncated == prev->truncated ? common_prefix(prev, frames, n) : 0;
    uint32_t id = k > 0 ? prev->ids[k - 1] : root;
    for (int d = k; d < n; d++) {
        const ml_pyframe *f = &frames[n - 1 - d];
        uint32_t frame_id;
        if ((err = lookup_frame(m, src, w, f, &frame_id)) < 0
            || (err = ml_writer_stack(w, id, frame_id, &id)) < 0) {
            prev->depth = 0;
            return err;
        }
        prev->frames[d] = *f;
        prev->ids[d] = id;
    }
    prev->depth = n;
    prev->truncated = truncated;
    *stack = id;
    return ML_OK;
}
