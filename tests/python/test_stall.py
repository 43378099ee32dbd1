"""A slow disk and a stalled sampler must not hurt the program or lose the
recording: the writes wait in the writer thread (the program's Python
threads run on at their rate), nothing is lost once the disk is back, and
the one-second flush happens even while the sampler cannot run.

The slow disk is a test shim (shims/stall_write.c, LD_PRELOAD) that holds
every write() to a .mlog file while a flag file exists. The stalled sampler
is a real one: the fallback sampler needs the GIL, and the program holds it
in a C call (usleep through ctypes.PyDLL) for seconds."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Runner, microlog_bin

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def stall_shim(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler for the test shim")
    out = tmp_path_factory.mktemp("shim") / "stall_write.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(out),
                    str(HERE / "shims" / "stall_write.c"), "-ldl"],
                   check=True)
    return out


SLOW_DISK = """
    import json, os, sys, time
    import microlog

    flag = sys.argv[1]
    path = microlog.start("slow")

    def rate(seconds=0.2):
        n, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            n += 1
        return n / seconds

    def size():
        return os.path.getsize(path)

    before = [rate() for _ in range(8)]       # 1.6 s: chunks reach the disk
    open(flag, "w").close()                   # the disk stalls
    stall_start = time.time_ns()
    time.sleep(0.3)                           # a write is now held
    held_size = size()
    during = [rate() for _ in range(12)]      # 2.4 s of a stalled disk
    still_size = size()
    stall_end = time.time_ns()
    os.unlink(flag)                           # the disk is back
    after = [rate() for _ in range(4)]
    rec = microlog.stop()
    print(json.dumps({"before": before, "during": during, "after": after,
                      "held_size": held_size, "still_size": still_size,
                      "stall": [stall_start, stall_end],
                      "samples": rec.samples, "path": path}))
"""


def sample_times(runner: Runner, path) -> list:
    """(unix ns of each sample) from a recording's dump."""
    records = runner.dump(Path(path))
    start = next(r["value"] for r in records
                 if r.get("kind") == "meta" and r["key"] == "start_unix_ns")
    times = []
    for r in records:
        if r.get("kind") == "samples":
            first = r["time_us"]
            span = r.get("span_us", 0)
            n = r["count"]
            for i in range(n):
                t = first + (span * i // (n - 1) if n > 1 else 0)
                times.append(start + t * 1000)
    return times


def test_slow_disk_does_not_slow_the_program_nor_lose_samples(
        runner, stall_shim):
    flag = runner.tmp / "stall.flag"
    script = runner.script("slow.py", SLOW_DISK)
    env = runner.env(MICROLOG_QUIET="1", LD_PRELOAD=str(stall_shim),
                     STALL_FLAG=str(flag))
    out = runner.python([str(script), str(flag)], env=env)
    assert out.returncode == 0, out.stderr.decode()
    assert b"microlog:" not in out.stderr, out.stderr.decode()
    got = json.loads(out.stdout)
    # The stall was real: nothing reached the file while it lasted.
    assert got["still_size"] == got["held_size"]
    # The program's thread ran on: its loop rate during the stall is not
    # far below the rate before (a loaded machine moves both; the bound is
    # generous: a program waiting on the disk would drop to almost 0).
    before = statistics.median(got["before"])
    during = statistics.median(got["during"])
    print(f"loop rate before {before:.0f}/s, during the stall "
          f"{during:.0f}/s")
    assert during >= 0.5 * before
    # Nothing was lost: the file holds every sample taken, those of the
    # stall included.
    summary = runner.show(Path(got["path"]))
    assert summary["complete"]
    assert summary["samples"] == got["samples"]
    start, end = got["stall"]
    inside = [t for t in sample_times(runner, got["path"])
              if start <= t <= end]
    # The main thread alone is sampled about every millisecond; at least a
    # sample per 20 ms of the stall, whatever a busy machine allows.
    assert len(inside) >= (end - start) / 20e6, len(inside)


STALLED_SAMPLER = """
    import ctypes, json, sys, time
    import microlog

    path = microlog.start("stall")
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        pass
    stall_start = time.time_ns()
    print(json.dumps({"path": path, "stall_start": stall_start}),
          flush=True)
    # Holds the GIL for 4 s in C: the fallback sampler and the status
    # thread both wait for it.
    ctypes.PyDLL(None).usleep(4000000)
    stall_end = time.time_ns()
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        pass
    microlog.stop()
    print(json.dumps({"stall_end": stall_end}), flush=True)
"""


def test_stalled_sampler_still_gets_the_one_second_flush(runner):
    script = runner.script("stall.py", STALLED_SAMPLER)
    env = runner.env(MICROLOG_QUIET="1", MICROLOG_SAMPLER="fallback")
    proc = subprocess.Popen([sys.executable, str(script)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=runner.tmp)
    try:
        first = json.loads(proc.stdout.readline())
        # 2.5 s into the 4 s stall: the records made before it are older
        # than a second, so the writer thread must have flushed them.
        time.sleep(2.5)
        copy = runner.tmp / "during.mlog"
        shutil.copyfile(first["path"], copy)
        assert proc.poll() is None, "the stall ended too early to tell"
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    during = subprocess.run([microlog_bin(), "show", "--json", str(copy)],
                            capture_output=True, timeout=60)
    assert during.returncode == 0, during.stderr.decode()
    mid = json.loads(during.stdout)
    assert mid["samples"] > 0, mid
    # What the copy holds reaches to (nearly) the stall's start.
    times = sample_times(runner, copy)
    assert max(times) >= first["stall_start"] - 300e6
    # And the recording went on after the stall.
    stall_end = json.loads(rest.splitlines()[-1])["stall_end"]
    final = sample_times(runner, first["path"])
    assert any(t > stall_end for t in final)
    assert runner.show(Path(first["path"]))["complete"]
