// SPDX-License-Identifier: MIT
// Unit tests of the central store's pure parts: run ids, checking and
// cutting pieces of recordings, segment objects and their table of
// contents, object keys, and run identity from META records.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "core/ml_uuid.h"
#include "format/ml_format.h"
#include "format/ml_piece.h"
#include "format/ml_runmeta.h"
#include "ml_test_util.h"
#include "net/ml_objkeys.h"
#include "store/ml_segment.h"

static void
test_uuid(void **state)
{
    (void)state;
    uint8_t a[16], b[16], c[16];
    char text[ML_UUID_TEXT];
    assert_int_equal(ml_uuid_v7(1764579000123ull, a), ML_OK);
    ml_uuid_format(a, text);
    assert_int_equal(strlen(text), 36);
    assert_int_equal(text[14], '7'); /* version 7 */
    assert_true(strchr("89ab", text[19]) != NULL);
    assert_int_equal(ml_uuid_parse(text, b), ML_OK);
    assert_memory_equal(a, b, 16);
    /* Time-ordered: a later millisecond sorts after. */
    assert_int_equal(ml_uuid_v7(1764579000124ull, c), ML_OK);
    assert_true(memcmp(a, c, 6) < 0);
    ml_uuid_from_name("x", 1, a);
    ml_uuid_from_name("x", 1, b);
    ml_uuid_from_name("y", 1, c);
    assert_memory_equal(a, b, 16);
    assert_memory_not_equal(a, c, 16);
    assert_int_equal(ml_uuid_parse("not-a-uuid", a), ML_EINVAL);
    assert_int_equal(ml_uuid_parse("0190f0f0-0000-7000-8000-00000000000g", a),
                     ML_EINVAL);
    assert_int_equal(ml_uuid_parse("0190f0f0-0000-7000-8000_000000000000", a),
                     ML_EINVAL);
}

/* Offsets of the chunk boundaries of a recording. */
static size_t
boundaries(const uint8_t *file, size_t len, size_t *out, size_t max)
{
    size_t n = 0, at = ML_FILE_HEADER_SIZE;
    while (at < len && n < max) {
        out[n++] = at;
        at += ML_CHUNK_HEADER_SIZE + ml_load_u32le(file + at + 16);
    }
    assert_int_equal(at, len);
    out[n] = len;
    return n;
}

static void
test_piece_check(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = tu_sample_recording(2048, 3000, 7, &len);
    size_t b[256];
    size_t n = boundaries(file, len, b, 255);
    assert_true(n >= 3);
    uint32_t chunks;
    size_t at;
    const char *why;
    assert_int_equal(ml_piece_check(file, len, 0, &chunks, &at, &why), ML_OK);
    assert_int_equal(chunks, n);
    /* Any run of whole chunks from a boundary is a valid piece. */
    assert_int_equal(
        ml_piece_check(file + b[1], b[3] - b[1], b[1], &chunks, &at, &why),
        ML_OK);
    assert_int_equal(chunks, 2);
    /* Cut inside a chunk, or not starting at one: refused. */
    assert_int_equal(ml_piece_check(file, b[1] + 10, 0, &chunks, &at, &why),
                     ML_ETRUNC);
    assert_true(ml_piece_check(file + b[1] + 1, b[2] - b[1] - 1, b[1] + 1,
                               &chunks, &at, &why)
                < 0);
    /* Offset 0 without the file header: refused. */
    assert_true(ml_piece_check(file + b[0], b[1] - b[0], 0, &chunks, &at, &why)
                < 0);
    /* One flipped payload byte: refused with the checksum. */
    uint8_t *bad = malloc(len);
    memcpy(bad, file, len);
    bad[b[1] + ML_CHUNK_HEADER_SIZE + 3] ^= 0x40;
    assert_int_equal(ml_piece_check(bad, len, 0, &chunks, &at, &why),
                     ML_ECHECKSUM);
    assert_int_equal(at, b[1]);
    free(bad);
    /* Empty pieces are fine (a probe). */
    assert_int_equal(ml_piece_check(NULL, 0, 123, &chunks, &at, &why), ML_OK);
    free(file);
}

static void
test_piece_whole(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = tu_sample_recording(2048, 3000, 9, &len);
    size_t b[256];
    size_t n = boundaries(file, len, b, 255);
    /* Everything fits: the whole file. */
    assert_int_equal(ml_piece_whole(file, len, 0, 1u << 30), len);
    /* A file still being written ends inside a chunk: up to the last
     * whole one, at every cut. */
    for (size_t cut = b[n - 1]; cut < len; cut += 7) {
        assert_int_equal(ml_piece_whole(file, cut, 0, 1u << 30), b[n - 1]);
    }
    /* A limit keeps whole chunks only. */
    size_t limit = b[2] + 5;
    assert_int_equal(ml_piece_whole(file, len, 0, limit), b[2]);
    /* From a later boundary. */
    assert_int_equal(
        ml_piece_whole(file + b[1], len - b[1], b[1], b[3] - b[1]),
        b[3] - b[1]);
    /* A chunk larger than the limit goes alone. */
    assert_int_equal(ml_piece_whole(file + b[1], len - b[1], b[1], 10),
                     b[2] - b[1]);
    free(file);
}

