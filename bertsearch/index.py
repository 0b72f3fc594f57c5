"""The library's front door: `Index(path)` with add, remove, search and ask."""

import heapq
import math
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import chunking, hybrid, lexical
from .errors import (
    BertsearchError,
    IndexNotFoundError,
    InvalidQueryError,
    NothingToIndexError,
    SettingsMismatchError,
)
from .extract import MAX_FILE_BYTES, SkipFile, Skipped, extract, find_files
from .filters import Filters
from .hybrid import DEFAULT_MODE, MODES
from .lock import writer_lock
from .store import NewPassage, Store

if TYPE_CHECKING:
    from .check import CheckReport
    from .watch import Watcher

DEFAULT_INDEX = ".bertsearch"
ENCODE_BATCH_PASSAGES = 512  # passages gathered across files before each encoder call
MAX_QUERY_CHARS = 10_000  # longer queries are cut: the encoder reads only its first few hundred tokens
# `ask` ranks answers (and passages, by their best answer) by
# (1 - READER_WEIGHT) * retrieval score + READER_WEIGHT * reader score (start + end logit),
# as BERTserini does. Tuned on SQuAD v1.1 train (every 20th article, 4,533 questions,
# hybrid top 20, bundled reader): top-1 passage 85.1% -> 92.1%; on dev 83.0% -> 88.3%
# (top-5 96.5% -> 97.9%, best answer F1 68.4 -> 74.3). See docs/benchmarks.md and
# benchmarks/rerank.py. The weight suits the hybrid score's scale; other modes are untuned.
READER_WEIGHT = 0.2


@dataclass
class SearchResult:
    score: float
    path: str
    start: int
    end: int
    line: int
    text: str
    id: int


@dataclass
class Answer:
    """An answer span: `start`/`end` are offsets into the file's text, `passage_start`/`passage_end` into `passage`."""

    text: str
    score: float
    path: str
    start: int
    end: int
    line: int
    passage: str
    passage_start: int
    passage_end: int
    retrieval_score: float
    rank_score: float  # what answers are ordered by: retrieval and reader scores fused (READER_WEIGHT)


@dataclass
class AskResult:
    question: str
    answers: list[Answer]
    passages: list[SearchResult]
    confident: bool = True  # the best span cleared the reader's no-answer threshold (or it has none)

    @property
    def found(self) -> bool:
        return bool(self.answers)


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    passages_encoded: int = 0
    passages_reused: int = 0


@dataclass
class _Pending:
    """A changed file, chunked, waiting for its vectors."""

    path: str
    stat: os.stat_result
    content_hash: str
    format: str
    passages: list[NewPassage]
    is_new: bool


def default_index_path() -> Path:
    return Path(os.environ.get("BERTSEARCH_INDEX") or DEFAULT_INDEX)


