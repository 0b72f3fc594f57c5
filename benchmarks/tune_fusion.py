"""Tune hybrid retrieval on SQuAD v1.1 *train* (never dev): tokenizer, fusion form, weight, candidates.

Indexes every `--every`-th train article as a file (default settings), encodes
the questions once, scores every question against every passage with cosine and
with FTS5 BM25 (one in-memory FTS5 table per tokenizer), caches all of it under
`--cache`, then replays bertsearch's fusion (`bertsearch.fusion.fuse` logic:
each side nominates N candidates, both scores for all, normalised, weighted sum)
for a grid of settings. A hit: a retrieved passage containing a gold answer
(case-insensitive substring).

    python benchmarks/tune_fusion.py --squad ../shared/data/squad/train-v1.1.json --every 20
"""

import argparse
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

from squad_files import build_index

from bertsearch import bm25, fusion

TOKENIZERS = {
    "porter": "porter unicode61 remove_diacritics 2",
    "unicode61": "unicode61 remove_diacritics 2",
    "porter-keep-diacritics": "porter unicode61 remove_diacritics 0",
}
KS = (1, 5, 20)


def passages_of(index) -> tuple[np.ndarray, list[str], np.ndarray]:
    passages = sorted(index.passages(), key=lambda p: p.id)
    with index.store.snapshot():
        batches = list(index.store.iter_vectors(index.info().dim))
    ids = np.concatenate([i for i, _ in batches])
    assert ids.tolist() == [p.id for p in passages]
    return ids, [p.text for p in passages], np.concatenate([v for _, v in batches])


def cached(path: Path, compute):
    if path.exists():
        return np.load(path, allow_pickle=True)
    value = compute()
    np.save(path, value, allow_pickle=True)
    return value


def gold_matrix(texts, questions) -> np.ndarray:
    lowered = [t.lower() for t in texts]
    gold = np.zeros((len(questions), len(texts)), dtype=bool)
    for q, (_, answers) in enumerate(questions):
        answers = [a.lower() for a in answers if a.strip()]
        gold[q] = [any(a in t for a in answers) for t in lowered]
    return gold


def bm25_matrix(texts, questions, tokenizer: str, stopwords) -> np.ndarray:
    """BM25 of every question against every passage (0 where no word matches)."""
    db = sqlite3.connect(":memory:")
    db.execute(f"create virtual table t using fts5(text, tokenize='{tokenizer}')")
    db.executemany("insert into t(rowid, text) values (?, ?)", enumerate(texts))
    scores = np.zeros((len(questions), len(texts)), dtype=np.float32)
    for q, (question, _) in enumerate(questions):
        expression = bm25.match_expression(question, stopwords)
        if expression:
            for rowid, score in db.execute("select rowid, -bm25(t) from t where t match ?", [expression]):
                scores[q, rowid] = score
    return scores


def ranks(order_fn, gold) -> np.ndarray:
    """Rank (0-based) of the first hit for each question; a large number when none in the top 20."""
    found = np.full(len(gold), 10**6)
    for q in range(len(gold)):
        top = order_fn(q)[: max(KS)]
        hits = np.flatnonzero(gold[q, top])
        if len(hits):
            found[q] = hits[0]
    return found


def recall(found: np.ndarray) -> dict:
    return {f"top{k}": round(float((found < k).mean()), 4) for k in KS}


def top_n(scores: np.ndarray, n: int, positive: bool = False) -> np.ndarray:
    if positive:
        nonzero = np.flatnonzero(scores > 0)
        if len(nonzero) <= n:
            return nonzero
        return nonzero[np.argpartition(-scores[nonzero], n)[:n]]
    return np.argpartition(-scores, min(n, len(scores) - 1))[:n]


def fused_ranks(dense, bm25, gold, form, weights, n) -> dict:
    """First-hit ranks for each weight, with the candidate pooling bertsearch uses."""
    found = {w: np.full(len(gold), 10**6) for w in weights}
    for q in range(len(gold)):
        candidates = np.union1d(top_n(dense[q], n), top_n(bm25[q], n, positive=True))
        d = fusion.normalise(dense[q, candidates].astype(np.float64), form)
        b = fusion.normalise(bm25[q, candidates].astype(np.float64), form)
        hits_here = gold[q, candidates]
        for w in weights:
            order = np.argsort(-(w * d + (1 - w) * b), kind="stable")[: max(KS)]
            hits = np.flatnonzero(hits_here[order])
            if len(hits):
                found[w][q] = hits[0]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default="../shared/data/squad/train-v1.1.json")
    parser.add_argument("--every", type=int, default=20, help="use every N-th article")
    parser.add_argument("--cache", type=Path, default=Path(".cache/train20"))
    args = parser.parse_args()

    started = time.time()
    index, questions = build_index(args.squad, args.cache, every=args.every)
    ids, texts, vectors = passages_of(index)
    query_vectors = cached(args.cache / "questions.npy", lambda: index.encoder.encode([q for q, _ in questions]))
    gold = cached(args.cache / "gold.npy", lambda: gold_matrix(texts, questions))
    dense = query_vectors @ vectors.T
    print(f"{len(index.store.document_paths())} articles, {len(texts)} passages, {len(questions)} questions "
          f"({time.time() - started:.0f}s to load)", flush=True)

    report = {"passages": len(texts), "questions": len(questions), "dense": recall(ranks(lambda q: np.argsort(-dense[q]), gold))}
    print("dense", report["dense"], flush=True)
    bm25s = {}
    for name, tokenizer in TOKENIZERS.items():
        for stop_name, stopwords in (("stopwords", bm25.STOPWORDS), ("all-words", frozenset())):
            key = f"{name}/{stop_name}"
            bm25s[key] = cached(args.cache / f"bm25-{name}-{stop_name}.npy",
                                lambda: bm25_matrix(texts, questions, tokenizer, stopwords))
            report[f"bm25 {key}"] = recall(ranks(lambda q: np.argsort(-bm25s[key][q]), gold))
            print("bm25", key, report[f"bm25 {key}"], flush=True)

    weights = [round(w, 2) for w in np.arange(0.2, 0.81, 0.05)]
    for key in bm25s:
        for form in fusion.FORMS:
            for n in (20, 50, 100, 200):
                if (key != "porter/stopwords") and (form != "zscore" or n != 100):
                    continue
                found = fused_ranks(dense, bm25s[key], gold, form, weights, n)
                for w in weights:
                    result = recall(found[w])
                    report[f"hybrid {key} {form} n={n} w={w}"] = result
                best = max(weights, key=lambda w: (recall(found[w])["top1"], recall(found[w])["top5"]))
                print(f"hybrid {key} {form} n={n}: best w={best} {recall(found[best])}", flush=True)
    (args.cache / "tuning.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {args.cache / 'tuning.json'} ({time.time() - started:.0f}s)")


if __name__ == "__main__":
    main()
