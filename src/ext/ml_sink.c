// SPDX-License-Identifier: MIT
// The writer shared by the extension's threads, and the thread that
// compresses and writes its chunks (see ml_sink.h).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "ml_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "format/ml_chunk.h"
#include "core/ml_wake.h"

/* Sealed chunks waiting for the disk, at most: past this the disk does not
 * keep up, and the recording stops rather than grow without bound or make
 * the program wait. */
#define MAX_QUEUED_BYTES (64u << 20)
#define DEFAULT_MAX_DEFS (1u << 20)
/* Threads a file takes at most: a new file well before the format's limit
 * (a round adds at most a thousand). */
#define MAX_FILE_THREADS (ML_MAX_THREADS - 4096)

/* One file of the run. Made under lock; once its CLOSE is queued it is the
 * writing thread's, which frees it. */
struct ml_sink_file {
    char path[4096];
    int fd;           /* -1 until the writing thread opened it */
    uint64_t written; /* bytes in it; protected by out_lock */
};

enum {
    NODE_CHUNK,
    NODE_OPEN,
    NODE_OPENED,
    NODE_CLOSE
};

struct ml_sink_chunk {
    ml_sink_chunk *next;
    int kind;
    ml_sink_file *file;
    ml_sealed_chunk c;
};

/* A META or SERIES record every file repeats. */
struct ml_sink_repeat {
    char *key; /* META key, or NULL for a series */
    ml_value value;
    uint8_t cls;
    char *name, *unit;
};

/* The file listener (ml_sink_set_file_listener); listener_lock is taken
 * by the writing threads around each call and by the setter only. */
static pthread_mutex_t listener_lock = PTHREAD_MUTEX_INITIALIZER;
static ml_file_listener_fn listener_fn;
static void *listener_ctx;

void
ml_sink_set_file_listener(ml_file_listener_fn fn, void *ctx)
{
    pthread_mutex_lock(&listener_lock);
    listener_fn = fn;
    listener_ctx = ctx;
    pthread_mutex_unlock(&listener_lock);
}

/* A fork while a writing thread calls the listener would leave the lock
 * held in the child, where a recording of its own would then hang. */
static void
listener_before_fork(void)
{
    pthread_mutex_lock(&listener_lock);
}

static void
listener_after_fork(void)
{
    pthread_mutex_unlock(&listener_lock);
}

static pthread_once_t listener_once = PTHREAD_ONCE_INIT;

static void
listener_init(void)
{
    pthread_atfork(listener_before_fork, listener_after_fork,
                   listener_after_fork);
}

static void
tell(const char *path, int event)
{
    pthread_mutex_lock(&listener_lock);
    if (listener_fn != NULL) {
        listener_fn(listener_ctx, path, event);
    }
    pthread_mutex_unlock(&listener_lock);
}

/* One line on stderr, written directly: this may run in microlog's own
 * threads, which never call into Python. */
static void
say(const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, text, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        text += n;
        len -= (size_t)n;
    }
}

/* The file cannot be written: say so once and stop. Call with the lock. */
static void
fail(ml_sink *s, const char *why)
{
    if (s->failed) {
        return;
    }
    char msg[4300];
    snprintf(msg, sizeof msg,
             "microlog: cannot write %s (%s): recording stopped; what was "
             "written before stays readable\n",
             s->cur ? s->cur->path : s->path, why);
    say(msg);
    s->failed = 1;
}

/* ---- the writing thread ------------------------------------------------ */

/* Queues a node; call with out_lock held. */
static void
put_node(ml_sink *s, ml_sink_chunk *node)
{
    node->next = NULL;
    if (s->tail != NULL) {
        s->tail->next = node;
    } else {
        s->head = node;
    }
    s->tail = node;
    pthread_cond_signal(&s->out_cond);
}

