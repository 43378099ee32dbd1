// SPDX-License-Identifier: MIT
// `microlog explain` and `microlog tips` (see ml_cli_explain.h).
#include "ml_cli_explain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/ml_explain.h"
#include "analysis/ml_index.h"
#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "server/ml_explainer.h"

void
ml_cli_explain_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog explain [--prompt-only] FILE\n\n"
            "Asks a language model to describe the program's design and "
            "behaviour from\nthe recording FILE alone (call graph, top "
            "functions, threads, status,\nerrors with their stacks; no "
            "source, no argument values), and prints its\nMarkdown "
            "answer. The answer is cached beside FILE.\n\n"
            "  --prompt-only  print the prompt instead, to paste anywhere\n\n"
            "The model is any OpenAI-compatible chat-completions endpoint:\n"
            "  MICROLOG_LLM_URL    e.g. https://api.openai.com/v1 or "
            "http://127.0.0.1:8080/v1\n"
            "  MICROLOG_LLM_MODEL  the model name\n"
            "  MICROLOG_LLM_KEY    the API key (sent only to that "
            "endpoint)\n");
}

void
ml_cli_tips_usage(FILE *out)
{
    fprintf(out, "usage: microlog tips [--json] FILE\n\n"
                 "Prints microlog's observations about the run (GIL "
                 "contention, slow imports,\nanomalous calls, leaked files "
                 "and objects, errors) and, for the modules\nwhere the time "
                 "went, links to their documentation and to advice.\n");
}

/* Opens FILE as the last argument, after the flags given in flags (each
 * sets the matching int). 0, or the exit status of a usage error. */
static int
open_run(int argc, char **argv, const char *flag, int *set, ml_index **ix,
         void (*usage)(FILE *))
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(argv[i], flag) == 0) {
            *set = 1;
        } else if (argv[i][0] == '-' || path != NULL) {
            fprintf(stderr, "microlog %s: unexpected argument '%s'\n", argv[0],
                    argv[i]);
            usage(stderr);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    int err = ml_index_open(path, ix);
    if (err < 0) {
        fprintf(stderr, "microlog %s: %s: %s\n", argv[0], path,
                err == ML_EIO ? strerror(errno) : ml_strerror(err));
        return 2;
    }
    return 0;
}

static int
print_buf(const ml_buf *b)
{
    return fwrite(b->data, 1, b->len, stdout) == b->len && fflush(stdout) == 0
               ? 0
               : 1;
}

int
ml_cli_explain(int argc, char **argv)
{
    int prompt_only = 0;
    ml_index *ix;
    int rc = open_run(argc, argv, "--prompt-only", &prompt_only, &ix,
                      ml_cli_explain_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    ml_llm_config c;
    int configured = ml_llm_config_from_env(&c);
    int status = 0;
    if (prompt_only || !configured) {
        ml_buf prompt;
        ml_buf_init(&prompt, 16u << 20);
        status = ml_explain_prompt(ix, &prompt) < 0 ? 1 : print_buf(&prompt);
        ml_buf_free(&prompt);
        if (!prompt_only) {
            fprintf(stderr,
                    "microlog explain: no model is set: set "
                    "MICROLOG_LLM_URL and MICROLOG_LLM_MODEL (and "
                    "MICROLOG_LLM_KEY) to have the prompt above answered\n");
        }
    } else {
        char *answer, why[300];
        ml_explain_job job;
        const char *path = argv[argc - 1];
        if (ml_explainer_prepare(ix, path, c.model, &job) < 0) {
            fprintf(stderr, "microlog explain: out of memory\n");
            status = 1;
        } else if (ml_explainer_ask(&c, path, &job, &answer, why, sizeof why)
                   < 0) {
            fprintf(stderr, "microlog explain: %s\n", why);
            status = 1;
        } else {
            printf("%s\n", answer);
            free(answer);
        }
        ml_explain_job_free(&job);
    }
    ml_index_free(ix);
    return status;
}

int
ml_cli_tips(int argc, char **argv)
{
    int json = 0;
    ml_index *ix;
    int rc = open_run(argc, argv, "--json", &json, &ix, ml_cli_tips_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    int status;
    if (json) {
        ml_jsonw w;
        ml_jsonw_init(&w, 16u << 20);
        status = ml_explain_tips(ix, &w) < 0 ? 1 : print_buf(&w.out);
        putchar('\n');
        ml_jsonw_free(&w);
    } else {
        ml_buf b;
        ml_buf_init(&b, 16u << 20);
        status = ml_explain_tips_text(ix, &b) < 0 ? 1 : print_buf(&b);
        ml_buf_free(&b);
    }
    ml_index_free(ix);
    return status;
}
