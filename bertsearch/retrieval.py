"""Retrieval: the search modes (`search_modes.MODES`) over one index's Store.

- "dense": the query vector against the vector index (cosine), filters as an id selector.
- "bm25": the query's words against SQLite FTS5, filters inside the query.
- "hybrid": each side nominates `fusion.CANDIDATES` passages, every candidate gets
  both scores, and `fusion.fuse` combines them with the dense weight given (the
  index's own, `adaptive_fusion`, when `Index` searches).

A `Retriever` takes queries already checked and, for the modes that need them,
their vectors (`encode` is called for those not given), so eval and the
benchmarks can search with vectors they encoded once. Adding a mode means a
name in `search_modes.MODES` and a branch in `Retriever._scores`.
"""

import heapq
from collections.abc import Callable, Sequence

import numpy as np

from . import fusion
from .errors import InvalidQueryError
from .filters import Filters
from .results import SearchResult
from .store import Store

MAX_QUERY_CHARS = 10_000  # longer queries are cut: the encoder reads only its first few hundred tokens


def clean_query(query: str) -> str:
    """The query as valid Unicode (undecodable bytes replaced), cut to MAX_QUERY_CHARS; never empty."""
    query = (query or "").encode("utf-8", "surrogatepass").decode("utf-8", "replace").strip()
    if not query:
        raise InvalidQueryError("the query is empty: give some words to search for")
    return query[:MAX_QUERY_CHARS]


class Retriever:
    """Searches one Store in any mode; `encode` turns a list of queries into an (n, dim) array."""

    def __init__(self, store: Store, encode: Callable[[list[str]], np.ndarray], *, dense_weight: float | None = None):
        self.store, self.encode = store, encode
        self.dense_weight = dense_weight  # hybrid's weight of the dense side (None: fusion.DENSE_WEIGHT)

    def search_many(self, queries: Sequence[str], *, k: int, mode: str, filters: Filters = Filters(),
                    vectors: np.ndarray | None = None) -> list[list[SearchResult]]:
        """The `k` best passages for each query, best first. `vectors` (one row per query)
        are the queries' own, if already encoded; bm25 needs none."""
        if mode != "bm25" and vectors is None and len(queries):
            vectors = self.encode(list(queries))
        return [self.search(query, k=k, mode=mode, filters=filters,
                            vector=None if vectors is None else vectors[n : n + 1])
                for n, query in enumerate(queries)]

    def search(self, query: str, *, k: int, mode: str, filters: Filters = Filters(),
               vector: np.ndarray | None = None) -> list[SearchResult]:
        """`search_many` for one query; `vector` is its (1, dim) vector, if already encoded."""
        if mode != "bm25" and vector is None:
            vector = self.encode([query])
        store = self.store
        with store.snapshot():  # vector ids, BM25 and passage rows from the same commit
            allowed = store.passage_ids(filters) if filters else None
            if allowed is not None and not allowed:
                return []
            scored = self._scores(query, vector, k, mode, filters, allowed)
            rows = store.passages([i for i, _ in scored])
        return [SearchResult(float(score), r.path, r.start, r.end, r.line, r.text, r.id, r.page, r.section)
                for i, score in scored if (r := rows.get(i))]

    def _scores(self, query: str, vector, k: int, mode: str, filters: Filters, allowed) -> list[tuple[int, float]]:
        if mode == "bm25":
            return self.store.bm25_search(query, k, filters)
        if mode == "dense":
            return self._dense(vector, k, allowed)
        return self._hybrid(query, vector, k, filters, allowed)

    def _dense(self, vector, k: int, allowed: Sequence[int] | None) -> list[tuple[int, float]]:
        scores, ids = self.store.search_vectors(vector, k, ids=allowed)
        return [(i, s) for s, i in zip(scores[0].tolist(), ids[0].tolist()) if i >= 0]

    def _hybrid(self, query: str, vector, k: int, filters: Filters, allowed) -> list[tuple[int, float]]:
        cosine, bm25 = self.hybrid_candidates(query, vector, max(k, fusion.CANDIDATES), filters, allowed)
        return fusion.fuse(cosine, bm25, self.dense_weight)[:k]

    def hybrid_candidates(self, query: str, vector, wanted: int, filters: Filters = Filters(),
                          allowed: Sequence[int] | None = None) -> tuple[dict[int, float], dict[int, float]]:
        """Hybrid's candidates, before fusion: each side nominates `wanted` passages and every candidate
        gets both scores, (cosine by id, BM25 by id: only passages holding a query word)."""
        cosine = dict(self._dense(vector, wanted, allowed))
        bm25 = self.store.bm25_scores(query, filters)
        nominated = heapq.nlargest(wanted, bm25, key=bm25.get)
        missing = [i for i in nominated if i not in cosine]
        if missing:
            cosine.update(zip(missing, (self.store.vectors(missing) @ vector[0]).tolist()))
        return cosine, bm25