/* Queues a file's opening or closing for the writing thread. Lock held. */
static int
put_control(ml_sink *s, int kind, ml_sink_file *f)
{
    ml_sink_chunk *node = calloc(1, sizeof *node);
    if (node == NULL) {
        return ML_ENOMEM;
    }
    node->kind = kind;
    node->file = f;
    pthread_mutex_lock(&s->out_lock);
    put_node(s, node);
    pthread_mutex_unlock(&s->out_lock);
    return ML_OK;
}

/* Called by the writer under the sink lock: queue the chunk. */
static int
take_chunk(void *ctx, ml_sealed_chunk *c)
{
    ml_sink *s = ctx;
    if (s->failed || s->cur == NULL) { /* stopped, or closed */
        ml_buf_reset(&c->records);
        return ML_EIO;
    }
    ml_sink_chunk *node = malloc(sizeof *node);
    if (node == NULL) {
        return ML_ENOMEM;
    }
    node->kind = NODE_CHUNK;
    node->file = s->cur;
    node->c = *c;
    ml_buf_init(&c->records, c->records.max);
    pthread_mutex_lock(&s->out_lock);
    int full = s->queued_bytes + node->c.records.len > s->max_queued;
    if (!full) {
        s->queued_bytes += node->c.records.len;
        put_node(s, node);
    }
    pthread_mutex_unlock(&s->out_lock);
    if (full) {
        ml_buf_free(&node->c.records);
        free(node);
        fail(s, "the disk does not keep up");
        return ML_EIO;
    }
    return ML_OK;
}

/* Creates a file and writes its header; 0 or errno. */
static int
create_file(ml_sink_file *f)
{
    f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                 0644);
    if (f->fd < 0) {
        return errno;
    }
    uint8_t header[ML_FILE_HEADER_SIZE];
    ml_file_header_encode(header);
    size_t off = 0;
    while (off < sizeof header) {
        ssize_t n = write(f->fd, header + off, sizeof header - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? errno : ENOSPC;
        }
        off += (size_t)n;
    }
    return 0;
}

/* The writing thread met a failure: the recording stops. */
static void
out_fail(ml_sink *s, int err, int os_errno)
{
    pthread_mutex_lock(&s->lock);
    if (s->error == 0) {
        s->error = err;
    }
    fail(s, os_errno ? strerror(os_errno) : ml_strerror(err));
    pthread_mutex_unlock(&s->lock);
}

/* Does what one node asks; *broken is set once a chunk is lost (a later
 * chunk of the run after a lost one would not be readable). */
static void
do_node(ml_sink *s, ml_sink_chunk *node, void *zc, ml_buf *scratch,
        int *broken)
{
    ml_sink_file *f = node->file;
    int quiet = s->out_quiet;
    if (node->kind == NODE_OPEN) {
        int e = *broken ? 0 : create_file(f);
        pthread_mutex_lock(&s->out_lock);
        s->file_fd = f->fd;
        f->written = e == 0 ? ML_FILE_HEADER_SIZE : 0;
        pthread_mutex_unlock(&s->out_lock);
        if (e != 0) {
            *broken = 1;
            out_fail(s, ML_EIO, e);
        } else if (!*broken && !quiet) {
            tell(f->path, ML_FILE_OPENED);
        }
        return;
    }
    if (node->kind == NODE_OPENED) {
        if (!quiet) {
            tell(f->path, ML_FILE_OPENED);
        }
        return;
    }
    if (node->kind == NODE_CLOSE) {
        int had_fd = f->fd >= 0;
        pthread_mutex_lock(&s->out_lock);
        if (s->file_fd == f->fd) {
            s->file_fd = -1;
        }
        pthread_mutex_unlock(&s->out_lock);
        if (had_fd && close(f->fd) != 0 && !*broken) {
            *broken = 1;
            out_fail(s, ML_EIO, errno);
        }
        if (had_fd && !quiet) {
            tell(f->path, ML_FILE_CLOSED);
        }
        free(f);
        return;
    }
    uint64_t bytes = 0;
    int os_errno = 0, err = 0;
    if (!*broken && f->fd >= 0) {
        err = ml_chunk_write(f->fd, zc, s->level, &node->c, scratch, &bytes,
                             &os_errno);
    } else if (!*broken) {
        err = ML_EIO;
    }
    pthread_mutex_lock(&s->out_lock);
    s->queued_bytes -= node->c.records.len;
    s->written += bytes;
    f->written += bytes;
    pthread_mutex_unlock(&s->out_lock);
    if (err < 0 && !*broken) {
        *broken = 1;
        out_fail(s, err, os_errno);
    }
}

