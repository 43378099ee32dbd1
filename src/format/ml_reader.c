// SPDX-License-Identifier: MIT
// Recording reader (see ml_reader.h; the format is in docs/FORMAT.md).
#define _GNU_SOURCE
#include "ml_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "../core/ml_buf.h"
#include "../core/ml_cursor.h"
#include "../core/ml_error.h"
#include "ml_chunk.h"
#include "ml_codec.h"
#include "ml_rounds.h"

typedef struct {
    uint32_t off, len;
} string_ref;

typedef struct {
    uint32_t name, file, line, firstline;
} frame_def;

typedef struct {
    uint32_t parent, frame;
} stack_def;

/* A table of fixed-size definitions indexed by id (from 1). */
typedef struct {
    void *items;
    uint32_t count, cap;
} table;

struct ml_reader {
    int fd; /* -1 for memory input */
    const uint8_t *mem;
    uint64_t size;
    uint64_t pos;       /* offset of the next chunk */
    uint64_t chunk_off; /* offset of the chunk being decoded */
    uint32_t chunk_seq;
    uint64_t chunk_base;
    uint16_t major, minor;

    /* Replay of an earlier chunk (ml_reader_replay): where the reader was
     * and how far its own reading had come. */
    int replay;
    uint64_t saved_pos, saved_chunk_off, saved_chunk_base;
    uint32_t saved_chunk_seq, saved_chunks;
    int saved_err;

    ZSTD_DCtx *zd;
    ml_buf comp;
    ml_buf raw;
    ml_cursor cur;
    int64_t clock;
    /* A ROUNDS record being handed out as runs (2.0). */
    ml_rounds_dec rounds;
    int in_rounds;
    size_t rounds_at; /* its offset in the payload */

    ml_buf string_data;
    table strings, frames, stacks;
    uint32_t threads, series;

    int err;
    uint64_t err_off;
    char msg[256];
    uint32_t chunks;
    uint64_t records;
};

/* ---- errors ------------------------------------------------------------ */

static int
fail(ml_reader *r, int err, uint64_t off, const char *fmt, ...)
{
    if (r->err == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->msg, sizeof r->msg, fmt, ap);
        va_end(ap);
        r->err = err;
        r->err_off = off;
    }
    return r->err;
}

/* An error inside the chunk being decoded: its offset and the record's. */
static int
fail_record(ml_reader *r, const char *what, size_t rec_off)
{
    return fail(r, ML_ECORRUPT, r->chunk_off,
                "chunk %u at byte %llu: record at payload byte %zu: %s",
                r->chunk_seq, (unsigned long long)r->chunk_off, rec_off, what);
}

uint64_t
ml_reader_error_offset(const ml_reader *r)
{
    return r->err_off;
}

const char *
ml_reader_message(const ml_reader *r)
{
    return r->msg;
}

/* ---- input ------------------------------------------------------------- */

