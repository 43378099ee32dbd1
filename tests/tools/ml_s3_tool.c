// SPDX-License-Identifier: MIT
// ml_s3_tool - the S3 client (src/net/ml_s3.h) from the command line, for
// the tests in tests/store that drive it against a real signature-checking
// server. Configured from the environment like the store itself
// (ml_s3_config_from_env), plus MICROLOG_S3_MAX_KEYS (list page size).
//
//   ml_s3_tool mkbucket BUCKET
//   ml_s3_tool put [-n] BUCKET KEY FILE   (-n: only if new; FILE - is stdin)
//   ml_s3_tool get [-m MAX] BUCKET KEY [OFF [LEN]]
//                                         (bytes to stdout, "size N" to
//                                          stderr; MAX bounds the answer)
//   ml_s3_tool head BUCKET KEY            ("N" to stdout)
//   ml_s3_tool delete BUCKET KEY
//   ml_s3_tool list BUCKET [PREFIX]       ("SIZE<TAB>KEY" lines)
//   ml_s3_tool threads BUCKET PREFIX T N  (T threads share one client, each
//                                          puts, reads back and checks N
//                                          objects; "ok" when all match)
//
// Exit status: 0 done, 1 error (one line on stderr), 2 usage, 3 not found,
// 4 exists.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "net/ml_s3.h"

#define MAX_OBJECT (64u << 20)

static int
usage(void)
{
    fprintf(stderr,
            "usage: ml_s3_tool mkbucket BUCKET | put [-n] BUCKET KEY FILE |"
            " get [-m MAX] BUCKET KEY [OFF [LEN]] | head BUCKET KEY |"
            " delete BUCKET KEY | list BUCKET [PREFIX]\n");
    return 2;
}

static int
exit_code(int rc, const char *why)
{
    if (rc == 0) {
        return 0;
    }
    fprintf(stderr, "ml_s3_tool: %s\n", why[0] ? why : ml_strerror(rc));
    return rc == ML_S3_NOT_FOUND ? 3 : rc == ML_S3_EXISTS ? 4 : 1;
}

static int
read_all(const char *path, ml_buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        return ML_EIO;
    }
    char chunk[65536];
    size_t n;
    int err = 0;
    while (err == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        err = ml_buf_append(b, chunk, n);
    }
    if (err == 0 && ferror(f)) {
        err = ML_EIO;
    }
    if (f != stdin) {
        fclose(f);
    }
    return err;
}

static int
print_entry(void *ctx, const char *key, uint64_t size)
{
    (void)ctx;
    printf("%llu\t%s\n", (unsigned long long)size, key);
    return 0;
}

static int
cmd_put(ml_s3 *s3, int argc, char **argv, char *why, size_t why_len)
{
    int only_new = argc > 0 && strcmp(argv[0], "-n") == 0;
    argc -= only_new;
    argv += only_new;
    if (argc != 3) {
        return -100;
    }
    ml_buf data;
    ml_buf_init(&data, MAX_OBJECT);
    int rc = read_all(argv[2], &data);
    if (rc != 0) {
        snprintf(why, why_len, "cannot read %s: %s", argv[2], ml_strerror(rc));
    } else {
        rc = ml_s3_put(s3, argv[0], argv[1], data.data, data.len, only_new,
                       why, why_len);
    }
    ml_buf_free(&data);
    return rc;
}

static int
cmd_get(ml_s3 *s3, int argc, char **argv, char *why, size_t why_len)
{
    size_t max = MAX_OBJECT;
    if (argc > 2 && strcmp(argv[0], "-m") == 0) {
        max = (size_t)strtoull(argv[1], NULL, 10);
        argc -= 2;
        argv += 2;
    }
    if (argc < 2 || argc > 4) {
        return -100;
    }
    uint64_t off = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
    uint64_t len = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    uint64_t size = 0;
    ml_buf out;
    ml_buf_init(&out, max);
    int rc =
        ml_s3_get(s3, argv[0], argv[1], off, len, &out, &size, why, why_len);
    if (rc == 0) {
        if (out.len > 0) { /* an empty buffer has no data pointer */
            fwrite(out.data, 1, out.len, stdout);
        }
        fprintf(stderr, "size %llu\n", (unsigned long long)size);
    }
    ml_buf_free(&out);
    return rc;
}

typedef struct {
    ml_s3 *s3;
    const char *bucket, *prefix;
    unsigned id, n;
    int rc;
    char why[512];
} worker;

/* Object j of worker w: a size and bytes that differ per worker. */
static size_t
fill(const worker *w, unsigned j, uint8_t *buf, size_t cap)
{
    size_t len = ((size_t)w->id * 7919u + j * 104729u) % cap;
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 31u + w->id * 17u + j);
    }
    return len;
}

