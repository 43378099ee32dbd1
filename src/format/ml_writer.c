// SPDX-License-Identifier: MIT
// Recording writer (see ml_writer.h; the format is in docs/FORMAT.md).
#define _GNU_SOURCE
#include "ml_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "../core/ml_buf.h"
#include "../core/ml_clock.h"
#include "../core/ml_error.h"
#include "../core/ml_hash.h"
#include "../core/ml_map.h"
#include "ml_chunk.h"
#include "ml_codec.h"
#include "ml_rounds.h"

typedef struct {
    uint32_t name, file, line, firstline;
} frame_key;

typedef struct {
    uint32_t parent, frame;
} stack_key;

typedef struct {
    uint32_t off, len; /* in string_data */
} string_ref;

typedef struct {
    uint64_t native_id, ident;
} thread_slot;

struct ml_writer {
    int fd;
    int error;              /* sticky: first failure of a write to the file */
    int os_errno;           /* errno of that failure */
    ml_writer_take_fn take; /* NULL: the writer writes its chunks itself */
    void *take_ctx;
    ZSTD_CCtx *zc;
    int level;
    uint32_t chunk_bytes;
    uint32_t inline_bytes; /* a record call seals past this; tick past
                              chunk_bytes */
    uint64_t flush_ns;

    ml_buf chunk;   /* records of the chunk being built */
    ml_buf payload; /* one record's payload */
    ml_buf out;     /* chunk header + compressed payload */
    uint32_t seq;
    int has_base;
    uint64_t base_us;
    int64_t clock;
    uint64_t dirty_since_ns; /* 0: nothing buffered */

    ml_map string_map;
    ml_buf string_data;
    string_ref *strings;
    uint32_t nstrings, string_cap;

    ml_map frame_map;
    frame_key *frames;
    uint32_t nframes, frame_cap;

    ml_map stack_map;
    stack_key *stacks;
    uint32_t nstacks, stack_cap;

    thread_slot *threads;
    uint32_t nthreads, thread_cap;
    /* The samples of the chunk so far: one ROUNDS record, written when the
     * chunk is sealed (or before a thread's end, or when it grows large). */
    ml_rounds_enc rounds;
    uint32_t nseries;

    uint64_t bytes;
    uint64_t samples;
};

/* Times in a recording are below 2^62 us (docs/FORMAT.md). */

/* ---- growing id-indexed arrays ----------------------------------------- */

/* Makes room for index n (ids start at 1) in an array of elem-sized items. */
static int
grow_array(void **arr, uint32_t *cap, uint32_t n, size_t elem, uint32_t max)
{
    if (n >= max) {
        return ML_ELIMIT;
    }
    if (n < *cap) {
        return ML_OK;
    }
    uint32_t ncap = *cap ? *cap : 64;
    while (ncap <= n) {
        ncap *= 2;
    }
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL) {
        return ML_ENOMEM;
    }
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return ML_OK;
}

/* ---- writing chunks ---------------------------------------------------- */

/* Writes all of p to fd, adding what was written to *bytes; on failure
 * stores errno in *os_errno. */
static int
write_fd(int fd, const uint8_t *p, size_t len, uint64_t *bytes, int *os_errno)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *os_errno = n < 0 ? errno : ENOSPC;
            return ML_EIO;
        }
        p += n;
        len -= (size_t)n;
        *bytes += (uint64_t)n;
    }
    return ML_OK;
}

static int
write_all(ml_writer *w, const uint8_t *p, size_t len)
{
    return write_fd(w->fd, p, len, &w->bytes, &w->os_errno);
}

static int
set_error(ml_writer *w, int err)
{
    if (err < 0 && w->error == 0) {
        w->error = err;
    }
    return err;
}

static int seal_chunk(ml_writer *w);

