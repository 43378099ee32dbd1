"""Fixtures of the export tests: two recordings of prog.py made the way a
user makes them (`python -m microlog LABEL prog.py`, MICROLOG_DIR set to
a temporary folder), the baseline and one where crunch() was made slower
on purpose; and helpers that run the installed `microlog` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

HERE = Path(__file__).resolve().parent
TIMEOUT = 60


def microlog_bin() -> str:
    explicit = os.environ.get("MICROLOG_BIN")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "microlog"
    if beside.exists():
        return str(beside)
    found = shutil.which("microlog")
    if found is None:
        pytest.fail("the microlog command is not installed")
    return found


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`microlog ARGS...`, its output as bytes."""
    p = subprocess.run([microlog_bin(), *args], capture_output=True,
                       timeout=TIMEOUT)
    if check and p.returncode != 0:
        raise AssertionError(f"microlog {' '.join(args)}: exit "
                             f"{p.returncode}: {p.stderr.decode()}")
    return p


def show(path: Path) -> dict:
    return json.loads(run("show", "--json", str(path)).stdout)


def record(folder: Path, label: str, slow: bool) -> Path:
    env = dict(os.environ, MICROLOG_DIR=str(folder))
    env.pop("MICROLOG_DISABLE", None)
    if slow:
        env["SLOW"] = "1"
    p = subprocess.run([sys.executable, "-m", "microlog", label,
                        str(HERE / "prog.py")], env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    runs: List[Path] = sorted((folder / label).glob("*.mlog"),
                              key=lambda f: f.stat().st_mtime)
    assert runs, f"no recording in {folder / label}"
    return runs[-1]


@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="session")
def baseline(folder: Path) -> Path:
    return record(folder, "prog", slow=False)


@pytest.fixture(scope="session")
def slowed(folder: Path, baseline: Path) -> Path:
    return record(folder, "prog", slow=True)


@pytest.fixture(scope="session")
def summary(baseline: Path) -> dict:
    return show(baseline)
