"""The index folder: SQLite, the single source of truth, and the vector index derived from it.

SQLite holds documents, passages and their vectors, BM25's FTS5 table, and
the encoder and settings the index was built with. Every write is one
transaction that also bumps a generation number: that commit is the only one
there is. The vector index (`vectors.VectorIndex`) is derived: saved as a file
named after its generation, and rebuilt from SQLite when the file for the
current generation is missing or disagrees. Vector ids are passage row ids.

Every line of SQL lives here, in `store_parts.py` (the parts of `Store` that
only it uses: document labels, BM25 queries, the integrity checks `check.py`
reports) and in `schema.py` (the tables, their migrations, and the condition a
`Filters` becomes). No other module touches `Store.db`.

Readers need no lock: `snapshot()` reads SQLite in one transaction, and the
vector index is (re)loaded for the generation that transaction sees, so a
search never mixes two states. Only the writer (holding `lock.writer_lock`)
writes vector files or deletes stale ones; a reader that finds its file gone
rebuilds from SQLite.
"""

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import sqlite_utils

from . import vectors as vector_files
from .chunking import Chunk
from .errors import CorruptIndexError, EncoderMismatchError, IndexNotFoundError
from .filters import Filters
from .results import DocumentInfo, Passage
from .schema import filter_condition, migrate, now
from .store_parts import Bm25Queries, IntegrityChecks, LabelRows, serialized
from .vectors import VectorIndex

DB_NAME = "index.db"
VECTOR_BATCH = 10_000  # vectors read from SQLite at a time
PASSAGE_COLUMNS = "p.id, p.document_id, p.seq, d.path, p.start, p.end, p.line, p.text"
PASSAGES_JOIN = "passages p join documents d on d.id = p.document_id"


class _Snapshot:
    """`Store.snapshot()`: the store's lock, and a read-only transaction unless one is open already.

    A class rather than a @contextmanager generator: every search enters two (one nested),
    and a class costs a quarter as much.
    """

    def __init__(self, store: "Store"):
        self._store, self._began = store, False

    def __enter__(self) -> None:
        self._store.thread_lock.acquire()
        try:
            conn = self._store.db.conn
            if not conn.in_transaction:
                conn.execute("BEGIN")
                self._began = True
        except BaseException:
            self._store.thread_lock.release()
            raise

    def __exit__(self, *exc) -> None:
        try:
            if self._began:
                self._store.db.conn.rollback()  # nothing to keep: this transaction only reads
        finally:
            self._store.thread_lock.release()


