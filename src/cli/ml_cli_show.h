// SPDX-License-Identifier: MIT
// `microlog show [--json] [--top N] FILE`: prints a recording's summary
// (src/analysis/ml_summary.h) for people, or as one JSON object.
#ifndef ML_CLI_SHOW_H
#define ML_CLI_SHOW_H

#include <stdio.h>

#include "analysis/ml_summary.h"

/* Runs the subcommand; argv[0] is "show". Returns the process exit status:
 * 0 on success (also for a truncated recording, with a warning on stderr),
 * 2 for a usage error or a file that cannot be read or is malformed (one
 * line on stderr naming the file and the byte offset), 1 when output or
 * memory fails. */
int ml_cli_show(int argc, char **argv);

/* Writes the subcommand's help text to out. */
void ml_cli_show_usage(FILE *out);

/* Opens and summarizes path for the subcommands that compare or report
 * (diff, report): -1 on success with *out set (ml_summary_free), else
 * prints one line naming the file and returns the exit status (2, or 1
 * when memory runs out). A cut-off last chunk is not an error. */
int ml_cli_show_load(const char *path, ml_summary **out);

#endif
