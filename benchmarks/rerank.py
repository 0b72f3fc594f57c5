"""Re-ranking `ask`'s passages with the reader's score, on SQuAD v1.1 (tuned on train, reported on dev).

Three steps, so that the reader can run on a GPU machine that has no faiss:

1. `candidates`: the hybrid top-k passages of every question (bertsearch's own
   `Index.search_many` given the question vectors, with the index and vectors cached by benchmarks/hybrid.py
   and benchmarks/tune_fusion.py), written as one .json.gz.
2. `benchmarks/rerank_scores.py` (where the GPU is): the reader's best span of
   every (question, passage) pair.
3. `evaluate`: fuse the two scores for a grid of forms and weights on train,
   pick the best top-1, and report dev with that choice. A hit: a passage that
   contains a gold answer (case-insensitive substring). Exact match and F1 are
   those of the best answer under each ranking (SQuAD's official normalisation).

    python benchmarks/rerank.py candidates --squad ../shared/data/squad/dev-v1.1.json --cache .cache/dev
    python benchmarks/rerank.py candidates --squad ../shared/data/squad/train-v1.1.json --every 20 --cache .cache/train20
    python benchmarks/rerank_scores.py .cache/dev/candidates.json.gz .cache/dev/reader.npz
    python benchmarks/rerank.py evaluate --train .cache/train20 --dev .cache/dev
"""

import argparse
import gzip
import json
from pathlib import Path

import numpy as np

from squad_files import load_articles, write_articles

from bertsearch.eval.squad import exact_match, f1_score

K = 20
KS = (1, 5, 20)
WEIGHTS = [round(w, 2) for w in np.arange(0.0, 1.001, 0.05)]


def candidates(squad: str, every: int, cache: Path) -> None:
    from bertsearch import Index

    questions = write_articles(load_articles(squad, every), cache / "articles")
    vectors = np.load(cache / "questions.npy")
    index = Index(cache / "index")
    rows = sorted((p.id, p.text) for p in index.passages())
    position = {row[0]: n for n, row in enumerate(rows)}
    ranked, scores = [], []
    found = index.search_many([q for q, _ in questions], k=K, mode="hybrid", vectors=vectors)
    for results in found:
        ranked.append([position[r.id] for r in results] + [-1] * (K - len(results)))
        scores.append([r.score for r in results] + [None] * (K - len(results)))
    data = {"squad": squad, "every": every, "questions": [q for q, _ in questions],
            "answers": [a for _, a in questions], "passages": [r[1] for r in rows],
            "candidates": ranked, "retrieval": scores}
    with gzip.open(cache / "candidates.json.gz", "wt", encoding="utf-8") as file:
        json.dump(data, file)
    print(f"{len(questions)} questions, {len(rows)} passages -> {cache / 'candidates.json.gz'}")


def zscore(scores: np.ndarray) -> np.ndarray:
    """Per question (row), over its finite entries; -inf stays -inf."""
    finite = np.isfinite(scores)
    values = np.where(finite, scores, np.nan)
    mean, spread = np.nanmean(values, axis=1, keepdims=True), np.nanstd(values, axis=1, keepdims=True)
    z = (values - mean) / np.where(spread > 0, spread, 1.0)
    return np.where(finite, z, -np.inf)


def fused(retrieval: np.ndarray, reader: np.ndarray, form: str, weight: float) -> np.ndarray:
    """The score `ask` ranks passages by: (1 - weight) * retrieval + weight * reader."""
    if form == "zscore":
        retrieval, reader = zscore(retrieval), zscore(reader)
    return (1 - weight) * retrieval + weight * reader


