"""`microlog report`: the text on stdout and the HTML page's figures
against `microlog show --json` and the CSV export; the page opened from
disk in headless chromium with the network refused (a full-page
screenshot lands in build/screenshots/report.png)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import HERE, run, show


@pytest.fixture(scope="module")
def made(tmp_path_factory, baseline: Path, slowed: Path):
    out = tmp_path_factory.mktemp("report")
    p = run("report", "-o", str(out), "--baseline", str(baseline),
            str(slowed))
    page = out / (slowed.name[: -len(".mlog")] + ".html")
    assert page.exists()
    return p.stdout.decode(), page


@pytest.fixture(scope="module")
def viewed(made) -> dict:
    shots = HERE.parents[1] / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([shutil.which("node"), str(HERE / "report_view.mjs"),
                        str(made[1]), str(shots / "report.png")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


def test_self_contained(made, viewed):
    html = made[1].read_text()
    assert "<script" not in html and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", "")
    assert viewed["requests"] == [] and viewed["errors"] == []


def test_charts_are_drawn(viewed):
    titles = [c["title"] for c in viewed["charts"]]
    for want in ("Top 10 functions by total time", "Wall time per function",
                 "Calls over time", "Memory change per call",
                 "Durations of work", "CPU over time",
                 "Memory (RSS) over time", "Thread states",
                 "Change in self time against the baseline"):
        assert any(t.startswith(want) for t in titles), (want, titles)
    for c in viewed["charts"]:
        assert c["width"] > 500 and c["height"] > 50 and c["marks"] > 2, c


def test_functions_match_show(made, viewed, slowed: Path):
    s = show(slowed)
    running = s["running_samples"]
    rows = viewed["tables"]["by-total"][1:]
    for row, f in zip(rows, s["functions"]):
        assert row[:3] == [pct(f["total"], running), pct(f["self"], running),
                           f["name"]]
    assert len(rows) == min(15, len(s["functions"]))
    top_self = max(s["functions"], key=lambda f: f["self"])
    assert viewed["tables"]["by-self"][1][2] == top_self["name"]
    text = made[0]
    f = s["functions"][0]
    assert (f"{pct(f['total'], running):>7} {pct(f['self'], running):>7}  "
            f"{f['name']}") in text


def test_threads_logs_and_errors_match_show(made, viewed, slowed: Path):
    s = show(slowed)
    threads = {r[1]: r for r in viewed["tables"]["threads"][1:]}
    for t in s["threads"]:
        waiting = t["samples"] - t["running"] - t["gil_wait"] - t["unknown"]
        assert threads[t["name"]][2:6] == [
            str(t["samples"]), pct(t["running"], t["samples"]),
            pct(waiting, t["samples"]), pct(t["gil_wait"], t["samples"])]
    levels = viewed["tables"]["levels"]
    counts = dict(zip(levels[0], levels[1]))
    for name, n in s["log_levels"].items():
        assert counts[name] == str(n)
    assert counts["all"] == str(s["log_records"])
    (stack,) = viewed["errors_shown"]
    assert "main (" in stack and "prog.py" in stack
    assert "error at" in made[0] and "work failed" in made[0]


def test_timed_functions_match_the_csv(viewed, slowed: Path):
    out = run("export", "--format", "csv", "--aggregate",
              str(slowed)).stdout.decode()
    agg = {r["function"]: r for r in csv.DictReader(io.StringIO(out))}
    rows = viewed["tables"]["timed"][1:]
    assert [r[0] for r in rows] == list(agg)
    for r in rows:
        a = agg[r[0]]
        assert r[1] == a["count"]
        assert float(r[2]) == pytest.approx(float(a["sum_s"]), abs=1e-6)
        assert float(r[4]) == pytest.approx(float(a["max_s"]), abs=1e-6)
    assert viewed["tables"]["anomalies"][0][0] == "function"


def test_status_and_baseline(made, viewed):
    status = {r[0]: r[1] for r in viewed["tables"]["status"]}
    assert status["CPU"].startswith("mean ")
    assert status["memory peak"].endswith("MiB (RSS)")
    base = viewed["tables"]["baseline"]
    assert base[1][2] == "crunch" and base[1][0].startswith("+")
    assert any(r[1] == "new" and r[2] == "extra" for r in base)
    assert "compared with the baseline" in made[0]


def test_errors(tmp_path: Path, baseline: Path):
    p = run("report", str(tmp_path / "none.mlog"), check=False)
    assert p.returncode == 2
    p = run("report", "-o", str(tmp_path / "nodir"), str(baseline),
            check=False)
    assert p.returncode == 2
    assert len(p.stderr.decode().strip().splitlines()) == 1
