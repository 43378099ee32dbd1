// SPDX-License-Identifier: MIT
// Unit tests of src/format/ml_chunk: the file header (magic, versions), the
// chunk header (fields, self-checksum, limits) and the XXH32 checksum.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "format/ml_chunk.h"
#include "format/ml_format.h"

static void
test_checksum_vectors(void **state)
{
    (void)state;
    /* XXH32, seed 0: published test vectors. */
    assert_int_equal(ml_checksum("", 0), 0x02cc5d05u);
    assert_int_equal(ml_checksum("a", 1), 0x550d7456u);
    assert_int_equal(ml_checksum("abc", 3), 0x32d153ffu);
}

static void
test_file_header_bytes(void **state)
{
    (void)state;
    uint8_t h[ML_FILE_HEADER_SIZE];
    ml_file_header_encode(h);
    static const uint8_t expect[16] = {0x89,
                                       'M',
                                       'L',
                                       'O',
                                       'G',
                                       '\r',
                                       '\n',
                                       0x1a,
                                       ML_FORMAT_VERSION_MAJOR,
                                       0,
                                       ML_FORMAT_VERSION_MINOR,
                                       0,
                                       0,
                                       0,
                                       0,
                                       0};
    assert_memory_equal(h, expect, sizeof expect);
    uint16_t major = 99, minor = 99;
    assert_int_equal(ml_file_header_decode(h, &major, &minor), 0);
    assert_int_equal(major, ML_FORMAT_VERSION_MAJOR);
    assert_int_equal(minor, ML_FORMAT_VERSION_MINOR);
}

static void
test_file_header_variants(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        int at;      /* byte to change */
        uint8_t val; /* its new value */
        int expect;
        uint16_t major, minor;
    } cases[] = {
        {"magic byte 0", 0, 0x88, ML_EMAGIC, 0, 0},
        {"magic byte 4", 4, 'g', ML_EMAGIC, 0, 0},
        {"magic byte 7", 7, 0x1b, ML_EMAGIC, 0, 0},
        {"major 4", 8, 4, ML_EVERSION, 0, 0},
        {"major 0", 8, 0, ML_EVERSION, 0, 0},
        {"major high byte", 9, 1, ML_EVERSION, 0, 0},
        {"newer minor", 10, 7, 0, 3, 7},
        {"minor high byte", 11, 1, 0, 3, 256 + ML_FORMAT_VERSION_MINOR},
        {"a 1.x file, still read", 8, 1, 0, 1, ML_FORMAT_VERSION_MINOR},
        {"a 2.x file, still read", 8, 2, 0, 2, ML_FORMAT_VERSION_MINOR},
        {"unknown flag", 12, 0x80, 0, 3, ML_FORMAT_VERSION_MINOR},
        {"unknown high flag", 15, 0xff, 0, 3, ML_FORMAT_VERSION_MINOR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t h[ML_FILE_HEADER_SIZE];
        ml_file_header_encode(h);
        h[cases[i].at] = cases[i].val;
        uint16_t major = 12345, minor = 12345;
        int rc = ml_file_header_decode(h, &major, &minor);
        if (rc != cases[i].expect) {
            fail_msg("%s: rc %d", cases[i].what, rc);
        }
        if (rc == 0) {
            assert_int_equal(major, cases[i].major);
            assert_int_equal(minor, cases[i].minor);
        } else {
            assert_int_equal(major, 12345);
            assert_int_equal(minor, 12345);
        }
    }
}

