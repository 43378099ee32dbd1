// SPDX-License-Identifier: MIT
// ROUNDS records, both directions (see ml_rounds.h, docs/FORMAT.md).
#include "ml_rounds.h"

#include <stdlib.h>
#include <string.h>

#include "../core/ml_error.h"
#include "ml_codec.h"
#include "ml_format.h"

#define ADDED 0x80000000u /* lane_of: the thread is in this round's adds */

/* ---- shared ------------------------------------------------------------- */

/* Round times, and the times rounds are expected at, stay in [0, 2^62):
 * both sides clamp them there. */
static uint64_t
after(uint64_t t, uint32_t interval)
{
    uint64_t x = t + interval;
    return x < ML_TIME_LIMIT_US ? x : ML_TIME_LIMIT_US - 1;
}

static uint64_t
corrected(uint64_t t, int64_t n, uint64_t step)
{
    int64_t x = (int64_t)t + n * (int64_t)step;
    if (x < 0) {
        return 0;
    }
    return x < (int64_t)ML_TIME_LIMIT_US ? (uint64_t)x : ML_TIME_LIMIT_US - 1;
}

static int
key_eq(ml_rounds_key a, ml_rounds_key b)
{
    return a.stack == b.stack && a.state == b.state && a.cpu == b.cpu;
}

/* Where key's stack and state are in the lane's recent list, or -1. The
 * list leaves CPU shares out: they vary more than where a thread is. */
static int
find_recent(const ml_rounds_lane *l, ml_rounds_key key)
{
    for (uint32_t i = 0; i < l->nrecent; i++) {
        if (l->recent[i].stack == key.stack
            && l->recent[i].state == key.state) {
            return (int)i;
        }
    }
    return -1;
}

/* key becomes the lane's current sample: its stack and state moved to the
 * front of the recent list, or put there (the oldest falls off a full
 * list). recent[0].cpu is the current CPU share; the others' are 0. */
static void
lane_use(ml_rounds_lane *l, ml_rounds_key key)
{
    l->recent[0].cpu = 0;
    int at = find_recent(l, key);
    uint32_t n;
    if (at >= 0) {
        n = (uint32_t)at;
    } else {
        n = l->nrecent < ML_ROUNDS_RECENT ? l->nrecent++ : l->nrecent - 1;
    }
    memmove(&l->recent[1], &l->recent[0], n * sizeof l->recent[0]);
    l->recent[0] = key;
}

static void
lane_start(ml_rounds_lane *l, uint32_t thread, ml_rounds_key key)
{
    memset(l, 0, sizeof *l);
    l->thread = thread;
    l->nrecent = 1;
    l->recent[0] = key;
}

static int
grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) {
        return ML_OK;
    }
    uint32_t n = *cap ? *cap : 16;
    while (n < need) {
        n *= 2;
    }
    void *p = realloc(*arr, (size_t)n * elem);
    if (p == NULL) {
        return ML_ENOMEM;
    }
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *arr = p;
    *cap = n;
    return ML_OK;
}

static int
cpu_valid(uint8_t cpu)
{
    return cpu <= ML_CPU_FULL || cpu == ML_CPU_UNKNOWN;
}

/* ---- encoder ------------------------------------------------------------ */

void
ml_rounds_enc_init(ml_rounds_enc *e)
{
    memset(e, 0, sizeof *e);
    ml_buf_init(&e->body, ML_RECORD_MAX);
    ml_buf_init(&e->pend, ML_RECORD_MAX);
    ml_buf_init(&e->next, ML_RECORD_MAX);
}

void
ml_rounds_enc_free(ml_rounds_enc *e)
{
    ml_buf_free(&e->body);
    ml_buf_free(&e->pend);
    ml_buf_free(&e->next);
    free(e->lanes);
    free(e->lane_of);
    free(e->adds);
    memset(e, 0, sizeof *e);
}

void
ml_rounds_enc_config(ml_rounds_enc *e, uint32_t interval, uint32_t tolerance)
{
    if (interval != 0) {
        e->interval = interval;
        e->interval_known = 1;
    }
    e->tolerance = tolerance > ML_ROUNDS_MAX_TOLERANCE
                       ? ML_ROUNDS_MAX_TOLERANCE
                       : tolerance;
}

int
ml_rounds_enc_has(const ml_rounds_enc *e, uint32_t thread)
{
    return thread < e->lane_of_cap && e->lane_of[thread] != 0;
}

