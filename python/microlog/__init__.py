"""microlog: a continuous profiler and logger for Python.

microlog records what a Python program does (sampled call stacks of every
thread, CPU and memory status, logs with the stack that produced them, timed
function calls, metrics, errors) into a small, crash-safe recording, and
shows it in a browser (``microlog serve``).

    import microlog

    with microlog.enabled("my-label"):
        run_any_code()

or ``python -m microlog my-label script.py args...``. The recording work is
done in C by ``microlog._microlog``; this package is the thin layer over it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

from microlog._config import ConfigError
from microlog._microlog import FORMAT_VERSION
from microlog._recording import Recording, is_running, start, stop

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION",
    "ConfigError",
    "Recording",
    "__version__",
    "enabled",
    "is_running",
    "start",
    "stop",
]


@contextlib.contextmanager
def enabled(label: str = "default") -> Iterator[Optional[Path]]:
    """Records the body of the ``with`` statement as one run."""
    path = start(label)
    try:
        yield path
    finally:
        if path is not None:
            stop()
