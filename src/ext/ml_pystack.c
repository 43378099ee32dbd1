// SPDX-License-Identifier: MIT
// Threads and stacks of the calling Python thread (see ml_pystack.h).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include "ml_pystack.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "core/ml_map.h"

#define MAX_DEPTH 4096

typedef struct {
    PyObject *code; /* strong reference: the address stays this code's */
    uint32_t name, file, firstline;
    uint32_t file_gen; /* the sink's file its ids belong to */
} code_ids;

/* A place in the code: (code, instruction offset), its line, and the
 * recording's frame for it once interned. Cached so that the line table
 * is decoded and the frame hashed once per place, not per record. The
 * entry holds a reference to the code, so the address stays this code's. */
typedef struct {
    PyObject *code; /* strong reference */
    int lasti;
    int line;
    uint32_t frame;    /* the writer's frame id; 0 until interned */
    uint32_t file_gen; /* the sink's file that id belongs to */
} place;

struct ml_pystack {
    ml_map map; /* code address -> index in codes */
    code_ids *codes;
    uint32_t ncodes, cap;
    ml_map place_map; /* (code address, lasti) -> index in places */
    place *places;    /* 1-based */
    uint32_t nplaces, places_cap;
    /* Scratch: the last ml_pystack_gather, root last, as indexes in
     * places. Valid until the next gather. */
    uint32_t *gathered;
    int nframes;
    uint64_t generation; /* unique per interner: keys thread caches */
};

/* Interners made so far. Protected by the GIL. */
static uint64_t generations;

int
ml_pystack_new(ml_pystack **out)
{
    ml_pystack *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return ML_ENOMEM;
    }
    ml_map_init(&p->map);
    ml_map_init(&p->place_map);
    p->generation = ++generations;
    *out = p;
    return ML_OK;
}

void
ml_pystack_free(ml_pystack *p)
{
    if (p == NULL) {
        return;
    }
    for (uint32_t i = 1; i <= p->ncodes; i++) {
        Py_XDECREF(p->codes[i].code);
    }
    for (uint32_t i = 1; i <= p->nplaces; i++) {
        Py_XDECREF(p->places[i].code);
    }
    free(p->codes);
    free(p->places);
    free(p->gathered);
    ml_map_free(&p->map);
    ml_map_free(&p->place_map);
    free(p);
}

/* The calling thread's id in the current recording, cached: most records
 * come from threads already known, and gettid() is a system call. */
static _Thread_local struct {
    uint64_t generation; /* of the interner (recording) it belongs to */
    uint32_t file_gen;   /* and of the file */
    void *tstate;
    uint32_t id;
} cached_thread;

int
ml_pystack_thread(ml_pystack *p, ml_recorder *r, uint32_t *thread)
{
    PyThreadState *ts = PyThreadState_Get();
    ml_sink *sink = ml_recorder_sink(r);
    if (cached_thread.generation == p->generation
        && cached_thread.file_gen == sink->gen && cached_thread.tstate == ts) {
        *thread = cached_thread.id;
        return ML_OK;
    }
    uint64_t t_us = ml_sink_time_us(sink, ml_clock_mono_ns());
    int err = ml_sampler_current_thread(ml_recorder_sampler(r),
                                        (uint64_t)(uintptr_t)ts,
                                        (uint64_t)PyThread_get_thread_ident(),
                                        (uint64_t)gettid(), t_us, thread);
    if (err == 0) {
        cached_thread.generation = p->generation;
        cached_thread.file_gen = sink->gen;
        cached_thread.tstate = ts;
        cached_thread.id = *thread;
    }
    return err;
}

static int
code_eq(const void *ctx, uint32_t i)
{
    const void *const *c = ctx;
    return ((const ml_pystack *)c[0])->codes[i].code == c[1];
}

static int
utf8_id(ml_writer *w, PyObject *s, uint32_t *id)
{
    Py_ssize_t len = 0;
    const char *text = s ? PyUnicode_AsUTF8AndSize(s, &len) : NULL;
    if (text == NULL) {
        PyErr_Clear();
        text = "?";
        len = 1;
    }
    return ml_writer_string(w, text, (size_t)len, id);
}

/* Makes room for index i (1-based arrays) in *arr of *cap elements of
 * size elem, doubling it. 0 or ML_ENOMEM. */
