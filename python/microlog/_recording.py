"""Starting and stopping recordings: where the file goes, what metadata it
carries, and the line printed when it ends. The sampling itself is C
(``microlog._microlog``)."""

from __future__ import annotations

import atexit
import os
import platform
import re
import shlex
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Union

from microlog import _config, _microlog

EXTENSION = ".mlog"


@dataclass(frozen=True)
class Recording:
    """What a finished recording holds, as returned by ``stop()``."""

    path: Path
    label: str
    duration_s: float
    bytes: int
    samples: int
    achieved_interval_us: float
    sampler: str

    @property
    def url(self) -> str:
        return viewer_url(_config.from_environment().server, self.path)


@dataclass
class _Active:
    path: Path
    label: str
    quiet: bool


# The recording in progress; changed only with the GIL held, by start/stop.
_active: Optional[_Active] = None


def safe_label(label: str) -> str:
    """The label as a single safe directory name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip(".-")
    return name[:100] or "default"


def new_path(directory: Path, label: str) -> Path:
    """A name no other run uses: time, then pid, then a counter."""
    folder = directory / safe_label(label)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S")
    return folder / f"{stamp}_{os.getpid()}{EXTENSION}"


def viewer_url(server: str, path: Path) -> str:
    return f"{server}/#{path.parent.name}/{path.name}"


def _metadata(label: str) -> Dict[str, Union[str, int]]:
    return {
        "label": label,
        "argv": shlex.join(sys.argv) if sys.argv else "",
        "python": platform.python_version(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "start_unix_ns": time.time_ns(),
        "cwd": os.getcwd(),
        "parent_run": os.environ.get("MICROLOG_PARENT_RUN", ""),
    }


def _open(config: _config.Config, label: str) -> Path:
    """Starts the C recorder on a fresh file; retries on a name clash."""
    base = new_path(config.directory, label)
    for attempt in range(1, 1000):
        path = base if attempt == 1 else base.with_name(
            f"{base.stem}_{attempt}{EXTENSION}")
        try:
            _microlog.start(
                str(path), interval=config.sample_delay,
                status_interval=config.status_delay,
                memory_interval=config.memory_delay,
                sampler=config.sampler, meta=_metadata(label))
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"microlog: no free file name next to {base}")


def start(label: str = "default") -> Optional[Path]:
    """Starts recording; returns the recording's path, or None when
    MICROLOG_DISABLE is set."""
    global _active
    if not isinstance(label, str):
        raise TypeError(f"microlog: label must be a str, not "
                        f"{type(label).__name__}")
    config = _config.from_environment()
    if config.disabled:
        return None
    if _active is not None or _microlog.is_running():
        raise RuntimeError(
            f"microlog: already recording {_active.path if _active else ''}"
            "; call microlog.stop() first")
    path = _open(config, label)
    _active = _Active(path, label, config.quiet)
    atexit.register(_stop_at_exit)
    return path


def stop(exit_status: int = 0) -> Optional[Recording]:
    """Stops the recording in progress and prints where to look at it.
    Returns None when nothing was recording."""
    global _active
    active, _active = _active, None
    if active is None:
        return None
    atexit.unregister(_stop_at_exit)
    figures = _microlog.stop(exit_status)
    if figures is None:  # a forked child: the parent owns the recording
        return None
    rec = Recording(active.path, active.label, figures["duration_s"],
                    figures["bytes"], figures["samples"],
                    figures["achieved_interval_us"], figures["sampler"])
    if not active.quiet:
        print_box(rec)
    return rec


def is_running() -> bool:
    return _active is not None and _microlog.is_running()


def _stop_at_exit() -> None:
    stop()


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def print_box(rec: Recording) -> None:
    """One boxed line on stderr: duration, size, label and the link."""
    text = (f"microlog: {rec.duration_s:.2f} s, {_size(rec.bytes)}, "
            f"{rec.label} → {rec.url}")
    bar = "━" * (len(text) + 2)
    try:
        sys.stderr.write(f"┏{bar}┓\n┃ {text} ┃\n┗{bar}┛\n")
        sys.stderr.flush()
    except (UnicodeEncodeError, ValueError, OSError):
        pass  # stderr closed or not UTF-8: the recording is still there
