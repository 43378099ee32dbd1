// SPDX-License-Identifier: MIT
// Recording summary (see ml_summary.h). One pass over the records counts
// samples per thread and running samples per leaf stack node; functions are
// then computed by walking each distinct stack node once, never per sample.
#include "ml_summary.h"

#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "core/ml_map.h"

/* Caps on META records kept, so hostile input cannot grow the summary. */
#define META_MAX_ENTRIES 256
#define META_MAX_BYTES (1u << 20)

/* A function while it is being identified: ids into the reader's tables. */
typedef struct {
    uint32_t name, file, firstline;
} fn_key;

struct ml_summary_builder {
    ml_reader *r;
    ml_summary *s;          /* what the records so far add up to, unfinished */
    uint32_t *thread_names; /* latest name string id, by thread index */
    size_t thread_cap;      /* of thread_names and s->threads */
    uint64_t *leaf_running; /* running samples by leaf stack id */
    size_t leaf_cap;
    uint8_t *series_cls; /* class + 1 by series id; 0 = undefined */
    size_t series_cap;
    size_t meta_bytes;
    uint64_t last_time;
};

typedef struct ml_summary_builder builder;

/* Stack-tree walk state; arrays indexed by stack id (0 = virtual root). */
typedef struct {
    uint32_t n; /* stack nodes */
    uint32_t *parent, *fn, *first_child, *next_sibling;
    uint64_t *cum;    /* running samples in the node's subtree */
    uint32_t *active; /* by function: occurrences on the current path */
    fn_key *fns;      /* by function index, from 1 */
    uint64_t *self, *total;
    uint32_t nfns;
    ml_map fn_map;
} tree;

/* ---- small helpers ---------------------------------------------------- */

/* Grows *arr (elements of size elem, zero-filled) to hold index idx. */
static int
grow(void **arr, size_t *cap, size_t idx, size_t elem)
{
    if (idx < *cap) {
        return ML_OK;
    }
    size_t n = *cap ? *cap : 16;
    while (n <= idx) {
        n *= 2;
    }
    void *p = realloc(*arr, n * elem);
    if (p == NULL) {
        return ML_ENOMEM;
    }
    memset((char *)p + *cap * elem, 0, (n - *cap) * elem);
    *arr = p;
    *cap = n;
    return ML_OK;
}

static char *
copy_text(const uint8_t *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s != NULL) {
        if (len > 0) {
            memcpy(s, p, len);
        }
        s[len] = '\0';
    }
    return s;
}

/* A copy of string id (or "" for 0 or an unknown id). */
static char *
copy_string(const ml_reader *r, uint32_t id)
{
    ml_bytes b = {NULL, 0};
    if (id != 0 && ml_reader_string(r, id, &b) < 0) {
        b.len = 0;
    }
    return copy_text(b.ptr, b.len);
}

static int
level_bucket(uint32_t level)
{
    if (level >= 50) {
        return ML_LEVEL_CRITICAL;
    }
    return level < 10 ? ML_LEVEL_NOTSET : (int)(level / 10);
}

/* ---- records ---------------------------------------------------------- */

static ml_summary_thread *
thread_slot(builder *b, uint32_t id)
{
    ml_summary *s = b->s;
    size_t cap = b->thread_cap;
    if (grow((void **)&s->threads, &cap, id - 1, sizeof *s->threads) < 0
        || grow((void **)&b->thread_names, &b->thread_cap, id - 1,
                sizeof *b->thread_names)
               < 0) {
        return NULL;
    }
    for (size_t i = s->nthreads; i < id; i++) {
        s->threads[i].id = (uint32_t)(i + 1);
    }
    if (id > s->nthreads) {
        s->nthreads = id;
    }
    return &s->threads[id - 1];
}

static int
on_thread(builder *b, const ml_record *rec)
{
    ml_summary_thread *t = thread_slot(b, rec->u.thread.id);
    if (t == NULL) {
        return ML_ENOMEM;
    }
    t->native_id = rec->u.thread.native_id;
    t->ident = rec->u.thread.ident;
    b->thread_names[rec->u.thread.id - 1] = rec->u.thread.name;
    return ML_OK;
}