/* The flush every second when the sampler and the status thread cannot
 * (stalled, or waiting for the GIL in fallback mode). */
static void
own_tick(ml_sink *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->failed && s->writer != NULL && s->cur != NULL) {
        ml_sink_tick(s, ml_clock_mono_ns());
    }
    pthread_mutex_unlock(&s->lock);
}

static void *
run_out(void *arg)
{
    ml_sink *s = arg;
    ml_wake_block_signals();
    void *zc = ml_chunk_ctx_new();
    ml_buf scratch;
    ml_buf_init(&scratch, ML_CHUNK_MAX_COMPRESSED + ML_CHUNK_HEADER_SIZE);
    int broken = zc == NULL;
    if (broken) {
        out_fail(s, ML_ENOMEM, 0);
    }
    uint64_t next_tick = ml_clock_mono_ns() + 1000000000u;
    for (;;) {
        pthread_mutex_lock(&s->out_lock);
        while (s->head == NULL && !s->out_stop) {
            struct timespec until = {
                .tv_sec = (time_t)(next_tick / 1000000000u),
                .tv_nsec = (long)(next_tick % 1000000000u)};
            if (pthread_cond_timedwait(&s->out_cond, &s->out_lock, &until)
                == ETIMEDOUT) {
                break;
            }
        }
        ml_sink_chunk *node = s->head;
        if (node != NULL) {
            s->head = node->next;
            if (s->head == NULL) {
                s->tail = NULL;
            }
        }
        int stop = s->out_stop;
        pthread_mutex_unlock(&s->out_lock);
        if (node == NULL && stop) {
            break; /* stopped, and everything is written */
        }
        if (node != NULL) {
            do_node(s, node, zc, &scratch, &broken);
            if (node->kind == NODE_CHUNK) {
                ml_buf_free(&node->c.records);
            }
            free(node);
        }
        uint64_t now = ml_clock_mono_ns();
        if (now >= next_tick && !stop) {
            own_tick(s); /* takes lock, then out_lock: never both here */
            next_tick = now + 1000000000u;
        }
    }
    ml_buf_free(&scratch);
    ml_chunk_ctx_free(zc);
    return NULL;
}

static void
stop_out(ml_sink *s)
{
    if (!s->out_started) {
        return;
    }
    pthread_mutex_lock(&s->out_lock);
    s->out_stop = 1;
    pthread_cond_signal(&s->out_cond);
    pthread_mutex_unlock(&s->out_lock);
    pthread_join(s->out_thread, NULL);
    s->out_started = 0;
}

/* ---- files ------------------------------------------------------------- */

/* The path of file number n of the run: run.mlog, run.1.mlog, ... */
static void
part_path(const char *first, uint32_t n, char *out, size_t size)
{
    const char *slash = strrchr(first, '/');
    const char *dot = strrchr(first, '.');
    int len;
    if (dot == NULL || (slash != NULL && dot < slash) || dot == first
        || (slash != NULL && dot == slash + 1)) {
        len = snprintf(out, size, "%s.%u", first, n);
    } else {
        len = snprintf(out, size, "%.*s.%u%s", (int)(dot - first), first, n,
                       dot);
    }
    if (len < 0 || (size_t)len >= size) {
        out[0] = 0; /* too long: opening "" fails, and says so */
    }
}

