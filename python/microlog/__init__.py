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


class enabled:
    """Records the body of a ``with`` statement as one run::

        with microlog.enabled("label") as path:
            ...

    ``path`` is the recording's file, or None when MICROLOG_DISABLE is set.
    """

    def __init__(self, label: str = "default") -> None:
        self.label = label
        self.path = None

    def __enter__(self):
        self.path = start(self.label)
        return self.path

    def __exit__(self, *exc_info) -> None:
        if self.path is not None:
            stop()