static int
on_samples(builder *b, const ml_record *rec)
{
    ml_summary_thread *t = thread_slot(b, rec->u.samples.thread);
    if (t == NULL) {
        return ML_ENOMEM;
    }
    uint64_t n = rec->u.samples.count;
    uint64_t last = rec->time_us + rec->u.samples.span_us;
    if (last > b->last_time) {
        b->last_time = last;
    }
    if (t->samples == 0 || rec->time_us < t->first_us) {
        t->first_us = rec->time_us;
    }
    if (last > t->last_us) {
        t->last_us = last;
    }
    t->samples += n;
    b->s->samples += n;
    if (rec->u.samples.cpu <= ML_CPU_FULL) {
        t->cpu_known += n;
        t->cpu_15ths += n * rec->u.samples.cpu;
    }
    uint8_t state = rec->u.samples.state;
    if (state & ML_STATE_WANTS_GIL) {
        t->gil_wait += n;
    }
    if (state & ML_STATE_UNKNOWN) {
        t->unknown += n;
    }
    if (!(state & ML_STATE_RUNNING)) {
        return ML_OK;
    }
    if (!(state & (ML_STATE_GIL | ML_STATE_FALLBACK))) {
        t->native += n;
    }
    t->running += n;
    b->s->running += n;
    uint32_t stack = rec->u.samples.stack;
    if (grow((void **)&b->leaf_running, &b->leaf_cap, stack,
             sizeof *b->leaf_running)
        < 0) {
        return ML_ENOMEM;
    }
    b->leaf_running[stack] += n;
    return ML_OK;
}

static int
on_series(builder *b, const ml_record *rec)
{
    if (grow((void **)&b->series_cls, &b->series_cap, rec->u.series.id,
             sizeof *b->series_cls)
        < 0) {
        return ML_ENOMEM;
    }
    b->series_cls[rec->u.series.id] = (uint8_t)(rec->u.series.cls + 1);
    return ML_OK;
}

static void
on_value(builder *b, const ml_record *rec)
{
    uint32_t id = rec->u.value.series;
    int cls = id < b->series_cap ? b->series_cls[id] - 1 : -1;
    if (cls == ML_SERIES_STATUS) {
        b->s->status_records++;
    } else if (cls == ML_SERIES_METRIC) {
        b->s->metric_records++;
    }
}

static ml_summary_meta *
meta_slot(builder *b, const ml_bytes *key)
{
    ml_summary *s = b->s;
    for (size_t i = 0; i < s->nmeta; i++) {
        ml_summary_meta *m = &s->meta[i];
        if (strlen(m->key) == key->len
            && memcmp(m->key, key->ptr, key->len) == 0) {
            free(m->text);
            m->text = NULL;
            return m;
        }
    }
    if (s->nmeta == META_MAX_ENTRIES) {
        return NULL;
    }
    if (s->nmeta == 0) {
        s->meta = calloc(META_MAX_ENTRIES, sizeof *s->meta);
        if (s->meta == NULL) {
            return NULL;
        }
    }
    ml_summary_meta *m = &s->meta[s->nmeta];
    m->key = copy_text(key->ptr, key->len);
    if (m->key == NULL) {
        return NULL;
    }
    s->nmeta++;
    return m;
}

