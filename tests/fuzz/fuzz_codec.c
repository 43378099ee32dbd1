// SPDX-License-Identifier: MIT
// Fuzz target: record payload decoding and the varint and cursor
// primitives under it. Input: a kind byte, a clock selector byte, then the
// payload. A payload that decodes must re-encode canonically: encoding the
// decoded record and decoding that again gives the same bytes, the same
// clock, and never more bytes than the input used. A ROUNDS payload (kind
// 14; the selector's upper bits give the number of threads defined) goes
// through the rounds decoder twice with one decoder, giving the same runs,
// each well formed. Replayed over tests/fuzz/corpus/codec/.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_buf.h"
#include "core/ml_cursor.h"
#include "core/ml_error.h"
#include "core/ml_varint.h"
#include "format/ml_codec.h"
#include "format/ml_rounds.h"
#include "format/ml_format.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_codec: %s:%d: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Every varint in the input, and the cursor getters, on raw bytes. */
static void
fuzz_primitives(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len && i < 64; i++) {
        uint64_t v = 0;
        int n = ml_varint_decode(p + i, p + len, &v);
        CHECK(n == ML_ETRUNC || n == ML_ECORRUPT
              || (n >= 1 && n <= ML_VARINT_MAX && (size_t)n <= len - i));
        if (n > 0) {
            uint8_t buf[ML_VARINT_MAX];
            size_t m = ml_varint_encode(buf, v);
            CHECK(m <= (size_t)n);
            uint64_t w;
            CHECK(ml_varint_decode(buf, buf + m, &w) == (int)m && w == v);
        }
    }
    ml_cursor c;
    ml_cursor_init(&c, p, len);
    for (int step = 0; ml_cursor_left(&c) > 0 && step < 64; step++) {
        size_t before = ml_cursor_offset(&c);
        uint8_t sel;
        if (ml_cursor_u8(&c, &sel) < 0) {
            break;
        }
        int rc;
        uint64_t u;
        uint32_t u32;
        int64_t i64;
        double f;
        const uint8_t *b;
        switch (sel % 6) {
        case 0:
            rc = ml_cursor_varint(&c, &u);
            break;
        case 1:
            rc = ml_cursor_varint32(&c, &u32);
            break;
        case 2:
            rc = ml_cursor_svarint(&c, &i64);
            break;
        case 3:
            rc = ml_cursor_u64le(&c, &u);
            break;
        case 4:
            rc = ml_cursor_f64(&c, &f);
            break;
        default:
            rc = ml_cursor_bytes(&c, sel, &b, &u32);
            if (rc == 0) {
                CHECK(u32 <= sel && b >= p && b + u32 <= p + len);
            }
            break;
        }
        CHECK(ml_cursor_offset(&c) <= len);
        if (rc < 0) {
            /* A failed getter leaves the cursor after the selector. */
            CHECK(ml_cursor_offset(&c) == before + 1);
            break;
        }
    }
}

/* Decodes a ROUNDS payload; returns the number of runs (or the error) and
 * adds their samples to *samples. */
static long
rounds_pass(ml_rounds_dec *d, const uint8_t *p, uint32_t len, int64_t start,
            uint32_t threads, uint64_t *samples)
{
    int64_t clock = start;
    const char *why = NULL;
    int rc = ml_rounds_dec_begin(d, p, len, &clock, threads, &why);
    if (rc < 0) {
        CHECK(rc == ML_ECORRUPT && why != NULL);
        return rc;
    }
    long runs = 0;
    ml_record r;
    while ((rc = ml_rounds_dec_next(d, &r, &why)) > 0) {
        CHECK(r.kind == ML_KIND_SAMPLES);
        CHECK(r.u.samples.thread >= 1 && r.u.samples.thread <= threads);
        CHECK(r.u.samples.count >= 1);
        CHECK(r.u.samples.cpu <= ML_CPU_FULL
              || r.u.samples.cpu == ML_CPU_UNKNOWN);
        CHECK(r.time_us < ML_TIME_LIMIT_US
              && r.u.samples.span_us < ML_TIME_LIMIT_US - r.time_us);
        CHECK(r.u.samples.count > 1 || r.u.samples.span_us == 0);
        *samples += r.u.samples.count;
        runs++;
    }
    if (rc < 0) {
        CHECK(rc == ML_ECORRUPT && why != NULL);
        return rc;
    }
    /* Every round takes a byte at least, and holds a sample at least. */
    CHECK(*samples >= 1);
    return runs;
}

static void
fuzz_rounds(const uint8_t *p, uint32_t len, int64_t start, uint32_t threads)
{
    ml_rounds_dec d;
    ml_rounds_dec_init(&d);
    uint64_t n1 = 0, n2 = 0;
    long a = rounds_pass(&d, p, len, start, threads, &n1);
    long b = rounds_pass(&d, p, len, start, threads, &n2);
    CHECK(a == b && n1 == n2);
    ml_rounds_dec_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    uint8_t kind = data[0];
    static const int64_t clocks[] = {0, 1, 1000000, (INT64_C(1) << 62) - 1};
    int64_t start = clocks[data[1] % 4];
    const uint8_t *payload = data + 2;
    uint32_t len = (uint32_t)(size - 2);
    fuzz_primitives(payload, len);

    if (kind == ML_KIND_ROUNDS) {
        fuzz_rounds(payload, len, start, data[1] >> 2);
        return 0;
    }
    /* Bit 2 picks the layout (3.x or 2.x definitions), bits 3-7 how many
     * of each definition a 3.x file has so far. */
    uint32_t defined = data[1] >> 3;
    ml_codec_file file = {data[1] & 4 ? 2 : ML_FORMAT_VERSION_MAJOR, defined,
                          defined, defined};
    ml_record rec;
    int64_t clock = start;
    const char *why = NULL;
    int rc = ml_codec_decode(kind, &file, payload, len, &clock, &rec, &why);
    if (!ml_codec_known(kind)) {
        CHECK(rc == ML_ECORRUPT);
    }
    if (rc < 0) {
        CHECK(rc == ML_ECORRUPT && why != NULL);
        CHECK(clock == start);
        return 0;
    }
    CHECK(clock >= 0 && clock < (INT64_C(1) << 62));

    /* Canonical form: encode, decode, encode again. */
    ml_buf a, b;
    ml_buf_init(&a, ML_RECORD_MAX);
    ml_buf_init(&b, ML_RECORD_MAX);
    int64_t c1 = start;
    CHECK(ml_codec_encode(&a, file.major, &rec, &c1) == 0);
    CHECK(c1 == clock);
    CHECK(a.len <= len);
    ml_record again;
    int64_t c2 = start;
    CHECK(ml_codec_decode(kind, &file, a.data, (uint32_t)a.len, &c2, &again,
                          &why)
          == 0);
    CHECK(c2 == clock);
    int64_t c3 = start;
    CHECK(ml_codec_encode(&b, file.major, &again, &c3) == 0);
    CHECK(b.len == a.len && memcmp(a.data, b.data, a.len) == 0);
    ml_buf_free(&a);
    ml_buf_free(&b);
    return 0;
}
