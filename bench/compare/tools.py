"""One adapter per profiler: how to install it, how to run a script under
it at a comparable setting, and how to read its own output back.

Every adapter's `parse` returns a Parsed: the samples it holds per thread
(with the time they cover), the size of everything it wrote, and the
inclusive time it gives each function (for the attribution error).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import mojo

HERE = Path(__file__).resolve().parent


class ToolError(Exception):
    """The run or its output is unusable; the message says why."""


@dataclass
class ThreadSamples:
    name: str
    samples: int
    seconds: float  # time the samples of this thread cover
    lower_bound: bool = False


@dataclass
class Parsed:
    out_bytes: int
    samples: Optional[int] = None  # None: deterministic tracer
    threads: List[ThreadSamples] = field(default_factory=list)
    inclusive: Dict[str, float] = field(default_factory=dict)


@dataclass
class Ctx:
    """Where a run happens: interpreters and a fresh scratch directory."""
    project_python: str  # .venv/bin/python (microlog)
    peer_bin: Path  # build/compare-venv/bin
    micrologai_bin: Path  # build/compare-venv-micrologai/bin
    microlog_cli: str
    outdir: Path
    wall: float = 0.0  # wall time of the profiled run (set after it)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def need(path: Path) -> Path:
    if not path.is_file() or path.stat().st_size == 0:
        raise ToolError(f"no output ({path.name} missing or empty)")
    return path


class Tool:
    name = ""
    venv = "peers"  # "peers", "micrologai" or "project"
    packages: List[str] = []
    setting = ""
    deterministic = False

    def command(self, ctx: Ctx, script: Path) -> Tuple[List[str], Dict]:
        raise NotImplementedError

    def parse(self, ctx: Ctx) -> Parsed:
        raise NotImplementedError

    def check(self, bin_dir: Path) -> Optional[str]:
        """None if the installed tool runs here, else why not."""
        return None


def inclusive_from_stacks(stacks, weight) -> Dict[str, float]:
    """Inclusive weight per function name (each name once per stack)."""
    out: Dict[str, float] = collections.defaultdict(float)
    for frames, w in zip(stacks, weight):
        for name in set(frames):
            out[name] += w
    return dict(out)


class Microlog(Tool):
    name = "microlog"
    venv = "project"
    setting = "MICROLOG_SAMPLE_DELAY=0.001 (1 kHz), native sampler"

    def command(self, ctx, script):
        env = {"MICROLOG_DIR": str(ctx.outdir / "rec"), "MICROLOG_QUIET": "1",
               "MICROLOG_SAMPLE_DELAY": "0.001"}
        return [ctx.project_python, "-m", "microlog", "bench",
                str(script)], env

    def parse(self, ctx):
        recs = list((ctx.outdir / "rec").rglob("*.mlog"))
        if len(recs) != 1:
            raise ToolError(f"{len(recs)} recordings")
        out = subprocess.run([ctx.microlog_cli, "show", "--json",
                              str(recs[0])], capture_output=True)
        if out.returncode != 0:
            raise ToolError("microlog show: " + out.stderr.decode()[-200:])
        s = json.loads(out.stdout)
        threads = [ThreadSamples(t["name"], t["samples"],
                                 (t["last_us"] - t["first_us"]) / 1e6)
                   for t in s["threads"]]
        inclusive = collections.defaultdict(float)
        for f in s["functions"]:
            inclusive[f["name"]] += f["total"]
        return Parsed(dir_bytes(ctx.outdir / "rec"), s["samples"], threads,
                      dict(inclusive))


class PySpy(Tool):
    name = "py-spy"
    packages = ["py-spy"]
    setting = ("py-spy record --rate 1000 --idle --threads --format raw "
               "(blocking: pauses the target per sample, its default)")

    def command(self, ctx, script):
        return [str(ctx.peer_bin / "py-spy"), "record", "--rate", "1000",
                "--idle", "--threads", "--format", "raw", "-o",
                str(ctx.outdir / "out.txt"), "--",
                str(ctx.peer_bin / "python"), str(script)], {}

    def parse(self, ctx):
        path = need(ctx.outdir / "out.txt")
        per_thread = collections.Counter()
        stacks, weights = [], []
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            frames = stack.split(";")
            n = int(count)
            thread = frames[0] if frames[0].startswith("thread") else "?"
            per_thread[thread] += n
            stacks.append([f.split(" (", 1)[0] for f in frames[1:]])
            weights.append(n)
        # py-spy's raw output has no thread lifetimes: use the run's wall.
        threads = [ThreadSamples(t, n, ctx.wall) for t, n in
                   per_thread.items()]
        return Parsed(dir_bytes(ctx.outdir), sum(weights), threads,
                      inclusive_from_stacks(stacks, weights))


def _from_mojo(ctx, path: Path, skip_thread: str = "") -> Parsed:
    m = mojo.decode(need(path).read_bytes())
    per_thread = collections.defaultdict(lambda: [0, 0])
    stacks, weights = [], []
    group_key, group = None, set()
    for s in m.samples:
        if skip_thread and s.thread == skip_thread:
            continue
        t = per_thread[(s.pid, s.thread)]
        # echion writes one stack per asyncio task in a sampling pass, all
        # with the pass's time metric: one sample of the thread, not many.
        stack = tuple(s.frames)
        key = (s.pid, s.thread, s.time)
        is_task = any(f[0] == "" and f[1].startswith("Task-")
                      for f in s.frames)
        if is_task and key == group_key and stack not in group:
            group.add(stack)
        else:
            group_key, group = (key if is_task else None), {stack}
            t[0] += 1
            t[1] += s.time
        stacks.append([f[1].rsplit(".", 1)[-1] for f in s.frames])
        weights.append(s.time)
    # A thread's time metrics add up to the time its samples cover; a
    # stray huge metric (seen with echion) is capped by the run's wall.
    threads = [ThreadSamples(str(k[1]), n, min(us / 1e6, ctx.wall))
               for k, (n, us) in per_thread.items()]
    return Parsed(dir_bytes(ctx.outdir), sum(t.samples for t in threads),
                  threads, inclusive_from_stacks(stacks, weights))


class Austin(Tool):
    name = "austin"
    packages = ["austin-dist"]
    # austin-dist 4.0.0's binary needs GLIBC 2.38; older releases are
    # tried in order (all from PyPI) until one runs here.
    fallbacks = ["austin-dist==3.7.0"]
    setting = "austin -i 1ms -b (MOJO binary output), wall-time mode"

    def check(self, bin_dir):
        try:
            out = subprocess.run([str(bin_dir / "austin"), "-V"],
                                 capture_output=True, timeout=30)
        except OSError as e:
            return str(e)
        if out.returncode != 0:
            return (out.stderr or out.stdout).decode(errors="replace") \
                .strip().splitlines()[-1][:160]
        return None

    def command(self, ctx, script):
        return [str(ctx.peer_bin / "austin"), "-i", "1ms", "-b", "-o",
                str(ctx.outdir / "out.mojo"), str(ctx.peer_bin / "python"),
                str(script)], {}

    def parse(self, ctx):
        # Each MOJO time metric is the wall time since that thread's
        # previous sample: their sum is the time the samples cover.
        return _from_mojo(ctx, ctx.outdir / "out.mojo")


class Echion(Tool):
    name = "echion"
    packages = ["echion"]
    setting = ("echion -i 1000 (us) -s (stealth: its own sampler thread not "
               "sampled), MOJO output, wall-time mode")

    def command(self, ctx, script):
        return [str(ctx.peer_bin / "echion"), "-i", "1000", "-s", "-o",
                str(ctx.outdir / "out.mojo"), str(ctx.peer_bin / "python"),
                str(script)], {}

    def parse(self, ctx):
        return _from_mojo(ctx, ctx.outdir / "out.mojo",
                          skip_thread="echion.core.sampler")


class Pyinstrument(Tool):
    name = "pyinstrument"
    packages = ["pyinstrument"]
    setting = ("pyinstrument -i 0.001 -r json (main thread only; samples "
               "on profiling events, its design)")

    def command(self, ctx, script):
        return [str(ctx.peer_bin / "pyinstrument"), "-i", "0.001", "-r",
                "json", "-o", str(ctx.outdir / "out.json"), str(script)], {}

    def parse(self, ctx):
        d = json.loads(need(ctx.outdir / "out.json").read_text())
        inclusive = collections.defaultdict(float)

        def walk(node, seen):
            name = node.get("function", "")
            if name not in seen:
                inclusive[name] += node.get("time", 0.0)
            for child in node.get("children", []):
                walk(child, seen | {name})

        if d.get("root_frame"):
            walk(d["root_frame"], frozenset())
        n = int(d.get("sample_count", 0))
        return Parsed(dir_bytes(ctx.outdir), n,
                      [ThreadSamples("MainThread", n, d.get("duration", 0))],
                      dict(inclusive))


class Yappi(Tool):
    name = "yappi"
    packages = ["yappi"]
    deterministic = True
    setting = ("deterministic; yappi defaults: CPU clock, all threads, no "
               "builtins; pstat output")

    def command(self, ctx, script):
        return [str(ctx.peer_bin / "yappi"), "-f", "pstat", "-o",
                str(ctx.outdir / "out.pstat"), str(script)], {}

    def parse(self, ctx):
        import marshal  # pstats files are a marshalled dict
        stats = marshal.loads(need(ctx.outdir / "out.pstat").read_bytes())
        inclusive = collections.defaultdict(float)
        for (_, _, func), (_, _, _, ct, _) in stats.items():
            inclusive[func.rsplit(".", 1)[-1]] += ct
        return Parsed(dir_bytes(ctx.outdir), None, [], dict(inclusive))


class Scalene(Tool):
    name = "scalene"
    packages = ["scalene"]
    setting = ("scalene run --cpu-only --cpu-sampling-rate 0.001 (signal "
               "sampling of the main thread, CPU time), JSON output")

    def command(self, ctx, script):
        return [str(ctx.peer_bin / "scalene"), "run", "--cpu-only",
                "--cpu-sampling-rate", "0.001", "-o",
                str(ctx.outdir / "out.json"), str(script)], {}

    def parse(self, ctx):
        d = json.loads(need(ctx.outdir / "out.json").read_text())
        # Its CPU samples of Python stacks (one per timer signal, taken on
        # the main thread); the async timeline repeats them per task.
        n = sum(s[1].get("count", 0) for s in d.get("stacks", []))
        seconds = d.get("elapsed_time_sec", ctx.wall)
        per_thread = {"MainThread (signals)": n}
        inclusive = collections.defaultdict(float)
        for f in d.get("files", {}).values():
            for fn in f.get("functions", []):
                inclusive[fn["line"]] += (fn.get("n_cpu_percent_python", 0)
                                          + fn.get("n_cpu_percent_c", 0)
                                          + fn.get("n_sys_percent", 0))
        return Parsed(dir_bytes(ctx.outdir), n,
                      [ThreadSamples(t, c, seconds)
                       for t, c in per_thread.items()], dict(inclusive))


class VizTracer(Tool):
    name = "viztracer"
    packages = ["viztracer"]
    deterministic = True
    setting = ("deterministic; viztracer defaults (1 M-entry circular "
               "buffer, C functions logged), JSON output")

    def command(self, ctx, script):
        return [str(ctx.peer_bin / "viztracer"), "--quiet", "-o",
                str(ctx.outdir / "out.json"), str(script)], {}

    def parse(self, ctx, want=("hot", "cold")):
        path = need(ctx.outdir / "out.json")
        inclusive = collections.defaultdict(float)
        if want:
            # 100+ MB of JSON: read in a separate process, so that this
            # harness stays small. Complete events ("X") of the functions
            # asked for.
            out = subprocess.run(
                [sys.executable, "-c", _VIZ_SUM, str(path), *want],
                capture_output=True, text=True)
            if out.returncode != 0:
                raise ToolError("viztracer JSON: " + out.stderr[-200:])
            inclusive.update(json.loads(out.stdout))
        return Parsed(dir_bytes(ctx.outdir), None, [], dict(inclusive))


_VIZ_SUM = """
import json, sys
want = set(sys.argv[2:])
total = dict.fromkeys(want, 0.0)
for e in json.load(open(sys.argv[1], "rb")).get("traceEvents", []):
    if e.get("ph") == "X":
        name = e.get("name", "").split(" (", 1)[0]
        if name in want:
            total[name] += e.get("dur", 0.0)
