"""``microlog.load(path)``: a recording read from Python, for analysis with
pandas (or plain loops). There is no second decoder: every record comes
from the C reader, through the installed ``microlog`` command (``show
--json`` for the run's metadata, ``dump`` for the records, streamed one
JSON line at a time)::

    run = microlog.load("~/.microlog/train/2026_01_02_10_00_00_123.mlog")
    run.label, run.duration_s, run.threads
    for call in run.spans():
        print(call["name"], call["wall_ns"] / 1e9)
    df = run.spans().to_pandas()           # needs pandas
    df.to_parquet("calls.parquet")         # needs pyarrow too

docs/EXPORT.md lists the fields of each kind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

__all__ = ["Records", "Run", "load"]


def _command() -> str:
    beside = Path(sys.executable).parent / "microlog"
    if beside.exists():
        return str(beside)
    found = shutil.which("microlog")
    if found is None:
        raise FileNotFoundError("microlog.load: the microlog command is not "
                                "installed beside this Python")
    return found


class Records:
    """The records of one kind, read again from the file on every
    iteration (so memory stays small); ``to_pandas()`` makes a
    DataFrame of them."""

    def __init__(self, run: "Run", kinds: str,
                 keep: Callable[[Dict[str, Any]], Optional[Dict[str, Any]]]):
        self._run = run
        self._kinds = kinds
        self._keep = keep

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        proc = subprocess.Popen(
            [_command(), "dump", "--kind", self._kinds, self._run.path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                row = self._keep(json.loads(line))
                if row is not None:
                    yield row
        finally:
            proc.stdout.close()
            err = proc.stderr.read() if proc.stderr else ""
            status = proc.wait()
            if proc.stderr:
                proc.stderr.close()
        if status != 0:
            raise ValueError(f"microlog.load: {err.strip()}")

    def to_pandas(self):
        """A pandas DataFrame, one row per record."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError("to_pandas() needs pandas: pip install "
                              "pandas") from e
        return pandas.DataFrame.from_records(list(self))


class Run:
    """One recording: its metadata (from ``microlog show --json``) and
    iterators of its records."""

    def __init__(self, path: str, summary: Dict[str, Any]):
        self.path = path
        self.summary = summary
        self.meta: Dict[str, Any] = summary.get("meta", {})
        self.label: Optional[str] = summary.get("label")
        self.duration_s: float = summary.get("duration_s", 0.0)
        self.complete: bool = summary.get("complete", False)
        self.exit_status: Optional[int] = summary.get("exit_status")
        self.threads: List[Dict[str, Any]] = summary.get("threads", [])
        self._names = {t["id"]: t["name"] for t in self.threads}
        self._series: Dict[int, str] = {}

    def __repr__(self) -> str:
        return f"<microlog.Run {self.label!r} {self.path}>"

    def _named(self, row: Dict[str, Any]) -> Dict[str, Any]:
        row.pop("kind", None)
        if "thread" in row:
            row["thread_name"] = self._names.get(row["thread"], "")
        return row

    def samples(self) -> Records:
        """Runs of samples: thread, time_us, stack (``function
        (file:line)`` from the root), state bits, count, span_us; with
        ``running`` (state bit 0) as a bool."""
        def keep(r):
            r = self._named(r)
            r["running"] = bool(r["state"] & 1)
            return r
        return Records(self, "samples", keep)

    def spans(self) -> Records:
        """Calls of ``@microlog.timed`` functions."""
        return Records(self, "span", self._named)

    def logs(self) -> Records:
        """Log entries: level, source, thread, text, stack."""
        return Records(self, "log", self._named)

    def _values(self, cls: str) -> Records:
        classes: Dict[int, str] = {}

        def keep(r):
            if r["kind"] == "series":
                classes[r["id"]] = r["class"]
                return None
            if classes.get(r["series_id"]) != cls:
                return None
            return self._named(r)
        return Records(self, "series,value", keep)

    def status(self) -> Records:
        """Values of the status probes (cpu, rss, modules, ...)."""
        return self._values("status")

    def metrics(self) -> Records:
        """Values of ``microlog.metric`` series."""
        return self._values("metric")


def load(path: "str | os.PathLike[str]") -> Run:
    """Opens the recording at path. ValueError when it is not a readable
    recording (the reader's message says where it is damaged)."""
    p = os.path.expanduser(os.fspath(path))
    proc = subprocess.run([_command(), "show", "--json", p],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError(f"microlog.load: {proc.stderr.strip()}")
    return Run(p, json.loads(proc.stdout))
