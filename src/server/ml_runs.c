// SPDX-License-Identifier: MIT
// The run catalog and its caches (see ml_runs.h). Lists are linked lists
// searched linearly: a folder holds thousands of runs at most, and a
// listing touches each once anyway.
#define _GNU_SOURCE
#include "ml_runs.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "analysis/ml_summary.h"
#include "analysis/ml_summary_json.h"
#include "core/ml_error.h"
#include "format/ml_reader.h"
#include "format/ml_runmeta.h"
#include "store/ml_store.h"

#define EXT ".mlog"
#define MAX_NAME 128
#define LIVE_SECONDS 5

typedef struct info_entry {
    char *id;
    uint64_t size;
    int64_t mtime_ns;
    uint64_t start_unix_ns, duration_us, threads;
    int complete;
    int64_t exit_status;
    char *error; /* NULL, or why the file could not be read */
    char *json;  /* the summary object */
    size_t json_len;
    int seen; /* marked during a listing */
    struct info_entry *next;
} info_entry;

typedef struct ix_entry {
    char *id;
    ml_index *ix;
    int refs;
    uint64_t used;
    size_t memory;
    struct ix_entry *next;
} ix_entry;

/* A run whose index one request is building: the others wait for it
 * rather than building it too. */
typedef struct opening {
    char *id;
    struct opening *next;
} opening;

struct ml_runs {
    char *dir;
    ml_store *store; /* runs come from it when set; dir is its cache */
    size_t budget;
    pthread_mutex_t lock;  /* protects both lists, openings and clock */
    pthread_cond_t opened; /* an opening ended */
    opening *openings;
    info_entry *infos;
    ix_entry *indexes;
    uint64_t clock;
};

int
ml_runs_new(const char *dir, size_t budget, ml_runs **out)
{
    *out = NULL;
    char *real = realpath(dir, NULL);
    struct stat st;
    if (real == NULL || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return ML_EIO;
    }
    ml_runs *r = calloc(1, sizeof *r);
    if (r == NULL) {
        free(real);
        return ML_ENOMEM;
    }
    r->dir = real;
    r->budget = budget;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->opened, NULL);
    *out = r;
    return ML_OK;
}

static void
info_free(info_entry *e)
{
    free(e->id);
    free(e->error);
    free(e->json);
    free(e);
}

void
ml_runs_free(ml_runs *r)
{
    if (r == NULL) {
        return;
    }
    for (info_entry *e = r->infos, *n; e; e = n) {
        n = e->next;
        info_free(e);
    }
    for (ix_entry *e = r->indexes, *n; e; e = n) {
        n = e->next;
        ml_index_free(e->ix);
        free(e->id);
        free(e);
    }
    pthread_cond_destroy(&r->opened);
    pthread_mutex_destroy(&r->lock);
    free(r->dir);
    free(r);
}

const char *
ml_runs_dir(const ml_runs *r)
{
    return r->dir;
}

/* ---- ids and paths ------------------------------------------------------ */

/* The rule is the store's too (format/ml_runmeta.h). */
static int
safe_name(const char *s, size_t n)
{
    return ml_runmeta_part_valid(s, n);
}

int
ml_run_id_valid(const char *id)
{
    return ml_runmeta_name_valid(id);
}

void
ml_runs_set_store(ml_runs *r, ml_store *store)
{
    r->store = store;
}

int
ml_runs_path(ml_runs *r, const char *id, char **out)
{
    *out = NULL;
    if (!ml_run_id_valid(id)) {
        return 1;
    }
    if (r->store != NULL) {
        char why[256];
        int rc = ml_store_sync(r->store, id, why, sizeof why);
        if (rc != ML_OK) {
            if (rc < 0) {
                fprintf(stderr, "microlog serve: %s: %s\n", id, why);
            }
            return rc;
        }
    }
    char path[PATH_MAX];
    const char *slash = strchr(id, '/');
    int n =
        snprintf(path, sizeof path, "%s/%.*s", r->dir, (int)(slash - id), id);
    struct stat st;
    /* Neither the label folder nor the file may be a symlink. */
    if (n < 0 || (size_t)n >= sizeof path || lstat(path, &st) < 0
        || !S_ISDIR(st.st_mode)) {
        return 1;
    }
    n = snprintf(path, sizeof path, "%s/%s" EXT, r->dir, id);
    if (n < 0 || (size_t)n >= sizeof path || lstat(path, &st) < 0
        || !S_ISREG(st.st_mode)) {
        return 1;
    }
    *out = strdup(path);
    return *out ? ML_OK : ML_ENOMEM;
}

