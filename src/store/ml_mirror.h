// SPDX-License-Identifier: MIT
// A server's local copy of the runs it is asked to show, fetched from the
// store: a finished run from its compacted object with ranged GETs, a live
// run from the segments holding its pieces, extended when the catalog
// announces more (a notification sets the run stale, so following a live
// run never polls object storage). The copies are a cache in a folder of
// their own, laid out like a local recordings folder (LABEL/STEM.mlog), so
// the server's indexes read them as they read local files; deleting the
// folder loses nothing.
#ifndef ML_MIRROR_H
#define ML_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "net/ml_s3.h"
#include "store/ml_catalog.h"

typedef struct ml_mirror ml_mirror;

int ml_mirror_new(ml_s3 *s3, const char *bucket, ml_catalog *catalog,
                  const char *dir, ml_mirror **out);
void ml_mirror_free(ml_mirror *m);

/* Brings the copy of the run named name (a valid LABEL/STEM id) up to what
 * the store holds: 0, 1 when the store has no such run, or an error with
 * why. Cheap when nothing changed: a finished run is never looked up
 * again, a live one only after a notification or every few seconds. */
int ml_mirror_sync(ml_mirror *m, const char *name, char *why, size_t why_len);

/* 1 when the run is live: receiving chunks in the last 10 seconds and not
 * ended (as of the last sync). */
int ml_mirror_is_live(ml_mirror *m, const char *name);

/* From the catalog's notifications ("RUN_ID DURABLE"): marks the run's
 * copy stale. */
void ml_mirror_notify(ml_mirror *m, const char *payload);

#endif
