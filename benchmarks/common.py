"""What the benchmark scripts share: timing in turns, spreads, the machine, and result files.

Each script times bertsearch and its peer in the same process, in turns, over
several rounds (the order rotating each round), and writes one JSON file under
benchmarks/results/ that `benchmarks/report.py` renders into docs/benchmarks.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
REPO = Path(__file__).parent.parent
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


def spread(values: list[float]) -> dict:
    """min/median/max of repeated measurements, and how many there were."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "runs": len(values)}


def in_turns(contenders: dict[str, Callable[[], object]], rounds: int) -> tuple[dict[str, list[float]], dict]:
    """Run each contender once per round, the order rotating each round; seconds per run, last outputs."""
    names = list(contenders)
    seconds = {name: [] for name in names}
    outputs = {}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            started = time.perf_counter()
            outputs[name] = contenders[name]()
            seconds[name].append(time.perf_counter() - started)
    return seconds, outputs


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine(device: str = "cpu") -> dict:
    """The machine and software a figure was measured with."""
    import torch
    import transformers

    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": memory_gb(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": device,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,  # other work on the machine
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**2
    except OSError:
        return float("nan")


def command_line() -> str:
    """The command that ran this script, as someone would type it from the repository root."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(REPO)
    except ValueError:
        pass
    return " ".join(["python", str(script), *sys.argv[1:]])


def write_result(name: str, data: dict, out_dir: str | Path | None = None, device: str = "cpu") -> Path:
    """Write benchmarks/results/NAME.json with the command, the machine and today's date."""
    out_dir = Path(out_dir) if out_dir else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name.split("-")[0],
        "command": command_line(),
        "date": datetime.date.today().isoformat(),
        "machine": machine(device),
        **data,
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return path


def squad_paragraphs_and_questions(path: str | Path = SQUAD_DEV):
    """SQuAD paragraphs in file order, and (question, answers, paragraph number) for each question."""
    from bertsearch.eval.squad import load_squad

    paragraphs, numbers, questions = [], {}, []
    for q in load_squad(path):
        if q.context not in numbers:
            numbers[q.context] = len(paragraphs)
            paragraphs.append(q.context)
        questions.append((q.question, q.answers, numbers[q.context]))
    return paragraphs, questions