typedef struct {
    ml_segment_entry e[8];
    size_t n;
} toc_seen;

static int
see_entry(void *ctx, const ml_segment_entry *e)
{
    toc_seen *t = ctx;
    t->e[t->n++] = *e;
    return 0;
}

static void
test_segment(void **state)
{
    (void)state;
    ml_segment s;
    ml_segment_init(&s, 1u << 20);
    uint8_t run1[16] = {1}, run2[16] = {2};
    uint64_t at1, at2;
    assert_int_equal(ml_segment_add(&s, run1, 0, "abcdef", 6, &at1), ML_OK);
    assert_int_equal(ml_segment_add(&s, run2, 4096, "XYZ", 3, &at2), ML_OK);
    assert_int_equal(at1, 0);
    assert_int_equal(at2, 6);
    assert_int_equal(ml_segment_finish(&s), ML_OK);
    toc_seen t = {.n = 0};
    assert_int_equal(
        ml_segment_read_toc(s.data.data, s.data.len, see_entry, &t), ML_OK);
    assert_int_equal(t.n, 2);
    assert_memory_equal(t.e[1].run, run2, 16);
    assert_int_equal(t.e[1].off, 4096);
    assert_int_equal(t.e[1].len, 3);
    assert_memory_equal(s.data.data + t.e[1].seg_off, "XYZ", 3);
    /* Damage anywhere in the table or footer is found. */
    for (size_t i = 9; i < s.data.len; i++) {
        s.data.data[i] ^= 1;
        t.n = 0;
        assert_true(ml_segment_read_toc(s.data.data, s.data.len, see_entry, &t)
                    < 0);
        s.data.data[i] ^= 1;
    }
    assert_true(ml_segment_read_toc(s.data.data, 5, see_entry, &t) < 0);
    ml_segment_free(&s);
    /* The bound holds: a piece that would pass it is refused. */
    ml_segment_init(&s, 100);
    static const uint8_t big[200];
    assert_int_equal(ml_segment_add(&s, run1, 0, big, 60, &at1), ML_ELIMIT);
    assert_int_equal(ml_segment_add(&s, run1, 0, big, 40, &at1), ML_OK);
    ml_segment_free(&s);
}

static void
test_object_keys(void **state)
{
    (void)state;
    char key[256], id[40];
    const char *run = "0190f0f0-1234-7abc-8def-0123456789ab";
    /* 2026-12-01 11:30:00 UTC */
    int64_t t = INT64_C(1796124600) * 1000000;
    ml_objkey_run("team/prod", run, t, key, sizeof key);
    assert_string_equal(key, "team/prod/run/2026/12/01/"
                             "0190f0f0-1234-7abc-8def-0123456789ab.mlog");
    ml_objkey_direct("", run, t, key, sizeof key);
    assert_string_equal(key, "direct/2026/12/01/11/"
                             "0190f0f0-1234-7abc-8def-0123456789ab.mlog");
    ml_objkey_direct_run_id(key, id, sizeof id);
    assert_string_equal(id, run);
    ml_objkey_part("p", run, 4096, key, sizeof key);
    assert_string_equal(key, "p/direct/parts/"
                             "0190f0f0-1234-7abc-8def-0123456789ab/"
                             "0000000000001000.part");
    ml_objkey_direct_run_id(key, id, sizeof id);
    assert_string_equal(id, ""); /* a part is not a run */
}

static void
test_runmeta(void **state)
{
    (void)state;
    int fd;
    ml_writer *w = tu_writer(NULL, &fd);
    assert_int_equal(ml_writer_meta_str(
                         w, "run_id", "0190f0f0-1234-7abc-8def-0123456789ab"),
                     ML_OK);
    assert_int_equal(ml_writer_meta_str(w, "name", "app/2026_12_01_1"), ML_OK);
    assert_int_equal(ml_writer_meta_str(w, "label", "app"), ML_OK);
    assert_int_equal(ml_writer_meta_str(w, "host", "box"), ML_OK);
    assert_int_equal(
        ml_writer_meta_uint(w, "start_unix_ns", UINT64_C(1796124600000000000)),
        ML_OK);
    assert_int_equal(ml_writer_close(w), ML_OK);
    size_t len;
    uint8_t *file = tu_slurp(fd, &len);
    ml_runmeta m;
    assert_int_equal(ml_runmeta_read(file, len, &m), ML_OK);
    assert_string_equal(m.run_id, "0190f0f0-1234-7abc-8def-0123456789ab");
    assert_string_equal(m.name, "app/2026_12_01_1");
    assert_string_equal(m.label, "app");
    assert_string_equal(m.host, "box");
    assert_int_equal(m.start_unix_us, INT64_C(1796124600000000));
    assert_true(ml_runmeta_read(file, 3, &m) < 0);
    free(file);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid),        cmocka_unit_test(test_piece_check),
        cmocka_unit_test(test_piece_whole), cmocka_unit_test(test_segment),
        cmocka_unit_test(test_object_keys), cmocka_unit_test(test_runmeta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