static int
grow(void **arr, uint32_t *cap, uint32_t i, size_t elem)
{
    if (i < *cap) {
        return ML_OK;
    }
    uint32_t n = *cap ? *cap * 2 : 64;
    void *a = realloc(*arr, n * elem);
    if (a == NULL) {
        return ML_ENOMEM;
    }
    *arr = a;
    *cap = n;
    return ML_OK;
}

int
ml_pystack_code(ml_pystack *p, ml_recorder *r, PyCodeObject *code,
                uint32_t *name, uint32_t *file, uint32_t *firstline)
{
    uint64_t h = ml_hash_mix(0, (uint64_t)(uintptr_t)code);
    const void *ctx[2] = {p, code};
    uint32_t i = ml_map_find(&p->map, h, code_eq, ctx);
    uint32_t gen = ml_recorder_sink(r)->gen;
    if (i != 0 && p->codes[i].file_gen != gen) {
        /* Ids of an earlier file of the run: define them again. */
        code_ids *c = &p->codes[i];
        ml_writer *w = ml_recorder_sink(r)->writer;
        PyCodeObject *co = (PyCodeObject *)c->code;
#if PY_VERSION_HEX >= 0x030B0000
        int err = utf8_id(w, co->co_qualname, &c->name);
#else
        int err = utf8_id(w, co->co_name, &c->name);
#endif
        if (err == 0) {
            err = utf8_id(w, co->co_filename, &c->file);
        }
        if (err < 0) {
            return err;
        }
        c->file_gen = gen;
    }
    if (i == 0) {
        if (grow((void **)&p->codes, &p->cap, p->ncodes + 1, sizeof *p->codes)
            < 0) {
            return ML_ENOMEM;
        }
        code_ids *c = &p->codes[p->ncodes + 1];
        ml_writer *w = ml_recorder_sink(r)->writer;
#if PY_VERSION_HEX >= 0x030B0000
        PyObject *qualname = code->co_qualname;
#else
        PyObject *qualname = code->co_name;
#endif
        int err = utf8_id(w, qualname, &c->name);
        if (err == 0) {
            err = utf8_id(w, code->co_filename, &c->file);
        }
        if (err == 0) {
            err = ml_map_insert(&p->map, h, p->ncodes + 1);
        }
        if (err < 0) {
            return err;
        }
        c->firstline = code->co_firstlineno > 0 ? code->co_firstlineno : 0;
        c->file_gen = gen;
        Py_INCREF(code);
        c->code = (PyObject *)code;
        i = ++p->ncodes;
    }
    *name = p->codes[i].name;
    *file = p->codes[i].file;
    *firstline = p->codes[i].firstline;
    return ML_OK;
}

/* The UTF-8 forms of a code object's names, made now (they are cached in
 * the str objects), so that interning under the sink lock only reads
 * them. */
void
ml_pystack_prepare_code(PyCodeObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *qualname = code->co_qualname;
#else
    PyObject *qualname = code->co_name;
#endif
    if ((qualname != NULL && PyUnicode_AsUTF8(qualname) == NULL)
        || (code->co_filename != NULL
            && PyUnicode_AsUTF8(code->co_filename) == NULL)) {
        PyErr_Clear();
    }
}

static int
place_eq(const void *ctx, uint32_t i)
{
    const ml_pystack *p = ((const void *const *)ctx)[0];
    const place *k = ((const void *const *)ctx)[1];
    return p->places[i].code == k->code && p->places[i].lasti == k->lasti;
}

/* The instruction offset of a frame: a key, never interpreted. */
static int
frame_lasti(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(f);
#else
    return f->f_lasti;
#endif
}

/* The index in p->places of where f is, adding it (its line read from the
 * line table, its code's names prepared) on first sight. */
