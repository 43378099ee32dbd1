// SPDX-License-Identifier: MIT
// `microlog show [--json] [--top N] FILE`: prints a recording's summary
// (src/analysis/ml_summary.h) for people, or as one JSON object.
#ifndef ML_CLI_SHOW_H
#define ML_CLI_SHOW_H

#include <stdio.h>

/* Runs the subcommand; argv[0] is "show". Returns the process exit status:
 * 0 on success (also for a truncated recording, with a warning on stderr),
 * 2 for a usage error or a file that cannot be read or is malformed (one
 * line on stderr naming the file and the byte offset), 1 when output or
 * memory fails. */
int ml_cli_show(int argc, char **argv);

/* Writes the subcommand's help text to out. */
void ml_cli_show_usage(FILE *out);

#endif
