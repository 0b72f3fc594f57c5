"""Ranking what the reader found: answers and passages by retrieval and reader scores fused.

An answer's `rank_score` is (1 - READER_WEIGHT) * its passage's retrieval score
+ READER_WEIGHT * the reader's score (start + end logit), as BERTserini does. A
passage ranks by its best answer; one where the reader found nothing comes after
the others, in retrieval order. Alternatives never overlap a better answer in
the same file. Below the reader's no-answer threshold, `ask` abstains unless
told to always answer.
"""

import math
from collections.abc import Sequence

from .reader import Span
from .results import Answer, AskResult, SearchResult

# Tuned on SQuAD v1.1 train (every 20th article, 4,533 questions, hybrid top 20,
# bundled reader): top-1 passage 85.1% -> 92.1%; on dev 83.0% -> 88.3% (top-5
# 96.5% -> 97.9%, best answer F1 68.4 -> 74.3). See docs/benchmarks.md and
# benchmarks/rerank.py. The weight suits the hybrid score's scale; other modes are untuned.
READER_WEIGHT = 0.2


def rank_answers(question: str, passages: Sequence[SearchResult], spans: Sequence[Span], *,
                 threshold: float | None, wanted: int, always_answer: bool = False) -> AskResult:
    """The AskResult for `spans` the reader found in `passages` (`Span.context_index` indexes them):
    at most `wanted` distinct answers, best first, and the passages re-ranked."""
    passages = list(passages)
    confident = not spans or threshold is None or max(s.score for s in spans) >= threshold
    if not confident and not always_answer:
        return AskResult(question, [], passages, confident=False)
    answers, best = [], {}
    for span in spans:
        passage = passages[span.context_index]
        answer = _answer(span, passage)
        best[span.context_index] = max(best.get(span.context_index, -math.inf), answer.rank_score)
        answers.append(answer)
    answers.sort(key=lambda answer: -answer.rank_score)
    order = sorted(range(len(passages)), key=lambda i: -best.get(i, -math.inf))
    return AskResult(question, distinct(answers)[:wanted], [passages[i] for i in order], confident)


def distinct(answers: list[Answer]) -> list[Answer]:
    """Drop each answer that overlaps a better one in the same file: alternatives say something new."""
    kept: list[Answer] = []
    for answer in answers:
        if not any(a.path == answer.path and a.start < answer.end and answer.start < a.end for a in kept):
            kept.append(answer)
    return kept


def _answer(span: Span, passage: SearchResult) -> Answer:
    return Answer(
        text=span.text, score=span.score, path=passage.path, start=passage.start + span.start,
        end=passage.start + span.end, line=passage.line + passage.text.count("\n", 0, span.start),
        passage=passage.text, passage_start=span.start, passage_end=span.end, retrieval_score=passage.score,
        rank_score=(1 - READER_WEIGHT) * passage.score + READER_WEIGHT * span.score,
    )
