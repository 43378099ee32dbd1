// SPDX-License-Identifier: MIT
// Private to the ml_pywalk_*.c files: the walker's state, the layout a
// version file fills from its CPython headers, and the shared helpers
// (caches, strings, line tables) in ml_pywalk_common.c.

#ifndef ML_PYWALK_INT_H
#define ML_PYWALK_INT_H

#include "ml_prefetch.h"
#include "ml_pywalk.h"
#include "ml_saferead.h"

#include <stddef.h>
#include <stdint.h>

#define ML_PYW_STR_MAX 4096        /* characters kept of a name or file */
#define ML_PYW_LTAB_MAX (1u << 20) /* bytes of a line table */
#define ML_PYW_CODE_COPY_MAX 512   /* bytes of a PyCodeObject we copy */
#define ML_PYW_MAX_THREADS 65536   /* thread states walked per sample */
#define ML_PYW_WBUF_MAX (4u << 20) /* bytes of data stack copied */
#define ML_PYW_MAX_WINDOWS 64      /* data stack chunks copied per thread */
#define ML_PYW_FRAME_MAX 256       /* bytes of one frame we copy */

enum {
    ML_LTAB_LNOTAB = 1, /* 3.9 co_lnotab: (addr delta, line delta) pairs */
    ML_LTAB_PY310 = 2,  /* 3.10 co_linetable: (addr delta, line delta) */
    ML_LTAB_PY311 = 3,  /* 3.11+ co_linetable: location entries */
};

/* Offsets and type addresses from the target Python's headers, filled by
 * the version file, so that this common code needs no Python header. */
typedef struct {
    uint64_t code_type, unicode_type, bytes_type;
    uint32_t off_type;  /* PyObject.ob_type */
    uint32_t off_size;  /* PyVarObject.ob_size */
    uint32_t code_copy; /* bytes of PyCodeObject copied on load/check */
    uint32_t off_name, off_file, off_ltab, off_firstlineno;
    int32_t off_firsttraceable; /* -1 before 3.11 */
    int32_t off_version;        /* co_version, -1 before 3.12 */
    int32_t off_adaptive;       /* co_code_adaptive, -1 before 3.11 */
    int ltab_kind;
    uint32_t uni_ascii_size, uni_compact_size;
    uint32_t uni_off_length, uni_off_state;
    uint32_t bytes_off_sval;
    /* 3.11+ _PyStackChunk */
    uint32_t chunk_off_previous, chunk_off_top, chunk_off_data;
} ml_pylayout;

/* A cached code object. Strings live in the string table, so a reload
 * after address reuse never invalidates pointers already handed out. */
typedef struct {
    uint64_t addr;                   /* 0: empty slot */
    uint64_t name_p, file_p, ltab_p; /* fields re-checked on validation */
    uint32_t version;                /* co_version where it exists */
    int32_t firstlineno;
    int32_t firsttraceable; /* bytes; 0 before 3.11 */
    uint32_t code_bytes;    /* bytecode size (3.11+), 0 unknown */
    uint32_t gen;           /* bumped on every (re)load */
    uint32_t checked;       /* epoch of the last load or validation */
    int dead;               /* failed validation: reload before use */
    int confirmed;          /* validations passed since the last load */
    const char *name, *file;
    uint8_t *ltab;
    uint32_t ltab_len;
} ml_pycode_ent;

typedef struct {
    uint64_t code; /* 0: empty slot */
    int32_t lasti;
    uint32_t gen;
    int32_t line;
} ml_pyline_ent;

/* A frame as walked: enough to match the unchanged part of a stack. */
typedef struct {
    uint64_t frame, code, back;
    int32_t lasti;
} ml_pyfrec;

/* The previous stack of one thread state, keyed by its address and its
 * never reused PyThreadState.id: a new thread can get the old one's
 * address, pthread id, data stack and frame addresses. */
typedef struct {
    uint64_t tstate, uid;
    uint32_t seen; /* epoch of the last sample that saw it */
    int n, truncated, cap;
    ml_pyfrec *f;
} ml_pythrec;

typedef struct {
    uint64_t lo, hi;
    size_t off; /* into wbuf */
} ml_pywin;

/* A set of addresses, emptied in O(1) by bumping its epoch. */
typedef struct {
    uint64_t *key;
    uint32_t *stamp;
    uint32_t cap, epoch;
} ml_pyset;

typedef struct ml_pyw_ops {
    /* Reads the first thread state of the main interpreter and the GIL's
     * holder (0 if unlocked or unknown). Returns 0 or negative. */
    int (*head)(ml_pywalk *w, uint64_t *first, uint64_t *holder);
    /* Copies thread state ts, fills t's ids and w->cur_uid, walks its
     * frames with the ml_pyw_* helpers and stores the next one in *next.
     * Returns
     * 0, or negative if ts is unreadable (the thread list ends there). */
    int (*thread)(ml_pywalk *w, uint64_t ts, ml_pythread *t, uint64_t *next);
} ml_pyw_ops;

