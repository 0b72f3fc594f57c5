"""Fusing dense (cosine) and BM25 scores into one ranking: the "hybrid" search mode's arithmetic.

Each side nominates its best `CANDIDATES` passages; every candidate then gets
both scores (cosine for all of them, BM25 where it has a query word, else 0),
each side is turned into z-scores over the candidates, and the fused score is
`DENSE_WEIGHT * z(cosine) + (1 - DENSE_WEIGHT) * z(BM25)`. The form, the weight
and the candidate count were tuned on SQuAD v1.1 train (docs/benchmarks.md).
"""

from collections.abc import Mapping

import numpy as np


CANDIDATES = 100
DENSE_WEIGHT = 0.6
FORM = "zscore"
FORMS = ("zscore", "minmax", "rrf")
RRF_K = 60


def fuse(dense: Mapping[int, float], lexical: Mapping[int, float], weight: float | None = None,
         form: str | None = None) -> list[tuple[int, float]]:
    """(passage id, fused score) for every candidate, best first.

    `dense` must score every candidate; a candidate missing from `lexical` has
    no query word in it and scores 0 there. `weight` (of the dense side) and
    `form` default to the tuned DENSE_WEIGHT and FORM.
    """
    weight = DENSE_WEIGHT if weight is None else weight
    form = form or FORM
    ids = list(dense)
    if not ids:
        return []
    cosine = np.array([dense[i] for i in ids], dtype=np.float64)
    bm25 = np.array([lexical.get(i, 0.0) for i in ids], dtype=np.float64)
    fused = weight * normalise(cosine, form) + (1 - weight) * normalise(bm25, form)
    order = np.argsort(-fused, kind="stable")
    return [(ids[j], float(fused[j])) for j in order]


def normalise(scores: np.ndarray, form: str) -> np.ndarray:
    """`scores` on a common scale, by `form` (one of FORMS)."""
    if form == "zscore":
        spread = scores.std()
        return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)
    if form == "minmax":
        spread = scores.max() - scores.min()
        return (scores - scores.min()) / spread if spread > 0 else np.zeros_like(scores)
    if form == "rrf":
        ranks = np.empty(len(scores))
        ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
        return 1.0 / (RRF_K + ranks)
    raise ValueError(f"unknown fusion form {form!r}: use one of {', '.join(FORMS)}")
