// SPDX-License-Identifier: MIT
// Sending recordings to the store (see ml_ship.h).
#include "ml_ship.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ml_buf.h"
#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_wake.h"
#include "core/ml_uuid.h"
#include "format/ml_chunk.h"
#include "format/ml_format.h"
#include "format/ml_runmeta.h"
#include "ml_objkeys.h"
#include "ml_s3.h"
#include "format/ml_piece.h"

#define MAX_ANSWER (64u << 10)
#define MAX_DIRECT_RUN ((size_t)1 << 30)
#define POLL_MS 100
#define MAX_BACKOFF_MS 30000

#define MAX_SERVERS 16

struct ml_ship {
    char *path, *server, *token;
    char *servers[MAX_SERVERS]; /* pointers into server (split at ',') */
    size_t nservers, cur;
    int rotate;
    char run_id[ML_UUID_TEXT], name[256], host[256];
    int64_t start_unix_us;
    size_t max_request;
    long timeout_ms;
    unsigned part_ms;
    CURL *curl; /* server mode: one connection, kept open */
    ml_s3 *s3;  /* bucket mode */
    char *bucket, *prefix;
    uint64_t acked; /* bytes the store has */
    int probed;     /* acked was asked of the server */
    int64_t end;    /* the file's whole size once final, else -1 */
    int end_acked;
    uint64_t last_part_ms;
    ml_buf buf;
    char refused[512];   /* the store refused (a token, no store): stop */
    ml_ship_stats stats; /* under mu */
    /* the thread */
    pthread_t thread;
    int running;
    int ended; /* ml_ship_end() was called (atomic) */
    ml_wake stop;
    pthread_mutex_t mu; /* stats */
};

/* ---- identity ----------------------------------------------------------- */

void
ml_ship_name_from_path(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dir_end = base > path ? base - 1 : path;
    const char *dir = dir_end;
    while (dir > path && dir[-1] != '/') {
        dir--;
    }
    size_t stem = strlen(base);
    if (stem > 5 && strcmp(base + stem - 5, ".mlog") == 0) {
        stem -= 5;
    }
    if (dir_end > dir) {
        snprintf(out, n, "%.*s/%.*s", (int)(dir_end - dir), dir, (int)stem,
                 base);
    } else {
        snprintf(out, n, "default/%.*s", (int)stem, base);
    }
}

static void
identify(ml_ship *s, const ml_ship_config *c)
{
    ml_runmeta m;
    if (ml_runmeta_read_file(s->path, &m) != ML_OK) {
        memset(&m, 0, sizeof m);
    }
    const char *run_id = c->run_id ? c->run_id : m.run_id;
    uint8_t id[16];
    if (ml_uuid_parse(run_id, id) == ML_OK) {
        ml_uuid_format(id, s->run_id);
    }
    snprintf(s->host, sizeof s->host, "%s", c->host ? c->host : m.host);
    if (c->name) {
        snprintf(s->name, sizeof s->name, "%s", c->name);
    } else if (m.name[0]) {
        snprintf(s->name, sizeof s->name, "%s", m.name);
    } else {
        ml_ship_name_from_path(s->path, s->name, sizeof s->name);
    }
    s->start_unix_us = c->start_unix_us ? c->start_unix_us : m.start_unix_us;
    if (!s->run_id[0]) {
        /* Made before runs had ids: the same file, the same id. */
        char key[600];
        int n = snprintf(key, sizeof key, "%s|%s|%lld|%lld", s->host, s->name,
                         (long long)s->start_unix_us, (long long)m.pid);
        ml_uuid_from_name(key, (size_t)n, id);
        ml_uuid_format(id, s->run_id);
    }
}

/* ---- the file ----------------------------------------------------------- */

static int
file_size(const char *path, uint64_t *out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return ML_EIO;
    }
    *out = (uint64_t)st.st_size;
    return ML_OK;
}