struct ml_pywalk {
    ml_pylayout lay;
    const ml_pyw_ops *ops;
    uint64_t interp; /* main interpreter */
    uint64_t gil;    /* GIL state, where it is at a fixed address */
    /* Where in the GIL state threads wait to take it (see
     * ML_PYW_SET_GIL_WAIT): gil_want_off bytes in, gil_size bytes. */
    uint64_t gil_want_off, gil_size;
    int64_t tid_off; /* 3.9/3.10: offset of the tid in glibc's pthread */
    uint32_t epoch;  /* sample counter, never 0 */
    uint64_t walks_retried, walks_failed; /* see ml_pywalk_walk_stats */
    uint64_t cur_uid; /* PyThreadState.id of the thread being walked */
    /* Last round's reads, copied again in one syscall at each round's
     * start: thread states, data stacks and frames go through it
     * (ml_prefetch_read); one-time loads of code objects do not. */
    ml_prefetch pf;

    ml_pycode_ent *codes;
    uint32_t codes_cap, codes_n;
    ml_pyline_ent *lines;
    uint32_t lines_cap, lines_n;
    char **strs;
    uint32_t strs_cap, strs_n;
    char *ubuf;    /* UTF-8 conversion scratch */
    uint8_t *rbuf; /* raw str object copy */

    uint64_t *vq; /* code addresses waiting for validation */
    uint32_t vq_n, vq_cap, vbuf_cap;
    uint8_t *vbuf;
    ml_saferead_req *vreq;

    ml_pythrec *recs;
    int recs_n, recs_cap;

    /* The thread being walked. */
    ml_pyfrec *cur;
    int cur_n, cur_cap, max_depth;
    ml_pyset fseen; /* frames of the thread being walked */
    ml_pyset tseen; /* thread states of this sample */

    /* Copies of its data stack (3.11+). */
    uint8_t *wbuf;
    size_t wbuf_len, wbuf_cap;
    ml_pywin win[ML_PYW_MAX_WINDOWS];
    int nwin;
    uint64_t chunk_cursor; /* chunk whose predecessor is not copied yet */
    uint8_t frame_buf[ML_PYW_FRAME_MAX];
};

/* A thread that wants the GIL waits on the GIL state's cond (timed, in
 * take_gil) or, briefly, on its mutex; a thread that drops the GIL while a
 * switch is requested waits on switch_cond / switch_mutex until another
 * thread has taken it: it hands the GIL over and does not want it (it is
 * on its way into a blocking call, an Event's wait, a sleep). So only cond
 * and mutex, which lie next to each other in every version, say "waiting
 * for the GIL". T is the version's struct _gil_runtime_state. */
#define ML_PYW_SET_GIL_WAIT(w, T)                                             \
    do {                                                                      \
        (w)->gil_want_off = offsetof(T, cond);                                \
        (w)->gil_size =                                                       \
            offsetof(T, mutex) + sizeof(((T *)0)->mutex) - offsetof(T, cond); \
    } while (0)

/* Creates a walker with empty caches for the interpreter at interp, after
 * checking that memory can be read safely; the version file then fills lay
 * and gil. Returns 0, -EINVAL (no out or interpreter), -ENOSYS (no safe-read
 * mechanism) or -ENOMEM. */
int ml_pyw_create(ml_pywalk **out, const ml_pyw_ops *ops, uint64_t interp);

/* The cached entry for a code object, loading it on a miss; NULL if addr
 * holds no readable code object. Valid until the next call that loads. */
const ml_pycode_ent *ml_pyw_code_get(ml_pywalk *w, uint64_t addr);

/* 1 if addr was already visited in this thread's walk, else records it. */
int ml_pyw_seen(ml_pywalk *w, uint64_t addr);

/* Appends a frame to the thread being walked. Returns 1 when the depth
 * bound is reached (the frame is not added), else 0. */
int ml_pyw_push(ml_pywalk *w, uint64_t frame, uint64_t code, uint64_t back,
                int32_t lasti);

/* Bound for loop iterations of one walk, skipped frames included. */
int ml_pyw_walk_limit(const ml_pywalk *w);

/* 3.11+: copies the thread's current data stack chunk [chunk, top) and,
 * in the same syscall, an optional auxiliary region [aux_lo, aux_hi) of at
 * most 4096 bytes (0, 0 for none), both then served by ml_pyw_frame. */
void ml_pyw_stack_begin(ml_pywalk *w, uint64_t chunk, uint64_t top,
                        uint64_t aux_lo, uint64_t aux_hi);

/* 3.11+: a copy of size bytes at frame address addr, from the data stack
 * copies when it lies there, else read alone; NULL if unreadable. */
const void *ml_pyw_frame(ml_pywalk *w, uint64_t addr, size_t size);

/* Reads a str object into the string table; NULL if unreadable. */
const char *ml_pyw_str(ml_pywalk *w, uint64_t addr);

/* Line for byte offset lasti under a code entry's table, -1 unknown. */
int ml_pyw_ltab_line(const ml_pycode_ent *e, int kind, int32_t lasti);

#endif /* ML_PYWALK_INT_H */
