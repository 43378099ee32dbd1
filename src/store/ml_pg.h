// SPDX-License-Identifier: MIT
// libpq helpers shared by the catalog's connection pool and its listener:
// opening a connection with the settings every catalog session has (connect
// and statement timeouts, keepalives), running one parameterised statement
// with its failure kept (SQLSTATE and one line of text), and telling a
// failure worth one retry on a fresh connection (the database restarted,
// a deadlock) from a statement the database refused.
#ifndef ML_PG_H
#define ML_PG_H

#include <stddef.h>

#include <libpq-fe.h>

/* A statement running longer is cancelled by the server, so a stuck
 * database costs a caller seconds, not forever. */
#define ML_PG_STATEMENT_TIMEOUT_MS 10000
#define ML_PG_CONNECT_TIMEOUT_S "5"

/* Opens a connection to conninfo (a URI or key=value string) and sets the
 * session up. 0 and *out, or ML_EIO with why. */
int ml_pg_connect(const char *conninfo, PGconn **out, char *why,
                  size_t why_len);

/* One call on one connection: where its failure is kept. */
typedef struct {
    PGconn *conn;
    char sqlstate[6]; /* of the last failure, "" when none or unknown */
    char *why;
    size_t why_len;
} ml_pg_call;

/* Runs sql with nparams text parameters (NULL entries are SQL NULL). 0
 * and, when res is not NULL, the result in *res (the caller PQclear()s
 * it); or ML_EINVAL (the database rejected the values: SQLSTATE classes
 * 22, 23) or ML_EIO, with why and sqlstate set. */
int ml_pg_exec(ml_pg_call *call, const char *sql, int nparams,
               const char *const *params, PGresult **res);

/* 1 when the last failure may pass on a new connection: the connection is
 * broken, SQLSTATE class 08 (connection exception), 57P01-57P03 (the
 * server shut down or is starting), 40001 or 40P01 (serialization failure,
 * deadlock: the transaction was rolled back). */
int ml_pg_retryable(const ml_pg_call *call);

/* 1 when the connection itself is gone or going (broken, class 08,
 * 57P01-57P03): it must be closed, not returned to a pool. */
int ml_pg_broken(const ml_pg_call *call);

/* Writes "what: message" into why (when why_len > 0), the message cut to
 * its first line. */
void ml_pg_why(char *why, size_t why_len, const char *what,
               const char *message);

#endif
