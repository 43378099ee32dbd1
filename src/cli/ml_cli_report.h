// SPDX-License-Identifier: MIT
// `microlog report FILE [-o DIR] [--baseline A]`: a run's figures as text
// on stdout and as one self-contained HTML page with charts in DIR
// (src/export/ml_report.h).
#ifndef ML_CLI_REPORT_H
#define ML_CLI_REPORT_H

#include <stdio.h>

/* Runs the subcommand; argv[0] is "report". 0 on success (also for a
 * recording whose last chunk is cut off), 2 for a usage error or a file
 * that cannot be read, 1 when output or memory fails. */
int ml_cli_report(int argc, char **argv);
void ml_cli_report_usage(FILE *out);

#endif