class Index:
    """A searchable index of documents, kept in one folder.

    The encoder and passage settings are fixed when the index is created and
    remembered; later opens use them, and asking for different ones is an error.

    One process writes at a time (`add`, `remove`, `check(repair=True)`): another
    writer waits up to `lock_timeout` seconds, then raises IndexLockedError
    naming the pid that holds the index. Readers never wait for writers.
    Files over `max_file_bytes` (None: no limit) are skipped with a notice.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        model: str | None = None,
        pooling: str | None = None,
        device: str | None = None,
        precision: str = "auto",
        passage_tokens: int | None = None,
        overlap_tokens: int | None = None,
        reader: str | None = None,
        lock_timeout: float = 0.0,
        max_file_bytes: int | None = MAX_FILE_BYTES,
    ):
        self.path = Path(path) if path else default_index_path()
        self._lock_timeout, self._max_file_bytes = lock_timeout, max_file_bytes
        self._model, self._pooling = model, pooling
        self._device, self._precision = device, precision
        self._passage_tokens, self._overlap_tokens = passage_tokens, overlap_tokens
        self._reader_name = reader
        self._store = None
        self._encoder = None
        self._reader = None
        self._encoder_recorded = False  # once the index records its encoder, it never forgets it

    # -- opening ------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The index folder, which must already exist."""
        if self._store is None:
            self._store = Store(self.path)
            self._check_settings()
        return self._store

    def _create_store(self) -> Store:
        if self._store is None:
            self._store = Store(self.path, create=True)
            self._check_settings()
        return self._store

    def _check_settings(self) -> None:
        """Fail fast, before loading any model, when asked for other settings than the index has."""
        stored = self._store.meta("encoder") or {}
        for key, asked in (("model", self._model), ("pooling", self._pooling)):
            if asked and stored and stored[key] != asked:
                self._store.check_encoder({**stored, key: asked})  # raises with the full story
        chunks = self._store.meta("chunking")
        asked = {"passage_tokens": self._passage_tokens, "overlap_tokens": self._overlap_tokens}
        if chunks:
            for key, value in asked.items():
                if value is not None and value != chunks[key]:
                    raise SettingsMismatchError(
                        f"this index splits passages with {key.replace('_', ' ')}={chunks[key]}, not {value}: "
                        "leave the option out, or use a new --index folder"
                    )

    @property
    def encoder(self):
        """The index's encoder, loaded on first use."""
        if self._encoder is None:
            from .encoder import Encoder
            from .models import DEFAULT_ENCODER

            stored = self.store.meta("encoder") or {}
            self._encoder = Encoder(
                self._model or stored.get("model") or DEFAULT_ENCODER,
                pooling=self._pooling or stored.get("pooling"),
                device=self._device,
                precision=self._precision,
            )
            self.store.check_encoder(self._encoder.fingerprint)
        return self._encoder

    @property
    def reader(self):
        """The question-answering reader, loaded on first use."""
        if self._reader is None:
            from .reader import Reader

            self._reader = Reader(self._reader_name, device=self._device, precision=self._precision)
        return self._reader

    # -- writing ------------------------------------------------------------

    def add(self, paths: Iterable[str | Path], progress: bool = False,
            notify: Callable[[str], None] | None = None) -> IndexReport:
        """Index files and folders (recursively). Only new or changed files are encoded again,
        and indexed files that have gone from the given folders are dropped."""
        roots = [Path(p) for p in paths]
        for root in roots:
            if not root.exists():
                raise BertsearchError(f"no such file or folder: {root}")
        with self._writing():
            return self._add(roots, progress, notify)

    def _add(self, roots: list[Path], progress: bool, notify) -> IndexReport:
        store = self._create_store()
        chunks = self._chunking(store)
        report, seen, pending = IndexReport(), set(), []
        files = list(find_files(roots, exclude=self.path))
        with _progress_bar(len(files), progress) as bar:
            for found in files:
                bar.update(1)
                if isinstance(found, Skipped):
                    self._skip(report, found, notify)
                    continue
                seen.add(str(found))
                change = self._prepare(found, chunks, report, notify)
                if change:
                    pending.append(change)
                if sum(len(p.passages) for p in pending) >= ENCODE_BATCH_PASSAGES:
                    self._write(pending, report)
                    pending = []
            self._write(pending, report)
        kept = [Path(s.path).resolve() for s in report.skipped if s.folder]  # unlisted folders: keep their documents
        gone = [p for root in roots if root.is_dir() for p in store.document_paths(root.resolve())
                if p not in seen and not any(_inside(p, folder) for folder in kept)]
        report.removed = gone if store.delete_documents(gone) else []
        store.save_faiss()
        if not (report.added or report.updated or report.unchanged or report.removed):
            raise NothingToIndexError(
                "nothing to index in " + ", ".join(map(str, roots))
                + ": give files or folders holding text, Markdown, reStructuredText, HTML or PDF documents"
            )
        return report

    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove documents: files, or every document inside a folder. Returns the paths removed."""
        with self._writing():
            return self._remove(paths)

    def check(self, repair: bool = False) -> "CheckReport":
        """Verify the index: SQLite integrity, FAISS/SQLite agreement, the recorded encoder.

        `repair=True` (taking the writer lock) rebuilds the FAISS file from SQLite
        and removes leftovers of an interrupted write, then checks again.
        """
        from .check import check_store, repair_store

        report = check_store(self.store)
        if repair and (report.problems or report.notes):
            with self._writing():
                done = repair_store(self.store)
            report = check_store(self.store)
            report.repaired = done
        return report

    def watch(self, paths: Iterable[str | Path], *, on_update=None, notify=None, **options) -> "Watcher":
        """Keep the index in step with folders until the returned Watcher's `stop()`.

        Catches up first (as `add(paths)`), then applies each creation, edit,
        rename and deletion through `add` and `remove`. `on_update(update)` is
        called after each update; `options` go to `Watcher` (`debounce`, say).
        """
        from .watch import Watcher

        return Watcher(self, paths, on_update=on_update, notify=notify, **options).start()

    @contextmanager
    def _writing(self):
        """Hold the index's writer lock (see `lock.writer_lock`)."""
        with writer_lock(self.path, self._lock_timeout):
            yield

    def _remove(self, paths: Iterable[str | Path]) -> list[str]:
        store = self.store
        targets = []
        for path in paths:
            resolved = str(Path(path).resolve())
            inside = store.document_paths(Path(resolved))
            targets += inside or ([resolved] if store.document(resolved) else [])
        store.delete_documents(targets)
        store.save_faiss()
        return targets

    def _chunking(self, store: Store) -> dict:
        chunks = store.meta("chunking")
        if chunks is None:
            chunks = {
                "passage_tokens": self._passage_tokens or chunking.DEFAULT_PASSAGE_TOKENS,
                "overlap_tokens": chunking.DEFAULT_OVERLAP_TOKENS if self._overlap_tokens is None else self._overlap_tokens,
            }
            limit = self.encoder.max_length - 2
            if chunks["passage_tokens"] > limit:
                raise SettingsMismatchError(f"passages of {chunks['passage_tokens']} tokens do not fit this encoder: use at most {limit}")
            if not 0 <= chunks["overlap_tokens"] < chunks["passage_tokens"]:
                raise SettingsMismatchError("the passage overlap must be at least 0 and less than the passage size")
            with store.db.atomic():
                store.set_meta("chunking", chunks)
        return chunks

    def _prepare(self, path: Path, chunks: dict, report: IndexReport, notify) -> _Pending | None:
        """Chunk a file that is new or changed; None if it is unchanged or skipped."""
        store = self.store
        try:
            stat = path.stat()
            known = store.document(str(path))
            if known and (known["size"], known["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
                report.unchanged += 1
                return None
            document = extract(path, self._max_file_bytes)
        except SkipFile as reason:
            self._skip(report, Skipped(path, str(reason)), notify)
            return None
        except FileNotFoundError:
            self._skip(report, Skipped(path, "it disappeared during indexing"), notify)
            return None
        except OSError as error:
            self._skip(report, Skipped(path, f"unreadable ({error.strerror or error})"), notify)
            return None
        digest = chunking.content_hash(document.text)
        if known and known["content_hash"] == digest:
            store.touch_document(str(path), stat)
            report.unchanged += 1
            return None
        pieces = chunking.split_passages(document.text, self.encoder.token_spans, **chunks)
        if not pieces:
            self._skip(report, Skipped(path, "no text"), notify)
            return None
        passages = [
            NewPassage(p.start, p.end, document.text.count("\n", 0, p.start) + 1, p.text, p.content_hash)
            for p in pieces
        ]
        return _Pending(str(path), stat, digest, document.format, passages, known is None)

    def _write(self, pending: list[_Pending], report: IndexReport) -> None:
        """Encode what is new in `pending` (reusing vectors of unchanged passages), then commit file by file."""
        import numpy as np

        if not pending:
            return
        hashes = [p.content_hash for doc in pending for p in doc.passages]
        known = self.store.vectors_by_hash(hashes)
        todo = {}
        for doc in pending:
            for p in doc.passages:
                if p.content_hash not in known:
                    todo.setdefault(p.content_hash, p.text)
        if todo:
            vectors = self.encoder.encode(list(todo.values()))
            known.update(zip(todo.keys(), vectors))
        report.passages_encoded += len(todo)
        report.passages_reused += len(hashes) - len(todo)
        for doc in pending:
            vectors = np.stack([known[p.content_hash] for p in doc.passages])
            self.store.put_document(doc.path, doc.stat, doc.content_hash, doc.format, doc.passages, vectors)
            (report.added if doc.is_new else report.updated).append(doc.path)

    @staticmethod
    def _skip(report: IndexReport, skipped: Skipped, notify) -> None:
        report.skipped.append(skipped)
        if notify:
            notify(f"skipped {printable(skipped.path)}: {skipped.reason}")

    # -- reading ------------------------------------------------------------

    def search(self, query: str, k: int = 10, mode: str = DEFAULT_MODE, path: str | None = None,
               ext: str | Sequence[str] | None = None, after=None, before=None) -> list[SearchResult]:
        """The `k` passages that best match `query`, best first.

        `mode`: "hybrid" (default: BM25 and vectors fused), "dense" (vectors only;
        the score is the cosine) or "bm25" (words only; the score is BM25).
        `path` (a glob), `ext` (one or more extensions) and `after`/`before`
        (modification time: a date, datetime or ISO string) keep only matching
        documents, and are applied inside the search: `k` results come back
        whenever `k` passages match.
        """
        query = _clean_query(query)
        if k < 1:
            raise InvalidQueryError("k must be at least 1")
        if not self._has_encoder():  # a reader must not record an encoder: that is the first writer's
            raise IndexNotFoundError(f"the index at {self.path} has nothing indexed yet: run 'bertsearch index PATH' first")
        return self._retrieve(query, k, _check_mode(mode), Filters(path, _as_tuple(ext), after, before))

    def _has_encoder(self) -> bool:
        if not self._encoder_recorded:
            self._encoder_recorded = self.store.meta("encoder") is not None
        return self._encoder_recorded

    def _retrieve(self, query: str, k: int, mode: str, filters: Filters, vector=None) -> list[SearchResult]:
        """`search` without argument checks; `vector` is the query's, when already encoded."""
        if mode != "bm25" and vector is None:
            vector = self.encoder.encode([query])
        store = self.store
        where, params = filters.sql() if filters else ("", [])
        with store.snapshot():  # FAISS ids, BM25 and passage rows from the same commit
            allowed = store.passage_ids(where, params) if where else None
            if allowed is not None and not allowed:
                return []
            if mode == "bm25":
                scored = lexical.bm25_search(store.db, query, k, where, params)
            elif mode == "dense":
                scored = self._dense(vector, k, allowed)
            else:
                scored = self._hybrid(query, vector, k, allowed, where, params)
            rows = store.passages([i for i, _ in scored])
        return [
            SearchResult(float(score), r.path, r.start, r.end, r.line, r.text, r.id)
            for i, score in scored
            if (r := rows.get(i))
        ]

    def _dense(self, vector, k: int, allowed: Sequence[int] | None) -> list[tuple[int, float]]:
        scores, ids = self.store.search(vector, k, ids=allowed)
        return [(i, s) for s, i in zip(scores[0].tolist(), ids[0].tolist()) if i >= 0]

    def _hybrid(self, query: str, vector, k: int, allowed, where: str, params) -> list[tuple[int, float]]:
        """Each side nominates candidates; each candidate gets both scores; the two are fused."""
        wanted = max(k, hybrid.CANDIDATES)
        cosine = dict(self._dense(vector, wanted, allowed))
        bm25 = lexical.bm25_matches(self.store.db, query, where, params)
        nominated = heapq.nlargest(wanted, bm25, key=bm25.get)
        missing = [i for i in nominated if i not in cosine]
        if missing:
            cosine.update(zip(missing, (self.store.vectors(missing) @ vector[0]).tolist()))
        return hybrid.fuse(cosine, bm25)[:k]

    def ask(self, question: str, k: int = 10, top_n: int = 5, mode: str = DEFAULT_MODE, path: str | None = None,
            ext: str | Sequence[str] | None = None, after=None, before=None, always_answer: bool = False) -> AskResult:
        """Answers to `question` read from the `k` best passages, best first.

        `mode` and the filters are those of `search`. Answers and passages are
        ranked by `rank_score`, the retrieval score fused with the reader's
        (READER_WEIGHT); a passage ranks by its best answer, and one where the
        reader finds nothing comes after the others, in retrieval order.

        When the reader has a calibrated no-answer threshold and no span reaches
        it, `answers` is empty, `confident` is False and `passages` still holds
        what was retrieved; `always_answer=True` returns the best spans anyway.
        """
        question = _clean_query(question)
        passages = self.search(question, k, mode=mode, path=path, ext=ext, after=after, before=before)
        reader = self.reader
        spans = reader.spans(question, [p.text for p in passages], per_window=top_n)
        threshold = reader.no_answer_threshold
        confident = not spans or threshold is None or spans[0].score >= threshold
        if not confident and not always_answer:
            return AskResult(question, [], passages, confident=False)
        answers, best = [], {}
        for span in spans:
            passage = passages[span.context_index]
            fused = (1 - READER_WEIGHT) * passage.score + READER_WEIGHT * span.score
            best[span.context_index] = max(best.get(span.context_index, -math.inf), fused)
            start = passage.start + span.start
            answers.append(Answer(
                text=span.text, score=span.score, path=passage.path, start=start,
                end=passage.start + span.end, line=passage.line + passage.text.count("\n", 0, span.start),
                passage=passage.text, passage_start=span.start, passage_end=span.end,
                retrieval_score=passage.score, rank_score=fused,
            ))
        answers.sort(key=lambda answer: -answer.rank_score)
        order = sorted(range(len(passages)), key=lambda i: -best.get(i, -math.inf))
        return AskResult(question, _distinct(answers)[:top_n], [passages[i] for i in order], confident)

    def info(self) -> dict:
        store = self.store
        encoder = store.meta("encoder") or {}
        return {
            "index": str(self.path.resolve()),
            **store.counts(),
            "model": encoder.get("model"),
            "pooling": encoder.get("pooling"),
            "dim": encoder.get("dim"),
            **(store.meta("chunking") or {}),
            "size_bytes": store.size_on_disk(),
            "generation": store.generation,
        }

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self._encoder_recorded = False  # the folder may hold another index when reopened

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _distinct(answers: list[Answer]) -> list[Answer]:
    """Drop each answer that overlaps a better one in the same file: alternatives say something new."""
    kept: list[Answer] = []
    for answer in answers:
        if not any(a.path == answer.path and a.start < answer.end and answer.start < a.end for a in kept):
            kept.append(answer)
    return kept


def _clean_query(query: str) -> str:
    """The query as valid Unicode (undecodable bytes replaced), cut to MAX_QUERY_CHARS; never empty."""
    query = (query or "").encode("utf-8", "surrogatepass").decode("utf-8", "replace").strip()
    if not query:
        raise InvalidQueryError("the query is empty: give some words to search for")
    return query[:MAX_QUERY_CHARS]


def _inside(path: str, folder: Path) -> bool:
    return path == str(folder) or path.startswith(str(folder).rstrip(os.sep) + os.sep)


def printable(path) -> str:
    """A path on one line: control characters (a newline in a file name, say) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidQueryError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
    return mode


def _as_tuple(ext: str | Sequence[str] | None) -> tuple[str, ...]:
    if not ext:
        return ()
    return (ext,) if isinstance(ext, str) else tuple(ext)


def _progress_bar(total: int, show: bool):
    from tqdm import tqdm

    # disable=None hides the bar when stderr is not a terminal.
    return tqdm(total=total, unit="file", desc="Indexing", disable=None if show else True, leave=False)
