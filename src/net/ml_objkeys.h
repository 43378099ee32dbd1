// SPDX-License-Identifier: MIT
// Where things live in the bucket (docs/STORE.md), in one place for the
// servers and for clients that write to the bucket themselves:
//   PREFIX/seg/YYYY/MM/DD/HH/SERVER-US-SEQ.mseg   what a server received
//   PREFIX/run/YYYY/MM/DD/RUN_ID.mlog             a compacted run
//   PREFIX/direct/YYYY/MM/DD/HH/RUN_ID.mlog       a run a client saved
//   PREFIX/direct/parts/RUN_ID/OFFSET.part        its pieces while it runs
// Dates are UTC; the hour of a direct run is the hour it ended, so a
// server finds new ones by listing the last two hours only.
#ifndef ML_OBJKEYS_H
#define ML_OBJKEYS_H

#include <stddef.h>
#include <stdint.h>

void ml_objkey_run(const char *prefix, const char *run_id,
                   int64_t start_unix_us, char *out, size_t n);
void ml_objkey_direct(const char *prefix, const char *run_id,
                      int64_t end_unix_us, char *out, size_t n);
/* The folder of direct runs that ended in the hour of unix_us. */
void ml_objkey_direct_hour(const char *prefix, int64_t unix_us, char *out,
                           size_t n);
void ml_objkey_direct_all(const char *prefix, char *out, size_t n);
void ml_objkey_part(const char *prefix, const char *run_id, uint64_t off,
                    char *out, size_t n);
void ml_objkey_parts(const char *prefix, const char *run_id, char *out,
                     size_t n);
/* The run id in a key of a direct run ("" when key is not one). */
void ml_objkey_direct_run_id(const char *key, char *out, size_t n);

#endif
