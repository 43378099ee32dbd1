// SPDX-License-Identifier: MIT
// `microlog serve [--dir DIR] [--host H] [--port P] [--token T] [--ui DIR]`:
// the HTTP server of the viewer and the JSON API (docs/API.md).
#ifndef ML_CLI_SERVE_H
#define ML_CLI_SERVE_H

#include <stdio.h>

/* Runs until SIGINT or SIGTERM. Exit status 0 after a clean stop, 2 for a
 * usage error, a folder that cannot be read, a port that cannot be bound
 * or a non-loopback address without a token (one line on stderr). */
int ml_cli_serve(int argc, char **argv);
void ml_cli_serve_usage(FILE *out);

#endif