static int
new_writer(ml_sink *s, ml_writer **out)
{
    ml_writer_options opt = {
        .defer_seal = 1, .take = take_chunk, .take_ctx = s};
    int err = ml_writer_open_take(&opt, out);
    if (err == 0 && s->rounds_interval_us) {
        ml_writer_set_rounds(*out, s->rounds_interval_us,
                             s->rounds_tolerance_us);
    }
    return err;
}

void
ml_sink_set_rounds(ml_sink *s, uint32_t interval_us, uint32_t tolerance_us)
{
    s->rounds_interval_us = interval_us;
    s->rounds_tolerance_us = tolerance_us;
    if (s->writer != NULL) {
        ml_writer_set_rounds(s->writer, interval_us, tolerance_us);
    }
}

/* What every file repeats: the run's META and its series. */
static int
replay(ml_sink *s)
{
    for (int i = 0; i < s->nmetas; i++) {
        const ml_sink_repeat *m = &s->metas[i];
        int err;
        if (m->key != NULL) {
            err = ml_writer_meta(s->writer, m->key, &m->value);
        } else {
            uint32_t name, unit, id;
            err = ml_writer_string(s->writer, m->name, strlen(m->name), &name);
            if (err == 0) {
                err = ml_writer_string(s->writer, m->unit, strlen(m->unit),
                                       &unit);
            }
            if (err == 0) {
                err = ml_writer_series(s->writer, m->cls, name, unit, &id);
            }
        }
        if (err < 0) {
            return err;
        }
    }
    return ML_OK;
}

int
ml_sink_rollover(ml_sink *s, uint64_t now_ns)
{
    if (s->failed || s->writer == NULL) {
        return ML_OK;
    }
    s->roll_asked = 0;
    ml_sink_file *next = calloc(1, sizeof *next);
    ml_writer *w = NULL;
    int err = next != NULL ? new_writer(s, &w) : ML_ENOMEM;
    if (err < 0) {
        free(next);
        return err;
    }
    next->fd = -1;
    part_path(s->path, s->gen + 1, next->path, sizeof next->path);
    /* The old file says where the run goes on, and is written out. */
    ml_sink_file *old = s->cur;
    err = ml_writer_meta_str(s->writer, "next_run", next->path);
    if (err == 0) {
        err = ml_writer_flush(s->writer);
    }
    if (err < 0) {
        ml_writer_abandon(w);
        free(next);
        return err;
    }
    s->samples_before += ml_writer_samples(s->writer);
    ml_writer_close(s->writer); /* nothing buffered: writes nothing */
    char previous[sizeof old->path];
    memcpy(previous, old->path, sizeof previous);
    /* In this order for the writing thread: the old file's last chunk
     * (queued by the flush), its closing, the new file's opening, and
     * only then any chunk of the new writer. */
    s->writer = w;
    s->cur = next;
    s->gen++;
    s->file_t0_ns = now_ns;
    if ((err = put_control(s, NODE_CLOSE, old)) < 0
        || (err = put_control(s, NODE_OPEN, next)) < 0) {
        return err; /* old is lost: the writing thread never closes it */
    }
    err = replay(s);
    if (err == 0) {
        err = ml_writer_meta_str(w, "previous_run", previous);
    }
    if (err == 0) {
        err = ml_writer_meta_uint(w, "part", s->gen);
    }
    return err;
}

