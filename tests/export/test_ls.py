"""`microlog ls`: the runs under a folder, newest first."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import run


def test_table_lists_runs_newest_first(folder: Path, baseline: Path,
                                       slowed: Path):
    out = run("ls", "--dir", str(folder)).stdout.decode()
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["label", "start", "duration", "size",
                                    "state", "exit"]
    rows = [line for line in lines[1:] if line.startswith("prog ")]
    assert len(rows) == 2
    assert str(slowed) in rows[0] and str(baseline) in rows[1]
    for row in rows:
        assert " ended " in row and row.split()[-2] == "0"


def test_json_has_the_fields(folder: Path, baseline: Path, slowed: Path,
                             summary: dict):
    runs = json.loads(run("ls", "--dir", str(folder), "--json").stdout)
    by_file = {r["file"]: r for r in runs}
    r = by_file[str(baseline)]
    assert r["label"] == "prog"
    assert r["state"] == "ended" and r["exit_status"] == 0
    assert r["bytes"] == baseline.stat().st_size
    assert abs(r["duration_us"] / 1e6 - summary["duration_s"]) < 1e-3
    starts = [r["start_unix_ns"] for r in runs]
    assert starts == sorted(starts, reverse=True)


def test_default_folder_is_microlog_dir(folder: Path, baseline: Path,
                                        monkeypatch):
    monkeypatch.setenv("MICROLOG_DIR", str(folder))
    runs = json.loads(run("ls", "--json").stdout)
    assert str(baseline) in {r["file"] for r in runs}


def test_cut_and_damaged_runs_are_shown_as_such(tmp_path: Path,
                                                baseline: Path):
    d = tmp_path / "runs" / "cut"
    d.mkdir(parents=True)
    data = baseline.read_bytes()
    (d / "a.mlog").write_bytes(data[: len(data) - 40])
    (d / "b.mlog").write_bytes(b"not a recording at all")
    old = 1_000_000_000
    os.utime(d / "a.mlog", (old, old))
    runs = json.loads(run("ls", "--dir", str(tmp_path / "runs"),
                          "--json").stdout)
    states = {Path(r["file"]).name: r["state"] for r in runs}
    assert states == {"a.mlog": "incomplete", "b.mlog": "damaged"}
    shutil.rmtree(tmp_path / "runs")


def test_missing_folder_is_exit_2(tmp_path: Path):
    p = run("ls", "--dir", str(tmp_path / "nowhere"), check=False)
    assert p.returncode == 2
    assert len(p.stderr.decode().strip().splitlines()) == 1
