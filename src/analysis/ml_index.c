// SPDX-License-Identifier: MIT
// The recording index (see ml_index.h, ml_index_int.h, docs/ANALYSIS.md):
// one pass over the records that interns functions and function stacks,
// turns each thread's samples into flame-chart spans, keeps the long ones
// and per-block aggregates of everything, and stores status values, logs
// and timed calls. ml_index_update() runs the same pass over what a live
// recording appended.
#include "ml_index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "ml_summary.h"

int
ml_vec_reserve(void **items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return ML_OK;
    }
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        n *= 2;
    }
    void *p = realloc(*items, n * elem);
    if (p == NULL) {
        return ML_ENOMEM;
    }
    *items = p;
    *cap = n;
    return ML_OK;
}

const char *
ix_string(const ml_index *ix, uint32_t id, uint32_t *len)
{
    ml_bytes b;
    if (id == 0 || ml_reader_string(ix->r, id, &b) < 0) {
        *len = 0;
        return "";
    }
    *len = b.len;
    return (const char *)b.ptr;
}

/* ---- functions and function stacks -------------------------------------- */

typedef struct {
    const ml_index *ix;
    const void *key;
} eq_ctx;

static int
func_eq(const void *ctx, uint32_t v)
{
    const eq_ctx *c = ctx;
    const ix_func *a = &c->ix->funcs.items[v], *b = c->key;
    return a->name == b->name && a->file == b->file
           && a->firstline == b->firstline;
}

static uint32_t
intern_func(ml_index *ix, const ix_func *f)
{
    uint64_t h = ml_hash_mix(ml_hash_mix(ml_hash_mix(1, f->name), f->file),
                             f->firstline);
    eq_ctx c = {ix, f};
    uint32_t id = ml_map_find(&ix->func_map, h, func_eq, &c);
    if (id != 0) {
        return id;
    }
    id = (uint32_t)ix->funcs.len;
    if (ML_VEC_PUSH(ix->funcs, *f) < 0
        || ml_map_insert(&ix->func_map, h, id) < 0) {
        return 0;
    }
    return id;
}

typedef struct {
    uint32_t parent, fid;
} fnode_key;

static int
fnode_eq(const void *ctx, uint32_t v)
{
    const eq_ctx *c = ctx;
    const fnode_key *k = c->key;
    const ix_fnode *n = &c->ix->fnodes.items[v];
    return n->parent == k->parent && n->fid == k->fid;
}

static int
pair_eq(const void *ctx, uint32_t v)
{
    const eq_ctx *c = ctx;
    const fnode_key *k = c->key;
    const ix_pair *p = &c->ix->pairs.items[v];
    return p->caller == k->parent && p->fid == k->fid;
}

/* The (caller, callee) entry for similar calls; 0 when out of memory. */
static uint32_t
intern_pair(ml_index *ix, uint32_t caller, uint32_t fid)
{
    fnode_key k = {caller, fid};
    uint64_t h = ml_hash_mix(ml_hash_mix(3, caller), fid);
    eq_ctx c = {ix, &k};
    uint32_t id = ml_map_find(&ix->pair_map, h, pair_eq, &c);
    if (id != 0) {
        return id;
    }
    ix_pair p;
    memset(&p, 0, sizeof p);
    p.caller = caller;
    p.fid = fid;
    p.rng = h | 1;
    id = (uint32_t)ix->pairs.len;
    if (ML_VEC_PUSH(ix->pairs, p) < 0
        || ml_map_insert(&ix->pair_map, h, id) < 0) {
        return 0;
    }
    return id;
}

static int
outermost(const ml_index *ix, uint32_t parent, uint32_t fid)
{
    for (uint32_t n = parent; n != 0; n = ix->fnodes.items[n].parent) {
        if (ix->fnodes.items[n].fid == fid) {
            return 0;
        }
    }
    return 1;
}

