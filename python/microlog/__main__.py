"""``python -m microlog LABEL script.py [args]`` and
``python -m microlog LABEL -m module [args]``: run a program exactly as
``python script.py`` (or ``python -m module``) would, while recording it.

argv, ``__main__``, ``sys.path[0]``, output and the exit status are the
program's own; an uncaught exception prints the program's traceback without
microlog's frames.
"""

from __future__ import annotations

import os
import runpy
import sys

import microlog
from microlog import _microlog

USAGE = """\
usage: python -m microlog LABEL script.py [args ...]
       python -m microlog LABEL -m module [args ...]

Runs the program while recording it under LABEL, then prints where to see
the recording (microlog serve). Environment: MICROLOG_DIR (default
~/.microlog), MICROLOG_SAMPLE_DELAY (seconds, default 0.001),
MICROLOG_STATUS_DELAY (0.1), MICROLOG_MEMORY_DELAY (1.0),
MICROLOG_DISABLE=true (run without recording), MICROLOG_QUIET=true.
"""


def _usage_error(message: str) -> NoReturn:
    sys.stderr.write(f"microlog: {message}\n{USAGE}")
    sys.exit(2)


def _parse(argv: list) -> tuple:
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        sys.exit(0)
    if len(argv) == 1 and argv[0] in ("install", "uninstall"):
        _usage_error(f"the start-up hook is `microlog {argv[0]}` (or "
                     f"python -m microlog.autorecord {argv[0]})")
    if len(argv) < 2:
        _usage_error("a LABEL and a script or -m module are needed")
    label, rest = argv[0], argv[1:]
    if rest[0] == "-m":
        if len(rest) < 2:
            _usage_error("-m needs a module name")
        return label, None, rest[1], rest[2:]
    return label, rest[0], None, rest[1:]


def _program_traceback(tb: TracebackType | None) -> (
        TracebackType | None):
    """The traceback from the program's first frame on."""
    ours = set(_launcher_codes())
    while tb is not None and tb.tb_frame.f_code in ours:
        tb = tb.tb_next
    return tb


def _print_exception(e: BaseException) -> None:
    """Prints e as the interpreter would for the program alone (the
    interpreter's printer reads e.__traceback__, so that is trimmed)."""
    tb = _program_traceback(e.__traceback__)
    sys.excepthook(type(e), e.with_traceback(tb), tb)


def _join_threads() -> None:
    """Waits for non-daemon threads, as the interpreter does at exit, so
    the recording covers them."""
    threading = sys.modules.get("threading")
    if threading is None:  # the program started no threads
        return
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def _launcher_codes() -> list:
    """Code objects of the frames between the interpreter and the program:
    this module's and runpy's. Stacks are recorded from the program's first
    frame on, as ``python script.py`` would show them."""
    codes = []
    frame = sys._getframe(1)
    while frame is not None:
        codes.append(frame.f_code)
        frame = frame.f_back
    for func in (main, _run, _run_file):
        codes.append(func.__code__)
    for name in ("run_path", "run_module", "_run_module_code", "_run_code",
                 "_run_module_as_main"):
        func = getattr(runpy, name, None)
        if func is not None:
            codes.append(func.__code__)
    return codes


def _run(script: str | None, module: str | None,
         args: list) -> None:
    _microlog.hide_root_frames(_launcher_codes())
    if module is not None:
        sys.argv = [module, *args]  # run_module puts the file name in [0]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    assert script is not None
    if not os.path.exists(script):
        sys.stderr.write(f"{sys.executable}: can't open file "
                         f"{os.path.abspath(script)!r}: [Errno 2] No such "
                         "file or directory\n")
        sys.exit(2)
    sys.argv = [script, *args]
    path = os.path.abspath(script)
    sys.path[0] = os.path.dirname(path)
    if os.path.isfile(path) and not path.endswith((".pyz", ".zip")):
        _run_file(path)
    else:  # a directory or zip archive with a __main__.py
        runpy.run_path(path, run_name="__main__")


def _run_file(path: str) -> None:
    """Runs a source file as the __main__ module, as the interpreter does
    for ``python path`` (runpy.run_path would import pkgutil and friends:
    10-20 ms of start-up for nothing)."""
    import builtins
    import types

    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__cached__ = None
    main.__builtins__ = builtins
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec", dont_inherit=True)
    # The program's module stays __main__ afterwards, for atexit handlers
    # and pickling, as with plain python.
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def main(argv: list) -> None:
    label, script, module, args = _parse(argv)
    # The recording's command line is the one the user typed.
    sys.argv = [os.path.basename(sys.executable), "-m", "microlog", *argv]
    try:
        microlog.start(label)
    except (microlog.ConfigError, OSError, RuntimeError) as e:
        sys.stderr.write(f"{e}\n")
        sys.exit(2)
    try:
        _run(script, module, args)
        _join_threads()
    except SystemExit as e:
        _join_threads()
        microlog.stop(_exit_code(e))
        raise
    except KeyboardInterrupt as e:
        _print_exception(e)  # through the hooks: the recording logs it
        microlog.stop(130)
        # Die of SIGINT as an interrupted python does.
        import signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        sys.exit(130)
    except BaseException as e:
        _print_exception(e)
        microlog.stop(1)
        sys.exit(1)
    microlog.stop(0)


if __name__ == "__main__":
    main(sys.argv[1:])
