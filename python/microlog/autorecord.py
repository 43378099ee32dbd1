"""``microlog install`` / ``microlog uninstall``: a start-up hook that
records every Python process of this interpreter's environment.

    python -m microlog.autorecord install [--label-from script|module|env]
                                          [--fraction F] [--status]
    python -m microlog.autorecord uninstall

(the ``microlog`` command runs these with the Python beside it). The hook
is one file, ``microlog-autorecord.pth``, in the site-packages directory
that holds this package: its one line calls ``_microlog_autorecord.run()``
with the settings (docs/INSTALL-HOOK.md).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time

import microlog

HOOK_NAME = "microlog-autorecord.pth"
MODULE = "_microlog_autorecord"
MARK = "# microlog start-up hook"
LABEL_FROM = ("script", "module", "env")
_CALL = re.compile(r"run\(label_from='(\w+)', fraction=([0-9.e+-]+)\)")

LABELS = {
    "script": "the script's name (train.py: train, -m pkg.mod: pkg.mod, "
              "python for -c and the REPL)",
    "module": "the -m module's top-level package (-m pkg.mod: pkg), "
              "else the script's name",
    "env": "MICROLOG_LABEL, else the script's name",
}


class HookError(Exception):
    """Why the hook cannot be installed here; the message says what to
    do."""


def package_site_dir() -> str:
    """The site-packages directory this package was imported from, where
    the hook goes (in a virtual environment: its purelib, which is also its
    platlib). The interpreter reads .pth files only in site directories, so
    anything else is an error."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(microlog.__file__)))
    if not os.path.isfile(os.path.join(here, MODULE + ".py")):
        raise HookError(f"{MODULE}.py is missing from {here}: reinstall "
                        "microlog (pip install microlog)")
    if os.path.realpath(here) not in {os.path.realpath(d)
                                      for d in site_dirs()}:
        raise HookError(f"microlog is imported from {here}, which is not a "
                        f"site-packages directory of {sys.executable}: "
                        "Python would not read a start-up hook there "
                        "(pip install microlog into the environment)")
    return here


def site_dirs() -> list:
    """Every directory whose .pth files this interpreter reads."""
    import site
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return dirs


def hook_text(label_from: str, fraction: float, path: str) -> str:
    """The .pth file: comments, then one line that site executes. If
    microlog was uninstalled and left the file, the line says so once."""
    left = (f"microlog: {path} is left from an uninstalled microlog: "
            "delete it\n")
    code = ("try:\n"
            f" import {MODULE} as m\n"
            "except ImportError:\n"
            f" sys.modules[{MODULE!r}] = None\n"
            f" sys.stderr.write({left!r})\n"
            "else:\n"
            f" m.run(label_from={label_from!r}, fraction={fraction!r})\n")
    return (f"{MARK}, written by `microlog install` (microlog "
            f"{microlog.__version__}) on {time.strftime('%Y-%m-%d %H:%M')}\n"
            f"# for {sys.executable}: every Python process here is recorded "
            "(docs/INSTALL-HOOK.md).\n"
            "# MICROLOG_DISABLE=true skips a process; `microlog uninstall` "
            "removes this file.\n"
            # site runs a venv's .pth files twice: the second time
            # costs only this line's compilation, not the string's
            f"import sys; {MODULE!r} in sys.modules or exec({code!r})\n")


