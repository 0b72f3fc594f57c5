"""`bertsearch eval`: retrieval, reading and `ask` scored on a SQuAD-format file.

The file's contexts become documents (one per article, its paragraphs separated
by blank lines, or one per paragraph), written into the index folder and
indexed with the ordinary `Index.add`, so a second run reuses what is there.
Then every question is scored three ways:

- retrieval: recall@1/5/20 and MRR@20 of the passages `search` returns, a hit
  being a passage that contains a gold answer (after SQuAD normalisation) or one
  that overlaps the question's own paragraph; answerable questions only;
- the reader given the gold paragraph: SQuAD EM/F1 (`squad.py`);
- `ask` over the whole corpus: SQuAD EM/F1 of its best answer ('' when it
  finds none), and, on v2.0, how often it rightly answers or abstains.

Questions are encoded and searched in batches; `ask` then runs one question at
a time, timed per stage, which gives the latency percentiles.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import BertsearchError
from .squad import (
    SquadQuestion,
    normalize_answer,
    read_best_answers,
    read_squad_json,
    squad_metrics,
    squad_questions,
)

DEFAULT_EVAL_ROOT = Path(".bertsearch-eval")
DOCUMENTS_SUFFIX = ".documents"  # the corpus files go beside the index folder: an index never indexes its own folder
from ..search_modes import DEFAULT_MODE  # eval measures what search and ask do by default
RECALL_AT = (1, 5, 20)
MRR_DEPTH = 20
SEARCH_BATCH = 256  # questions per search_many call (for the progress bar)
PERCENTILES = (50, 90, 95, 99)


@dataclass
class CorpusFile:
    """One written document: which article it holds and where each paragraph is in its text."""

    path: Path
    article: int
    paragraphs: dict[int, tuple[int, int]]  # paragraph number -> (start, end) in the text


def default_eval_index(squad_file: str | Path, per_paragraph: bool = False) -> Path:
    """`.bertsearch-eval/<file stem>-articles` (or `-paragraphs`) in the working folder."""
    stem = Path(squad_file).name.removesuffix(".gz").removesuffix(".json")
    return DEFAULT_EVAL_ROOT / f"{stem}-{'paragraphs' if per_paragraph else 'articles'}"


def write_corpus(articles: list[dict], folder: Path, per_paragraph: bool = False) -> list[CorpusFile]:
    """Write the articles' contexts as .txt files in `folder`, one per article or per paragraph.

    Files whose text is already there are left untouched, and other files in the
    folder are removed, so that `Index.add` re-encodes only what changed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for a, article in enumerate(articles):
        contexts = [p["context"] for p in article["paragraphs"]]
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", article.get("title", "")).strip("_")[:60]
        if per_paragraph:
            for p, context in enumerate(contexts):
                files.append((f"{a:04d}-{p:03d}-{slug}.txt", context, a, {p: (0, len(context))}))
        else:
            spans, offset = {}, 0
            for p, context in enumerate(contexts):
                spans[p] = (offset, offset + len(context))
                offset += len(context) + 2
            files.append((f"{a:04d}-{slug}.txt", "\n\n".join(contexts), a, spans))
    written = []
    for name, text, article, spans in files:
        path = folder / name
        data = text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        written.append(CorpusFile(path.resolve(), article, spans))
    keep = {f.path.name for f in written}
    for stale in folder.iterdir():
        if stale.is_file() and stale.name not in keep:
            stale.unlink()
    return written


# -- scoring ------------------------------------------------------------------


def contains_answer(text: str, answers: list[str]) -> bool:
    """Whether `text` holds one of `answers` as whole words, after SQuAD normalisation."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {n} " in haystack for a in answers if (n := normalize_answer(a)))


def ranking_metrics(hits: list[list[bool]], ks=RECALL_AT, depth: int = MRR_DEPTH) -> dict:
    """recall@k (share of queries with a hit in the top k) and MRR@depth, from each query's ranked hit flags."""
    n = len(hits)
    metrics = {f"recall@{k}": sum(any(h[:k]) for h in hits) / n if n else 0.0 for k in ks}
    ranks = [next((r for r, hit in enumerate(h[:depth], 1) if hit), None) for h in hits]
    metrics[f"mrr@{depth}"] = sum(1 / r for r in ranks if r) / n if n else 0.0
    return metrics


