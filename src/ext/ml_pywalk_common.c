// SPDX-License-Identifier: MIT
// Version-independent half of the stack reader: the sample loop, code and
// line caches, str/bytes copies, line table decoders and data stack copies.
// It reads Python objects only through the offsets in ml_pylayout.

#include "ml_pywalk_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ML_CODES_MAX (1u << 21)
#define ML_LINES_MAX (1u << 20)
#define ML_STRS_MAX (1u << 22)
#define ML_WIN_CAP (1u << 20) /* bytes copied of one data stack chunk */

static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static uint64_t
rd64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static int32_t
rd32(const uint8_t *p)
{
    int32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t
next_epoch(uint32_t e)
{
    return e + 1 != 0 ? e + 1 : 1;
}

/* ---- address sets ---------------------------------------------------- */

static int
set_reserve(ml_pyset *s, uint32_t want)
{
    uint32_t cap = 64;

    while (cap < want * 2) {
        cap *= 2;
    }
    if (cap <= s->cap) {
        return 0;
    }
    free(s->key);
    free(s->stamp);
    s->key = calloc(cap, sizeof(*s->key));
    s->stamp = calloc(cap, sizeof(*s->stamp));
    s->cap = s->key && s->stamp ? cap : 0;
    s->epoch = 1;
    return s->cap ? 0 : -ENOMEM;
}

static void
set_clear(ml_pyset *s)
{
    s->epoch = next_epoch(s->epoch);
    if (s->epoch == 1 && s->stamp) {
        memset(s->stamp, 0, s->cap * sizeof(*s->stamp));
    }
}

/* Returns 1 if addr is in the set; else adds it (when there is room). */
static int
set_add(ml_pyset *s, uint64_t addr)
{
    uint32_t mask = s->cap - 1, i, n;

    for (i = (uint32_t)mix64(addr) & mask, n = 0; n < s->cap / 2; n++) {
        if (s->stamp[i] != s->epoch) {
            s->stamp[i] = s->epoch;
            s->key[i] = addr;
            return 0;
        }
        if (s->key[i] == addr) {
            return 1;
        }
        i = (i + 1) & mask;
    }
    return 0; /* full: the walk's own bound still ends any cycle */
}

static void
set_free(ml_pyset *s)
{
    free(s->key);
    free(s->stamp);
}

int
ml_pyw_seen(ml_pywalk *w, uint64_t addr)
{
    return set_add(&w->fseen, addr);
}

/* ---- string table ----------------------------------------------------- */

static uint32_t
str_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    while (n--) {
        h = (h ^ (uint8_t)*s++) * 16777619u;
    }
    return h;
}

static int
strs_grow(ml_pywalk *w)
{
    uint32_t cap = w->strs_cap ? w->strs_cap * 2 : 256, i, j;
    char **t;

    if (cap > ML_STRS_MAX || !(t = calloc(cap, sizeof(*t)))) {
        return -ENOMEM;
    }
    for (i = 0; i < w->strs_cap; i++) {
        char *s = w->strs[i];

        if (s == NULL) {
            continue;
        }
        j = str_hash(s, strlen(s)) & (cap - 1);
        while (t[j] != NULL) {
            j = (j + 1) & (cap - 1);
        }
        t[j] = s;
    }
    free(w->strs);
    w->strs = t;
    w->strs_cap = cap;
    return 0;
}

/* Returns the table's copy of s[0, n), which never moves, or NULL. */
static const char *
strs_intern(ml_pywalk *w, const char *s, size_t n)
{
    uint32_t i;
    char *c;

    if ((w->strs_n + 1) * 2 > w->strs_cap && strs_grow(w) != 0) {
        return NULL;
    }
    i = str_hash(s, n) & (w->strs_cap - 1);
    for (; w->strs[i] != NULL; i = (i + 1) & (w->strs_cap - 1)) {
        if (strncmp(w->strs[i], s, n) == 0 && w->strs[i][n] == '\0') {
            return w->strs[i];
        }
    }
    if (!(c = malloc(n + 1))) {
        return NULL;
    }
    memcpy(c, s, n);
    c[n] = '\0';
    w->strs[i] = c;
    w->strs_n++;
    return c;
}

/* ---- str and bytes objects ------------------------------------------- */