size_t
ml_rounds_enc_size(const ml_rounds_enc *e)
{
    return e->body.len + e->pend.len
           + (e->open ? e->nlanes + 8u * e->nadds : 0);
}

/* The stored time of a round sampled at true_us: the expected one when the
 * true one is within the tolerance of it, else the expected one plus a
 * correction of *d steps of 2 * tolerance + 1 (so still within the
 * tolerance). *head says whether the correction moves the expectation
 * (ML_ROUNDS_HEAD_TIME) or the round was only late (ML_ROUNDS_HEAD_LATE:
 * the next round is expected where it would have been). A late round after
 * one on time is taken as late; one after a corrected round moves the
 * expectation (the sampler skipped ahead, or the rounds drift), so
 * corrections stay small. interior: no run starts or ends at this round,
 * so its time is seen by no reader: a late one is stored as on time (the
 * next round is later than it by more than the tolerance, so a reader
 * never takes it for time going back). */
static uint64_t
round_time(ml_rounds_enc *e, uint64_t true_us, int interior, int64_t *d,
           uint8_t *head)
{
    *d = 0;
    *head = 0;
    if (e->rounds == 0) {
        e->late = 0;
        return true_us;
    }
    if (!e->interval_known) {
        /* The first interval seen is the expectation from now on. */
        uint64_t prev = e->seen_us - 1;
        uint64_t gap = true_us > prev ? true_us - prev : 0;
        e->interval = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
        e->interval_known = 1;
        e->expect_us = after(e->expect_us, e->interval); /* was with 0 */
    }
    uint64_t expected = e->expect_us;
    int64_t diff = (int64_t)true_us - (int64_t)expected;
    int64_t tol = e->tolerance, step = 2 * tol + 1;
    /* An interior round stored on time must not come before the round
     * before it (one stored late): readers would take that for time going
     * back, and start a run there. */
    interior = interior && diff > 0 && expected > e->prev_stored;
    if ((diff <= tol && diff >= -tol) || interior) {
        e->late = 0;
        e->expect_us = after(expected, e->interval);
        return expected;
    }
    /* The step within the tolerance; next to 0 or 2^62 the clamp keeps it
     * there (the true time is within the tolerance of the bound). */
    int64_t n = diff > 0 ? (diff + tol) / step : -((-diff + tol) / step);
    uint64_t stored = corrected(expected, n, (uint64_t)step);
    *d = n;
    if (n > 0 && !e->late) {
        *head = ML_ROUNDS_HEAD_LATE;
        e->expect_us = after(expected, e->interval);
    } else {
        *head = ML_ROUNDS_HEAD_TIME;
        e->expect_us = after(stored, e->interval);
    }
    e->late = 1;
    return stored;
}

static int
put_key(ml_buf *b, ml_rounds_key k)
{
    ML_TRY(ml_buf_append_varint(b, k.stack));
    ML_TRY(ml_buf_append_u8(b, k.state));
    return ml_buf_append_u8(b, k.cpu);
}

static int
put_same(ml_buf *b, uint32_t n)
{
    while (n > 0) {
        uint32_t k = n > ML_ROUNDS_OP_SAME_MAX ? ML_ROUNDS_OP_SAME_MAX : n;
        ML_TRY(ml_buf_append_u8(b, (uint8_t)k));
        n -= k;
    }
    return ML_OK;
}

/* The op for a lane that has a sample other than its current one. */
static int
put_change(ml_buf *b, const ml_rounds_lane *l, ml_rounds_key key)
{
    int at = find_recent(l, key);
    ml_rounds_key cur = l->recent[0];
    if (at == 0 && key.cpu <= ML_CPU_FULL) {
        /* Only the CPU share changed: the commonest change of a busy
         * thread on a busy machine, one byte. */
        return ml_buf_append_u8(b, (uint8_t)(ML_ROUNDS_OP_CPU + key.cpu));
    }
    if (at >= 0 && key.cpu != cur.cpu) {
        ML_TRY(ml_buf_append_u8(b, (uint8_t)(ML_ROUNDS_OP_RECENT_CPU + at)));
        return ml_buf_append_u8(b, key.cpu);
    }
    if (at > 0) {
        return ml_buf_append_u8(b, (uint8_t)(ML_ROUNDS_OP_RECENT + at));
    }
    uint8_t bits = 0;
    bits |= key.stack != cur.stack ? ML_ROUNDS_NEW_STACK : 0;
    bits |= key.state != cur.state ? ML_ROUNDS_NEW_STATE : 0;
    bits |= key.cpu != cur.cpu ? ML_ROUNDS_NEW_CPU : 0;
    ML_TRY(ml_buf_append_u8(b, (uint8_t)(ML_ROUNDS_OP_NEW + bits)));
    if (bits & ML_ROUNDS_NEW_STACK) {
        ML_TRY(ml_buf_append_svarint(b, (int64_t)key.stack - cur.stack));
    }
    if (bits & ML_ROUNDS_NEW_STATE) {
        ML_TRY(ml_buf_append_u8(b, key.state));
    }
    if (bits & ML_ROUNDS_NEW_CPU) {
        ML_TRY(ml_buf_append_u8(b, key.cpu));
    }
    return ML_OK;
}

