// SPDX-License-Identifier: MIT
// The catalog's connection pool (see ml_pgpool.h). Connections are opened
// and closed outside the lock: connecting may take up to the connect
// timeout, and other threads must keep using the idle ones meanwhile.
#include "ml_pgpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"

#define ML_PGPOOL_DEFAULT 8
#define ML_PGPOOL_MAX 256

struct ml_pgpool {
    char *conninfo;
    int size;
    pthread_mutex_t mu; /* protects everything below */
    pthread_cond_t freed;
    int open;      /* connections open or being opened, lent or idle */
    int nidle;     /* idle[0..nidle) are ready to lend */
    PGconn **idle; /* size slots */
};

int
ml_pgpool_new(const char *conninfo, int size, ml_pgpool **out)
{
    if (conninfo == NULL || size < 0 || size > ML_PGPOOL_MAX) {
        return ML_EINVAL;
    }
    ml_pgpool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return ML_ENOMEM;
    }
    p->size = size == 0 ? ML_PGPOOL_DEFAULT : size;
    p->conninfo = strdup(conninfo);
    p->idle = calloc((size_t)p->size, sizeof *p->idle);
    if (p->conninfo == NULL || p->idle == NULL) {
        free(p->conninfo);
        free(p->idle);
        free(p);
        return ML_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    *out = p;
    return 0;
}

void
ml_pgpool_free(ml_pgpool *p)
{
    if (p == NULL) {
        return;
    }
    for (int i = 0; i < p->nidle; i++) {
        PQfinish(p->idle[i]);
    }
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p->conninfo);
    free(p);
}

/* An idle connection, or a new one when fewer than size are open; waits
 * while all are lent. */
static int
acquire(ml_pgpool *p, PGconn **out, char *why, size_t why_len)
{
    pthread_mutex_lock(&p->mu);
    while (p->nidle == 0 && p->open >= p->size) {
        pthread_cond_wait(&p->freed, &p->mu);
    }
    if (p->nidle > 0) {
        *out = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    p->open++;
    pthread_mutex_unlock(&p->mu);
    int rc = ml_pg_connect(p->conninfo, out, why, why_len);
    if (rc != 0) {
        pthread_mutex_lock(&p->mu);
        p->open--;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}

/* Returns conn to the pool, or closes it when broken: then the idle ones
 * are closed too, since a restarted database broke them all. */
static void
release(ml_pgpool *p, PGconn *conn, int broken)
{
    PGconn *stale[ML_PGPOOL_MAX];
    int nstale = 0;
    if (!broken && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
        broken = PQtransactionStatus(conn) != PQTRANS_IDLE;
    }
    pthread_mutex_lock(&p->mu);
    if (broken) {
        nstale = p->nidle;
        memcpy(stale, p->idle, (size_t)nstale * sizeof *stale);
        p->nidle = 0;
        p->open -= nstale + 1;
        pthread_cond_broadcast(&p->freed);
    } else {
        p->idle[p->nidle++] = conn;
        pthread_cond_signal(&p->freed);
    }
    pthread_mutex_unlock(&p->mu);
    if (broken) {
        PQfinish(conn);
        for (int i = 0; i < nstale; i++) {
            PQfinish(stale[i]);
        }
    }
}

typedef struct {
    ml_pgpool_fn fn;
    void *arg;
} tx_body;

static int
in_transaction(ml_pg_call *call, void *arg)
{
    tx_body *body = arg;
    int rc = ml_pg_exec(call, "BEGIN", 0, NULL, NULL);
    if (rc == 0) {
        rc = body->fn(call, body->arg);
    }
    if (rc == 0) {
        rc = ml_pg_exec(call, "COMMIT", 0, NULL, NULL);
    }
    return rc;
}

int
ml_pgpool_transaction(ml_pgpool *p, ml_pgpool_fn fn, void *arg, char *why,
                      size_t why_len)
{
    tx_body body = {fn, arg};
    return ml_pgpool_run(p, in_transaction, &body, why, why_len);
}

int
ml_pgpool_run(ml_pgpool *p, ml_pgpool_fn fn, void *arg, char *why,
              size_t why_len)
{
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        ml_pg_call call = {.why = why, .why_len = why_len};
        rc = acquire(p, &call.conn, why, why_len);
        if (rc != 0) {
            return rc;
        }
        rc = fn(&call, arg);
        int retry = rc != 0 && ml_pg_retryable(&call);
        release(p, call.conn, rc != 0 && ml_pg_broken(&call));
        if (!retry) {
            break;
        }
    }
    return rc;
}