int
ml_sink_tick(ml_sink *s, uint64_t now_ns)
{
    if (s->failed || s->cur == NULL) {
        return ML_OK;
    }
    int roll = s->roll_asked;
    if (!roll && s->roll_ns != 0 && now_ns > s->file_t0_ns
        && now_ns - s->file_t0_ns >= s->roll_ns) {
        roll = 1;
    }
    if (!roll && s->roll_bytes != 0) {
        pthread_mutex_lock(&s->out_lock);
        roll = s->cur->written >= s->roll_bytes;
        pthread_mutex_unlock(&s->out_lock);
    }
    if (!roll) {
        ml_writer_size z;
        ml_writer_sizes(s->writer, &z);
        roll = (uint64_t)z.strings + z.frames + z.stacks >= s->max_defs
               || z.threads >= MAX_FILE_THREADS
               || z.string_bytes >= ML_MAX_STRING_BYTES / 2;
    }
    if (roll) {
        return ml_sink_check(s, ml_sink_rollover(s, now_ns));
    }
    return ml_sink_check(s, ml_writer_tick(s->writer, now_ns));
}

static int
keep_meta(ml_sink *s, const ml_sink_repeat *m)
{
    if (s->nmetas == s->metas_cap) {
        int cap = s->metas_cap ? s->metas_cap * 2 : 16;
        ml_sink_repeat *p = realloc(s->metas, (size_t)cap * sizeof *p);
        if (p == NULL) {
            return ML_ENOMEM;
        }
        s->metas = p;
        s->metas_cap = cap;
    }
    s->metas[s->nmetas++] = *m;
    return ML_OK;
}

static void
free_metas(ml_sink *s)
{
    for (int i = 0; i < s->nmetas; i++) {
        ml_sink_repeat *m = &s->metas[i];
        free(m->key);
        if (m->value.tag == ML_TAG_BYTES) {
            free((void *)m->value.v.b.ptr);
        }
        free(m->name);
        free(m->unit);
    }
    free(s->metas);
    s->metas = NULL;
    s->nmetas = s->metas_cap = 0;
}

int
ml_sink_meta(ml_sink *s, const char *key, const ml_value *value)
{
    int err = ml_writer_meta(s->writer, key, value);
    if (err < 0) {
        return err;
    }
    ml_sink_repeat m = {.key = strdup(key), .value = *value};
    if (value->tag == ML_TAG_BYTES) {
        uint8_t *copy = malloc(value->v.b.len ? value->v.b.len : 1);
        if (copy != NULL) {
            memcpy(copy, value->v.b.ptr, value->v.b.len);
        }
        m.value.v.b.ptr = copy;
        if (copy == NULL) {
            free(m.key);
            m.key = NULL;
        }
    }
    if (m.key == NULL || keep_meta(s, &m) < 0) {
        free(m.key);
        if (value->tag == ML_TAG_BYTES) {
            free((void *)m.value.v.b.ptr);
        }
        return ML_ENOMEM;
    }
    return ML_OK;
}

int
ml_sink_series(ml_sink *s, uint8_t cls, const char *name, const char *unit,
               uint32_t *id)
{
    uint32_t name_id, unit_id, sid;
    int err = ml_writer_string(s->writer, name, strlen(name), &name_id);
    if (err == 0) {
        err = ml_writer_string(s->writer, unit, strlen(unit), &unit_id);
    }
    if (err == 0) {
        err = ml_writer_series(s->writer, cls, name_id, unit_id, &sid);
    }
    if (err < 0) {
        return err;
    }
    ml_sink_repeat m = {
        .cls = cls, .name = strdup(name), .unit = strdup(unit)};
    if (m.name == NULL || m.unit == NULL || keep_meta(s, &m) < 0) {
        free(m.name);
        free(m.unit);
        return ML_ENOMEM;
    }
    *id = sid;
    return ML_OK;
}

uint64_t
ml_sink_samples(const ml_sink *s)
{
    return s->samples_before + (s->writer ? ml_writer_samples(s->writer) : 0);
}

void
ml_sink_current_path(const ml_sink *s, char *buf, size_t size)
{
    snprintf(buf, size, "%s", s->cur ? s->cur->path : s->path);
}

/* ---- lifetime ---------------------------------------------------------- */

