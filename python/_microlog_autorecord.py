"""The start-up hook that ``microlog install`` puts into an environment.

``microlog-autorecord.pth`` in site-packages calls ``run()`` while the
interpreter starts (docs/INSTALL-HOOK.md). Every process that is not
recorded pays only for this module: it decides with what the interpreter
has loaded already (os, sys) and imports microlog only to record. It never
stops Python from starting: whatever goes wrong is one line on stderr.

This is a top-level module, not part of the microlog package, because
importing ``microlog`` loads the extension and every component.
"""

import os
import sys

LABEL_FROM = ("script", "module", "env")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

# run() has been called in this interpreter (site reads a venv's
# site-packages twice, so the .pth line runs twice: one draw per process).
_ran = False


def run(label_from: str = "script", fraction: float = 1.0) -> None:
    """Records this process if the draw and the rules say so (see
    decide()). Never raises."""
    global _ran
    if _ran:
        return
    _ran = True
    try:
        label = decide(label_from, fraction)
        if label is not None:
            _record(label)
    except Exception as e:  # start-up must go on, whatever happened
        _warn(str(e) or type(e).__name__)


def _warn(message: str) -> None:
    try:
        if not message.startswith("microlog"):
            message = f"microlog: {message}"
        sys.stderr.write(f"{message} (start-up hook, not recording)\n")
    except Exception:
        pass


def decide(label_from: str, fraction: float, env=None):
    """The label to record this process under, or None not to record it.
    Raises ValueError for settings it cannot use."""
    env = os.environ if env is None else env
    disable = env.get("MICROLOG_DISABLE", "").strip().lower()
    if disable in _TRUE:
        return None
    if disable not in _FALSE:
        raise ValueError(f"MICROLOG_DISABLE={env['MICROLOG_DISABLE']!r}: "
                         "expected true or false")
    if label_from not in LABEL_FROM:
        raise ValueError(f"label_from={label_from!r} in the .pth file: "
                         "expected one of " + ", ".join(LABEL_FROM))
    if (not isinstance(fraction, (int, float)) or isinstance(fraction, bool)
            or not 0 < fraction <= 1):
        raise ValueError(f"fraction={fraction!r} in the .pth file: expected "
                         "a number above 0 and at most 1")
    if fraction < 1 and draw(env.get("MICROLOG_FRACTION_SEED")) >= fraction:
        return None
    if not _main_interpreter():
        return None
    kind, name = what_runs(sys.argv, command_line())
    if skipped(kind, name):
        return None
    if label_from == "env":
        label = env.get("MICROLOG_LABEL", "").strip()
        if label:
            return label
    if kind == "module" and label_from == "module":
        return name.split(".")[0]
    if kind in ("script", "module"):
        return name if kind == "module" else script_stem(name)
    return "python"


def draw(seed=None) -> float:
    """A number in [0, 1): random, or fixed by MICROLOG_FRACTION_SEED (for
    tests: the same seed always draws the same number)."""
    if seed is None:
        return int.from_bytes(os.urandom(7), "big") / (1 << 56)
    h = 0xCBF29CE484222325  # FNV-1a over the seed, then a 64-bit mix
    for byte in seed.encode("utf-8", "surrogateescape"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 31
    return (h >> 8) / (1 << 56)


def _main_interpreter() -> bool:
    """False in a subinterpreter: only the main interpreter is recorded
    (docs/SAMPLER.md), and the extension refuses to load elsewhere."""
    import _thread
    is_main = getattr(_thread, "_is_main_interpreter", None)  # 3.12+
    if is_main is not None:
        return bool(is_main())
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        return True
    return interpreters.get_current() == interpreters.get_main()


def command_line() -> list:
    """The interpreter's own command line (sys.orig_argv from 3.10)."""
    orig = getattr(sys, "orig_argv", None)
    if orig is not None:
        return list(orig)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [os.fsdecode(a) for a in raw.split(b"\0")[:-1]]


def what_runs(argv: list, orig: list) -> tuple:
    """What this interpreter is about to run, from sys.argv as it is while
    site runs (script path, '-m', '-c', '-' or '') and the full command
    line: ("script", path), ("module", name), ("command", code),
    ("stdin", "") or ("interactive", "")."""
    first = argv[0] if argv else ""
    if first in ("-m", "-c"):
        # orig ends with the option's value, then sys.argv[1:]
        at = len(orig) - len(argv)
        value = orig[at] if 0 < at < len(orig) else ""
        if value.startswith("-") and first[1] in value:  # -mname, -Imname
            value = value[value.index(first[1]) + 1:]
        return ("module" if first == "-m" else "command"), value
    if first == "-":
        return "stdin", ""
    if first == "":
        return "interactive", ""
    return "script", first


def script_stem(path: str) -> str:
    """train.py -> train; bin/black -> black; a package directory or zip
    archive -> its name."""
    name = os.path.basename(path.rstrip("/")) or path
    for suffix in (".py", ".pyz", ".pyw", ".zip"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


def skipped(kind: str, name: str) -> bool:
    """Processes where a recording is pointless or harmful: microlog's own
    (python -m microlog records by itself, microlog install), pip, and
    multiprocessing's helper and spawned processes (a recorded parent
    records its children itself, linked to its run)."""
    if "--multiprocessing-fork" in sys.argv:
        return True
    if kind == "module":
        top = name.split(".")[0]
        return top in ("microlog", "pip")
    if kind == "command":
        return name.lstrip().startswith(("from multiprocessing",
                                         "import multiprocessing"))
    if kind == "script":
        stem = script_stem(name)
        return stem == "pip" or stem.startswith("pip3")
    return False


def _record(label: str) -> None:
    """Starts the recording as ``python -m microlog`` would, quiet unless
    MICROLOG_QUIET is set, and stops it at exit with the run's status."""
    import atexit

    import microlog

    typed = command_line()
    argv, sys.argv = sys.argv, [os.path.basename(typed[0] if typed
                                                 else sys.executable),
                                *typed[1:]]
    try:
        quiet = True if os.environ.get("MICROLOG_QUIET", "") == "" else None
        if microlog.start(label, quiet=quiet) is None:
            return
    finally:
        sys.argv = argv
    interactive = what_runs(argv, typed)[0] == "interactive"
    atexit.register(_stop, interactive)


def _stop(interactive: bool) -> None:
    """At exit: 1 after an uncaught exception (130 for Ctrl-C), else 0
    (an exit status given to sys.exit() cannot be seen from here)."""
    import microlog

    status = 0
    last = getattr(sys, "last_value", None)
    if last is not None and not interactive:
        status = 130 if isinstance(last, KeyboardInterrupt) else 1
    microlog.stop(status)
