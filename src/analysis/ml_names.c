// SPDX-License-Identifier: MIT
// Module and class names from recorded paths and names (see ml_names.h).
#include "ml_names.h"

#include <string.h>

static size_t
put(char *out, size_t cap, const char *s, size_t n)
{
    if (cap == 0) {
        return 0;
    }
    if (n > cap - 1) {
        n = cap - 1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

/* Offset just after the last occurrence of marker in s[0..len), or 0. */
static size_t
after_last(const char *s, size_t len, const char *marker)
{
    size_t m = strlen(marker), best = 0;
    for (size_t i = 0; i + m <= len; i++) {
        if (memcmp(s + i, marker, m) == 0) {
            best = i + m;
        }
    }
    return best;
}

/* Offset after "/lib/pythonX.Y/" (the standard library), or 0. */
static size_t
after_stdlib(const char *s, size_t len)
{
    size_t best = 0;
    for (size_t i = 0; i + 12 <= len; i++) {
        if (memcmp(s + i, "/lib/python3", 12) != 0) {
            continue;
        }
        size_t j = i + 12;
        while (j < len && (s[j] == '.' || (s[j] >= '0' && s[j] <= '9'))) {
            j++;
        }
        if (j < len && s[j] == '/') {
            best = j + 1;
        }
    }
    return best;
}

size_t
ml_module_of(const char *file, size_t len, char *out, size_t cap)
{
    if (len > 0 && file[0] == '<') {
        if (len > 9 && memcmp(file, "<frozen ", 8) == 0
            && file[len - 1] == '>') {
            return put(out, cap, file + 8, len - 9);
        }
        return put(out, cap, file, len);
    }
    size_t start = after_last(file, len, "site-packages/");
    size_t d = after_last(file, len, "dist-packages/");
    start = d > start ? d : start;
    if (start == 0) {
        start = after_stdlib(file, len);
    }
    if (start == 0) {
        start = after_last(file, len, "/");
    }
    const char *p = file + start;
    size_t n = len - start;
    if (n > 3 && memcmp(p + n - 3, ".py", 3) == 0) {
        n -= 3;
    }
    if (n >= 9 && memcmp(p + n - 8, "__init__", 8) == 0
        && (n == 8 || p[n - 9] == '/')) {
        n = n > 8 ? n - 9 : n;
    }
    size_t w = put(out, cap, p, n);
    for (size_t i = 0; i < w; i++) {
        if (out[i] == '/') {
            out[i] = '.';
        }
    }
    return w;
}

size_t
ml_class_of(const char *q, size_t len, char *out, size_t cap)
{
    /* The segment before the last '.', unless it is "<locals>". */
    size_t dot = len;
    while (dot > 0 && q[dot - 1] != '.') {
        dot--;
    }
    if (dot == 0) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return 0;
    }
    size_t end = dot - 1, start = end;
    while (start > 0 && q[start - 1] != '.') {
        start--;
    }
    if (end - start == 8 && memcmp(q + start, "<locals>", 8) == 0) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return 0;
    }
    return put(out, cap, q + start, end - start);
}