/* The new lanes and the ops of the round being collected, into e->next;
 * *repeats: every old lane repeats (no run of theirs ends before it). */
static int
code_round(ml_rounds_enc *e, int *repeats)
{
    ml_buf *b = &e->next;
    ml_buf_reset(b);
    *repeats = 1;
    if (e->nadds) {
        ML_TRY(ml_buf_append_varint(b, e->nadds));
        for (uint32_t i = 0; i < e->nadds; i++) {
            ML_TRY(ml_buf_append_varint(b, e->adds[i].thread));
            ML_TRY(put_key(b, e->adds[i].key));
        }
    }
    uint32_t same = 0;
    for (uint32_t i = 0; i < e->nlanes; i++) {
        ml_rounds_lane *l = &e->lanes[i];
        if (l->pending && key_eq(l->next, l->recent[0])) {
            same++;
            continue;
        }
        *repeats = 0;
        ML_TRY(put_same(b, same));
        same = 0;
        ML_TRY(l->pending ? put_change(b, l, l->next)
                          : ml_buf_append_u8(b, ML_ROUNDS_OP_DROP));
    }
    if (same > 0) {
        ML_TRY(ml_buf_append_u8(b, ML_ROUNDS_OP_REST));
    }
    return ML_OK;
}

/* Appends the round held back (e->pend) to the body, now that what comes
 * after it is known: next_us, the next round's time, and next_repeats
 * (its old lanes all repeat), or none (have_next 0: the record ends). The
 * body has room for it. */
static void
put_pending(ml_rounds_enc *e, int have_next, uint64_t next_us,
            int next_repeats)
{
    if (!e->pend_valid) {
        return;
    }
    int interior = have_next && e->pend_repeats && !e->pend_adds
                   && next_repeats && next_us >= e->pend_us + e->interval / 2
                   && next_us > e->pend_us + e->tolerance;
    int64_t d;
    uint8_t head;
    uint64_t stored = round_time(e, e->pend_us, interior, &d, &head);
    head |= e->pend_adds ? ML_ROUNDS_HEAD_ADD : 0;
    ml_buf *b = &e->body;
    if (head != 0) {
        ml_buf_append_u8(b, (uint8_t)(ML_ROUNDS_OP_HEAD | head));
    }
    if (d != 0) {
        ml_buf_append_svarint(b, d);
    }
    ml_buf_append(b, e->pend.data, e->pend.len);
    e->prev_stored = stored;
    if (e->rounds == 0) {
        e->first_us = stored;
        e->expect_us = after(stored, e->interval);
    }
    e->seen_us = e->pend_us + 1;
    e->rounds++;
    e->pend_valid = 0;
}

/* Codes the round being collected, applies it to the lanes, and writes the
 * one before it (held back until now: whether its time matters depends on
 * this one). */
