"""The parts of `Store` besides its core (the rows, the single commit point, the vector index).

Each part is a mixin `Store` inherits: its methods run SQL on the store's own
`db` connection, each under the store's `thread_lock` (`serialized`), so they
keep every rule `store.py`'s opening comment states. Only `store.py` uses them.

- `LabelRows`: the labels `classify label` gives documents (their own table: a
  label changes no vector, so labelling bumps no generation).
- `Bm25Queries`: BM25 over the FTS5 table, honouring `Filters` inside the query.
- `IntegrityChecks`: the counts and checks `check.py` reports.
"""

import functools
import json
from collections.abc import Iterator, Sequence

import numpy as np

from .bm25 import FTS_TABLE, match_expression
from .filters import Filters
from .schema import filter_condition


def serialized(method):
    """Run a Store method under its thread lock: one transaction at a time on the shared connection."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.thread_lock:
            return method(self, *args, **kwargs)

    return wrapper


class LabelRows:
    """Document labels: reading passages' vectors document by document, storing labels, counting them."""

    @serialized
    def document_vectors(self, document_ids: Sequence[int] | None = None):
        """Yield (document id, its passages' vectors, their lengths in characters, their texts), document
        by document; `document_ids` None means every document. The rows are read in one snapshot."""
        if document_ids is not None and not len(document_ids):
            return
        condition = "" if document_ids is None else f"where document_id in ({','.join('?' * len(document_ids))})"
        sql = f"select document_id, vector, length(text), text from passages {condition} order by document_id, seq"
        with self.snapshot():
            rows = self.db.conn.execute(sql, [int(i) for i in document_ids or []]).fetchall()
        for first, last in runs([row[0] for row in rows]):
            chunk = rows[first:last]
            yield (chunk[0][0], np.stack([np.frombuffer(r[1], dtype=np.float32) for r in chunk]),
                   np.array([r[2] for r in chunk], dtype=np.float64), [r[3] for r in chunk])

    @serialized
    def unlabelled_documents(self) -> list[int]:
        """Ids of the documents with no label (new or changed since the index was last labelled)."""
        sql = "select id from documents where id not in (select document_id from document_labels) order by id"
        return [row[0] for row in self.db.conn.execute(sql)]

    @serialized
    def put_labels(self, labels: dict[int, tuple[str, dict[str, float]]], labeller: dict) -> None:
        """Store each document's label and probabilities, and what labelled them, in one transaction.

        Labels change no vector, so the generation (and the vector file) stays as it is.
        """
        with self.db.atomic():
            self.db["document_labels"].upsert_all(
                [{"document_id": i, "label": label, "probabilities": json.dumps(probabilities)}
                 for i, (label, probabilities) in labels.items()],
                pk="document_id",
            )
            self.db["meta"].upsert({"key": "labeller", "value": json.dumps(labeller)}, pk="key")

    @serialized
    def label_counts(self) -> dict[str, int]:
        """How many documents carry each label, most common first."""
        sql = "select label, count(*) as n from document_labels group by label order by n desc, label"
        return {label: n for label, n in self.db.conn.execute(sql)}

    @serialized
    def document_label(self, document_id: int) -> tuple[str, dict[str, float]] | None:
        """A document's label and the probability of each label; None if it has none."""
        row = self.db.conn.execute("select label, probabilities from document_labels where document_id = ?",
                                   [int(document_id)]).fetchone()
        return (row[0], json.loads(row[1])) if row else None


class Bm25Queries:
    """BM25 over the FTS5 table (kept in step with `passages` by triggers), filtered inside the query."""

    @serialized
    def bm25_search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """The `k` best (passage id, BM25 score) pairs, best first (higher is better), among what `filters` allow."""
        return self._bm25(query, filters, f"order by bm25({FTS_TABLE}) limit ?", [k])

    @serialized
    def bm25_scores(self, query: str, filters: Filters | None = None) -> dict[int, float]:
        """BM25 score of every passage holding a word of `query` (one FTS5 pass; the rest score 0).

        Cheaper than asking FTS5 for the scores of chosen rowids, which it answers one rowid at a time.
        """
        return dict(self._bm25(query, filters, "", []))

    def _bm25(self, query: str, filters: Filters | None, tail: str, tail_params: list) -> list[tuple[int, float]]:
        expression = match_expression(query)
        if expression is None:
            return []
        where, params = filter_condition(filters)
        join = "join passages p on p.id = f.rowid join documents d on d.id = p.document_id" if where else ""
        sql = (f"select f.rowid, -bm25({FTS_TABLE}) from {FTS_TABLE} f {join} "
               f"where {FTS_TABLE} match ? {'and ' + where if where else ''} {tail}")
        return [(row[0], row[1]) for row in self.db.execute(sql, [expression, *params, *tail_params])]


class IntegrityChecks:
    """What `check` verifies: SQLite's own check, rows that break the schema's promises, vector lengths."""

    @serialized
    def integrity(self) -> str:
        """SQLite's integrity check: "ok", or its first few complaints."""
        rows = [row[0] for row in self.db.execute("pragma integrity_check")]
        return "ok" if rows == ["ok"] else "; ".join(rows[:3])

    @serialized
    def row_problems(self) -> dict[str, int]:
        """Counts of rows that break the schema's promises (all 0 in a sound index)."""
        queries = {
            "orphan_passages": "select count(*) from passages where document_id not in (select id from documents)",
            "duplicate_passages": "select count(*) from (select 1 from passages group by document_id, seq "
                                  "having count(*) > 1)",
            "empty_documents": "select count(*) from documents where id not in (select document_id from passages)",
        }
        return {name: self.db.execute(sql).fetchone()[0] for name, sql in queries.items()}

    @serialized
    def vectors_not_of_dim(self, dim: int) -> int:
        """How many stored vectors are not `dim` float32 values long."""
        return self.db.execute("select count(*) from passages where length(vector) != ?", [4 * int(dim)]).fetchone()[0]

    @serialized
    def passage_id_array(self) -> np.ndarray:
        """Every passage id, ascending."""
        return np.array([row[0] for row in self.db.execute("select id from passages order by id")], dtype=np.int64)


def runs(keys: list) -> Iterator[tuple[int, int]]:
    """[first, last) bounds of each run of equal consecutive keys."""
    first = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[first]:
            yield first, i
            first = i