static void
test_chunk_header_roundtrip(void **state)
{
    (void)state;
    static const ml_chunk_header cases[] = {
        {0, 0, 0, 0, 0},
        {1, 1000000, 1234, 5678, 0xdeadbeef},
        {UINT32_MAX, (UINT64_C(1) << 62) - 1, ML_CHUNK_MAX_COMPRESSED,
         ML_CHUNK_MAX_RAW, UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[ML_CHUNK_HEADER_SIZE];
        ml_chunk_header_encode(&cases[i], b);
        assert_memory_equal(b, "MLCK", 4);
        assert_int_equal(ml_load_u32le(b + 4), cases[i].seq);
        assert_true(ml_load_u64le(b + 8) == cases[i].base_time_us);
        assert_int_equal(ml_load_u32le(b + 16), cases[i].compressed_size);
        assert_int_equal(ml_load_u32le(b + 20), cases[i].raw_size);
        assert_int_equal(ml_load_u32le(b + 24), cases[i].payload_checksum);
        assert_int_equal(ml_load_u32le(b + 28), ml_checksum(b, 28));
        ml_chunk_header h;
        const char *why = NULL;
        assert_int_equal(ml_chunk_header_decode(b, &h, &why), 0);
        assert_int_equal(h.seq, cases[i].seq);
        assert_true(h.base_time_us == cases[i].base_time_us);
        assert_int_equal(h.compressed_size, cases[i].compressed_size);
        assert_int_equal(h.raw_size, cases[i].raw_size);
        assert_int_equal(h.payload_checksum, cases[i].payload_checksum);
    }
}

/* Any single bit flipped anywhere in a header is caught. */
static void
test_chunk_header_bit_flips(void **state)
{
    (void)state;
    ml_chunk_header orig = {3, 999, 100, 200, 0x12345678};
    uint8_t good[ML_CHUNK_HEADER_SIZE];
    ml_chunk_header_encode(&orig, good);
    for (int bit = 0; bit < ML_CHUNK_HEADER_SIZE * 8; bit++) {
        uint8_t b[ML_CHUNK_HEADER_SIZE];
        memcpy(b, good, sizeof b);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ml_chunk_header h = {0};
        const char *why = NULL;
        int rc = ml_chunk_header_decode(b, &h, &why);
        assert_int_equal(rc, bit < 32 ? ML_EMAGIC : ML_ECHECKSUM);
        assert_non_null(why);
        assert_int_equal(h.seq, 0); /* not written on failure */
    }
}

static void
test_chunk_header_limits(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        ml_chunk_header h;
        int expect;
    } cases[] = {
        {"compressed at limit", {0, 0, ML_CHUNK_MAX_COMPRESSED, 1, 0}, 0},
        {"compressed over",
         {0, 0, ML_CHUNK_MAX_COMPRESSED + 1, 1, 0},
         ML_ELIMIT},
        {"compressed max", {0, 0, UINT32_MAX, 1, 0}, ML_ELIMIT},
        {"raw at limit", {0, 0, 1, ML_CHUNK_MAX_RAW, 0}, 0},
        {"raw over", {0, 0, 1, ML_CHUNK_MAX_RAW + 1, 0}, ML_ELIMIT},
        {"raw max", {0, 0, 1, UINT32_MAX, 0}, ML_ELIMIT},
        {"base time 2^62", {0, UINT64_C(1) << 62, 1, 1, 0}, ML_ELIMIT},
        {"base time max", {0, UINT64_MAX, 1, 1, 0}, ML_ELIMIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[ML_CHUNK_HEADER_SIZE];
        ml_chunk_header_encode(&cases[i].h, b);
        ml_chunk_header h;
        const char *why = NULL;
        int rc = ml_chunk_header_decode(b, &h, &why);
        if (rc != cases[i].expect) {
            fail_msg("%s: rc %d", cases[i].what, rc);
        }
        if (rc < 0) {
            assert_non_null(why);
            assert_non_null(strstr(why, "limit"));
        }
    }
}

static void
test_chunk_magic(void **state)
{
    (void)state;
    uint8_t b[ML_CHUNK_HEADER_SIZE];
    ml_chunk_header h0 = {0, 0, 1, 1, 0};
    ml_chunk_header_encode(&h0, b);
    memcpy(b, "MLOG", 4);
    ml_store_u32le(b + 28, ml_checksum(b, 28)); /* checksum fine, magic not */
    ml_chunk_header h;
    const char *why = NULL;
    assert_int_equal(ml_chunk_header_decode(b, &h, &why), ML_EMAGIC);
    assert_string_equal(why, "no chunk magic");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_vectors),
        cmocka_unit_test(test_file_header_bytes),
        cmocka_unit_test(test_file_header_variants),
        cmocka_unit_test(test_chunk_header_roundtrip),
        cmocka_unit_test(test_chunk_header_bit_flips),
        cmocka_unit_test(test_chunk_header_limits),
        cmocka_unit_test(test_chunk_magic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
