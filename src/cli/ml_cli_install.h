// SPDX-License-Identifier: MIT
// `microlog install [--label-from script|module|env] [--fraction F]
// [--status] [--python PATH]` and `microlog uninstall [--python PATH]`:
// put or remove the start-up hook that records every Python process of an
// environment (docs/INSTALL-HOOK.md). The work is Python's (site-packages
// is its business): these run `PYTHON -m microlog.autorecord`.
#ifndef ML_CLI_INSTALL_H
#define ML_CLI_INSTALL_H

#include <stdio.h>

/* Run the subcommands; argv[0] is "install" or "uninstall". PYTHON is
 * --python PATH, else the python3 (or python) in the directory of the
 * microlog executable, which pip puts next to the environment's python.
 * On success the process becomes that Python (exec) and its exit status
 * is the command's: 0 done, 1 failed (the reason on stderr), 2 usage.
 * Returns 2 for a usage error here, 1 when no Python can be run. */
int ml_cli_install(int argc, char **argv);
int ml_cli_uninstall(int argc, char **argv);

/* Write the subcommands' help texts to out. */
void ml_cli_install_usage(FILE *out);
void ml_cli_uninstall_usage(FILE *out);

#endif
