// SPDX-License-Identifier: MIT
// libpq glue of the catalog (see ml_pg.h).
#include "ml_pg.h"

#include <stdio.h>
#include <string.h>

#include "core/ml_error.h"

void
ml_pg_why(char *why, size_t why_len, const char *what, const char *message)
{
    if (why == NULL || why_len == 0) {
        return;
    }
    if (message == NULL) {
        message = "";
    }
    size_t line = strcspn(message, "\n");
    snprintf(why, why_len, "%s: %.*s", what, (int)line, message);
}

/* Notices (an IF NOT EXISTS that skipped) are not errors: libpq would
 * print each on stderr. */
static void
quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Session settings: the timeout bounds every statement of the catalog;
 * an idle transaction (a caller that died between statements) is ended by
 * the server instead of holding its locks. */
static int
setup_session(PGconn *conn, char *why, size_t why_len)
{
    static const char sql[] = "SET statement_timeout = 10000;"
                              "SET idle_in_transaction_session_timeout"
                              " = 60000";
    _Static_assert(ML_PG_STATEMENT_TIMEOUT_MS == 10000,
                   "the SET above spells the timeout out");
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        ml_pg_why(why, why_len, "session set-up", PQerrorMessage(conn));
    }
    PQclear(res);
    return ok ? 0 : ML_EIO;
}

int
ml_pg_connect(const char *conninfo, PGconn **out, char *why, size_t why_len)
{
    /* Defaults first: keywords in conninfo (expanded from "dbname")
     * override them. Keepalives notice a database host that vanished
     * without closing the connection. */
    const char *keys[] = {"connect_timeout",  "keepalives",
                          "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "application_name",
                          "dbname",           NULL};
    const char *vals[] = {ML_PG_CONNECT_TIMEOUT_S,
                          "1",
                          "30",
                          "10",
                          "3",
                          "microlog",
                          conninfo,
                          NULL};
    if (conninfo == NULL) {
        ml_pg_why(why, why_len, "connect", "no conninfo");
        return ML_EINVAL;
    }
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL) {
        ml_pg_why(why, why_len, "connect", "out of memory");
        return ML_ENOMEM;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        ml_pg_why(why, why_len, "connect", PQerrorMessage(conn));
        PQfinish(conn);
        return ML_EIO;
    }
    PQsetNoticeProcessor(conn, quiet, NULL);
    int rc = setup_session(conn, why, why_len);
    if (rc != 0) {
        PQfinish(conn);
        return rc;
    }
    *out = conn;
    return 0;
}

/* Keeps the failure's SQLSTATE and text, and maps it to an error code. */
static int
failed(ml_pg_call *call, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (msg == NULL || msg[0] == '\0') {
        msg = PQerrorMessage(call->conn);
    }
    snprintf(call->sqlstate, sizeof call->sqlstate, "%s", state ? state : "");
    ml_pg_why(call->why, call->why_len, "database", msg);
    if (strncmp(call->sqlstate, "22", 2) == 0
        || strncmp(call->sqlstate, "23", 2) == 0) {
        return ML_EINVAL;
    }
    return ML_EIO;
}

int
ml_pg_exec(ml_pg_call *call, const char *sql, int nparams,
           const char *const *params, PGresult **res)
{
    PGresult *r =
        PQexecParams(call->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = failed(call, r);
        PQclear(r);
        return rc;
    }
    call->sqlstate[0] = '\0';
    if (res != NULL) {
        *res = r;
    } else {
        PQclear(r);
    }
    return 0;
}

int
ml_pg_broken(const ml_pg_call *call)
{
    return PQstatus(call->conn) != CONNECTION_OK
           || strncmp(call->sqlstate, "08", 2) == 0
           || strcmp(call->sqlstate, "57P01") == 0
           || strcmp(call->sqlstate, "57P02") == 0
           || strcmp(call->sqlstate, "57P03") == 0;
}

int
ml_pg_retryable(const ml_pg_call *call)
{
    return ml_pg_broken(call) || strcmp(call->sqlstate, "40001") == 0
           || strcmp(call->sqlstate, "40P01") == 0;
}