/* Reads len bytes at off into dst; ML_ETRUNC when the input is shorter. */
static int
read_at(ml_reader *r, uint64_t off, void *dst, size_t len)
{
    if (off > r->size || len > r->size - off) {
        return ML_ETRUNC;
    }
    if (len == 0) {
        return ML_OK; /* dst may be NULL (an empty payload) */
    }
    if (r->fd < 0) {
        memcpy(dst, r->mem + off, len);
        return ML_OK;
    }
    uint8_t *p = dst;
    while (len > 0) {
        ssize_t n = pread(r->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return ML_EIO;
        }
        if (n == 0) {
            return ML_ETRUNC;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return ML_OK;
}

/* A recording may still be growing: look again at the end. */
static void
refresh_size(ml_reader *r)
{
    struct stat st;
    if (r->fd >= 0 && fstat(r->fd, &st) == 0 && st.st_size >= 0) {
        r->size = (uint64_t)st.st_size;
    }
}

static int
read_header(ml_reader *r)
{
    uint8_t h[ML_FILE_HEADER_SIZE];
    int err = read_at(r, 0, h, sizeof h);
    if (err == ML_ETRUNC) {
        return fail(r, ML_EMAGIC, 0,
                    "byte 0: too short for a recording "
                    "(%llu bytes)",
                    (unsigned long long)r->size);
    }
    if (err < 0) {
        return fail(r, err, 0, "byte 0: cannot read: %s", strerror(errno));
    }
    err = ml_file_header_decode(h, &r->major, &r->minor);
    if (err == ML_EMAGIC) {
        return fail(r, err, 0, "byte 0: not a microlog recording");
    }
    if (err < 0) {
        return fail(r, err, 8,
                    "byte 8: format version %u is not supported "
                    "(this reader reads %u to %u)",
                    h[8] | h[9] << 8, ML_FORMAT_VERSION_MAJOR_MIN,
                    ML_FORMAT_VERSION_MAJOR);
    }
    r->pos = ML_FILE_HEADER_SIZE;
    return ML_OK;
}

static int
new_reader(ml_reader **out)
{
    ml_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return ML_ENOMEM;
    }
    r->fd = -1;
    r->zd = ZSTD_createDCtx();
    ml_buf_init(&r->comp, ML_CHUNK_MAX_COMPRESSED);
    ml_buf_init(&r->raw, ML_CHUNK_MAX_RAW);
    ml_buf_init(&r->string_data, ML_MAX_STRING_BYTES);
    ml_cursor_init(&r->cur, NULL, 0);
    ml_rounds_dec_init(&r->rounds);
    if (r->zd == NULL) {
        ml_reader_free(r);
        return ML_ENOMEM;
    }
    *out = r;
    return ML_OK;
}

int
ml_reader_open_mem(const void *data, size_t len, ml_reader **out)
{
    ml_reader *r;
    *out = NULL;
    if (data == NULL && len > 0) {
        return ML_EINVAL;
    }
    int err = new_reader(&r);
    if (err < 0) {
        return err;
    }
    r->mem = data;
    r->size = len;
    *out = r;
    return read_header(r);
}

int
ml_reader_open(const char *path, ml_reader **out)
{
    ml_reader *r;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ML_EIO;
    }
    int err = new_reader(&r);
    if (err < 0) {
        close(fd);
        return err;
    }
    r->fd = fd;
    refresh_size(r);
    *out = r;
    return read_header(r);
}

static void
table_free(table *t)
{
    free(t->items);
}

void
ml_reader_free(ml_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    ZSTD_freeDCtx(r->zd);
    ml_rounds_dec_free(&r->rounds);
    ml_buf_free(&r->comp);
    ml_buf_free(&r->raw);
    ml_buf_free(&r->string_data);
    table_free(&r->strings);
    table_free(&r->frames);
    table_free(&r->stacks);
    free(r);
}

/* ---- chunks ------------------------------------------------------------ */

static int
load_payload(ml_reader *r, const ml_chunk_header *h)
{
    uint64_t at = r->pos + ML_CHUNK_HEADER_SIZE;
    if (at > r->size || h->compressed_size > r->size - at) {
        refresh_size(r); /* a recording being written may have grown */
    }
    if (at > r->size || h->compressed_size > r->size - at) {
        /* Checked before reserving memory for a payload that is not there. */
        return fail(r, ML_ETRUNC, r->pos,
                    "chunk %u at byte %llu: file ends inside its payload",
                    h->seq, (unsigned long long)r->pos);
    }
    ml_buf_reset(&r->comp);
    ml_buf_reset(&r->raw);
    int err = ml_buf_reserve(&r->comp, h->compressed_size);
    if (err == 0) {
        err = ml_buf_reserve(&r->raw, h->raw_size);
    }
    if (err < 0) {
        return fail(r, err, r->pos, "chunk at byte %llu: no memory",
                    (unsigned long long)r->pos);
    }
    err = read_at(r, at, r->comp.data, h->compressed_size);
    if (err == ML_ETRUNC) {
        return fail(r, err, r->pos,
                    "chunk %u at byte %llu: file ends inside its payload",
                    h->seq, (unsigned long long)r->pos);
    }
    if (err < 0) {
        return fail(r, err, r->pos, "chunk at byte %llu: read error",
                    (unsigned long long)r->pos);
    }
    if (ml_checksum(r->comp.data, h->compressed_size) != h->payload_checksum) {
        return fail(r, ML_ECHECKSUM, r->pos,
                    "chunk %u at byte %llu: payload checksum mismatch", h->seq,
                    (unsigned long long)r->pos);
    }
    size_t n = ZSTD_decompressDCtx(r->zd, r->raw.data, h->raw_size,
                                   r->comp.data, h->compressed_size);
    if (ZSTD_isError(n) || n != h->raw_size) {
        return fail(r, ML_ECOMPRESS, r->pos,
                    "chunk %u at byte %llu: payload does not decompress to "
                    "its stated size",
                    h->seq, (unsigned long long)r->pos);
    }
    return ML_OK;
}