int
ml_sink_open(ml_sink *s, const ml_sink_config *cfg)
{
    pthread_once(&listener_once, listener_init);
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", cfg->path);
    s->t0_ns = ml_clock_mono_ns();
    s->file_t0_ns = s->t0_ns;
    s->roll_bytes = cfg->roll_bytes;
    s->roll_ns = cfg->roll_ns;
    s->max_defs = cfg->max_defs ? cfg->max_defs : DEFAULT_MAX_DEFS;
    s->max_queued = cfg->max_queued ? cfg->max_queued : MAX_QUEUED_BYTES;
    if (s->max_defs > ML_MAX_STACKS / 2) {
        s->max_defs = ML_MAX_STACKS / 2;
    }
    s->level = 3;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        return ML_ENOMEM;
    }
    if (pthread_mutex_init(&s->out_lock, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        return ML_ENOMEM;
    }
    pthread_condattr_t ca;
    int cond_ok = pthread_condattr_init(&ca) == 0;
    if (cond_ok) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        cond_ok = pthread_cond_init(&s->out_cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!cond_ok) {
        pthread_mutex_destroy(&s->out_lock);
        pthread_mutex_destroy(&s->lock);
        return ML_ENOMEM;
    }
    s->cur = calloc(1, sizeof *s->cur);
    int err = s->cur != NULL ? ML_OK : ML_ENOMEM;
    if (err == 0) {
        snprintf(s->cur->path, sizeof s->cur->path, "%s", cfg->path);
        int e = create_file(s->cur);
        if (e != 0) {
            if (s->cur->fd >= 0) { /* ours, but no header: remove it */
                close(s->cur->fd);
                s->cur->fd = -1;
                unlink(cfg->path);
            }
            errno = e;
            err = ML_EIO;
        }
    }
    s->file_fd = s->cur != NULL ? s->cur->fd : -1;
    if (err == 0) {
        s->cur->written = ML_FILE_HEADER_SIZE; /* no thread runs yet */
    }
    if (err == 0) {
        err = new_writer(s, &s->writer);
    }
    if (err == 0) {
        err = put_control(s, NODE_OPENED, s->cur);
    }
    if (err == 0 && pthread_create(&s->out_thread, NULL, run_out, s) != 0) {
        err = ML_ENOMEM;
    }
    if (err < 0) {
        int e = errno;
        if (s->cur != NULL && s->cur->fd >= 0) {
            close(s->cur->fd);
            s->cur->fd = -1;
            unlink(cfg->path);
        }
        ml_sink_discard(s);
        errno = e;
        return err;
    }
    s->out_started = 1;
    return ML_OK;
}

/* Frees the queue without writing it (no writing thread runs). */
static void
drop_queue(ml_sink *s)
{
    ml_sink_chunk *node = s->head;
    while (node != NULL) {
        ml_sink_chunk *next = node->next;
        if (node->kind == NODE_CHUNK) {
            ml_buf_free(&node->c.records);
        } else if (node->kind == NODE_CLOSE) {
            if (node->file->fd >= 0) {
                close(node->file->fd);
            }
            free(node->file);
        }
        free(node);
        node = next;
    }
    s->head = s->tail = NULL;
}

void
ml_sink_discard(ml_sink *s)
{
    s->out_quiet = 1; /* a recording that never was: no one is told */
    stop_out(s);
    drop_queue(s);
    ml_writer_abandon(s->writer);
    s->writer = NULL;
    if (s->cur != NULL && s->cur->fd >= 0) {
        close(s->cur->fd);
    }
    free(s->cur);
    s->cur = NULL;
    free_metas(s);
    pthread_cond_destroy(&s->out_cond);
    pthread_mutex_destroy(&s->out_lock);
    pthread_mutex_destroy(&s->lock);
}