/* Appends kind, length and payload of rec to the chunk being built. */
static int
append_record(ml_writer *w, const ml_record *rec)
{
    if (w->error) {
        return w->error;
    }
    int timed = rec->kind != ML_KIND_META && rec->kind != ML_KIND_STRING
                && rec->kind != ML_KIND_FRAME && rec->kind != ML_KIND_STACK
                && rec->kind != ML_KIND_SERIES && rec->kind != ML_KIND_REPORT;
    if (timed && rec->time_us >= ML_TIME_LIMIT_US) {
        return ML_EINVAL; /* readers would reject the whole chunk */
    }
    if (timed && !w->has_base) {
        w->has_base = 1;
        w->base_us = rec->time_us;
        w->clock = (int64_t)rec->time_us;
    }
    ml_buf_reset(&w->payload);
    int err =
        ml_codec_encode(&w->payload, ML_FORMAT_VERSION_MAJOR, rec, &w->clock);
    if (err < 0) {
        return err;
    }
    if ((err = ml_buf_append_u8(&w->chunk, rec->kind)) < 0
        || (err = ml_buf_append_bytes(&w->chunk, w->payload.data,
                                      w->payload.len))
               < 0) {
        return err;
    }
    if (w->dirty_since_ns == 0) {
        w->dirty_since_ns = ml_clock_mono_ns() | 1;
    }
    if (w->chunk.len + ml_rounds_enc_size(&w->rounds) >= w->inline_bytes) {
        return seal_chunk(w);
    }
    return ML_OK;
}

/* A ROUNDS record so big that it could pass the record limit is written. */
#define ROUNDS_RECORD_BYTES (ML_RECORD_MAX / 2)

/* Appends the samples buffered so far as a ROUNDS record (never seals:
 * seal_chunk calls this). */
static int
emit_rounds(ml_writer *w)
{
    if (w->error) {
        return w->error;
    }
    uint64_t first;
    int err = ml_rounds_enc_first(&w->rounds, &first);
    if (err <= 0) {
        return err;
    }
    ml_buf_reset(&w->payload);
    int64_t delta = (int64_t)first - w->clock;
    w->clock = (int64_t)first;
    if ((err = ml_buf_append_svarint(&w->payload, delta)) < 0
        || (err = ml_rounds_enc_finish(&w->rounds, &w->payload)) < 0
        || (err = ml_buf_append_u8(&w->chunk, ML_KIND_ROUNDS)) < 0
        || (err = ml_buf_append_bytes(&w->chunk, w->payload.data,
                                      w->payload.len))
               < 0) {
        return err;
    }
    return ML_OK;
}

int
ml_chunk_write(int fd, void *zc, int level, const ml_sealed_chunk *c,
               ml_buf *scratch, uint64_t *bytes, int *os_errno)
{
    size_t bound = ZSTD_compressBound(c->records.len);
    ml_buf_reset(scratch);
    int err = ml_buf_reserve(scratch, ML_CHUNK_HEADER_SIZE + bound);
    if (err < 0) {
        return err;
    }
    uint8_t *dst = scratch->data + ML_CHUNK_HEADER_SIZE;
    size_t n = ZSTD_compressCCtx(zc, dst, bound, c->records.data,
                                 c->records.len, level);
    if (ZSTD_isError(n)) {
        return ML_ECOMPRESS;
    }
    ml_chunk_header h = {
        .seq = c->seq,
        .base_time_us = c->base_us,
        .compressed_size = (uint32_t)n,
        .raw_size = (uint32_t)c->records.len,
        .payload_checksum = ml_checksum(dst, n),
    };
    ml_chunk_header_encode(&h, scratch->data);
    /* One write per chunk: a kill leaves whole chunks and at most one torn
     * one at the end. */
    return write_fd(fd, scratch->data, ML_CHUNK_HEADER_SIZE + n, bytes,
                    os_errno);
}

static int
write_chunk(ml_writer *w)
{
    ml_sealed_chunk c = {.seq = w->seq, .base_us = w->base_us};
    if (w->take != NULL) {
        /* The owner compresses and writes it, off its lock. */
        c.records = w->chunk;
        int err = w->take(w->take_ctx, &c);
        w->chunk = c.records; /* what the owner gave back, empty */
        return err;
    }
    c.records = w->chunk;
    return ml_chunk_write(w->fd, w->zc, w->level, &c, &w->out, &w->bytes,
                          &w->os_errno);
}