static int
check_one(worker *w, unsigned j, uint8_t *data, ml_buf *back)
{
    char key[512];
    snprintf(key, sizeof key, "%s/t%u/%u", w->prefix, w->id, j);
    size_t len = fill(w, j, data, 70000);
    uint64_t size = 0;
    ml_buf_reset(back);
    int rc =
        ml_s3_put(w->s3, w->bucket, key, data, len, 0, w->why, sizeof w->why);
    if (rc == 0) {
        rc = ml_s3_get(w->s3, w->bucket, key, 0, 0, back, &size, w->why,
                       sizeof w->why);
    }
    if (rc == 0
        && (size != len || back->len != len
            || (len > 0 && memcmp(back->data, data, len) != 0))) {
        snprintf(w->why, sizeof w->why, "%.400s: read back differs", key);
        rc = ML_ECORRUPT;
    }
    return rc;
}

static void *
work(void *arg)
{
    worker *w = arg;
    static const size_t cap = 70000;
    uint8_t *data = malloc(cap);
    ml_buf back;
    ml_buf_init(&back, cap);
    w->rc = data != NULL ? 0 : ML_ENOMEM;
    for (unsigned j = 0; w->rc == 0 && j < w->n; j++) {
        w->rc = check_one(w, j, data, &back);
    }
    ml_buf_free(&back);
    free(data);
    return NULL;
}

static int
cmd_threads(ml_s3 *s3, char **argv, char *why, size_t why_len)
{
    unsigned t = (unsigned)strtoul(argv[2], NULL, 10);
    unsigned n = (unsigned)strtoul(argv[3], NULL, 10);
    worker ws[64];
    pthread_t th[64];
    if (t == 0 || t > 64) {
        return -100;
    }
    for (unsigned i = 0; i < t; i++) {
        ws[i] = (worker){s3, argv[0], argv[1], i, n, 0, ""};
        pthread_create(&th[i], NULL, work, &ws[i]);
    }
    int rc = 0;
    for (unsigned i = 0; i < t; i++) {
        pthread_join(th[i], NULL);
        if (rc == 0 && ws[i].rc != 0) {
            rc = ws[i].rc;
            snprintf(why, why_len, "thread %u: %s", i, ws[i].why);
        }
    }
    if (rc == 0) {
        printf("ok %u\n", t * n);
    }
    return rc;
}

static int
run(ml_s3 *s3, const char *cmd, int argc, char **argv, char *why,
    size_t why_len)
{
    uint64_t size = 0;
    int rc = -100;
    if (strcmp(cmd, "mkbucket") == 0 && argc == 1) {
        rc = ml_s3_create_bucket(s3, argv[0], why, why_len);
    } else if (strcmp(cmd, "put") == 0) {
        rc = cmd_put(s3, argc, argv, why, why_len);
    } else if (strcmp(cmd, "get") == 0) {
        rc = cmd_get(s3, argc, argv, why, why_len);
    } else if (strcmp(cmd, "head") == 0 && argc == 2) {
        rc = ml_s3_head(s3, argv[0], argv[1], &size, why, why_len);
        if (rc == 0) {
            printf("%llu\n", (unsigned long long)size);
        }
    } else if (strcmp(cmd, "delete") == 0 && argc == 2) {
        rc = ml_s3_delete(s3, argv[0], argv[1], why, why_len);
    } else if (strcmp(cmd, "threads") == 0 && argc == 4) {
        rc = cmd_threads(s3, argv, why, why_len);
    } else if (strcmp(cmd, "list") == 0 && (argc == 1 || argc == 2)) {
        rc = ml_s3_list(s3, argv[0], argc == 2 ? argv[1] : "", print_entry,
                        NULL, why, why_len);
    }
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        return usage();
    }
    char why[1024] = "";
    ml_s3_config c;
    int rc = ml_s3_config_from_env(&c, why, sizeof why);
    if (rc != 0) {
        return exit_code(rc, why);
    }
    ml_s3 *s3 = NULL;
    rc = ml_s3_new(&c, &s3);
    if (rc != 0) {
        snprintf(why, sizeof why, "bad S3 configuration: %s", ml_strerror(rc));
        return exit_code(rc, why);
    }
    const char *mk = getenv("MICROLOG_S3_MAX_KEYS");
    if (mk != NULL && mk[0] != '\0') {
        ml_s3_set_page_size(s3, (uint32_t)strtoul(mk, NULL, 10));
    }
    rc = run(s3, argv[1], argc - 2, argv + 2, why, sizeof why);
    ml_s3_free(s3);
    if (rc == -100) {
        return usage();
    }
    fflush(stdout);
    return exit_code(rc, why);
}
