// SPDX-License-Identifier: MIT
// Inside the recording index (ml_index.h): the structures the views read.
// Only src/analysis includes this header. Times are microseconds since the
// run's start; ids into the reader's tables are kept as they are.
#ifndef ML_INDEX_INT_H
#define ML_INDEX_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ml_map.h"
#include "format/ml_reader.h"
#include "ml_index.h"

/* ---- growable arrays ---------------------------------------------------- */

#define ML_VEC(T)                                                             \
    struct {                                                                  \
        T *items;                                                             \
        size_t len, cap;                                                      \
    }

/* Makes room for need items of size elem. 0 or ML_ENOMEM. */
int ml_vec_reserve(void **items, size_t *cap, size_t need, size_t elem);

#define ML_VEC_PUSH(v, x)                                                     \
    (((v).len < (v).cap                                                       \
      || ml_vec_reserve((void **)&(v).items, &(v).cap, (v).len + 1,           \
                        sizeof *(v).items)                                    \
             == 0)                                                            \
         ? ((v).items[(v).len++] = (x), 0)                                    \
         : -1)

/* Moves the last item of v back to its place by KEY: for items that arrive
 * nearly in order (records of different threads), so it moves past few. */
#define ML_VEC_SETTLE_LAST(v, KEY)                                            \
    do {                                                                      \
        for (size_t i_ = (v).len - 1;                                         \
             i_ > 0 && KEY(&(v).items[i_ - 1]) > KEY(&(v).items[i_]); i_--) { \
            __typeof__((v).items[0]) tmp_ = (v).items[i_];                    \
            (v).items[i_] = (v).items[i_ - 1];                                \
            (v).items[i_ - 1] = tmp_;                                         \
        }                                                                     \
    } while (0)

/* Keys of the index's sorted arrays, for ML_VEC_SETTLE_LAST and the
 * views' lower bounds. */
#define IX_TIME_OF(x) ((x)->t)
#define IX_BLOCK_OF(x) ((x)->block)

/* ---- sizes -------------------------------------------------------------- */

/* Spans at least this long (2^14 us, about 16 ms) are kept; shorter ones
 * are found again by decoding the chunks of a window. */
#define IX_LONG_SHIFT 14
#define IX_LONG_US (UINT64_C(1) << IX_LONG_SHIFT)
/* Aggregates are kept per block of 2^20 us (about 1 s). */
#define IX_BLOCK_SHIFT 20
#define IX_CACHE 256 /* per-thread aggregation slots (direct-mapped) */
/* Kept spans at least 2^IX_HUGE_SHIFT long are stored unpacked. */
#define IX_HUGE_SHIFT 31
#define IX_MAX_DEPTH 4096
/* Similar calls kept per (caller, function): a uniform sample and the
 * longest ones (anomalies are among the longest). */
#define IX_RESERVOIR 256
#define IX_LONGEST 32
/* Log text kept per entry and in all; longer text is cut (marked). */
#define IX_LOG_TEXT_MAX (64u << 10)
#define IX_LOG_ARENA_MAX (256u << 20)

/* ---- functions and function stacks -------------------------------------- */

/* A Python function, by content: (name, file, first line) as string ids,
 * and when its first and last closed span started (for search hits). */
typedef struct {
    uint32_t name, file, firstline;
    uint32_t pad;
    uint64_t first_us, last_us;
} ix_func;

/* A node of the function prefix tree: a function stack is its parent plus
 * one function. Node 0 is the empty stack. */
typedef struct {
    uint32_t parent;
    uint32_t fid;
    uint32_t pair;       /* (caller function, function) entry, 0 at roots */
    uint32_t last_child; /* the child found last: most lookups repeat it */
    uint16_t depth;      /* number of functions on the stack */
    uint8_t outermost;   /* fid does not occur among the ancestors */
    uint8_t truncated;   /* under the recorder's "<truncated>" root: the
                            innermost part of a stack read only in part */
} ix_fnode;

/* ---- spans -------------------------------------------------------------- */