class Store(LabelRows, Bm25Queries, IntegrityChecks):
    """One index folder. Open it with `Store(folder)`; `create=True` makes a new one.

    Its label rows, BM25 queries and integrity checks are parts in `store_parts.py`."""

    def __init__(self, folder: Path, create: bool = False):
        self.folder = Path(folder)
        db_path = self.folder / DB_NAME
        if not db_path.exists():
            if not create:
                raise IndexNotFoundError(
                    f"no index at {self.folder}: run 'bertsearch index PATH' first, "
                    "or point --index / BERTSEARCH_INDEX at an existing index"
                )
            self.folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(sqlite3.connect(db_path, timeout=60, check_same_thread=False))
        try:
            self.db.enable_wal()
            migrate(self.db)
        except sqlite3.DatabaseError as error:
            self.db.close()
            if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                raise
            raise CorruptIndexError(
                f"the index database {db_path} is damaged ({error}): "
                "index your documents again into a new --index folder"
            ) from None
        self._vectors: VectorIndex | None = None  # the loaded vector index, of some generation
        self.thread_lock = threading.RLock()  # one thread at a time on this connection's transactions

    def snapshot(self) -> _Snapshot:
        """Read SQLite (and the vectors, derived from it) as of one moment, whatever writers commit meanwhile."""
        return _Snapshot(self)

    # -- metadata ---------------------------------------------------------

    @serialized
    def meta(self, key: str, default=None):
        row = self.db.conn.execute("select value from meta where key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    @serialized
    def set_meta(self, key: str, value) -> None:
        """Write a setting in its own transaction."""
        with self.db.atomic():
            self.db["meta"].upsert({"key": key, "value": json.dumps(value)}, pk="key")

    @property
    def generation(self) -> int:
        """How many writes the index has committed."""
        return self.meta("generation", 0)

    @serialized
    def record_encoder(self, fingerprint: dict) -> None:
        """Record the encoder of a new index; refuse a different one for an existing index."""
        stored = self.meta("encoder")
        if stored is None:
            self.set_meta("encoder", fingerprint)
        elif stored != fingerprint:
            raise EncoderMismatchError(
                f"this index was built with {describe_encoder(stored)}, not {describe_encoder(fingerprint)}: "
                "leave out --model/--pooling to use the index's own encoder, or use a new --index folder"
            )

    # -- writing documents ---------------------------------------------------

    @serialized
    def document(self, path: str) -> dict | None:
        """The `documents` row of `path` (id, size, mtime_ns, content_hash, ...), or None."""
        rows = list(self.db.query("select * from documents where path = ?", [path]))
        return rows[0] if rows else None

    @serialized
    def document_paths(self, under: Path | None = None) -> list[str]:
        """Paths of indexed documents, optionally only those inside folder `under`."""
        paths = [row["path"] for row in self.db.query("select path from documents order by path")]
        if under is None:
            return paths
        prefix = str(under).rstrip(os.sep) + os.sep
        return [p for p in paths if p.startswith(prefix)]

    @serialized
    def vectors_by_hash(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors for passages with these content hashes: unchanged text is not re-encoded."""
        found = {}
        hashes = list(set(hashes))
        for first in range(0, len(hashes), 500):
            chunk = hashes[first : first + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"select content_hash, vector from passages where content_hash in ({marks})"
            for row in self.db.query(sql, chunk):
                found[row["content_hash"]] = np.frombuffer(row["vector"], dtype=np.float32)
        return found

    @serialized
    def put_document(self, path: str, stat: os.stat_result, content_hash: str, format: str,
                     chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Replace one document and its passages in a single transaction."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self.db.atomic():
            before = self.generation
            old_ids = self._delete_document(path)
            document_id = self.db["documents"].insert(
                {"path": path, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                 "content_hash": content_hash, "format": format, "indexed_at": now()}
            ).last_pk
            rows = [
                {"document_id": document_id, "seq": seq, "start": c.start, "end": c.end, "line": c.line,
                 "text": c.text, "content_hash": c.content_hash, "vector": vectors[seq].tobytes()}
                for seq, c in enumerate(chunks)
            ]
            self.db["passages"].insert_all(rows)
            new_ids = [r[0] for r in self.db.execute(
                "select id from passages where document_id = ? order by seq", [document_id])]
            self._bump_generation()
        self._follow_write(before, old_ids, new_ids, vectors)

    @serialized
    def touch_document(self, path: str, stat: os.stat_result) -> None:
        """Record a new modification time for a document whose content did not change."""
        with self.db.atomic():
            self.db.execute("update documents set size = ?, mtime_ns = ? where path = ?",
                            [stat.st_size, stat.st_mtime_ns, path])

    @serialized
    def delete_documents(self, paths: Iterable[str]) -> int:
        """Delete documents and their passages; returns how many documents were deleted."""
        deleted, old_ids = 0, []
        with self.db.atomic():
            before = self.generation
            for path in paths:
                ids = self._delete_document(path)
                if ids is not None:
                    deleted += 1
                    old_ids.extend(ids)
            if deleted:
                self._bump_generation()
        if deleted:
            self._follow_write(before, old_ids, [], None)
        return deleted

    @serialized
    def bulk_load(self, documents: Iterable[Sequence], passages: Iterable[Sequence]) -> None:
        """Insert raw rows in one transaction (one generation), for importers and benchmarks that build
        large indexes: documents (id, path, size, mtime_ns, content_hash, format, indexed_at) and passages
        (id, document_id, seq, start, end, line, text, content_hash, float32 vector bytes)."""
        with self.db.atomic():
            self.db.conn.executemany("insert into documents (id, path, size, mtime_ns, content_hash, format, "
                                     "indexed_at) values (?, ?, ?, ?, ?, ?, ?)", documents)
            self.db.conn.executemany('insert into passages (id, document_id, seq, start, "end", line, text, '
                                     "content_hash, vector) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", passages)
            self._bump_generation()
        self._vectors = None  # rebuilt (or loaded) on next use

    def _delete_document(self, path: str) -> list[int] | None:
        document = self.document(path)
        if document is None:
            return None
        ids = [r[0] for r in self.db.execute("select id from passages where document_id = ?", [document["id"]])]
        self.db.execute("delete from passages where document_id = ?", [document["id"]])
        self.db.execute("delete from document_labels where document_id = ?", [document["id"]])
        self.db.execute("delete from documents where id = ?", [document["id"]])
        return ids

    def _bump_generation(self) -> None:
        self.db["meta"].upsert({"key": "generation", "value": json.dumps(self.generation + 1)}, pk="key")

    # -- reading documents and passages --------------------------------------

    @serialized
    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        """Passages by id, with their document's path."""
        if not len(ids):
            return {}
        sql = f"select {PASSAGE_COLUMNS} from {PASSAGES_JOIN} where p.id in ({','.join('?' * len(ids))})"
        return {row[0]: Passage(*row) for row in self.db.conn.execute(sql, [int(i) for i in ids])}

    @serialized
    def passage_list(self, filters: Filters | None = None, document_id: int | None = None,
                     ids: Sequence[int] | None = None) -> list[Passage]:
        """The passages `filters` allow, of one document and/or with these ids, by path then seq."""
        where, params = filter_condition(filters)
        conditions = [where] if where else []
        if document_id is not None:
            conditions.append("p.document_id = ?")
            params.append(int(document_id))
        if ids is not None:
            conditions.append(f"p.id in ({','.join('?' * len(ids))})")
            params += [int(i) for i in ids]
        sql = (f"select {PASSAGE_COLUMNS} from {PASSAGES_JOIN} "
               f"{'where ' + ' and '.join(conditions) if conditions else ''} order by d.path, p.seq")
        return [Passage(*row) for row in self.db.conn.execute(sql, params)]

    @serialized
    def passage_ids(self, filters: Filters) -> list[int]:
        """Ids of the passages of the documents `filters` allow."""
        where, params = filter_condition(filters)
        sql = f"select p.id from {PASSAGES_JOIN} {'where ' + where if where else ''}"
        return [row[0] for row in self.db.execute(sql, params)]

    @serialized
    def document_list(self, filters: Filters | None = None, limit: int | None = None,
                      offset: int = 0) -> list[DocumentInfo]:
        """The documents `filters` allow, by path, with their passage counts."""
        where, params = filter_condition(filters)
        return self._document_infos(where, params, limit, offset)

    @serialized
    def document_info(self, id_or_path: int | str) -> DocumentInfo | None:
        """One document by row id or by its path as indexed; None if there is no such document."""
        column = "d.id" if isinstance(id_or_path, int) else "d.path"
        found = self._document_infos(f"{column} = ?", [id_or_path], 1, 0)
        return found[0] if found else None

    def _document_infos(self, where: str, params: list, limit: int | None, offset: int) -> list[DocumentInfo]:
        sql = (
            "select d.id, d.path, d.size, d.mtime_ns, d.format, d.indexed_at, "
            "(select count(*) from passages p where p.document_id = d.id) "
            f"from documents d {'where ' + where if where else ''} order by d.path limit ? offset ?"
        )
        rows = self.db.conn.execute(sql, [*params, -1 if limit is None else limit, offset])
        return [DocumentInfo(*row) for row in rows]

    @serialized
    def counts(self) -> dict:
        return {"documents": self.db["documents"].count, "passages": self.db["passages"].count}

    # -- iterating over vectors (check.py, the vector index) ----------------

    def iter_vectors(self, dim: int, batch: int = VECTOR_BATCH) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of every passage in id order, a batch at a time; call inside `snapshot()`."""
        rows = self.db.execute("select id, vector from passages order by id")
        while chunk := rows.fetchmany(batch):
            ids = np.array([row[0] for row in chunk], dtype=np.int64)
            yield ids, np.frombuffer(b"".join(row[1] for row in chunk), dtype=np.float32).reshape(len(chunk), dim)

    # -- the vector index, derived from SQLite --------------------------------

    def vector_index(self) -> VectorIndex:
        """The vector index of the current generation: the one loaded, its file, or rebuilt from SQLite."""
        with self.snapshot():
            generation = self.generation
            if self._vectors is None or self._vectors.generation != generation:
                dim = self._dim()
                self._vectors = (VectorIndex.load(self.folder, generation, count=self.counts()["passages"], dim=dim)
                                 or VectorIndex.build(self.iter_vectors(dim), dim, generation))
            return self._vectors

    def rebuild_vectors(self) -> VectorIndex:
        """Rebuild the vector index from SQLite, whatever file there is (`check --repair`)."""
        with self.snapshot():
            dim = self._dim()
            self._vectors = VectorIndex.build(self.iter_vectors(dim), dim, self.generation)
            return self._vectors

    def search_vectors(self, queries: np.ndarray, k: int, ids: Sequence[int] | None = None):
        """`VectorIndex.search` on the current generation: (scores, ids), -1 for "no hit"."""
        with self.snapshot():
            return self.vector_index().search(queries, k, ids)

    @serialized
    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these passages, in order (from the loaded vector index)."""
        return self.vector_index().vectors(ids)

    def vector_file(self, generation: int | None = None) -> Path:
        """Where the vector index of `generation` (default: the current one) is saved."""
        return vector_files.file_for(self.folder, self.generation if generation is None else generation)

    def save_vectors(self) -> None:
        """Write the vector file for the current generation atomically; remove stale and temporary ones.

        Only the writer calls this, holding the writer lock: readers never write or delete files.
        """
        self.vector_index().save(self.folder)
        for stale in self.stale_files():
            stale.unlink(missing_ok=True)

    def stale_files(self) -> list[Path]:
        """Vector files of other generations, and temporary files a crashed writer left behind."""
        return vector_files.leftover_files(self.folder, self.generation)

    def _dim(self) -> int:
        dim = (self.meta("encoder") or {}).get("dim")
        if dim is None:
            raise IndexNotFoundError(f"the index at {self.folder} has no encoder recorded yet: index some files first")
        return dim

    def _follow_write(self, before: int, old_ids, new_ids, vectors) -> None:
        """Apply one committed write to the loaded vector index, or drop it if it was stale."""
        if self._vectors is not None and not self._vectors.apply(before, old_ids, new_ids, vectors):
            self._vectors = None

    def size_on_disk(self) -> int:
        total = 0
        for file in self.folder.iterdir():
            try:  # a writer may delete a stale vector file meanwhile
                total += file.stat().st_size if file.is_file() else 0
            except FileNotFoundError:
                pass
        return total

    @serialized
    def close(self) -> None:
        self.db.close()


def describe_encoder(fingerprint: dict) -> str:
    return f"{fingerprint['model']} ({fingerprint['pooling']} pooling, {fingerprint['dim']} dims)"