int
ml_writer_flush(ml_writer *w)
{
    if (w->error) {
        return w->error;
    }
    int err = seal_chunk(w);
    if (err == 0) {
        w->dirty_since_ns = 0;
    }
    return err;
}

/* Writes the records buffered so far as one chunk. */
static int
seal_chunk(ml_writer *w)
{
    int err = emit_rounds(w);
    if (err < 0) {
        return err;
    }
    if (w->chunk.len == 0) {
        return ML_OK;
    }
    err = write_chunk(w);
    if (err < 0) {
        return set_error(w, err);
    }
    w->seq++;
    w->has_base = 0;
    ml_buf_reset(&w->chunk);
    return ML_OK;
}

int
ml_writer_tick(ml_writer *w, uint64_t now_ns)
{
    if (w->chunk.len + ml_rounds_enc_size(&w->rounds) >= w->chunk_bytes
        && !w->error) {
        return seal_chunk(w); /* full, left for the tick (defer_seal) */
    }
    if (w->dirty_since_ns == 0 || now_ns < w->dirty_since_ns
        || now_ns - w->dirty_since_ns < w->flush_ns) {
        return w->error;
    }
    return ml_writer_flush(w);
}

int
ml_writer_os_errno(const ml_writer *w)
{
    return w->os_errno;
}

void *
ml_chunk_ctx_new(void)
{
    return ZSTD_createCCtx();
}

void
ml_chunk_ctx_free(void *zc)
{
    ZSTD_freeCCtx(zc);
}

int
ml_writer_fd(const ml_writer *w)
{
    return w->fd;
}

int
ml_writer_level(const ml_writer *w)
{
    return w->level;
}

/* ---- lifetime ---------------------------------------------------------- */

static int open_writer(int fd, const ml_writer_options *opt, ml_writer **out);

int
ml_writer_open_fd(int fd, const ml_writer_options *opt, ml_writer **out)
{
    if (fd < 0 || out == NULL) {
        return ML_EINVAL;
    }
    return open_writer(fd, opt, out);
}

int
ml_writer_open_take(const ml_writer_options *opt, ml_writer **out)
{
    if (opt == NULL || opt->take == NULL || out == NULL) {
        return ML_EINVAL;
    }
    return open_writer(-1, opt, out);
}

/* fd -1: no file (every chunk goes to opt->take, the header too is the
 * owner's). */
static int
open_writer(int fd, const ml_writer_options *opt, ml_writer **out)
{
    ml_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return ML_ENOMEM;
    }
    w->fd = fd;
    w->chunk_bytes = opt && opt->chunk_bytes ? opt->chunk_bytes : 256 << 10;
    if (w->chunk_bytes > ML_CHUNK_MAX_RAW / 2) {
        w->chunk_bytes = ML_CHUNK_MAX_RAW / 2;
    }
    uint32_t ms =
        opt && opt->flush_interval_ms ? opt->flush_interval_ms : 1000;
    w->flush_ns = (uint64_t)ms * 1000000u;
    w->level = opt && opt->zstd_level ? opt->zstd_level : 3;
    w->inline_bytes = w->chunk_bytes;
    if (opt && opt->take) {
        w->take = opt->take;
        w->take_ctx = opt->take_ctx;
    }
    if (opt && opt->defer_seal) {
        uint32_t cap = ML_CHUNK_MAX_RAW - ML_RECORD_MAX - 16;
        w->inline_bytes = w->chunk_bytes > cap / 4 ? cap : w->chunk_bytes * 4;
    }
    /* Room for a full chunk plus the largest record that may follow it. */
    ml_buf_init(&w->chunk, w->inline_bytes + ML_RECORD_MAX);
    ml_buf_init(&w->payload, ML_RECORD_MAX);
    ml_buf_init(&w->out, ML_CHUNK_MAX_COMPRESSED + ML_CHUNK_HEADER_SIZE);
    ml_buf_init(&w->string_data, ML_MAX_STRING_BYTES);
    ml_map_init(&w->string_map);
    ml_map_init(&w->frame_map);
    ml_map_init(&w->stack_map);
    ml_rounds_enc_init(&w->rounds);
    w->zc = ZSTD_createCCtx();
    if (w->zc == NULL) {
        w->fd = -1;
        ml_writer_close(w);
        return ML_ENOMEM;
    }
    uint8_t header[ML_FILE_HEADER_SIZE];
    ml_file_header_encode(header);
    int err = fd >= 0 ? write_all(w, header, sizeof header) : ML_OK;
    if (err < 0) {
        w->fd = -1;
        ml_writer_close(w);
        return err;
    }
    *out = w;
    return ML_OK;
}