print(json.dumps(total))
"""


class Micrologai(Tool):
    name = "Microlog 1.x (micrologai)"
    venv = "micrologai"
    packages = ["micrologai"]
    setting = ("python -m microlog with MICROLOG_SAMPLE_DELAY=0.001 (its "
               "TRACER_SAMPLE_DELAY; default 0.05); a Python sampler thread")

    def command(self, ctx, script):
        home = ctx.outdir / "home"
        home.mkdir(exist_ok=True)
        # It saves to ~/microlog/<label>/<date>.zip; a private HOME keeps
        # runs apart. Its S3 settings stay unset (local file system).
        return [str(ctx.micrologai_bin / "python"), "-m", "microlog",
                "bench", str(script)], {"HOME": str(home),
                                        "MICROLOG_SAMPLE_DELAY": "0.001"}

    def parse(self, ctx):
        recs = list((ctx.outdir / "home").rglob("*.zip"))
        if len(recs) != 1:
            raise ToolError(f"{len(recs)} recordings")
        out = subprocess.run([str(ctx.micrologai_bin / "python"),
                              str(HERE / "micrologai_decode.py"),
                              str(recs[0])], capture_output=True,
                             env={**os.environ,
                                  "HOME": str(ctx.outdir / "home")})
        if out.returncode != 0:
            raise ToolError("decode: " + out.stderr.decode()[-200:])
        s = json.loads(out.stdout)
        threads = [ThreadSamples(t["thread"], t["sample_times"], t["span_s"],
                                 lower_bound=True) for t in s["threads"]]
        return Parsed(dir_bytes(ctx.outdir / "home"),
                      sum(t.samples for t in threads), threads,
                      s["inclusive_s"])


TOOLS = [Microlog(), Micrologai(), PySpy(), Austin(), Echion(),
         Pyinstrument(), Scalene(), Yappi(), VizTracer()]