/* The fnode for parent + fid; 0 when out of memory or too deep. */
static uint32_t
intern_fnode(ml_index *ix, uint32_t parent, uint32_t fid)
{
    uint32_t last = ix->fnodes.items[parent].last_child;
    if (last != 0 && ix->fnodes.items[last].fid == fid) {
        return last;
    }
    fnode_key k = {parent, fid};
    uint64_t h = ml_hash_mix(ml_hash_mix(2, parent), fid);
    eq_ctx c = {ix, &k};
    uint32_t id = ml_map_find(&ix->fnode_map, h, fnode_eq, &c);
    if (id != 0) {
        ix->fnodes.items[parent].last_child = id;
        return id;
    }
    const ix_fnode *p = &ix->fnodes.items[parent];
    if (p->depth + 1 > IX_MAX_DEPTH) {
        return parent; /* deeper frames fold into the deepest kept one */
    }
    ix_fnode n = {0};
    n.parent = parent;
    n.fid = fid;
    n.depth = (uint16_t)(p->depth + 1);
    n.outermost = (uint8_t)outermost(ix, parent, fid);
    n.truncated =
        p->truncated
        || (parent == 0 && fid != 0
            && (fid == ix->truncated_fid || fid == ix->unreadable_fid));
    n.pair = parent ? intern_pair(ix, p->fid, fid) : 0;
    id = (uint32_t)ix->fnodes.len;
    uint32_t zero = 0;
    if (ML_VEC_PUSH(ix->fnodes, n) < 0
        || ML_VEC_PUSH(ix->fnode_samples, zero) < 0
        || ML_VEC_PUSH(ix->fnode_running, zero) < 0
        || ml_map_insert(&ix->fnode_map, h, id) < 0) {
        return 0;
    }
    ix->fnodes.items[parent].last_child = id;
    return id;
}

/* ---- what the index keeps of each span -----------------------------------
 */

static int
level_of(uint64_t len)
{
    return 63 - __builtin_clzll(len | 1);
}

/* Inserts s keeping the level sorted by start: spans close in end order,
 * so a new one moves back past at most the few that started after it. */
static int
level_insert(ix_thread *t, const ix_span *s)
{
    int k = level_of(s->end - s->start);
    if (k >= IX_HUGE_SHIFT || s->start >= (UINT64_C(1) << 48)) {
        return ML_VEC_PUSH(t->huge, *s) == 0 ? ML_OK : ML_ENOMEM;
    }
    ix_kept kept = {s->start | (uint64_t)s->depth << 48,
                    (uint32_t)(s->end - s->start),
                    s->fid,
                    s->running,
                    s->waiting,
                    s->gil,
                    0};
    if (ML_VEC_PUSH(t->levels[k], kept) < 0) {
        return ML_ENOMEM;
    }
    ML_VEC_SETTLE_LAST(t->levels[k], ix_kept_start);
    return ML_OK;
}

static void
calls_flush(ix_thread *t, ix_calls *slot)
{
    if (slot->calls > 0) {
        (void)ML_VEC_PUSH(t->calls, *slot);
    }
    slot->calls = 0;
}

/* Short spans are counted per block and function. */
static void
calls_note(ix_thread *t, const ix_span *s)
{
    uint32_t block = (uint32_t)(s->start >> IX_BLOCK_SHIFT);
    if (block > t->calls_block) {
        for (int i = 0; i < IX_CACHE; i++) {
            calls_flush(t, &t->calls_cache[i]);
        }
        t->calls_block = block;
    }
    ix_calls *slot = &t->calls_cache[s->fid % IX_CACHE];
    if (slot->calls > 0 && (slot->fid != s->fid || slot->block != block)) {
        calls_flush(t, slot);
    }
    if (slot->calls == 0) {
        memset(slot, 0, sizeof *slot);
        slot->fid = s->fid;
        slot->block = block;
    }
    uint32_t dur = (uint32_t)(s->end - s->start); /* short: < 2^14 */
    if (slot->total_us > UINT32_MAX - dur) {
        calls_flush(t, slot);
        slot->fid = s->fid;
        slot->block = block;
    }
    slot->calls++;
    slot->total_us += dur;
    if (dur > slot->max_us) {
        slot->max_us = dur;
    }
}

