"""What the start-up hook of ``microlog install`` costs a Python process.

    .venv/bin/python bench/hook_startup.py [--reps 200]

Makes a throwaway venv whose site-packages reaches this interpreter's
(a path line, so microlog and _microlog_autorecord import from there),
then runs ``python -c pass`` in it, interleaved: with no hook, with the
hook and a draw that loses (not recorded), and with the hook recording
every process. Prints a table of medians: CPU time (user + system, less
sensitive to other load) and wall time. Nothing outside the temporary
folder is touched.
"""

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

from microlog import autorecord


def run_once(python: str, env: dict) -> tuple:
    start = time.perf_counter()
    child = subprocess.Popen([python, "-c", "pass"], env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{python} -c pass failed ({status})")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "env")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip",
                        prefix], check=True)
        python = os.path.join(prefix, "bin", "python")
        site = subprocess.run(
            [python, "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True).stdout.strip()
        # Sorts before the hook, so the hook's module imports.
        with open(os.path.join(site, "_bench_path.pth"), "w") as f:
            f.write(sysconfig.get_paths()["purelib"] + "\n")
        hook = os.path.join(site, autorecord.HOOK_NAME)
        variants = {
            "no hook": None,
            "hook, not drawn (--fraction 1e-6)":
                autorecord.hook_text("script", 1e-6, hook),
            "hook, recording (--fraction 1)":
                autorecord.hook_text("script", 1.0, hook),
        }
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MICROLOG_")}
        env["MICROLOG_DIR"] = os.path.join(tmp, "recordings")
        cpu = {name: [] for name in variants}
        wall = {name: [] for name in variants}
        for _ in range(args.reps):
            for name, text in variants.items():
                if text is None:
                    if os.path.exists(hook):
                        os.unlink(hook)
                else:
                    with open(hook, "w") as f:
                        f.write(text)
                c, w = run_once(python, env)
                cpu[name].append(c)
                wall[name].append(w)
    base_cpu = statistics.median(cpu["no hook"])
    base_wall = statistics.median(wall["no hook"])
    v = sys.version_info
    print(f"python -c pass, CPython {v.major}.{v.minor}.{v.micro}, "
          f"{args.reps} interleaved runs each, medians, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| | CPU time | added | wall time | added |")
    print("| --- | --- | --- | --- | --- |")
    for name in variants:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        print(f"| {name} | {c * 1e3:.2f} ms | {(c - base_cpu) * 1e3:+.2f} ms"
              f" | {w * 1e3:.2f} ms | {(w - base_wall) * 1e3:+.2f} ms |")


if __name__ == "__main__":
    main()
