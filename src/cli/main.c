// SPDX-License-Identifier: MIT
// The `microlog` executable: dispatches to one subcommand per ml_cli_*.c
// file. Adding a subcommand means adding its row to the table below.
#include <stdio.h>
#include <string.h>

#include "ml_cli_diff.h"
#include "ml_cli_dump.h"
#include "ml_cli_explain.h"
#include "ml_cli_export.h"
#include "ml_cli_install.h"
#include "ml_cli_ls.h"
#include "ml_cli_query.h"
#include "ml_cli_report.h"
#include "ml_cli_serve.h"
#include "ml_cli_show.h"
#include "ml_cli_upload.h"

#ifndef ML_VERSION
#define ML_VERSION "unknown"
#endif

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
    const char *summary;
} command;

static const command commands[] = {
    {"diff", ml_cli_diff, ml_cli_diff_usage,
     "compare two runs: total time, per function share and self time"},
    {"dump", ml_cli_dump, ml_cli_dump_usage,
     "print every record as JSON Lines"},
    {"explain", ml_cli_explain, ml_cli_explain_usage,
     "a language model's account of a run (--prompt-only: the prompt)"},
    {"export", ml_cli_export, ml_cli_export_usage,
     "write a recording as collapsed, speedscope, pprof, chrome, json, csv"},
    {"install", ml_cli_install, ml_cli_install_usage,
     "record every Python process of this environment (a start-up hook)"},
    {"ls", ml_cli_ls, ml_cli_ls_usage,
     "list the recordings, newest first (--json for JSON)"},
    {"query", ml_cli_query, ml_cli_query_usage,
     "print one view of docs/API.md for a recording, as JSON"},
    {"report", ml_cli_report, ml_cli_report_usage,
     "a run's figures as text and as an HTML page with charts"},
    {"serve", ml_cli_serve, ml_cli_serve_usage,
     "serve the recordings in the browser UI and as a JSON API"},
    {"show", ml_cli_show, ml_cli_show_usage,
     "print a summary of a recording (--json for JSON)"},
    {"tips", ml_cli_tips, ml_cli_tips_usage,
     "observations about a run and links for its modules"},
    {"uninstall", ml_cli_uninstall, ml_cli_uninstall_usage,
     "remove the start-up hook of microlog install"},
    {"upload", ml_cli_upload, ml_cli_upload_usage,
     "send finished or interrupted runs to the central store"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *out)
{
    fprintf(out, "usage: microlog <command> [options] [args]\n"
                 "       microlog help <command>\n"
                 "       microlog --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    }
}

static const command *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

/* `microlog help [COMMAND]` */
static int
help(int argc, char **argv)
{
    if (argc < 3) {
        usage(stdout);
        return 0;
    }
    const command *c = find_command(argv[2]);
    if (c == NULL) {
        fprintf(stderr, "microlog: unknown command '%s'\n", argv[2]);
        usage(stderr);
        return 2;
    }
    c->usage(stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("microlog %s\n", ML_VERSION);
        return 0;
    }
    if (strcmp(name, "help") == 0) {
        return help(argc, argv);
    }
    const command *c = find_command(name);
    if (c == NULL) {
        fprintf(stderr, "microlog: unknown command '%s'\n", name);
        usage(stderr);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
