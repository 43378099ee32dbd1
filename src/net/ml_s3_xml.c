// SPDX-License-Identifier: MIT
// Bounded tag search and unescaping of S3's XML answers (see ml_s3_xml.h).
#define _GNU_SOURCE /* memmem */
#include "ml_s3_xml.h"

#include <stdio.h>
#include <string.h>

#include "core/ml_error.h"

/* Where needle starts in [p, end), or NULL. */
static const char *
find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    if (p == NULL || end < p) {
        return NULL;
    }
    return memmem(p, (size_t)(end - p), needle, n);
}

/* The text between <tag> and </tag> in [p, end): *text and *text_len.
 * 1 when found, 0 when not. */
static int
element(const char *p, const char *end, const char *tag, const char **text,
        size_t *text_len)
{
    char open[64], close[64];
    int n = snprintf(open, sizeof open, "<%s>", tag);
    int m = snprintf(close, sizeof close, "</%s>", tag);
    if (n <= 0 || (size_t)n >= sizeof open || m <= 0
        || (size_t)m >= sizeof close) {
        return 0;
    }
    const char *a = find(p, end, open);
    if (a == NULL) {
        return 0;
    }
    a += n;
    const char *b = find(a, end, close);
    if (b == NULL) {
        return 0;
    }
    *text = a;
    *text_len = (size_t)(b - a);
    return 1;
}

/* Appends code point cp as UTF-8; 0 or ML_ECORRUPT / ML_ELIMIT. */
static int
put_utf8(unsigned long cp, char *out, size_t cap, size_t *o)
{
    unsigned char u[4];
    size_t n;
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return ML_ECORRUPT;
    } else if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (n >= cap - *o) {
        return ML_ELIMIT;
    }
    memcpy(out + *o, u, n);
    *o += n;
    return 0;
}

/* A numeric reference body ("#65" or "#x41", without '&' and ';'). */
static int
char_ref(const char *p, size_t n, unsigned long *cp)
{
    int hex = n > 1 && (p[1] == 'x' || p[1] == 'X');
    size_t i = hex ? 2 : 1;
    if (n <= i || n - i > 8) {
        return ML_ECORRUPT;
    }
    unsigned long v = 0;
    for (; i < n; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0) {
            return ML_ECORRUPT;
        }
        v = v * (hex ? 16 : 10) + (unsigned long)d;
    }
    *cp = v;
    return 0;
}

/* The code point of the entity body p[0..n) ("amp", "#x41", ...). */
static int
entity(const char *p, size_t n, unsigned long *cp)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    if (n > 0 && p[0] == '#') {
        return char_ref(p, n, cp);
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strlen(named[i].name) == n && memcmp(p, named[i].name, n) == 0) {
            *cp = (unsigned char)named[i].c;
            return 0;
        }
    }
    return ML_ECORRUPT;
}

int
ml_s3_xml_unescape(const char *xml, size_t len, char *out, size_t cap)
{
    if (cap == 0) {
        return ML_ELIMIT;
    }
    size_t o = 0;
    const char *p = xml, *end = xml + len;
    while (p < end) {
        int err = 0;
        if (*p == '\0') {
            return ML_ECORRUPT;
        } else if (*p != '&') {
            err = o + 1 < cap ? 0 : ML_ELIMIT;
            if (err == 0) {
                out[o++] = *p++;
            }
        } else {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            unsigned long cp = 0;
            err = semi != NULL && semi - p <= 12 ? 0 : ML_ECORRUPT;
            if (err == 0) {
                err = entity(p + 1, (size_t)(semi - p - 1), &cp);
            }
            if (err == 0) {
                err = put_utf8(cp, out, cap, &o);
                p = semi + 1;
            }
        }
        if (err != 0) {
            return err;
        }
    }
    out[o] = '\0';
    return (int)o;
}

int
ml_s3_xml_text(const char *xml, size_t len, const char *tag, char *out,
               size_t cap)
{
    const char *t;
    size_t n;
    if (!element(xml, xml + len, tag, &t, &n)) {
        return 0;
    }
    int r = ml_s3_xml_unescape(t, n, out, cap);
    return r < 0 ? r : 1;
}

/* A decimal <Size>: digits only, no overflow. */
static int
parse_size(const char *p, size_t n, uint64_t *v)
{
    if (n == 0 || n > 20) {
        return ML_ECORRUPT;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return ML_ECORRUPT;
        }
        uint64_t d = (uint64_t)(p[i] - '0');
        if (x > (UINT64_MAX - d) / 10) {
            return ML_ECORRUPT;
        }
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

/* One <Contents> element [p, end): its key and size to each. */
static int
contents(const char *p, const char *end, ml_s3_xml_entry_fn each, void *ctx)
{
    char key[ML_S3_XML_MAX_TEXT];
    const char *t;
    size_t n;
    uint64_t size = 0;
    if (!element(p, end, "Key", &t, &n)) {
        return ML_ECORRUPT;
    }
    int r = ml_s3_xml_unescape(t, n, key, sizeof key);
    if (r < 0) {
        return r;
    }
    if (element(p, end, "Size", &t, &n)) {
        r = parse_size(t, n, &size);
        if (r != 0) {
            return r;
        }
    }
    return each(ctx, key, size);
}

int
ml_s3_xml_list_page(const char *xml, size_t len, ml_s3_xml_entry_fn each,
                    void *ctx, int *truncated, char *token, size_t token_cap)
{
    const char *end = xml + len;
    char flag[16];
    if (token_cap == 0 || find(xml, end, "<ListBucketResult") == NULL) {
        return ML_ECORRUPT;
    }
    token[0] = '\0';
    int r = ml_s3_xml_text(xml, len, "IsTruncated", flag, sizeof flag);
    if (r < 0) {
        return r == ML_ELIMIT ? ML_ECORRUPT : r;
    }
    *truncated = r == 1 && strcmp(flag, "true") == 0;
    r = ml_s3_xml_text(xml, len, "NextContinuationToken", token, token_cap);
    if (r < 0) {
        return r;
    }
    for (const char *p = find(xml, end, "<Contents>"); p != NULL;) {
        const char *close = find(p, end, "</Contents>");
        if (close == NULL) {
            return ML_ECORRUPT;
        }
        r = contents(p, close, each, ctx);
        if (r != 0) {
            return r;
        }
        p = find(close, end, "<Contents>");
    }
    return 0;
}