/* The emit target of the index's own pass. */
static void
index_emit(void *ctx, uint32_t thread, const ix_span *s, int unknown_start)
{
    (void)unknown_start; /* the index sees every sample from the start */
    ml_index *ix = ctx;
    ix_thread *t = ix->threads.items[thread - 1];
    uint32_t fnode = t->b.node[s->depth];
    ix_func *f = &ix->funcs.items[s->fid];
    if (s->start < f->first_us) {
        f->first_us = s->start;
    }
    if (s->start > f->last_us) {
        f->last_us = s->start;
    }
    uint32_t pair = ix->fnodes.items[fnode].pair;
    if (pair != 0) {
        ix_pair_note(&ix->pairs.items[pair], thread, s);
    }
    if (s->end - s->start >= IX_LONG_US) {
        (void)level_insert(t, s);
    } else {
        calls_note(t, s);
    }
}

/* ---- records -------------------------------------------------------------
 */

static ix_thread *
thread_get(ml_index *ix, uint32_t id)
{
    while (ix->threads.len < id) {
        ix_thread *t = calloc(1, sizeof *t);
        if (t == NULL || ML_VEC_PUSH(ix->threads, t) < 0) {
            free(t);
            return NULL;
        }
    }
    return ix->threads.items[id - 1];
}

static void
leaf_flush(ix_thread *t)
{
    for (int i = 0; i < IX_CACHE; i++) {
        ix_leaf *s = &t->leaf_cache[i];
        if (s->samples > 0) {
            (void)ML_VEC_PUSH(t->leaves, *s);
            s->samples = 0;
        }
    }
}

static void
leaf_note(ix_thread *t, uint64_t time, uint32_t fnode, uint32_t count,
          int running)
{
    uint32_t block = (uint32_t)(time >> IX_BLOCK_SHIFT);
    ix_leaf *s = &t->leaf_cache[fnode % IX_CACHE];
    if (block != t->leaf_block) {
        leaf_flush(t); /* a new block: entries stay sorted by block */
        t->leaf_block = block;
    }
    if (s->samples > 0
        && (s->fnode != fnode || s->samples > UINT16_MAX - count)) {
        (void)ML_VEC_PUSH(t->leaves, *s);
        s->samples = 0;
    }
    if (s->samples == 0) {
        s->block = block;
        s->fnode = fnode;
        s->running = 0;
    }
    if (count > UINT16_MAX) { /* a long run of one stack: in pieces */
        leaf_note(t, time, fnode, UINT16_MAX, running);
        leaf_note(t, time, fnode, count - UINT16_MAX, running);
        return;
    }
    s->samples = (uint16_t)(s->samples + count);
    s->running = (uint16_t)(s->running + (running ? count : 0));
}

static void
on_samples(ml_index *ix, const ml_record *rec)
{
    uint32_t sid = rec->u.samples.stack;
    uint32_t fnode =
        sid < ix->stack_fnode.len ? ix->stack_fnode.items[sid] : 0;
    ix_thread *t = thread_get(ix, rec->u.samples.thread);
    if (t == NULL) {
        return;
    }
    uint32_t count = rec->u.samples.count;
    int running = (rec->u.samples.state & ML_STATE_RUNNING) != 0;
    uint64_t last = rec->time_us + rec->u.samples.span_us;
    ix_builder_feed(ix, &t->b, rec->u.samples.thread, rec->time_us, last,
                    count, fnode, rec->u.samples.state, index_emit, ix);
    leaf_note(t, rec->time_us, fnode, count, running);
    if (t->samples == 0 || rec->time_us < t->first_us) {
        t->first_us = rec->time_us;
    }
    if (last > t->last_us) {
        t->last_us = last;
    }
    t->samples += count;
    t->running += running ? count : 0;
    ix->samples += count;
    uint32_t *fs = &ix->fnode_samples.items[fnode];
    uint32_t *fr = &ix->fnode_running.items[fnode];
    *fs = *fs > UINT32_MAX - count ? UINT32_MAX : *fs + count;
    if (running) {
        *fr = *fr > UINT32_MAX - count ? UINT32_MAX : *fr + count;
    }

    ix_chunk *c = &ix->chunks.items[ix->chunks.len - 1];
    if (rec->time_us < c->min_t) {
        c->min_t = rec->time_us;
    }
    if (last > c->max_t) {
        c->max_t = last;
    }
}

