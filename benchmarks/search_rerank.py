"""`search --rerank N` on SQuAD v1.1 (dev, or the weak-encoder index of adaptive_fusion.py): quality and latency.

quality: every `--questions-every`-th question searched through `Index.search_many(..., k=20, rerank=20)`
(question vectors cached by adaptive_fusion.py, the index's own dense weight), in batches; each result
carries its retrieval and reader scores, so the run also gives rerank=5 and 10 (the first N in retrieval
order re-ordered by `answers.fused_score`) and hybrid alone (retrieval order). A hit: a passage holding
a gold answer (case-insensitive substring), as in hybrid.py.

hybrid: hybrid alone, at the index's own dense weight and at 0.6, every question (no reader).

latency: p50/p95 of `Index.search(q, k=10, rerank=N)` (N = 0 and 20) end to end (query encoding
included), warm, on torch and on ONNX Runtime, the settings taking turns over a fixed sample of questions.

    python benchmarks/adaptive_fusion.py --squad ../shared/data/squad/dev-v1.1.json --questions-every 10 --cache .cache/dev
    OMP_NUM_THREADS=1 python benchmarks/search_rerank.py quality --cache .cache/dev --questions-every 10
    python benchmarks/search_rerank.py hybrid --cache .cache/dev --questions-every 10
    OMP_NUM_THREADS=1 python benchmarks/search_rerank.py latency --cache .cache/dev --sample 15
"""

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

import numpy as np

from squad_files import load_articles, write_articles

from bertsearch import Index, adaptive_fusion
from bertsearch.answers import fused_score

READ = (5, 10, 20)


def questions_of(squad: str, cache: Path, every: int):
    return write_articles(load_articles(squad), cache / "articles")[::every]


def first_hit(texts: list[str], answers: list[str]) -> int:
    return next((rank for rank, text in enumerate(texts) if any(a in text for a in answers)), 10**6)


def recall(found) -> dict:
    found = np.array(found)
    return {f"top{k}": round(float((found < k).mean()), 4) for k in (1, 5, 20)}


def quality(index, questions, vectors, batch: int, write) -> dict:
    """Recall of each ranking; `write(report)` after each batch, so a run cut short still reports on a random
    sample (the questions are taken in a seeded random order)."""
    order = random.Random(0).sample(range(len(questions)), len(questions))
    questions, vectors = [questions[i] for i in order], vectors[order]
    found = {"hybrid": [], **{f"rerank {n}": [] for n in READ}}
    started = time.perf_counter()
    for first in range(0, len(questions), batch):
        chunk = questions[first : first + batch]
        ranked = index.search_many([q for q, _ in chunk], k=max(READ), rerank=max(READ),
                                   vectors=vectors[first : first + batch])
        for (_, answers), results in zip(chunk, ranked):
            answers = [a.lower() for a in answers if a.strip()]
            by_retrieval = sorted(results, key=lambda r: -r.retrieval_score)
            found["hybrid"].append(first_hit([r.text.lower() for r in by_retrieval], answers))
            for n in READ:
                head = sorted(by_retrieval[:n], key=lambda r: -fused_score(r.retrieval_score, r.reader_score))
                found[f"rerank {n}"].append(first_hit([r.text.lower() for r in head + by_retrieval[n:]], answers))
        report = {"questions_done": first + len(chunk), "seconds": round(time.perf_counter() - started, 1),
                  **{name: recall(f) for name, f in found.items()}}
        write(report)
        print(json.dumps(report), flush=True)
    return report


def hybrid(index, questions, vectors) -> dict:
    """Hybrid alone (no reader), at the index's own weight and at the train-tuned 0.6, every question."""
    rows = {}
    for name, weight in (("own", None), ("0.6", 0.6)):
        ranked = index.search_many([q for q, _ in questions], k=20, vectors=vectors, dense_weight=weight)
        rows[name] = recall([first_hit([r.text.lower() for r in results], [a.lower() for a in answers if a.strip()])
                             for (_, answers), results in zip(questions, ranked)])
    return rows


def latency(cache: Path, questions, sample: int) -> dict:
    chosen = [q for q, _ in random.Random(0).sample(questions, sample)]
    settings = [(backend, n) for backend in ("torch", "onnx") for n in (0, 20)]
    indexes = {backend: Index(cache / "index", backend=backend) for backend in ("torch", "onnx")}
    times = {s: [] for s in settings}
    for backend, n in settings:  # warm up: models loaded, graphs exported
        indexes[backend].search(chosen[0], k=10, rerank=n)
    for question in chosen:
        for backend, n in settings:
            started = time.perf_counter()
            indexes[backend].search(question, k=10, rerank=n)
            times[backend, n].append(1000 * (time.perf_counter() - started))
    return {f"{backend} rerank={n}": {"p50_ms": round(statistics.median(t), 1),
                                      "p95_ms": round(float(np.percentile(t, 95)), 1)}
            for (backend, n), t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("quality", "hybrid", "latency"))
    parser.add_argument("--squad", default="../shared/data/squad/dev-v1.1.json")
    parser.add_argument("--cache", type=Path, default=Path(".cache/dev"))
    parser.add_argument("--questions-every", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    questions = questions_of(args.squad, args.cache, args.questions_every)
    load, name = os.getloadavg()[0], f"{args.step}-every{args.questions_every}"
    if args.step == "latency":
        report = latency(args.cache, questions, args.sample)
    elif args.step == "hybrid":
        index = Index(args.cache / "index", backend="torch")
        vectors_file = args.cache / f"questions-every{args.questions_every}.npy"
        if not vectors_file.exists():
            np.save(vectors_file, index.encoder.encode([q for q, _ in questions]))
        report = {"questions": len(questions), "dense_weight": index.info().dense_weight,
                  **hybrid(index, questions, np.load(vectors_file))}
    else:
        index = Index(args.cache / "index", backend="torch")
        adaptive_fusion.refresh(index.store, index.encoder.encode)  # an index built before adaptive fusion
        vectors = np.load(args.cache / f"questions-every{args.questions_every}.npy")
        head = {"questions": len(questions), "dense_weight": index.info().dense_weight, "load_before": load}
        report = {**head, **quality(index, questions, vectors, args.batch,
                                    lambda done: write(args.cache, name, {**head, **done}))}
    report["load_before"], report["load_after"] = load, os.getloadavg()[0]
    write(args.cache, name, report)
    print(json.dumps(report, indent=1))


def write(cache: Path, name: str, report: dict) -> None:
    (cache / f"search-rerank-{name}.json").write_text(json.dumps({**report, "load_now": os.getloadavg()[0]}, indent=1))


if __name__ == "__main__":
    main()
