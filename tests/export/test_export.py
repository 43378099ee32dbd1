"""`microlog export`: collapsed stacks, JSON and CSV against what the
recording holds (`microlog show --json`, the calls prog.py makes), and the
errors the issue asks for."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from conftest import run

FRAME = r"[^;]+ \([^;]*:\d+\)"
LINE = re.compile(rf"^{FRAME}(;{FRAME})* (\d+)$")


def collapsed(path: Path, *args: str) -> dict:
    out = run("export", "--format", "collapsed", *args, str(path)).stdout
    stacks = {}
    for line in out.decode().splitlines():
        m = LINE.match(line)
        assert m, f"not a folded stack line: {line!r}"
        stack, count = line.rsplit(" ", 1)
        stacks[stack] = stacks.get(stack, 0) + int(count)
    return stacks


def samples(path: Path) -> list:
    d = json.loads(run("export", "--format", "json", str(path)).stdout)
    return d["samples"]


def test_collapsed_counts_the_running_samples(baseline: Path,
                                              summary: dict):
    stacks = collapsed(baseline)
    # Samples of an empty stack (a thread outside Python code) have no
    # frames to fold.
    running = sum(s[4] for s in samples(baseline) if s[3] & 1 and s[2])
    assert sum(stacks.values()) == running
    assert running >= summary["running_samples"] - 5
    crunch = sum(n for s, n in stacks.items()
                 if s.split(";")[-1].startswith("crunch ("))
    f = next(f for f in summary["functions"] if f["name"] == "crunch")
    assert crunch == f["self"]
    main = sum(n for s, n in stacks.items() if s.startswith("<module> ("))
    assert main >= 0.9 * running


def test_collapsed_idle_adds_the_waiting_samples(baseline: Path,
                                                 summary: dict):
    idle = collapsed(baseline, "--idle")
    assert sum(idle.values()) == sum(s[4] for s in samples(baseline) if s[2])
    assert sum(idle.values()) > summary["running_samples"]
    waiter = collapsed(baseline, "--idle", "--thread", "waiter")
    # All but the samples of the thread's start and end are in waiter().
    inside = sum(n for s, n in waiter.items() if "waiter (" in s)
    assert inside >= 0.9 * sum(waiter.values())
    t = next(t for t in summary["threads"] if t["name"] == "waiter")
    assert sum(waiter.values()) == sum(s[4] for s in samples(baseline)
                                       if s[2] and s[0] == t["id"])


def test_range_keeps_the_samples_inside(baseline: Path, summary: dict):
    whole = sum(collapsed(baseline).values())
    half = summary["duration_s"] / 2
    first = sum(collapsed(baseline, "--to", str(half)).values())
    second = sum(collapsed(baseline, "--from", str(half)).values())
    assert first + second == whole
    assert 0 < first < whole


def test_json_is_the_whole_recording(baseline: Path, summary: dict):
    d = json.loads(run("export", "--format", "json", str(baseline)).stdout)
    assert d["format"] == "microlog-recording"
    assert d["meta"]["label"] == "prog"
    assert sum(s[4] for s in d["samples"]) == summary["samples"]
    running = sum(s[4] for s in d["samples"] if s[3] & 1)
    assert running == summary["running_samples"]
    assert len(d["logs"]) == summary["log_records"]
    assert len(d["spans"]) == summary["span_records"]
    assert len(d["values"]) == (summary["status_records"]
                                + summary["metric_records"])
    assert len(d["reports"]) == summary["report_records"]
    assert d["end"] == {"exit_status": 0} and d["lost"] is None
    frames = {f["id"]: f for f in d["frames"]}
    stacks = {s[0]: s for s in d["stacks"]}
    for s in d["samples"]:
        assert s[2] == 0 or s[2] in stacks
    for sid, parent, frame in d["stacks"]:
        assert parent == 0 or parent < sid
        assert frame in frames
    names = {t["name"] for t in d["threads"]}
    assert {"MainThread", "waiter"} <= names
    assert {s["name"] for s in d["series"]} >= {"items"}


def work_rows(rows):
    return [r for r in rows if r["function"] == "work"]


def test_csv_has_one_row_per_call(baseline: Path):
    out = run("export", "--format", "csv", str(baseline)).stdout.decode()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["time_s", "thread", "function", "file", "line",
                             "wall_s", "cpu_s", "memory_change_bytes",
                             "args", "call_id", "parent_call_id", "error"]
    work = work_rows(rows)
    assert len(work) == 6
    for i, r in enumerate(work):
        assert r["thread"] == "MainThread"
        assert r["file"].endswith("prog.py")
        assert json.loads(r["args"]) == {"args": [str(i)],
                                         "kwargs": {"name": f"item,{i}"}}
        assert 0.004 <= float(r["wall_s"]) < 0.5
        assert 0 < float(r["cpu_s"]) <= float(r["wall_s"])
        assert (r["error"] != "") == (i == 4)
    assert "ValueError: bad item, 4" in work[4]["error"]
    times = [float(r["time_s"]) for r in work]
    assert times == sorted(times)
    assert len({r["call_id"] for r in rows}) == len(rows)


def test_csv_aggregate_has_pymaap_columns(baseline: Path):
    calls = work_rows(csv.DictReader(io.StringIO(run(
        "export", "--format", "csv", str(baseline)).stdout.decode())))
    out = run("export", "--format", "csv", "--aggregate",
              str(baseline)).stdout.decode()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["function", "file", "line", "count", "sum_s",
                             "mean_s", "max_s", "cpu_mean_s",
                             "memory_change_mean_bytes"]
    (w,) = work_rows(rows)
    walls = [float(c["wall_s"]) for c in calls]
    assert int(w["count"]) == 6
    assert float(w["sum_s"]) == pytest.approx(sum(walls), rel=1e-6)
    assert float(w["mean_s"]) == pytest.approx(sum(walls) / 6, rel=1e-6)
    assert float(w["max_s"]) == pytest.approx(max(walls), rel=1e-6)
    cpu = sum(float(c["cpu_s"]) for c in calls) / 6
    assert float(w["cpu_mean_s"]) == pytest.approx(cpu, rel=1e-6)


@pytest.mark.parametrize("args, says", [
    (["--format", "svg"], "unknown format 'svg'"),
    (["--format", "pprof", "--thread", "nobody"], "no thread 'nobody'"),
    (["--format", "chrome", "--from", "9999"], "after the run's end"),
    (["--format", "csv", "--from", "0.3", "--to", "0.1"],
     "the range is empty"),
    (["--format", "json", "--to", "soon"], "--to needs seconds"),
    ([], "--format is needed"),
])
def test_bad_options_are_one_line_and_exit_2(baseline: Path, args, says):
    p = run("export", *args, str(baseline), check=False)
    assert p.returncode == 2
    err = p.stderr.decode()
    assert len(err.strip().splitlines()) == 1, err
    assert says in err
    assert p.stdout == b""


def test_not_a_recording_is_exit_2(tmp_path: Path):
    f = tmp_path / "x.mlog"
    f.write_bytes(b"hello")
    out = tmp_path / "out"
    p = run("export", "--format", "pprof", str(f), "-o", str(out),
            check=False)
    assert p.returncode == 2
    assert len(p.stderr.decode().strip().splitlines()) == 1
    assert not out.exists()


def test_cut_recording_exports_what_is_readable(tmp_path: Path,
                                                baseline: Path):
    data = baseline.read_bytes()
    cut = tmp_path / "cut.mlog"
    cut.write_bytes(data[: len(data) - 50])
    p = run("export", "--format", "json", str(cut), check=False)
    assert p.returncode == 0
    err = p.stderr.decode()
    assert "warning" in err and "ends inside a chunk" in err
    d = json.loads(p.stdout)
    assert "ends inside a chunk" in d["lost"]


def test_damaged_recording_exports_what_is_readable(tmp_path: Path,
                                                    slowed: Path):
    data = bytearray(slowed.read_bytes())
    # The last chunk's payload (the first holds only the run's metadata,
    # written at once): earlier chunks with samples stay readable.
    second = data.rfind(b"MLCK")
    assert second > data.find(b"MLCK", 16 + 4) > 0, "too few chunks"
    data[second + 40] ^= 0xFF
    bad = tmp_path / "bad.mlog"
    bad.write_bytes(bytes(data))
    p = run("export", "--format", "collapsed", "--idle", str(bad),
            check=False)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert len(err.strip().splitlines()) == 1
    assert f"damaged at byte {second}" in err and "not exported" in err
    assert sum(int(line.rsplit(" ", 1)[1])
               for line in p.stdout.decode().splitlines()) > 0
