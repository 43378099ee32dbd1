// SPDX-License-Identifier: MIT
// `microlog ls [--dir DIR] [--json]`: the runs under the recordings folder
// as a table, newest first.
#ifndef ML_CLI_LS_H
#define ML_CLI_LS_H

#include <stdio.h>

/* Runs the subcommand; argv[0] is "ls". 0 on success (damaged recordings
 * are listed as such), 2 for a usage error or a folder that cannot be
 * read, 1 when output or memory fails. */
int ml_cli_ls(int argc, char **argv);
void ml_cli_ls_usage(FILE *out);

#endif
