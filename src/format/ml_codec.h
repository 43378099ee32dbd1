// SPDX-License-Identifier: MIT
// Record payload coding, both directions side by side so that the writer
// and the reader cannot disagree. Layouts are in docs/FORMAT.md, "Records".
// Timed records store their time as a zigzag delta from the chunk clock,
// which starts at the chunk's base time and follows each timed record.
#ifndef ML_CODEC_H
#define ML_CODEC_H

#include <stdint.h>

#include "../core/ml_buf.h"
#include "ml_record.h"

/* Runs each of a sequence of coding steps, returning the first error. */
#define ML_TRY(expr)                                                          \
    do {                                                                      \
        int err_ = (expr);                                                    \
        if (err_ < 0) {                                                       \
            return err_;                                                      \
        }                                                                     \
    } while (0)

/* Appends the payload of rec (without kind and length) to out and advances
 * *clock for timed kinds. 0, ML_EINVAL for an unknown kind, or an ml_buf
 * error. */
int ml_codec_encode(ml_buf *out, const ml_record *rec, int64_t *clock);

/* Decodes a payload of the given known kind. Bytes after the fields this
 * version knows are ignored (later minor versions append fields). Returns 0,
 * or ML_ECORRUPT with a static reason in *why. Byte ranges in *rec point
 * into payload. */
int ml_codec_decode(uint8_t kind, const uint8_t *payload, uint32_t len,
                    int64_t *clock, ml_record *rec, const char **why);

/* Non-zero for the kinds this version of the format defines. */
int ml_codec_known(uint8_t kind);

#endif