typedef struct {
    uint64_t start, end;
    uint32_t fid;
    uint32_t running, waiting; /* samples on CPU and off it */
    uint32_t gil;              /* of the waiting: waiting for the GIL */
    uint16_t depth;
    uint16_t pad;
} ix_span;

/* A kept span, packed: start in the low 48 bits (8.9 years), depth in
 * the high 16; duration below 2^31 us. */
typedef struct {
    uint64_t start_depth;
    uint32_t dur, fid;
    uint32_t running, waiting, gil, pad;
} ix_kept;

/* Per-block aggregates of one thread. */
typedef struct {
    uint32_t block, fnode;
    uint16_t samples, running;
} ix_leaf;

typedef struct {
    uint32_t block, fid;
    uint32_t calls, total_us, max_us;
} ix_calls;

/* The open spans of one thread's current stack, by depth. */
typedef struct {
    uint32_t depth, cap;
    uint32_t *node;         /* fnode at each depth (the path from the root) */
    uint64_t *start;        /* span start at each depth */
    uint64_t *r0, *w0, *g0; /* cumulative counts when the span opened */
    uint8_t *unknown; /* opened by the first sample seen: start not known */
    uint64_t running, waiting, gil; /* cumulative sample counts */
    uint64_t last_t;                /* time of the last sample */
    uint64_t first_known;           /* a first sample at or before this time is
                                       the thread's first: its spans start there */
    int any;
} ix_builder;

typedef void (*ix_emit_fn)(void *ctx, uint32_t thread, const ix_span *s,
                           int unknown_start);

typedef struct {
    uint32_t name; /* latest name, reader string id */
    uint64_t native_id, ident;
    uint64_t first_us, last_us;
    uint64_t samples, running;
    int ended;
    uint32_t leaf_block, calls_block; /* blocks the caches are filling */
    ix_builder b;
    ML_VEC(ix_kept)
    levels[IX_HUGE_SHIFT]; /* long spans by length class,
                             sorted by start */
    ML_VEC(ix_span) huge;  /* spans of 2^IX_HUGE_SHIFT us and more */
    ML_VEC(ix_leaf) leaves;
    ML_VEC(ix_calls) calls;
    ix_leaf leaf_cache[IX_CACHE];
    ix_calls calls_cache[IX_CACHE];
} ix_thread;

/* Similar calls: every span of a function under a caller function. */
typedef struct {
    uint64_t start;
    uint32_t dur_us; /* capped at 2^32 - 1 */
    uint32_t thread;
} ix_call;

typedef struct {
    uint32_t caller, fid;
    uint32_t longest_min; /* shortest of the kept longest, once full */
    uint64_t count;
    uint64_t rng;
    uint64_t next_pick;     /* the call that next replaces one in the sample */
    double w;               /* Algorithm L's running weight */
    ML_VEC(ix_call) sample; /* reservoir of at most IX_RESERVOIR */
    ML_VEC(ix_call) longest; /* min-heap by duration, IX_LONGEST */
} ix_pair;

/* ---- other records ------------------------------------------------------ */

typedef struct {
    uint32_t name, unit; /* string ids */
    uint8_t cls;
    ML_VEC(struct ix_value {
        uint64_t t;
        double v;
    })
    values;
} ix_series;

typedef struct {
    uint64_t t;
    uint32_t thread, level, stack;
    uint8_t source, cut;
    uint32_t len;
    size_t off; /* text in ix->log_text */
} ix_log;

typedef struct {
    uint64_t t, wall_ns, cpu_ns, call_id;
    int64_t mem_delta;
    uint32_t thread, name, file, line;
    uint8_t error;
} ix_timed;

/* An end-of-run report (docs/METRICS.md), its JSON body kept whole up to
 * IX_REPORT_MAX bytes (larger ones are dropped). */
#define IX_REPORT_MAX (256u << 10)
typedef struct {
    uint8_t kind;
    char *body;
    size_t len;
} ix_report;

typedef struct {
    uint64_t off;
    uint32_t seq;
    uint64_t min_t, max_t; /* of its samples; min_t > max_t: none */
} ix_chunk;