static void start_chunk(ml_reader *r, const ml_chunk_header *h);

/* Reads, checks and decompresses the chunk at r->pos. 1 when a chunk was
 * loaded, 0 at the clean end of the input, or an error. */
static int
load_chunk(ml_reader *r)
{
    if (r->replay) {
        return 0; /* a replay decodes one chunk only */
    }
    if (r->pos == r->size) {
        refresh_size(r);
        if (r->pos == r->size) {
            return 0;
        }
    }
    uint8_t hb[ML_CHUNK_HEADER_SIZE];
    int err = read_at(r, r->pos, hb, sizeof hb);
    if (err < 0) {
        return fail(r, err, r->pos,
                    "byte %llu: file ends inside a chunk header",
                    (unsigned long long)r->pos);
    }
    ml_chunk_header h;
    const char *why;
    err = ml_chunk_header_decode(hb, &h, &why);
    if (err < 0) {
        return fail(r, err, r->pos, "byte %llu: %s",
                    (unsigned long long)r->pos, why);
    }
    if (h.seq != r->chunks) {
        return fail(r, ML_ECORRUPT, r->pos,
                    "byte %llu: chunk sequence %u where %u was expected",
                    (unsigned long long)r->pos, h.seq, r->chunks);
    }
    if ((err = load_payload(r, &h)) < 0) {
        return err;
    }
    start_chunk(r, &h);
    r->chunks++;
    return 1;
}

/* The chunk whose payload is in r->raw becomes the one being decoded. */
static void
start_chunk(ml_reader *r, const ml_chunk_header *h)
{
    r->chunk_off = r->pos;
    r->chunk_seq = h->seq;
    r->chunk_base = h->base_time_us;
    r->pos += ML_CHUNK_HEADER_SIZE + (uint64_t)h->compressed_size;
    r->clock = (int64_t)h->base_time_us;
    ml_cursor_init(&r->cur, r->raw.data, h->raw_size);
}

/* ---- definitions and references ---------------------------------------- */

static void *
table_add(table *t, size_t elem, uint32_t max)
{
    uint32_t n = t->count + 1;
    if (n >= max) {
        return NULL;
    }
    if (n >= t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 256;
        void *p = realloc(t->items, (size_t)cap * elem);
        if (p == NULL) {
            return NULL;
        }
        t->items = p;
        t->cap = cap;
    }
    t->count = n;
    return (char *)t->items + (size_t)n * elem;
}

/* Checks that each (id, limit) pair has id <= limit; the first failing one
 * is named in the error. */
static int
check_ref(ml_reader *r, size_t rec_off, const char *what, uint32_t id,
          uint32_t limit)
{
    if (id <= limit) {
        return ML_OK;
    }
    char buf[96];
    snprintf(buf, sizeof buf, "%s %u is not defined", what, id);
    return fail_record(r, buf, rec_off);
}

static int
check_next_id(ml_reader *r, size_t rec_off, const char *what, uint32_t id,
              uint32_t count)
{
    if (id == count + 1) {
        return ML_OK;
    }
    char buf[96];
    snprintf(buf, sizeof buf, "%s id %u where %u was expected", what, id,
             count + 1);
    return fail_record(r, buf, rec_off);
}

static int
define_string(ml_reader *r, const ml_record *rec, size_t at)
{
    int err =
        check_next_id(r, at, "string", rec->u.string.id, r->strings.count);
    if (err < 0) {
        return err;
    }
    size_t off = r->string_data.len;
    string_ref *ref = table_add(&r->strings, sizeof *ref, ML_MAX_STRINGS);
    if (ref == NULL
        || ml_buf_append(&r->string_data, rec->u.string.text.ptr,
                         rec->u.string.text.len)
               < 0) {
        return fail(r, ML_ELIMIT, r->chunk_off,
                    "chunk %u at byte %llu: too many strings", r->chunk_seq,
                    (unsigned long long)r->chunk_off);
    }
    ref->off = (uint32_t)off;
    ref->len = rec->u.string.text.len;
    return ML_OK;
}

