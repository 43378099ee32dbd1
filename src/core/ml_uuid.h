// SPDX-License-Identifier: MIT
// Run ids: UUIDs made by the client, time-ordered (version 7: 48 bits of
// Unix milliseconds, then random bits), so ids sort by start and a retried
// upload names the same run. Recordings without an id get a name-based one
// (version 8, from a hash of what identifies the run) so re-sending them is
// idempotent too.
#ifndef ML_UUID_H
#define ML_UUID_H

#include <stddef.h>
#include <stdint.h>

#define ML_UUID_TEXT 37 /* 36 characters and the NUL */

/* A new version-7 id for a run starting at unix_ms. 0, or ML_EIO when the
 * system has no randomness to give. */
int ml_uuid_v7(uint64_t unix_ms, uint8_t out[16]);

/* A version-8 id derived from the bytes of name (the same name, the same
 * id). */
void ml_uuid_from_name(const void *name, size_t len, uint8_t out[16]);

/* Canonical lower-case text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
void ml_uuid_format(const uint8_t id[16], char out[ML_UUID_TEXT]);

/* Parses the canonical form (either case, no braces): 0 or ML_EINVAL. */
int ml_uuid_parse(const char *text, uint8_t out[16]);

#endif