int
ml_writer_open(const char *path, const ml_writer_options *opt, ml_writer **out)
{
    if (path == NULL || out == NULL) {
        return ML_EINVAL;
    }
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        return ML_EIO;
    }
    int err = ml_writer_open_fd(fd, opt, out);
    if (err < 0) {
        close(fd);
        unlink(path);
    }
    return err;
}

static void
free_writer(ml_writer *w)
{
    ZSTD_freeCCtx(w->zc);
    ml_buf_free(&w->chunk);
    ml_buf_free(&w->payload);
    ml_buf_free(&w->out);
    ml_buf_free(&w->string_data);
    ml_map_free(&w->string_map);
    ml_map_free(&w->frame_map);
    ml_map_free(&w->stack_map);
    ml_rounds_enc_free(&w->rounds);
    free(w->strings);
    free(w->frames);
    free(w->stacks);
    free(w->threads);
    free(w);
}

int
ml_writer_close(ml_writer *w)
{
    if (w == NULL) {
        return ML_OK;
    }
    int err = w->fd >= 0 || w->take != NULL ? ml_writer_flush(w) : ML_OK;
    if (w->fd >= 0 && close(w->fd) != 0 && err == 0) {
        err = ML_EIO;
    }
    free_writer(w);
    return err;
}

void
ml_writer_abandon(ml_writer *w)
{
    if (w == NULL) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    free_writer(w);
}

/* ---- metadata and interning -------------------------------------------- */

int
ml_writer_meta(ml_writer *w, const char *key, const ml_value *value)
{
    size_t klen = strlen(key);
    if (klen > ML_STRING_MAX
        || (value->tag == ML_TAG_BYTES && value->v.b.len > ML_TEXT_MAX)) {
        return ML_ELIMIT; /* readers would reject the record */
    }
    ml_record rec = {.kind = ML_KIND_META};
    rec.u.meta.key.ptr = (const uint8_t *)key;
    rec.u.meta.key.len = (uint32_t)klen;
    rec.u.meta.value = *value;
    return append_record(w, &rec);
}

int
ml_writer_meta_str(ml_writer *w, const char *key, const char *value)
{
    size_t len = strlen(value);
    ml_value v = {.tag = ML_TAG_BYTES};
    v.v.b.ptr = (const uint8_t *)value;
    v.v.b.len = (uint32_t)(len > ML_TEXT_MAX ? ML_TEXT_MAX : len);
    return ml_writer_meta(w, key, &v);
}

int
ml_writer_meta_uint(ml_writer *w, const char *key, uint64_t value)
{
    ml_value v = {.tag = ML_TAG_UINT};
    v.v.u = value;
    return ml_writer_meta(w, key, &v);
}

typedef struct {
    const ml_writer *w;
    const char *s;
    size_t len;
} string_probe;

static int
string_eq(const void *ctx, uint32_t id)
{
    const string_probe *p = ctx;
    const string_ref *ref = &p->w->strings[id];
    /* With only empty strings so far string_data.data is still NULL. */
    return ref->len == p->len
           && (p->len == 0
               || memcmp(p->w->string_data.data + ref->off, p->s, p->len)
                      == 0);
}

