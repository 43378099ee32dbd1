// SPDX-License-Identifier: MIT
// The browser UI's static files, read once from the UI folder into memory
// at start: requests can only name files of that table, so no request
// ever reaches the filesystem through a path it chose. Without a UI
// folder, "/" is a small built-in page that lists the runs.
#ifndef ML_UI_H
#define ML_UI_H

#include <stddef.h>

typedef struct ml_ui ml_ui;

/* Loads the regular files of dir and of its direct subfolders (at most
 * 64 MiB in all); NULL dir gives an empty table. */
int ml_ui_load(const char *dir, ml_ui **out);
void ml_ui_free(ml_ui *ui);
/* 1 when the table has an index.html. */
int ml_ui_has_index(const ml_ui *ui);

/* The file for a request path ("/" is "/index.html"): its bytes and
 * content type, or 0 when there is none. */
int ml_ui_find(const ml_ui *ui, const char *path, const char **data,
               size_t *len, const char **type);

#endif
