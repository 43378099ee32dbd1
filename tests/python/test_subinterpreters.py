"""Subinterpreters in a recorded program: only the main interpreter is
recorded, and the others run, end and are freed exactly as they would
unrecorded (no object of theirs is kept or used past their end)."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import Runner


def _available(*modules: str) -> bool:
    return any(importlib.util.find_spec(m) is not None for m in modules)


# Isolated subinterpreters (_interpreters from 3.13, _xxsubinterpreters
# before) and legacy ones sharing the main GIL (_testcapi).
HAS_ISOLATED = _available("_interpreters", "_xxsubinterpreters")
HAS_LEGACY = _available("_testcapi")

PROGRAM = """
    import sys

    # What each subinterpreter runs: prints, imports, allocates, and starts
    # a thread where its kind of interpreter allows one.
    SUB = '''
    import collections, json, textwrap
    data = [list(range(64)) for _ in range(300)]
    total = sum(map(len, data))
    out = []
    try:
        import threading
        t = threading.Thread(target=lambda: out.append(json.dumps(total)))
        t.start()
        t.join()
    except RuntimeError:  # threads are not allowed in this interpreter
        out.append(json.dumps(total))
    print("sub", KIND, out[0], flush=True)
    '''

    # In a legacy subinterpreter, which can import microlog: the main
    # interpreter's recording is not its own to add to, stop or join.
    USE_MICROLOG = '''
    import microlog
    microlog.info("from a subinterpreter")
    assert not microlog.is_running()
    assert microlog.stop() is None
    try:
        microlog.start("sub")
    except RuntimeError as e:
        assert "main interpreter" in str(e), e
    else:
        raise AssertionError("a subinterpreter started a recording")
    '''


    def isolated(kind):
        try:
            import _interpreters as interpreters  # 3.13
        except ImportError:
            try:
                import _xxsubinterpreters as interpreters
            except ImportError:
                return
        run = getattr(interpreters, "run_string", None) or interpreters.exec
        iid = interpreters.create()
        try:
            failed = run(iid, SUB.replace("KIND", repr(kind)))
            assert failed is None, failed
        finally:
            interpreters.destroy(iid)


    def legacy(kind):
        try:
            import _testcapi
        except ImportError:
            return
        code = SUB.replace("KIND", repr(kind)) + USE_MICROLOG
        assert _testcapi.run_in_subinterp(code) == 0


    work = []
    for i in range(4):
        isolated(f"isolated {i}")
        legacy(f"legacy {i}")
        work.append(sum(x * x for x in range(20000)))
        print("main", i, flush=True)
    print("main done", flush=True)
"""


@pytest.mark.skipif(not (HAS_ISOLATED or HAS_LEGACY),
                    reason="no subinterpreter API in this interpreter")
@pytest.mark.parametrize("sampler", ["auto", "fallback"])
def test_subinterpreters_run_and_end_unharmed(runner: Runner, sampler):
    script = runner.script("subs.py", PROGRAM)
    plain = runner.python([str(script)])
    assert plain.returncode == 0, plain.stderr.decode()
    rec = runner.python(["-m", "microlog", "subs", str(script)],
                        env=runner.env(MICROLOG_QUIET="1",
                                       MICROLOG_SAMPLER=sampler))
    assert rec.returncode == 0, rec.stderr.decode()
    assert rec.stderr == b""
    assert rec.stdout == plain.stdout
    lines = rec.stdout.decode().splitlines()
    assert lines[-1] == "main done"
    subs = [line for line in lines if line.startswith("sub ")]
    assert len(subs) == 4 * (HAS_ISOLATED + HAS_LEGACY), lines
    assert all(line.endswith(" 19200") for line in subs), subs

    path = runner.only_recording("subs")
    summary = runner.show(path)
    assert summary["complete"] is True
    assert summary["exit_status"] == 0
    assert summary["samples"] > 0
    # What the main interpreter printed, and only that: subinterpreters
    # have streams of their own, and are not recorded.
    logs = [e["text"] for e in runner.dump(path, "log")]
    assert logs == [f"main {i}" for i in range(4)] + ["main done"], logs
