"""The dense weight chosen from pseudo-queries (bertsearch.adaptive_fusion) against the true optimum on SQuAD.

For one SQuAD file (every `--every`-th article as files, default index settings,
or `--weak-encoder`: the bundled reader's BERT, mean-pooled, as the encoder, a
corpus where the vectors are weak), prints and writes:

- the pseudo-query curve (MRR of the target at each weight) and its optimum,
  the weight `adaptive_fusion.calibrate` records, and how long it took;
- the true curve: top-1 / top-5 / MRR of real questions (every `--questions-every`-th)
  at each weight, hybrid fused exactly as `retrieval` does, and dense and BM25 alone.

A hit: a passage holding a gold answer (case-insensitive substring), as in hybrid.py.

    python benchmarks/adaptive_fusion.py --squad ../shared/data/squad/train-v1.1.json --every 20 --cache .cache/train20
    python benchmarks/adaptive_fusion.py --squad ../shared/data/squad/dev-v1.1.json --questions-every 10 --cache .cache/dev
    python benchmarks/adaptive_fusion.py --squad ../shared/data/squad/dev-v1.1.json --questions-every 10 --cache .cache/dev-weak --weak-encoder
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from squad_files import load_articles, write_articles

from bertsearch import Index, adaptive_fusion, fusion
from bertsearch.retrieval import Retriever

KS = (1, 5)


def build(squad: str, cache: Path, every: int, weak: bool):
    from bertsearch.checkpoints import BUNDLED_READER_PATH

    questions = write_articles(load_articles(squad, every), cache / "articles")
    options = {"model": str(BUNDLED_READER_PATH), "pooling": "mean"} if weak else {}
    index = Index(cache / "index", **options)
    index.add([cache / "articles"])
    return index, questions


def first_hit(ranked: list[int], texts: dict[int, str], answers: list[str]) -> int:
    for rank, i in enumerate(ranked[:20]):
        if any(a in texts[i] for a in answers):
            return rank
    return 10**6


def summary(found: np.ndarray) -> dict:
    return {**{f"top{k}": round(float((found < k).mean()), 4) for k in KS},
            "mrr": round(float(np.where(found < 10**6, 1.0 / (found + 1), 0.0).mean()), 4)}


def true_curve(index, questions, vectors) -> dict:
    texts = {p.id: p.text.lower() for p in index.passages()}
    retriever = Retriever(index.store, index.encoder.encode)
    found = {w: [] for w in adaptive_fusion.WEIGHTS}
    single = {"dense": [], "bm25": []}
    for q, (question, answers) in enumerate(questions):
        answers = [a.lower() for a in answers if a.strip()]
        dense, lexical = retriever.hybrid_candidates(question, vectors[q : q + 1], fusion.CANDIDATES)
        for w in adaptive_fusion.WEIGHTS:
            found[w].append(first_hit([i for i, _ in fusion.fuse(dense, lexical, w)], texts, answers))
        single["dense"].append(first_hit(sorted(dense, key=lambda i: -dense[i]), texts, answers))
        single["bm25"].append(first_hit(sorted(lexical, key=lambda i: -lexical[i]), texts, answers))
    return {"hybrid": {w: summary(np.array(f)) for w, f in found.items()},
            **{name: summary(np.array(f)) for name, f in single.items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default="../shared/data/squad/dev-v1.1.json")
    parser.add_argument("--every", type=int, default=1, help="use every N-th article")
    parser.add_argument("--questions-every", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path(".cache/dev"))
    parser.add_argument("--weak-encoder", action="store_true")
    args = parser.parse_args()

    index, questions = build(args.squad, args.cache, args.every, args.weak_encoder)
    questions = questions[:: args.questions_every]
    vectors_file = args.cache / f"questions-every{args.questions_every}.npy"
    if not vectors_file.exists():
        np.save(vectors_file, index.encoder.encode([q for q, _ in questions]))
    vectors = np.load(vectors_file)

    started = time.perf_counter()
    curve, count = adaptive_fusion.pseudo_query_curve(index.store, index.encoder.encode)
    curve_seconds = time.perf_counter() - started
    started = time.perf_counter()
    record = adaptive_fusion.calibrate(index.store, index.encoder.encode)
    calibrate_seconds = time.perf_counter() - started
    truth = true_curve(index, questions, vectors)
    best = max(truth["hybrid"], key=lambda w: (truth["hybrid"][w]["top1"], truth["hybrid"][w]["mrr"]))
    report = {
        "squad": args.squad, "every": args.every, "weak_encoder": args.weak_encoder,
        "passages": index.info().passages, "questions": len(questions), "load": os.getloadavg()[0],
        "pseudo_queries": count, "pseudo_curve": {str(w): round(m, 4) for w, m in curve.items()},
        "pseudo_optimum": adaptive_fusion.best_weight(curve) if curve else None,
        "recorded": record, "calibrate_seconds": round(calibrate_seconds, 1), "curve_seconds": round(curve_seconds, 1),
        "true_optimum_top1": best, "dense": truth["dense"], "bm25": truth["bm25"],
        "hybrid": {str(w): row for w, row in truth["hybrid"].items()},
    }
    name = "adaptive-fusion-weak.json" if args.weak_encoder else "adaptive-fusion.json"
    (args.cache / name).write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "hybrid"}, indent=1))
    print("weight | pseudo MRR | top-1 | top-5 | MRR")
    for w in adaptive_fusion.WEIGHTS:
        row = truth["hybrid"][w]
        print(f"{w:.2f} | {curve.get(w, float('nan')):.4f} | {row['top1']:.1%} | {row['top5']:.1%} | {row['mrr']:.4f}")


if __name__ == "__main__":
    main()