def read_hook(path: str):
    """(label_from, fraction) of the hook at path, or None if the file is
    not one that install wrote."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(MARK):
        return None
    found = _CALL.search(text)
    if found is None:
        return ("?", math.nan)
    return found.group(1), float(found.group(2))


def installed() -> list:
    """The hooks this interpreter reads at start-up: (path, settings)."""
    found = []
    for d in site_dirs():
        path = os.path.join(d, HOOK_NAME)
        if os.path.exists(path):
            found.append((path, read_hook(path)))
    return found


def fraction_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:  # also rejects nan
        raise argparse.ArgumentTypeError(
            f"expected a number above 0 and at most 1, such as 0.1 for "
            f"one process in ten (got {text!r})")
    return value


def describe(label_from: str, fraction: float) -> str:
    share = ("every Python process" if fraction == 1
             else f"a random {fraction * 100:.4g}% of Python processes")
    return f"records {share}\n  label: {LABELS.get(label_from, label_from)}"


def install(label_from: str, fraction: float, out=sys.stdout) -> str:
    """Writes (or replaces) the hook; returns its path."""
    directory = package_site_dir()
    path = os.path.join(directory, HOOK_NAME)
    before = read_hook(path) if os.path.exists(path) else None
    if os.path.exists(path) and before is None:
        raise HookError(f"{path} exists and was not written by microlog "
                        "install: not replacing it")
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(hook_text(label_from, fraction, path))
        os.replace(tmp, path)  # a starting process sees old or new, whole
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise HookError(f"cannot write {path}: {e.strerror}") from None
    verb = "replaced" if before is not None else "wrote"
    out.write(f"microlog install: {verb} {path}\n"
              f"  (the site-packages of {sys.prefix}, where microlog is)\n"
              f"  {describe(label_from, fraction)}\n"
              "  recordings go to each process's MICROLOG_DIR (default "
              "~/.microlog), without\n  the box at the end "
              "(MICROLOG_QUIET=false shows it)\n"
              "  MICROLOG_DISABLE=true skips a process; "
              "`microlog uninstall` removes the hook\n")
    return path


def uninstall(out=sys.stdout) -> int:
    """Removes the hooks install wrote; 0 (also when there was none)."""
    removed = 0
    for path, settings in installed():
        if settings is None:
            out.write(f"microlog uninstall: {path} was not written by "
                      "microlog install: left alone\n")
            continue
        try:
            os.unlink(path)
        except OSError as e:
            raise HookError(f"cannot remove {path}: {e.strerror}") from None
        removed += 1
        out.write(f"microlog uninstall: removed {path}\n")
    if removed == 0:
        out.write("microlog uninstall: no hook was installed for "
                  f"{sys.executable} (looked in "
                  + ", ".join(site_dirs()) + ")\n")
    return 0


def status(out=sys.stdout) -> int:
    """Prints what is installed: 0 if a hook is, 1 if none is."""
    hooks = [(p, s) for p, s in installed() if s is not None]
    if not hooks:
        out.write(f"microlog install: no hook installed for "
                  f"{sys.executable}\n")
        return 1
    for path, (label_from, fraction) in hooks:
        if label_from == "?":
            out.write(f"{path}: a microlog hook with settings this version "
                      "cannot read (`microlog install` rewrites it)\n")
        else:
            out.write(f"microlog install: {path}\n"
                      f"  {describe(label_from, fraction)}\n")
    if os.environ.get("MICROLOG_DISABLE", "").strip().lower() in (
            "1", "true", "yes", "on"):
        out.write("(MICROLOG_DISABLE is set here: processes started from "
                  "this shell are not recorded)\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microlog",
        description="Record every Python process of this environment "
                    "(docs/INSTALL-HOOK.md).")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser(
        "install", help="put the start-up hook into site-packages",
        description="Puts microlog-autorecord.pth into the site-packages "
                    "of this Python, so that every process started with it "
                    "is recorded. Running it again replaces the settings.")
    inst.add_argument("--label-from", choices=LABEL_FROM, default="script",
                      help="script: the script's name, the -m module or "
                           "'python' (default); module: the -m module's "
                           "top-level package; env: MICROLOG_LABEL, else "
                           "as script")
    inst.add_argument("--fraction", type=fraction_arg, default=1.0,
                      metavar="F",
                      help="record a random fraction 0 < F <= 1 of the "
                           "processes, drawn per process (default 1)")
    inst.add_argument("--status", action="store_true",
                      help="only show what is installed (exit status 1 "
                           "if nothing is)")
    sub.add_parser("uninstall", help="remove the start-up hook",
                   description="Removes what microlog install wrote.")
    return parser


def main(argv: list) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "uninstall":
            return uninstall()
        if args.status:
            return status()
        install(args.label_from, args.fraction)
        return 0
    except HookError as e:
        sys.stderr.write(f"microlog {args.command}: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