struct ml_index {
    pthread_mutex_t lock;
    char *path;
    ml_reader *r;
    struct ml_summary_builder *sum; /* the run summary, kept up to date */
    int truncated;                  /* the file ends inside a chunk */
    int err;
    char msg[320];

    uint64_t interval_us;    /* requested interval, for span ends */
    uint32_t truncated_fid;  /* the recorder's "<truncated>" root, or 0 */
    uint32_t unreadable_fid; /* its "<unreadable>" root, or 0 */
    uint64_t start_unix_ns;
    uint64_t end_us;
    int complete;
    int64_t exit_status;

    ML_VEC(uint32_t) frame_fid;     /* by frame id */
    ML_VEC(uint32_t) stack_fnode;   /* by stack id */
    ML_VEC(ix_func) funcs;          /* by fid, [0] unused */
    ML_VEC(ix_fnode) fnodes;        /* [0] the empty stack */
    ML_VEC(uint32_t) fnode_samples; /* whole run, as leaf (saturating) */
    ML_VEC(uint32_t) fnode_running;
    ML_VEC(ix_pair) pairs; /* [0] unused */
    ml_map func_map, fnode_map, pair_map;

    ML_VEC(ix_thread *) threads; /* by thread id - 1 */
    ML_VEC(ix_series) series;    /* by series id - 1 */
    ML_VEC(ix_log) logs;         /* in time order */
    ML_VEC(char) log_text;
    ML_VEC(ix_timed) timed; /* in time order */
    ML_VEC(ix_chunk) chunks;
    ML_VEC(ix_report) reports;
    uint64_t samples;
    uint64_t bytes;
};

/* ---- shared by the index and the views -----------------------------------
 */

static inline uint64_t
ix_kept_start(const ix_kept *k)
{
    return k->start_depth & ((UINT64_C(1) << 48) - 1);
}

static inline ix_span
ix_kept_span(const ix_kept *k)
{
    ix_span s;
    s.start = ix_kept_start(k);
    s.end = s.start + k->dur;
    s.fid = k->fid;
    s.running = k->running;
    s.waiting = k->waiting;
    s.gil = k->gil;
    s.depth = (uint16_t)(k->start_depth >> 48);
    s.pad = 0;
    return s;
}

/* The builder of open spans: feeds one run of samples of a thread (count
 * samples from t0 to t_last with the same function stack), closing and
 * opening spans through emit. */
void ix_builder_feed(ml_index *ix, ix_builder *b, uint32_t thread, uint64_t t0,
                     uint64_t t_last, uint32_t count, uint32_t fnode,
                     uint8_t state, ix_emit_fn emit, void *ctx);
void ix_builder_free(ix_builder *b);
/* The open span at depth d as it would be if it ended at end. */
ix_span ix_builder_span(const ml_index *ix, const ix_builder *b, uint32_t d,
                        uint64_t end);
/* Notes a closed span of the pair's function under its caller. */
void ix_pair_note(ix_pair *p, uint32_t thread, const ix_span *s);
/* Closes the open spans at depths >= keep, ending at end. */
void ix_builder_close(const ml_index *ix, ix_builder *b, uint32_t thread,
                      uint32_t keep, uint64_t end, ix_emit_fn emit, void *ctx);
/* The end a span closed before a sample at t gets. */
uint64_t ix_span_end(const ml_index *ix, uint64_t last_t, uint64_t t);

/* Decodes again the chunks whose samples overlap [from, to] and calls fn
 * for every SAMPLES record of a thread in want (NULL: all) in that range,
 * in file order. 0 or an error. */
typedef void (*ix_samples_fn)(void *ctx, const ml_record *rec, uint32_t fnode);
int ix_decode_samples(ml_index *ix, uint64_t from, uint64_t to,
                      ix_samples_fn fn, void *ctx);

/* The string of a reader id ("" when unknown). */
const char *ix_string(const ml_index *ix, uint32_t id, uint32_t *len);

#endif
