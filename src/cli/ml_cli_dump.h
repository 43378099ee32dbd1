// SPDX-License-Identifier: MIT
// `microlog dump [--kind K,...] FILE`: prints every record of a recording as
// one JSON object per line (JSON Lines), with string, frame, stack and series
// ids resolved. For scripts, tests and people debugging a recording.
#ifndef ML_CLI_DUMP_H
#define ML_CLI_DUMP_H

#include <stdio.h>

/* Runs the subcommand; argv[0] is "dump". Returns the process exit status:
 * 0 on success (also for a recording whose last chunk is cut off, with a
 * warning on stderr), 2 for a usage error or a file that cannot be read or
 * is malformed (the records before the damage are printed first), 1 when
 * output or memory fails. */
int ml_cli_dump(int argc, char **argv);

/* Writes the subcommand's help text to out. */
void ml_cli_dump_usage(FILE *out);

#endif
