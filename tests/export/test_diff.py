"""`microlog diff` on two runs of prog.py, the second with crunch() made
six times slower on purpose and extra() run only there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run


@pytest.fixture(scope="module")
def diff(baseline: Path, slowed: Path) -> dict:
    return json.loads(run("diff", "--json", str(baseline),
                          str(slowed)).stdout)


def test_the_slowed_function_leads(diff: dict):
    first = diff["functions"][0]
    assert first["name"] == "crunch"
    # 0.15 s -> 0.9 s of CPU time of its own (more wall time, and so
    # more samples, on a busy machine).
    assert 0.5 <= first["self_change_s"] <= diff["duration_change_s"] * 1.1
    assert first["share_change"] > 10  # about 34 on an idle machine
    steady = next(f for f in diff["functions"] if f["name"] == "steady")
    # The same work in both runs: a small change (samples on a busy
    # machine), far below the slowed function's.
    assert abs(steady["self_change_s"]) < 0.3 * first["self_change_s"]
    assert steady["share_change"] < 0
    effects = [abs(f["self_change_s"]) for f in diff["functions"]]
    assert effects == sorted(effects, reverse=True)


def test_total_time_and_one_sided_functions(diff: dict):
    assert diff["duration_change_s"] >= 0.5
    assert diff["b"]["duration_s"] > diff["a"]["duration_s"]
    only_b = [f["name"] for f in diff["only_in_b"]]
    assert "extra" in only_b
    assert "extra" not in [f["name"] for f in diff["functions"]]
    extra = next(f for f in diff["only_in_b"] if f["name"] == "extra")
    assert extra["share_a"] is None and extra["self_b_s"] > 0.02


def test_text(baseline: Path, slowed: Path):
    out = run("diff", str(baseline), str(slowed)).stdout.decode()
    assert "total time" in out
    lines = out.splitlines()
    head = lines.index(next(x for x in lines if x.startswith("functions")))
    assert "crunch" in lines[head + 2]
    assert "only in B" in out and "extra" in out.split("only in B")[1]


def test_the_same_run_has_no_change(baseline: Path):
    d = json.loads(run("diff", "--json", str(baseline),
                       str(baseline)).stdout)
    assert d["duration_change_s"] == 0
    assert all(f["self_change_s"] == 0 for f in d["functions"])
    assert d["only_in_a"] == [] and d["only_in_b"] == []


def test_errors(baseline: Path, tmp_path: Path):
    p = run("diff", str(baseline), check=False)
    assert p.returncode == 2
    p = run("diff", str(baseline), str(tmp_path / "none.mlog"), check=False)
    assert p.returncode == 2
    assert len(p.stderr.decode().strip().splitlines()) == 1
