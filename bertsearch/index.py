"""The library's front door: `Index(path)` with add, remove, search, ask and ways to read what it holds.

`Index` opens the folder (`store.Store`), loads the encoder and reader on first
use, checks arguments and holds the writer lock; the work is done by `ingest`
(add, remove), `retrieval` (the search modes) and `answers` (ranking what the
reader found).
"""

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import answers, chunking, ingest
from .errors import BertsearchError, DocumentNotFoundError, IndexNotFoundError, InvalidQueryError
from .extract import MAX_FILE_BYTES
from .filters import Filters
from .ingest import IndexReport
from .lock import writer_lock
from .results import AskResult, DocumentInfo, IndexInfo, Passage, SearchResult
from .retrieval import Retriever, clean_query
from .search_modes import DEFAULT_MODE, check_mode
from .store import Store

if TYPE_CHECKING:
    import numpy as np

    from .check import CheckReport
    from .encoder import Encoder
    from .reader import Reader
    from .watch import Watcher

DEFAULT_INDEX = ".bertsearch"


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

    def __init__(self, path: str | Path | None = None, *, model: str | None = None, pooling: str | None = None,
                 device: str | None = None, precision: str = "auto", passage_tokens: int | None = None,
                 overlap_tokens: int | None = None, reader: str | None = None, lock_timeout: float = 0.0,
                 max_file_bytes: int | None = MAX_FILE_BYTES):
        self.path = Path(path) if path else default_index_path()
        self._lock_timeout, self._max_file_bytes = lock_timeout, max_file_bytes
        self._model, self._pooling, self._device, self._precision = model, pooling, device, precision
        self._chunks = {"passage_tokens": passage_tokens, "overlap_tokens": overlap_tokens}
        self._reader_name = reader
        self._store = self._encoder = self._reader = None
        self._encoder_recorded = False  # once the index records its encoder, it never forgets it

    # -- opening ------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The index folder, which must already exist."""
        return self._open(create=False)

    def _open(self, create: bool) -> Store:
        if self._store is None:
            self._store = Store(self.path, create=create)
            ingest.check_settings(self._store, model=self._model, pooling=self._pooling, chunks=self._chunks)
        return self._store

    @property
    def encoder(self) -> "Encoder":
        """The index's encoder, loaded on first use."""
        if self._encoder is None:
            from .checkpoints import DEFAULT_ENCODER
            from .encoder import Encoder

            stored = self.store.meta("encoder") or {}
            self._encoder = Encoder(self._model or stored.get("model") or DEFAULT_ENCODER,
                                    pooling=self._pooling or stored.get("pooling"), device=self._device,
                                    precision=self._precision)
            self.store.record_encoder(self._encoder.fingerprint)
        return self._encoder

    @property
    def reader(self) -> "Reader":
        """The question-answering reader, loaded on first use."""
        if self._reader is None:
            from .reader import Reader

            self._reader = Reader(self._reader_name, device=self._device, precision=self._precision)
        return self._reader

    # -- writing ------------------------------------------------------------

    def add(self, paths: Iterable[str | Path], *, progress: bool = False,
            notify: Callable[[str], None] | None = None) -> IndexReport:
        """Index files and folders (recursively). Only new or changed files are encoded again,
        and indexed files that have gone from the given folders are dropped."""
        roots = [Path(p) for p in paths]
        for root in roots:
            if not root.exists():
                raise BertsearchError(f"no such file or folder: {root}")
        with writer_lock(self.path, self._lock_timeout):
            store = self._open(create=True)
            chunks = ingest.chunk_settings(store, self._chunks, lambda: self.encoder.max_length - 2)
            ingester = ingest.Ingester(store, lambda: self.encoder, exclude=self.path,
                                       max_file_bytes=self._max_file_bytes, notify=notify, progress=progress)
            return ingester.add(roots, chunks)

    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove documents: files, or every document inside a folder. Returns the paths removed."""
        with writer_lock(self.path, self._lock_timeout):
            return ingest.remove(self.store, paths)

    def watch(self, paths: Iterable[str | Path], *, on_update=None, notify=None, **options) -> "Watcher":
        """Keep the index in step with folders until the returned Watcher's `stop()`.

        Catches up first (as `add(paths)`), then applies each creation, edit,
        rename and deletion through `add` and `remove`. `on_update(update)` is
        called after each update; `options` go to `Watcher` (`debounce`, say).
        """
        from .watch import Watcher

        return Watcher(self, paths, on_update=on_update, notify=notify, **options).start()

    def check(self, *, repair: bool = False) -> "CheckReport":
        """Verify the index: SQLite integrity, vectors/SQLite agreement, the recorded encoder.

        `repair=True` (taking the writer lock) rebuilds the vector file from SQLite
        and removes leftovers of an interrupted write, then checks again.
        """
        from .check import check_store, repair_store

        report = check_store(self.store)
        if repair and (report.problems or report.notes):
            with writer_lock(self.path, self._lock_timeout):
                done = repair_store(self.store)
            report = check_store(self.store)
            report.repaired = done
        return report

    # -- searching ----------------------------------------------------------

    def search(self, query: str, *, k: int = 10, mode: str = DEFAULT_MODE, path: str | None = None,
               ext: str | Sequence[str] | None = None, after=None, before=None) -> list[SearchResult]:
        """The `k` passages that best match `query`, best first.

        `mode`: "hybrid" (default: BM25 and vectors fused), "dense" (vectors only;
        the score is the cosine) or "bm25" (words only; the score is BM25).
        `path` (a glob), `ext` (one or more extensions) and `after`/`before`
        (modification time: a date, datetime or ISO string) keep only matching
        documents, and are applied inside the search: `k` results come back
        whenever `k` passages match.
        """
        return self.search_many([query], k=k, mode=mode, path=path, ext=ext, after=after, before=before)[0]

    def search_many(self, queries: Sequence[str], *, k: int = 10, mode: str = DEFAULT_MODE, path: str | None = None,
                    ext: str | Sequence[str] | None = None, after=None, before=None,
                    vectors: "np.ndarray | None" = None) -> list[list[SearchResult]]:
        """`search` for each query, the queries encoded in one batch (faster than one at a time).
        `vectors`: the queries' own (one row each, from `index.encoder`), if already encoded."""
        queries = [clean_query(query) for query in queries]
        if k < 1:
            raise InvalidQueryError("k must be at least 1")
        filters = Filters(path, (ext,) if isinstance(ext, str) else tuple(ext or ()), after, before)
        mode = check_mode(mode)
        if not self._has_encoder():  # a reader must not record an encoder: that is the first writer's
            raise IndexNotFoundError(f"the index at {self.path} has nothing indexed yet: run 'bertsearch index PATH' first")
        retriever = Retriever(self.store, lambda texts: self.encoder.encode(texts))
        return retriever.search_many(queries, k=k, mode=mode, filters=filters, vectors=vectors)

    def _has_encoder(self) -> bool:
        if not self._encoder_recorded:
            self._encoder_recorded = self.store.meta("encoder") is not None
        return self._encoder_recorded

    def ask(self, question: str, *, k: int = 10, alternatives: int = 3, mode: str = DEFAULT_MODE,
            path: str | None = None, ext: str | Sequence[str] | None = None, after=None, before=None,
            always_answer: bool = False) -> AskResult:
        """The best answer to `question` and up to `alternatives` others, read from the `k` best passages.

        `mode` and the filters are those of `search`. Answers and passages are
        ranked by retrieval and reader scores fused (see `answers.py`). When the
        reader has a calibrated no-answer threshold and no span reaches it,
        `answers` is empty, `confident` is False and `passages` still holds what
        was retrieved; `always_answer=True` returns the best spans anyway.
        """
        return self.ask_many([question], k=k, alternatives=alternatives, mode=mode, path=path, ext=ext,
                             after=after, before=before, always_answer=always_answer)[0]

    def ask_many(self, questions: Sequence[str], *, k: int = 10, alternatives: int = 3, mode: str = DEFAULT_MODE,
                 path: str | None = None, ext: str | Sequence[str] | None = None, after=None, before=None,
                 always_answer: bool = False) -> list[AskResult]:
        """`ask` for each question: the questions are encoded in one batch and read in one reader batch."""
        if alternatives < 0:
            raise InvalidQueryError("alternatives must be at least 0")
        questions = [clean_query(question) for question in questions]
        retrieved = self.search_many(questions, k=k, mode=mode, path=path, ext=ext, after=after, before=before)
        reader, wanted = self.reader, 1 + alternatives
        found = reader.read_batch(questions, [[p.text for p in passages] for passages in retrieved],
                                  top_n=None, per_window=wanted)
        return [answers.rank_answers(question, passages, spans, threshold=reader.no_answer_threshold,
                                     wanted=wanted, always_answer=always_answer)
                for question, passages, spans in zip(questions, retrieved, found)]

    # -- reading what the index holds ---------------------------------------

    def info(self) -> IndexInfo:
        """Counts, encoder, passage settings, size and generation of the index."""
        store = self.store
        encoder, chunks, counts = store.meta("encoder") or {}, store.meta("chunking") or {}, store.counts()
        return IndexInfo(
            index=str(self.path.resolve()), documents=counts["documents"], passages=counts["passages"],
            model=encoder.get("model"), pooling=encoder.get("pooling"), dim=encoder.get("dim"),
            passage_tokens=chunks.get("passage_tokens"), overlap_tokens=chunks.get("overlap_tokens"),
            size_bytes=store.size_on_disk(), generation=store.generation,
        )

    def documents(self, *, path: str | None = None, limit: int | None = None, offset: int = 0) -> list[DocumentInfo]:
        """The indexed documents, by path; `path` is a glob as in `search`; `limit`/`offset` page through them."""
        if (limit is not None and limit < 0) or offset < 0:
            raise InvalidQueryError("limit and offset must be at least 0")
        return self.store.document_list(Filters(path), limit=limit, offset=offset)

    def document(self, id_or_path: int | str | Path) -> DocumentInfo:
        """One document, by id or path (as indexed, or relative to the working folder)."""
        if isinstance(id_or_path, bool) or not isinstance(id_or_path, (int, str, Path)):
            raise InvalidQueryError(f"give a document id or path, not {id_or_path!r}")
        store = self.store
        found = store.document_info(id_or_path if isinstance(id_or_path, int) else str(id_or_path))
        if found is None and not isinstance(id_or_path, int):
            found = store.document_info(str(Path(id_or_path).expanduser().resolve()))
        if found is None:
            raise DocumentNotFoundError(f"no document {ingest.printable(id_or_path)} in the index at {self.path}")
        return found

    def passages(self, *, path: str | None = None, document_id: int | None = None,
                 ids: Sequence[int] | None = None) -> list[Passage]:
        """Stored passages, by path then position; `path` is a glob as in `search`, `document_id`
        one document's, `ids` these passage ids (the `id` of a SearchResult)."""
        return self.store.passage_list(Filters(path), document_id=document_id, ids=None if ids is None else list(ids))

    def document_text(self, id_or_path: int | str | Path) -> str:
        """The document's text as indexed, rebuilt from its passages at their character offsets.

        Text between passages (blank lines, say) is not stored: it comes back as the
        line breaks that keep every passage on its line, padded with spaces.
        """
        return chunking.join_passages(self.store.passage_list(document_id=self.document(id_or_path).id))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self._encoder_recorded = False  # the folder may hold another index when reopened

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