static int
on_meta(builder *b, const ml_record *rec)
{
    const ml_value *v = &rec->u.meta.value;
    size_t size =
        rec->u.meta.key.len + (v->tag == ML_TAG_BYTES ? v->v.b.len : 8);
    if (size > META_MAX_BYTES - b->meta_bytes) {
        b->s->meta_dropped = 1;
        return ML_OK;
    }
    ml_summary_meta *m = meta_slot(b, &rec->u.meta.key);
    if (m == NULL) {
        b->s->meta_dropped = 1;
        return b->s->nmeta == META_MAX_ENTRIES ? ML_OK : ML_ENOMEM;
    }
    b->meta_bytes += size;
    m->tag = v->tag;
    m->len = 0;
    if (v->tag == ML_TAG_BYTES) {
        m->text = copy_text(v->v.b.ptr, v->v.b.len);
        m->len = v->v.b.len;
        return m->text == NULL ? ML_ENOMEM : ML_OK;
    }
    m->u = v->tag == ML_TAG_UINT ? v->v.u : 0;
    m->i = v->tag == ML_TAG_INT ? v->v.i : 0;
    m->f = v->tag == ML_TAG_F64 ? v->v.f : 0.0;
    return ML_OK;
}

static int
on_record(builder *b, const ml_record *rec)
{
    ml_summary *s = b->s;
    if (rec->time_us > b->last_time) {
        b->last_time = rec->time_us;
    }
    switch (rec->kind) {
    case ML_KIND_META:
        return on_meta(b, rec);
    case ML_KIND_THREAD:
        return on_thread(b, rec);
    case ML_KIND_SAMPLES:
        return on_samples(b, rec);
    case ML_KIND_SERIES:
        return on_series(b, rec);
    case ML_KIND_VALUE:
        on_value(b, rec);
        return ML_OK;
    case ML_KIND_LOG:
        s->log_records++;
        s->log_levels[level_bucket(rec->u.log.level)]++;
        return ML_OK;
    case ML_KIND_SPAN:
        s->span_records++;
        return ML_OK;
    case ML_KIND_REPORT:
        s->report_records++;
        return ML_OK;
    case ML_KIND_END:
        s->complete = 1;
        s->duration_us = rec->time_us;
        s->exit_status = rec->u.end.exit_status;
        return ML_OK;
    default:
        return ML_OK;
    }
}

/* ---- functions -------------------------------------------------------- */

typedef struct {
    const ml_reader *r;
    const tree *t;
    ml_bytes name, file;
    uint32_t firstline;
} fn_probe;

static int
bytes_eq(const ml_reader *r, uint32_t id, const ml_bytes *b)
{
    ml_bytes have = {NULL, 0};
    if (id != 0 && ml_reader_string(r, id, &have) < 0) {
        have.len = 0;
    }
    return have.len == b->len
           && (b->len == 0 || memcmp(have.ptr, b->ptr, b->len) == 0);
}

static int
fn_eq(const void *ctx, uint32_t value)
{
    const fn_probe *p = ctx;
    const fn_key *k = &p->t->fns[value];
    return k->firstline == p->firstline && bytes_eq(p->r, k->name, &p->name)
           && bytes_eq(p->r, k->file, &p->file);
}

/* The function index of frame id, adding a new function when needed. */
static int
function_of(const ml_reader *r, tree *t, uint32_t frame, uint32_t *out)
{
    uint32_t name, file, line, firstline;
    if (ml_reader_frame(r, frame, &name, &file, &line, &firstline) < 0) {
        return ML_EINVAL;
    }
    fn_probe p = {r, t, {NULL, 0}, {NULL, 0}, firstline};
    if ((name != 0 && ml_reader_string(r, name, &p.name) < 0)
        || (file != 0 && ml_reader_string(r, file, &p.file) < 0)) {
        return ML_EINVAL;
    }
    uint64_t h = ml_hash_mix(ml_hash_bytes(p.name.ptr, p.name.len),
                             ml_hash_bytes(p.file.ptr, p.file.len));
    h = ml_hash_mix(h, firstline);
    uint32_t fn = ml_map_find(&t->fn_map, h, fn_eq, &p);
    if (fn == 0) {
        fn = ++t->nfns;
        t->fns[fn] = (fn_key){name, file, firstline};
        if (ml_map_insert(&t->fn_map, h, fn) < 0) {
            return ML_ENOMEM;
        }
    }
    *out = fn;
    return ML_OK;
}