def percentiles(values_ms: list[float]) -> dict:
    """p50/p90/p95/p99 and max of a list of milliseconds (nearest-rank)."""
    if not values_ms:
        return {}
    ordered = sorted(values_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, max(0, -(-q * len(ordered) // 100) - 1))]  # noqa: E731
    return {**{f"p{q}": pick(q) for q in PERCENTILES}, "max": ordered[-1], "mean": sum(ordered) / len(ordered)}


def no_answer_accuracy(questions: list[SquadQuestion], predictions: list[str]) -> float:
    """Share of questions where answering or abstaining ('' ) was the right call."""
    right = sum((p == "") == q.is_impossible for q, p in zip(questions, predictions, strict=True))
    return right / len(questions) if questions else 0.0


# -- running --------------------------------------------------------------------


def mode_kwargs(mode: str | None) -> dict:
    """The retrieval mode for Index.search/ask; {} (the product default) when none is asked for."""
    return {"mode": mode} if mode else {}


def evaluate(
    squad_file: str | Path,
    index_path: str | Path | None = None,
    per_paragraph: bool = False,
    k: int = 10,
    mode: str | None = None,
    limit: int | None = None,
    model: str | None = None,
    reader: str | None = None,
    device: str | None = None,
    retrieval_only: bool = False,
    progress: bool = False,
) -> dict:
    """Index `squad_file`'s contexts (or reuse the index), then score retrieval, the reader and `ask`."""
    from ..index import Index

    squad = read_squad_json(squad_file)
    questions = squad_questions(squad, limit)
    if not questions:
        raise BertsearchError(f"{squad_file} holds no questions")
    articles = squad["data"][: max(q.article for q in questions) + 1]
    index_path = Path(index_path) if index_path else default_eval_index(squad_file, per_paragraph)
    answerable = [q for q in questions if not q.is_impossible]
    result = {
        "file": str(squad_file),
        "version": str(squad.get("version", "")).lstrip("v"),  # "1.1" and "v2.0" in the official files
        "questions": len(questions),
        "answerable": len(answerable),
        "unanswerable": len(questions) - len(answerable),
        "mode": mode or DEFAULT_MODE,
        "k": k,
    }
    with Index(index_path, model=model, device=device, reader=reader) as index:
        extra = mode_kwargs(mode)
        if not retrieval_only:
            index.reader  # fail before the long steps when there is no reader  # noqa: B018
        started = time.perf_counter()
        documents = index_path.with_name(index_path.name + DOCUMENTS_SUFFIX)
        corpus = write_corpus(articles, documents, per_paragraph)
        report = index.add([documents], progress=progress)
        result["index"] = {
            "path": str(index_path),
            "unit": "paragraph" if per_paragraph else "article",
            **index.store.counts(),
            "passages_encoded": report.passages_encoded,
            "passages_reused": report.passages_reused,
            "seconds": time.perf_counter() - started,
            **index.encoder.fingerprint,
        }
        result["retrieval"] = _retrieval(index, answerable, corpus, max(MRR_DEPTH, k), extra, progress)
        if retrieval_only:
            return result
        result.update(_reading(index, questions, k, extra, progress))
    return result


def _retrieval(index, questions: list[SquadQuestion], corpus: list[CorpusFile], depth: int,
               extra: dict, progress: bool) -> dict:
    """Search every answerable question; recall and MRR by answer and by gold paragraph."""
    from tqdm.auto import tqdm

    by_path = {str(f.path): f for f in corpus}
    texts = [q.question for q in questions]
    ranked, timings = [], {}
    vectors = None
    if extra.get("mode", DEFAULT_MODE) != "bm25":  # one batched encode, as search_many does
        with tqdm(total=len(texts), desc="encoding questions", disable=None if progress else True, leave=False) as bar:
            started = time.perf_counter()
            vectors = index.encoder.encode(texts, progress=bar.update)
            timings["encode_questions_per_s"] = len(texts) / max(time.perf_counter() - started, 1e-9)
    started = time.perf_counter()
    for first in tqdm(range(0, len(texts), SEARCH_BATCH), desc="searching", disable=None if progress else True,
                      leave=False):
        batch = slice(first, first + SEARCH_BATCH)
        ranked += index.search_many(texts[batch], k=depth, vectors=None if vectors is None else vectors[batch], **extra)
    timings["search_questions_per_s"] = len(texts) / max(time.perf_counter() - started, 1e-9)

    def in_gold_paragraph(hit, question) -> bool:
        document = by_path.get(str(hit.path))
        if document is None or document.article != question.article:
            return False
        span = document.paragraphs.get(question.paragraph)
        return span is not None and hit.start < span[1] and hit.end > span[0]

    return {
        "questions": len(questions),
        "depth": depth,
        "by_answer": ranking_metrics([[contains_answer(h.text, q.answers) for h in hits]
                                      for q, hits in zip(questions, ranked)]),
        "by_paragraph": ranking_metrics([[in_gold_paragraph(h, q) for h in hits]
                                         for q, hits in zip(questions, ranked)]),
        **timings,
    }


def _reading(index, questions: list[SquadQuestion], k: int, extra: dict, progress: bool) -> dict:
    """The reader given each gold paragraph, then `ask` over the corpus, timed per stage."""
    from tqdm.auto import tqdm

    reader = index.reader
    threshold = reader.no_answer_threshold
    best = read_best_answers(reader, questions, progress)
    always = [text for text, _ in best]
    gated = [t if threshold is None or s >= threshold else "" for t, s in best]
    out = {"reader": squad_metrics(questions, gated)}
    if threshold is not None:
        out["reader_always_answering"] = squad_metrics(questions, always)

    predictions, ask_always, stages = [], [], {"encode": [], "read": [], "search": [], "total": []}
    with timed_calls(index.encoder, "encode") as encode_ms, timed_calls(reader, "read_batch") as read_ms:
        for q in tqdm(questions, desc="ask", disable=None if progress else True, leave=False):
            encode_ms.clear(), read_ms.clear()
            started = time.perf_counter()
            answer = index.ask(q.question, k=k, alternatives=0, always_answer=True, **extra)
            total = 1000 * (time.perf_counter() - started)
            text = answer.answers[0].text if answer.found else ""
            predictions.append(text if answer.confident else "")
            ask_always.append(text)
            stages["encode"].append(sum(encode_ms))
            stages["read"].append(sum(read_ms))
            stages["search"].append(total - sum(encode_ms) - sum(read_ms))
            stages["total"].append(total)
    out["ask"] = squad_metrics(questions, predictions)
    if threshold is not None:
        out["ask_always_answering"] = squad_metrics(questions, ask_always)
    out["latency_ms"] = {name: percentiles(values) for name, values in stages.items()}
    if any(q.is_impossible for q in questions):
        out["no_answer"] = {
            "threshold": threshold,
            "reader_accuracy": no_answer_accuracy(questions, gated),
            "ask_accuracy": no_answer_accuracy(questions, predictions),
        }
    return out


@contextmanager
def timed_calls(obj, method: str):
    """Time each call of `obj.method` (milliseconds, appended to the yielded list) while inside."""
    original: Callable = getattr(obj, method)
    calls: list[float] = []

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            calls.append(1000 * (time.perf_counter() - started))

    setattr(obj, method, timed)
    try:
        yield calls
    finally:
        delattr(obj, method)


# -- printing -------------------------------------------------------------------


def format_report(result: dict) -> str:
    """The evaluation as a short plain-text report."""
    lines = []
    version = f"SQuAD v{result['version']}" if result["version"] else "SQuAD"
    lines.append(f"{version} {result['file']}: {result['questions']} questions "
                 f"({result['answerable']} answerable, {result['unanswerable']} not)")
    ix = result["index"]
    documents = f"{ix['documents']} document{'s' if ix['documents'] != 1 else ''}"
    lines.append(f"Index {ix['path']}: {documents} (one per {ix['unit']}), {ix['passages']} passages "
                 f"({ix['passages_encoded']} encoded, {ix['passages_reused']} reused, {ix['seconds']:.1f} s), "
                 f"{ix['model']} {ix['pooling']} pooling")
    r = result["retrieval"]
    lines.append("")
    lines.append(f"{'Retrieval (' + result['mode'] + ', ' + str(r['questions']) + ' answerable questions)':<44}"
                 + "".join(f"{'R@' + str(k):>7}" for k in RECALL_AT) + f"{'MRR@' + str(MRR_DEPTH):>8}")
    for name, key in (("  answer in passage", "by_answer"), ("  gold paragraph", "by_paragraph")):
        m = r[key]
        lines.append(f"{name:<44}" + "".join(f"{100 * m[f'recall@{k}']:>7.1f}" for k in RECALL_AT)
                     + f"{100 * m[f'mrr@{MRR_DEPTH}']:>8.1f}")
    if "reader" not in result:
        return "\n".join(lines)
    lines.append("")
    lines.append(f"{'':<44}{'EM':>7}{'F1':>7}")
    rows = [("Reader, given the gold paragraph", result["reader"])]
    if "reader_always_answering" in result:
        rows.append(("  always answering", result["reader_always_answering"]))
    rows.append((f"Ask over the corpus (k={result['k']})", result["ask"]))
    if "ask_always_answering" in result:
        rows.append(("  always answering", result["ask_always_answering"]))
    for name, m in rows:
        lines.append(f"{name:<44}{m['exact_match']:>7.1f}{m['f1']:>7.1f}")
    if "no_answer" in result:
        na = result["no_answer"]
        threshold = "none: the reader always answers" if na["threshold"] is None else f"{na['threshold']:.2f}"
        lines.append(f"No-answer accuracy (threshold {threshold}): reader {100 * na['reader_accuracy']:.1f}%, "
                     f"ask {100 * na['ask_accuracy']:.1f}%")
    lines.append("")
    lines.append(f"{'Latency per question, ms':<44}" + "".join(f"{'p' + str(q):>7}" for q in (50, 95, 99)) + f"{'max':>8}")
    for name in ("encode", "search", "read", "total"):
        m = result["latency_ms"][name]
        label = "  ask, in all" if name == "total" else f"  {name}"
        lines.append(f"{label:<44}" + "".join(f"{m[f'p{q}']:>7.1f}" for q in (50, 95, 99)) + f"{m['max']:>8.1f}")
    return "\n".join(lines)