static int
define_frame(ml_reader *r, const ml_record *rec, size_t at)
{
    uint32_t ns = r->strings.count;
    int err;
    if ((err = check_next_id(r, at, "frame", rec->u.frame.id, r->frames.count))
            < 0
        || (err = check_ref(r, at, "string", rec->u.frame.name, ns)) < 0
        || (err = check_ref(r, at, "string", rec->u.frame.file, ns)) < 0) {
        return err;
    }
    frame_def *f = table_add(&r->frames, sizeof *f, ML_MAX_FRAMES);
    if (f == NULL) {
        return fail_record(r, "too many frames", at);
    }
    *f = (frame_def){rec->u.frame.name, rec->u.frame.file, rec->u.frame.line,
                     rec->u.frame.firstline};
    return ML_OK;
}

static int
define_stack(ml_reader *r, const ml_record *rec, size_t at)
{
    int err;
    if ((err = check_next_id(r, at, "stack", rec->u.stack.id, r->stacks.count))
            < 0
        || (err = check_ref(r, at, "stack", rec->u.stack.parent,
                            r->stacks.count))
               < 0
        || (err =
                check_ref(r, at, "frame", rec->u.stack.frame, r->frames.count))
               < 0) {
        return err;
    }
    if (rec->u.stack.frame == 0) {
        return fail_record(r, "stack node without a frame", at);
    }
    stack_def *s = table_add(&r->stacks, sizeof *s, ML_MAX_STACKS);
    if (s == NULL) {
        return fail_record(r, "too many stacks", at);
    }
    *s = (stack_def){rec->u.stack.parent, rec->u.stack.frame};
    return ML_OK;
}

static int
check_thread(ml_reader *r, const ml_record *rec, size_t at)
{
    uint32_t id = rec->u.thread.id;
    int err = check_ref(r, at, "string", rec->u.thread.name, r->strings.count);
    if (err < 0) {
        return err;
    }
    if (id == 0 || id > r->threads + 1) {
        return check_next_id(r, at, "thread", id, r->threads);
    }
    if (id == r->threads + 1) {
        if (id >= ML_MAX_THREADS) {
            return fail_record(r, "too many threads", at);
        }
        r->threads = id;
    }
    return ML_OK;
}

static int
check_series(ml_reader *r, const ml_record *rec, size_t at)
{
    int err;
    uint32_t ns = r->strings.count;
    if ((err = check_next_id(r, at, "series", rec->u.series.id, r->series)) < 0
        || (err = check_ref(r, at, "string", rec->u.series.name, ns)) < 0
        || (err = check_ref(r, at, "string", rec->u.series.unit, ns)) < 0) {
        return err;
    }
    if (rec->u.series.id >= ML_MAX_SERIES) {
        return fail_record(r, "too many series", at);
    }
    r->series = rec->u.series.id;
    return ML_OK;
}

/* A reference that must name something defined (not 0). */
static int
check_defined(ml_reader *r, size_t at, const char *what, uint32_t id,
              uint32_t count)
{
    if (id == 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s 0 is not allowed here", what);
        return fail_record(r, buf, at);
    }
    return check_ref(r, at, what, id, count);
}

static int
check_uses(ml_reader *r, const ml_record *rec, size_t at)
{
    uint32_t ns = r->strings.count;
    int err = 0;
    switch (rec->kind) {
    case ML_KIND_THREAD_END:
        return check_defined(r, at, "thread", rec->u.thread_end.id,
                             r->threads);
    case ML_KIND_SAMPLES:
        if ((err = check_defined(r, at, "thread", rec->u.samples.thread,
                                 r->threads))
            < 0) {
            return err;
        }
        return check_ref(r, at, "stack", rec->u.samples.stack,
                         r->stacks.count);
    case ML_KIND_VALUE:
        return check_defined(r, at, "series", rec->u.value.series, r->series);
    case ML_KIND_LOG:
        if ((err = check_ref(r, at, "thread", rec->u.log.thread, r->threads))
            < 0) {
            return err;
        }
        return check_ref(r, at, "stack", rec->u.log.stack, r->stacks.count);
    case ML_KIND_SPAN:
        if ((err = check_ref(r, at, "thread", rec->u.span.thread, r->threads))
                < 0
            || (err = check_ref(r, at, "string", rec->u.span.name, ns)) < 0) {
            return err;
        }
        return check_ref(r, at, "string", rec->u.span.file, ns);
    case ML_KIND_REPORT:
        return check_ref(r, at, "string", rec->u.report.name, ns);
    default:
        return ML_OK;
    }
}

/* In a replayed chunk a definition must be one already known: 1 when it
 * is (skip it), or an error. From 3.0 on definitions carry no id (the
 * tables are full, so the decoded ones are past them): they are skipped,
 * and what the chunk's other records use is checked against the tables. */
