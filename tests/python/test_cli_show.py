"""`microlog show` on recordings made by tests/tools/ml_gen.

ml_gen's header comment gives the exact counts asserted here. The binaries
are found through MICROLOG_BIN and ML_GEN, else the venv's `microlog` and
build/tests/tools/ml_gen under the repository root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _microlog_bin() -> str | None:
    env = os.environ.get("MICROLOG_BIN")
    if env:
        return env
    beside = Path(sys.executable).parent / "microlog"
    if beside.exists():
        return str(beside)
    return shutil.which("microlog")


def _ml_gen_bin() -> str | None:
    env = os.environ.get("ML_GEN")
    if env:
        return env
    path = REPO / "build" / "tests" / "tools" / "ml_gen"
    return str(path) if path.exists() else None


@pytest.fixture(scope="module")
def microlog() -> str:
    exe = _microlog_bin()
    if exe is None:
        pytest.skip("no microlog executable (set MICROLOG_BIN or install it)")
    return exe


@pytest.fixture(scope="module")
def ml_gen() -> str:
    exe = _ml_gen_bin()
    if exe is None:
        pytest.skip("no ml_gen: build it (make build) or set ML_GEN")
    return exe


def gen(ml_gen: str, path: Path, *args: str) -> Path:
    subprocess.run([ml_gen, str(path), *args], check=True)
    return path


def show(microlog: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [microlog, "show", *args], capture_output=True, text=True, timeout=60
    )


def show_json(microlog: str, path: Path) -> dict[str, Any]:
    p = show(microlog, "--json", str(path))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    data = json.loads(p.stdout)
    assert isinstance(data, dict)
    return data


def expected(threads: int, seconds: float, rate: int, split: int) -> dict[str, int]:
    """The counts documented in tests/tools/ml_gen.c."""
    k = int(seconds * rate + 0.5)
    step = max(1, rate // 10)
    events = -(-k // step)
    hot = k * split // 100
    worker_running = (k // 100) * 50 + min(k % 100, 50)
    return {
        "k": k,
        "interval": 1_000_000 // rate,
        "hot": hot,
        "cold": k - hot,
        "worker_running": worker_running,
        "status": 2 * events,
        "logs": events,
        "warnings": events // 5,
        "metrics": -(-k // (10 * step)),
        "running": k + (threads - 1) * worker_running,
    }


def function(data: dict[str, Any], name: str) -> dict[str, Any]:
    found = [f for f in data["functions"] if f["name"] == name]
    assert len(found) == 1, data["functions"]
    return found[0]


@pytest.fixture(scope="module")
def recording(ml_gen: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("show") / "run.mlog"
    return gen(ml_gen, path, "--threads", "3", "--seconds", "3", "--rate", "500",
               "--seed", "5", "--split", "70")


def test_json_exact_counts(microlog: str, recording: Path) -> None:
    data = show_json(microlog, recording)
    e = expected(threads=3, seconds=3, rate=500, split=70)
    for key in (
        "label", "duration_s", "threads", "samples", "interval_us",
        "status_records", "log_records", "metric_records", "span_records",
        "bytes", "chunks", "complete", "functions", "meta", "truncated_at",
    ):
        assert key in data, key
    assert data["label"] == "gen"
    assert data["complete"] is True
    assert data["truncated_at"] is None
    assert data["samples"] == 3 * e["k"]
    assert data["duration_s"] == pytest.approx(e["k"] * e["interval"] / 1e6)
    assert data["interval_us"] == pytest.approx(e["interval"])
    assert data["status_records"] == e["status"]
    assert data["log_records"] == e["logs"]
    assert data["metric_records"] == e["metrics"]
    assert data["span_records"] == e["metrics"]
    assert data["bytes"] == recording.stat().st_size
    assert data["chunks"] >= 3
    threads = data["threads"]
    assert [t["id"] for t in threads] == [1, 2, 3]
    assert [t["name"] for t in threads] == ["MainThread", "worker-1", "worker-2"]
    assert all(t["samples"] == e["k"] for t in threads)
    assert threads[0]["running"] == e["k"]
    assert threads[1]["running"] == threads[2]["running"] == e["worker_running"]
    assert all("native_id" in t for t in threads)


def test_json_meta(microlog: str, recording: Path) -> None:
    meta = show_json(microlog, recording)["meta"]
    assert meta["label"] == "gen"
    assert meta["python"] == "3.11.7"
    assert meta["sampler"] == "synthetic"
    assert meta["interval_us"] == 2000
    assert meta["argv"].startswith("ml_gen ")


def test_json_functions(microlog: str, recording: Path) -> None:
    data = show_json(microlog, recording)
    e = expected(threads=3, seconds=3, rate=500, split=70)
    hot, cold, main = (function(data, n) for n in ("hot", "cold", "main"))
    assert (hot["file"], hot["line"]) == ("work.py", 10)
    assert hot["self"] == hot["total"] == e["hot"]
    # Half the cold samples are cold > cold: recursion counts once.
    assert cold["self"] == cold["total"] == e["cold"]
    assert main["self"] == 0 and main["total"] == e["k"]
    share = 100 * hot["self"] / (hot["self"] + cold["self"])
    assert abs(share - 70) <= 0.1
    compute = function(data, "compute")
    assert compute["self"] == compute["total"] == 2 * e["worker_running"]
    totals = [f["total"] for f in data["functions"]]
    assert totals == sorted(totals, reverse=True)
    assert all(f["self"] <= f["total"] for f in data["functions"])


@pytest.mark.parametrize("split", [0, 33, 100])
def test_split(microlog: str, ml_gen: str, tmp_path: Path, split: int) -> None:
    path = gen(ml_gen, tmp_path / "s.mlog", "--threads", "1", "--split", str(split),
               "--seed", str(split + 1))
    data = show_json(microlog, path)
    k = expected(1, 2, 1000, split)["k"]
    selfs = {f["name"]: f["self"] for f in data["functions"]}
    assert selfs.get("hot", 0) == k * split // 100
    assert selfs.get("cold", 0) == k - k * split // 100


def test_human_output(microlog: str, recording: Path) -> None:
    p = show(microlog, str(recording))
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "gen" in out
    assert "3.11.7" in out
    assert "MainThread" in out and "worker-2" in out
    assert "synthetic" in out
    lines = out.splitlines()
    top = lines.index(next(line for line in lines if line.startswith("top ")))
    # The first function row after the header is the one with most samples.
    assert "main" in lines[top + 2] or "compute" in lines[top + 2]
    assert "hot" in out and "work.py:10" in out


def test_top_limits_functions(microlog: str, recording: Path) -> None:
    p = show(microlog, "--json", "--top", "2", str(recording))
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["functions"]) == 2


def test_truncated_tail(microlog: str, ml_gen: str, tmp_path: Path) -> None:
    path = gen(ml_gen, tmp_path / "t.mlog", "--truncate-last")
    p = show(microlog, "--json", str(path))
    assert p.returncode == 0, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0] and "warning" in lines[0]
    assert "recording ends inside a chunk at byte" in lines[0]
    data = json.loads(p.stdout)
    e = expected(4, 2, 1000, 70)
    assert data["complete"] is False
    assert isinstance(data["truncated_at"], int)
    assert 16 < data["truncated_at"] < path.stat().st_size
    assert data["samples"] == 4 * e["k"]
    assert data["log_records"] == e["logs"]
    assert data["duration_s"] == pytest.approx((e["k"] - 1) * e["interval"] / 1e6)
    p = show(microlog, str(path))
    assert p.returncode == 0 and "incomplete" in p.stdout


def _assert_malformed(microlog: str, path: Path) -> None:
    for args in ((str(path),), ("--json", str(path))):
        p = show(microlog, *args)
        assert p.returncode == 2, (p.stdout, p.stderr)
        assert p.stdout == ""
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert str(path) in lines[0] and "byte" in lines[0]


def test_garbage(microlog: str, tmp_path: Path) -> None:
    path = tmp_path / "garbage.mlog"
    path.write_bytes(bytes(range(256)) * 4)
    _assert_malformed(microlog, path)


def test_wrong_magic(microlog: str, recording: Path, tmp_path: Path) -> None:
    data = bytearray(recording.read_bytes())
    data[1] ^= 0xFF
    path = tmp_path / "magic.mlog"
    path.write_bytes(bytes(data))
    _assert_malformed(microlog, path)


@pytest.mark.parametrize("where", [0.3, 0.6, 0.9])
def test_flipped_byte_in_chunk(
    microlog: str, recording: Path, tmp_path: Path, where: float
) -> None:
    data = bytearray(recording.read_bytes())
    at = 16 + int((len(data) - 16) * where)
    data[at] ^= 0x10
    path = tmp_path / "flipped.mlog"
    path.write_bytes(bytes(data))
    _assert_malformed(microlog, path)


def test_missing_file(microlog: str, tmp_path: Path) -> None:
    path = tmp_path / "nope.mlog"
    p = show(microlog, str(path))
    assert p.returncode == 2
    assert p.stderr.strip() == f"microlog: {path}: No such file or directory"


def test_help(microlog: str) -> None:
    p = subprocess.run([microlog, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "show" in p.stdout
    p = subprocess.run([microlog, "help", "show"], capture_output=True, text=True)
    assert p.returncode == 0 and "--json" in p.stdout
    p = subprocess.run([microlog, "show", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--json" in p.stdout
    p = subprocess.run([microlog, "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("microlog ")


def test_usage_errors(microlog: str) -> None:
    p = subprocess.run([microlog, "frobnicate"], capture_output=True, text=True)
    assert p.returncode == 2 and "usage" in p.stderr
    p = subprocess.run([microlog], capture_output=True, text=True)
    assert p.returncode == 2 and "usage" in p.stderr
    p = show(microlog)
    assert p.returncode == 2
