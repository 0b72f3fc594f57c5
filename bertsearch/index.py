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
from .confidence import SPANS_PER_WINDOW, check_min_confidence
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
    from .classify import Classifier
    from .classify.labelling import LabelReport
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
    `backend` ("torch", "onnx" or "openvino"; None: $BERTSEARCH_BACKEND, else the
    measured default, `backends.choose_backend`) picks what runs the models (docs/onnx.md).
    """

    def __init__(self, path: str | Path | None = None, *, model: str | None = None, pooling: str | None = None,
                 device: str | None = None, precision: str = "auto", passage_tokens: int | None = None,
                 overlap_tokens: int | None = None, reader: str | None = None, lock_timeout: float = 0.0,
                 max_file_bytes: int | None = MAX_FILE_BYTES, backend: str | None = None):
        self.path = Path(path) if path else default_index_path()
        self._lock_timeout, self._max_file_bytes = lock_timeout, max_file_bytes
        self._model, self._pooling, self._device, self._precision = model, pooling, device, precision
        self._backend = backend  # None: $BERTSEARCH_BACKEND, else the measured default (backends.choose_backend)
        self._chunks = {"passage_tokens": passage_tokens, "overlap_tokens": overlap_tokens}
        self._reader_name = reader
        self._store = self._reader = None
        self._encoders = {}  # by backend: indexing and queries may each have theirs (backends.choose_backend)
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
        """The encoder for queries, loaded on first use."""
        return self._load_encoder(bulk=False)

    def _load_encoder(self, *, bulk: bool) -> "Encoder":
        """The encoder for indexing (`bulk`: the backend that encodes fastest in bulk) or for queries (the one
        that starts fastest), loaded on first use; one encoder serves both when both choose the same backend."""
        from .backends import choose_backend, load_encoder
        from .checkpoints import DEFAULT_ENCODER

        backend = choose_backend(self._backend, self._device, self._precision, bulk=bulk)
        if backend not in self._encoders:
            stored = self.store.meta("encoder") or {}
            encoder = load_encoder(self._model or stored.get("model") or DEFAULT_ENCODER,
                                   pooling=self._pooling or stored.get("pooling"), device=self._device,
                                   precision=self._precision, backend=backend)
            self.store.record_encoder(encoder.fingerprint)
            self._encoders[backend] = encoder
        return self._encoders[backend]

    @property
    def reader(self) -> "Reader":
        """The question-answering reader, loaded on first use."""
        if self._reader is None:
            from .backends import load_reader

            self._reader = load_reader(self._reader_name, device=self._device, precision=self._precision,
                                       backend=self._backend)
        return self._reader

    # -- writing ------------------------------------------------------------

    def add(self, paths: Iterable[str | Path], *, progress: bool = False,
            notify: Callable[[str], None] | None = None, follow_links: bool = False) -> IndexReport:
        """Index files and folders (recursively). Only new or changed files are encoded again,
        and indexed files that have gone from the given folders are dropped.

        Documents are stored under the path they were found at; symbolic links that lead out of
        a given folder are followed only with `follow_links`. A first `add` that fails before
        committing anything leaves no index behind.
        """
        roots = [Path(p) for p in paths]
        for root in roots:
            if not root.exists():
                raise BertsearchError(f"no such file or folder: {root}")
        with ingest.undone_if_nothing_committed(self.path, close=self._close_store):
            with writer_lock(self.path, self._lock_timeout):
                store = self._open(create=True)
                chunks = ingest.chunk_settings(store, self._chunks,
                                               lambda: self._load_encoder(bulk=True).max_length - 2)
                ingester = ingest.Ingester(store, lambda: self._load_encoder(bulk=True), exclude=self.path,
                                           notify=notify, max_file_bytes=self._max_file_bytes, progress=progress,
                                           follow_links=follow_links)
                report = ingester.add(roots, chunks)
                if report.passages_encoded:
                    self._record_encoded_with(store)
                report.labelled = self._label_new_documents(notify)
                return report

    def label(self, classifier: "str | Path | Classifier", *, progress: bool = False) -> "LabelReport":
        """Label every document with a classifier (a saved one's folder, or a `Classifier`).

        Labels and their probabilities are stored in the index: `info` counts them,
        `search`/`ask` filter by them (`label=`), and when `classifier` is a folder,
        `add` labels new and changed documents with it too. How a document's label
        comes from its passages: `classify.labelling`.
        """
        from .classify import Classifier

        folder = None if isinstance(classifier, Classifier) else Path(classifier).resolve()
        if folder is not None:
            classifier = Classifier.load(folder, device=self._device, precision=self._precision)
        with writer_lock(self.path, self._lock_timeout):
            return self._label(classifier, folder, None, progress)

    def _label(self, classifier: "Classifier", folder: Path | None, document_ids, progress: bool = False) -> "LabelReport":
        from .classify.labelling import label_index

        if not self._has_encoder():
            raise IndexNotFoundError(f"the index at {self.path} has nothing indexed yet: run 'bertsearch index PATH' first")
        return label_index(self.store, classifier, folder=folder, document_ids=document_ids, progress=progress)

    def _label_new_documents(self, notify) -> int:
        """Label what `add` wrote, when the index was labelled with a saved classifier."""
        from .classify import Classifier
        from .errors import ClassifierNotFoundError

        labeller = self.store.meta("labeller") or {}
        todo = self.store.unlabelled_documents() if labeller.get("classifier") else []
        if not todo:
            return 0
        try:
            classifier = Classifier.load(labeller["classifier"], device=self._device, precision=self._precision)
        except ClassifierNotFoundError as error:
            if notify:
                notify(f"new documents left unlabelled: {error}")
            return 0
        return self._label(classifier, Path(labeller["classifier"]), todo).documents

    def _record_encoded_with(self, store: Store) -> None:
        """Remember which backend and precision computed the index's vectors ("onnx int8", "torch bf16", ...)."""
        from .backends import describe

        used, encoder = store.meta("encoded_with") or [], describe(self._load_encoder(bulk=True))
        if encoder not in used:
            store.set_meta("encoded_with", [*used, encoder])

    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove documents: files, or every document inside a folder. Returns the paths removed."""
        store = self.store  # IndexNotFoundError before the lock, which would create the folder
        with writer_lock(self.path, self._lock_timeout):
            return ingest.remove(store, paths)

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
               ext: str | Sequence[str] | None = None, after=None, before=None,
               label: str | None = None) -> list[SearchResult]:
        """The `k` passages that best match `query`, best first.

        `mode`: "hybrid" (default: BM25 and vectors fused), "dense" (vectors only;
        the score is the cosine) or "bm25" (words only; the score is BM25).
        `path` (a glob), `ext` (one or more extensions) and `after`/`before`
        (modification time: a date, datetime or ISO string) keep only matching
        documents, as does `label` (the label `label()` gave them); all are applied
        inside the search: `k` results come back whenever `k` passages match.
        """
        return self.search_many([query], k=k, mode=mode, path=path, ext=ext, after=after, before=before,
                                label=label)[0]

    def search_many(self, queries: Sequence[str], *, k: int = 10, mode: str = DEFAULT_MODE, path: str | None = None,
                    ext: str | Sequence[str] | None = None, after=None, before=None, label: str | None = None,
                    vectors: "np.ndarray | None" = None) -> list[list[SearchResult]]:
        """`search` for each query, the queries encoded in one batch (faster than one at a time).
        `vectors`: the queries' own (one row each, from `index.encoder`), if already encoded."""
        queries = [clean_query(query) for query in queries]
        if k < 1:
            raise InvalidQueryError("k must be at least 1")
        filters = Filters(path, (ext,) if isinstance(ext, str) else tuple(ext or ()), after, before, label)
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
            label: str | None = None, always_answer: bool = False, min_confidence: float | None = None) -> AskResult:
        """The best answer to `question` and up to `alternatives` others, read from the `k` best passages.

        `mode` and the filters are those of `search`. Answers and passages are
        ranked by retrieval and reader scores fused (see `answers.py`). Every
        answer has a `confidence`, the estimated probability that it is right
        (`confidence.py`). When the best answer's is under `min_confidence`
        (default: the cut fitted with the reader's confidence model), `answers`
        is empty, `confident` is False, `confidence` still gives the best
        guess's and `passages` what was retrieved; `always_answer=True` returns
        the answers anyway.
        """
        return self.ask_many([question], k=k, alternatives=alternatives, mode=mode, path=path, ext=ext,
                             after=after, before=before, label=label, always_answer=always_answer,
                             min_confidence=min_confidence)[0]

    def ask_many(self, questions: Sequence[str], *, k: int = 10, alternatives: int = 3, mode: str = DEFAULT_MODE,
                 path: str | None = None, ext: str | Sequence[str] | None = None, after=None, before=None,
                 label: str | None = None, always_answer: bool = False,
                 min_confidence: float | None = None) -> list[AskResult]:
        """`ask` for each question: the questions are encoded in one batch and read in one reader batch."""
        if alternatives < 0:
            raise InvalidQueryError("alternatives must be at least 0")
        check_min_confidence(min_confidence)
        questions = [clean_query(question) for question in questions]
        reader, wanted = self.reader, 1 + alternatives
        model = reader.confidence
        needs_cosines = "cosine" in model.features
        vectors = self.encoder.encode(questions) if needs_cosines and questions and self._has_encoder() else None
        retrieved = self.search_many(questions, k=k, mode=mode, path=path, ext=ext, after=after, before=before,
                                     label=label, vectors=vectors)
        found = reader.read_batch(questions, [[p.text for p in passages] for passages in retrieved],
                                  top_n=None, per_window=max(wanted, SPANS_PER_WINDOW))
        return [answers.rank_answers(question, passages, spans, confidence=model, wanted=wanted,
                                     cosines=self._cosines(vectors[n], passages) if needs_cosines else None,
                                     min_confidence=min_confidence, always_answer=always_answer)
                for n, (question, passages, spans) in enumerate(zip(questions, retrieved, found))]

    def _cosines(self, vector, passages: Sequence[SearchResult]) -> list[float]:
        """Each passage's cosine similarity to the question whose vector this is, whatever the search mode."""
        if not passages:
            return []
        return (self.store.vectors([p.id for p in passages]) @ vector).tolist()

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
            labels=store.label_counts() if store.meta("labeller") else None,
            encoded_with=", ".join(store.meta("encoded_with") or []) or None,
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
        self._close_store()
        self._encoder_recorded = False  # the folder may hold another index when reopened

    def _close_store(self) -> int | None:
        """Close the store; its generation (how many commits it holds), None if it was not open."""
        if self._store is None:
            return None
        generation = self._store.generation
        self._store.close()
        self._store = None
        return generation

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

