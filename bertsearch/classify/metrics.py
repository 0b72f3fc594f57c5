"""Scoring predictions: accuracy, macro-F1, per-label precision/recall, the confusion matrix, calibration."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

CALIBRATION_BINS = 15


@dataclass
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    """`confusion[i][j]` counts texts of label i predicted as label j; `ece` is the expected
    calibration error of the top probability over CALIBRATION_BINS equal-width bins."""

    total: int
    accuracy: float
    macro_f1: float
    ece: float
    labels: list[str]
    per_label: dict[str, LabelScores]
    confusion: list[list[int]]

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_probabilities(probabilities: np.ndarray, targets: np.ndarray, labels: list[str]) -> Evaluation:
    """Score (n, labels) probabilities against the true label indices."""
    targets = np.asarray(targets)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(confusion, (targets, predicted), 1)
    per_label = {}
    for i, label in enumerate(labels):
        hits, said, truth = confusion[i, i], confusion[:, i].sum(), confusion[i].sum()
        precision = hits / said if said else 0.0
        recall = hits / truth if truth else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScores(float(precision), float(recall), float(f1), int(truth))
    present = [s.f1 for s in per_label.values() if s.support]
    return Evaluation(
        total=len(targets),
        accuracy=float((predicted == targets).mean()) if len(targets) else 0.0,
        macro_f1=float(np.mean(present)) if present else 0.0,
        ece=expected_calibration_error(probabilities, targets),
        labels=list(labels),
        per_label=per_label,
        confusion=confusion.tolist(),
    )


def expected_calibration_error(probabilities: np.ndarray, targets: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """How far confidence is from accuracy, averaged over confidence bins weighted by their size."""
    if not len(targets):
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(targets)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(gap)
