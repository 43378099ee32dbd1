// SPDX-License-Identifier: MIT
// The catalog's schema as numbered migrations compiled into the program,
// applied at open in one transaction under an advisory lock, so servers
// starting together apply each once; table schema_version records which
// ran. docs/STORE.md describes the tables.
#ifndef ML_CATALOG_SCHEMA_H
#define ML_CATALOG_SCHEMA_H

#include "ml_pg.h"

/* The newest schema this program knows. */
int ml_catalog_schema_version(void);

/* Brings the database up to ml_catalog_schema_version(), inside the
 * caller's transaction (the advisory lock lasts until it ends). 0, or ML_EIO
 * with call->why. A database with a newer schema is left alone (a newer
 * server migrated it; migrations only add). */
int ml_catalog_migrate(ml_pg_call *call);

#endif
