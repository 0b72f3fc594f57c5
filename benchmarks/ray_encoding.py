"""`bertsearch index --ray` on a local Ray instance against in-process encoding, on the same machine.

    python benchmarks/ray_encoding.py                 # 200 SQuAD v1.1 dev paragraphs, MiniLM, 2 rounds
    python benchmarks/ray_encoding.py --smoke --model tests-tiny-model-folder

FILES SQuAD v1.1 dev paragraphs are written one per file and indexed into a new
index each round, in turns: in this process (`Index.add`), and through Ray
(`Index.add(encoding=RayEncoding())`, the actors as `--ray` sizes them: one per
2 CPUs). Both load the encoder here (it chunks); the Ray run also starts an actor
pool per call, each actor loading the model. The Ray instance is started once,
timed (`ray.init`), before the rounds: that is the start-up `--ray` pays when no
instance runs. Reported: seconds per run, passages per second, and how far the
two indexes agree (same passages in the same order; the cosine of each passage's
two vectors). Writes benchmarks/results/ray-encoding.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, SQUAD_DEV, squad_paragraphs_and_questions, write_result

sys.path.insert(0, str(Path(__file__).parent.parent))

from bertsearch import Index, RayEncoding  # noqa: E402


def write_files(folder: Path, paragraphs: list[str]) -> None:
    folder.mkdir(parents=True)
    for n, text in enumerate(paragraphs):
        (folder / f"paragraph{n:04d}.txt").write_text(text + "\n")


def build(index_path: Path, docs: Path, model: str | None, encoding=None) -> tuple[float, int]:
    started = time.perf_counter()
    with Index(index_path, model=model) as index:
        report = index.add([docs], encoding=encoding)
    return time.perf_counter() - started, report.passages_encoded


def contents(index_path: Path):
    with Index(index_path) as index:
        passages = index.passages()
        return [(Path(p.path).name, p.seq, p.text) for p in passages], index.store.vectors([p.id for p in passages])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", help="encoder (default: bertsearch's, all-MiniLM-L6-v2)")
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--smoke", action="store_true", help="20 files, one round")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.files, args.rounds = 20, 1
    import ray

    paragraphs = squad_paragraphs_and_questions(args.squad)[0][: args.files]
    started = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_init = time.perf_counter() - started
    cpus = int(ray.cluster_resources().get("CPU", 0))
    seconds = {"in-process": [], "ray": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            write_files(tmp / "docs", paragraphs)
            for r in range(args.rounds):
                order = ["in-process", "ray"] if r % 2 == 0 else ["ray", "in-process"]
                for name in order:
                    encoding = RayEncoding() if name == "ray" else None
                    took, passages = build(tmp / f"{name}-{r}", tmp / "docs", args.model, encoding)
                    seconds[name].append(took)
                    print(f"{name}: {took:.1f}s, {passages} passages", file=sys.stderr)
            local_passages, local_vectors = contents(tmp / "in-process-0")
            ray_passages, ray_vectors = contents(tmp / "ray-0")
            with Index(tmp / "ray-0") as index:
                encoded_with = index.info().encoded_with
    finally:
        ray.shutdown()
    cosines = (local_vectors * ray_vectors).sum(axis=1)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    write_result("ray-encoding", {
        "files": args.files, "passages": len(local_passages), "model": args.model or "all-MiniLM-L6-v2",
        "ray_cpus": cpus, "ray_encoded_with": encoded_with, "ray_init_seconds": ray_init, "seconds": seconds,
        "passages_per_second": {name: len(local_passages) / m for name, m in median.items()},
        "ray_overhead_seconds": median["ray"] - median["in-process"],
        "same_passages": local_passages == ray_passages,
        "cosine_min": float(cosines.min()), "cosine_mean": float(cosines.mean()),
        "max_abs_difference": float(abs(local_vectors - ray_vectors).max()),
        "load_average_end": os.getloadavg()[0],
    }, args.out_dir)


if __name__ == "__main__":
    main()
