"""multiprocessing children that do not end by returning: a Pool's workers
(terminated at the end of its ``with`` block), Process.terminate(), a
SIGKILL. Each leaves a readable run linked to its parent's, holding what
it recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

from conftest import Runner, function


def _runs(runner: Runner, label: str) -> Tuple[dict, Dict[Path, dict]]:
    """The parent's summary and its children's, by file."""
    runs = runner.recordings(label)
    summaries = {p: runner.show(p) for p in runs}
    parents = [p for p, s in summaries.items()
               if not s["meta"].get("parent_run")]
    assert len(parents) == 1, summaries
    parent = summaries.pop(parents[0])
    for path, s in summaries.items():
        assert path.stat().st_size > 16  # more than the file header
        assert s["meta"]["parent_run"] == str(parents[0])
        assert s["label"] == label
    return parent, summaries


def test_pool_workers_terminated_keep_their_recordings(runner: Runner):
    script = runner.script("pool.py", """
        import multiprocessing as mp, time

        def ready(barrier):
            barrier.wait(60)  # every worker runs (and records) by now

        def square_sum(n):
            time.sleep(0.002)
            return sum(i * i for i in range(n * 300))

        if __name__ == "__main__":
            for method in ("fork", "spawn"):
                ctx = mp.get_context(method)
                barrier = ctx.Barrier(2)
                with ctx.Pool(2, ready, (barrier,)) as pool:
                    print(method, sum(pool.map(square_sum, range(100), 1)))
            print("parent done")
    """)
    plain = runner.python([str(script)])
    out = runner.python(["-m", "microlog", "pool", str(script)],
                        env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stderr == b""
    assert out.stdout == plain.stdout
    parent, children = _runs(runner, "pool")
    assert parent["complete"] is True and parent["exit_status"] == 0
    assert len(children) == 4
    for s in children.values():
        # Ended by the pool's SIGTERM (the run says so as Process.exitcode
        # does), or by the pool's sentinel if one came first.
        assert s["complete"] is True, (s["meta"], s["samples"])
        assert s["exit_status"] in (-15, 0), s["exit_status"]
    samples = [s for s in children.values() if s["samples"] > 0]
    assert samples, children
    assert sum(function(s, "square_sum")["total"] for s in samples) > 0


def test_children_killed_or_handling_sigterm(runner: Runner):
    script = runner.script("kill.py", """
        import multiprocessing as mp, os, signal, sys, time

        def busy(ready):
            ready.set()
            while True:  # pure Python: the handler runs at once
                sum(range(1000))

        def sleeper(ready):
            ready.set()
            time.sleep(60)

        def own_handler(ready):
            def bye(signum, frame):
                sys.exit(3)
            signal.signal(signal.SIGTERM, bye)
            ready.set()
            time.sleep(60)

        def run(ctx, target, how):
            ready = ctx.Event()
            p = ctx.Process(target=target, args=(ready,), name=how)
            p.start()
            assert ready.wait(60)
            time.sleep(0.3)  # recorded for a while: some samples
            if how == "kill":
                os.kill(p.pid, signal.SIGKILL)
            else:
                p.terminate()
            p.join(60)
            print(how, p.exitcode, flush=True)

        if __name__ == "__main__":
            ctx = mp.get_context("spawn")
            run(ctx, busy, "terminate")
            run(ctx, sleeper, "kill")
            run(ctx, own_handler, "own")
    """)
    out = runner.python(["-m", "microlog", "kill", str(script)],
                        env=runner.env(MICROLOG_QUIET="1"))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stderr == b""
    assert out.stdout.decode().split("\n") == [
        "terminate -15", "kill -9", "own 3", ""]
    _, children = _runs(runner, "kill")
    assert len(children) == 3
    by_start: List[dict] = sorted(children.values(),
                                  key=lambda s: s["meta"]["start_unix_ns"])
    terminated, killed, own = by_start
    assert terminated["complete"] is True
    assert terminated["exit_status"] == -15
    assert function(terminated, "busy")["total"] > 0
    # SIGKILL cannot be caught: what was flushed stays, the metadata (and
    # so the link to the parent) from the start on.
    assert killed["complete"] is False
    # The program's own handler decides; its exit ends the run.
    assert own["complete"] is True and own["exit_status"] == 3
