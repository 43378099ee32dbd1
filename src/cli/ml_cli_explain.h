// SPDX-License-Identifier: MIT
// `microlog explain FILE [--prompt-only]` and `microlog tips FILE [--json]`
// (docs/EXPLAIN.md): a language model's account of a run, and links and
// observations for it, from the recording alone.
#ifndef ML_CLI_EXPLAIN_H
#define ML_CLI_EXPLAIN_H

#include <stdio.h>

/* Exit status 0; 1 when the endpoint fails (one line on stderr); 2 for a
 * usage error or a file that cannot be read. Without MICROLOG_LLM_URL and
 * MICROLOG_LLM_MODEL, explain prints the prompt and how to set them. */
int ml_cli_explain(int argc, char **argv);
void ml_cli_explain_usage(FILE *out);
int ml_cli_tips(int argc, char **argv);
void ml_cli_tips_usage(FILE *out);

#endif