static int
on_frame(ml_index *ix, const ml_record *rec)
{
    ix_func f = {rec->u.frame.name,
                 rec->u.frame.file,
                 rec->u.frame.firstline,
                 0,
                 UINT64_MAX,
                 0};
    uint32_t fid = intern_func(ix, &f);
    uint32_t len;
    const char *name = ix_string(ix, f.name, &len);
    /* docs/SAMPLER.md: the roots of partial stacks */
    if (f.file == 0 && len == 11 && memcmp(name, "<truncated>", 11) == 0) {
        ix->truncated_fid = fid;
    }
    if (f.file == 0 && len == 12 && memcmp(name, "<unreadable>", 12) == 0) {
        ix->unreadable_fid = fid;
    }
    return fid != 0 && ML_VEC_PUSH(ix->frame_fid, fid) == 0 ? ML_OK
                                                            : ML_ENOMEM;
}

static int
on_stack(ml_index *ix, const ml_record *rec)
{
    uint32_t parent = ix->stack_fnode.items[rec->u.stack.parent];
    uint32_t fid = ix->frame_fid.items[rec->u.stack.frame];
    uint32_t n = intern_fnode(ix, parent, fid);
    return n != 0 && ML_VEC_PUSH(ix->stack_fnode, n) == 0 ? ML_OK : ML_ENOMEM;
}

static double
value_number(const ml_value *v)
{
    switch (v->tag) {
    case ML_TAG_UINT:
        return (double)v->v.u;
    case ML_TAG_INT:
        return (double)v->v.i;
    case ML_TAG_F64:
        return v->v.f;
    default:
        return 0.0 / 0.0; /* NaN: not a number, shown as a gap */
    }
}

static int
on_series(ml_index *ix, const ml_record *rec)
{
    ix_series s;
    memset(&s, 0, sizeof s);
    s.name = rec->u.series.name;
    s.unit = rec->u.series.unit;
    s.cls = rec->u.series.cls;
    return ML_VEC_PUSH(ix->series, s) == 0 ? ML_OK : ML_ENOMEM;
}

static int
on_value(ml_index *ix, const ml_record *rec)
{
    ix_series *s = &ix->series.items[rec->u.value.series - 1];
    struct ix_value v = {rec->time_us, value_number(&rec->u.value.value)};
    if (ML_VEC_PUSH(s->values, v) < 0) {
        return ML_ENOMEM;
    }
    ML_VEC_SETTLE_LAST(s->values, IX_TIME_OF);
    return ML_OK;
}

static int
on_log(ml_index *ix, const ml_record *rec)
{
    const ml_log *l = &rec->u.log;
    ix_log e;
    memset(&e, 0, sizeof e);
    e.t = rec->time_us;
    e.thread = l->thread;
    e.level = l->level;
    e.stack = l->stack;
    e.source = l->source;
    uint32_t len = l->text.len;
    if (len > IX_LOG_TEXT_MAX) {
        len = IX_LOG_TEXT_MAX;
        e.cut = 1;
    }
    if (ix->log_text.len + len > IX_LOG_ARENA_MAX) {
        len = 0;
        e.cut = 1;
    }
    e.off = ix->log_text.len;
    e.len = len;
    if (ml_vec_reserve((void **)&ix->log_text.items, &ix->log_text.cap,
                       ix->log_text.len + len, 1)
        < 0) {
        return ML_ENOMEM;
    }
    if (len > 0) {
        memcpy(ix->log_text.items + ix->log_text.len, l->text.ptr, len);
    }
    ix->log_text.len += len;
    if (ML_VEC_PUSH(ix->logs, e) < 0) {
        return ML_ENOMEM;
    }
    ML_VEC_SETTLE_LAST(ix->logs, IX_TIME_OF);
    return ML_OK;
}

