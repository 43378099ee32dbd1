// SPDX-License-Identifier: MIT
// A JSON text writer into a byte buffer, for the views whose answers hold
// many numbers (timeline spans, status buckets, flame graphs): building a
// jansson value per number costs more than computing the view. It only
// writes; nothing here parses JSON. Commas are placed by the writer, so
// callers write keys and values in order. Failures are sticky: check
// ml_jsonw_error() once at the end.
#ifndef ML_JSONW_H
#define ML_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"

#define ML_JSONW_DEPTH 32

typedef struct {
    ml_buf out;
    int err;
    int depth;
    uint8_t first[ML_JSONW_DEPTH]; /* no value written yet at this level */
} ml_jsonw;

/* max bounds the text (ML_ELIMIT past it). */
void ml_jsonw_init(ml_jsonw *w, size_t max);
void ml_jsonw_free(ml_jsonw *w);
int ml_jsonw_error(const ml_jsonw *w);

void ml_jsonw_obj(ml_jsonw *w);
void ml_jsonw_obj_end(ml_jsonw *w);
void ml_jsonw_arr(ml_jsonw *w);
void ml_jsonw_arr_end(ml_jsonw *w);
/* An object key; the next call writes its value. */
void ml_jsonw_key(ml_jsonw *w, const char *key);

void ml_jsonw_u64(ml_jsonw *w, uint64_t v);
void ml_jsonw_i64(ml_jsonw *w, int64_t v);
/* Shortest round-trip form up to 12 significant digits; NaN and infinities
 * become null. */
void ml_jsonw_f64(ml_jsonw *w, double v);
void ml_jsonw_bool(ml_jsonw *w, int v);
void ml_jsonw_null(ml_jsonw *w);
/* A string of len bytes, escaped; bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid JSON. NULL writes null. */
void ml_jsonw_strn(ml_jsonw *w, const char *s, size_t len);
void ml_jsonw_str(ml_jsonw *w, const char *s);

/* key + value shorthands */
void ml_jsonw_ku64(ml_jsonw *w, const char *key, uint64_t v);
void ml_jsonw_kf64(ml_jsonw *w, const char *key, double v);
void ml_jsonw_kstr(ml_jsonw *w, const char *key, const char *s);
void ml_jsonw_kbool(ml_jsonw *w, const char *key, int v);

#endif
