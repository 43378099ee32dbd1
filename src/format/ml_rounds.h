// SPDX-License-Identifier: MIT
// ROUNDS records (format 2.0, docs/FORMAT.md "Samples in rounds"): the
// samples of consecutive sampler rounds, each round's time stored once and
// each thread's sample coded against its own previous ones. The encoder
// (fed by the writer, one sample at a time) and the decoder (used by the
// reader, which hands out runs of identical samples as SAMPLES records) are
// side by side in ml_rounds.c so that they cannot disagree.
//
// Lane ops, one byte each (fields after it where said):
//   0x00       the rest of the round's lanes repeat; the round ends
//   0x01-0x1F  n lanes repeat their previous sample
//   0x20       the lane has no sample: it leaves the list
//   0x21-0x2F  the lane's sample is entry i (1-15) of its recent list
//              (stack and state), with the current CPU share
//   0x30-0x37  a new sample, bits 0-2: stack (svarint, from the current),
//              state (u8), CPU share (u8) follow
//   0x40-0x4F  entry i (0-15) of the recent list, a CPU share (u8) follows
//   0x50-0x5F  the current stack and state with CPU share c (0-15)
//   0xF0-0xF7  only first in a round: bit 0 a time correction that moves
//              the expectation, bit 2 one that does not (a late round):
//              svarint steps of 2 * tolerance + 1; bit 1 new lanes (count,
//              then thread, stack, state, CPU share each)
#ifndef ML_ROUNDS_H
#define ML_ROUNDS_H

#include <stdint.h>

#include "../core/ml_buf.h"
#include "../core/ml_cursor.h"
#include "ml_record.h"

#define ML_ROUNDS_RECENT 16       /* samples a lane remembers */
#define ML_ROUNDS_MAX_LANES 4096u /* threads in one ROUNDS record */

#define ML_ROUNDS_OP_REST 0x00
#define ML_ROUNDS_OP_SAME_MAX 0x1F
#define ML_ROUNDS_OP_DROP 0x20
#define ML_ROUNDS_OP_RECENT 0x20     /* + index 1..15 */
#define ML_ROUNDS_OP_NEW 0x30        /* + field bits */
#define ML_ROUNDS_OP_RECENT_CPU 0x40 /* + index 0..15, CPU share follows */
#define ML_ROUNDS_OP_CPU 0x50        /* + CPU share 0..15 */
#define ML_ROUNDS_NEW_STACK 1
#define ML_ROUNDS_NEW_STATE 2
#define ML_ROUNDS_NEW_CPU 4
#define ML_ROUNDS_OP_HEAD 0xF0 /* + head bits */
#define ML_ROUNDS_HEAD_TIME 1
#define ML_ROUNDS_HEAD_ADD 2
#define ML_ROUNDS_HEAD_LATE 4
#define ML_ROUNDS_MAX_TOLERANCE (1u << 30)

/* A sample as far as runs go: identical keys make one run. */
typedef struct {
    uint32_t stack;
    uint8_t state, cpu;
} ml_rounds_key;

/* One thread of a ROUNDS record. */
typedef struct {
    uint32_t thread;
    uint32_t nrecent;
    ml_rounds_key recent[ML_ROUNDS_RECENT]; /* [0]: its current sample */
    /* Encoder: the sample of the round being collected. */
    int pending;
    ml_rounds_key next;
    /* Decoder: the run being built. */
    uint64_t first_us, last_us;
    uint32_t count;
} ml_rounds_lane;

typedef struct {
    uint32_t thread;
    ml_rounds_key key;
} ml_rounds_add;

/* ---- encoder (the writer's side) ---------------------------------------- */