static int
on_span(ml_index *ix, const ml_record *rec)
{
    const ml_span *s = &rec->u.span;
    ix_timed e = {rec->time_us, s->wall_ns,          s->cpu_ns, s->call_id,
                  s->mem_delta, s->thread,           s->name,   s->file,
                  s->line,      s->exception.len > 0};
    if (ML_VEC_PUSH(ix->timed, e) < 0) {
        return ML_ENOMEM;
    }
    ML_VEC_SETTLE_LAST(ix->timed, IX_TIME_OF);
    return ML_OK;
}

static int
on_report(ml_index *ix, const ml_record *rec)
{
    const ml_bytes *b = &rec->u.report.body;
    if (b->len > IX_REPORT_MAX || ix->reports.len >= 64) {
        return ML_OK; /* not what a run's end writes: left out */
    }
    ix_report r = {rec->u.report.kind, malloc(b->len + 1), b->len};
    if (r.body == NULL) {
        return ML_ENOMEM;
    }
    memcpy(r.body, b->ptr, b->len);
    r.body[b->len] = '\0';
    if (ML_VEC_PUSH(ix->reports, r) < 0) {
        free(r.body);
        return ML_ENOMEM;
    }
    return ML_OK;
}

static void
on_meta(ml_index *ix, const ml_record *rec)
{
    const ml_bytes *k = &rec->u.meta.key;
    const ml_value *v = &rec->u.meta.value;
    if (v->tag != ML_TAG_UINT) {
        return;
    }
    if (k->len == 11 && memcmp(k->ptr, "interval_us", 11) == 0 && v->v.u > 0
        && v->v.u < 60000000) {
        ix->interval_us = v->v.u;
    } else if (k->len == 13 && memcmp(k->ptr, "start_unix_ns", 13) == 0) {
        ix->start_unix_ns = v->v.u;
    }
}

static int
on_thread(ml_index *ix, const ml_record *rec)
{
    ix_thread *t = thread_get(ix, rec->u.thread.id);
    if (t == NULL) {
        return ML_ENOMEM;
    }
    t->native_id = rec->u.thread.native_id;
    t->ident = rec->u.thread.ident;
    if (rec->u.thread.name != 0) {
        t->name = rec->u.thread.name;
    }
    return ML_OK;
}

/* A thread that ended (or a run that ended) has no open spans: they are
 * kept like every other span, ending one interval after the last sample. */
static void
close_thread(ml_index *ix, uint32_t id)
{
    ix_thread *t = ix->threads.items[id - 1];
    if (t->b.any) {
        ix_builder_close(ix, &t->b, id, 0, t->b.last_t + ix->interval_us,
                         index_emit, ix);
    }
}

/* Notes which chunk the record came from (a new one starts an entry). */
static int
note_chunk(ml_index *ix)
{
    ml_reader_pos p;
    ml_reader_tell(ix->r, &p);
    if (ix->chunks.len > 0
        && ix->chunks.items[ix->chunks.len - 1].seq == p.chunk_seq) {
        return ML_OK;
    }
    ix_chunk c = {p.chunk_off, p.chunk_seq, UINT64_MAX, 0};
    return ML_VEC_PUSH(ix->chunks, c) == 0 ? ML_OK : ML_ENOMEM;
}

