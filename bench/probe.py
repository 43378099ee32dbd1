"""Runs one benchmark workload as its own __main__ and writes what it cost
to a JSON file: the bench's runner (bench.py), for the unprofiled and the
recorded runs alike, so both carry the same runner.

    python bench/probe.py OUT.json [--record LABEL] [--seconds S] SCRIPT

--record runs it as ``python -m microlog LABEL SCRIPT`` does (the same
entry point); without it the script runs alone. --seconds runs the script
again and again for at least S seconds (one recording: the steady-state
size of a long run).

Written: ``window_s``, the wall time of the script itself; ``program_cpu_s``,
the CPU time the process used meanwhile less that of microlog's own
threads, which are the threads that exist when the script starts (the
probe starts none) and the "microlog-metrics" thread if it started later,
read per thread from /proc/self/task/TID/schedstat (nanoseconds on CPU) at
start and just before the recording stops;
``microlog_cpu_s``, that of microlog's threads.
"""

from __future__ import annotations

import json
import os
import sys
import time


def _thread_cpu_ns() -> dict:
    """tid -> nanoseconds on CPU, for every thread of this process."""
    out = {}
    for name in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{name}/schedstat") as f:
                out[int(name)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return out


class Window:
    """CPU and wall time of the script, microlog's threads apart."""

    def __init__(self) -> None:
        self.t0 = self.cpu0 = 0.0
        self.others: dict = {}
        self.figures: dict = {}

    def begin(self) -> None:
        me = _thread_self()
        self.others = {t: v for t, v in _thread_cpu_ns().items() if t != me}
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()

    def end(self) -> None:
        if self.figures:
            return
        wall = time.perf_counter() - self.t0
        cpu = time.process_time() - self.cpu0
        now = _thread_cpu_ns()
        others = dict(self.others)
        # microlog's Python thread, when it started after the script did
        threading = sys.modules.get("threading")
        for t in threading.enumerate() if threading is not None else ():
            native = getattr(t, "native_id", None)
            if t.name.startswith("microlog") and native not in others:
                others[native] = 0
        ours = sum(max(0, now.get(t, v) - v) for t, v in others.items())
        self.figures = {"window_s": wall, "program_cpu_s": cpu - ours / 1e9,
                        "microlog_cpu_s": ours / 1e9,
                        "microlog_threads": len(others)}


def _thread_self() -> int:
    """The calling thread's kernel id ("PID/task/TID")."""
    return int(os.readlink("/proc/thread-self").rsplit("/", 1)[-1])


def _run_file(path: str, seconds: float) -> None:
    """Runs path as __main__ (again, in a fresh module, until seconds have
    passed)."""
    import types
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    end = time.perf_counter() + seconds
    while True:
        main = types.ModuleType("__main__")
        main.__file__ = path
        main.__builtins__ = __builtins__
        sys.modules["__main__"] = main
        exec(code, main.__dict__)
        if time.perf_counter() >= end:
            return


def main(argv: list) -> None:
    out, rest = argv[0], argv[1:]
    label = None
    seconds = 0.0
    while rest and rest[0].startswith("--"):
        if rest[0] == "--record":
            label, rest = rest[1], rest[2:]
        elif rest[0] == "--seconds":
            seconds, rest = float(rest[1]), rest[2:]
        else:
            raise SystemExit(f"probe: unknown option {rest[0]}")
    script = os.path.abspath(rest[0])
    window = Window()
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    try:
        if label is None:
            window.begin()
            _run_file(script, seconds)
            window.end()
        else:
            import microlog
            from microlog import __main__ as launcher
            stop = microlog.stop

            def run(script_path, module, args) -> None:
                window.begin()
                launcher._run_file = lambda p: _run_file(p, seconds)
                run_original(script_path, module, args)

            def stop_after_window(*args):
                window.end()
                return stop(*args)

            run_original = launcher._run
            launcher._run = run
            microlog.stop = stop_after_window
            launcher.main([label, script])
    finally:
        with open(out, "w") as f:
            json.dump(window.figures, f)


if __name__ == "__main__":
    main(sys.argv[1:])
