// SPDX-License-Identifier: MIT
// Protocol-buffer field encodings (ml_protobuf.h).
#include "ml_protobuf.h"

#include "core/ml_error.h"

static int
tag(ml_buf *b, uint32_t field, uint32_t wire)
{
    return ml_buf_append_varint(b, ((uint64_t)field << 3) | wire);
}

int
ml_pb_varint(ml_buf *b, uint32_t field, uint64_t v)
{
    int err = tag(b, field, 0);
    return err < 0 ? err : ml_buf_append_varint(b, v);
}

int
ml_pb_bytes(ml_buf *b, uint32_t field, const void *p, size_t n)
{
    int err = tag(b, field, 2);
    return err < 0 ? err : ml_buf_append_bytes(b, p, n);
}

static size_t
varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int
ml_pb_packed(ml_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += varint_size(v[i]);
    }
    int err = tag(b, field, 2);
    if (err == 0) {
        err = ml_buf_append_varint(b, len);
    }
    for (size_t i = 0; err == 0 && i < n; i++) {
        err = ml_buf_append_varint(b, v[i]);
    }
    return err;
}