static int
on_record(ml_index *ix, const ml_record *rec)
{
    int err = note_chunk(ix);
    if (err == 0) {
        err = ml_summary_builder_add(ix->sum, rec);
    }
    if (err < 0) {
        return err;
    }
    if (rec->time_us > ix->end_us && rec->kind != ML_KIND_META
        && rec->time_us < ML_TIME_LIMIT_US) {
        ix->end_us = rec->time_us;
    }
    switch (rec->kind) {
    case ML_KIND_META:
        on_meta(ix, rec);
        return ML_OK;
    case ML_KIND_FRAME:
        return on_frame(ix, rec);
    case ML_KIND_STACK:
        return on_stack(ix, rec);
    case ML_KIND_THREAD:
        return on_thread(ix, rec);
    case ML_KIND_THREAD_END: {
        ix_thread *t = thread_get(ix, rec->u.thread_end.id);
        if (t != NULL) {
            t->ended = 1;
            close_thread(ix, rec->u.thread_end.id);
        }
        return ML_OK;
    }
    case ML_KIND_SAMPLES:
        on_samples(ix, rec);
        if (rec->time_us + rec->u.samples.span_us > ix->end_us) {
            ix->end_us = rec->time_us + rec->u.samples.span_us;
        }
        return ML_OK;
    case ML_KIND_SERIES:
        return on_series(ix, rec);
    case ML_KIND_VALUE:
        return on_value(ix, rec);
    case ML_KIND_LOG:
        return on_log(ix, rec);
    case ML_KIND_SPAN:
        return on_span(ix, rec);
    case ML_KIND_REPORT:
        return on_report(ix, rec);
    case ML_KIND_END:
        ix->complete = 1;
        ix->exit_status = rec->u.end.exit_status;
        for (size_t i = 0; i < ix->threads.len; i++) {
            close_thread(ix, (uint32_t)(i + 1));
        }
        return ML_OK;
    default:
        return ML_OK;
    }
}

/* ---- open, update, free ----------------------------------------------------
 */

static void
set_error(ml_index *ix, int err)
{
    ix->err = err;
    const char *m = ml_reader_message(ix->r);
    snprintf(ix->msg, sizeof ix->msg, "%s", m[0] ? m : ml_strerror(err));
}

int
ml_index_update(ml_index *ix)
{
    if (ix->err) {
        return ix->err;
    }
    struct stat st;
    if (stat(ix->path, &st) == 0 && (uint64_t)st.st_size == ix->bytes) {
        return 0;
    }
    ml_reader_retry(ix->r);
    ml_record rec;
    int rc, got = 0;
    while ((rc = ml_reader_next(ix->r, &rec)) > 0) {
        int err = on_record(ix, &rec);
        if (err < 0) {
            ix->err = err;
            snprintf(ix->msg, sizeof ix->msg, "%s", ml_strerror(err));
            return err;
        }
        got = 1;
    }
    ix->truncated = rc == ML_ETRUNC;
    ml_reader_stats s;
    ml_reader_get_stats(ix->r, &s);
    ix->bytes = rc == ML_ETRUNC ? s.bytes_read : s.file_bytes;
    if (rc == ML_ETRUNC) {
        ix->bytes = (uint64_t)st.st_size; /* looked at; more may come */
    }
    if (rc < 0 && rc != ML_ETRUNC) {
        set_error(ix, rc);
        return rc;
    }
    for (size_t i = 0; i < ix->threads.len; i++) {
        leaf_flush(ix->threads.items[i]); /* views see every sample */
        for (int k = 0; k < IX_CACHE; k++) {
            calls_flush(ix->threads.items[i],
                        &ix->threads.items[i]->calls_cache[k]);
        }
    }
    return got;
}

/* Gives back the room arrays grew into: after the first pass most will
 * not grow again (a live run's regrow as they need). */
#define SHRINK(v)                                                             \
    do {                                                                      \
        if ((v).cap > (v).len && (v).len > 0) {                               \
            void *p_ = realloc((v).items, (v).len * sizeof *(v).items);       \
            if (p_ != NULL) {                                                 \
                (v).items = p_;                                               \
                (v).cap = (v).len;                                            \
            }                                                                 \
        }                                                                     \
    } while (0)