class Run:
    """One question set: candidates, reader scores, gold hits and answer quality per candidate."""

    def __init__(self, cache: Path, k: int):
        with gzip.open(cache / "candidates.json.gz", "rt", encoding="utf-8") as file:
            data = json.load(file)
        reader = np.load(cache / "reader.npz")
        ids = np.array(data["candidates"])[:, :k]
        self.retrieval = np.array([[s if s is not None else -np.inf for s in row[:k]] for row in data["retrieval"]])
        self.reader = reader["score"][:, :k].astype(np.float64)
        self.gold = np.zeros(ids.shape, dtype=bool)
        lowered = [p.lower() for p in data["passages"]]
        for q, answers in enumerate(data["answers"]):
            answers = [a.lower() for a in answers if a.strip()]
            self.gold[q] = [p >= 0 and any(a in lowered[p] for a in answers) for p in ids[q]]
        self.ids, self.spans, self.data = ids, reader["span"], data
        self.quality: dict[tuple[int, int], tuple[float, float]] = {}
        self.questions = len(ids)

    def answer_quality(self, q: int, j: int) -> tuple[float, float]:
        """(EM, F1) of the reader's best span in candidate j of question q, worked out once."""
        if (q, j) not in self.quality:
            start, end = self.spans[q, j]
            answer = self.data["passages"][self.ids[q, j]][start:end]
            answers = self.data["answers"][q]
            self.quality[q, j] = (max(exact_match(answer, a) for a in answers),
                                  max(f1_score(answer, a) for a in answers))
        return self.quality[q, j]

    def measure(self, scores: np.ndarray) -> dict:
        order = np.argsort(-scores, axis=1, kind="stable")
        hits = np.take_along_axis(self.gold, order, axis=1)
        first = np.where(hits.any(axis=1), hits.argmax(axis=1), 10**6)
        quality = np.array([self.answer_quality(q, j) for q, j in enumerate(order[:, 0])])
        return {**{f"top{k}": round(float((first < k).mean()), 4) for k in KS if k <= self.gold.shape[1]},
                "em": round(100 * float(quality[:, 0].mean()), 1), "f1": round(100 * float(quality[:, 1].mean()), 1)}


def evaluate(train: Path, dev: Path, k: int) -> dict:
    runs = {"train": Run(train, k), "dev": Run(dev, k)}
    grid = {}
    for form in ("raw", "zscore"):
        for weight in WEIGHTS:
            grid[f"{form} w={weight}"] = runs["train"].measure(fused(runs["train"].retrieval, runs["train"].reader,
                                                                     form, weight))
    best = max(grid, key=lambda key: (grid[key]["top1"], grid[key]["top5"]))
    form, weight = best.split()[0], float(best.split("=")[1])
    report = {"k": k, "train_grid": grid, "chosen": {"form": form, "weight": weight}}
    for name, run in runs.items():
        report[name] = {
            "questions": run.questions,
            "hybrid": run.measure(run.retrieval),
            "reader only": run.measure(run.reader),
            f"fused {form} w={weight}": run.measure(fused(run.retrieval, run.reader, form, weight)),
        }
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("candidates")
    step.add_argument("--squad", required=True)
    step.add_argument("--every", type=int, default=1)
    step.add_argument("--cache", type=Path, required=True)
    step = steps.add_parser("evaluate")
    step.add_argument("--train", type=Path, default=Path(".cache/train20"))
    step.add_argument("--dev", type=Path, default=Path(".cache/dev"))
    step.add_argument("--k", type=int, default=K, help="passages read per question (ask's k)")
    args = parser.parse_args()
    if args.step == "candidates":
        candidates(args.squad, args.every, args.cache)
        return
    report = evaluate(args.train, args.dev, args.k)
    (args.dev / f"rerank-k{args.k}.json").write_text(json.dumps(report, indent=1))
    print(f"train grid (k={args.k}), form and weight of the reader:")
    for key, row in report["train_grid"].items():
        print(f"  {key:14s} {row}")
    print("chosen on train:", report["chosen"])
    for name in ("train", "dev"):
        print(f"\n{name} ({report[name]['questions']} questions, k={args.k})\n| ranking | top-1 | top-5 | top-20 | EM | F1 |\n|---|---|---|---|---|---|")
        for ranking, row in report[name].items():
            if ranking != "questions":
                print(f"| {ranking} | {row['top1']:.1%} | {row.get('top5', 0):.1%} | {row.get('top20', float('nan')):.1%} "
                      f"| {row['em']} | {row['f1']} |")


if __name__ == "__main__":
    main()