static int
add_string(ml_writer *w, const char *s, size_t len, uint64_t h, uint32_t *id)
{
    uint32_t n = w->nstrings + 1;
    int err = grow_array((void **)&w->strings, &w->string_cap, n,
                         sizeof *w->strings, ML_MAX_STRINGS);
    if (err < 0) {
        return err;
    }
    size_t off = w->string_data.len;
    if ((err = ml_buf_append(&w->string_data, s, len)) < 0) {
        return err;
    }
    ml_record rec = {.kind = ML_KIND_STRING};
    rec.u.string.id = n;
    rec.u.string.text.ptr = (const uint8_t *)s;
    rec.u.string.text.len = (uint32_t)len;
    if ((err = append_record(w, &rec)) < 0
        || (err = ml_map_insert(&w->string_map, h, n)) < 0) {
        w->string_data.len = off;
        return err;
    }
    w->strings[n].off = (uint32_t)off;
    w->strings[n].len = (uint32_t)len;
    w->nstrings = n;
    *id = n;
    return ML_OK;
}

int
ml_writer_string(ml_writer *w, const char *s, size_t len, uint32_t *id)
{
    if (len > ML_STRING_MAX || (s == NULL && len > 0)) {
        return ML_ELIMIT;
    }
    uint64_t h = ml_hash_bytes(s, len);
    string_probe probe = {w, s, len};
    uint32_t found = ml_map_find(&w->string_map, h, string_eq, &probe);
    if (found) {
        *id = found;
        return ML_OK;
    }
    return add_string(w, s, len, h, id);
}

static int
frame_eq(const void *ctx, uint32_t id)
{
    const frame_key *k = ((const frame_key *const *)ctx)[0];
    const ml_writer *w = ((const ml_writer *const *)ctx)[1];
    return memcmp(&w->frames[id], k, sizeof *k) == 0;
}

int
ml_writer_frame(ml_writer *w, uint32_t name, uint32_t file, uint32_t line,
                uint32_t firstline, uint32_t *id)
{
    if (name > w->nstrings || file > w->nstrings) {
        return ML_EINVAL;
    }
    frame_key k = {name, file, line, firstline};
    uint64_t h = ml_hash_bytes(&k, sizeof k);
    const void *ctx[2] = {&k, w};
    uint32_t found = ml_map_find(&w->frame_map, h, frame_eq, ctx);
    if (found) {
        *id = found;
        return ML_OK;
    }
    uint32_t n = w->nframes + 1;
    int err = grow_array((void **)&w->frames, &w->frame_cap, n,
                         sizeof *w->frames, ML_MAX_FRAMES);
    if (err < 0) {
        return err;
    }
    ml_record rec = {.kind = ML_KIND_FRAME};
    rec.u.frame.id = n;
    rec.u.frame.name = name;
    rec.u.frame.file = file;
    rec.u.frame.line = line;
    rec.u.frame.firstline = firstline;
    if ((err = append_record(w, &rec)) < 0
        || (err = ml_map_insert(&w->frame_map, h, n)) < 0) {
        return err;
    }
    w->frames[n] = k;
    w->nframes = n;
    *id = n;
    return ML_OK;
}

static int
stack_eq(const void *ctx, uint32_t id)
{
    const stack_key *k = ((const stack_key *const *)ctx)[0];
    const ml_writer *w = ((const ml_writer *const *)ctx)[1];
    return w->stacks[id].parent == k->parent
           && w->stacks[id].frame == k->frame;
}

int
ml_writer_stack(ml_writer *w, uint32_t parent, uint32_t frame, uint32_t *id)
{
    if (parent > w->nstacks || frame == 0 || frame > w->nframes) {
        return ML_EINVAL;
    }
    stack_key k = {parent, frame};
    uint64_t h = ml_hash_mix(parent, frame);
    const void *ctx[2] = {&k, w};
    uint32_t found = ml_map_find(&w->stack_map, h, stack_eq, ctx);
    if (found) {
        *id = found;
        return ML_OK;
    }
    uint32_t n = w->nstacks + 1;
    int err = grow_array((void **)&w->stacks, &w->stack_cap, n,
                         sizeof *w->stacks, ML_MAX_STACKS);
    if (err < 0) {
        return err;
    }
    ml_record rec = {.kind = ML_KIND_STACK};
    rec.u.stack.id = n;
    rec.u.stack.parent = parent;
    rec.u.stack.frame = frame;
    if ((err = append_record(w, &rec)) < 0
        || (err = ml_map_insert(&w->stack_map, h, n)) < 0) {
        return err;
    }
    w->stacks[n] = k;
    w->nstacks = n;
    *id = n;
    return ML_OK;
}

