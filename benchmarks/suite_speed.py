"""The test suite's wall time against an older commit's, one after the other on the same machine (issue #10).

    python benchmarks/suite_speed.py                 # old = f9b84ec, the suite issue #10 measured against
    python benchmarks/suite_speed.py --old abc1234 --workers 0

Three runs, in turn: (1) the suite at `--old`, as its README ran it (one
process), from `git archive` in a scratch folder with PYTHONPATH pointing at it;
(2) the tests of (1) that still exist, by name, on the working tree, the way the
README runs the suite now (`--workers`, pytest-xdist); (3) the whole suite now,
the same way. Each line gives wall and CPU seconds (user + system, the children
included) and the load average before the run: on a shared machine, compare
the ratios of runs taken one after the other, never figures across sessions.
The scratch folder gets a `../shared` link when the working tree has one, as
the old suite's benchmark tests read it.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collect(folder: Path, env: dict) -> list[str]:
    listing = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                             cwd=folder, env=env, capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if "::" in line]


def timed(args: list[str], folder: Path, env: dict) -> dict:
    """Run pytest; its wall time, its CPU time and that of its children, the load before, and the summary line."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return {"wall_s": wall, "cpu_s": cpu, "load_before": load, "summary": summary}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="f9b84ec", help="the commit to compare with")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers now (0: one process)")
    parser.add_argument("--only", nargs="*", help="only these test files (a quick trial of the script)")
    args = parser.parse_args(argv)
    now_args = ["-n", str(args.workers), "--dist", "loadfile"] if args.workers else []
    scratch = Path(tempfile.mkdtemp(prefix="suite-speed-"))
    try:
        old = scratch / "old"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.old], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        if (ROOT.parent / "shared").exists():
            (scratch / "shared").symlink_to((ROOT.parent / "shared").resolve())
        old_env = dict(os.environ, PYTHONPATH=str(old))
        old_ids = collect(old, old_env)
        if args.only:
            old_ids = [i for i in old_ids if i.split("::")[0] in args.only]
        now_ids = set(collect(ROOT, dict(os.environ)))
        common = [i for i in old_ids if i in now_ids]
        runs = {
            f"old suite at {args.old} ({len(old_ids)} tests, one process)": timed(old_ids, old, old_env),
            f"the same {len(common)} tests now": timed(now_args + common, ROOT, dict(os.environ)),
        }
        if not args.only:
            runs["the whole suite now"] = timed(now_args, ROOT, dict(os.environ))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    first = next(iter(runs.values()))
    for name, run in runs.items():
        print(f"{name}: {run['wall_s']:.0f} s wall ({run['wall_s'] / first['wall_s']:.2f}x), "
              f"{run['cpu_s']:.0f} s CPU ({run['cpu_s'] / first['cpu_s']:.2f}x), "
              f"load {run['load_before']:.1f} before; {run['summary']}")


if __name__ == "__main__":
    main()