static void
tree_free(tree *t)
{
    free(t->parent);
    free(t->fn);
    free(t->first_child);
    free(t->next_sibling);
    free(t->cum);
    free(t->active);
    free(t->fns);
    free(t->self);
    free(t->total);
    ml_map_free(&t->fn_map);
}

static int
tree_alloc(tree *t, uint32_t nstacks, uint32_t nframes)
{
    size_t n = (size_t)nstacks + 1, nf = (size_t)nframes + 1;
    t->n = nstacks;
    t->parent = calloc(n, sizeof *t->parent);
    t->fn = calloc(n, sizeof *t->fn);
    t->first_child = calloc(n, sizeof *t->first_child);
    t->next_sibling = calloc(n, sizeof *t->next_sibling);
    t->cum = calloc(n, sizeof *t->cum);
    t->active = calloc(nf, sizeof *t->active);
    t->fns = calloc(nf, sizeof *t->fns);
    t->self = calloc(nf, sizeof *t->self);
    t->total = calloc(nf, sizeof *t->total);
    ml_map_init(&t->fn_map);
    if (!t->parent || !t->fn || !t->first_child || !t->next_sibling || !t->cum
        || !t->active || !t->fns || !t->self || !t->total) {
        return ML_ENOMEM;
    }
    return ML_OK;
}

/* Loads every stack node, links children (in id order) and maps each node
 * to its function; frames are identified once each. */
static int
tree_load(tree *t, const builder *b)
{
    size_t nframes = 0;
    uint32_t *frame_fn = NULL;
    uint32_t *last_child = calloc((size_t)t->n + 1, sizeof *last_child);
    int err = last_child == NULL ? ML_ENOMEM : ML_OK;
    for (uint32_t id = 1; err == 0 && id <= t->n; id++) {
        uint32_t parent, frame;
        if ((err = ml_reader_stack(b->r, id, &parent, &frame)) < 0
            || (err = grow((void **)&frame_fn, &nframes, frame,
                           sizeof *frame_fn))
                   < 0) {
            break;
        }
        if (frame_fn[frame] == 0
            && (err = function_of(b->r, t, frame, &frame_fn[frame])) < 0) {
            break;
        }
        t->parent[id] = parent;
        t->fn[id] = frame_fn[frame];
        t->cum[id] = id < b->leaf_cap ? b->leaf_running[id] : 0;
        t->self[t->fn[id]] += t->cum[id];
        if (last_child[parent] == 0) {
            t->first_child[parent] = id;
        } else {
            t->next_sibling[last_child[parent]] = id;
        }
        last_child[parent] = id;
    }
    free(last_child);
    free(frame_fn);
    return err;
}

/* Parents have smaller ids than their children: one backward pass sums
 * each subtree into its root. */
static void
tree_accumulate(tree *t)
{
    for (uint32_t id = t->n; id > 0; id--) {
        t->cum[t->parent[id]] += t->cum[id];
    }
}

/* Depth-first walk without recursion: a node whose function is not yet on
 * the path from the root adds its subtree's samples to the function's
 * total, so recursion counts each sample once. */
static void
tree_walk(tree *t)
{
    uint32_t node = t->first_child[0];
    while (node != 0) {
        uint32_t f = t->fn[node];
        if (t->active[f]++ == 0) {
            t->total[f] += t->cum[node];
        }
        if (t->first_child[node] != 0) {
            node = t->first_child[node];
            continue;
        }
        while (node != 0) {
            t->active[t->fn[node]]--;
            if (t->next_sibling[node] != 0) {
                node = t->next_sibling[node];
                break;
            }
            node = t->parent[node];
        }
    }
}

static int
function_cmp(const void *pa, const void *pb)
{
    const ml_summary_function *a = pa, *b = pb;
    if (a->total != b->total) {
        return a->total < b->total ? 1 : -1;
    }
    if (a->self != b->self) {
        return a->self < b->self ? 1 : -1;
    }
    int c = strcmp(a->name, b->name);
    if (c == 0) {
        c = strcmp(a->file, b->file);
    }
    return c != 0 ? c : (a->line > b->line) - (a->line < b->line);
}

