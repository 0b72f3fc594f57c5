"""The library's front door: `Index(path)` with add, remove, search, ask and ways to read what it holds.

`Index` opens the folder (`store.Store`), checks arguments and holds the writer
lock; the work is done by `ingest` (add, remove), `retrieval` (the search
modes), `answers` (reading passages and ranking what the reader found),
`classify.labelling` (labels), `check` and `watch`. `loading.ModelLoader` loads
the encoder and reader on first use; `contents.Contents` is the half that reads
what the index holds (info, documents, passages).
"""

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import adaptive_fusion, answers, ingest
from .adaptive_fusion import check_dense_weight, recorded_weight
from .confidence import check_min_confidence
from .contents import Contents
from .errors import BertsearchError, IndexNotFoundError, InvalidQueryError
from .extract import MAX_FILE_BYTES
from .filters import Filters
from .ingest import IndexReport
from .loading import ModelLoader
from .lock import writer_lock
from .rerank import check_rerank, rerank_many
from .results import AskResult, SearchResult
from .retrieval import Retriever, clean_query
from .search_modes import DEFAULT_MODE, check_mode
from .store import Store
from .vectors import check_kind

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


class Index(Contents):
    """A searchable index of documents, kept in one folder.

    The encoder and passage settings are fixed when the index is created and
    remembered; later opens use them, and asking for different ones is an error.

    One process writes at a time (`add`, `remove`, `check(repair=True)`): another
    writer waits up to `lock_timeout` seconds, then raises IndexLockedError
    naming the pid that holds the index. Readers never wait for writers.
    Files over `max_file_bytes` (None: no limit) are skipped with a notice.
    `backend` ("torch", "onnx" or "openvino"; None: $BERTSEARCH_BACKEND, else the
    measured default, `backends.choose_backend`) picks what runs the models (docs/onnx.md).
    `faiss` (a FAISS factory string such as "HNSW32", "Flat", or "auto") sets the vector
    index's kind when `add` runs; by default it follows the size (docs/scale.md).
    """

    def __init__(self, path: str | Path | None = None, *, model: str | None = None, pooling: str | None = None,
                 device: str | None = None, precision: str = "auto", passage_tokens: int | None = None,
                 overlap_tokens: int | None = None, reader: str | None = None, lock_timeout: float = 0.0,
                 max_file_bytes: int | None = MAX_FILE_BYTES, backend: str | None = None, faiss: str | None = None):
        self.path = Path(path) if path else default_index_path()
        self._lock_timeout, self._max_file_bytes = lock_timeout, max_file_bytes
        self._models = ModelLoader(model=model, pooling=pooling, device=device, precision=precision,
                                   backend=backend, reader=reader)
        self._chunks = {"passage_tokens": passage_tokens, "overlap_tokens": overlap_tokens}
        self._store, self._faiss = None, faiss
        self._encoder_recorded = False  # once the index records its encoder, it never forgets it

    # -- opening ------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The index folder, which must already exist."""
        return self._open(create=False)

    def _open(self, create: bool) -> Store:
        if self._store is None:
            self._store = Store(self.path, create=create)
            ingest.check_settings(self._store, model=self._models.model, pooling=self._models.pooling,
                                  chunks=self._chunks)
        return self._store

    @property
    def encoder(self) -> "Encoder":
        """The encoder for queries, loaded on first use."""
        return self._models.encoder(self.store, bulk=False)

    @property
    def reader(self) -> "Reader":
        """The question-answering reader, loaded on first use."""
        return self._models.reader()

    # -- writing ------------------------------------------------------------

    def add(self, paths: Iterable[str | Path], *, progress: bool = False,
            notify: Callable[[str], None] | None = None, follow_links: bool = False,
            pdf_password: str | None = None, encoding: "ingest.Encoding | None" = None,
            faiss: str | None = None) -> IndexReport:
        """Index files and folders (recursively). Only new or changed files are encoded again,
        and indexed files that have gone from the given folders are dropped.

        Documents are stored under the path they were found at; symbolic links that lead out of
        a given folder are followed only with `follow_links`. Encrypted PDFs open with
        `pdf_password` (else they are skipped, saying so). A first `add` that fails before
        committing anything leaves no index behind. `encoding` computes the vectors elsewhere
        (`ray_encoding.RayEncoding`: on a Ray cluster); the default encodes in this process.
        `faiss` records the vector index's kind (as `Index(faiss=...)`; InvalidSettingError
        before anything is written if FAISS cannot make it).
        """
        roots = [Path(p) for p in paths]
        for root in roots:
            if not root.exists():
                raise BertsearchError(f"no such file or folder: {root}")
        with ingest.undone_if_nothing_committed(self.path, close=self._close_store):
            with writer_lock(self.path, self._lock_timeout):
                store = self._open(create=True)
                bulk_encoder = lambda: self._models.encoder(store, bulk=True)  # noqa: E731
                if (faiss or self._faiss) is not None:
                    dim = (store.meta("encoder") or {}).get("dim") or bulk_encoder().fingerprint["dim"]
                    store.set_faiss_setting(check_kind(faiss or self._faiss, dim))
                chunks = ingest.chunk_settings(store, self._chunks, lambda: bulk_encoder().max_length - 2)
                ingester = ingest.Ingester(store, bulk_encoder, exclude=self.path, notify=notify,
                                           max_file_bytes=self._max_file_bytes, progress=progress,
                                           follow_links=follow_links, pdf_password=pdf_password,
                                           encoding=encoding)
                report = ingester.add(roots, chunks)
                if ingester.encoded_with:
                    self._models.record_encoded_with(store, ingester.encoded_with)
                if report.added or report.updated or report.removed:
                    self._refresh_fusion(store)
                from .classify.labelling import label_new_documents

                report.labelled = label_new_documents(store, device=self._models.device,
                                                      precision=self._models.precision, notify=notify)
                return report

    def label(self, classifier: "str | Path | Classifier", *, progress: bool = False) -> "LabelReport":
        """Label every document with a classifier (a saved one's folder, or a `Classifier`).

        Labels and their probabilities are stored in the index: `info` counts them,
        `search`/`ask` filter by them (`label=`), and when `classifier` is a folder,
        `add` labels new and changed documents with it too. How a document's label
        comes from its passages: `classify.labelling`.
        """
        from .classify.labelling import label_index, open_classifier

        classifier, folder = open_classifier(classifier, device=self._models.device, precision=self._models.precision)
        with writer_lock(self.path, self._lock_timeout):
            self._require_encoder()
            return label_index(self.store, classifier, folder=folder, progress=progress)

    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove documents: files, or every document inside a folder. Returns the paths removed."""
        store = self.store  # IndexNotFoundError before the lock, which would create the folder
        with writer_lock(self.path, self._lock_timeout):
            removed = ingest.remove(store, paths)
            if removed and self._has_encoder():
                self._refresh_fusion(store)
            return removed

    def _refresh_fusion(self, store: Store) -> None:
        """Choose the hybrid mode's dense weight again if the passages changed enough (adaptive_fusion.py)."""
        adaptive_fusion.refresh(store, lambda texts: self._models.encoder(store, bulk=True).encode(texts))

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
        from .check import check_index

        return check_index(self.store, repair=repair, lock=lambda: writer_lock(self.path, self._lock_timeout))

    # -- searching ----------------------------------------------------------

    def search(self, query: str, *, k: int = 10, mode: str = DEFAULT_MODE, path: str | None = None,
               ext: str | Sequence[str] | None = None, after=None, before=None,
               label: str | None = None, rerank: int | None = None,
               dense_weight: float | None = None) -> list[SearchResult]:
        """The `k` passages that best match `query`, best first.

        `mode`: "hybrid" (default: BM25 and vectors fused), "dense" (vectors only;
        the score is the cosine) or "bm25" (words only; the score is BM25).
        `path` (a glob), `ext` (one or more extensions) and `after`/`before`
        (modification time: a date, datetime or ISO string) keep only matching
        documents, as does `label` (the label `label()` gave them); all are applied
        inside the search: `k` results come back whenever `k` passages match.

        `rerank=N` has the reader read the first N results and re-order them as `ask`
        ranks passages (`rerank.py`; each result then carries `retrieval_score` and
        `reader_score`). `dense_weight` (0 to 1) overrides the hybrid mode's weight of
        the vectors, which is otherwise the index's own (`adaptive_fusion.py`).
        """
        return self.search_many([query], k=k, mode=mode, path=path, ext=ext, after=after, before=before,
                                label=label, rerank=rerank, dense_weight=dense_weight)[0]

    def search_many(self, queries: Sequence[str], *, k: int = 10, mode: str = DEFAULT_MODE, path: str | None = None,
                    ext: str | Sequence[str] | None = None, after=None, before=None, label: str | None = None,
                    vectors: "np.ndarray | None" = None, rerank: int | None = None,
                    dense_weight: float | None = None) -> list[list[SearchResult]]:
        """`search` for each query, the queries encoded in one batch (faster than one at a time) and,
        with `rerank`, read in one reader batch. `vectors`: the queries' own (one row each, from
        `index.encoder`), if already encoded."""
        queries = [clean_query(query) for query in queries]
        if k < 1:
            raise InvalidQueryError("k must be at least 1")
        read = check_rerank(rerank)
        if read:
            found = self.search_many(queries, k=max(k, read), mode=mode, path=path, ext=ext, after=after,
                                     before=before, label=label, vectors=vectors, dense_weight=dense_weight)
            return rerank_many(self.reader, queries, found, n=read, k=k)
        filters = Filters(path, (ext,) if isinstance(ext, str) else tuple(ext or ()), after, before, label)
        mode = check_mode(mode)
        self._require_encoder()  # a reader must not record an encoder: that is the first writer's
        weight = check_dense_weight(dense_weight) if dense_weight is not None else recorded_weight(self.store)
        retriever = Retriever(self.store, lambda texts: self.encoder.encode(texts), dense_weight=weight)
        return retriever.search_many(queries, k=k, mode=mode, filters=filters, vectors=vectors)

    def _has_encoder(self) -> bool:
        if not self._encoder_recorded:
            self._encoder_recorded = self.store.meta("encoder") is not None
        return self._encoder_recorded

    def _require_encoder(self) -> None:
        if not self._has_encoder():
            raise IndexNotFoundError(f"the index at {self.path} has nothing indexed yet: run 'bertsearch index PATH' first")

    def ask(self, question: str, *, k: int = 10, alternatives: int = 3, mode: str = DEFAULT_MODE,
            path: str | None = None, ext: str | Sequence[str] | None = None, after=None, before=None,
            label: str | None = None, always_answer: bool = False, min_confidence: float | None = None,
            dense_weight: float | None = None) -> AskResult:
        """The best answer to `question` and up to `alternatives` others, read from the `k` best passages.

        `mode`, the filters and `dense_weight` are those of `search`. Answers and passages are
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
                             min_confidence=min_confidence, dense_weight=dense_weight)[0]

    def ask_many(self, questions: Sequence[str], *, k: int = 10, alternatives: int = 3, mode: str = DEFAULT_MODE,
                 path: str | None = None, ext: str | Sequence[str] | None = None, after=None, before=None,
                 label: str | None = None, always_answer: bool = False,
                 min_confidence: float | None = None, dense_weight: float | None = None) -> list[AskResult]:
        """`ask` for each question: the questions are encoded in one batch and read in one reader batch."""
        if alternatives < 0:
            raise InvalidQueryError("alternatives must be at least 0")
        check_min_confidence(min_confidence)
        questions = [clean_query(question) for question in questions]
        reader = self.reader
        with_cosines = answers.needs_cosines(reader) and questions and self._has_encoder()
        vectors = self.encoder.encode(questions) if with_cosines else None
        retrieved = self.search_many(questions, k=k, mode=mode, path=path, ext=ext, after=after, before=before,
                                     label=label, vectors=vectors, dense_weight=dense_weight)
        return answers.read_and_rank(questions, retrieved, reader=reader, store=self.store, question_vectors=vectors,
                                     wanted=1 + alternatives, min_confidence=min_confidence,
                                     always_answer=always_answer)

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

