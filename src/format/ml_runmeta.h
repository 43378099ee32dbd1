// SPDX-License-Identifier: MIT
// What identifies a run to the central store, read from the META records at
// the start of a recording: its id, the name the UI shows, label, host and
// start time. Used by `microlog upload` (a file on disk) and by servers
// that find runs a client saved straight to a bucket (the object's first
// bytes).
#ifndef ML_RUNMETA_H
#define ML_RUNMETA_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char run_id[40]; /* META run_id, or "" in recordings made before it */
    char name[256];  /* META name (LABEL/STEM), or "" */
    char label[128];
    char host[256];
    int64_t start_unix_us; /* from META start_unix_ns; 0 when absent */
    int64_t pid;
} ml_runmeta;

/* Reads the META records of the first chunks in data (a recording's first
 * bytes; a truncated tail is fine). 0 when the recording header is valid,
 * or a negative ML_E* code. */
int ml_runmeta_read(const uint8_t *data, size_t len, ml_runmeta *out);

/* 1 when name is LABEL/STEM of safe names: each 1 to 128 characters of
 * A-Z a-z 0-9 . _ -, not starting with '.' (so a name is always a path
 * inside a folder, never out of it). */
int ml_runmeta_name_valid(const char *name);
/* One part of it (n bytes at s). */
int ml_runmeta_part_valid(const char *s, size_t n);

/* The same for a file (its first 4 MiB at most). */
int ml_runmeta_read_file(const char *path, ml_runmeta *out);

#endif