static void
shrink(ml_index *ix)
{
    for (size_t i = 0; i < ix->threads.len; i++) {
        ix_thread *t = ix->threads.items[i];
        for (int k = 0; k < IX_HUGE_SHIFT; k++) {
            SHRINK(t->levels[k]);
        }
        SHRINK(t->leaves);
        SHRINK(t->calls);
    }
    SHRINK(ix->fnodes);
    SHRINK(ix->fnode_samples);
    SHRINK(ix->fnode_running);
    SHRINK(ix->stack_fnode);
    SHRINK(ix->frame_fid);
    SHRINK(ix->logs);
    SHRINK(ix->log_text);
    SHRINK(ix->timed);
    SHRINK(ix->chunks);
}

int
ml_index_open(const char *path, ml_index **out)
{
    *out = NULL;
    ml_index *ix = calloc(1, sizeof *ix);
    if (ix == NULL) {
        return ML_ENOMEM;
    }
    pthread_mutex_init(&ix->lock, NULL);
    ix->interval_us = 1000;
    ix->path = strdup(path);
    ix_func none = {0, 0, 0, 0, UINT64_MAX, 0};
    ix_fnode root = {0};
    uint32_t zero = 0;
    ix_pair nopair;
    memset(&nopair, 0, sizeof nopair);
    int err = ix->path ? ML_OK : ML_ENOMEM;
    if (err == 0
        && (ML_VEC_PUSH(ix->funcs, none) < 0
            || ML_VEC_PUSH(ix->fnodes, root) < 0
            || ML_VEC_PUSH(ix->fnode_samples, zero) < 0
            || ML_VEC_PUSH(ix->fnode_running, zero) < 0
            || ML_VEC_PUSH(ix->pairs, nopair) < 0
            || ML_VEC_PUSH(ix->frame_fid, zero) < 0
            || ML_VEC_PUSH(ix->stack_fnode, zero) < 0)) {
        err = ML_ENOMEM;
    }
    if (err == 0) {
        err = ml_reader_open(path, &ix->r);
    }
    if (err == 0) {
        err = ml_summary_builder_new(ix->r, &ix->sum);
    }
    if (err == 0) {
        err = ml_index_update(ix);
    }
    if (err < 0) {
        ml_index_free(ix);
        return err;
    }
    shrink(ix);
    *out = ix;
    return ML_OK;
}

void
ml_index_free(ml_index *ix)
{
    if (ix == NULL) {
        return;
    }
    for (size_t i = 0; i < ix->threads.len; i++) {
        ix_thread *t = ix->threads.items[i];
        for (int k = 0; k < IX_HUGE_SHIFT; k++) {
            free(t->levels[k].items);
        }
        free(t->huge.items);
        free(t->leaves.items);
        free(t->calls.items);
        ix_builder_free(&t->b);
        free(t);
    }
    for (size_t i = 0; i < ix->pairs.len; i++) {
        free(ix->pairs.items[i].sample.items);
        free(ix->pairs.items[i].longest.items);
    }
    for (size_t i = 0; i < ix->series.len; i++) {
        free(ix->series.items[i].values.items);
    }
    free(ix->threads.items);
    free(ix->pairs.items);
    free(ix->series.items);
    free(ix->frame_fid.items);
    free(ix->stack_fnode.items);
    free(ix->funcs.items);
    free(ix->fnodes.items);
    free(ix->fnode_samples.items);
    free(ix->fnode_running.items);
    free(ix->logs.items);
    free(ix->log_text.items);
    free(ix->timed.items);
    free(ix->chunks.items);
    for (size_t i = 0; i < ix->reports.len; i++) {
        free(ix->reports.items[i].body);
    }
    free(ix->reports.items);
    ml_map_free(&ix->func_map);
    ml_map_free(&ix->fnode_map);
    ml_map_free(&ix->pair_map);
    ml_summary_builder_free(ix->sum);
    ml_reader_free(ix->r);
    pthread_mutex_destroy(&ix->lock);
    free(ix->path);
    free(ix);
}

