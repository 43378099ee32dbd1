// SPDX-License-Identifier: MIT
// Migrations of the catalog (see ml_catalog_schema.h). Each is applied
// once and never edited afterwards: a change to the schema is a new entry
// at the end of the table. Times are microseconds since the Unix epoch on
// the database's clock (ml_now_us()), so servers with skewed clocks agree
// on leases and due times.
#include "ml_catalog_schema.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/ml_error.h"

typedef struct {
    int version;
    const char *sql;
} migration;

static const migration migrations[] = {
    {1, /* the tables */
     "CREATE FUNCTION ml_now_us() RETURNS bigint LANGUAGE sql STABLE AS"
     " $$SELECT (extract(epoch FROM now()) * 1000000)::bigint$$;"
     "CREATE TABLE runs ("
     " run_id uuid PRIMARY KEY,"
     " name text NOT NULL UNIQUE,"
     /* The name filter is case-insensitive: LIKE on a lowered copy
      * costs half of ILIKE on the name where it must scan. */
     " name_lower text GENERATED ALWAYS AS (lower(name)) STORED,"
     " label text NOT NULL DEFAULT '',"
     " host text NOT NULL DEFAULT '',"
     " start_us bigint NOT NULL,"
     " updated_us bigint NOT NULL,"
     " status smallint NOT NULL DEFAULT 0,"
     " durable bigint NOT NULL DEFAULT 0,"
     " end_size bigint,"
     " object_key text,"
     " object_size bigint NOT NULL DEFAULT 0,"
     " labels jsonb NOT NULL DEFAULT '{}')"
     /* Room in each page for the new versions of a row that every
      * commit updates (durable size, time), so they stay HOT. */
     " WITH (fillfactor = 70);"
     /* Newest first, alone or within a label or a host. */
     "CREATE INDEX runs_start ON runs (start_us, run_id);"
     "CREATE INDEX runs_label_start ON runs (label, start_us, run_id);"
     "CREATE INDEX runs_host_start ON runs (host, start_us, run_id);"
     "CREATE INDEX runs_labels ON runs USING gin (labels);"
     "CREATE TABLE segments ("
     " key text PRIMARY KEY,"
     " bytes bigint NOT NULL,"
     " created_us bigint NOT NULL,"
     " live_pieces bigint NOT NULL DEFAULT 0);"
     "CREATE TABLE pieces ("
     " run_id uuid NOT NULL,"
     " off bigint NOT NULL,"
     " len bigint NOT NULL CHECK (len > 0),"
     " segment_key text NOT NULL,"
     " seg_off bigint NOT NULL,"
     " PRIMARY KEY (run_id, off));"
     /* Done jobs are deleted, so (kind, arg) is unique among those
      * waiting or leased: a job is queued once. */
     "CREATE TABLE jobs ("
     " id bigserial PRIMARY KEY,"
     " kind smallint NOT NULL,"
     " arg text NOT NULL,"
     " due_us bigint NOT NULL,"
     " leased_until_us bigint,"
     " attempts integer NOT NULL DEFAULT 0,"
     " UNIQUE (kind, arg));"
     "CREATE INDEX jobs_due ON jobs (due_us);"},
    {2, /* the name filter's index, where pg_trgm can be had: without it
           the filter still works, scanning */
     "DO $$ BEGIN"
     " CREATE EXTENSION IF NOT EXISTS pg_trgm;"
     " CREATE INDEX runs_name_trgm ON runs"
     " USING gin (name_lower gin_trgm_ops);"
     " EXCEPTION WHEN OTHERS THEN"
     " RAISE NOTICE 'pg_trgm unavailable (%): name filter unindexed',"
     " SQLERRM;"
     " END $$"},
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

/* Any constant: all microlog servers on one database agree on it. */
#define ML_CATALOG_LOCK_KEY "7308240113"

int
ml_catalog_schema_version(void)
{
    return migrations[NMIGRATIONS - 1].version;
}

static int
current_version(ml_pg_call *call, int *version)
{
    PGresult *res;
    int rc = ml_pg_exec(call,
                        "SELECT coalesce(max(version), 0) FROM"
                        " schema_version",
                        0, NULL, &res);
    if (rc == 0) {
        *version = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return rc;
}

/* Migrations are constants holding several statements, which only the
 * simple protocol (PQexec) runs; they contain no outside text. */
static int
apply(ml_pg_call *call, const migration *m)
{
    PGresult *res = PQexec(call->conn, m->sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        char what[48];
        snprintf(what, sizeof what, "migration %d", m->version);
        ml_pg_why(call->why, call->why_len, what, PQresultErrorMessage(res));
    }
    PQclear(res);
    if (!ok) {
        return ML_EIO;
    }
    char v[16];
    snprintf(v, sizeof v, "%d", m->version);
    const char *params[] = {v};
    return ml_pg_exec(call,
                      "INSERT INTO schema_version (version, applied_at)"
                      " VALUES ($1, now())",
                      1, params, NULL);
}

int
ml_catalog_migrate(ml_pg_call *call)
{
    int rc = ml_pg_exec(
        call, "SELECT pg_advisory_xact_lock(" ML_CATALOG_LOCK_KEY ")", 0, NULL,
        NULL);
    if (rc == 0) {
        rc = ml_pg_exec(call,
                        "CREATE TABLE IF NOT EXISTS schema_version ("
                        " version integer PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL)",
                        0, NULL, NULL);
    }
    int version = 0;
    if (rc == 0) {
        rc = current_version(call, &version);
    }
    for (size_t i = 0; rc == 0 && i < NMIGRATIONS; i++) {
        if (migrations[i].version > version) {
            rc = apply(call, &migrations[i]);
        }
    }
    return rc;
}
