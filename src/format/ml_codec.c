// SPDX-License-Identifier: MIT
// Encoding and decoding of record payloads (see ml_codec.h, docs/FORMAT.md).
#include "ml_codec.h"

#include <string.h>

#include "../core/ml_cursor.h"
#include "../core/ml_error.h"
#include "ml_format.h"

/* META keys that 3.0 writes as one byte (docs/FORMAT.md, "META keys"): the
 * keys every run has, which were a third of a trivial run's META. Index 0
 * means "the key's text follows". Fixed at 3.0: a later minor version
 * writes new keys as text. */
static const char *const meta_codes[] = {
    NULL,
    "sampler",
    "interval_us",
    "run_id",
    "name",
    "label",
    "argv",
    "python",
    "pid",
    "host",
    "start_unix_ns",
    "cwd",
    "parent_run",
    "achieved_interval_us",
    "sampler_cpu_ns",
    "previous_run",
    "part",
    "next_run",
};
#define META_CODES (sizeof meta_codes / sizeof meta_codes[0])

/* The code of a well-known key, or 0. */
static uint32_t
meta_code(const ml_bytes *key)
{
    for (uint32_t i = 1; i < META_CODES; i++) {
        if (strlen(meta_codes[i]) == key->len
            && memcmp(meta_codes[i], key->ptr, key->len) == 0) {
            return i;
        }
    }
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

/* A META key: its text before 3.0; since, a code, 0 followed by the text
 * for keys without one. */
static int
put_meta_key(ml_buf *out, uint16_t major, const ml_bytes *key)
{
    if (major >= 3) {
        uint32_t code = meta_code(key);
        ML_TRY(ml_buf_append_varint(out, code));
        if (code != 0) {
            return ML_OK;
        }
    }
    return ml_buf_append_bytes(out, key->ptr, key->len);
}

static int
put_time(ml_buf *out, uint64_t time_us, int64_t *clock)
{
    int64_t t = (int64_t)time_us;
    int64_t delta = t - *clock;
    *clock = t;
    return ml_buf_append_svarint(out, delta);
}

static int
put_value(ml_buf *out, const ml_value *v)
{
    ML_TRY(ml_buf_append_u8(out, v->tag));
    switch (v->tag) {
    case ML_TAG_BYTES:
        return ml_buf_append_bytes(out, v->v.b.ptr, v->v.b.len);
    case ML_TAG_UINT:
        return ml_buf_append_varint(out, v->v.u);
    case ML_TAG_INT:
        return ml_buf_append_svarint(out, v->v.i);
    case ML_TAG_F64:
        return ml_buf_append_f64(out, v->v.f);
    default:
        return ML_EINVAL;
    }
}

static int
put_span(ml_buf *out, const ml_span *s, int64_t *clock)
{
    ML_TRY(put_time(out, s->time_us, clock));
    ML_TRY(ml_buf_append_varint(out, s->call_id));
    ML_TRY(ml_buf_append_varint(out, s->parent_call));
    ML_TRY(ml_buf_append_varint(out, s->thread));
    ML_TRY(ml_buf_append_varint(out, s->wall_ns));
    ML_TRY(ml_buf_append_varint(out, s->cpu_ns));
    ML_TRY(ml_buf_append_svarint(out, s->mem_delta));
    ML_TRY(ml_buf_append_varint(out, s->name));
    ML_TRY(ml_buf_append_varint(out, s->file));
    ML_TRY(ml_buf_append_varint(out, s->line));
    ML_TRY(ml_buf_append_bytes(out, s->args.ptr, s->args.len));
    return ml_buf_append_bytes(out, s->exception.ptr, s->exception.len);
}

static int
put_log(ml_buf *out, const ml_log *l, int64_t *clock)
{
    ML_TRY(put_time(out, l->time_us, clock));
    ML_TRY(ml_buf_append_varint(out, l->thread));
    ML_TRY(ml_buf_append_varint(out, l->level));
    ML_TRY(ml_buf_append_u8(out, l->source));
    ML_TRY(ml_buf_append_varint(out, l->stack));
    return ml_buf_append_bytes(out, l->text.ptr, l->text.len);
}

static int
put_samples(ml_buf *out, const ml_record *r, int64_t *clock)
{
    ML_TRY(ml_buf_append_varint(out, r->u.samples.thread));
    ML_TRY(put_time(out, r->time_us, clock));
    ML_TRY(ml_buf_append_varint(out, r->u.samples.stack));
    ML_TRY(ml_buf_append_u8(out, r->u.samples.state));
    ML_TRY(ml_buf_append_varint(out, r->u.samples.count));
    return ml_buf_append_varint(out, r->u.samples.span_us);
}

/* A 3.x stack's parent: how many ids back it is, 0 for none. Consecutive
 * definitions of a deep call then repeat the same bytes (1, frame), which
 * zstd matches, where growing ids and parents defeat it. */
static int
put_parent(ml_buf *out, uint16_t major, uint32_t id, uint32_t parent)
{
    if (major < 3) {
        return ml_buf_append_varint(out, parent);
    }
    if (parent >= id) {
        return ML_EINVAL; /* not an earlier stack: no distance for it */
    }
    return ml_buf_append_varint(out, parent ? id - parent : 0);
}

/* Ids of definitions: written before 3.0, implied (the next one) since. */
static int
put_id(ml_buf *out, uint16_t major, uint32_t id)
{
    return major < 3 ? ml_buf_append_varint(out, id) : ML_OK;
}

static int
put_definition(ml_buf *out, uint16_t major, const ml_record *r)
{
    switch (r->kind) {
    case ML_KIND_STRING:
        ML_TRY(put_id(out, major, r->u.string.id));
        return ml_buf_append_bytes(out, r->u.string.text.ptr,
                                   r->u.string.text.len);
    case ML_KIND_FRAME:
        ML_TRY(put_id(out, major, r->u.frame.id));
        ML_TRY(ml_buf_append_varint(out, r->u.frame.name));
        ML_TRY(ml_buf_append_varint(out, r->u.frame.file));
        ML_TRY(ml_buf_append_varint(out, r->u.frame.line));
        return ml_buf_append_varint(out, r->u.frame.firstline);
    case ML_KIND_STACK:
        ML_TRY(put_id(out, major, r->u.stack.id));
        ML_TRY(put_parent(out, major, r->u.stack.id, r->u.stack.parent));
        return ml_buf_append_varint(out, r->u.stack.frame);
    case ML_KIND_SERIES:
        ML_TRY(ml_buf_append_varint(out, r->u.series.id));
        ML_TRY(ml_buf_append_u8(out, r->u.series.cls));
        ML_TRY(ml_buf_append_varint(out, r->u.series.name));
        return ml_buf_append_varint(out, r->u.series.unit);
    default:
        return ML_EINVAL;
    }
}

int
ml_codec_encode(ml_buf *out, uint16_t major, const ml_record *r,
                int64_t *clock)
{
    switch (r->kind) {
    case ML_KIND_META:
        ML_TRY(put_meta_key(out, major, &r->u.meta.key));
        return put_value(out, &r->u.meta.value);
    case ML_KIND_THREAD:
        ML_TRY(ml_buf_append_varint(out, r->u.thread.id));
        ML_TRY(put_time(out, r->time_us, clock));
        ML_TRY(ml_buf_append_varint(out, r->u.thread.native_id));
        ML_TRY(ml_buf_append_varint(out, r->u.thread.ident));
        return ml_buf_append_varint(out, r->u.thread.name);
    case ML_KIND_THREAD_END:
        ML_TRY(ml_buf_append_varint(out, r->u.thread_end.id));
        return put_time(out, r->time_us, clock);
    case ML_KIND_SAMPLES:
        return put_samples(out, r, clock);
    case ML_KIND_VALUE:
        ML_TRY(ml_buf_append_varint(out, r->u.value.series));
        ML_TRY(put_time(out, r->time_us, clock));
        return put_value(out, &r->u.value.value);
    case ML_KIND_LOG:
        return put_log(out, &r->u.log, clock);
    case ML_KIND_SPAN:
        return put_span(out, &r->u.span, clock);
    case ML_KIND_REPORT:
        ML_TRY(ml_buf_append_u8(out, r->u.report.kind));
        ML_TRY(ml_buf_append_varint(out, r->u.report.name));
        return ml_buf_append_bytes(out, r->u.report.body.ptr,
                                   r->u.report.body.len);
    case ML_KIND_END:
        ML_TRY(put_time(out, r->time_us, clock));
        return ml_buf_append_svarint(out, r->u.end.exit_status);
    default:
        return put_definition(out, major, r);
    }
}

/* ---- decoding ---------------------------------------------------------- */

/* Decoding steps set *why and return ML_ECORRUPT on the first failure. */
typedef struct {
    ml_cursor c;
    const ml_codec_file *f;
    const char *why;
} dec;

static int
fail(dec *d, const char *why)
{
    if (d->why == NULL) {
        d->why = why;
    }
    return ML_ECORRUPT;
}

static int
get_u8(dec *d, uint8_t *out)
{
    return ml_cursor_u8(&d->c, out) < 0 ? fail(d, "record too short") : 0;
}

static int
get_u64(dec *d, uint64_t *out)
{
    int err = ml_cursor_varint(&d->c, out);
    return err < 0 ? fail(d, "bad or missing varint") : 0;
}

static int
get_u32(dec *d, uint32_t *out)
{
    int err = ml_cursor_varint32(&d->c, out);
    return err < 0 ? fail(d, "bad or missing 32-bit varint") : 0;
}

static int
get_i64(dec *d, int64_t *out)
{
    int err = ml_cursor_svarint(&d->c, out);
    return err < 0 ? fail(d, "bad or missing signed varint") : 0;
}

static int
get_bytes(dec *d, size_t max, ml_bytes *out)
{
    int err = ml_cursor_bytes(&d->c, max, &out->ptr, &out->len);
    return err < 0 ? fail(d, "byte string too long or truncated") : 0;
}

static int
get_time(dec *d, int64_t *clock, uint64_t *out)
{
    int64_t delta;
    ML_TRY(get_i64(d, &delta));
    /* Times are non-negative and far below 2^62 us (146,000 years). */
    int64_t limit = (int64_t)ML_TIME_LIMIT_US;
    if (delta <= -limit || delta >= limit || *clock + delta < 0
        || *clock + delta >= limit) {
        return fail(d, "time out of range");
    }
    *clock += delta;
    *out = (uint64_t)*clock;
    return 0;
}

static int
get_value(dec *d, ml_value *v)
{
    ML_TRY(get_u8(d, &v->tag));
    switch (v->tag) {
    case ML_TAG_BYTES:
        return get_bytes(d, ML_TEXT_MAX, &v->v.b);
    case ML_TAG_UINT:
        return get_u64(d, &v->v.u);
    case ML_TAG_INT:
        return get_i64(d, &v->v.i);
    case ML_TAG_F64:
        return ml_cursor_f64(&d->c, &v->v.f) < 0 ? fail(d, "short double") : 0;
    default:
        return fail(d, "unknown value tag");
    }
}

static int
get_span(dec *d, int64_t *clock, ml_record *r)
{
    ml_span *s = &r->u.span;
    ML_TRY(get_time(d, clock, &s->time_us));
    r->time_us = s->time_us;
    ML_TRY(get_u64(d, &s->call_id));
    ML_TRY(get_u64(d, &s->parent_call));
    ML_TRY(get_u32(d, &s->thread));
    ML_TRY(get_u64(d, &s->wall_ns));
    ML_TRY(get_u64(d, &s->cpu_ns));
    ML_TRY(get_i64(d, &s->mem_delta));
    ML_TRY(get_u32(d, &s->name));
    ML_TRY(get_u32(d, &s->file));
    ML_TRY(get_u32(d, &s->line));
    ML_TRY(get_bytes(d, ML_TEXT_MAX, &s->args));
    return get_bytes(d, ML_TEXT_MAX, &s->exception);
}

static int
get_log(dec *d, int64_t *clock, ml_record *r)
{
    ml_log *l = &r->u.log;
    ML_TRY(get_time(d, clock, &l->time_us));
    r->time_us = l->time_us;
    ML_TRY(get_u32(d, &l->thread));
    ML_TRY(get_u32(d, &l->level));
    ML_TRY(get_u8(d, &l->source));
    ML_TRY(get_u32(d, &l->stack));
    return get_bytes(d, ML_TEXT_MAX, &l->text);
}

static int
get_samples(dec *d, int64_t *clock, ml_record *r)
{
    ML_TRY(get_u32(d, &r->u.samples.thread));
    ML_TRY(get_time(d, clock, &r->time_us));
    ML_TRY(get_u32(d, &r->u.samples.stack));
    ML_TRY(get_u8(d, &r->u.samples.state));
    ML_TRY(get_u32(d, &r->u.samples.count));
    ML_TRY(get_u64(d, &r->u.samples.span_us));
    r->u.samples.cpu = ML_CPU_UNKNOWN; /* 1.x writers did not measure it */
    if (r->u.samples.count == 0) {
        return fail(d, "sample run with count 0");
    }
    if (r->u.samples.span_us >= ML_TIME_LIMIT_US - r->time_us) {
        return fail(d, "sample span out of range");
    }
    return 0;
}

/* A definition's id: stored before 3.0; since, the next of its table
 * (count + 1; a table that is full fails later, in the reader). */
static int
get_id(dec *d, uint32_t count, uint32_t *id)
{
    if (d->f->major < 3) {
        return get_u32(d, id);
    }
    *id = count + 1;
    return 0;
}

/* A stack's parent: stored before 3.0; since, as the distance back from
 * the stack's own id, which must land on an earlier stack or be 0. */
static int
get_parent(dec *d, uint32_t id, uint32_t *parent)
{
    if (d->f->major < 3) {
        return get_u32(d, parent);
    }
    uint32_t back;
    ML_TRY(get_u32(d, &back));
    if (back >= id) {
        return fail(d, "stack parent before the first stack");
    }
    *parent = back ? id - back : 0;
    return 0;
}

static int
get_definition(dec *d, ml_record *r)
{
    switch (r->kind) {
    case ML_KIND_STRING:
        ML_TRY(get_id(d, d->f->strings, &r->u.string.id));
        return get_bytes(d, ML_STRING_MAX, &r->u.string.text);
    case ML_KIND_FRAME:
        ML_TRY(get_id(d, d->f->frames, &r->u.frame.id));
        ML_TRY(get_u32(d, &r->u.frame.name));
        ML_TRY(get_u32(d, &r->u.frame.file));
        ML_TRY(get_u32(d, &r->u.frame.line));
        return get_u32(d, &r->u.frame.firstline);
    case ML_KIND_STACK:
        ML_TRY(get_id(d, d->f->stacks, &r->u.stack.id));
        ML_TRY(get_parent(d, r->u.stack.id, &r->u.stack.parent));
        return get_u32(d, &r->u.stack.frame);
    case ML_KIND_SERIES:
        ML_TRY(get_u32(d, &r->u.series.id));
        ML_TRY(get_u8(d, &r->u.series.cls));
        ML_TRY(get_u32(d, &r->u.series.name));
        return get_u32(d, &r->u.series.unit);
    default:
        return fail(d, "unknown record kind");
    }
}

/* A META key: its text before 3.0; since, a code (0: the text follows),
 * handed out as the key's text. */
static int
get_meta_key(dec *d, ml_bytes *key)
{
    uint32_t code = 0;
    if (d->f->major >= 3) {
        ML_TRY(get_u32(d, &code));
    }
    if (code == 0) {
        return get_bytes(d, ML_STRING_MAX, key);
    }
    if (code >= META_CODES) {
        return fail(d, "unknown META key code");
    }
    key->ptr = (const uint8_t *)meta_codes[code];
    key->len = (uint32_t)strlen(meta_codes[code]);
    return 0;
}

static int
decode_fields(dec *d, int64_t *clock, ml_record *r)
{
    switch (r->kind) {
    case ML_KIND_META:
        ML_TRY(get_meta_key(d, &r->u.meta.key));
        return get_value(d, &r->u.meta.value);
    case ML_KIND_THREAD:
        ML_TRY(get_u32(d, &r->u.thread.id));
        ML_TRY(get_time(d, clock, &r->time_us));
        ML_TRY(get_u64(d, &r->u.thread.native_id));
        ML_TRY(get_u64(d, &r->u.thread.ident));
        return get_u32(d, &r->u.thread.name);
    case ML_KIND_THREAD_END:
        ML_TRY(get_u32(d, &r->u.thread_end.id));
        return get_time(d, clock, &r->time_us);
    case ML_KIND_SAMPLES:
        return get_samples(d, clock, r);
    case ML_KIND_VALUE:
        ML_TRY(get_u32(d, &r->u.value.series));
        ML_TRY(get_time(d, clock, &r->time_us));
        return get_value(d, &r->u.value.value);
    case ML_KIND_LOG:
        return get_log(d, clock, r);
    case ML_KIND_SPAN:
        return get_span(d, clock, r);
    case ML_KIND_REPORT:
        ML_TRY(get_u8(d, &r->u.report.kind));
        ML_TRY(get_u32(d, &r->u.report.name));
        return get_bytes(d, ML_TEXT_MAX, &r->u.report.body);
    case ML_KIND_END:
        ML_TRY(get_time(d, clock, &r->time_us));
        return get_i64(d, &r->u.end.exit_status);
    default:
        return get_definition(d, r);
    }
}

int
ml_codec_decode(uint8_t kind, const ml_codec_file *file,
                const uint8_t *payload, uint32_t len, int64_t *clock,
                ml_record *rec, const char **why)
{
    dec d;
    ml_cursor_init(&d.c, payload, len);
    d.f = file;
    d.why = NULL;
    ml_record r = {.kind = kind};
    int64_t t = *clock;
    if (decode_fields(&d, &t, &r) < 0) {
        *why = d.why;
        return ML_ECORRUPT;
    }
    *clock = t;
    *rec = r;
    return ML_OK;
}

int
ml_codec_known(uint8_t kind)
{
    return kind >= ML_KIND_META && kind <= ML_KIND_END;
}