static int
export_functions(const tree *t, const ml_reader *r, ml_summary *s)
{
    size_t n = 0;
    for (uint32_t f = 1; f <= t->nfns; f++) {
        n += t->total[f] > 0;
    }
    if (n == 0) {
        return ML_OK;
    }
    s->functions = calloc(n, sizeof *s->functions);
    if (s->functions == NULL) {
        return ML_ENOMEM;
    }
    for (uint32_t f = 1; f <= t->nfns; f++) {
        if (t->total[f] == 0) {
            continue;
        }
        ml_summary_function *out = &s->functions[s->nfunctions++];
        out->name = copy_string(r, t->fns[f].name);
        out->file = copy_string(r, t->fns[f].file);
        out->line = t->fns[f].firstline;
        out->self = t->self[f];
        out->total = t->total[f];
        if (out->name == NULL || out->file == NULL) {
            return ML_ENOMEM;
        }
    }
    qsort(s->functions, n, sizeof *s->functions, function_cmp);
    return ML_OK;
}

static int
build_functions(const builder *b, ml_summary *s)
{
    ml_reader_stats st;
    ml_reader_get_stats(b->r, &st);
    tree t = {0};
    int err = tree_alloc(&t, st.stacks, st.frames);
    if (err == 0) {
        err = tree_load(&t, b);
    }
    if (err == 0) {
        tree_accumulate(&t);
        tree_walk(&t);
        err = export_functions(&t, b->r, s);
    }
    tree_free(&t);
    return err;
}

/* ---- totals ----------------------------------------------------------- */

static int
finish_threads(const builder *b, ml_summary *s)
{
    double span = 0.0, gaps = 0.0;
    for (size_t i = 0; i < s->nthreads; i++) {
        ml_summary_thread *t = &s->threads[i];
        t->name = copy_string(b->r, b->thread_names[i]);
        if (t->name == NULL) {
            return ML_ENOMEM;
        }
        if (t->samples > 1) {
            span += (double)(t->last_us - t->first_us);
            gaps += (double)(t->samples - 1);
        }
    }
    s->interval_us = gaps > 0 ? span / gaps : 0.0;
    return ML_OK;
}

static int
finish(const builder *b, ml_summary *s)
{
    ml_reader_stats st;
    ml_reader_get_stats(b->r, &st);
    s->bytes = st.file_bytes;
    s->chunks = st.chunks;
    if (!s->complete) {
        s->duration_us = b->last_time;
    }
    int err = finish_threads(b, s);
    return err < 0 ? err : build_functions(b, s);
}

/* A copy of what the builder added up (meta and threads included, names
 * and functions not: finish() makes them). NULL when out of memory. */