/* ---- threads and samples ----------------------------------------------- */

static int
put_thread(ml_writer *w, uint32_t id, uint64_t time_us, uint32_t name)
{
    ml_record rec = {.kind = ML_KIND_THREAD, .time_us = time_us};
    rec.u.thread.id = id;
    rec.u.thread.native_id = w->threads[id].native_id;
    rec.u.thread.ident = w->threads[id].ident;
    rec.u.thread.name = name;
    return append_record(w, &rec);
}

int
ml_writer_thread(ml_writer *w, uint64_t time_us, uint64_t native_id,
                 uint64_t ident, uint32_t name, uint32_t *id)
{
    if (name > w->nstrings) {
        return ML_EINVAL;
    }
    uint32_t n = w->nthreads + 1;
    int err = grow_array((void **)&w->threads, &w->thread_cap, n,
                         sizeof *w->threads, ML_MAX_THREADS);
    if (err < 0) {
        return err;
    }
    w->threads[n].native_id = native_id;
    w->threads[n].ident = ident;
    if ((err = put_thread(w, n, time_us, name)) < 0) {
        return err;
    }
    w->nthreads = n;
    *id = n;
    return ML_OK;
}

int
ml_writer_thread_name(ml_writer *w, uint32_t thread, uint64_t time_us,
                      uint32_t name)
{
    if (thread == 0 || thread > w->nthreads || name > w->nstrings) {
        return ML_EINVAL;
    }
    return put_thread(w, thread, time_us, name);
}

int
ml_writer_thread_end(ml_writer *w, uint32_t thread, uint64_t time_us)
{
    if (thread == 0 || thread > w->nthreads) {
        return ML_EINVAL;
    }
    /* Its samples come before its end. */
    int err = ml_rounds_enc_has(&w->rounds, thread) ? emit_rounds(w) : 0;
    if (err < 0) {
        return err;
    }
    ml_record rec = {.kind = ML_KIND_THREAD_END, .time_us = time_us};
    rec.u.thread_end.id = thread;
    return append_record(w, &rec);
}

int
ml_writer_sample(ml_writer *w, uint32_t thread, uint64_t time_us,
                 uint32_t stack, uint8_t state)
{
    return ml_writer_sample_cpu(w, thread, time_us, stack, state,
                                ML_CPU_UNKNOWN);
}

int
ml_writer_sample_cpu(ml_writer *w, uint32_t thread, uint64_t time_us,
                     uint32_t stack, uint8_t state, uint8_t cpu)
{
    if (thread == 0 || thread > w->nthreads || stack > w->nstacks
        || time_us >= ML_TIME_LIMIT_US
        || (cpu > ML_CPU_FULL && cpu != ML_CPU_UNKNOWN)) {
        return ML_EINVAL;
    }
    if (w->error) {
        return w->error;
    }
    if (!w->has_base) {
        /* The chunk's clock starts at its first sample at the latest. */
        w->has_base = 1;
        w->base_us = time_us;
        w->clock = (int64_t)time_us;
    }
    ml_rounds_key key = {stack, state, cpu};
    int err = ml_rounds_enc_sample(&w->rounds, thread, time_us, key);
    if (err == ML_ELIMIT) {
        /* As many threads as a record holds: the next one starts. */
        if ((err = emit_rounds(w)) == 0) {
            err = ml_rounds_enc_sample(&w->rounds, thread, time_us, key);
        }
    }
    if (err < 0) {
        return err;
    }
    w->samples++;
    if (w->dirty_since_ns == 0) {
        w->dirty_since_ns = ml_clock_mono_ns() | 1;
    }
    size_t pending = ml_rounds_enc_size(&w->rounds);
    if (w->chunk.len + pending >= w->inline_bytes) {
        return seal_chunk(w);
    }
    if (pending >= ROUNDS_RECORD_BYTES) {
        return emit_rounds(w);
    }
    return ML_OK;
}

