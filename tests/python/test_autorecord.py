"""``microlog install`` / ``uninstall``: the start-up hook that records
every Python process of an environment (docs/INSTALL-HOOK.md).

Everything happens in a throwaway virtual environment made for this module
(``python -m venv``, then the files of the installed microlog distribution,
as listed in its RECORD, copied in: what ``pip install`` would have put
there, without building the package again), driven through its own
``bin/microlog`` and ``bin/python`` as a user would.
"""

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional

import pytest

TIMEOUT = 120
HOOK = "microlog-autorecord.pth"


class Env:
    """A virtual environment with microlog installed in it."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self.python = prefix / "bin" / "python"
        self.microlog = prefix / "bin" / "microlog"
        self.site = Path(self.run_python(
            ["-c", "import sysconfig; print(sysconfig.get_paths()"
                   "['purelib'])"], {}).stdout.strip())
        self.hook = self.site / HOOK

    @staticmethod
    def environ(rec: Optional[Path], **extra: str) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MICROLOG_")
               and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        if rec is not None:
            env["MICROLOG_DIR"] = str(rec)
        env.update(extra)
        return env

    def run_python(self, args: List[str], env: Dict[str, str],
                   cwd: Optional[Path] = None) -> (
                       subprocess.CompletedProcess):
        return subprocess.run([str(self.python), *args], cwd=cwd,
                              env=env or self.environ(None),
                              capture_output=True, text=True,
                              timeout=TIMEOUT)

    def cli(self, *args: str, rec: Optional[Path] = None,
            exe: Optional[Path] = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(exe or self.microlog), *args],
                              env=self.environ(rec), capture_output=True,
                              text=True, timeout=TIMEOUT)

    def install(self, *args: str) -> subprocess.CompletedProcess:
        out = self.cli("install", *args)
        assert out.returncode == 0, out.stderr
        return out


def copy_distribution(prefix: Path) -> None:
    """Puts the files of the installed microlog distribution into the
    environment at prefix, at the same places relative to the prefix."""
    dist = metadata.distribution("microlog")
    files = dist.files or []
    if not any(str(f).endswith("_microlog_autorecord.py") for f in files):
        pytest.skip("the installed microlog has no _microlog_autorecord.py")
    here = Path(sys.prefix).resolve()
    for f in files:
        source = Path(dist.locate_file(f)).resolve()
        if not source.is_file():
            continue  # RECORD lists files pip may not have kept
        target = prefix / source.relative_to(here)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    prefix = tmp_path_factory.mktemp("autorecord") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip",
                    str(prefix)], check=True, timeout=TIMEOUT)
    copy_distribution(prefix)
    made = Env(prefix)
    # Byte code as pip would have compiled it, for the start-up figures.
    subprocess.run([str(made.python), "-m", "compileall", "-q",
                    str(made.site)], check=True, timeout=TIMEOUT,
                   env=Env.environ(None))
    return made


@pytest.fixture
def rec(tmp_path: Path) -> Path:
    return tmp_path / "recordings"


def labels(rec: Path) -> Dict[str, int]:
    """Recordings per label folder."""
    if not rec.exists():
        return {}
    return {d.name: len(list(d.glob("*.mlog"))) for d in rec.iterdir()}


def show(env: Env, path: Path) -> dict:
    out = env.cli("show", "--json", str(path))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_install_status_uninstall(env: Env) -> None:
    out = env.install()
    assert f"wrote {env.hook}" in out.stdout or \
        f"replaced {env.hook}" in out.stdout
    assert "records every Python process" in out.stdout
    text = env.hook.read_text()
    assert text.startswith("# microlog start-up hook")
    code = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(code) == 1 and code[0].startswith("import sys; ")

    again = env.install("--fraction", "0.5", "--label-from", "env")
    assert f"replaced {env.hook}" in again.stdout
    assert "a random 50% of Python processes" in again.stdout
    assert list(env.site.glob("microlog-autorecord*")) == [env.hook]
    status = env.cli("install", "--status")
    assert status.returncode == 0, status.stderr
    assert str(env.hook) in status.stdout
    assert "50%" in status.stdout and "MICROLOG_LABEL" in status.stdout

    gone = env.cli("uninstall")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout == f"microlog uninstall: removed {env.hook}\n"
    assert not env.hook.exists()
    assert env.cli("install", "--status").returncode == 1
    nothing = env.cli("uninstall")
    assert nothing.returncode == 0
    assert "no hook was installed" in nothing.stdout


def test_records_every_process_with_its_label(env: Env, rec: Path,
                                              tmp_path: Path) -> None:
    env.install()
    (tmp_path / "work.py").write_text(
        "import sys\nprint('work', sys.argv[1:])\n")
    (tmp_path / "fails.py").write_text("raise ValueError('on purpose')\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tool.py").write_text("print('tool')\n")
    e = env.environ(rec)
    work = env.run_python(["work.py", "a", "b"], e, cwd=tmp_path)
    assert (work.returncode, work.stdout, work.stderr) == (
        0, "work ['a', 'b']\n", "")  # quiet: no box on stderr
    tool = env.run_python(["-m", "pkg.tool"], e, cwd=tmp_path)
    assert (tool.returncode, tool.stdout, tool.stderr) == (0, "tool\n", "")
    code = env.run_python(["-c", "print(6 * 7)"], e, cwd=tmp_path)
    assert (code.returncode, code.stdout, code.stderr) == (0, "42\n", "")
    fails = env.run_python(["fails.py"], e, cwd=tmp_path)
    assert fails.returncode == 1 and "ValueError: on purpose" in fails.stderr
    assert labels(rec) == {"work": 1, "pkg.tool": 1, "python": 1,
                           "fails": 1}

    summary = show(env, next((rec / "work").glob("*.mlog")))
    assert summary["label"] == "work"
    assert summary["command"] == "python work.py a b"
    assert summary["complete"] and summary["exit_status"] == 0
    assert show(env, next((rec / "pkg.tool").glob("*.mlog")))[
        "command"] == "python -m pkg.tool"
    assert show(env, next((rec / "fails").glob("*.mlog")))[
        "exit_status"] == 1

    # Labels from the top-level package, or from MICROLOG_LABEL.
    env.install("--label-from", "module")
    env.run_python(["-m", "pkg.tool"], e, cwd=tmp_path)
    env.install("--label-from", "env")
    env.run_python(["work.py"], env.environ(rec, MICROLOG_LABEL="nightly"),
                   cwd=tmp_path)
    env.run_python(["work.py"], e, cwd=tmp_path)
    assert labels(rec) == {"work": 2, "pkg.tool": 1, "python": 1,
                           "fails": 1, "pkg": 1, "nightly": 1}


def test_disable_and_quiet(env: Env, rec: Path) -> None:
    env.install()
    off = env.run_python(["-c", "print('ok')"],
                         env.environ(rec, MICROLOG_DISABLE="true"))
    assert (off.returncode, off.stdout, off.stderr) == (0, "ok\n", "")
    assert labels(rec) == {}
    # Asked for explicitly, the box comes back.
    loud = env.run_python(["-c", "pass"],
                          env.environ(rec, MICROLOG_QUIET="false"))
    assert "microlog: " in loud.stderr and "python" in loud.stderr
    assert labels(rec) == {"python": 1}


def test_processes_not_recorded_twice(env: Env, rec: Path,
                                      tmp_path: Path) -> None:
    env.install()
    e = env.environ(rec, MICROLOG_QUIET="true")
    (tmp_path / "hello.py").write_text("print('hello')\n")
    # python -m microlog records by itself, once.
    out = env.run_python(["-m", "microlog", "chosen", "hello.py"], e,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert labels(rec) == {"chosen": 1}
    # A multiprocessing child is recorded by its recorded parent, linked;
    # the spawned interpreter and the helper processes are not recorded.
    (tmp_path / "parent.py").write_text(
        "import multiprocessing as mp\n"
        "def child():\n"
        "    print('child')\n"
        "if __name__ == '__main__':\n"
        "    p = mp.get_context('spawn').Process(target=child)\n"
        "    p.start()\n"
        "    p.join()\n")
    out = env.run_python(["parent.py"], e, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "child\n"), out.stderr
    runs = sorted((rec / "parent").glob("*.mlog"))
    assert len(runs) == 2, runs
    parents = {show(env, r)["meta"].get("parent_run", "") for r in runs}
    assert parents == {"", str(runs[0])} or parents == {"", str(runs[1])}
    # pip is not recorded (a script of that name stands for it here).
    (tmp_path / "pip.py").write_text("print('pip')\n")
    assert env.run_python(["pip.py"], e, cwd=tmp_path).stdout == "pip\n"
    assert "pip" not in labels(rec)


def test_subinterpreters_are_not_recorded(env: Env, rec: Path) -> None:
    """site runs again in each subinterpreter, so the hook does, and must
    leave it alone. The main interpreter loses its draw here and the
    subinterpreter would win it (os.environ changes the C environment
    that a new interpreter reads): a recorded main interpreter crashes
    on 3.12+ when it has run a subinterpreter, whoever started the
    recording (docs/INSTALL-HOOK.md)."""
    import _microlog_autorecord as hook

    seeds = [str(i) for i in range(100)]
    lose = next(s for s in seeds if hook.draw(s) >= 0.5)
    win = next(s for s in seeds if hook.draw(s) < 0.5)
    code = ("import os\n"
            f"os.environ['MICROLOG_FRACTION_SEED'] = {win!r}\n"
            "try:\n"
            "    import _xxsubinterpreters as interpreters\n"
            "except ImportError:\n"
            "    import _interpreters as interpreters\n"
            "i = interpreters.create()\n"
            "interpreters.run_string(i, 'import _microlog_autorecord')\n"
            "interpreters.destroy(i)\n"
            "print('ok')\n")
    env.install("--fraction", "0.5")
    out = env.run_python(["-c", code],
                         env.environ(rec, MICROLOG_FRACTION_SEED=lose))
    if "ModuleNotFoundError" in out.stderr:
        pytest.skip(f"no subinterpreters here: {out.stderr[-200:]}")
    assert (out.returncode, out.stdout, out.stderr) == (0, "ok\n", "")
    assert labels(rec) == {}
    # The same seed in the main interpreter does win: it is recorded.
    out = env.run_python(["-c", "pass"],
                         env.environ(rec, MICROLOG_FRACTION_SEED=win))
    assert (out.returncode, out.stderr) == (0, "")
    assert labels(rec) == {"python": 1}


def binomial_bounds(n: int, p: float, alpha: float = 1e-6) -> tuple:
    """The widest counts [lo, hi] of Binomial(n, p) outside which the
    chance is below alpha (alpha / 2 each side)."""
    def pmf_of(k: int) -> float:  # in logs: n may be large
        return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1)
                        - math.lgamma(n - k + 1) + k * math.log(p)
                        + (n - k) * math.log(1 - p))

    pmf = [pmf_of(k) for k in range(n + 1)]
    lo, tail = 0, 0.0
    while tail + pmf[lo] < alpha / 2:
        tail += pmf[lo]
        lo += 1
    hi, tail = n, 0.0
    while tail + pmf[hi] < alpha / 2:
        tail += pmf[hi]
        hi -= 1
    return lo, hi


def test_draw_is_uniform_and_seedable() -> None:
    import _microlog_autorecord as hook

    n = 20000
    lo, hi = binomial_bounds(n, 0.25)
    assert lo <= sum(hook.draw() < 0.25 for _ in range(n)) <= hi
    seeded = [hook.draw(str(i)) for i in range(n)]
    assert all(0 <= u < 1 for u in seeded)
    assert lo <= sum(u < 0.25 for u in seeded) <= hi
    assert hook.draw("7") == hook.draw("7") != hook.draw("8")


def test_fraction_of_processes(env: Env, rec: Path) -> None:
    import _microlog_autorecord as hook

    n, fraction = 200, 0.25
    env.install("--label-from", "env", "--fraction", str(fraction))

    def start(i: int, seeded: bool) -> None:
        extra = {"MICROLOG_LABEL": f"p{i}" if seeded else "drawn"}
        if seeded:
            extra["MICROLOG_FRACTION_SEED"] = str(i)
        out = env.run_python(["-c", "pass"], env.environ(rec, **extra))
        assert (out.returncode, out.stderr) == (0, "")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: start(i, False), range(n)))
        list(pool.map(lambda i: start(i, True), range(n)))
    found = labels(rec)
    lo, hi = binomial_bounds(n, fraction)  # outside: p < 1e-6
    drawn = found.pop("drawn", 0)
    print(f"\n{drawn} of {n} processes recorded at --fraction {fraction} "
          f"(bounds {lo}-{hi})")
    assert lo <= drawn <= hi
    # With a seed each process draws a known number: exactly these.
    expected = {f"p{i}" for i in range(n) if hook.draw(str(i)) < fraction}
    assert set(found) == expected
    assert all(count == 1 for count in found.values())


def test_broken_settings_never_break_startup(env: Env, rec: Path,
                                             tmp_path: Path) -> None:
    env.install()
    good = env.hook.read_text()

    def one_line(e: Dict[str, str], python: Optional[Path] = None) -> str:
        out = subprocess.run([str(python or env.python), "-c",
                              "print('ok')"], env=e, capture_output=True,
                             text=True, timeout=TIMEOUT)
        assert (out.returncode, out.stdout) == (0, "ok\n"), out.stderr
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("microlog: "), lines
        return lines[0]

    try:
        env.hook.write_text(good.replace("fraction=1.0", "fraction='x'"))
        assert "fraction='x'" in one_line(env.environ(rec))
        env.hook.write_text(good.replace("label_from='script'",
                                         "label_from='nope'"))
        assert "label_from='nope'" in one_line(env.environ(rec))
        env.hook.write_text(good.replace("fraction=1.0", "fraction=7"))
        assert "fraction=7" in one_line(env.environ(rec))
    finally:
        env.hook.write_text(good)
    assert "MICROLOG_SAMPLE_DELAY" in one_line(
        env.environ(rec, MICROLOG_SAMPLE_DELAY="soon"))
    assert "MICROLOG_DISABLE" in one_line(
        env.environ(rec, MICROLOG_DISABLE="perhaps"))
    assert "Not a directory" in one_line(
        env.environ(None, MICROLOG_DIR="/dev/null/recordings"))
    assert labels(rec) == {}
    # The hook left behind in an environment without microlog.
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip",
                    str(bare)], check=True, timeout=TIMEOUT)
    bare_site = Path(subprocess.run(
        [str(bare / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    shutil.copy(env.hook, bare_site / HOOK)
    assert "left from an uninstalled microlog" in one_line(
        env.environ(rec), bare / "bin" / "python")


def test_install_checks_its_arguments(env: Env, tmp_path: Path) -> None:
    for bad in ("0", "1.5", "-0.1", "nan", "often"):
        out = env.cli("install", "--fraction", bad)
        assert out.returncode == 2, (bad, out.stderr)
        assert "--fraction" in out.stderr and "at most 1" in out.stderr
    out = env.cli("install", "--label-from", "moon")
    assert out.returncode == 2 and "--label-from" in out.stderr
    # The Python beside the executable, or --python.
    alone = tmp_path / "bin" / "microlog"
    alone.parent.mkdir()
    shutil.copy2(env.microlog, alone)
    out = env.cli("install", "--status", exe=alone)
    assert out.returncode == 1 and "--python PATH" in out.stderr
    out = env.cli("install", "--python", str(env.python), "--status",
                  exe=alone)
    assert out.returncode in (0, 1) and str(env.site) in out.stdout
    out = env.cli("install", "--python", str(tmp_path / "nope"), exe=alone)
    assert out.returncode == 1 and "cannot run" in out.stderr


def test_startup_cost_when_not_recording(env: Env) -> None:
    """python -c pass with no hook and with a hook whose draw loses, in
    alternation; the figures are printed (pytest -s), the bound is
    generous: the machine running the tests may be busy."""
    env.install("--fraction", "0.000001")
    hook = env.hook.read_text()
    e = env.environ(None)
    times: Dict[str, List[float]] = {"without": [], "with": []}
    for _ in range(40):
        for name in times:
            if name == "with":
                env.hook.write_text(hook)
            elif env.hook.exists():
                env.hook.unlink()
            t = time.perf_counter()
            subprocess.run([str(env.python), "-c", "pass"], env=e,
                           check=True, timeout=TIMEOUT)
            times[name].append(time.perf_counter() - t)
    env.hook.write_text(hook)
    without = statistics.median(times["without"]) * 1e3
    with_hook = statistics.median(times["with"]) * 1e3
    paired = statistics.median(
        b - a for a, b in zip(times["without"], times["with"])) * 1e3
    print(f"\npython -c pass: {without:.2f} ms without the hook, "
          f"{with_hook:.2f} ms with it (not drawn); paired median "
          f"difference {paired:+.2f} ms")
    assert paired < 10
