// SPDX-License-Identifier: MIT
// `microlog diff [--json] [--top N] A B`: two runs of the same program
// compared (src/analysis/ml_diff.h), A the baseline.
#ifndef ML_CLI_DIFF_H
#define ML_CLI_DIFF_H

#include <stdio.h>

/* Runs the subcommand; argv[0] is "diff". 0 on success, 2 for a usage
 * error or a file that cannot be read, 1 when output or memory fails. */
int ml_cli_diff(int argc, char **argv);
void ml_cli_diff_usage(FILE *out);

#endif
