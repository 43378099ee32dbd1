"""speedscope through its real consumer: the file is checked against the
file-format schema the npm package ships, opened in the speedscope viewer
(the package's own build) in headless chromium, and the viewer's own
Sandwich table of functions is read back and compared with `microlog
show`. The file itself: evented profiles on the real time axis, running
and waiting told apart."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import HERE, run, show

VIEWER = HERE / "node_modules" / "speedscope" / "dist" / "release"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, slowed: Path) -> Path:
    out = tmp_path_factory.mktemp("speedscope") / "prog.speedscope.json"
    run("export", "--format", "speedscope", str(slowed), "-o", str(out))
    return out


@pytest.fixture(scope="module")
def viewed(exported: Path) -> dict:
    if not VIEWER.exists():
        pytest.fail("tests/export/node_modules has no speedscope: run "
                    "`npm ci` in tests/export (scripts/run-tests.sh does)")
    node = shutil.which("node")
    assert node, "node is not installed"
    shots = HERE.parents[1] / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([node, str(HERE / "speedscope_view.mjs"),
                        str(exported), str(shots / "speedscope.png")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def percent(cell: str) -> float:
    m = re.search(r"\(([<>]?)([\d.]+)%\)", cell)
    assert m, cell
    if m.group(1) == "<":
        return 0.0
    return 99.5 if m.group(1) == ">" else float(m.group(2))


def root_time(profile: dict) -> float:
    """Microseconds covered by the profile's outermost spans."""
    depth, start, total = 0, 0, 0
    for e in profile["events"]:
        if e["type"] == "O":
            if depth == 0:
                start = e["at"]
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                total += e["at"] - start
    return total


def test_valid_against_the_shipped_schema(viewed: dict):
    assert viewed["valid"], viewed["errors"]


def test_viewer_opens_it_without_errors(viewed: dict):
    errors = [c for c in viewed["console"]
              if c.startswith("pageerror") or "rror" in c]
    assert errors == []
    assert "Importing as speedscope json file" in viewed["console"]
    assert "MainThread (running)" in " ".join(viewed["toolbar"])


def self_times(profile: dict, frames: list) -> dict:
    """Self time per frame name of an evented profile, and its root time."""
    stack, out, last = [], {}, None
    for e in profile["events"]:
        if stack and last is not None:
            name = frames[stack[-1]]["name"]
            out[name] = out.get(name, 0) + e["at"] - last
        last = e["at"]
        if e["type"] == "O":
            stack.append(e["frame"])
        else:
            stack.pop()
    return out


def test_viewer_shows_the_top_functions_of_show(viewed: dict, slowed: Path,
                                                exported: Path):
    s = show(slowed)
    d = json.loads(exported.read_text())
    active = d["profiles"][d["activeProfileIndex"]]
    assert active["name"] == "MainThread (running)"
    own = self_times(active, d["shared"]["frames"])
    root = root_time(active)
    table = [r for r in viewed["table"] if "%" in r[0]]
    names = [r[2] for r in table]
    rows = {r[2]: (percent(r[0]), percent(r[1])) for r in table
            if names.count(r[2]) == 1}
    running = s["running_samples"]
    shown = [f["name"] for f in s["functions"]]
    checked = 0
    for f in s["functions"][:10]:
        if shown.count(f["name"]) > 1 or f["name"] not in rows:
            continue  # <module> of several files; other threads' functions
        total, self_ = rows[f["name"]]
        checked += 1
        # What the viewer shows is what the file says ...
        assert self_ == pytest.approx(100 * own.get(f["name"], 0) / root,
                                      abs=1)
        # ... and near microlog show's shares of samples: the file is on
        # the time axis, and time and samples part where the sampler
        # stalled (a busy machine).
        assert total == pytest.approx(100 * f["total"] / running, abs=15)
        assert self_ == pytest.approx(100 * f["self"] / running, abs=15)
    assert checked >= 4 and "crunch" in rows
    best = max(s["functions"], key=lambda f: f["self"])["name"]
    assert max(rows, key=lambda n: rows[n][1]) == best


def test_real_time_axis_running_and_waiting(exported: Path, slowed: Path):
    s = show(slowed)
    d = json.loads(exported.read_text())
    profiles = {p["name"]: p for p in d["profiles"]}
    assert {"MainThread", "MainThread (running)", "waiter"} <= set(profiles)
    for p in d["profiles"]:
        assert p["type"] == "evented" and p["unit"] == "microseconds"
        ats = [e["at"] for e in p["events"]]
        assert ats == sorted(ats)
        depth = 0
        for e in p["events"]:
            depth += 1 if e["type"] == "O" else -1
            assert depth >= 0
        assert depth == 0
    main = profiles["MainThread"]
    t = next(t for t in s["threads"] if t["name"] == "MainThread")
    assert main["startValue"] <= t["first_us"]
    assert t["last_us"] < main["endValue"] <= t["last_us"] + 4 * 1e4
    # The waiter sleeps 0.3 s: wall time in its profile, no running time.
    waiter = profiles["waiter"]
    assert waiter["endValue"] - waiter["startValue"] >= 0.28e6
    assert root_time(waiter) >= 0.28e6
    running = profiles.get("waiter (running)", {"events": []})
    assert root_time(running) < 0.02e6
    assert root_time(profiles["MainThread (running)"]) >= 0.9e6
    frames = d["shared"]["frames"]
    assert {"crunch", "steady", "waiter"} <= {f["name"] for f in frames}
    assert all(f["file"] and f["line"] >= 1 for f in frames
               if f["name"] == "crunch")