/* ---- summaries ---------------------------------------------------------- */

static int64_t
mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static info_entry *
info_find(ml_runs *r, const char *id)
{
    for (info_entry *e = r->infos; e; e = e->next) {
        if (strcmp(e->id, id) == 0) {
            return e;
        }
    }
    return NULL;
}

/* Fills e from a summary. */
static void
info_fill(info_entry *e, const ml_summary *s)
{
    uint64_t start = 0;
    ml_summary_meta_uint(s, "start_unix_ns", &start);
    e->start_unix_ns = start;
    e->duration_us = s->duration_us;
    e->threads = s->nthreads;
    e->complete = s->complete;
    e->exit_status = s->exit_status;
    json_t *j = ml_summary_to_json(s, -1);
    if (j != NULL) {
        e->json = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER
                                    | JSON_REAL_PRECISION(12));
        e->json_len = e->json ? strlen(e->json) : 0;
        json_decref(j);
    }
}

static int
recently_written(const struct stat *st)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age =
        (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - mtime_ns(st);
    return age < (int64_t)LIVE_SECONDS * 1000000000;
}

/* The summary from the run's index (kept up to date as the file grows):
 * 0, or an error (message in why). */
static int
index_summary(ml_runs *r, const char *id, ml_summary **out, char *why,
              size_t why_len)
{
    ml_index *ix;
    int err = ml_runs_acquire(r, id, &ix, why, why_len);
    if (err != 0) {
        return err > 0 ? ML_EIO : err;
    }
    err = ml_index_summary(ix, out);
    ml_runs_release(r, ix);
    return err;
}

/* A new entry for the file (read outside the lock): a run still being
 * written is summed up by its index, which reads only what was appended
 * since the last look; a finished one by one pass of its own, so that
 * listing runs does not keep their indexes. */
static info_entry *
info_compute(ml_runs *r, const char *id, const char *path,
             const struct stat *st)
{
    info_entry *e = calloc(1, sizeof *e);
    if (e == NULL || (e->id = strdup(id)) == NULL) {
        free(e);
        return NULL;
    }
    e->size = (uint64_t)st->st_size;
    e->mtime_ns = mtime_ns(st);
    ml_reader *rd = NULL;
    ml_summary *s = NULL;
    char why[200] = "";
    int err;
    if (recently_written(st)) {
        err = index_summary(r, id, &s, why, sizeof why);
    } else if ((err = ml_reader_open(path, &rd)) == 0) {
        err = ml_summary_build(rd, &s);
    }
    if (err < 0) {
        const char *m = rd ? ml_reader_message(rd) : why;
        e->error = strdup(m[0] ? m : ml_strerror(err));
        ml_reader_free(rd);
        return e;
    }
    info_fill(e, s);
    ml_summary_free(s);
    ml_reader_free(rd);
    return e;
}

/* The up-to-date entry of id (computing it when the file changed), with
 * the lock held on return. NULL when there is no such run or no memory. */
static info_entry *
info_get(ml_runs *r, const char *id)
{
    char *path;
    struct stat st;
    if (ml_runs_path(r, id, &path) != 0 || stat(path, &st) < 0) {
        if (path) {
            free(path);
        }
        pthread_mutex_lock(&r->lock);
        return NULL;
    }
    pthread_mutex_lock(&r->lock);
    info_entry *e = info_find(r, id);
    if (e != NULL && e->size == (uint64_t)st.st_size
        && e->mtime_ns == mtime_ns(&st)) {
        free(path);
        return e;
    }
    pthread_mutex_unlock(&r->lock);
    info_entry *fresh = info_compute(r, id, path, &st);
    free(path);
    pthread_mutex_lock(&r->lock);
    if (fresh == NULL) {
        return NULL;
    }
    info_entry **p = &r->infos;
    while (*p && strcmp((*p)->id, id) != 0) {
        p = &(*p)->next;
    }
    if (*p) {
        fresh->next = (*p)->next;
        info_free(*p);
    }
    *p = fresh;
    return fresh;
}

