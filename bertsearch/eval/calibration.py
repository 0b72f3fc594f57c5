"""Fitting and checking `ask`'s confidence in the open setting (see bertsearch/confidence.py).

The open setting: some SQuAD articles are indexed (one document each, written
by `evaluation.write_corpus` and added with `Index.add`), and questions are
asked of indexed articles ("in": the corpus holds the answer), of articles left
out ("out": it does not) and, on SQuAD v2.0, unanswerable questions about
indexed articles ("unanswerable"). Every question goes through `Index.ask_many`
itself, always answering; a recorder standing in for the reader's confidence
model keeps what `ask` gave it (every distinct answer's scores, the passages'
retrieval scores and cosines), so the fit sees exactly what the product sees.
The records, with each answer's SQuAD EM and F1, are cached as JSON lines, so
fitting and reporting never read again, and features can be recomputed.

Then: a logistic regression over the features (Newton's method, a little L2),
the default cut, and the reliability table with its expected calibration error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..confidence import FEATURES, RIGHT_F1, Candidate, ConfidenceModel, features
from .squad import SquadQuestion, score_prediction

RELIABILITY_BINS = 10


@dataclass
class Asked:
    """One question of the open setting and what `ask` found, always answering: every distinct
    answer (best first) as the confidence model saw it, and each answer's SQuAD EM and F1."""

    id: str
    question: str
    kind: str  # "in", "out" or "unanswerable"
    retrieval_scores: list[float]  # of every passage read
    candidates: list[list]  # text, span score, rank score, retrieval score, passage number, cosine
    em: list[float]
    f1: list[float]
    cosines: list[float]  # of every passage read

    def rows(self) -> list[list[float]]:
        """The feature rows of every candidate, as `ask` computes them."""
        return features([Candidate(*c) for c in self.candidates], self.retrieval_scores, self.cosines)

    def confidences(self, model) -> list[float]:
        return model.score([Candidate(*c) for c in self.candidates], retrieval_scores=self.retrieval_scores,
                           cosines=self.cosines)

    @property
    def right(self) -> list[bool]:
        return [f >= RIGHT_F1 for f in self.f1]


class _Recorder:
    """Stands in for a reader's confidence model: scores with it, and keeps what it was given, call by call."""

    features = FEATURES  # so that `ask` computes every feature

    def __init__(self, model):
        self.model, self.seen = model, []

    def score(self, candidates, *, retrieval_scores, cosines=()):
        self.seen.append((list(candidates), list(retrieval_scores), list(cosines)))
        return self.model.score(candidates, retrieval_scores=retrieval_scores, cosines=cosines)

    def accepts(self, confidence, *, best, min_confidence=None):
        return self.model.accepts(confidence, best=best, min_confidence=min_confidence)


def ask_all(index, questions: Sequence[tuple[SquadQuestion, str]], records: Path, k: int = 10,
            progress: bool = False, batch: int = 16) -> list[Asked]:
    """Ask each (question, kind) with `Index.ask_many`, `batch` at a time, always answering, and
    record what its confidence saw.

    Each record is appended to `records` (JSON lines) as it comes; questions already
    recorded there are not asked again, so an interrupted run resumes.
    """
    from tqdm.auto import tqdm

    done = {a.id: a for a in load(records)} if records.exists() else {}
    todo = [(q, kind) for q, kind in questions if q.id not in done]
    reader = index.reader
    recorder = _Recorder(reader.confidence)
    reader.confidence = recorder
    records.parent.mkdir(parents=True, exist_ok=True)
    try:
        with records.open("a") as out, tqdm(total=len(todo), desc="ask", disable=not progress) as bar:
            for first in range(0, len(todo), batch):
                chunk = todo[first : first + batch]
                results = index.ask_many([q.question for q, _ in chunk], k=k, alternatives=0, always_answer=True)
                seen = iter(recorder.seen)  # one call per question that had an answer, in order
                for (q, kind), result in zip(chunk, results):
                    done[q.id] = _record(q, kind, *(next(seen) if result.confidence is not None else ([], [], [])))
                    out.write(json.dumps(done[q.id].__dict__) + "\n")
                out.flush()
                recorder.seen = []
                bar.update(len(chunk))
    finally:
        reader.confidence = recorder.model
    return [done[q.id] for q, _ in questions]


def _record(q: SquadQuestion, kind: str, candidates: list[Candidate], retrieval_scores: list[float],
            cosines: list[float]) -> Asked:
    scores = [score_prediction(q, c.text) for c in candidates]
    return Asked(q.id, q.question, kind, retrieval_scores,
                 [[c.text, c.span_score, c.rank_score, c.retrieval_score, c.passage, c.cosine] for c in candidates],
                 [em for em, _ in scores], [f1 for _, f1 in scores], cosines)


