// SPDX-License-Identifier: MIT
// `microlog upload FILE...`: sends finished or interrupted runs to the
// central store (a server's POST /api/ingest, or a bucket), only what the
// store does not have yet.
#ifndef ML_CLI_UPLOAD_H
#define ML_CLI_UPLOAD_H

#include <stdio.h>

/* argv[0] is "upload". 0 when every file is stored, 1 when one is not, 2
 * for a usage error. */
int ml_cli_upload(int argc, char **argv);
void ml_cli_upload_usage(FILE *out);

#endif