void
ml_index_lock(ml_index *ix)
{
    pthread_mutex_lock(&ix->lock);
}

void
ml_index_unlock(ml_index *ix)
{
    pthread_mutex_unlock(&ix->lock);
}

const char *
ml_index_message(const ml_index *ix)
{
    return ix->msg;
}

int
ml_index_summary(const ml_index *ix, ml_summary **out)
{
    ml_reader_stats st;
    ml_reader_get_stats(ix->r, &st);
    return ml_summary_builder_result(ix->sum, ix->truncated, st.bytes_read,
                                     out);
}

void
ml_index_get_info(const ml_index *ix, ml_index_info *out)
{
    memset(out, 0, sizeof *out);
    out->bytes = ix->bytes;
    out->end_us = ix->end_us;
    out->complete = ix->complete;
    out->exit_status = ix->exit_status;
    out->damaged = ix->err != 0;
    out->threads = (uint32_t)ix->threads.len;
    out->functions = (uint32_t)(ix->funcs.len - 1);
    out->chunks = (uint32_t)ix->chunks.len;
    out->samples = ix->samples;
    out->logs = ix->logs.len;
    out->spans = ix->timed.len;
    out->start_unix_ns = ix->start_unix_ns;
    size_t m = sizeof *ix + ix->funcs.cap * sizeof(ix_func)
               + ix->fnodes.cap * (sizeof(ix_fnode) + 8)
               + ix->pairs.cap * sizeof(ix_pair)
               + ix->logs.cap * sizeof(ix_log) + ix->log_text.cap
               + ix->timed.cap * sizeof(ix_timed)
               + ix->chunks.cap * sizeof(ix_chunk)
               + (ix->frame_fid.cap + ix->stack_fnode.cap) * 4;
    for (size_t i = 0; i < ix->pairs.len; i++) {
        m += (ix->pairs.items[i].sample.cap + ix->pairs.items[i].longest.cap)
             * sizeof(ix_call);
    }
    for (size_t i = 0; i < ix->series.len; i++) {
        m += ix->series.items[i].values.cap * sizeof(struct ix_value);
    }
    for (size_t i = 0; i < ix->threads.len; i++) {
        const ix_thread *t = ix->threads.items[i];
        m += sizeof *t + t->leaves.cap * sizeof(ix_leaf)
             + t->calls.cap * sizeof(ix_calls);
        for (int k = 0; k < IX_HUGE_SHIFT; k++) {
            m += t->levels[k].cap * sizeof(ix_kept);
        }
        m += t->huge.cap * sizeof(ix_span);
    }
    out->memory = m;
}

/* ---- decoding a window again -------------------------------------------- */

int
ix_decode_samples(ml_index *ix, uint64_t from, uint64_t to, ix_samples_fn fn,
                  void *ctx)
{
    for (size_t i = 0; i < ix->chunks.len; i++) {
        const ix_chunk *c = &ix->chunks.items[i];
        if (c->min_t > c->max_t || c->max_t < from || c->min_t > to) {
            continue;
        }
        int err = ml_reader_replay(ix->r, c->off, c->seq);
        if (err < 0) {
            return err;
        }
        ml_record rec;
        int rc;
        while ((rc = ml_reader_next(ix->r, &rec)) > 0) {
            if (rec.kind != ML_KIND_SAMPLES) {
                continue;
            }
            uint64_t last = rec.time_us + rec.u.samples.span_us;
            if (last < from || rec.time_us > to) {
                continue;
            }
            uint32_t sid = rec.u.samples.stack;
            fn(ctx, &rec,
               sid < ix->stack_fnode.len ? ix->stack_fnode.items[sid] : 0);
        }
        ml_reader_replay_end(ix->r);
        if (rc < 0) {
            return rc;
        }
    }
    return ML_OK;
}
