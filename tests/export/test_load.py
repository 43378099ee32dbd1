"""``microlog.load()``: a recording read from Python through the C reader
(the installed command), against ``microlog show --json`` and the calls
prog.py makes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import microlog
from conftest import show


def test_metadata(baseline: Path):
    run = microlog.load(baseline)
    s = show(baseline)
    assert run.label == "prog" and run.complete and run.exit_status == 0
    assert run.duration_s == s["duration_s"]
    assert run.meta["label"] == "prog"
    assert [t["name"] for t in run.threads] == [t["name"]
                                                for t in s["threads"]]


def test_records(baseline: Path):
    run = microlog.load(str(baseline))
    s = show(baseline)
    samples = list(run.samples())
    assert sum(r["count"] for r in samples) == s["samples"]
    assert sum(r["count"] for r in samples if r["running"]) == \
        s["running_samples"]
    assert any(r["stack"] and r["stack"][-1].startswith("crunch (")
               for r in samples)
    work = [c for c in run.spans() if c["name"] == "work"]
    assert len(work) == 6 and work[4]["exception"].startswith("ValueError")
    assert all(c["thread_name"] == "MainThread" for c in work)
    logs = list(run.logs())
    assert len(logs) == s["log_records"]
    assert "work failed" in {l["text"] for l in logs}
    status = list(run.status())
    assert len(status) == s["status_records"]
    assert {"cpu", "rss"} <= {v["series"] for v in status}
    metrics = list(run.metrics())
    assert len(metrics) == s["metric_records"]
    assert "items" in {v["series"] for v in metrics}


def test_damaged_file_is_an_error(tmp_path: Path):
    f = tmp_path / "x.mlog"
    f.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="x.mlog"):
        microlog.load(f)


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None,
                    reason="pandas is not installed")
def test_to_pandas(baseline: Path):
    df = microlog.load(baseline).spans().to_pandas()
    assert (df["name"] == "work").sum() == 6
    assert {"wall_ns", "cpu_ns", "args", "thread_name"} <= set(df.columns)