def load(path: Path) -> list[Asked]:
    """The records of a JSON-lines file written by `ask_all`."""
    return [Asked(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def open_setting(squad: dict, indexed: Sequence[int], asked_articles: Sequence[int], every: int = 1, seed: int = 0
                 ) -> tuple[list[dict], list[tuple[SquadQuestion, str]]]:
    """The articles to index, and every `every`th question of `asked_articles` with its kind, shuffled
    (so that any first part of a run mixes the kinds)."""
    import random

    from .squad import squad_questions

    articles = squad["data"]
    indexed_set, asked_set = set(indexed), set(asked_articles)
    chosen = [q for q in squad_questions(squad) if q.article in asked_set][::every]
    random.Random(seed).shuffle(chosen)
    kinds = ["unanswerable" if q.is_impossible else "in" if q.article in indexed_set else "out" for q in chosen]
    return [articles[a] for a in indexed], list(zip(chosen, kinds))


def build_index(index_path: Path, articles: list[dict], **index_options):
    """Index `articles` (one document each) in `index_path`, their files beside it; reuses what is there."""
    from .evaluation import DOCUMENTS_SUFFIX, write_corpus
    from ..index import Index

    documents = index_path.with_name(index_path.name + DOCUMENTS_SUFFIX)
    write_corpus(articles, documents)
    index = Index(index_path, **index_options)
    index.add([documents])
    return index


# -- fitting --------------------------------------------------------------------


def fit_logistic(rows: Sequence[Sequence[float]], labels: Sequence[bool], l2: float = 1e-3,
                 iterations: int = 50) -> tuple[list[float], float, list[float], list[float]]:
    """(weights, bias, mean, scale) of a logistic regression on standardised features, by Newton's method."""
    import numpy as np

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    beta = np.zeros(design.shape[1])
    penalty = l2 * len(x) * np.eye(len(beta))
    penalty[0, 0] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[1:].tolist(), float(beta[0]), mean.tolist(), scale.tolist()


def fit_model(asked: list[Asked], min_confidence: float = 0.5) -> ConfidenceModel:
    """A ConfidenceModel fitted on every question's best answer."""
    found = [a for a in asked if a.candidates]
    weights, bias, mean, scale = fit_logistic([a.rows()[0] for a in found], [a.right[0] for a in found])
    return ConfidenceModel(tuple(weights), bias, tuple(mean), tuple(scale), min_confidence, FEATURES)


def best_confidences(asked: list[Asked], model) -> list[float]:
    """Each question's best answer's confidence under `model` (0 where nothing was found)."""
    return [a.confidences(model)[0] if a.candidates else 0.0 for a in asked]


def choose_cut(asked: list[Asked], model, keep_answered: float) -> float:
    """The highest cut at which `ask` still answers `keep_answered` of the in-corpus questions."""
    confidences = sorted((c for a, c in zip(asked, best_confidences(asked, model)) if a.kind == "in"), reverse=True)
    if not confidences:
        return 0.0
    return confidences[max(1, math.ceil(keep_answered * len(confidences))) - 1]


# -- reporting ------------------------------------------------------------------


def reliability(confidences: Sequence[float], rights: Sequence[bool], bins: int = RELIABILITY_BINS) -> dict:
    """Predicted confidence in equal-width bins against the observed share right, and the expected
    calibration error (the bins' |mean confidence - share right|, weighted by their sizes)."""
    table, ece, n = [], 0.0, len(confidences)
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(c, r) for c, r in zip(confidences, rights) if low <= c < high or (b == bins - 1 and c == 1.0)]
        if not inside:
            continue
        mean = sum(c for c, _ in inside) / len(inside)
        right = sum(r for _, r in inside) / len(inside)
        table.append({"low": low, "high": high, "count": len(inside), "confidence": mean, "right": right})
        ece += len(inside) / n * abs(mean - right)
    return {"bins": table, "ece": ece, "count": n}


def summary(asked: list[Asked], model, cut: float | None = None) -> dict:
    """Per kind of question: answered share at the cut (default: the model's), EM/F1 of the best answer
    with the cut and always answering, and the reliability of its confidence."""
    cut = model.min_confidence if cut is None else cut
    confidences = best_confidences(asked, model)
    out = {}
    for kind in ("in", "out", "unanswerable"):
        mine = [(a, c) for a, c in zip(asked, confidences) if a.kind == kind]
        if not mine:
            continue
        best = [(c, a.em[0], a.f1[0], a.right[0]) if a.candidates else (0.0, 0.0, 0.0, False) for a, c in mine]
        answered = [c >= cut for c, *_ in best]
        n = len(mine)
        out[kind] = {
            "questions": n,
            "answered": sum(answered) / n,
            "exact_match": 100 * sum(em for (_, em, _, _), kept in zip(best, answered) if kept) / n,
            "f1": 100 * sum(f1 for (_, _, f1, _), kept in zip(best, answered) if kept) / n,
            "exact_match_always": 100 * sum(em for _, em, _, _ in best) / n,
            "f1_always": 100 * sum(f1 for _, _, f1, _ in best) / n,
            "right_always": sum(r for *_, r in best) / n,
            "reliability": reliability([c for c, *_ in best], [r for *_, r in best]),
        }
    return out