static int
known_definition(ml_reader *r, const ml_record *rec, size_t at)
{
    uint32_t id = 0, count = 0;
    int implied = r->major >= 3;
    switch (rec->kind) {
    case ML_KIND_STRING:
        id = rec->u.string.id, count = r->strings.count;
        break;
    case ML_KIND_FRAME:
        id = rec->u.frame.id, count = r->frames.count;
        break;
    case ML_KIND_STACK:
        id = rec->u.stack.id, count = r->stacks.count;
        break;
    default:
        return 0;
    }
    if (!implied && (id == 0 || id > count)) {
        return fail_record(r, "replayed chunk defines an unknown id", at);
    }
    return 1;
}

/* Registers definitions and checks references of a decoded record. */
static int
accept_record(ml_reader *r, const ml_record *rec, size_t at)
{
    if (r->replay) {
        int known = known_definition(r, rec, at);
        if (known != 0) {
            return known;
        }
        if (rec->kind == ML_KIND_THREAD || rec->kind == ML_KIND_SERIES) {
            return ML_OK; /* checked when first read */
        }
    }
    switch (rec->kind) {
    case ML_KIND_STRING:
        return define_string(r, rec, at);
    case ML_KIND_FRAME:
        return define_frame(r, rec, at);
    case ML_KIND_STACK:
        return define_stack(r, rec, at);
    case ML_KIND_THREAD:
        return check_thread(r, rec, at);
    case ML_KIND_SERIES:
        return check_series(r, rec, at);
    default:
        return check_uses(r, rec, at);
    }
}

/* ---- records ----------------------------------------------------------- */

/* The next run of the ROUNDS record being decoded: 1 delivered, 0 at its
 * end, or an error. */
static int
next_in_rounds(ml_reader *r, ml_record *rec)
{
    const char *why = NULL;
    ml_record tmp;
    int got = ml_rounds_dec_next(&r->rounds, &tmp, &why);
    if (got < 0) {
        r->in_rounds = 0;
        return fail_record(r, why, r->rounds_at);
    }
    if (got == 0) {
        r->in_rounds = 0;
        return 0;
    }
    int err = check_uses(r, &tmp, r->rounds_at);
    if (err < 0) {
        r->in_rounds = 0;
        return err;
    }
    *rec = tmp;
    r->records++;
    return 1;
}

/* Decodes the record at the cursor: 1 delivered, 0 skipped, or an error. */
static int
next_in_chunk(ml_reader *r, ml_record *rec)
{
    size_t at = ml_cursor_offset(&r->cur);
    uint8_t kind;
    const uint8_t *payload;
    uint32_t len;
    if (ml_cursor_u8(&r->cur, &kind) < 0
        || ml_cursor_bytes(&r->cur, ML_RECORD_MAX, &payload, &len) < 0) {
        return fail_record(r, "record header truncated or too long", at);
    }
    const char *why = NULL;
    if (kind == ML_KIND_ROUNDS && r->major >= 2) {
        if (ml_rounds_dec_begin(&r->rounds, payload, len, &r->clock,
                                r->threads, &why)
            < 0) {
            return fail_record(r, why, at);
        }
        r->in_rounds = 1;
        r->rounds_at = at;
        return next_in_rounds(r, rec);
    }
    if (!ml_codec_known(kind)) {
        return 0; /* a later version's record: skip it */
    }
    ml_record tmp;
    ml_codec_file file = {r->major, r->strings.count, r->frames.count,
                          r->stacks.count};
    if (ml_codec_decode(kind, &file, payload, len, &r->clock, &tmp, &why)
        < 0) {
        return fail_record(r, why, at);
    }
    int err = accept_record(r, &tmp, at);
    if (err < 0) {
        return err;
    }
    if (err > 0) {
        return 0; /* a known definition in a replayed chunk */
    }
    *rec = tmp;
    r->records++;
    return 1;
}

int
ml_reader_next(ml_reader *r, ml_record *rec)
{
    if (r->err) {
        return r->err;
    }
    for (;;) {
        if (r->in_rounds) {
            int got = next_in_rounds(r, rec);
            if (got != 0) {
                return got;
            }
        }
        while (ml_cursor_left(&r->cur) > 0) {
            int got = next_in_chunk(r, rec);
            if (got != 0) {
                return got;
            }
        }
        int loaded = load_chunk(r);
        if (loaded <= 0) {
            return loaded;
        }
    }
}

