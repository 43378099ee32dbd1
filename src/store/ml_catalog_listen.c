// SPDX-License-Identifier: MIT
// The listener of "microlog_runs" notifications (ml_catalog.h): one
// connection of its own, waited on with poll() so a caller's timeout
// holds. When the connection breaks (the database restarted) the next
// waits reconnect and LISTEN again; notifications sent while it was down
// are lost, as LISTEN/NOTIFY has no memory, so the first wait after a
// reconnection gives an empty payload: the caller re-reads what it
// follows.
#include "ml_catalog.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "ml_pg.h"

/* Pause between reconnection attempts while the database is down. */
#define ML_LISTEN_RETRY_MS 100

struct ml_catalog_listener {
    char *conninfo;
    PGconn *conn; /* NULL while disconnected */
    int gap;      /* reconnected: the empty payload is due */
};

static int64_t
now_ms(void)
{
    return (int64_t)(ml_clock_mono_ns() / 1000000);
}

static int
connect_and_listen(ml_catalog_listener *l, char *why, size_t why_len)
{
    PGconn *conn;
    int rc = ml_pg_connect(l->conninfo, &conn, why, why_len);
    if (rc != 0) {
        return rc;
    }
    PGresult *res = PQexec(conn, "LISTEN microlog_runs");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ml_pg_why(why, why_len, "LISTEN", PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return ML_EIO;
    }
    PQclear(res);
    l->conn = conn;
    return 0;
}

int
ml_catalog_listen(const char *conninfo, ml_catalog_listener **out, char *why,
                  size_t why_len)
{
    if (conninfo == NULL) {
        return ML_EINVAL;
    }
    ml_catalog_listener *l = calloc(1, sizeof *l);
    if (l == NULL || (l->conninfo = strdup(conninfo)) == NULL) {
        free(l);
        return ML_ENOMEM;
    }
    int rc = connect_and_listen(l, why, why_len);
    if (rc != 0) {
        ml_catalog_listen_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void
ml_catalog_listen_free(ml_catalog_listener *l)
{
    if (l != NULL) {
        PQfinish(l->conn);
        free(l->conninfo);
        free(l);
    }
}

static void
disconnect(ml_catalog_listener *l)
{
    PQfinish(l->conn);
    l->conn = NULL;
    l->gap = 1;
}

/* 1 and the payload of a notification already received, or 0. */
static int
take_notification(ml_catalog_listener *l, char *buf, size_t buf_len)
{
    PGnotify *n = PQnotifies(l->conn);
    if (n == NULL) {
        return 0;
    }
    if (buf_len > 0) {
        snprintf(buf, buf_len, "%s", n->extra);
    }
    PQfreemem(n);
    return 1;
}

/* Reads what arrived; 0, or -1 when the connection broke. */
static int
consume(ml_catalog_listener *l)
{
    if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
        disconnect(l);
        return -1;
    }
    return 0;
}

/* Tries to reconnect until deadline; 0 once connected, else ML_EIO. */
static int
reconnect(ml_catalog_listener *l, int64_t deadline)
{
    for (;;) {
        if (connect_and_listen(l, NULL, 0) == 0) {
            return 0;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            return ML_EIO;
        }
        int nap = left < ML_LISTEN_RETRY_MS ? (int)left : ML_LISTEN_RETRY_MS;
        poll(NULL, 0, nap);
    }
}

int
ml_catalog_listen_wait(ml_catalog_listener *l, int timeout_ms, char *buf,
                       size_t buf_len)
{
    if (l == NULL || timeout_ms < 0) {
        return ML_EINVAL;
    }
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        if (l->conn == NULL && reconnect(l, deadline) != 0) {
            return ML_EIO;
        }
        if (l->gap) {
            l->gap = 0;
            if (buf_len > 0) {
                buf[0] = '\0';
            }
            return 1;
        }
        if (consume(l) != 0) {
            if (now_ms() >= deadline) {
                return ML_EIO;
            }
            continue;
        }
        if (take_notification(l, buf, buf_len)) {
            return 1;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            return 0;
        }
        struct pollfd pfd = {.fd = PQsocket(l->conn), .events = POLLIN};
        int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno != EINTR) {
            disconnect(l);
        }
    }
}