/* ---- listing ------------------------------------------------------------ */

typedef struct {
    char id[2 * MAX_NAME + 2];
    char label[MAX_NAME + 1];
    uint64_t start_unix_ns, duration_us, threads, bytes;
    int complete, live;
    int64_t exit_status;
    char *error;
    char host[128]; /* store runs only */
} listed_run;

static int
by_label_then_newest(const void *a, const void *b)
{
    const listed_run *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    if (c != 0) {
        return c;
    }
    if (x->start_unix_ns != y->start_unix_ns) {
        return x->start_unix_ns > y->start_unix_ns ? -1 : 1;
    }
    return -strcmp(x->id, y->id);
}

static int
is_live(const info_entry *e)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - e->mtime_ns;
    return !e->complete && e->error == NULL
           && age < (int64_t)LIVE_SECONDS * 1000000000;
}

/* Collects the runs of one label folder into *runs. */
static void
scan_label(ml_runs *r, const char *label, ml_regex *re, listed_run **runs,
           size_t *n, size_t *cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", r->dir, label);
    DIR *d = opendir(path);
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        size_t ext = strlen(EXT);
        if (len <= ext || strcmp(de->d_name + len - ext, EXT) != 0
            || !safe_name(de->d_name, len - ext)) {
            continue;
        }
        char id[2 * MAX_NAME + 2];
        snprintf(id, sizeof id, "%s/%.*s", label, (int)(len - ext),
                 de->d_name);
        if (re != NULL && ml_regex_match(re, id, strlen(id)) != 1) {
            continue;
        }
        info_entry *e = info_get(r, id);
        if (e != NULL && *n < 100000) {
            if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                listed_run *p = realloc(*runs, nc * sizeof *p);
                if (p == NULL) {
                    pthread_mutex_unlock(&r->lock);
                    break;
                }
                *runs = p;
                *cap = nc;
            }
            listed_run *x = &(*runs)[(*n)++];
            memset(x, 0, sizeof *x);
            snprintf(x->id, sizeof x->id, "%s", id);
            snprintf(x->label, sizeof x->label, "%s", label);
            x->start_unix_ns = e->start_unix_ns;
            x->duration_us = e->duration_us;
            x->threads = e->threads;
            x->bytes = e->size;
            x->complete = e->complete;
            x->exit_status = e->exit_status;
            x->live = is_live(e);
            x->error = e->error ? strdup(e->error) : NULL;
        }
        pthread_mutex_unlock(&r->lock);
    }
    closedir(d);
}

static void
write_run(ml_jsonw *w, const listed_run *x)
{
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "id", x->id);
    ml_jsonw_kstr(w, "label", x->label);
    ml_jsonw_ku64(w, "start_unix_ns", x->start_unix_ns);
    ml_jsonw_ku64(w, "duration_us", x->duration_us);
    ml_jsonw_kbool(w, "live", x->live);
    ml_jsonw_kbool(w, "complete", x->complete);
    ml_jsonw_key(w, "exit_status");
    if (x->complete) {
        ml_jsonw_i64(w, x->exit_status);
    } else {
        ml_jsonw_null(w);
    }
    ml_jsonw_ku64(w, "bytes", x->bytes);
    ml_jsonw_ku64(w, "threads", x->threads);
    ml_jsonw_kstr(w, "error", x->error);
    if (x->host[0]) {
        ml_jsonw_kstr(w, "host", x->host);
    }
    ml_jsonw_obj_end(w);
}

