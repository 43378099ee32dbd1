// SPDX-License-Identifier: MIT
// The few protocol-buffer encodings pprof's profile.proto needs, written
// into an ml_buf: varint fields (wire type 0), length-delimited fields
// (wire type 2: strings, nested messages) and packed repeated varints.
// Failures (ML_ENOMEM, ML_ELIMIT) are returned; callers OR them together.
// https://protobuf.dev/programming-guides/encoding/
#ifndef ML_PROTOBUF_H
#define ML_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"

/* field = v as a varint; negative int64 values go as their two's
 * complement (10 bytes), as protobuf's int64 does. */
int ml_pb_varint(ml_buf *b, uint32_t field, uint64_t v);
/* field = n bytes (a string or an encoded message). */
int ml_pb_bytes(ml_buf *b, uint32_t field, const void *p, size_t n);
/* field = v[0 .. n) packed: one length-delimited run of varints. */
int ml_pb_packed(ml_buf *b, uint32_t field, const uint64_t *v, size_t n);

#endif