typedef struct {
    ml_buf body; /* the coded rounds so far */
    ml_rounds_lane *lanes;
    uint32_t nlanes, lane_cap;
    uint32_t *lane_of; /* thread -> lane + 1, or ADDED | add index */
    uint32_t lane_of_cap;
    ml_rounds_add *adds; /* threads of this round without a lane yet */
    uint32_t nadds, add_cap;
    /* The last closed round, held back until the next one shows whether
     * its time matters: its new lanes and ops, without head and time. */
    ml_buf pend, next;
    int pend_valid, pend_repeats, pend_adds;
    uint64_t pend_us;     /* its time as sampled */
    int open;             /* a round is being collected */
    uint64_t round_us;    /* its time as sampled */
    uint64_t first_us;    /* stored time of the record's first round */
    uint64_t expect_us;   /* when the next round is expected */
    int late;             /* the previous round's time was corrected */
    uint64_t prev_stored; /* the previous round's stored time */
    uint32_t rounds;      /* rounds in body */
    uint32_t interval;    /* expected time between rounds, us */
    uint32_t tolerance;   /* a stored time may be this far off, us */
    int interval_known;
    uint64_t seen_us; /* true time of the previous round ever, + 1 */
} ml_rounds_enc;

void ml_rounds_enc_init(ml_rounds_enc *e);
void ml_rounds_enc_free(ml_rounds_enc *e);
/* interval 0: learnt from the first two rounds. tolerance 0: exact. */
void ml_rounds_enc_config(ml_rounds_enc *e, uint32_t interval,
                          uint32_t tolerance);
/* Adds a sample of thread (>= 1) at time_us; a sample at another time, or a
 * second one of a thread, starts a new round. ML_ELIMIT when the record
 * has ML_ROUNDS_MAX_LANES threads and this is another: finish it first. */
int ml_rounds_enc_sample(ml_rounds_enc *e, uint32_t thread, uint64_t time_us,
                         ml_rounds_key key);
/* Non-zero when thread has a sample in the record being built. */
int ml_rounds_enc_has(const ml_rounds_enc *e, uint32_t thread);
/* Bytes the record holds so far (a little short of the payload). */
size_t ml_rounds_enc_size(const ml_rounds_enc *e);
/* Ending a record: ml_rounds_enc_first() closes the rounds and gives the
 * stored time of the first, for the record's time field (a delta from the
 * chunk clock, which the caller writes); 1 when there are rounds, 0 when
 * there are none (nothing to write), or an error. Then
 * ml_rounds_enc_finish() appends interval, tolerance, round count and the
 * rounds to out and starts an empty record. */
int ml_rounds_enc_first(ml_rounds_enc *e, uint64_t *first_us);
int ml_rounds_enc_finish(ml_rounds_enc *e, ml_buf *out);

/* ---- decoder (the reader's side) ---------------------------------------- */

typedef struct {
    ml_cursor c;
    ml_rounds_lane *lanes;
    uint32_t nlanes, lane_cap;
    uint32_t *lane_of; /* thread -> lane + 1 */
    uint32_t lane_of_cap;
    ml_rounds_add *adds; /* this round's new lanes */
    uint32_t nadds, add_cap;
    ml_record *queue; /* runs ready to hand out */
    uint32_t qhead, qlen, queue_cap;
    uint32_t max_thread;
    uint32_t rounds, done; /* rounds stated, rounds decoded */
    uint32_t interval;
    uint64_t step;   /* of time corrections: 2 * tolerance + 1 */
    uint64_t t;      /* time of the last decoded round */
    uint64_t expect; /* the time it was expected at, or t after a move */
    int flushed;
} ml_rounds_dec;

void ml_rounds_dec_init(ml_rounds_dec *d);
void ml_rounds_dec_free(ml_rounds_dec *d);
/* Starts on a ROUNDS payload; *clock is the chunk clock (it becomes the
 * first round's time). Threads above max_thread are errors. 0, or
 * ML_ECORRUPT / ML_ENOMEM with a static reason in *why. */
int ml_rounds_dec_begin(ml_rounds_dec *d, const uint8_t *payload, uint32_t len,
                        int64_t *clock, uint32_t max_thread, const char **why);
/* The next run as a SAMPLES record: 1, 0 at the record's end, or an error
 * as above. Runs come in the order they end; those still open at the end
 * of the record come last, in the order of their threads' lanes. */
int ml_rounds_dec_next(ml_rounds_dec *d, ml_record *out, const char **why);

#endif