int
ml_sink_close(ml_sink *s, uint64_t *bytes)
{
    pthread_mutex_lock(&s->lock);
    int err = s->failed ? ML_OK : ml_writer_flush(s->writer);
    ml_sink_check(s, err);
    err = put_control(s, NODE_CLOSE, s->cur);
    if (err == 0) {
        s->cur = NULL; /* the writing thread's now */
    }
    pthread_mutex_unlock(&s->lock);
    stop_out(s); /* writes what is queued, the last chunk included */
    drop_queue(s);
    *bytes = s->written;
    err = ml_writer_close(s->writer); /* nothing left to write */
    s->writer = NULL;
    if (s->cur != NULL) {
        if (s->cur->fd >= 0) {
            close(s->cur->fd);
        }
        free(s->cur);
        s->cur = NULL;
    }
    free_metas(s);
    pthread_cond_destroy(&s->out_cond);
    pthread_mutex_destroy(&s->out_lock);
    pthread_mutex_destroy(&s->lock);
    return s->error ? s->error : err;
}

void
ml_sink_seal(ml_sink *s)
{
    if (!s->failed) {
        ml_sink_check(s, ml_writer_flush(s->writer));
        s->failed = 1; /* silently: the file is complete as it is */
    }
}

void
ml_sink_drain(ml_sink *s)
{
    stop_out(s); /* writes what is queued first */
}

void
ml_sink_abandon(ml_sink *s)
{
    /* The parent owns the files: close our descriptor copies without
     * flushing the parent's buffered records into them. The writing
     * thread does not exist here; its queue and locks are left as they
     * are. */
    ml_writer_abandon(s->writer);
    s->writer = NULL;
    if (s->cur != NULL && s->cur->fd >= 0) {
        close(s->cur->fd);
    }
}

void
ml_sink_lock(ml_sink *s)
{
    pthread_mutex_lock(&s->lock);
}

void
ml_sink_unlock(ml_sink *s)
{
    pthread_mutex_unlock(&s->lock);
}

/* 1 when one of the writer's tables is close to the format's limit (an
 * ML_ELIMIT then means it is full, not that one item was too big). */
static int
tables_full(const ml_writer *w)
{
    ml_writer_size z;
    ml_writer_sizes(w, &z);
    return z.strings >= ML_MAX_STRINGS - ML_MAX_STRINGS / 16
           || z.frames >= ML_MAX_FRAMES - ML_MAX_FRAMES / 16
           || z.stacks >= ML_MAX_STACKS - ML_MAX_STACKS / 16
           || z.threads >= ML_MAX_THREADS - ML_MAX_THREADS / 16
           || z.string_bytes >= ML_MAX_STRING_BYTES - ML_MAX_STRING_BYTES / 16;
}

int
ml_sink_check(ml_sink *s, int err)
{
    if (err >= 0) {
        return err;
    }
    if (err == ML_ELIMIT && !s->failed && s->writer != NULL
        && tables_full(s->writer)) {
        /* A table of the format is full: the run goes on in a new file
         * from the next tick (what did not fit now is lost). */
        s->roll_asked = 1;
        return err;
    }
    int os = s->writer ? ml_writer_os_errno(s->writer) : 0;
    if (os != 0) {
        fail(s, strerror(os));
    } else if (s->error == 0 && !s->failed) {
        char msg[4200];
        snprintf(msg, sizeof msg,
                 "microlog: %s: %s; recording goes on without what did not "
                 "fit\n",
                 s->path, ml_strerror(err));
        say(msg);
    }
    if (s->error == 0) {
        s->error = err;
    }
    return err;
}

int
ml_sink_own_fd(ml_sink *s)
{
    pthread_mutex_lock(&s->out_lock);
    int fd = s->file_fd;
    pthread_mutex_unlock(&s->out_lock);
    return fd;
}

uint64_t
ml_sink_time_us(const ml_sink *s, uint64_t mono_ns)
{
    return mono_ns > s->t0_ns ? (mono_ns - s->t0_ns) / 1000 : 0;
}
