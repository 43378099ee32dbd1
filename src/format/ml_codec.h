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

/* The file a payload belongs to, as far as its layout goes: from major
 * version 3 on, strings, frames and stacks carry no id (each takes the next
 * of its table) and a stack stores its parent as the distance back, so
 * decoding them needs how many of each are defined; and well-known META
 * keys are a code (handed out as their text). */
typedef struct {
    uint16_t major;
    uint32_t strings, frames, stacks; /* defined before this record */
} ml_codec_file;

/* Appends the payload of rec (without kind and length) to out, in the
 * layout of the given major version, and advances *clock for timed kinds.
 * 0, ML_EINVAL for an unknown kind or (from 3 on) a stack whose parent is
 * not an earlier stack, or an ml_buf error. From 3 on the ids of strings,
 * frames and stacks are not written: the caller defines them in order. */
int ml_codec_encode(ml_buf *out, uint16_t major, const ml_record *rec,
                    int64_t *clock);

/* Decodes a payload of the given known kind from a file of file->major.
 * Bytes after the fields this version knows are ignored (later minor
 * versions append fields). From 3 on, a definition gets the next id of
 * its table. Returns 0, or ML_ECORRUPT with a static reason in *why. Byte
 * ranges in *rec point into payload. */
int ml_codec_decode(uint8_t kind, const ml_codec_file *file,
                    const uint8_t *payload, uint32_t len, int64_t *clock,
                    ml_record *rec, const char **why);

/* Non-zero for the kinds this version of the format defines. */
int ml_codec_known(uint8_t kind);

#endif
