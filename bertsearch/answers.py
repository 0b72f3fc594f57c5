"""Ranking what the reader found: answers and passages by retrieval and reader scores fused.

An answer's `rank_score` is (1 - READER_WEIGHT) * its passage's retrieval score
+ READER_WEIGHT * the reader's score (start + end logit), as BERTserini does. A
passage ranks by its best answer; one where the reader found nothing comes after
the others, in retrieval order. Alternatives never overlap a better answer in
the same file. Every answer gets a confidence from the reader's confidence
model (`confidence.py`), and below the cut `ask` abstains unless told to always
answer.
"""

import math
from collections.abc import Sequence

from .confidence import SPANS_PER_WINDOW, Candidate
from .reader import Span
from .results import Answer, AskResult, SearchResult

# Tuned on SQuAD v1.1 train (every 20th article, 4,533 questions, hybrid top 20,
# bundled reader): top-1 passage 85.1% -> 92.1%; on dev 83.0% -> 88.3% (top-5
# 96.5% -> 97.9%, best answer F1 68.4 -> 74.3). See docs/benchmarks.md and
# benchmarks/rerank.py. The weight suits the hybrid score's scale; other modes are untuned.
READER_WEIGHT = 0.2


def needs_cosines(reader) -> bool:
    """Whether the reader's confidence model reads each passage's cosine to the question."""
    return "cosine" in reader.confidence.features


def read_and_rank(questions: Sequence[str], retrieved: Sequence[Sequence[SearchResult]], *, reader, store,
                  question_vectors=None, wanted: int, min_confidence: float | None = None,
                  always_answer: bool = False) -> list[AskResult]:
    """Each question's AskResult: its retrieved passages read in one reader batch for all the questions,
    then ranked. `question_vectors` (one row per question) give the cosines when `needs_cosines(reader)`."""
    found = reader.read_batch(questions, [[p.text for p in passages] for passages in retrieved],
                              top_n=None, per_window=max(wanted, SPANS_PER_WINDOW))
    return [rank_answers(question, passages, spans, confidence=reader.confidence, wanted=wanted,
                         cosines=None if question_vectors is None else cosines(store, question_vectors[n], passages),
                         min_confidence=min_confidence, always_answer=always_answer)
            for n, (question, passages, spans) in enumerate(zip(questions, retrieved, found))]


def cosines(store, vector, passages: Sequence[SearchResult]) -> list[float]:
    """Each passage's cosine similarity to the question whose vector this is, whatever the search mode."""
    if not passages:
        return []
    return (store.vectors([p.id for p in passages]) @ vector).tolist()


def rank_answers(question: str, passages: Sequence[SearchResult], spans: Sequence[Span], *, confidence,
                 wanted: int, cosines: Sequence[float] | None = None, min_confidence: float | None = None,
                 always_answer: bool = False) -> AskResult:
    """The AskResult for `spans` the reader found in `passages` (`Span.context_index` indexes them):
    at most `wanted` distinct answers, best first, each with its confidence under the model
    `confidence` (given each passage's `cosines` to the question when it reads them), and the
    passages re-ranked; no answers when the best one's confidence is under the cut."""
    passages = list(passages)
    cosines = list(cosines) if cosines is not None else [0.0] * len(passages)
    answers, best, read_in = [], {}, {}
    for span in spans:
        passage = passages[span.context_index]
        answer = _answer(span, passage)
        best[span.context_index] = max(best.get(span.context_index, -math.inf), answer.rank_score)
        answers.append(answer)
        read_in[id(answer)] = span.context_index
    answers.sort(key=lambda answer: -answer.rank_score)
    answers = distinct(answers)
    order = [passages[i] for i in sorted(range(len(passages)), key=lambda i: -best.get(i, -math.inf))]
    if not answers:
        return AskResult(question, [], order)
    candidates = [Candidate(a.text, a.score, a.rank_score, a.retrieval_score, read_in[id(a)], cosines[read_in[id(a)]])
                  for a in answers]
    for answer, value in zip(answers, confidence.score(candidates, retrieval_scores=[p.score for p in passages],
                                                       cosines=cosines)):
        answer.confidence = value
    confident = confidence.accepts(answers[0].confidence, best=candidates[0], min_confidence=min_confidence)
    if not confident and not always_answer:
        return AskResult(question, [], passages, confident=False, confidence=answers[0].confidence)
    return AskResult(question, answers[:wanted], order, confident, confidence=answers[0].confidence)


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