static int
close_round(ml_rounds_enc *e)
{
    if (!e->open) {
        return ML_OK;
    }
    int repeats;
    ML_TRY(code_round(e, &repeats));
    /* Room for the held-back round: once lanes change, nothing may fail. */
    ML_TRY(ml_buf_reserve(&e->body, e->pend.len + 24));
    put_pending(e, 1, e->round_us, repeats);
    int adds = e->nadds > 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < e->nlanes; i++) {
        ml_rounds_lane *l = &e->lanes[i];
        if (!l->pending) {
            e->lane_of[l->thread] = 0;
            continue;
        }
        lane_use(l, l->next);
        l->pending = 0;
        e->lanes[kept] = *l;
        e->lane_of[l->thread] = kept + 1;
        kept++;
    }
    for (uint32_t i = 0; i < e->nadds; i++) {
        ml_rounds_lane *l = &e->lanes[kept];
        lane_start(l, e->adds[i].thread, e->adds[i].key);
        e->lane_of[l->thread] = kept + 1;
        kept++;
    }
    e->nlanes = kept;
    e->nadds = 0;
    ml_buf swap = e->pend;
    e->pend = e->next;
    e->next = swap;
    e->pend_valid = 1;
    e->pend_us = e->round_us;
    e->pend_repeats = repeats;
    e->pend_adds = adds;
    e->open = 0;
    return ML_OK;
}

/* Closes the round being collected and writes the one held back. */
static int
close_all(ml_rounds_enc *e)
{
    ML_TRY(close_round(e));
    ML_TRY(ml_buf_reserve(&e->body, e->pend.len + 24));
    put_pending(e, 0, 0, 0);
    return ML_OK;
}

int
ml_rounds_enc_sample(ml_rounds_enc *e, uint32_t thread, uint64_t time_us,
                     ml_rounds_key key)
{
    if (thread == 0 || thread >= ML_MAX_THREADS || !cpu_valid(key.cpu)) {
        return ML_EINVAL;
    }
    uint32_t at = thread < e->lane_of_cap ? e->lane_of[thread] : 0;
    int again = (at & ADDED) || (at != 0 && e->lanes[at - 1].pending);
    if (e->open && (time_us != e->round_us || again)) {
        ML_TRY(close_round(e));
        at = thread < e->lane_of_cap ? e->lane_of[thread] : 0;
    }
    if (at == 0 && e->nlanes + e->nadds >= ML_ROUNDS_MAX_LANES) {
        return ML_ELIMIT;
    }
    ML_TRY(grow((void **)&e->lane_of, &e->lane_of_cap, thread + 1,
                sizeof *e->lane_of));
    ML_TRY(grow((void **)&e->lanes, &e->lane_cap, e->nlanes + e->nadds + 1,
                sizeof *e->lanes));
    ML_TRY(
        grow((void **)&e->adds, &e->add_cap, e->nadds + 1, sizeof *e->adds));
    if (!e->open) {
        e->open = 1;
        e->round_us = time_us;
    }
    if (at == 0) {
        e->adds[e->nadds] = (ml_rounds_add){thread, key};
        e->lane_of[thread] = ADDED | e->nadds;
        e->nadds++;
    } else {
        ml_rounds_lane *l = &e->lanes[at - 1];
        l->pending = 1;
        l->next = key;
    }
    return ML_OK;
}

int
ml_rounds_enc_first(ml_rounds_enc *e, uint64_t *first_us)
{
    ML_TRY(close_all(e));
    *first_us = e->first_us;
    return e->rounds > 0;
}

int
ml_rounds_enc_finish(ml_rounds_enc *e, ml_buf *out)
{
    ML_TRY(close_all(e));
    int err = 0;
    if (e->rounds > 0) {
        if ((err = ml_buf_append_varint(out, e->interval)) == 0
            && (err = ml_buf_append_varint(out, e->tolerance)) == 0
            && (err = ml_buf_append_varint(out, e->rounds)) == 0) {
            err = ml_buf_append(out, e->body.data, e->body.len);
        }
    }
    for (uint32_t i = 0; i < e->nlanes; i++) {
        e->lane_of[e->lanes[i].thread] = 0;
    }
    e->nlanes = 0;
    e->rounds = 0;
    ml_buf_reset(&e->body);
    return err;
}

/* ---- decoder ------------------------------------------------------------ */

void
ml_rounds_dec_init(ml_rounds_dec *d)
{
    memset(d, 0, sizeof *d);
}

void
ml_rounds_dec_free(ml_rounds_dec *d)
{
    free(d->lanes);
    free(d->lane_of);
    free(d->adds);
    free(d->queue);
    memset(d, 0, sizeof *d);
}

static void
clear_lanes(ml_rounds_dec *d)
{
    for (uint32_t i = 0; i < d->nlanes; i++) {
        d->lane_of[d->lanes[i].thread] = 0;
    }
    for (uint32_t i = 0; i < d->nadds; i++) {
        d->lane_of[d->adds[i].thread] = 0; /* a round cut short */
    }
    d->nlanes = 0;
    d->nadds = 0;
}

