// SPDX-License-Identifier: MIT
// Decoded records, as the reader hands them out and the writer takes them.
// Field meanings are specified in docs/FORMAT.md. Ids are dense and start at
// 1; 0 means "none" (no stack, no name). Byte ranges handed out by the reader
// point into its buffers and stay valid until the next ml_reader_next().
#ifndef ML_RECORD_H
#define ML_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} ml_bytes;

typedef struct {
    uint8_t tag; /* enum ml_tag */
    union {
        ml_bytes b;
        uint64_t u;
        int64_t i;
        double f;
    } v;
} ml_value;

typedef struct {
    uint64_t time_us;
    uint32_t thread;
    uint32_t level; /* as Python's logging: 10 debug ... 50 critical */
    uint8_t source; /* enum ml_log_source */
    uint32_t stack;
    ml_bytes text;
} ml_log;

typedef struct {
    uint64_t call_id;     /* unique in the run */
    uint64_t parent_call; /* enclosing timed call on the thread, or 0 */
    uint32_t thread;
    uint64_t time_us; /* start */
    uint64_t wall_ns;
    uint64_t cpu_ns; /* the thread's own CPU time */
    int64_t mem_delta;
    uint32_t name; /* string ids */
    uint32_t file;
    uint32_t line;
    ml_bytes args;      /* sanitized, truncated argument text */
    ml_bytes exception; /* empty when the call returned */
} ml_span;

typedef struct {
    uint8_t kind;     /* enum ml_kind */
    uint64_t time_us; /* for timed kinds: since the run's start */
    union {
        struct {
            ml_bytes key;
            ml_value value;
        } meta;
        struct {
            uint32_t id;
            ml_bytes text;
        } string;
        struct {
            uint32_t id, name, file, line, firstline;
        } frame;
        struct {
            uint32_t id, parent, frame;
        } stack;
        struct {
            uint32_t id;
            uint64_t native_id, ident;
            uint32_t name;
        } thread;
        struct {
            uint32_t id;
        } thread_end;
        struct {
            uint32_t thread, stack;
            uint8_t state; /* enum ml_state bits */
            /* CPU the thread used in the interval before each sample of
             * the run, 0 to ML_CPU_FULL (15ths of the interval), or
             * ML_CPU_UNKNOWN */
            uint8_t cpu;
            uint32_t count;
            uint64_t span_us; /* last sample's time minus the first's */
        } samples;
        struct {
            uint32_t id;
            uint8_t cls;
            uint32_t name, unit;
        } series;
        struct {
            uint32_t series;
            ml_value value;
        } value;
        ml_log log;
        ml_span span;
        struct {
            uint8_t kind;
            uint32_t name;
            ml_bytes body;
        } report;
        struct {
            int64_t exit_status;
        } end;
    } u;
} ml_record;

#endif
