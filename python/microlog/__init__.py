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

from microlog import (_capture, _children, _metrics, _recording, _reports,
                      _threads)
from microlog._config import ConfigError
from microlog._microlog import FORMAT_VERSION
from microlog._recording import Recording, is_running, start, stop
from microlog._metrics import metric
from microlog._timed import catch_errors, span, timed

_recording.register(_capture.Capture())
_recording.register(_children.ChildRuns())
_recording.register(_threads.ThreadNames())
_recording.register(_threads.ForkWarning())
# Reports before Metrics: reports then stop after the sampling thread is gone.
_recording.register(_reports.Reports())
_recording.register(_metrics.Metrics())

__version__ = "0.1.0"

__all__ = [
    "FORMAT_VERSION",
    "ConfigError",
    "Recording",
    "__version__",
    "catch_errors",
    "debug",
    "enabled",
    "error",
    "info",
    "is_running",
    "metric",
    "span",
    "start",
    "stop",
    "timed",
    "warning",
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


def debug(*args: object) -> None:
    """Adds a debug entry to the recording's log, with the caller's stack.
    Arguments are joined by spaces, like print(); Markdown is fine."""
    _capture.api_log(_capture.DEBUG, args)


def info(*args: object) -> None:
    """Adds an info entry to the recording's log (see debug())."""
    _capture.api_log(_capture.INFO, args)


def warning(*args: object) -> None:
    """Adds a warning entry to the recording's log (see debug())."""
    _capture.api_log(_capture.WARNING, args)


def error(*args: object) -> None:
    """Adds an error entry to the recording's log (see debug())."""
    _capture.api_log(_capture.ERROR, args)


def load(path):
    """Reads a recording (microlog._load.load): imported on first use, so
    that recording a program never pays for json, subprocess and pathlib
    (12 ms of start-up)."""
    from microlog._load import load as _load_recording
    return _load_recording(path)