int
ml_runs_list(ml_runs *r, ml_regex *re, ml_jsonw *w)
{
    DIR *d = opendir(r->dir);
    if (d == NULL) {
        return ML_EIO;
    }
    listed_run *runs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        char path[PATH_MAX];
        if (!safe_name(de->d_name, strlen(de->d_name))) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", r->dir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            scan_label(r, de->d_name, re, &runs, &n, &cap);
        }
    }
    closedir(d);
    if (n > 1) {
        qsort(runs, n, sizeof *runs, by_label_then_newest);
    }
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "dir", r->dir);
    ml_jsonw_key(w, "labels");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(runs[i].label, runs[i - 1].label) != 0) {
            if (i > 0) {
                ml_jsonw_arr_end(w);
                ml_jsonw_obj_end(w);
            }
            ml_jsonw_obj(w);
            ml_jsonw_kstr(w, "label", runs[i].label);
            ml_jsonw_key(w, "runs");
            ml_jsonw_arr(w);
        }
        write_run(w, &runs[i]);
        free(runs[i].error);
    }
    if (n > 0) {
        ml_jsonw_arr_end(w);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
    free(runs);
    return ml_jsonw_error(w);
}

/* ---- indexes ------------------------------------------------------------ */

/* Closes least recently used idle indexes while over the budget. */
static void
evict(ml_runs *r)
{
    for (;;) {
        size_t total = 0;
        ix_entry **victim = NULL;
        for (ix_entry **p = &r->indexes; *p; p = &(*p)->next) {
            total += (*p)->memory;
            if ((*p)->refs == 0
                && (victim == NULL || (*p)->used < (*victim)->used)) {
                victim = p;
            }
        }
        if (total <= r->budget || victim == NULL) {
            return;
        }
        ix_entry *e = *victim;
        *victim = e->next;
        ml_index_free(e->ix);
        free(e->id);
        free(e);
    }
}

static ix_entry *
index_find(ml_runs *r, const char *id)
{
    ix_entry *e = r->indexes;
    while (e && strcmp(e->id, id) != 0) {
        e = e->next;
    }
    return e;
}