int
ml_rounds_dec_begin(ml_rounds_dec *d, const uint8_t *payload, uint32_t len,
                    int64_t *clock, uint32_t max_thread, const char **why)
{
    clear_lanes(d);
    d->qhead = d->qlen = 0;
    d->flushed = 0;
    d->done = 0;
    d->max_thread = max_thread;
    ml_cursor_init(&d->c, payload, len);
    int64_t delta;
    uint32_t tolerance;
    if (ml_cursor_svarint(&d->c, &delta) < 0
        || ml_cursor_varint32(&d->c, &d->interval) < 0
        || ml_cursor_varint32(&d->c, &tolerance) < 0
        || ml_cursor_varint32(&d->c, &d->rounds) < 0) {
        *why = "rounds: bad or missing header field";
        return ML_ECORRUPT;
    }
    if (tolerance > ML_ROUNDS_MAX_TOLERANCE) {
        *why = "rounds: tolerance out of range";
        return ML_ECORRUPT;
    }
    d->step = 2 * (uint64_t)tolerance + 1;
    int64_t limit = (int64_t)ML_TIME_LIMIT_US;
    if (delta <= -limit || delta >= limit || *clock + delta < 0
        || *clock + delta >= limit) {
        *why = "rounds: time out of range";
        return ML_ECORRUPT;
    }
    if (d->rounds == 0 || d->rounds > ml_cursor_left(&d->c)) {
        /* Every round takes at least one byte. */
        *why = "rounds: round count 0 or past the record";
        return ML_ECORRUPT;
    }
    *clock += delta;
    d->t = d->expect = (uint64_t)*clock;
    return ML_OK;
}

/* Queues the lane's run as a SAMPLES record. */
static void
emit(ml_rounds_dec *d, const ml_rounds_lane *l)
{
    ml_record *r = &d->queue[(d->qhead + d->qlen) % d->queue_cap];
    d->qlen++;
    memset(r, 0, sizeof *r);
    r->kind = ML_KIND_SAMPLES;
    r->time_us = l->first_us;
    r->u.samples.thread = l->thread;
    r->u.samples.stack = l->recent[0].stack;
    r->u.samples.state = l->recent[0].state;
    r->u.samples.cpu = l->recent[0].cpu;
    r->u.samples.count = l->count;
    r->u.samples.span_us = l->last_us - l->first_us;
}

static void
run_start(ml_rounds_lane *l, uint64_t t)
{
    l->first_us = l->last_us = t;
    l->count = 1;
}

/* The lane's sample at t is its current one again. A repeat earlier than
 * the run's last sample (time went back) starts a new run. */
static void
repeat(ml_rounds_dec *d, ml_rounds_lane *l, uint64_t t)
{
    if (t < l->last_us || l->count == UINT32_MAX) {
        emit(d, l);
        run_start(l, t);
        return;
    }
    l->count++;
    l->last_us = t;
}

static void
change(ml_rounds_dec *d, ml_rounds_lane *l, ml_rounds_key key, uint64_t t)
{
    if (key_eq(key, l->recent[0])) {
        repeat(d, l, t);
        return;
    }
    emit(d, l);
    lane_use(l, key);
    run_start(l, t);
}

static int
corrupt(const char **why, const char *what)
{
    *why = what;
    return ML_ECORRUPT;
}

static int
get_key(ml_rounds_dec *d, ml_rounds_key *k, const char **why)
{
    if (ml_cursor_varint32(&d->c, &k->stack) < 0
        || ml_cursor_u8(&d->c, &k->state) < 0
        || ml_cursor_u8(&d->c, &k->cpu) < 0) {
        return corrupt(why, "rounds: new lane truncated");
    }
    return cpu_valid(k->cpu) ? ML_OK : corrupt(why, "rounds: bad CPU share");
}

/* The head of a round: its time correction and its new lanes (into
 * d->adds, d->nadds of them). */
