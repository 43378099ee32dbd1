// SPDX-License-Identifier: MIT
// A small pool of PostgreSQL connections shared by threads: at most size
// connections, opened when first needed; a caller waits while all are in
// use. ml_pgpool_run() lends one connection to a function and, when the
// function failed because the connection broke (the database restarted)
// or the transaction was rolled back by a deadlock, drops every idle
// connection (they are as stale) and runs the function once more on a new
// one.
#ifndef ML_PGPOOL_H
#define ML_PGPOOL_H

#include <stddef.h>

#include "ml_pg.h"

typedef struct ml_pgpool ml_pgpool;

/* Copies conninfo; size 0 means 8. 0 and *out, ML_ENOMEM or ML_EINVAL. */
int ml_pgpool_new(const char *conninfo, int size, ml_pgpool **out);
/* Closes every connection; none may be lent out. Accepts NULL. */
void ml_pgpool_free(ml_pgpool *p);

/* A unit of work on one connection. It may run twice (a retry), so it
 * writes its outputs only when it succeeds; it returns 0 or an ML_E*
 * error with call->why set. A transaction it leaves open on failure is
 * rolled back by the pool. */
typedef int (*ml_pgpool_fn)(ml_pg_call *call, void *arg);

/* Runs fn on a pooled connection as described above. fn's result, or the
 * connection's error (ML_EIO), with why. */
int ml_pgpool_run(ml_pgpool *p, ml_pgpool_fn fn, void *arg, char *why,
                  size_t why_len);
/* The same with fn between BEGIN and COMMIT: a retry runs the whole
 * transaction again. */
int ml_pgpool_transaction(ml_pgpool *p, ml_pgpool_fn fn, void *arg, char *why,
                          size_t why_len);

#endif