static ml_summary *
copy_base(const ml_summary *src)
{
    ml_summary *s = malloc(sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    *s = *src;
    s->meta = NULL;
    s->threads = NULL;
    s->functions = NULL;
    s->nfunctions = 0;
    s->nmeta = 0;
    s->nthreads = 0;
    s->meta = calloc(src->nmeta ? src->nmeta : 1, sizeof *s->meta);
    s->threads = calloc(src->nthreads ? src->nthreads : 1, sizeof *s->threads);
    if (s->meta == NULL || s->threads == NULL) {
        ml_summary_free(s);
        return NULL;
    }
    for (size_t i = 0; i < src->nmeta; i++) {
        ml_summary_meta *m = &s->meta[s->nmeta++];
        *m = src->meta[i];
        m->key = copy_text((const uint8_t *)src->meta[i].key,
                           strlen(src->meta[i].key));
        m->text = src->meta[i].text ? copy_text(
                      (const uint8_t *)src->meta[i].text, src->meta[i].len)
                                    : NULL;
        if (m->key == NULL || (src->meta[i].text && m->text == NULL)) {
            ml_summary_free(s);
            return NULL;
        }
    }
    if (src->nthreads > 0) { /* a live run may have none yet (NULL) */
        memcpy(s->threads, src->threads, src->nthreads * sizeof *s->threads);
    }
    for (size_t i = 0; i < src->nthreads; i++) {
        s->threads[i].name = NULL;
    }
    s->nthreads = src->nthreads;
    return s;
}

int
ml_summary_builder_new(ml_reader *r, ml_summary_builder **out)
{
    *out = NULL;
    builder *b = calloc(1, sizeof *b);
    if (b == NULL || (b->s = calloc(1, sizeof *b->s)) == NULL) {
        free(b);
        return ML_ENOMEM;
    }
    b->r = r;
    *out = b;
    return ML_OK;
}

int
ml_summary_builder_add(ml_summary_builder *b, const ml_record *rec)
{
    return on_record(b, rec);
}

int
ml_summary_builder_result(const ml_summary_builder *b, int truncated,
                          uint64_t truncated_at, ml_summary **out)
{
    ml_summary *s = copy_base(b->s);
    if (s == NULL) {
        return ML_ENOMEM;
    }
    s->truncated = truncated;
    s->truncated_at = truncated ? truncated_at : 0;
    int err = finish(b, s);
    if (err < 0) {
        ml_summary_free(s);
        return err;
    }
    *out = s;
    return ML_OK;
}

void
ml_summary_builder_free(ml_summary_builder *b)
{
    if (b == NULL) {
        return;
    }
    ml_summary_free(b->s);
    free(b->thread_names);
    free(b->leaf_running);
    free(b->series_cls);
    free(b);
}

/* ---- public ----------------------------------------------------------- */

int
ml_summary_build(ml_reader *r, ml_summary **out)
{
    ml_record rec;
    int rc;
    builder *b;
    int err = ml_summary_builder_new(r, &b);
    if (err < 0) {
        return err;
    }
    while ((rc = ml_reader_next(r, &rec)) > 0) {
        if ((err = on_record(b, &rec)) < 0) {
            ml_summary_builder_free(b);
            return err;
        }
    }
    if (rc < 0 && rc != ML_ETRUNC) {
        ml_summary_builder_free(b);
        return rc;
    }
    err = ml_summary_builder_result(b, rc == ML_ETRUNC,
                                    ml_reader_error_offset(r), out);
    ml_summary_builder_free(b);
    return err;
}

void
ml_summary_free(ml_summary *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nmeta; i++) {
        free(s->meta[i].key);
        free(s->meta[i].text);
    }
    for (size_t i = 0; i < s->nthreads; i++) {
        free(s->threads[i].name);
    }
    for (size_t i = 0; i < s->nfunctions; i++) {
        free(s->functions[i].name);
        free(s->functions[i].file);
    }
    free(s->meta);
    free(s->threads);
    free(s->functions);
    free(s);
}

const ml_summary_meta *
ml_summary_meta_get(const ml_summary *s, const char *key)
{
    for (size_t i = 0; i < s->nmeta; i++) {
        if (strcmp(s->meta[i].key, key) == 0) {
            return &s->meta[i];
        }
    }
    return NULL;
}

const char *
ml_summary_meta_str(const ml_summary *s, const char *key)
{
    const ml_summary_meta *m = ml_summary_meta_get(s, key);
    return m != NULL && m->tag == ML_TAG_BYTES ? m->text : NULL;
}

int
ml_summary_meta_uint(const ml_summary *s, const char *key, uint64_t *out)
{
    const ml_summary_meta *m = ml_summary_meta_get(s, key);
    if (m != NULL && m->tag == ML_TAG_UINT) {
        *out = m->u;
        return ML_OK;
    }
    if (m != NULL && m->tag == ML_TAG_INT && m->i >= 0) {
        *out = (uint64_t)m->i;
        return ML_OK;
    }
    return ML_EINVAL;
}

const char *
ml_summary_level_name(int bucket)
{
    static const char *const names[ML_LEVEL_COUNT] = {
        "notset", "debug", "info", "warning", "error", "critical"};
    return bucket >= 0 && bucket < ML_LEVEL_COUNT ? names[bucket] : "";
}