static int
round_head(ml_rounds_dec *d, const char **why)
{
    const uint8_t *p = d->c.p;
    if (ml_cursor_left(&d->c) == 0 || *p < ML_ROUNDS_OP_HEAD) {
        return ML_OK;
    }
    uint8_t head = *p & 0x0F;
    d->c.p++;
    uint8_t timed = head & (ML_ROUNDS_HEAD_TIME | ML_ROUNDS_HEAD_LATE);
    if ((head
         & ~(ML_ROUNDS_HEAD_TIME | ML_ROUNDS_HEAD_ADD | ML_ROUNDS_HEAD_LATE))
        || timed == (ML_ROUNDS_HEAD_TIME | ML_ROUNDS_HEAD_LATE)) {
        return corrupt(why, "rounds: unknown round head bits");
    }
    if (timed) {
        int64_t n;
        int64_t limit = (int64_t)ML_TIME_LIMIT_US;
        int64_t step = (int64_t)d->step;
        if (ml_cursor_svarint(&d->c, &n) < 0 || n <= -limit / step
            || n >= limit / step) {
            return corrupt(why, "rounds: bad round time");
        }
        d->t = corrected(d->t, n, d->step);
        if (head & ML_ROUNDS_HEAD_TIME) {
            d->expect = d->t; /* the expectation moves with it */
        }
    }
    if (!(head & ML_ROUNDS_HEAD_ADD)) {
        return ML_OK;
    }
    uint32_t n;
    if (ml_cursor_varint32(&d->c, &n) < 0 || n == 0
        || n > ML_ROUNDS_MAX_LANES - d->nlanes || n > ml_cursor_left(&d->c)) {
        return corrupt(why, "rounds: bad count of new lanes");
    }
    if (grow((void **)&d->adds, &d->add_cap, n, sizeof *d->adds) < 0
        || grow((void **)&d->lane_of, &d->lane_of_cap, d->max_thread + 1,
                sizeof *d->lane_of)
               < 0) {
        return corrupt(why, "rounds: no memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        ml_rounds_add *a = &d->adds[i];
        if (ml_cursor_varint32(&d->c, &a->thread) < 0) {
            return corrupt(why, "rounds: new lane truncated");
        }
        if (a->thread == 0 || a->thread > d->max_thread) {
            return corrupt(why, "rounds: lane of an undefined thread");
        }
        if (d->lane_of[a->thread] != 0) {
            return corrupt(why, "rounds: thread has two lanes");
        }
        d->lane_of[a->thread] = ADDED;
        d->nadds++;
        ML_TRY(get_key(d, &a->key, why));
    }
    return ML_OK;
}

/* The op of old lane l (left lanes to go, l included); *covers: how many
 * lanes it stands for, l included. */
static int
lane_op(ml_rounds_dec *d, ml_rounds_lane *l, uint32_t left, int *drop,
        uint32_t *covers, const char **why)
{
    uint8_t op;
    *drop = 0;
    *covers = 1;
    if (ml_cursor_u8(&d->c, &op) < 0) {
        return corrupt(why, "rounds: round truncated");
    }
    if (op == ML_ROUNDS_OP_REST) {
        *covers = left;
        repeat(d, l, d->t);
        return ML_OK;
    }
    if (op <= ML_ROUNDS_OP_SAME_MAX) {
        if (op > left) {
            return corrupt(why, "rounds: repeats past the last lane");
        }
        *covers = op;
        repeat(d, l, d->t);
        return ML_OK;
    }
    if (op == ML_ROUNDS_OP_DROP) {
        emit(d, l);
        d->lane_of[l->thread] = 0;
        *drop = 1;
        return ML_OK;
    }
    if (op < ML_ROUNDS_OP_NEW) {
        uint32_t i = op - ML_ROUNDS_OP_RECENT;
        if (i >= l->nrecent) {
            return corrupt(why, "rounds: recent sample not there");
        }
        ml_rounds_key k = l->recent[i];
        k.cpu = l->recent[0].cpu;
        change(d, l, k, d->t);
        return ML_OK;
    }
    if (op >= ML_ROUNDS_OP_RECENT_CPU
        && op < ML_ROUNDS_OP_RECENT_CPU + ML_ROUNDS_RECENT) {
        uint32_t i = op - ML_ROUNDS_OP_RECENT_CPU;
        ml_rounds_key k = l->recent[i];
        if (i >= l->nrecent || ml_cursor_u8(&d->c, &k.cpu) < 0
            || !cpu_valid(k.cpu)) {
            return corrupt(why, "rounds: recent sample not there or bad "
                                "CPU share");
        }
        change(d, l, k, d->t);
        return ML_OK;
    }
    if (op >= ML_ROUNDS_OP_CPU && op <= ML_ROUNDS_OP_CPU + ML_CPU_FULL) {
        ml_rounds_key k = l->recent[0];
        k.cpu = op - ML_ROUNDS_OP_CPU;
        change(d, l, k, d->t);
        return ML_OK;
    }
    uint8_t bits = op - ML_ROUNDS_OP_NEW;
    if (bits == 0 || bits > 7) {
        return corrupt(why, "rounds: unknown op");
    }
    ml_rounds_key k = l->recent[0];
    if (bits & ML_ROUNDS_NEW_STACK) {
        int64_t ds;
        if (ml_cursor_svarint(&d->c, &ds) < 0) {
            return corrupt(why, "rounds: bad stack");
        }
        int64_t s = (int64_t)k.stack + ds;
        if (ds < -(int64_t)UINT32_MAX || ds > (int64_t)UINT32_MAX || s < 0
            || s > (int64_t)UINT32_MAX) {
            return corrupt(why, "rounds: stack out of range");
        }
        k.stack = (uint32_t)s;
    }
    if ((bits & ML_ROUNDS_NEW_STATE) && ml_cursor_u8(&d->c, &k.state) < 0) {
        return corrupt(why, "rounds: state truncated");
    }
    if (bits & ML_ROUNDS_NEW_CPU) {
        if (ml_cursor_u8(&d->c, &k.cpu) < 0 || !cpu_valid(k.cpu)) {
            return corrupt(why, "rounds: bad CPU share");
        }
    }
    change(d, l, k, d->t);
    return ML_OK;
}

static int
decode_round(ml_rounds_dec *d, const char **why)
{
    if (d->done > 0) {
        d->t = d->expect = after(d->expect, d->interval);
    }
    d->nadds = 0;
    int err = round_head(d, why);
    if (err < 0) {
        return err;
    }
    uint32_t n0 = d->nlanes, nadds = d->nadds;
    if (n0 == 0 && nadds == 0) {
        return corrupt(why, "rounds: round without samples");
    }
    /* Room for one run ending per old lane, and for the lanes added. */
    if (grow((void **)&d->queue, &d->queue_cap, n0 + nadds + 1,
             sizeof *d->queue)
            < 0
        || grow((void **)&d->lanes, &d->lane_cap, n0 + nadds, sizeof *d->lanes)
               < 0) {
        return corrupt(why, "rounds: no memory");
    }
    uint32_t kept = 0, same = 0;
    for (uint32_t i = 0; i < n0; i++) {
        ml_rounds_lane *l = &d->lanes[i];
        int drop = 0;
        uint32_t covers;
        if (same > 0) {
            same--;
            repeat(d, l, d->t);
        } else if ((err = lane_op(d, l, n0 - i, &drop, &covers, why)) < 0) {
            return err;
        } else {
            same = covers - 1;
        }
        if (!drop) {
            d->lanes[kept] = *l;
            d->lane_of[l->thread] = kept + 1;
            kept++;
        }
    }
    for (uint32_t i = 0; i < nadds; i++) {
        ml_rounds_lane *l = &d->lanes[kept];
        lane_start(l, d->adds[i].thread, d->adds[i].key);
        run_start(l, d->t);
        d->lane_of[l->thread] = kept + 1;
        kept++;
    }
    d->nlanes = kept;
    d->nadds = 0;
    d->done++;
    return ML_OK;
}

int
ml_rounds_dec_next(ml_rounds_dec *d, ml_record *out, const char **why)
{
    for (;;) {
        if (d->qlen > 0) {
            *out = d->queue[d->qhead];
            d->qhead = (d->qhead + 1) % d->queue_cap;
            d->qlen--;
            return 1;
        }
        d->qhead = 0;
        if (d->done < d->rounds) {
            int err = decode_round(d, why);
            if (err < 0) {
                clear_lanes(d);
                d->done = d->rounds;
                d->flushed = 1;
                return err;
            }
            continue;
        }
        if (d->flushed) {
            clear_lanes(d);
            return 0;
        }
        d->flushed = 1;
        if (grow((void **)&d->queue, &d->queue_cap, d->nlanes + 1,
                 sizeof *d->queue)
            < 0) {
            return corrupt(why, "rounds: no memory");
        }
        for (uint32_t i = 0; i < d->nlanes; i++) {
            emit(d, &d->lanes[i]);
        }
    }
}
