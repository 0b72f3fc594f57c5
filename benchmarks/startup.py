"""Cold start: whole-process wall time of `bertsearch search`, `ask` and `info`, on the torch, ONNX Runtime and OpenVINO backends.

The sample corpus is indexed once; then each command runs as a fresh process
(`python -m bertsearch ...`, so every import and model load counts), each
backend in turn, the order rotating each round. The ONNX graphs are exported
and cached before timing (that happens once per model and install). Also
records which heavy modules each command imported and, from `python -X
importtime`, the slowest top-level imports of a search on each backend.

    python benchmarks/startup.py                # 10 rounds
    python benchmarks/startup.py --rounds 3
    python benchmarks/startup.py --backends torch onnx   # without OpenVINO
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, spread, write_result

SAMPLE = REPO / "sample_corpus"
QUERY = "Who designed the Eiffel Tower?"
COMMANDS = {"search": ["search", QUERY, "-k", "3"], "ask": ["ask", QUERY], "info": ["info"]}
HEAVY = ("torch", "transformers", "scipy", "sklearn", "onnxruntime", "openvino", "faiss")
PROBE = """
import runpy, sys
sys.argv = ["bertsearch", *sys.argv[1:]]
try:
    runpy.run_module("bertsearch", run_name="__main__")
except SystemExit:
    pass
print("IMPORTED", *sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY)), file=sys.stderr)
"""


def run(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bertsearch", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def imported(args: list[str], env: dict) -> list[str]:
    """The heavy modules a command imports."""
    code = f"HEAVY = {HEAVY!r}" + PROBE
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1].split()[1:]


def slowest_imports(args: list[str], env: dict, top: int = 8) -> list[dict]:
    """The top-level imports that took longest (cumulative ms), from `python -X importtime`."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "bertsearch", *args], env=env, check=True,
                          capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            if cumulative.strip().isdigit() and not name.startswith("  "):
                rows.append({"module": name.strip(), "ms": int(cumulative) / 1000})
    return sorted(rows, key=lambda r: -r["ms"])[:top]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "openvino"], help="torch first: the reference")
    parser.add_argument("--smoke", action="store_true", help="one round, to check the script runs")
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds = 1

    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        base = {**os.environ, "BERTSEARCH_INDEX": str(index), "PYTHONPATH": str(REPO)}
        envs = {backend: {**base, "BERTSEARCH_BACKEND": backend} for backend in args.backends}
        subprocess.run([sys.executable, "-m", "bertsearch", "index", str(SAMPLE), "-q"], env=envs[args.backends[0]], check=True,
                       capture_output=True)
        for backend, env in envs.items():  # export the ONNX graphs; warm the file cache for both
            run(COMMANDS["ask"], env)
        runs = [(command, backend) for command in COMMANDS for backend in envs]
        seconds = {key: [] for key in runs}
        for r in range(args.rounds):
            for command, backend in runs[r % len(runs):] + runs[: r % len(runs)]:
                seconds[(command, backend)].append(run(COMMANDS[command], envs[backend]))
        rows = [{"command": command, "backend": backend, "seconds": spread(seconds[(command, backend)]),
                 "imports": imported(COMMANDS[command], envs[backend])} for command, backend in runs]
        profile = {backend: slowest_imports(COMMANDS["search"], env) for backend, env in envs.items()}

    for row in rows:  # how many times faster than torch each backend starts, round by round
        if row["backend"] != "torch" and "torch" in envs:
            pairs = zip(seconds[(row["command"], "torch")], seconds[(row["command"], row["backend"])])
            row["vs_torch"] = spread([t / o for t, o in pairs])
    result = {"rounds": args.rounds, "query": QUERY, "corpus": "sample_corpus/", "rows": rows, "search_imports": profile}
    write_result("startup-cpu", result, args.out_dir, "cpu")
    print(f"{'command':<8}{'backend':<10}{'median s':>10}{'min':>8}{'max':>8}  imports")
    for row in rows:
        s = row["seconds"]
        print(f"{row['command']:<8}{row['backend']:<10}{s['median']:>10.2f}{s['min']:>8.2f}{s['max']:>8.2f}  "
              f"{' '.join(row['imports'])}")
    return result


if __name__ == "__main__":
    main()