/* ---- lookups ----------------------------------------------------------- */

int
ml_reader_string(const ml_reader *r, uint32_t id, ml_bytes *out)
{
    if (id == 0 || id > r->strings.count) {
        return ML_EINVAL;
    }
    const string_ref *ref = (const string_ref *)r->strings.items + id;
    /* string_data.data is NULL while every string is empty. */
    out->ptr = ref->len ? r->string_data.data + ref->off : (const uint8_t *)"";
    out->len = ref->len;
    return ML_OK;
}

int
ml_reader_frame(const ml_reader *r, uint32_t id, uint32_t *name,
                uint32_t *file, uint32_t *line, uint32_t *firstline)
{
    if (id == 0 || id > r->frames.count) {
        return ML_EINVAL;
    }
    const frame_def *f = (const frame_def *)r->frames.items + id;
    *name = f->name;
    *file = f->file;
    *line = f->line;
    *firstline = f->firstline;
    return ML_OK;
}

int
ml_reader_stack(const ml_reader *r, uint32_t id, uint32_t *parent,
                uint32_t *frame)
{
    if (id == 0 || id > r->stacks.count) {
        return ML_EINVAL;
    }
    const stack_def *s = (const stack_def *)r->stacks.items + id;
    *parent = s->parent;
    *frame = s->frame;
    return ML_OK;
}

void
ml_reader_get_stats(const ml_reader *r, ml_reader_stats *out)
{
    out->file_bytes = r->size;
    out->bytes_read = r->pos;
    out->chunks = r->chunks;
    out->records = r->records;
    out->strings = r->strings.count;
    out->frames = r->frames.count;
    out->stacks = r->stacks.count;
    out->threads = r->threads;
    out->series = r->series;
    out->major_version = r->major;
    out->minor_version = r->minor;
}

/* ---- random access ------------------------------------------------------ */

void
ml_reader_tell(const ml_reader *r, ml_reader_pos *out)
{
    out->chunk_off = r->chunk_off;
    out->chunk_seq = r->chunk_seq;
    out->chunk_base_us = r->chunk_base;
    out->chunk_done = ml_cursor_left(&r->cur) == 0 && !r->in_rounds;
    out->next_off = r->pos;
}

int
ml_reader_replay(ml_reader *r, uint64_t off, uint32_t seq)
{
    if (r->replay || ml_cursor_left(&r->cur) > 0 || r->in_rounds
        || seq >= r->chunks || off < ML_FILE_HEADER_SIZE || off >= r->pos) {
        return ML_EINVAL;
    }
    r->replay = 1;
    r->saved_err = r->err;
    r->saved_pos = r->pos;
    r->saved_chunk_off = r->chunk_off;
    r->saved_chunk_seq = r->chunk_seq;
    r->saved_chunk_base = r->chunk_base;
    r->saved_chunks = r->chunks;
    r->err = 0;
    uint8_t hb[ML_CHUNK_HEADER_SIZE];
    ml_chunk_header h;
    const char *why;
    int err = read_at(r, off, hb, sizeof hb);
    if (err == 0 && ml_chunk_header_decode(hb, &h, &why) < 0) {
        err = ML_ECORRUPT;
    }
    if (err == 0 && h.seq != seq) {
        err = ML_EINVAL; /* not the chunk the caller kept */
    }
    if (err == 0) {
        r->pos = off;
        err = load_payload(r, &h);
    }
    if (err == 0) {
        start_chunk(r, &h);
    }
    if (err < 0) {
        ml_reader_replay_end(r);
    }
    return err;
}

void
ml_reader_replay_end(ml_reader *r)
{
    if (!r->replay) {
        return;
    }
    r->replay = 0;
    r->err = r->saved_err;
    r->pos = r->saved_pos;
    r->chunk_off = r->saved_chunk_off;
    r->chunk_seq = r->saved_chunk_seq;
    r->chunk_base = r->saved_chunk_base;
    r->chunks = r->saved_chunks;
    r->in_rounds = 0;
    ml_cursor_init(&r->cur, NULL, 0); /* the own chunk was consumed */
}

int
ml_reader_retry(ml_reader *r)
{
    if (r->err == ML_ETRUNC) {
        r->err = 0;
        r->err_off = 0;
        r->msg[0] = '\0';
    }
    return r->err;
}
