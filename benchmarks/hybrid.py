"""Dense, BM25 and hybrid retrieval on SQuAD v1.1 dev, through bertsearch's own search.

Writes the 48 dev articles as text files (paragraphs separated by blank lines),
indexes them with the default settings (200-token passages, 40-token overlap,
all-MiniLM-L6-v2), and asks every question in each mode. A hit: a retrieved
passage that contains a gold answer (case-insensitive substring). The index and
the question vectors are cached under --cache, so modes and settings are compared
without encoding again. Latency is timed end to end (`Index.search`, query
encoding included) on a fixed sample of questions, the modes taking turns.

    python benchmarks/fusion.py --squad ../shared/data/squad/dev-v1.1.json
"""

import argparse
import json
import platform
import random
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np

from squad_files import build_index

from bertsearch import fusion

KS = (1, 5, 20)


def first_hits(index, questions, vectors, mode: str) -> np.ndarray:
    """Rank (0-based) of the first passage holding a gold answer; 10**6 when none in the top 20."""
    found = np.full(len(questions), 10**6)
    ranked = index.search_many([q for q, _ in questions], k=max(KS), mode=mode, vectors=vectors)
    for q, ((_, answers), results) in enumerate(zip(questions, ranked)):
        answers = [a.lower() for a in answers if a.strip()]
        for rank, result in enumerate(results):
            if any(a in result.text.lower() for a in answers):
                found[q] = rank
                break
    return found


def recall(found: np.ndarray) -> dict:
    return {f"top{k}": round(float((found < k).mean()), 4) for k in KS}


def latencies(index, questions, sample: int, modes) -> dict:
    """p50/p95 milliseconds of `Index.search(question, k=10)` per mode, modes taking turns."""
    chosen = random.Random(0).sample([q for q, _ in questions], sample)
    times = {mode: [] for mode in modes}
    for mode in modes:  # warm up
        index.search(chosen[0], k=10, mode=mode)
    for question in chosen:
        for mode in modes:
            started = time.perf_counter()
            index.search(question, k=10, mode=mode)
            times[mode].append((time.perf_counter() - started) * 1000)
    return {mode: {"p50_ms": round(statistics.median(t), 2), "p95_ms": round(float(np.percentile(t, 95)), 2)}
            for mode, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default="../shared/data/squad/dev-v1.1.json")
    parser.add_argument("--cache", type=Path, default=Path(".cache/dev"))
    parser.add_argument("--latency-sample", type=int, default=500)
    parser.add_argument("--device")
    args = parser.parse_args()

    index, questions = build_index(args.squad, args.cache, device=args.device)
    vectors_file = args.cache / "questions.npy"
    if not vectors_file.exists():
        np.save(vectors_file, index.encoder.encode([q for q, _ in questions]))
    vectors = np.load(vectors_file)
    lengths = [len(p.text) for p in index.passages()]

    rows = {}
    for mode in ("dense", "bm25", "hybrid"):
        rows[mode] = recall(first_hits(index, questions, vectors, mode))
        print(mode, rows[mode], flush=True)
    tuned = fusion.DENSE_WEIGHT, fusion.FORM
    fusion.DENSE_WEIGHT, fusion.FORM = 0.5, "zscore"
    rows["plain z-score sum"] = recall(first_hits(index, questions, vectors, "hybrid"))
    fusion.DENSE_WEIGHT, fusion.FORM = tuned
    print("plain z-score sum", rows["plain z-score sum"], flush=True)
    timing = latencies(index, questions, args.latency_sample, ("dense", "bm25", "hybrid"))

    report = {
        "date": date.today().isoformat(), "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "device": index.encoder.device, "documents": index.info().documents, "passages": len(lengths),
        "questions": len(questions), "median_passage_chars": statistics.median(lengths),
        "fusion": {"form": fusion.FORM, "dense_weight": fusion.DENSE_WEIGHT, "candidates": fusion.CANDIDATES},
        "recall": rows, "latency": timing,
    }
    (args.cache / "fusion.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    print("\n| mode | top-1 | top-5 | top-20 | p50 ms | p95 ms |\n|---|---|---|---|---|---|")
    for mode, row in rows.items():
        t = timing.get(mode, {})
        print(f"| {mode} | {row['top1']:.1%} | {row['top5']:.1%} | {row['top20']:.1%} "
              f"| {t.get('p50_ms', '')} | {t.get('p95_ms', '')} |")


if __name__ == "__main__":
    main()
