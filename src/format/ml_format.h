// SPDX-License-Identifier: MIT
// On-disk constants of the microlog recording format. docs/FORMAT.md is the
// specification; this header mirrors its tables and must change with it.
//
// File:   header (16 bytes) then chunks until end of file.
// Header: 0  8  magic 89 4D 4C 4F 47 0D 0A 1A ("\x89MLOG\r\n\x1a")
//         8  2  major version (u16 LE): 3; readers reject unknown majors
//         10 2  minor version (u16 LE); additions readers may ignore
//         12 4  flags (u32 LE), 0; readers ignore unknown bits
// Chunk:  0  4  magic "MLCK"
//         4  4  sequence number (u32 LE), 0 for the first chunk
//         8  8  base time (u64 LE, microseconds since the run's start)
//         16 4  compressed payload size (u32 LE)
//         20 4  uncompressed payload size (u32 LE)
//         24 4  XXH32 of the compressed payload, seed 0
//         28 4  XXH32 of header bytes 0..27, seed 0
//         32 .. payload: one zstd frame holding a sequence of records
// Record: kind (u8), payload length (varint), payload. From 3.0 on,
// STRING, FRAME and STACK carry no id (each takes the next of its table)
// and STACK's parent is the distance back from its id (0: none).
#ifndef ML_FORMAT_H
#define ML_FORMAT_H

#include <stdint.h>

#define ML_FORMAT_VERSION_MAJOR 3
#define ML_FORMAT_VERSION_MINOR 0
/* The oldest major version readers still read: 1.0 and 1.1 files (and
 * 2.0) are read as well as 3.0. */
#define ML_FORMAT_VERSION_MAJOR_MIN 1

#define ML_FILE_MAGIC "\x89MLOG\r\n\x1a"
#define ML_FILE_HEADER_SIZE 16
#define ML_CHUNK_MAGIC "MLCK"
#define ML_CHUNK_HEADER_SIZE 32

/* Limits every reader enforces; a writer never exceeds them. */
#define ML_CHUNK_MAX_COMPRESSED (16u << 20)
#define ML_CHUNK_MAX_RAW (16u << 20)
#define ML_RECORD_MAX (4u << 20)  /* payload of one record */
#define ML_STRING_MAX (1u << 20)  /* one interned string */
#define ML_TEXT_MAX (1u << 20)    /* log text, span args, report body */
#define ML_MAX_STRINGS (1u << 24) /* interned strings in a recording */
#define ML_MAX_STRING_BYTES (512u << 20)
#define ML_MAX_FRAMES (1u << 24)
#define ML_MAX_STACKS (1u << 24)
#define ML_MAX_THREADS (1u << 20)
#define ML_MAX_SERIES (1u << 16)
/* Times (us since the run's start) stay below this: 146,000 years. */
#define ML_TIME_LIMIT_US (UINT64_C(1) << 62)

/* Record kinds. Readers skip kinds they do not know (using the length). */
enum ml_kind {
    ML_KIND_META = 1,       /* key, tagged value: run metadata */
    ML_KIND_STRING = 2,     /* (id), bytes: an interned string */
    ML_KIND_FRAME = 3,      /* (id), name, file, line, first line */
    ML_KIND_STACK = 4,      /* (id), parent stack, frame: a prefix-tree node;
                               3.0: no id, parent as the distance back */
    ML_KIND_THREAD = 5,     /* id, time, native id, ident, name */
    ML_KIND_THREAD_END = 6, /* id, time */
    ML_KIND_SAMPLES = 7,    /* thread, time, stack, state, count, span (1.x) */
    ML_KIND_SERIES = 8,     /* id, class, name, unit */
    ML_KIND_VALUE = 9,      /* series, time, tagged value */
    ML_KIND_LOG = 10,       /* time, thread, level, source, stack, text */
    ML_KIND_SPAN = 11,      /* a timed function call */
    ML_KIND_REPORT = 12,    /* kind, name, body: an end-of-run report */
    ML_KIND_END = 13,       /* time, exit status: the run ended cleanly */
    ML_KIND_ROUNDS = 14     /* 2.0: the samples of sampler rounds */
};

/* Value tags, in META and VALUE records. */
enum ml_tag {
    ML_TAG_BYTES = 0, /* varint length + bytes (UTF-8 text for META) */
    ML_TAG_UINT = 1,  /* varint */
    ML_TAG_INT = 2,   /* zigzag varint */
    ML_TAG_F64 = 3    /* IEEE 754 binary64, 8 bytes LE */
};

/* Bits of a sample's state byte. */
enum ml_state {
    ML_STATE_RUNNING = 1,   /* on a CPU (or runnable) at the sample */
    ML_STATE_GIL = 2,       /* the thread held the GIL */
    ML_STATE_FALLBACK = 4,  /* sampled through the C API with the GIL */
    ML_STATE_WANTS_GIL = 8, /* 1.1: blocked waiting for the GIL */
    ML_STATE_UNKNOWN = 16   /* 1.1: no CPU clock for it: running unknown */
};

/* A sample's CPU share: CPU time the thread used in the interval before
 * it, in 15ths of that interval (2.0; ml_rounds.h). */
#define ML_CPU_FULL 15
#define ML_CPU_UNKNOWN 255 /* not measured (and every 1.x sample) */

/* Series classes. */
enum ml_series_class {
    ML_SERIES_STATUS = 0, /* built-in probes: CPU, RSS, modules, ... */
    ML_SERIES_METRIC = 1  /* user or library metrics */
};

/* Where a log entry came from. */
enum ml_log_source {
    ML_LOG_API = 0,       /* microlog.info() and friends */
    ML_LOG_STDOUT = 1,    /* sys.stdout writes */
    ML_LOG_STDERR = 2,    /* sys.stderr writes */
    ML_LOG_LOGGING = 3,   /* the logging module */
    ML_LOG_WARNINGS = 4,  /* the warnings module */
    ML_LOG_EXCEPTION = 5, /* uncaught exceptions */
    ML_LOG_SOURCE_COUNT = 6
};

/* Report kinds. */
enum ml_report_kind {
    ML_REPORT_OPEN_FILES = 1,
    ML_REPORT_LEAKS = 2,
    ML_REPORT_OTHER = 3
};

#endif
