// SPDX-License-Identifier: MIT
// Exports of a recording to the formats profiles travel in: folded stacks,
// speedscope, pprof, Chrome Trace Event JSON, CSV of timed calls and the
// whole recording as JSON. docs/EXPORT.md says what each one holds and how
// running and waiting samples are told apart. Every exporter reads the file
// with the one reader (format/ml_reader.h), twice: a scan that learns the
// threads, the run's end and the sampling interval, then the export.
//
//     ml_export_options o;
//     ml_export_result res;
//     char why[256];
//     ml_export_options_init(&o);
//     o.format = ml_export_format_parse("pprof");
//     int rc = ml_export_run("run.mlog", &o, stdout, &res, why, sizeof why);
//     if (rc == ML_EINVAL) ...   why: unknown thread or range
//     if (rc == 0 && res.lost) ... res.message: what was not readable
#ifndef ML_EXPORT_H
#define ML_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ml_export_format {
    ML_EXPORT_COLLAPSED,
    ML_EXPORT_SPEEDSCOPE,
    ML_EXPORT_PPROF,
    ML_EXPORT_CHROME,
    ML_EXPORT_JSON,
    ML_EXPORT_CSV,
    ML_EXPORT_NFORMATS
};

/* The format called name, or -1. */
int ml_export_format_parse(const char *name);
/* "collapsed", ...; "" out of range. */
const char *ml_export_format_name(int format);

typedef struct {
    int format;         /* enum ml_export_format */
    uint64_t from;      /* us since the run's start */
    uint64_t to;        /* exclusive; UINT64_MAX: the run's end */
    const char *thread; /* a thread id or name; NULL: every thread */
    int idle;           /* collapsed: waiting samples too */
    int aggregate;      /* csv: one row per function */
} ml_export_options;

void ml_export_options_init(ml_export_options *o);

typedef struct {
    int lost;            /* part of the file could not be read */
    int truncated;       /* it ends inside a chunk (a killed run) */
    uint64_t lost_at;    /* file offset where reading stopped */
    uint64_t lost_bytes; /* bytes from there to the file's end */
    char message[320];   /* one line: what was lost and why */
    uint64_t items;      /* samples, events or rows written */
} ml_export_result;

/* Exports the recording at path to out. 0 on success, also when part of
 * the file was damaged or cut off: what was readable is exported and
 * res->lost says what was not. ML_EINVAL when o does not fit the run (an
 * unknown thread, a range outside it, an unknown format): why says so in
 * one line. Reader errors before anything could be read (not a recording,
 * a newer major version, ML_EIO with errno) are returned with why set;
 * ML_EIO also when writing out fails; ML_ENOMEM. */
int ml_export_run(const char *path, const ml_export_options *o, FILE *out,
                  ml_export_result *res, char *why, size_t why_len);

#endif
