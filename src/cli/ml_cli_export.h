// SPDX-License-Identifier: MIT
// `microlog export --format F [--thread T] [--from S --to S] [--idle]
// [--aggregate] FILE [-o OUT]`: a recording in another tool's format
// (src/export/ml_export.h, docs/EXPORT.md).
#ifndef ML_CLI_EXPORT_H
#define ML_CLI_EXPORT_H

#include <stdio.h>

/* Runs the subcommand; argv[0] is "export". 0 on success, also for a
 * recording whose last chunk is cut off (a warning says what was lost);
 * 1 when part of the file was damaged (what was readable is exported, a
 * warning says what was lost) or output fails; 2 for a usage error, an
 * unknown format, thread or time range, or a file that is not a
 * readable recording. */
int ml_cli_export(int argc, char **argv);
void ml_cli_export_usage(FILE *out);

#endif
