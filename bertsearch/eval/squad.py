"""SQuAD data and scoring: load v1.1/v2.0 JSON, and the official EM/F1.

The metrics follow the official SQuAD v2.0 evaluation script, which agrees with
the v1.1 script on every answerable question: answers are lowercased, stripped
of punctuation and of the articles a/an/the, whitespace is collapsed, and each
prediction is scored against its best gold answer. A question with no answer has
the empty string as its only gold.
"""

from __future__ import annotations

import collections
import gzip
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)
READ_BATCH = 64  # questions whose gold paragraphs are read together


@dataclass
class SquadQuestion:
    """One question with its paragraph; `answers` is empty when unanswerable."""

    id: str
    question: str
    context: str
    answers: list[str] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)
    title: str = ""
    article: int = -1  # positions in the file: data[article]["paragraphs"][paragraph]
    paragraph: int = -1

    @property
    def is_impossible(self) -> bool:
        return not self.answers


def read_squad_json(path: str | Path) -> dict:
    """The parsed SQuAD-format file (plain or .gz): {"version": ..., "data": [articles]}."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def load_squad(path: str | Path, limit: int | None = None) -> list[SquadQuestion]:
    """Read a SQuAD-format file (plain or .gz) into a flat list of questions."""
    return squad_questions(read_squad_json(path), limit)


def squad_questions(squad: dict, limit: int | None = None) -> list[SquadQuestion]:
    """The questions of a parsed SQuAD file, in file order, each with its paragraph."""
    questions = [
        SquadQuestion(
            id=qa["id"],
            question=qa["question"],
            context=paragraph["context"],
            answers=[a["text"] for a in qa["answers"]],
            answer_starts=[a["answer_start"] for a in qa["answers"]],
            title=article.get("title", ""),
            article=a,
            paragraph=p,
        )
        for a, article in enumerate(squad["data"])
        for p, paragraph in enumerate(article["paragraphs"])
        for qa in paragraph["qas"]
    ]
    return questions[:limit]


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1 of two answers; two empty answers score 1."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def gold_answers(question: SquadQuestion) -> list[str]:
    """The golds to score against: answers that survive normalisation, else ''."""
    return [a for a in question.answers if normalize_answer(a)] or [""]


def score_prediction(question: SquadQuestion, prediction: str) -> tuple[float, float]:
    """(EM, F1) of one prediction, each the max over the question's golds."""
    golds = gold_answers(question)
    return (
        max(exact_match(prediction, g) for g in golds),
        max(f1_score(prediction, g) for g in golds),
    )


def squad_metrics(questions: list[SquadQuestion], predictions: list[str]) -> dict:
    """EM and F1 in percent over all questions, and over HasAns/NoAns when both occur."""
    scores = [score_prediction(q, p) for q, p in zip(questions, predictions, strict=True)]
    metrics = _percentages(scores)
    has_answer = [not q.is_impossible for q in questions]
    if any(has_answer) and not all(has_answer):
        for name, wanted in (("HasAns", True), ("NoAns", False)):
            subset = [s for s, h in zip(scores, has_answer) if h == wanted]
            metrics.update({f"{name}_{k}": v for k, v in _percentages(subset).items()})
    return metrics


def _percentages(scores: list[tuple[float, float]]) -> dict:
    n = len(scores)
    return {
        "exact_match": 100 * sum(em for em, _ in scores) / n if n else 0.0,
        "f1": 100 * sum(f1 for _, f1 in scores) / n if n else 0.0,
        "total": n,
    }


def best_no_answer_threshold(
    questions: list[SquadQuestion], best_answers: list[tuple[str, float]]
) -> tuple[float, float]:
    """The score threshold that maximises F1 when answering '' below it.

    `best_answers` holds each question's best span and its score. As in the
    official v2.0 "best_f1", questions are answered in order of falling score
    and the cut that gives the highest total F1 wins. Returns (threshold, F1 in
    percent); answering is `score >= threshold`.
    """
    order = sorted(range(len(questions)), key=lambda i: -best_answers[i][1])
    total = best = sum(q.is_impossible for q in questions)
    threshold = float("inf")
    for i in order:
        text, score = best_answers[i]
        total += score_prediction(questions[i], text)[1] - score_prediction(questions[i], "")[1]
        if total > best:
            best, threshold = total, score
    return threshold, 100 * best / len(questions)


def read_best_answers(reader, questions: list[SquadQuestion], progress: bool = False) -> list[tuple[str, float]]:
    """Each question's best span in its own paragraph, as (text, score); ('', -inf) if none."""
    from tqdm.auto import tqdm

    best = []
    with tqdm(total=len(questions), desc="reading", disable=not progress) as bar:
        for first in range(0, len(questions), READ_BATCH):
            batch = questions[first : first + READ_BATCH]
            for spans in reader.read_batch([q.question for q in batch], [[q.context] for q in batch], top_n=1):
                best.append((spans[0].text, spans[0].score) if spans else ("", float("-inf")))
            bar.update(len(batch))
    return best


def evaluate_reader(reader, squad_file: str | Path, limit: int | None = None, progress: bool = False) -> dict:
    """EM/F1 of `reader` given each question's gold paragraph, always answering."""
    questions = load_squad(squad_file, limit)
    best = read_best_answers(reader, questions, progress)
    return squad_metrics(questions, [text for text, _ in best])


def calibrate_no_answer(reader, squad_file: str | Path, limit: int | None = None, progress: bool = False) -> dict:
    """Pick the no-answer threshold on a SQuAD v2.0 file, and score with and without it."""
    questions = load_squad(squad_file, limit)
    best = read_best_answers(reader, questions, progress)
    threshold, _ = best_no_answer_threshold(questions, best)
    return {
        "no_answer_threshold": threshold,
        "with_threshold": squad_metrics(questions, [t if s >= threshold else "" for t, s in best]),
        "without_threshold": squad_metrics(questions, [t for t, _ in best]),
    }
