// SPDX-License-Identifier: MIT
// `microlog install` / `microlog uninstall` (ml_cli_install.h): find the
// environment's Python and exec `PYTHON -m microlog.autorecord SUBCOMMAND`
// with the other arguments; the hook itself is python/microlog/autorecord.py
// and python/_microlog_autorecord.py.
#define _GNU_SOURCE
#include "ml_cli_install.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PYTHON_OPT "--python"

void
ml_cli_install_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog install [--label-from script|module|env] "
            "[--fraction F]\n"
            "                        [--status] [--python PATH]\n\n"
            "Puts a start-up hook (microlog-autorecord.pth) into the "
            "site-packages of the\nenvironment, so that every Python "
            "process started there is recorded, quietly\n(no box at the "
            "end). Running it again replaces the settings.\n\n"
            "  --label-from script  label: the script's name, the -m "
            "module, or 'python'\n"
            "                       for -c and the REPL (default)\n"
            "  --label-from module  the -m module's top-level package, "
            "else as script\n"
            "  --label-from env     MICROLOG_LABEL, else as script\n"
            "  --fraction F         record a random fraction 0 < F <= 1 "
            "of the processes,\n"
            "                       drawn per process (default 1)\n"
            "  --status             show what is installed (exit status 1 "
            "if nothing is)\n"
            "  --python PATH        the environment's Python (default: the "
            "python next to\n"
            "                       this executable)\n\n"
            "Not recorded: MICROLOG_DISABLE=true, python -m microlog "
            "(records by itself),\npip, multiprocessing's helper processes "
            "and children (a recorded parent\nrecords its children), "
            "subinterpreters. See docs/INSTALL-HOOK.md.\n");
}

void
ml_cli_uninstall_usage(FILE *out)
{
    fprintf(out, "usage: microlog uninstall [--python PATH]\n\n"
                 "Removes the start-up hook that microlog install wrote, "
                 "and says so (or that\nnone was installed).\n\n"
                 "  --python PATH  the environment's Python (default: the "
                 "python next to this\n"
                 "                 executable)\n");
}

/* The python3 or python in the directory of this executable, into out. */
static int
python_beside_me(char *out, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "microlog: cannot find this executable "
                        "(/proc/self/exe): use --python PATH\n");
        return -1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL) {
        return -1;
    }
    *slash = '\0';
    static const char *const names[] = {"python3", "python"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int len = snprintf(out, size, "%s/%s", self, names[i]);
        if (len > 0 && (size_t)len < size && access(out, X_OK) == 0) {
            return 0;
        }
    }
    fprintf(stderr,
            "microlog: no python next to %s/microlog (pip installs "
            "microlog into an\nenvironment's bin/, beside its python): "
            "use --python PATH\n",
            self);
    return -1;
}

/* Execs PYTHON -m microlog.autorecord NAME ARGS, ARGS without --python. */
static int
run_python(const char *name, int argc, char **argv, void (*usage)(FILE *out))
{
    const char *python = NULL;
    char beside[PATH_MAX];
    /* python, -m, module, name, the arguments, NULL */
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "microlog %s: out of memory\n", name);
        return 1;
    }
    int n = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            free(args);
            return 0;
        }
        if (strcmp(a, PYTHON_OPT) == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "microlog %s: --python needs a path\n", name);
                free(args);
                return 2;
            }
            python = argv[++i];
        } else if (strncmp(a, PYTHON_OPT "=", sizeof PYTHON_OPT) == 0) {
            python = a + sizeof PYTHON_OPT;
        } else {
            args[n++] = argv[i];
        }
    }
    if (python == NULL) {
        if (python_beside_me(beside, sizeof beside) != 0) {
            free(args);
            return 1;
        }
        python = beside;
    }
    args[0] = (char *)python;
    args[1] = "-m";
    args[2] = "microlog.autorecord";
    args[3] = (char *)name;
    args[n] = NULL;
    fflush(stdout);
    execv(python, args);
    fprintf(stderr, "microlog %s: cannot run %s: %s\n", name, python,
            strerror(errno));
    free(args);
    return 1;
}

int
ml_cli_install(int argc, char **argv)
{
    return run_python("install", argc, argv, ml_cli_install_usage);
}

int
ml_cli_uninstall(int argc, char **argv)
{
    return run_python("uninstall", argc, argv, ml_cli_uninstall_usage);
}
