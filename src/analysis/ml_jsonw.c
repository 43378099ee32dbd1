// SPDX-License-Identifier: MIT
// JSON text writer (see ml_jsonw.h).
#include "ml_jsonw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/ml_error.h"

void
ml_jsonw_init(ml_jsonw *w, size_t max)
{
    memset(w, 0, sizeof *w);
    ml_buf_init(&w->out, max);
    w->first[0] = 1;
}

void
ml_jsonw_free(ml_jsonw *w)
{
    ml_buf_free(&w->out);
}

int
ml_jsonw_error(const ml_jsonw *w)
{
    return w->err;
}

static void
put(ml_jsonw *w, const void *p, size_t n)
{
    if (w->err == 0) {
        int err = ml_buf_append(&w->out, p, n);
        if (err < 0) {
            w->err = err;
        }
    }
}

/* Before a value or key: a comma unless it is the first at this level. */
static void
sep(ml_jsonw *w)
{
    if (!w->first[w->depth]) {
        put(w, ",", 1);
    }
    w->first[w->depth] = 0;
}

/* After a key the value follows without a comma. */
static int after_key(ml_jsonw *w);

static void
value_start(ml_jsonw *w)
{
    if (!after_key(w)) {
        sep(w);
    }
}

static void
open(ml_jsonw *w, char c)
{
    value_start(w);
    put(w, &c, 1);
    if (w->depth + 1 >= ML_JSONW_DEPTH) {
        w->err = w->err ? w->err : ML_ELIMIT;
        return;
    }
    w->depth++;
    w->first[w->depth] = 1;
}

static void
close_level(ml_jsonw *w, char c)
{
    if (w->depth > 0) {
        w->depth--;
    }
    put(w, &c, 1);
}

/* The writer marks a pending key by a flag in the high bit of first[]. */
static int
after_key(ml_jsonw *w)
{
    if (w->first[w->depth] & 2) {
        w->first[w->depth] &= (uint8_t)~2;
        return 1;
    }
    return 0;
}

void
ml_jsonw_obj(ml_jsonw *w)
{
    open(w, '{');
}

void
ml_jsonw_obj_end(ml_jsonw *w)
{
    close_level(w, '}');
}

void
ml_jsonw_arr(ml_jsonw *w)
{
    open(w, '[');
}

void
ml_jsonw_arr_end(ml_jsonw *w)
{
    close_level(w, ']');
}

static void put_escaped(ml_jsonw *w, const char *s, size_t len);

void
ml_jsonw_key(ml_jsonw *w, const char *key)
{
    sep(w);
    put_escaped(w, key, strlen(key));
    put(w, ":", 1);
    w->first[w->depth] |= 2;
}

void
ml_jsonw_u64(ml_jsonw *w, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    value_start(w);
    put(w, b, (size_t)n);
}

void
ml_jsonw_i64(ml_jsonw *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    value_start(w);
    put(w, b, (size_t)n);
}

void
ml_jsonw_f64(ml_jsonw *w, double v)
{
    if (!isfinite(v)) {
        ml_jsonw_null(w);
        return;
    }
    char b[32];
    int n = snprintf(b, sizeof b, "%.12g", v);
    value_start(w);
    put(w, b, (size_t)n);
}

void
ml_jsonw_bool(ml_jsonw *w, int v)
{
    value_start(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void
ml_jsonw_null(ml_jsonw *w)
{
    value_start(w);
    put(w, "null", 4);
}

/* Length of the valid UTF-8 sequence at s (at most left bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000;
    } else {
        return 0;
    }
    if (n > left) {
        return 0;
    }
    unsigned cp = c & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

static void
put_escaped(ml_jsonw *w, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    put(w, "\"", 1);
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = utf8_len(s + i, len - i);
        if (n > 0 && c >= 0x20 && c != '"' && c != '\\') {
            i += n;
            run += n;
            continue;
        }
        put(w, s + i - run, run);
        run = 0;
        char b[8];
        if (n == 0) {
            put(w, "\\ufffd", 6);
        } else if (c == '"' || c == '\\') {
            b[0] = '\\', b[1] = (char)c;
            put(w, b, 2);
        } else if (c == '\n') {
            put(w, "\\n", 2);
        } else if (c == '\t') {
            put(w, "\\t", 2);
        } else if (c == '\r') {
            put(w, "\\r", 2);
        } else {
            snprintf(b, sizeof b, "\\u%04x", c);
            put(w, b, 6);
        }
        i += n ? n : 1;
    }
    put(w, s + len - run, run);
    put(w, "\"", 1);
}

void
ml_jsonw_strn(ml_jsonw *w, const char *s, size_t len)
{
    if (s == NULL) {
        ml_jsonw_null(w);
        return;
    }
    value_start(w);
    put_escaped(w, s, len);
}

void
ml_jsonw_str(ml_jsonw *w, const char *s)
{
    ml_jsonw_strn(w, s, s ? strlen(s) : 0);
}

void
ml_jsonw_ku64(ml_jsonw *w, const char *key, uint64_t v)
{
    ml_jsonw_key(w, key);
    ml_jsonw_u64(w, v);
}

void
ml_jsonw_kf64(ml_jsonw *w, const char *key, double v)
{
    ml_jsonw_key(w, key);
    ml_jsonw_f64(w, v);
}

void
ml_jsonw_kstr(ml_jsonw *w, const char *key, const char *s)
{
    ml_jsonw_key(w, key);
    ml_jsonw_str(w, s);
}

void
ml_jsonw_kbool(ml_jsonw *w, const char *key, int v)
{
    ml_jsonw_key(w, key);
    ml_jsonw_bool(w, v);
}
