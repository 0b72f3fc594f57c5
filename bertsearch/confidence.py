"""How likely an answer of `ask` is right: a calibrated confidence in [0, 1].

"Right" means SQuAD F1 >= 0.5 against the gold answers. The confidence is a
logistic regression over a handful of features that `ask` already knows about
each answer (FEATURES), fitted in the open setting where it is used: SQuAD v1.1
train articles, half of them indexed, questions asked of both halves, so that
the model sees answers whose document is there and answers whose document is
not (`bertsearch/eval/calibration.py`, `scripts/fit_confidence.py`).

The model is a few numbers stored under "confidence" in the reader's
`reader_config.json`: the features' means and scales, a weight each, a bias,
and the default cut `min_confidence` under which `ask` abstains. A reader
without them gets the fallback, `SoftmaxShare`: the answer's share of
exp(fused score) over all candidates, which is in [0, 1] and ranks answers
like `ask` does but is not calibrated. With no `min_confidence` given, that
fallback abstains as before this model existed: under the reader's
`no_answer_threshold` if it has one, else never.

Features are computed over all the distinct answers `ask` found (spans read
with at least SPANS_PER_WINDOW candidates per window, so the features do not
depend on how many alternatives are shown), in rank order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InvalidQueryError, InvalidSettingError

SPANS_PER_WINDOW = 5  # candidate spans read per window, whatever the number of alternatives asked for
MARGIN_CAP = 10.0  # margins are clipped to +-MARGIN_CAP (and the only answer text found gets +MARGIN_CAP)
RIGHT_F1 = 0.5  # an answer is "right" when its SQuAD F1 against the gold answers reaches this
FEATURES = ("span", "fused", "margin", "agreement", "rank", "cosine", "top_cosine")
FEATURE_HELP = {
    "span": "the reader's span score (start + end logit)",
    "fused": "the rank score: retrieval and reader scores fused (what answers are ordered by)",
    "margin": "fused score minus that of the best answer with another text",
    "agreement": "log of how many retrieved passages hold an answer with the same text",
    "rank": "log(1 + retrieval rank of the answer's passage), 0 for the best passage",
    "cosine": "cosine similarity of the answer's passage to the question (the dense score, in any mode)",
    "top_cosine": "the highest cosine similarity of any passage read: is anything in the index about this?",
}


@dataclass(frozen=True)
class Candidate:
    """What the features read of one answer."""

    text: str
    span_score: float
    rank_score: float
    retrieval_score: float
    passage: int  # which of the passages read it was found in
    cosine: float = 0.0  # its passage's cosine similarity to the question


def features(candidates: Sequence[Candidate], retrieval_scores: Sequence[float],
             cosines: Sequence[float] = ()) -> list[list[float]]:
    """One row of FEATURES per candidate; `candidates` are all distinct answers of one question,
    `retrieval_scores` and `cosines` those of every passage read."""
    from .eval.squad import normalize_answer

    texts = [normalize_answer(c.text) for c in candidates]
    passages_by_text: dict[str, set] = {}
    best_by_text: dict[str, float] = {}
    for c, text in zip(candidates, texts):
        passages_by_text.setdefault(text, set()).add(c.passage)
        best_by_text[text] = max(best_by_text.get(text, -math.inf), c.rank_score)
    top_cosine = max(cosines, default=0.0)
    rows = []
    for c, text in zip(candidates, texts):
        other = max((s for t, s in best_by_text.items() if t != text), default=None)
        margin = MARGIN_CAP if other is None else max(-MARGIN_CAP, min(MARGIN_CAP, c.rank_score - other))
        rank = sum(score > c.retrieval_score for score in retrieval_scores)
        rows.append([c.span_score, c.rank_score, margin, math.log(len(passages_by_text[text])), math.log1p(rank),
                     c.cosine, top_cosine])
    return rows


@dataclass(frozen=True)
class ConfidenceModel:
    """confidence = sigmoid(bias + sum(weight * (feature - mean) / scale)); `min_confidence` is the default cut."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    min_confidence: float
    features: tuple[str, ...] = FEATURES
    calibrated: bool = True

    def score(self, candidates: Sequence[Candidate], *, retrieval_scores: Sequence[float],
              cosines: Sequence[float] = ()) -> list[float]:
        """The confidence of each of one question's distinct answers (see `features`)."""
        return self.predict(features(candidates, retrieval_scores, cosines))

    def predict(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """The confidence of each feature row."""
        out = []
        for row in rows:
            z = self.bias + sum(w * (x - m) / s for w, x, m, s in zip(self.weights, row, self.mean, self.scale))
            out.append(_sigmoid(z))
        return out

    def accepts(self, confidence: float, *, best: Candidate, min_confidence: float | None = None) -> bool:
        """Whether `ask` gives its best answer (rather than abstaining): its confidence reaches the cut."""
        return confidence >= (self.min_confidence if min_confidence is None else min_confidence)

    def to_config(self, **about) -> dict:
        """The numbers to store under "confidence" in reader_config.json, with notes on how they were fitted."""
        return {"features": list(self.features), "weights": list(self.weights), "bias": self.bias,
                "mean": list(self.mean), "scale": list(self.scale), "min_confidence": self.min_confidence,
                "right": f"SQuAD F1 >= {RIGHT_F1} against the gold answers", **about}

    @classmethod
    def from_config(cls, config: dict) -> ConfidenceModel:
        """The model stored under "confidence" in a reader_config.json; refused if it reads other features."""
        names = tuple(config.get("features", ()))
        if names != FEATURES:
            raise InvalidSettingError(
                f"the reader's confidence model reads features {list(names)}, but this bertsearch computes "
                f"{list(FEATURES)}: fit it again with scripts/fit_confidence.py"
            )
        return cls(tuple(config["weights"]), float(config["bias"]), tuple(config["mean"]),
                   tuple(config["scale"]), float(config["min_confidence"]))


class SoftmaxShare:
    """The fallback for a reader with no fitted model: each answer's share of exp(fused score) over
    all candidates. In [0, 1] and monotone in the fused score, but not calibrated."""

    calibrated = False
    features = ("fused",)  # what it reads: `ask` need not compute the cosines

    def __init__(self, no_answer_threshold: float | None = None):
        self.no_answer_threshold = no_answer_threshold

    def score(self, candidates: Sequence[Candidate], *, retrieval_scores: Sequence[float] = (),
              cosines: Sequence[float] = ()) -> list[float]:
        fused = [c.rank_score for c in candidates]
        if not fused:
            return []
        top = max(fused)
        weights = [math.exp(f - top) for f in fused]
        total = sum(weights)
        return [w / total for w in weights]

    def accepts(self, confidence: float, *, best: Candidate, min_confidence: float | None = None) -> bool:
        """With no cut given: the reader's no-answer threshold on the span score, if it has one."""
        if min_confidence is not None:
            return confidence >= min_confidence
        return self.no_answer_threshold is None or best.span_score >= self.no_answer_threshold


def check_min_confidence(value: float | None) -> float | None:
    """`value` itself, if it is a possible cut (None or in [0, 1])."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise InvalidQueryError(f"min_confidence must be between 0 and 1, not {value}")
    return value


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


class ReaderConfidence:
    """What a reader (torch or ONNX) gives `ask` as `reader.confidence`: the model fitted for it
    in its reader_config.json, else the uncalibrated fallback over its no-answer threshold."""

    no_answer_threshold: float | None = None
    _fitted_confidence: "ConfidenceModel | None" = None

    def _read_confidence(self, config: dict) -> None:
        self.no_answer_threshold = config.get("no_answer_threshold")
        self._fitted_confidence = ConfidenceModel.from_config(config["confidence"]) if "confidence" in config else None

    @property
    def confidence(self) -> "ConfidenceModel | SoftmaxShare":
        return self._fitted_confidence or SoftmaxShare(self.no_answer_threshold)

    @confidence.setter
    def confidence(self, model) -> None:
        self._fitted_confidence = model