/* Reads [off, off + len) of the file into s->buf. */
static int
read_range(ml_ship *s, uint64_t off, size_t len)
{
    ml_buf_reset(&s->buf);
    if (ml_buf_reserve(&s->buf, len) != ML_OK) {
        return ML_ENOMEM;
    }
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ML_EIO;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n =
            pread(fd, s->buf.data + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    s->buf.len = got;
    return ML_OK;
}

/* The end of the file's last whole chunk: a file cut inside a chunk (a
 * killed program) ends before it. */
static int
whole_end(ml_ship *s, uint64_t *out)
{
    uint64_t size;
    if (file_size(s->path, &size) != ML_OK) {
        return ML_EIO;
    }
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ML_EIO;
    }
    uint64_t at = size >= ML_FILE_HEADER_SIZE ? ML_FILE_HEADER_SIZE : 0;
    uint8_t h[ML_CHUNK_HEADER_SIZE];
    while (at + sizeof h <= size
           && pread(fd, h, sizeof h, (off_t)at) == (ssize_t)sizeof h) {
        ml_chunk_header ch;
        const char *why;
        if (ml_chunk_header_decode(h, &ch, &why) != ML_OK
            || at + sizeof h + ch.compressed_size > size) {
            break;
        }
        at += sizeof h + ch.compressed_size;
    }
    close(fd);
    *out = at;
    return ML_OK;
}

/* The next piece to send: *len whole-chunk bytes from s->acked, read into
 * s->buf. */
static int
next_piece(ml_ship *s, size_t *len)
{
    *len = 0;
    uint64_t size;
    if (file_size(s->path, &size) != ML_OK) {
        return ML_EIO;
    }
    uint64_t limit = s->end >= 0 ? (uint64_t)s->end : size;
    if (limit <= s->acked) {
        return ML_OK;
    }
    uint64_t want = limit - s->acked;
    /* Enough for one chunk of the largest size the format allows. */
    size_t cap = s->max_request + ML_CHUNK_MAX_COMPRESSED + 64;
    int rc = read_range(s, s->acked, want < cap ? (size_t)want : cap);
    if (rc == ML_OK) {
        *len =
            ml_piece_whole(s->buf.data, s->buf.len, s->acked, s->max_request);
    }
    return rc;
}

/* ---- server mode -------------------------------------------------------- */