static size_t
utf8_put(char *out, uint32_t cp)
{
    if (cp == 0) {
        cp = '?'; /* keep the C string whole */
    }
    if ((cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff) {
        cp = 0xfffd; /* lone surrogates are not UTF-8 */
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Converts len code points of the given kind (1, 2 or 4 bytes) to UTF-8 in
 * w->ubuf (sized for ML_PYW_STR_MAX code points); returns the length. */
static size_t
to_utf8(ml_pywalk *w, const uint8_t *data, int64_t len, int kind)
{
    size_t n = 0;
    int64_t i;

    for (i = 0; i < len; i++) {
        uint32_t cp;

        if (kind == 1) {
            cp = data[i];
        } else if (kind == 2) {
            uint16_t u;

            memcpy(&u, data + i * 2, 2);
            cp = u;
        } else {
            memcpy(&cp, data + i * 4, 4);
        }
        n += utf8_put(w->ubuf + n, cp);
    }
    return n;
}

const char *
ml_pyw_str(ml_pywalk *w, uint64_t addr)
{
    const ml_pylayout *l = &w->lay;
    size_t got = l->uni_ascii_size + 64, data_off, nbytes;
    int64_t len;
    int kind, state;

    /* Most names are short ASCII: header and text come in one read. */
    if (ml_saferead(w->rbuf, addr, got) != 0) {
        got = l->uni_compact_size;
        if (ml_saferead(w->rbuf, addr, got) != 0) {
            return NULL;
        }
    }
    if (rd64(w->rbuf + l->off_type) != l->unicode_type) {
        return NULL;
    }
    len = (int64_t)rd64(w->rbuf + l->uni_off_length);
    state = w->rbuf[l->uni_off_state];
    kind = (state >> 2) & 7;
    if (!(state & 0x20) || (kind != 1 && kind != 2 && kind != 4)
        || ((state & 0x40) && kind != 1) || len < 0) {
        return NULL; /* not a compact str: never the case for code names */
    }
    if (len > ML_PYW_STR_MAX) {
        len = ML_PYW_STR_MAX;
    }
    data_off = (state & 0x40) ? l->uni_ascii_size : l->uni_compact_size;
    nbytes = (size_t)len * (size_t)kind;
    if (data_off + nbytes > got
        && ml_saferead(w->rbuf + data_off, addr + data_off, nbytes) != 0) {
        return NULL;
    }
    return strs_intern(w, w->ubuf, to_utf8(w, w->rbuf + data_off, len, kind));
}

/* Copies the contents of a bytes object into a new buffer. */
static int
read_bytes(ml_pywalk *w, uint64_t addr, uint8_t **out, uint32_t *out_len)
{
    const ml_pylayout *l = &w->lay;
    uint8_t hdr[64];
    int64_t size;
    uint8_t *buf;

    if (l->bytes_off_sval > sizeof(hdr)
        || ml_saferead(hdr, addr, l->bytes_off_sval) != 0
        || rd64(hdr + l->off_type) != l->bytes_type) {
        return -EFAULT;
    }
    size = (int64_t)rd64(hdr + l->off_size);
    if (size < 0 || size > ML_PYW_LTAB_MAX) {
        return -EFAULT;
    }
    if (!(buf = malloc(size ? (size_t)size : 1))) {
        return -ENOMEM;
    }
    if (ml_saferead(buf, addr + l->bytes_off_sval, (size_t)size) != 0) {
        free(buf);
        return -EFAULT;
    }
    *out = buf;
    *out_len = (uint32_t)size;
    return 0;
}

/* ---- code objects ----------------------------------------------------- */

/* Copies the PyCodeObject at addr into buf; 0 if it is one. */
static int
code_copy(ml_pywalk *w, uint64_t addr, uint8_t *buf)
{
    if (ml_saferead(buf, addr, w->lay.code_copy) != 0) {
        return -EFAULT;
    }
    return rd64(buf + w->lay.off_type) == w->lay.code_type ? 0 : -EFAULT;
}

/* 1 if the copy still describes the object cached in e. */
static int
code_same(const ml_pywalk *w, const uint8_t *buf, const ml_pycode_ent *e)
{
    const ml_pylayout *l = &w->lay;

    return rd64(buf + l->off_type) == l->code_type
           && rd64(buf + l->off_name) == e->name_p
           && rd64(buf + l->off_file) == e->file_p
           && rd64(buf + l->off_ltab) == e->ltab_p
           && rd32(buf + l->off_firstlineno) == e->firstlineno
           && (l->off_version < 0
               || (uint32_t)rd32(buf + l->off_version) == e->version);
}

/* Fills e from a fresh copy of the code object at addr. */
static int
code_fill(ml_pywalk *w, uint64_t addr, ml_pycode_ent *e)
{
    const ml_pylayout *l = &w->lay;
    uint8_t buf[ML_PYW_CODE_COPY_MAX];
    uint8_t *ltab = NULL;
    uint32_t ltab_len = 0;
    int64_t units;

    if (code_copy(w, addr, buf) != 0) {
        return -EFAULT;
    }
    e->name_p = rd64(buf + l->off_name);
    e->file_p = rd64(buf + l->off_file);
    e->ltab_p = rd64(buf + l->off_ltab);
    e->firstlineno = rd32(buf + l->off_firstlineno);
    e->version = l->off_version < 0 ? 0 : (uint32_t)rd32(buf + l->off_version);
    e->name = ml_pyw_str(w, e->name_p);
    e->file = ml_pyw_str(w, e->file_p);
    if (e->name == NULL || e->file == NULL) {
        return -EFAULT;
    }
    /* A missing line table only costs line numbers. */
    read_bytes(w, e->ltab_p, &ltab, &ltab_len);
    /* A code object being built or freed while we read it would give a
     * mix of two objects: read it again and keep the result only if it
     * did not change meanwhile. */
    if (code_copy(w, addr, buf) != 0 || !code_same(w, buf, e)) {
        free(ltab);
        return -EAGAIN;
    }
    free(e->ltab);
    e->ltab = ltab;
    e->ltab_len = ltab_len;
    e->firsttraceable = 0;
    if (l->off_firsttraceable >= 0) {
        e->firsttraceable = rd32(buf + l->off_firsttraceable) * 2;
    }
    e->code_bytes = 0;
    units = l->off_adaptive >= 0 ? (int64_t)rd64(buf + l->off_size) : 0;
    if (units > 0 && units < (1 << 28)) {
        e->code_bytes = (uint32_t)units * 2;
    }
    e->addr = addr;
    e->gen++;
    e->checked = w->epoch;
    e->dead = 0;
    e->confirmed = 0;
    return 0;
}

static ml_pycode_ent *
code_find(ml_pywalk *w, uint64_t addr)
{
    uint32_t mask = w->codes_cap - 1, i;

    if (w->codes_cap == 0) {
        return NULL;
    }
    for (i = (uint32_t)mix64(addr) & mask; w->codes[i].addr;
         i = (i + 1) & mask) {
        if (w->codes[i].addr == addr) {
            return &w->codes[i];
        }
    }
    return &w->codes[i];
}

static int
codes_grow(ml_pywalk *w)
{
    uint32_t cap = w->codes_cap ? w->codes_cap * 2 : 1024, i, j;
    ml_pycode_ent *t;

    if (cap > ML_CODES_MAX || !(t = calloc(cap, sizeof(*t)))) {
        return -ENOMEM;
    }
    for (i = 0; i < w->codes_cap; i++) {
        if (w->codes[i].addr == 0) {
            continue;
        }
        j = (uint32_t)mix64(w->codes[i].addr) & (cap - 1);
        while (t[j].addr) {
            j = (j + 1) & (cap - 1);
        }
        t[j] = w->codes[i];
    }
    free(w->codes);
    w->codes = t;
    w->codes_cap = cap;
    return 0;
}

const ml_pycode_ent *
ml_pyw_code_get(ml_pywalk *w, uint64_t addr)
{
    ml_pycode_ent *e, tmp;

    if (addr < 4096) {
        return NULL;
    }
    if ((w->codes_n + 1) * 2 > w->codes_cap && codes_grow(w) != 0) {
        return NULL;
    }
    e = code_find(w, addr);
    if (e->addr == addr) {
        if (e->dead && code_fill(w, addr, e) != 0) {
            return NULL;
        }
        return e;
    }
    /* Fill a copy first so that a failed load leaves no entry behind. */
    memset(&tmp, 0, sizeof(tmp));
    if (code_fill(w, addr, &tmp) != 0) {
        free(tmp.ltab);
        return NULL;
    }
    *e = tmp;
    w->codes_n++;
    return e;
}

/* Queues a cached code object for the batched check against address
 * reuse, at most once per sample. */
static void
code_queue(ml_pywalk *w, uint64_t addr)
{
    ml_pycode_ent *e = code_find(w, addr);

    if (e == NULL || e->addr != addr || e->checked == w->epoch) {
        return;
    }
    if (w->vq_n == w->vq_cap) {
        uint32_t cap = w->vq_cap ? w->vq_cap * 2 : 64;
        uint64_t *q = realloc(w->vq, cap * sizeof(*q));

        if (q == NULL) {
            return; /* unchecked this time: checked on a later sample */
        }
        w->vq = q;
        w->vq_cap = cap;
    }
    e->checked = w->epoch;
    w->vq[w->vq_n++] = addr;
}

/* 1 if a cached entry has not yet passed two validations in different
 * samples since it was loaded: such an entry is checked even under an
 * unchanged frame, in case it was loaded from a half-built object. */
static int
code_unconfirmed(ml_pywalk *w, uint64_t addr)
{
    const ml_pycode_ent *e = code_find(w, addr);

    return e != NULL && e->addr == addr && e->confirmed < 2;
}

/* Re-reads every queued code object in one batched read and reloads the
 * ones whose address now holds something else. */
static void
code_flush(ml_pywalk *w)
{
    size_t sz = w->lay.code_copy;
    uint32_t i, cap = w->vq_cap;

    if (w->vq_n == 0) {
        return;
    }
    if (w->vbuf_cap < cap) {
        free(w->vbuf);
        free(w->vreq);
        w->vbuf = malloc(cap * sz);
        w->vreq = malloc(cap * sizeof(*w->vreq));
        w->vbuf_cap = w->vbuf && w->vreq ? cap : 0;
    }
    if (w->vbuf_cap < cap) {
        w->vq_n = 0;
        return;
    }
    for (i = 0; i < w->vq_n; i++) {
        w->vreq[i].dst = w->vbuf + i * sz;
        w->vreq[i].addr = w->vq[i];
        w->vreq[i].len = sz;
    }
    ml_saferead_batch(w->vreq, (int)w->vq_n);
    for (i = 0; i < w->vq_n; i++) {
        ml_pycode_ent *e = code_find(w, w->vq[i]);

        if (e == NULL || e->addr != w->vq[i]) {
            continue;
        }
        if (w->vreq[i].ok && code_same(w, w->vbuf + i * sz, e)) {
            e->confirmed += e->confirmed < 2;
            continue;
        }
        e->dead = code_fill(w, e->addr, e) != 0;
    }
    w->vq_n = 0;
}

int
ml_pywalk_code(ml_pywalk *w, uint64_t code, ml_pycode_info *out)
{
    const ml_pycode_ent *e;

    if (w == NULL || out == NULL) {
        return -EINVAL;
    }
    if (!(e = ml_pyw_code_get(w, code))) {
        return -EFAULT;
    }
    out->name = e->name;
    out->file = e->file;
    out->firstlineno = e->firstlineno;
    return 0;
}

/* ---- line tables ------------------------------------------------------ */

static int
lnotab_line(const ml_pycode_ent *e, int32_t lasti)
{
    int line = e->firstlineno, addr = 0;
    uint32_t i;

    for (i = 0; i + 1 < e->ltab_len; i += 2) {
        addr += e->ltab[i];
        if (addr > lasti) {
            break;
        }
        line += (int8_t)e->ltab[i + 1];
    }
    return line;
}

static int
py310_line(const ml_pycode_ent *e, int32_t lasti)
{
    int line = e->firstlineno, start, end = 0;
    uint32_t i;

    for (i = 0; i + 1 < e->ltab_len; i += 2) {
        int8_t ldelta = (int8_t)e->ltab[i + 1];

        start = end;
        end += e->ltab[i];
        if (ldelta != -128) {
            line += ldelta;
        }
        if (lasti >= start && lasti < end) {
            return ldelta == -128 ? -1 : line;
        }
    }
    return -1;
}

/* Signed varint of the 3.11 location table: 6-bit groups, bit 6 says more
 * follow, the sign in the lowest bit of the value. */
static int
svarint(const uint8_t *p, const uint8_t *end)
{
    uint32_t v = 0;
    int shift = 0;

    while (p < end && shift < 32) {
        v |= (uint32_t)(*p & 0x3f) << shift;
        shift += 6;
        if (!(*p++ & 0x40)) {
            break;
        }
    }
    return (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
}

static int
py311_line_delta(const uint8_t *p, const uint8_t *end)
{
    int code = (p[0] >> 3) & 15;

    if (code == 13 || code == 14) {
        return svarint(p + 1, end);
    }
    return code >= 10 && code <= 12 ? code - 10 : 0;
}

static int
py311_line(const ml_pycode_ent *e, int32_t lasti)
{
    const uint8_t *p = e->ltab, *end = e->ltab + e->ltab_len;
    int line = e->firstlineno;
    int32_t start = 0;

    while (p < end) {
        int32_t len = ((p[0] & 7) + 1) * 2;
        int no_line = ((p[0] >> 3) & 15) == 15;

        line += py311_line_delta(p, end);
        if (lasti >= start && lasti < start + len) {
            return no_line ? -1 : line;
        }
        start += len;
        /* Entries start with bit 7 set; no other byte has it. */
        do {
            p++;
        } while (p < end && !(*p & 0x80));
    }
    return -1;
}

int
ml_pyw_ltab_line(const ml_pycode_ent *e, int kind, int32_t lasti)
{
    if (lasti < 0 || e->ltab == NULL) {
        return -1;
    }
    switch (kind) {
    case ML_LTAB_LNOTAB:
        return lnotab_line(e, lasti);
    case ML_LTAB_PY310:
        return py310_line(e, lasti);
    case ML_LTAB_PY311:
        return py311_line(e, lasti);
    default:
        return -1;
    }
}

static uint32_t
line_slot(const ml_pywalk *w, uint64_t code, int32_t lasti)
{
    uint32_t mask = w->lines_cap - 1, i;

    i = (uint32_t)mix64(code ^ ((uint64_t)(uint32_t)lasti << 48)) & mask;
    while (w->lines[i].code
           && (w->lines[i].code != code || w->lines[i].lasti != lasti)) {
        i = (i + 1) & mask;
    }
    return i;
}

/* Makes room for one more line entry; a full cache is emptied, since
 * every entry can be recomputed from the code cache. */
static int
lines_reserve(ml_pywalk *w)
{
    uint32_t cap = w->lines_cap ? w->lines_cap * 2 : 1024, i;
    ml_pyline_ent *old = w->lines, *t;
    uint32_t old_cap = w->lines_cap;

    if ((w->lines_n + 1) * 2 <= w->lines_cap) {
        return 0;
    }
    if (cap > ML_LINES_MAX) {
        memset(w->lines, 0, w->lines_cap * sizeof(*w->lines));
        w->lines_n = 0;
        return 0;
    }
    if (!(t = calloc(cap, sizeof(*t)))) {
        return -ENOMEM;
    }
    w->lines = t;
    w->lines_cap = cap;
    for (i = 0; i < old_cap; i++) {
        if (old[i].code) {
            w->lines[line_slot(w, old[i].code, old[i].lasti)] = old[i];
        }
    }
    free(old);
    return 0;
}

int
ml_pywalk_line(ml_pywalk *w, uint64_t code, int32_t lasti)
{
    const ml_pycode_ent *e;
    ml_pyline_ent *s;
    int line;

    if (w == NULL || !(e = ml_pyw_code_get(w, code))) {
        return 0;
    }
    if (lines_reserve(w) != 0) {
        line = ml_pyw_ltab_line(e, w->lay.ltab_kind, lasti);
        return line >= 0 ? line : e->firstlineno;
    }
    s = &w->lines[line_slot(w, code, lasti)];
    if (s->code == code && s->gen == e->gen) {
        return s->line;
    }
    line = ml_pyw_ltab_line(e, w->lay.ltab_kind, lasti);
    if (s->code == 0) {
        w->lines_n++;
    }
    s->code = code;
    s->lasti = lasti;
    s->gen = e->gen;
    s->line = line >= 0 ? line : e->firstlineno;
    return s->line;
}

/* ---- data stack copies (3.11+) ---------------------------------------- */

static const void *
win_find(const ml_pywalk *w, uint64_t addr, size_t size)
{
    int i;

    for (i = 0; i < w->nwin; i++) {
        const ml_pywin *v = &w->win[i];

        if (addr >= v->lo && addr <= v->hi && size <= v->hi - addr) {
            return w->wbuf + v->off + (addr - v->lo);
        }
    }
    return NULL;
}

/* Makes room for len more bytes of copies; returns the offset or -1. */
static int64_t
win_reserve(ml_pywalk *w, size_t len)
{
    if (w->nwin >= ML_PYW_MAX_WINDOWS - 1 || len > 2 * ML_WIN_CAP
        || w->wbuf_len + len > ML_PYW_WBUF_MAX) {
        return -1;
    }
    if (w->wbuf_len + len > w->wbuf_cap) {
        size_t cap = w->wbuf_cap ? w->wbuf_cap : 65536;
        uint8_t *b;

        while (cap < w->wbuf_len + len) {
            cap *= 2;
        }
        if (!(b = realloc(w->wbuf, cap))) {
            return -1;
        }
        w->wbuf = b;
        w->wbuf_cap = cap;
    }
    return (int64_t)w->wbuf_len;
}

/* Records a copy of [lo, hi) already placed at wbuf + off. */
static void
win_commit(ml_pywalk *w, uint64_t lo, uint64_t hi, size_t off)
{
    w->win[w->nwin].lo = lo;
    w->win[w->nwin].hi = hi;
    w->win[w->nwin].off = off;
    w->nwin++;
    if (off + (hi - lo) > w->wbuf_len) {
        w->wbuf_len = off + (hi - lo);
    }
}

static int
win_add(ml_pywalk *w, uint64_t lo, uint64_t hi)
{
    int64_t off =
        hi > lo && hi - lo <= ML_WIN_CAP ? win_reserve(w, hi - lo) : -1;

    if (off < 0 || ml_prefetch_read(&w->pf, w->wbuf + off, lo, hi - lo) != 0) {
        return -1;
    }
    win_commit(w, lo, hi, (size_t)off);
    return 0;
}

/* The next round copies the used part of the chunk up to the end of its
 * page, or of the next one when little is left: a stack a few frames
 * deeper then still comes in the round's one read. */
static void
plan_stack_growth(ml_pywalk *w, uint64_t lo, size_t len)
{
    uint64_t hi = lo + len, end = (hi + 4095) & ~UINT64_C(4095);
    if (end - hi < 512) {
        end += 4096;
    }
    ml_prefetch_plan(&w->pf, lo, (size_t)(end - lo));
}

void
ml_pyw_stack_begin(ml_pywalk *w, uint64_t chunk, uint64_t top, uint64_t aux_lo,
                   uint64_t aux_hi)
{
    ml_saferead_req r[2];
    size_t at = 0;
    int n = 0, i;

    w->nwin = 0;
    w->wbuf_len = 0;
    w->chunk_cursor = 0;
    if (chunk >= 4096 && top > chunk) {
        r[n].addr = top - chunk > ML_WIN_CAP ? top - ML_WIN_CAP : chunk;
        r[n++].len = (size_t)(top - r[0].addr);
    }
    if (aux_lo >= 4096 && aux_hi > aux_lo && aux_hi - aux_lo <= 4096) {
        r[n].addr = aux_lo;
        r[n++].len = (size_t)(aux_hi - aux_lo);
    }
    if (n == 0 || win_reserve(w, r[0].len + (n > 1 ? r[1].len : 0)) < 0) {
        return;
    }
    /* The chunk and the auxiliary region come in one syscall, or from
     * the round's copies. */
    for (i = 0; i < n; i++) {
        r[i].dst = w->wbuf + at;
        at += r[i].len;
    }
    ml_prefetch_read_batch(&w->pf, r, n);
    if (r[0].ok && chunk >= 4096 && top > chunk) {
        plan_stack_growth(w, r[0].addr, r[0].len);
    }
    for (i = 0, at = 0; i < n; i++) {
        if (r[i].ok) {
            win_commit(w, r[i].addr, r[i].addr + r[i].len, at);
        }
        at += r[i].len;
    }
    if (r[0].ok && chunk >= 4096 && top > chunk) {
        w->chunk_cursor = chunk;
    }
}

static int
read_u64(ml_pywalk *w, uint64_t addr, uint64_t *out)
{
    const void *p = win_find(w, addr, sizeof(*out));

    if (p != NULL) {
        memcpy(out, p, sizeof(*out));
        return 0;
    }
    return ml_prefetch_read(&w->pf, out, addr, sizeof(*out));
}

/* Copies the used part of the chunk before w->chunk_cursor; 0 on success,
 * -1 when the chain ends or cannot be read. */
static int
win_next_chunk(ml_pywalk *w)
{
    const ml_pylayout *l = &w->lay;
    uint64_t prev, top, hi, lo;

    if (w->chunk_cursor == 0
        || read_u64(w, w->chunk_cursor + l->chunk_off_previous, &prev) != 0
        || prev < 4096 || read_u64(w, prev + l->chunk_off_top, &top) != 0
        || top > ML_WIN_CAP / sizeof(uint64_t)) {
        w->chunk_cursor = 0;
        return -1;
    }
    hi = prev + l->chunk_off_data + top * sizeof(uint64_t);
    lo = hi - prev > ML_WIN_CAP ? hi - ML_WIN_CAP : prev;
    w->chunk_cursor = 0;
    if (win_add(w, lo, hi) != 0) {
        return -1;
    }
    w->chunk_cursor = prev;
    return 0;
}

const void *
ml_pyw_frame(ml_pywalk *w, uint64_t addr, size_t size)
{
    const void *p = win_find(w, addr, size);

    while (p == NULL && win_next_chunk(w) == 0) {
        p = win_find(w, addr, size);
    }
    if (p != NULL) {
        return p;
    }
    /* Generator frames live in their generator, not on the data stack. */
    if (size > sizeof(w->frame_buf)
        || ml_prefetch_read(&w->pf, w->frame_buf, addr, size) != 0) {
        return NULL;
    }
    return w->frame_buf;
}

/* ---- per-thread walks ------------------------------------------------- */

int
ml_pyw_walk_limit(const ml_pywalk *w)
{
    return 2 * w->max_depth + 16;
}

int
ml_pyw_push(ml_pywalk *w, uint64_t frame, uint64_t code, uint64_t back,
            int32_t lasti)
{
    ml_pyfrec *f;

    if (w->cur_n >= w->max_depth) {
        return 1;
    }
    f = &w->cur[w->cur_n++];
    f->frame = frame;
    f->code = code;
    f->back = back;
    f->lasti = lasti;
    return 0;
}

static ml_pythrec *
rec_get(ml_pywalk *w, uint64_t tstate, uint64_t uid)
{
    ml_pythrec *r;
    int i;

    for (i = 0; i < w->recs_n; i++) {
        r = &w->recs[i];
        if (r->tstate == tstate && r->uid == uid) {
            return r;
        }
    }
    if (w->recs_n == w->recs_cap) {
        int cap = w->recs_cap ? w->recs_cap * 2 : 16;

        if (!(r = realloc(w->recs, (size_t)cap * sizeof(*r)))) {
            return NULL;
        }
        w->recs = r;
        w->recs_cap = cap;
    }
    r = &w->recs[w->recs_n++];
    memset(r, 0, sizeof(*r));
    r->tstate = tstate;
    r->uid = uid;
    r->truncated = 1; /* nothing to match against yet */
    return r;
}

/* Number of leading (leaf-side) frames of the walk that differ from the
 * thread's previous stack; the rest are the same frames running the same
 * code, whose code objects they keep alive. */
static int
changed_prefix(const ml_pywalk *w, const ml_pythrec *r, int truncated)
{
    int i = w->cur_n - 1, j = r ? r->n - 1 : -1;

    if (r == NULL || truncated || r->truncated) {
        return w->cur_n;
    }
    while (i >= 0 && j >= 0 && w->cur[i].frame == r->f[j].frame
           && w->cur[i].code == r->f[j].code
           && w->cur[i].back == r->f[j].back) {
        i--;
        j--;
    }
    return i + 1;
}

static void
rec_store(ml_pywalk *w, ml_pythrec *r, int truncated)
{
    if (r->cap < w->cur_n) {
        ml_pyfrec *f = realloc(r->f, (size_t)w->max_depth * sizeof(*f));

        if (f == NULL) {
            r->n = 0;
            r->truncated = 1;
            return;
        }
        r->f = f;
        r->cap = w->max_depth;
    }
    if (w->cur_n > 0) {
        memcpy(r->f, w->cur, (size_t)w->cur_n * sizeof(*r->f));
    }
    r->n = w->cur_n;
    r->truncated = truncated;
    r->seen = w->epoch;
}

static void
thread_end(ml_pywalk *w, ml_pythread *t, ml_pyframe *out)
{
    ml_pythrec *r = rec_get(w, t->tstate, w->cur_uid);
    int partial = t->truncated || t->broken;
    int changed = changed_prefix(w, r, partial), i;

    /* An unchanged frame keeps its code object alive, unless the sampler
     * was descheduled while the frame returned, its code was freed and a
     * new call landed at the same addresses: re-check everything now and
     * then to bound how long such a stale entry can live. */
    if ((w->epoch & 63) == 0) {
        changed = w->cur_n;
    }

    for (i = 0; i < w->cur_n; i++) {
        if (i < changed || code_unconfirmed(w, w->cur[i].code)) {
            code_queue(w, w->cur[i].code);
        }
    }
    for (i = 0; i < w->cur_n; i++) {
        out[i].code = w->cur[i].code;
        out[i].lasti = w->cur[i].lasti;
    }
    t->nframes = w->cur_n;
    if (r != NULL) {
        rec_store(w, r, partial);
    }
}

/* Forgets the threads the last sample did not see. */
static void
recs_prune(ml_pywalk *w)
{
    int i = 0;

    while (i < w->recs_n) {
        if (w->recs[i].seen == w->epoch) {
            i++;
            continue;
        }
        free(w->recs[i].f);
        w->recs[i] = w->recs[--w->recs_n];
    }
}

static int
sample_reserve(ml_pywalk *w, int max_depth)
{
    if (max_depth > w->cur_cap) {
        ml_pyfrec *c = realloc(w->cur, (size_t)max_depth * sizeof(*c));

        if (c == NULL) {
            return -ENOMEM;
        }
        w->cur = c;
        w->cur_cap = max_depth;
    }
    w->max_depth = max_depth;
    if (set_reserve(&w->fseen, (uint32_t)ml_pyw_walk_limit(w)) != 0
        || set_reserve(&w->tseen, 1024) != 0) {
        return -ENOMEM;
    }
    return 0;
}

/* Walks one thread state. A walk that stopped at a frame it could not
 * read met a stack the thread changed under the copy (a call or a return
 * between two reads): walked again at once it is whole nearly always, and
 * recorded as what it is (broken) only when that fails twice more. */
static int
walk_thread(ml_pywalk *w, uint64_t ts, ml_pythread *t, uint64_t *next)
{
    int attempt;

    for (attempt = 0;; attempt++) {
        memset(t, 0, sizeof(*t));
        t->tstate = ts;
        w->cur_uid = 0;
        w->cur_n = 0;
        set_clear(&w->fseen);
        if (w->ops->thread(w, ts, t, next) != 0) {
            ml_prefetch_set_fresh(&w->pf, 0);
            return -EFAULT;
        }
        if (!t->broken || attempt == 2) {
            w->walks_failed += t->broken;
            ml_prefetch_set_fresh(&w->pf, 0);
            return 0;
        }
        /* The stack changed under the copies: read it as it is now. */
        ml_prefetch_set_fresh(&w->pf, 1);
        w->walks_retried++;
    }
}

int
ml_pywalk_sample(ml_pywalk *w, ml_pythread *threads, int max_threads,
                 ml_pyframe *frames, int max_depth)
{
    uint64_t ts, holder = 0;
    int n = 0, iter, rc;

    if (!w || !threads || !frames || max_threads < 0 || max_depth <= 0
        || max_depth > (1 << 20)) {
        return -EINVAL;
    }
    if ((rc = sample_reserve(w, max_depth)) != 0) {
        return rc;
    }
    w->epoch = next_epoch(w->epoch);
    set_clear(&w->tseen);
    ml_prefetch_round(&w->pf);
    if ((rc = w->ops->head(w, &ts, &holder)) != 0) {
        return rc;
    }
    for (iter = 0; ts && n < max_threads && iter < ML_PYW_MAX_THREADS;
         iter++) {
        ml_pythread *t = &threads[n];
        uint64_t next = 0;

        if (set_add(&w->tseen, ts)) {
            break; /* a torn list looping back */
        }
        if (walk_thread(w, ts, t, &next) != 0) {
            break;
        }
        t->holds_gil = holder != 0 && holder == ts;
        thread_end(w, t, frames + (size_t)n * (size_t)max_depth);
        n++;
        ts = next;
    }
    code_flush(w);
    recs_prune(w);
    return n;
}

void
ml_pywalk_gil(const ml_pywalk *w, uint64_t *addr, uint64_t *size)
{
    *addr = w->gil ? w->gil + w->gil_want_off : 0;
    *size = w->gil ? w->gil_size : 0;
}

/* ---- lifetime ----------------------------------------------------------- */

int
ml_pyw_create(ml_pywalk **out, const ml_pyw_ops *ops, uint64_t interp)
{
    if (out == NULL || interp == 0) {
        return -EINVAL;
    }
    if (ml_saferead_init() < 0) {
        return -ENOSYS;
    }
    ml_pywalk *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return -ENOMEM;
    }
    w->ubuf = malloc(ML_PYW_STR_MAX * 4 + 1);
    w->rbuf = malloc(ML_PYW_STR_MAX * 4 + 256);
    if (!w->ubuf || !w->rbuf || ml_prefetch_init(&w->pf) != 0) {
        ml_pywalk_free(w);
        return -ENOMEM;
    }
    w->epoch = 1;
    w->tid_off = -1;
    w->ops = ops;
    w->interp = interp;
    *out = w;
    return 0;
}

/* Frees the code cache (with its line tables) and the string table. */
static void
free_code_caches(ml_pywalk *w)
{
    uint32_t i;

    for (i = 0; i < w->codes_cap; i++) {
        free(w->codes[i].ltab);
    }
    for (i = 0; i < w->strs_cap; i++) {
        free(w->strs[i]);
    }
    free(w->codes);
    free(w->strs);
    w->codes = NULL;
    w->codes_cap = w->codes_n = 0;
    w->strs = NULL;
    w->strs_cap = w->strs_n = 0;
}

void
ml_pywalk_free(ml_pywalk *w)
{
    int j;

    if (w == NULL) {
        return;
    }
    free_code_caches(w);
    for (j = 0; j < w->recs_n; j++) {
        free(w->recs[j].f);
    }
    free(w->lines);
    free(w->ubuf);
    free(w->rbuf);
    free(w->vq);
    free(w->vbuf);
    free(w->vreq);
    free(w->recs);
    free(w->cur);
    free(w->wbuf);
    ml_prefetch_free(&w->pf);
    set_free(&w->fseen);
    set_free(&w->tseen);
    free(w);
}

/* ---- bounded caches --------------------------------------------------- */

uint32_t
ml_pywalk_cache_count(const ml_pywalk *w)
{
    return w ? w->codes_n : 0;
}

void
ml_pywalk_cache_clear(ml_pywalk *w)
{
    if (w == NULL) {
        return;
    }
    free_code_caches(w);
    if (w->lines != NULL) {
        memset(w->lines, 0, w->lines_cap * sizeof(*w->lines));
    }
    w->lines_n = 0;
    w->vq_n = 0;
}

void
ml_pywalk_walk_stats(const ml_pywalk *w, uint64_t *retries, uint64_t *failed)
{
    *retries = w ? w->walks_retried : 0;
    *failed = w ? w->walks_failed : 0;
}
