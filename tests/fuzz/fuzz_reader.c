// SPDX-License-Identifier: MIT
// Fuzz target: arbitrary bytes as a recording. Opens them with
// ml_reader_open_mem, reads every record, and resolves every string, frame
// and stack a record refers to (the reader promised they are defined), so
// that any inconsistency between its checks and its tables shows up as an
// abort or a sanitizer report. Mutated files rarely get past the checksums
// and zstd, so the same bytes are read a second time as the records of one
// chunk, compressed and checksummed here: that reaches the record checks.
// Replayed over tests/fuzz/corpus/reader/ (files, and raw-*: record bytes).
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

#include "format/ml_chunk.h"
#include "format/ml_format.h"
#include "format/ml_reader.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_reader: %s:%d: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

static volatile uint32_t sink;

/* Reads every byte of b, so ASan sees a range that is not really there. */
static void
touch(ml_bytes b)
{
    uint32_t h = 0;
    for (uint32_t i = 0; i < b.len; i++) {
        h = h * 31 + b.ptr[i];
    }
    sink += h;
}

static void
string_ref(const ml_reader *r, uint32_t id)
{
    if (id == 0) {
        return;
    }
    ml_bytes b;
    CHECK(ml_reader_string(r, id, &b) == 0);
    touch(b);
}

static void
frame_ref(const ml_reader *r, uint32_t id)
{
    uint32_t name, file, line, first;
    CHECK(ml_reader_frame(r, id, &name, &file, &line, &first) == 0);
    string_ref(r, name);
    string_ref(r, file);
}

/* Walks a stack to its root: parents are defined before their children,
 * so the walk is at most as long as the number of stacks. */
static void
stack_ref(const ml_reader *r, uint32_t id)
{
    ml_reader_stats st;
    ml_reader_get_stats(r, &st);
    uint32_t steps = 0;
    while (id != 0) {
        uint32_t parent, frame;
        CHECK(ml_reader_stack(r, id, &parent, &frame) == 0);
        CHECK(parent < id);
        frame_ref(r, frame);
        id = parent;
        CHECK(++steps <= st.stacks);
    }
}

static void
check_record(const ml_reader *r, const ml_record *rec)
{
    const uint64_t tmax = UINT64_C(1) << 62;
    switch (rec->kind) {
    case ML_KIND_META:
        touch(rec->u.meta.key);
        if (rec->u.meta.value.tag == ML_TAG_BYTES) {
            touch(rec->u.meta.value.v.b);
        }
        CHECK(rec->u.meta.value.tag <= ML_TAG_F64);
        break;
    case ML_KIND_STRING:
        touch(rec->u.string.text);
        string_ref(r, rec->u.string.id);
        break;
    case ML_KIND_FRAME:
        frame_ref(r, rec->u.frame.id);
        break;
    case ML_KIND_STACK:
        CHECK(rec->u.stack.frame != 0);
        stack_ref(r, rec->u.stack.id);
        break;
    case ML_KIND_THREAD:
        CHECK(rec->u.thread.id != 0);
        string_ref(r, rec->u.thread.name);
        break;
    case ML_KIND_SAMPLES:
        CHECK(rec->u.samples.count > 0);
        CHECK(rec->u.samples.thread != 0);
        CHECK(rec->time_us + rec->u.samples.span_us < tmax);
        stack_ref(r, rec->u.samples.stack);
        break;
    case ML_KIND_SERIES:
        string_ref(r, rec->u.series.name);
        string_ref(r, rec->u.series.unit);
        break;
    case ML_KIND_VALUE:
        CHECK(rec->u.value.series != 0);
        if (rec->u.value.value.tag == ML_TAG_BYTES) {
            touch(rec->u.value.value.v.b);
        }
        break;
    case ML_KIND_LOG:
        touch(rec->u.log.text);
        stack_ref(r, rec->u.log.stack);
        break;
    case ML_KIND_SPAN:
        touch(rec->u.span.args);
        touch(rec->u.span.exception);
        string_ref(r, rec->u.span.name);
        string_ref(r, rec->u.span.file);
        break;
    case ML_KIND_REPORT:
        touch(rec->u.report.body);
        string_ref(r, rec->u.report.name);
        break;
    case ML_KIND_THREAD_END:
    case ML_KIND_END:
        break;
    default:
        CHECK(!"a record of an unknown kind was delivered");
    }
    CHECK(rec->time_us < tmax);
}

static void
read_all(const uint8_t *data, size_t size)
{
    ml_reader *r = NULL;
    int rc = ml_reader_open_mem(data, size, &r);
    uint64_t n = 0;
    if (rc == 0) {
        ml_record rec;
        while ((rc = ml_reader_next(r, &rec)) > 0) {
            check_record(r, &rec);
            n++;
        }
        /* The end and errors are sticky. */
        CHECK(ml_reader_next(r, &rec) == rc);
    }
    if (r != NULL) {
        ml_reader_stats st;
        ml_reader_get_stats(r, &st);
        CHECK(st.records == n);
        CHECK(st.bytes_read <= size);
        const char *msg = ml_reader_message(r);
        CHECK(msg != NULL);
        if (rc < 0) {
            CHECK(msg[0] != '\0');
            CHECK(ml_reader_error_offset(r) <= size);
        } else {
            CHECK(st.bytes_read == size);
        }
    }
    ml_reader_free(r);
}

/* A file whose one chunk holds data as its records. */
static void
read_as_records(const uint8_t *data, size_t size)
{
    if (size > (64u << 10)) {
        return;
    }
    size_t bound = ZSTD_compressBound(size);
    size_t cap = ML_FILE_HEADER_SIZE + ML_CHUNK_HEADER_SIZE + bound;
    uint8_t *file = malloc(cap);
    CHECK(file != NULL);
    ml_file_header_encode(file);
    uint8_t *payload = file + ML_FILE_HEADER_SIZE + ML_CHUNK_HEADER_SIZE;
    size_t n = ZSTD_compress(payload, bound, data, size, 1);
    CHECK(!ZSTD_isError(n));
    ml_chunk_header h = {
        .seq = 0,
        .base_time_us = 1000,
        .compressed_size = (uint32_t)n,
        .raw_size = (uint32_t)size,
        .payload_checksum = ml_checksum(payload, n),
    };
    ml_chunk_header_encode(&h, file + ML_FILE_HEADER_SIZE);
    read_all(file, ML_FILE_HEADER_SIZE + ML_CHUNK_HEADER_SIZE + n);
    free(file);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_all(data, size);
    read_as_records(data, size);
    return 0;
}