static size_t
on_answer(char *p, size_t size, size_t n, void *ctx)
{
    ml_buf *b = ctx;
    return ml_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static struct curl_slist *
add_header(struct curl_slist *l, const char *name, const char *value)
{
    char line[600];
    snprintf(line, sizeof line, "%s: %s", name, value);
    return curl_slist_append(l, line);
}

static struct curl_slist *
upload_headers(ml_ship *s, uint64_t off)
{
    char num[32];
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/octet-stream");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    h = add_header(h, "X-Microlog-Run", s->run_id);
    h = add_header(h, "X-Microlog-Name", s->name);
    h = add_header(h, "X-Microlog-Host", s->host);
    snprintf(num, sizeof num, "%lld", (long long)s->start_unix_us);
    h = add_header(h, "X-Microlog-Start", s->start_unix_us > 0 ? num : "0");
    snprintf(num, sizeof num, "%llu", (unsigned long long)off);
    h = add_header(h, "X-Microlog-Offset", num);
    if (s->end >= 0) {
        snprintf(num, sizeof num, "%lld", (long long)s->end);
        h = add_header(h, "X-Microlog-End", num);
    }
    if (s->token && s->token[0]) {
        char auth[300];
        snprintf(auth, sizeof auth, "Bearer %s", s->token);
        h = add_header(h, "Authorization", auth);
    }
    return h;
}

/* The server's answer: 0 and *durable, or why not. */
static int
read_answer(long status, const ml_buf *b, uint64_t *durable, char *why,
            size_t why_len)
{
    json_t *j = json_loadb((const char *)b->data, b->len, 0, NULL);
    json_t *d = j ? json_object_get(j, "durable") : NULL;
    json_t *e = j ? json_object_get(j, "error") : NULL;
    int rc = ML_OK;
    if (status == 200 && json_is_integer(d) && json_integer_value(d) >= 0) {
        *durable = (uint64_t)json_integer_value(d);
    } else {
        snprintf(why, why_len, "server answered %ld: %s", status,
                 json_is_string(e) ? json_string_value(e) : "no reason given");
        /* Refusals do not get better by sending again; the rest may. */
        rc = status == 400 || status == 401 || status == 403 || status == 404
                     || status == 413
                 ? ML_EINVAL
                 : ML_EIO;
    }
    json_decref(j);
    return rc;
}

static void
count_request(ml_ship *s, int rc, size_t len, uint64_t us)
{
    pthread_mutex_lock(&s->mu);
    ml_ship_stats *st = &s->stats;
    if (rc == ML_OK) {
        st->latency_us[st->requests % ML_SHIP_LATENCIES] =
            (uint32_t)(us < UINT32_MAX ? us : UINT32_MAX);
        st->requests++;
        st->bytes += len;
        st->nlatency = st->requests < ML_SHIP_LATENCIES ? st->requests
                                                        : ML_SHIP_LATENCIES;
    } else {
        st->failed++;
    }
    pthread_mutex_unlock(&s->mu);
}

void
ml_ship_get_stats(ml_ship *s, ml_ship_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

static int
post_piece(ml_ship *s, const uint8_t *data, size_t len, uint64_t off,
           uint64_t *durable, char *why, size_t why_len)
{
    char url[1100];
    const char *base = s->servers[s->cur];
    snprintf(url, sizeof url, "%s/api/ingest", base);
    ml_buf answer;
    ml_buf_init(&answer, MAX_ANSWER);
    struct curl_slist *h = upload_headers(s, off);
    CURL *c = s->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? (const char *)data : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    uint64_t t0 = ml_clock_mono_ns();
    CURLcode cc = curl_easy_perform(c);
    int rc;
    if (cc != CURLE_OK) {
        snprintf(why, why_len, "cannot reach %s: %s", base,
                 curl_easy_strerror(cc));
        rc = ML_EIO;
    } else {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        rc = read_answer(status, &answer, durable, why, why_len);
    }
    if (rc == ML_EIO || s->rotate) {
        s->cur = (s->cur + 1) % s->nservers; /* the next one, next time */
    }
    count_request(s, rc, len, (ml_clock_mono_ns() - t0) / 1000u);
    curl_slist_free_all(h);
    ml_buf_free(&answer);
    return rc;
}

static int
server_step(ml_ship *s, char *why, size_t why_len)
{
    uint64_t durable;
    if (!s->probed) {
        /* Another server, or an earlier `microlog upload`, may have it. */
        int rc = post_piece(s, NULL, 0, 0, &durable, why, why_len);
        if (rc != ML_OK) {
            return rc;
        }
        s->acked = durable;
        s->probed = 1;
    }
    size_t len;
    int rc = next_piece(s, &len);
    if (rc != ML_OK) {
        snprintf(why, why_len, "cannot read %s", s->path);
        return rc;
    }
    int tell_end = s->end >= 0 && !s->end_acked;
    if (len == 0 && !tell_end) {
        return 0;
    }
    rc = post_piece(s, s->buf.data, len, s->acked, &durable, why, why_len);
    if (rc != ML_OK) {
        return rc;
    }
    /* The store's word wins: less than sent means a piece is to be sent
     * again (from there); more means it had it already. */
    s->acked = durable;
    if (s->end >= 0 && durable >= (uint64_t)s->end) {
        s->end_acked = 1;
        return 0;
    }
    return 1;
}

/* ---- bucket mode -------------------------------------------------------- */

static int
delete_part(void *ctx, const char *key, uint64_t size)
{
    (void)size;
    ml_ship *s = ctx;
    char why[256];
    ml_s3_delete(s->s3, s->bucket, key, why, sizeof why);
    return 0;
}

/* The finished run as one object, then its pieces removed. */
static int
s3_complete(ml_ship *s, char *why, size_t why_len)
{
    if ((uint64_t)s->end > MAX_DIRECT_RUN) {
        snprintf(why, why_len, "%s is over 1 GiB", s->path);
        return ML_ELIMIT;
    }
    int rc = read_range(s, 0, (size_t)s->end);
    if (rc != ML_OK || s->buf.len != (size_t)s->end) {
        snprintf(why, why_len, "cannot read %s", s->path);
        return ML_EIO;
    }
    char key[1024];
    ml_objkey_direct(s->prefix, s->run_id,
                     (int64_t)(ml_clock_wall_ns() / 1000u), key, sizeof key);
    rc = ml_s3_put(s->s3, s->bucket, key, s->buf.data, s->buf.len, 0, why,
                   why_len);
    if (rc != ML_OK) {
        return rc < 0 ? rc : ML_EIO;
    }
    s->acked = (uint64_t)s->end;
    s->end_acked = 1;
    ml_objkey_parts(s->prefix, s->run_id, key, sizeof key);
    ml_s3_list(s->s3, s->bucket, key, delete_part, s, why, why_len);
    return 0;
}

static int
s3_step(ml_ship *s, char *why, size_t why_len)
{
    if (s->end >= 0) {
        return s->end_acked ? 0 : s3_complete(s, why, why_len);
    }
    uint64_t now = ml_clock_mono_ns() / 1000000u;
    if (now - s->last_part_ms < s->part_ms) {
        return 0;
    }
    size_t len;
    int rc = next_piece(s, &len);
    if (rc != ML_OK || len == 0) {
        return rc;
    }
    char key[1024];
    ml_objkey_part(s->prefix, s->run_id, s->acked, key, sizeof key);
    rc = ml_s3_put(s->s3, s->bucket, key, s->buf.data, len, 0, why, why_len);
    if (rc != ML_OK) {
        return rc < 0 ? rc : ML_EIO;
    }
    s->acked += len;
    s->last_part_ms = now;
    return 1;
}

/* ---- steps -------------------------------------------------------------- */

static int step(ml_ship *s, int final, char *why, size_t why_len);

int
ml_ship_step(ml_ship *s, int final, char *why, size_t why_len)
{
    why[0] = '\0';
    if (s->refused[0]) {
        /* Sending again would be refused again: no retries. */
        snprintf(why, why_len, "%s", s->refused);
        return ML_EINVAL;
    }
    int rc = step(s, final, why, why_len);
    if (rc == ML_EINVAL) {
        snprintf(s->refused, sizeof s->refused, "%s", why);
    }
    return rc;
}

static int
step(ml_ship *s, int final, char *why, size_t why_len)
{
    if (final && s->end < 0) {
        uint64_t end;
        if (whole_end(s, &end) != ML_OK) {
            snprintf(why, why_len, "cannot read %s", s->path);
            return ML_EIO;
        }
        s->end = (int64_t)end;
    }
    return s->curl ? server_step(s, why, why_len) : s3_step(s, why, why_len);
}

int
ml_ship_finish(ml_ship *s, long timeout_ms, int max_failures, char *why,
               size_t why_len)
{
    uint64_t deadline = ml_clock_mono_ns() / 1000000u + (uint64_t)timeout_ms;
    unsigned wait_ms = 100;
    int failures = 0;
    for (;;) {
        int rc = ml_ship_step(s, 1, why, why_len);
        if (rc == 0 || rc == ML_EINVAL) {
            return rc;
        }
        failures = rc < 0 ? failures + 1 : 0;
        uint64_t now = ml_clock_mono_ns() / 1000000u;
        if (now >= deadline || (max_failures && failures >= max_failures)) {
            return rc < 0 ? rc : ML_EIO;
        }
        if (rc < 0) {
            uint64_t left = deadline - now;
            usleep((useconds_t)(wait_ms < left ? wait_ms : left) * 1000u);
            wait_ms = wait_ms * 2 > 2000 ? 2000 : wait_ms * 2;
        }
    }
}

uint64_t
ml_ship_acked(const ml_ship *s)
{
    return s->acked;
}

const char *
ml_ship_run_id(const ml_ship *s)
{
    return s->run_id;
}

const char *
ml_ship_name(const ml_ship *s)
{
    return s->name;
}

/* ---- the thread --------------------------------------------------------- */

static void *
ship_main(void *arg)
{
    ml_ship *s = arg;
    uint64_t seen = 0;
    unsigned backoff = 0;
    char why[512];
    /* In the recorded program: its signals stay with its own threads. */
    ml_wake_block_signals();
    for (;;) {
        uint64_t ms = backoff ? backoff : POLL_MS;
        if (ml_wake_sleep_until(&s->stop,
                                ml_clock_mono_ns() + ms * 1000000u)) {
            break;
        }
        int final = __atomic_load_n(&s->ended, __ATOMIC_ACQUIRE);
        if (final && s->end_acked) {
            continue; /* all sent: waits for stop() */
        }
        uint64_t size;
        if (file_size(s->path, &size) != ML_OK
            || (size == seen && !backoff && !final)) {
            continue;
        }
        int rc;
        while ((rc = ml_ship_step(s, final, why, sizeof why)) == 1) {
        }
        if (rc == ML_EINVAL) {
            continue; /* refused: nothing more to do until stop() */
        }
        if (rc < 0) {
            backoff = backoff ? backoff * 2 : 500;
            backoff = backoff > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : backoff;
        } else {
            backoff = 0;
            seen = size;
        }
    }
    return NULL;
}

void
ml_ship_end(ml_ship *s)
{
    __atomic_store_n(&s->ended, 1, __ATOMIC_RELEASE);
}

int
ml_ship_start(ml_ship *s)
{
    if (s->running || ml_wake_stopped(&s->stop)) {
        return ML_EINVAL; /* one thread per sender, started once */
    }
    if (pthread_create(&s->thread, NULL, ship_main, s) != 0) {
        return ML_ENOMEM;
    }
    s->running = 1;
    return ML_OK;
}

int
ml_ship_stop(ml_ship *s, long timeout_ms, char *why, size_t why_len)
{
    why[0] = '\0';
    if (s->running) {
        ml_wake_stop(&s->stop);
        pthread_join(s->thread, NULL);
        s->running = 0;
    }
    return timeout_ms > 0 ? ml_ship_finish(s, timeout_ms, 3, why, why_len)
                          : ML_OK;
}

/* ---- making one --------------------------------------------------------- */

static int
open_bucket(ml_ship *s, const ml_ship_config *c, char *why, size_t why_len)
{
    if (ml_s3_parse_url(c->s3_root, &s->bucket, &s->prefix) != ML_OK) {
        snprintf(why, why_len,
                 "MICROLOG_S3_ROOT=%s: expected s3://BUCKET/PREFIX",
                 c->s3_root);
        return ML_EINVAL;
    }
    ml_s3_config sc;
    int rc = ml_s3_config_from_env(&sc, why, why_len);
    if (rc != ML_OK) {
        return rc;
    }
    if (c->s3_region && c->s3_region[0]) {
        sc.region = c->s3_region;
    }
    return ml_s3_new(&sc, &s->s3);
}

static int
valid_server(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/* "http://a:7777, http://b:7777/" into s->servers. */
static int
split_servers(ml_ship *s, char *why, size_t why_len)
{
    char *save = NULL;
    for (char *p = strtok_r(s->server, ",", &save); p;
         p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ') {
            p++;
        }
        size_t n = strlen(p);
        while (n > 0 && (p[n - 1] == '/' || p[n - 1] == ' ')) {
            p[--n] = '\0'; /* "http://h:7777/" works too */
        }
        if (!valid_server(p) || s->nservers == MAX_SERVERS) {
            snprintf(why, why_len,
                     "MICROLOG_SERVER: '%s' is not http://HOST:PORT (at "
                     "most %d, separated by commas)",
                     p, MAX_SERVERS);
            return ML_EINVAL;
        }
        s->servers[s->nservers++] = p;
    }
    if (s->nservers == 0) {
        snprintf(why, why_len, "MICROLOG_SERVER names no server");
        return ML_EINVAL;
    }
    return ML_OK;
}

int
ml_ship_new(const ml_ship_config *c, ml_ship **out, char *why, size_t why_len)
{
    *out = NULL;
    why[0] = '\0';
    int server = c->server && c->server[0];
    if (!server && !(c->s3_root && c->s3_root[0])) {
        snprintf(why, why_len, "neither a server nor a bucket to send to");
        return ML_EINVAL;
    }
    if (server && strlen(c->server) > 4000) {
        snprintf(why, why_len, "MICROLOG_SERVER is too long");
        return ML_EINVAL;
    }
    ml_ship *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ML_ENOMEM;
    }
    s->path = strdup(c->path);
    s->server = server ? strdup(c->server) : NULL;
    s->token = c->token ? strdup(c->token) : NULL;
    s->max_request = c->max_request ? c->max_request : (4u << 20);
    s->timeout_ms = c->timeout_ms ? c->timeout_ms : 20000;
    s->part_ms = c->part_ms ? c->part_ms : 2000;
    s->end = -1;
    pthread_mutex_init(&s->mu, NULL);
    if (ml_wake_init(&s->stop) != ML_OK) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return ML_ENOMEM;
    }
    ml_buf_init(&s->buf, s->max_request + ML_CHUNK_MAX_COMPRESSED + 64
                             + MAX_DIRECT_RUN);
    s->rotate = c->rotate;
    int rc = s->path ? ML_OK : ML_ENOMEM;
    if (rc == ML_OK && s->server) {
        rc = split_servers(s, why, why_len);
    }
    if (rc == ML_OK && server) {
        s->curl = curl_easy_init();
        rc = s->curl ? ML_OK : ML_ENOMEM;
    } else if (rc == ML_OK) {
        rc = open_bucket(s, c, why, why_len);
    }
    if (rc != ML_OK) {
        ml_ship_free(s);
        return rc;
    }
    identify(s, c);
    *out = s;
    return ML_OK;
}

void
ml_ship_free(ml_ship *s)
{
    if (s == NULL) {
        return;
    }
    if (s->running) {
        char why[64];
        ml_ship_stop(s, 0, why, sizeof why);
    }
    if (s->curl) {
        curl_easy_cleanup(s->curl);
    }
    if (s->s3) {
        ml_s3_free(s->s3);
    }
    ml_buf_free(&s->buf);
    pthread_mutex_destroy(&s->mu);
    ml_wake_destroy(&s->stop);
    free(s->path);
    free(s->server);
    free(s->token);
    free(s->bucket);
    free(s->prefix);
    free(s);
}