static int
place_of(ml_pystack *p, PyFrameObject *f, uint32_t *out)
{
    PyCodeObject *code = PyFrame_GetCode(f); /* new reference */
    place k = {.code = (PyObject *)code, .lasti = frame_lasti(f)};
    uint64_t h =
        ml_hash_mix((uint64_t)(uintptr_t)code, (uint64_t)(uint32_t)k.lasti);
    const void *ctx[2] = {p, &k};
    uint32_t i = ml_map_find(&p->place_map, h, place_eq, ctx);
    if (i != 0) {
        Py_DECREF(code);
        *out = i;
        return ML_OK;
    }
    if (grow((void **)&p->places, &p->places_cap, p->nplaces + 1,
             sizeof *p->places)
            < 0
        || ml_map_insert(&p->place_map, h, p->nplaces + 1) < 0) {
        Py_DECREF(code);
        return ML_ENOMEM;
    }
    k.line = PyFrame_GetLineNumber(f);
    ml_pystack_prepare_code(code);
    p->places[++p->nplaces] = k; /* keeps the reference */
    *out = p->nplaces;
    return ML_OK;
}

/* Empties the caches, dropping their references last: that can run
 * finalizers, which may log (and find the interner empty, not torn). */
static void
evict(ml_pystack *p)
{
    code_ids *codes = p->codes;
    place *places = p->places;
    uint32_t ncodes = p->ncodes, nplaces = p->nplaces;
    p->codes = NULL;
    p->places = NULL;
    p->ncodes = p->cap = 0;
    p->nplaces = p->places_cap = 0;
    ml_map_free(&p->map);
    ml_map_free(&p->place_map);
    ml_map_init(&p->map);
    ml_map_init(&p->place_map);
    for (uint32_t i = 1; i <= ncodes; i++) {
        Py_XDECREF(codes[i].code);
    }
    for (uint32_t i = 1; i <= nplaces; i++) {
        Py_XDECREF(places[i].code);
    }
    free(codes);
    free(places);
}

void
ml_pystack_trim(ml_pystack *p, uint32_t max_codes)
{
    /* Past either bound the caches are emptied: a program that makes code
     * objects all the time keeps bounded memory, and its code objects can
     * go. */
    if (p->ncodes >= max_codes || p->nplaces >= 8 * (uint64_t)max_codes) {
        evict(p);
    }
}

int
ml_pystack_gather(ml_pystack *p, PyFrameObject *frame)
{
    p->nframes = 0;
    if (p->gathered == NULL) {
        p->gathered = malloc(MAX_DEPTH * sizeof *p->gathered);
        if (p->gathered == NULL) {
            return ML_ENOMEM;
        }
    }
    if (frame == NULL) {
        frame = PyEval_GetFrame(); /* borrowed */
    }
    int n = 0;
    /* Each PyFrame_GetBack is a new reference; the chain stays alive while
     * the thread runs this call, so borrowed pointers are used and the
     * references dropped at once. */
    for (PyFrameObject *f = frame; f != NULL && n < MAX_DEPTH;) {
        int err = place_of(p, f, &p->gathered[n]);
        if (err < 0) {
            return err;
        }
        n++;
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_XDECREF(back);
        f = back;
    }
    p->nframes = n;
    return ML_OK;
}

int
ml_pystack_stack(ml_pystack *p, ml_recorder *r, uint32_t *stack)
{
    int n = p->nframes;
    p->nframes = 0;
    /* Leave out the launcher's hidden root frames. */
    ml_sampler *s = ml_recorder_sampler(r);
    while (n > 0
           && ml_sampler_is_hidden(
               s, (uint64_t)(uintptr_t)p->places[p->gathered[n - 1]].code)) {
        n--;
    }
    ml_writer *w = ml_recorder_sink(r)->writer;
    uint32_t gen = ml_recorder_sink(r)->gen;
    uint32_t id = 0;
    for (int d = n - 1; d >= 0; d--) {
        place *pl = &p->places[p->gathered[d]];
        int err = ML_OK;
        if (pl->file_gen != gen) {
            pl->frame = 0; /* an earlier file's id */
            pl->file_gen = gen;
        }
        if (pl->frame == 0) {
            uint32_t name, file, first;
            err = ml_pystack_code(p, r, (PyCodeObject *)pl->code, &name, &file,
                                  &first);
            if (err == 0) {
                err = ml_writer_frame(w, name, file,
                                      pl->line > 0 ? (uint32_t)pl->line : 0,
                                      first, &pl->frame);
            }
        }
        if (err == 0) {
            err = ml_writer_stack(w, id, pl->frame, &id);
        }
        if (err < 0) {
            return err;
        }
    }
    *stack = id;
    return ML_OK;
}
