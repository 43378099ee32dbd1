"""pprof through its real consumer: `go tool pprof -top` shows the top
functions and shares `microlog show` shows; wall time and the thread and
state labels are there too."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run, show

ROW = re.compile(r"^\s*([\d.]+\w*)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+\w*)"
                 r"\s+([\d.]+)%\s+(.+?)\s*$")


def go() -> str:
    g = shutil.which("go")
    if g is None:
        pytest.fail("go is not installed (these machines have it)")
    return g


def pprof(profile: Path, *args: str) -> str:
    p = subprocess.run([go(), "tool", "pprof", *args, str(profile)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def top(profile: Path, *args: str) -> dict:
    rows = {}
    for line in pprof(profile, "-top", "-nodefraction=0", "-nodecount=1000",
                      *args).splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(6)] = (float(m.group(2)), float(m.group(5)))
    assert rows, "pprof printed no rows"
    return rows


@pytest.fixture(scope="module")
def profile(tmp_path_factory, slowed: Path) -> Path:
    out = tmp_path_factory.mktemp("pprof") / "prog.pb.gz"
    run("export", "--format", "pprof", str(slowed), "-o", str(out))
    return out


def test_is_gzipped_protobuf(profile: Path):
    data = profile.read_bytes()
    assert data[:2] == b"\x1f\x8b"
    assert gzip.decompress(data)[:1] == b"\x0a"  # field 1, sample_type


def test_top_matches_show(profile: Path, slowed: Path):
    s = show(slowed)
    rows = top(profile)
    running = s["running_samples"]
    shown = 0
    for f in s["functions"][:10]:
        name = f["name"]
        if sum(g["name"] == name for g in s["functions"]) > 1:
            continue  # pprof gets "name (file:line)" for these
        assert name in rows, f"{name} missing from pprof -top: {rows}"
        flat, cum = rows[name]
        assert flat == pytest.approx(100 * f["self"] / running, abs=0.06)
        assert cum == pytest.approx(100 * f["total"] / running, abs=0.06)
        shown += 1
    assert shown >= 5
    # The same order: the function with most self time leads both.
    best = max(s["functions"], key=lambda f: f["self"])["name"]
    assert max(rows, key=lambda n: rows[n][0]) == best


def test_header_says_cpu_and_the_total(profile: Path, slowed: Path):
    s = show(slowed)
    out = pprof(profile, "-top", "-nodecount=1")
    assert "Type: cpu" in out
    m = re.search(r"Total samples = ([\d.]+)(ms|s)", out)
    total_s = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    # Each sample weighs the run's achieved interval (the sampler's own
    # measure, written at stop).
    interval = s["meta"].get("achieved_interval_us", s["interval_us"])
    expect = s["running_samples"] * interval / 1e6
    assert total_s == pytest.approx(expect, rel=0.01)


def test_wall_counts_waiting_too(profile: Path, slowed: Path):
    rows = top(profile, "-sample_index=wall")
    # It sleeps 0.3 s of a run of 1.4 s (longer on a busy machine): wall
    # time, hardly any cpu.
    assert rows["waiter"][1] > 2
    assert top(profile).get("waiter", (0, 0))[1] < 1


def test_thread_and_state_labels(profile: Path):
    out = pprof(profile, "-tags", "-sample_index=samples")
    assert re.search(r"thread:.*MainThread", out, re.S)
    assert "waiter" in out
    assert re.search(r"state:.*running", out, re.S)
    assert "waiting" in out