static int
is_opening(const ml_runs *r, const char *id)
{
    for (const opening *o = r->openings; o; o = o->next) {
        if (strcmp(o->id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Builds the index of id with the lock released; with it held again,
 * adds the entry (NULL when out of memory or the file cannot be read:
 * *err says). Waiters are woken either way. */
static ix_entry *
open_index(ml_runs *r, const char *id, const char *path, int *err, char *why,
           size_t why_len)
{
    opening me = {strdup(id), r->openings};
    if (me.id == NULL) {
        *err = ML_ENOMEM;
        return NULL;
    }
    r->openings = &me;
    pthread_mutex_unlock(&r->lock);
    ml_index *ix = NULL;
    *err = ml_index_open(path, &ix);
    if (*err < 0) {
        snprintf(why, why_len, "%s",
                 *err == ML_EIO ? strerror(errno) : ml_strerror(*err));
    }
    pthread_mutex_lock(&r->lock);
    for (opening **p = &r->openings; *p; p = &(*p)->next) {
        if (*p == &me) {
            *p = me.next;
            break;
        }
    }
    free(me.id);
    pthread_cond_broadcast(&r->opened);
    ix_entry *e = NULL;
    if (*err == 0
        && ((e = calloc(1, sizeof *e)) == NULL
            || (e->id = strdup(id)) == NULL)) {
        free(e);
        e = NULL;
        *err = ML_ENOMEM;
    }
    if (e == NULL) {
        ml_index_free(ix);
        return NULL;
    }
    e->ix = ix;
    e->next = r->indexes;
    r->indexes = e;
    return e;
}

int
ml_runs_acquire(ml_runs *r, const char *id, ml_index **out, char *why,
                size_t why_len)
{
    *out = NULL;
    char *path;
    int rc = ml_runs_path(r, id, &path);
    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&r->lock);
    ix_entry *e;
    while ((e = index_find(r, id)) == NULL && is_opening(r, id)) {
        pthread_cond_wait(&r->opened, &r->lock);
    }
    int err = 0;
    if (e == NULL) {
        e = open_index(r, id, path, &err, why, why_len);
    }
    free(path);
    if (e == NULL) {
        pthread_mutex_unlock(&r->lock);
        return err;
    }
    e->refs++;
    e->used = ++r->clock;
    pthread_mutex_unlock(&r->lock);
    ml_index_lock(e->ix);
    ml_index_update(e->ix); /* a damaged tail keeps what was read */
    *out = e->ix;
    return ML_OK;
}

void
ml_runs_release(ml_runs *r, ml_index *ix)
{
    ml_index_info info;
    ml_index_get_info(ix, &info);
    ml_index_unlock(ix);
    pthread_mutex_lock(&r->lock);
    for (ix_entry *e = r->indexes; e; e = e->next) {
        if (e->ix == ix) {
            e->refs--;
            e->memory = info.memory;
        }
    }
    evict(r);
    pthread_mutex_unlock(&r->lock);
}

int
ml_runs_is_live(ml_runs *r, const char *id, const ml_index *ix)
{
    if (r->store != NULL) {
        return ml_store_is_live(r->store, id);
    }
    ml_index_info info;
    ml_index_get_info(ix, &info);
    char *path;
    struct stat st;
    if (info.complete || ml_runs_path(r, id, &path) != 0) {
        return 0;
    }
    int ok = stat(path, &st) == 0;
    free(path);
    if (!ok) {
        return 0;
    }
    info_entry e = {0};
    e.mtime_ns = mtime_ns(&st);
    return is_live(&e);
}

/* ---- runs of the central store ----------------------------------------- */

typedef struct {
    listed_run *runs;
    size_t n, cap;
    ml_regex *re;
} store_listing;

static int
take_store_run(void *ctx, const ml_catalog_row *row)
{
    store_listing *l = ctx;
    if (l->re != NULL
        && ml_regex_match(l->re, row->name, strlen(row->name)) != 1) {
        return 0;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        listed_run *p = realloc(l->runs, nc * sizeof *p);
        if (p == NULL) {
            return ML_ENOMEM;
        }
        l->runs = p;
        l->cap = nc;
    }
    listed_run *x = &l->runs[l->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", row->name);
    snprintf(x->label, sizeof x->label, "%s", row->label);
    snprintf(x->host, sizeof x->host, "%s", row->host ? row->host : "");
    x->start_unix_ns =
        (uint64_t)(row->start_unix_us > 0 ? row->start_unix_us : 0) * 1000u;
    x->bytes = row->durable;
    x->complete = row->status == ML_RUN_ENDED;
    x->exit_status = 0;
    int64_t age = (int64_t)time(NULL) * 1000000 - row->updated_unix_us;
    x->live = row->status == ML_RUN_LIVE && age < 10 * INT64_C(1000000);
    return 0;
}

int
ml_runs_list_store(ml_runs *r, const ml_catalog_filter *f, ml_regex *re,
                   ml_jsonw *w)
{
    store_listing l = {.re = re};
    uint64_t total = 0;
    char why[256];
    int rc = ml_store_list(r->store, f, take_store_run, &l, &total, why,
                           sizeof why);
    if (rc != ML_OK) {
        free(l.runs);
        return rc;
    }
    if (l.n > 1) {
        qsort(l.runs, l.n, sizeof *l.runs, by_label_then_newest);
    }
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "dir", ml_store_url(r->store));
    ml_jsonw_kstr(w, "store", "central");
    ml_jsonw_ku64(w, "total", total);
    ml_jsonw_key(w, "labels");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < l.n; i++) {
        if (i == 0 || strcmp(l.runs[i].label, l.runs[i - 1].label) != 0) {
            if (i > 0) {
                ml_jsonw_arr_end(w);
                ml_jsonw_obj_end(w);
            }
            ml_jsonw_obj(w);
            ml_jsonw_kstr(w, "label", l.runs[i].label);
            ml_jsonw_key(w, "runs");
            ml_jsonw_arr(w);
        }
        write_run(w, &l.runs[i]);
    }
    if (l.n > 0) {
        ml_jsonw_arr_end(w);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
    free(l.runs);
    return ml_jsonw_error(w);
}

int
ml_runs_has_store(const ml_runs *r)
{
    return r->store != NULL;
}
