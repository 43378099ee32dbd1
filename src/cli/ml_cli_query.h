// SPDX-License-Identifier: MIT
// `microlog query FILE VIEW [KEY=VALUE ...]`: one view of docs/API.md for a
// recording file, without a server (for scripts and coding agents).
#ifndef ML_CLI_QUERY_H
#define ML_CLI_QUERY_H

#include <stdio.h>

/* Prints the view's JSON on stdout. Exit status 0; 1 when nothing is
 * there (no span at that point) or output fails; 2 for a usage error, a
 * bad parameter or a file that cannot be read. */
int ml_cli_query(int argc, char **argv);
void ml_cli_query_usage(FILE *out);

#endif