void
ml_writer_set_rounds(ml_writer *w, uint32_t interval_us, uint32_t tolerance_us)
{
    /* The rounds so far keep the settings they were coded with. */
    if (emit_rounds(w) == 0) {
        ml_rounds_enc_config(&w->rounds, interval_us, tolerance_us);
    }
}

/* ---- series, logs, spans, reports -------------------------------------- */

int
ml_writer_series(ml_writer *w, uint8_t cls, uint32_t name, uint32_t unit,
                 uint32_t *id)
{
    if (name > w->nstrings || unit > w->nstrings
        || w->nseries + 1 >= ML_MAX_SERIES) {
        return ML_EINVAL;
    }
    ml_record rec = {.kind = ML_KIND_SERIES};
    rec.u.series.id = w->nseries + 1;
    rec.u.series.cls = cls;
    rec.u.series.name = name;
    rec.u.series.unit = unit;
    int err = append_record(w, &rec);
    if (err < 0) {
        return err;
    }
    *id = ++w->nseries;
    return ML_OK;
}

int
ml_writer_value(ml_writer *w, uint32_t series, uint64_t time_us,
                const ml_value *value)
{
    if (series == 0 || series > w->nseries) {
        return ML_EINVAL;
    }
    ml_record rec = {.kind = ML_KIND_VALUE, .time_us = time_us};
    rec.u.value.series = series;
    rec.u.value.value = *value;
    if (value->tag == ML_TAG_BYTES && value->v.b.len > ML_TEXT_MAX) {
        rec.u.value.value.v.b.len = ML_TEXT_MAX;
    }
    return append_record(w, &rec);
}

static ml_bytes
cut(ml_bytes b)
{
    if (b.len > ML_TEXT_MAX) {
        b.len = ML_TEXT_MAX;
    }
    return b;
}

int
ml_writer_log(ml_writer *w, const ml_log *log)
{
    if (log->thread > w->nthreads || log->stack > w->nstacks) {
        return ML_EINVAL;
    }
    ml_record rec = {.kind = ML_KIND_LOG, .time_us = log->time_us};
    rec.u.log = *log;
    rec.u.log.text = cut(log->text);
    return append_record(w, &rec);
}

int
ml_writer_span(ml_writer *w, const ml_span *span)
{
    if (span->thread > w->nthreads || span->name > w->nstrings
        || span->file > w->nstrings) {
        return ML_EINVAL;
    }
    ml_record rec = {.kind = ML_KIND_SPAN, .time_us = span->time_us};
    rec.u.span = *span;
    rec.u.span.args = cut(span->args);
    rec.u.span.exception = cut(span->exception);
    return append_record(w, &rec);
}

int
ml_writer_report(ml_writer *w, uint8_t kind, uint32_t name, const void *body,
                 size_t len)
{
    if (name > w->nstrings) {
        return ML_EINVAL;
    }
    ml_record rec = {.kind = ML_KIND_REPORT};
    rec.u.report.kind = kind;
    rec.u.report.name = name;
    rec.u.report.body.ptr = body;
    rec.u.report.body.len = (uint32_t)(len > ML_TEXT_MAX ? ML_TEXT_MAX : len);
    return append_record(w, &rec);
}

int
ml_writer_end(ml_writer *w, uint64_t time_us, int64_t exit_status)
{
    int err = emit_rounds(w);
    if (err < 0) {
        return err;
    }
    ml_record rec = {.kind = ML_KIND_END, .time_us = time_us};
    rec.u.end.exit_status = exit_status;
    return append_record(w, &rec);
}

uint64_t
ml_writer_bytes(const ml_writer *w)
{
    return w->bytes;
}

uint64_t
ml_writer_samples(const ml_writer *w)
{
    return w->samples;
}

void
ml_writer_sizes(const ml_writer *w, ml_writer_size *out)
{
    out->strings = w->nstrings;
    out->frames = w->nframes;
    out->stacks = w->nstacks;
    out->threads = w->nthreads;
    out->series = w->nseries;
    out->string_bytes = w->string_data.len;
}
