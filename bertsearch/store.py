"""The index folder: SQLite, the single source of truth, and a FAISS index derived from it.

SQLite holds documents, passages and their vectors, and the encoder the index
was built with. Every write is one transaction that also bumps a generation
number. The FAISS file is named after the generation it was built from, written
to a temporary file and renamed into place; on open, a missing or stale one is
rebuilt from SQLite. FAISS ids are passage row ids, so deleting never shifts ids.

Readers need no lock: `snapshot()` reads SQLite in one transaction, and the
FAISS index is (re)loaded for the generation that transaction sees, so a search
never mixes two states. Only the writer (holding `lock.writer_lock`) writes
FAISS files or deletes stale ones; a reader that finds its file gone rebuilds
from SQLite.
"""

import functools
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from .errors import CorruptIndexError, EncoderMismatchError, IndexNotFoundError
from .filters import Filters
from .lexical import create_fts
from .results import DocumentInfo, Passage

DB_NAME = "index.db"
FAISS_PATTERN = "vectors-{}.faiss"
FAISS_TEMP_PREFIX = ".vectors-"
REBUILD_BATCH = 10_000


@dataclass
class PassageRow:
    id: int
    path: str
    start: int
    end: int
    line: int
    text: str


@dataclass
class NewPassage:
    start: int
    end: int
    line: int
    text: str
    content_hash: str


def _m001_create_tables(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["documents"].create(
        {"id": int, "path": str, "size": int, "mtime_ns": int, "content_hash": str,
         "format": str, "indexed_at": str},
        pk="id",
    )
    db["documents"].create_index(["path"], unique=True)
    db["passages"].create(
        {"id": int, "document_id": int, "seq": int, "start": int, "end": int, "line": int,
         "text": str, "content_hash": str, "vector": bytes},
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["passages"].create_index(["document_id"])
    db["passages"].create_index(["content_hash"])


def _m002_create_passages_fts(db: sqlite_utils.Database) -> None:
    """BM25 over the passages (FTS5), kept in step by triggers; backfilled for existing indexes."""
    create_fts(db)


def _m003_create_document_labels(db: sqlite_utils.Database) -> None:
    """A label per document from `bertsearch classify label`, with the probability of every label (JSON)."""
    db["document_labels"].create(
        {"document_id": int, "label": str, "probabilities": str},
        pk="document_id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["document_labels"].create_index(["label"])


MIGRATIONS = [_m001_create_tables, _m002_create_passages_fts, _m003_create_document_labels]


def migrate(db: sqlite_utils.Database) -> None:
    """Apply the numbered schema steps this database has not seen yet.

    All pending steps run in one write transaction, taken up front (`BEGIN
    IMMEDIATE`) and checked again inside it, so a crash leaves none of them
    half done and two processes opening a new index never both apply them.
    """
    if not _pending_migrations(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if "_migrations" not in db.table_names():
            db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
        for step in _pending_migrations(db):
            step(db)
            db["_migrations"].insert({"name": step.__name__, "applied_at": _now()})
        db.execute("COMMIT")
    except BaseException:
        db.conn.rollback()
        raise


def _pending_migrations(db: sqlite_utils.Database) -> list:
    if "_migrations" not in db.table_names():
        return list(MIGRATIONS)
    done = {row["name"] for row in db["_migrations"].rows}
    return [step for step in MIGRATIONS if step.__name__ not in done]


def _serialized(method):
    """Run a Store method under its thread lock: one transaction at a time on the shared connection."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class _Snapshot:
    """`Store.snapshot()`: the store's lock, and a read-only transaction unless one is open already.

    A class rather than a @contextmanager generator: every search enters two (one nested),
    and a class costs a quarter as much.
    """

    def __init__(self, store: "Store"):
        self._store, self._began = store, False

    def __enter__(self) -> None:
        self._store._lock.acquire()
        try:
            conn = self._store.db.conn
            if not conn.in_transaction:
                conn.execute("BEGIN")
                self._began = True
        except BaseException:
            self._store._lock.release()
            raise

    def __exit__(self, *exc) -> None:
        try:
            if self._began:
                self._store.db.conn.rollback()  # nothing to keep: this transaction only reads
        finally:
            self._store._lock.release()


class Store:
    """One index folder. Open it with `Store(folder)`; `create=True` makes a new one."""

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
        self._faiss = None
        self._faiss_generation = None
        self._faiss_file = None  # the file the loaded FAISS index came from, if any
        self._lock = threading.RLock()  # one thread at a time on this connection's transactions

    def snapshot(self) -> _Snapshot:
        """Read SQLite (and FAISS, derived from it) as of one moment, whatever writers commit meanwhile."""
        return _Snapshot(self)

    # -- metadata ---------------------------------------------------------

    @_serialized
    def meta(self, key: str, default=None):
        row = self.db.conn.execute("select value from meta where key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    @_serialized
    def set_meta(self, key: str, value) -> None:
        self.db["meta"].upsert({"key": key, "value": json.dumps(value)}, pk="key")

    @property
    def generation(self) -> int:
        """How many writes the index has committed."""
        return self.meta("generation", 0)

    @_serialized
    def check_encoder(self, fingerprint: dict) -> None:
        """Record the encoder of a new index; refuse a different one for an existing index."""
        stored = self.meta("encoder")
        if stored is None:
            with self.db.atomic():
                self.set_meta("encoder", fingerprint)
        elif stored != fingerprint:
            raise EncoderMismatchError(
                f"this index was built with {describe_encoder(stored)}, not {describe_encoder(fingerprint)}: "
                "leave out --model/--pooling to use the index's own encoder, or use a new --index folder"
            )

    # -- documents and passages ---------------------------------------------

    @_serialized
    def document(self, path: str) -> dict | None:
        rows = list(self.db.query("select * from documents where path = ?", [path]))
        return rows[0] if rows else None

    @_serialized
    def document_paths(self, under: Path | None = None) -> list[str]:
        """Paths of indexed documents, optionally only those inside folder `under`."""
        paths = [row["path"] for row in self.db.query("select path from documents order by path")]
        if under is None:
            return paths
        prefix = str(under).rstrip(os.sep) + os.sep
        return [p for p in paths if p.startswith(prefix)]

    @_serialized
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

    @_serialized
    def put_document(self, path: str, stat: os.stat_result, content_hash: str, format: str,
                     passages: Sequence[NewPassage], vectors: np.ndarray) -> None:
        """Replace one document and its passages in a single transaction."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self.db.atomic():
            before = self.generation
            old_ids = self._delete_document(path)
            document_id = self.db["documents"].insert(
                {"path": path, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                 "content_hash": content_hash, "format": format, "indexed_at": _now()}
            ).last_pk
            rows = [
                {"document_id": document_id, "seq": seq, "start": p.start, "end": p.end, "line": p.line,
                 "text": p.text, "content_hash": p.content_hash, "vector": vectors[seq].tobytes()}
                for seq, p in enumerate(passages)
            ]
            self.db["passages"].insert_all(rows)
            new_ids = [r[0] for r in self.db.execute(
                "select id from passages where document_id = ? order by seq", [document_id])]
            self._bump_generation()
        self._update_faiss(before, old_ids, new_ids, vectors)

    @_serialized
    def touch_document(self, path: str, stat: os.stat_result) -> None:
        """Record a new modification time for a document whose content did not change."""
        with self.db.atomic():
            self.db.execute("update documents set size = ?, mtime_ns = ? where path = ?",
                            [stat.st_size, stat.st_mtime_ns, path])

    @_serialized
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
            self._update_faiss(before, old_ids, [], None)
        return deleted

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
        self.set_meta("generation", self.generation + 1)

    @_serialized
    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]:
        """Passages by id, with their document's path."""
        if not len(ids):
            return {}
        marks = ",".join("?" * len(ids))
        sql = (
            "select passages.id, documents.path, passages.start, passages.end, passages.line, passages.text "
            f"from passages join documents on documents.id = passages.document_id where passages.id in ({marks})"
        )
        return {row[0]: PassageRow(*row) for row in self.db.conn.execute(sql, [int(i) for i in ids])}

    @_serialized
    def document_list(self, filters: Filters | None = None, limit: int | None = None,
                      offset: int = 0) -> list[DocumentInfo]:
        """The documents `filters` allow, by path, with their passage counts."""
        where, params = filters.sql() if filters else ("", [])
        return self._document_infos(where, params, limit, offset)

    @_serialized
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

    @_serialized
    def passage_list(self, filters: Filters | None = None, document_id: int | None = None,
                     ids: Sequence[int] | None = None) -> list[Passage]:
        """The passages `filters` allow, of one document and/or with these ids, by path then seq."""
        where, params = filters.sql() if filters else ("", [])
        conditions = [where] if where else []
        if document_id is not None:
            conditions.append("p.document_id = ?")
            params.append(int(document_id))
        if ids is not None:
            conditions.append(f"p.id in ({','.join('?' * len(ids))})")
            params += [int(i) for i in ids]
        sql = (
            "select p.id, p.document_id, p.seq, d.path, p.start, p.end, p.line, p.text "
            "from passages p join documents d on d.id = p.document_id "
            f"{'where ' + ' and '.join(conditions) if conditions else ''} order by d.path, p.seq"
        )
        return [Passage(*row) for row in self.db.conn.execute(sql, params)]

    # -- document labels ------------------------------------------------------

    @_serialized
    def document_vectors(self, document_ids: Sequence[int] | None = None):
        """Yield (document id, its passages' vectors, their lengths in characters, their texts), document by document.

        `document_ids` None means every document; the rows are read in one snapshot.
        """
        if document_ids is not None and not len(document_ids):
            return
        condition = "" if document_ids is None else f"where document_id in ({','.join('?' * len(document_ids))})"
        sql = f"select document_id, vector, length(text), text from passages {condition} order by document_id, seq"
        with self.snapshot():
            rows = self.db.conn.execute(sql, [int(i) for i in document_ids or []]).fetchall()
        for first, last in _runs([row[0] for row in rows]):
            chunk = rows[first:last]
            yield (chunk[0][0], np.stack([np.frombuffer(r[1], dtype=np.float32) for r in chunk]),
                   np.array([r[2] for r in chunk], dtype=np.float64), [r[3] for r in chunk])

    @_serialized
    def unlabelled_documents(self) -> list[int]:
        """Ids of the documents with no label (new or changed since the index was last labelled)."""
        sql = "select id from documents where id not in (select document_id from document_labels) order by id"
        return [row[0] for row in self.db.conn.execute(sql)]

    @_serialized
    def put_labels(self, labels: dict[int, tuple[str, dict[str, float]]], labeller: dict) -> None:
        """Store each document's label and probabilities, and what labelled them, in one transaction.

        Labels change no vector, so the generation (and the FAISS file) stays as it is.
        """
        with self.db.atomic():
            self.db["document_labels"].upsert_all(
                [{"document_id": i, "label": label, "probabilities": json.dumps(probabilities)}
                 for i, (label, probabilities) in labels.items()],
                pk="document_id",
            )
            self.set_meta("labeller", labeller)

    @_serialized
    def label_counts(self) -> dict[str, int]:
        """How many documents carry each label, most common first."""
        sql = "select label, count(*) as n from document_labels group by label order by n desc, label"
        return {label: n for label, n in self.db.conn.execute(sql)}

    @_serialized
    def document_label(self, document_id: int) -> tuple[str, dict[str, float]] | None:
        row = self.db.conn.execute("select label, probabilities from document_labels where document_id = ?",
                                   [int(document_id)]).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    @_serialized
    def counts(self) -> dict:
        return {
            "documents": self.db["documents"].count,
            "passages": self.db["passages"].count,
        }

    # -- FAISS, derived from SQLite -------------------------------------------

    @property
    def faiss(self):
        """The FAISS index for the current generation, loaded or rebuilt as needed."""
        with self.snapshot():
            return self._snapshot_faiss()

    def _snapshot_faiss(self):
        """`faiss`, for a caller already inside a snapshot."""
        generation = self.generation
        if self._faiss is None or self._faiss_generation != generation:
            self._faiss, self._faiss_file = self._load_faiss(generation), None
            if self._faiss is not None:
                self._faiss_file = self.faiss_path(generation)
            else:
                self._faiss = self._rebuild_faiss()
            self._faiss_generation = generation
        return self._faiss

    def faiss_path(self, generation: int) -> Path:
        return self.folder / FAISS_PATTERN.format(generation)

    def search(self, queries: np.ndarray, k: int, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """FAISS inner-product search; ids of -1 mean "no hit"; `k` is capped at the index size.
        `ids` limits it to those passages (inside the search, so `k` hits come back whenever
        `k` of them exist)."""
        params = None
        if ids is not None:
            import faiss

            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))
        with self.snapshot():
            index = self._snapshot_faiss()
            k = max(1, min(k, index.ntotal))
            return index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)

    @_serialized
    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these passages, in order (from the loaded FAISS index)."""
        index = self.faiss
        return np.stack([index.reconstruct(int(i)) for i in ids])

    @_serialized
    def passage_ids(self, where: str, params: Sequence = ()) -> list[int]:
        """Ids of the passages meeting an SQL condition on `passages` (alias p) and `documents` (alias d)."""
        sql = f"select p.id from passages p join documents d on d.id = p.document_id where {where}"
        return [row[0] for row in self.db.execute(sql, list(params))]

    def save_faiss(self) -> None:
        """Write the FAISS file for the current generation atomically; remove stale and temporary ones.

        Only the writer calls this, holding the writer lock: readers never write or delete files.
        """
        import faiss

        index = self.faiss
        target = self.faiss_path(self._faiss_generation)
        if self._faiss_file != target or not target.exists():
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=FAISS_TEMP_PREFIX, suffix=".tmp")
            os.close(fd)
            try:
                faiss.write_index(index, temp)
                with open(temp, "rb") as file:
                    os.fsync(file.fileno())
                os.replace(temp, target)
                _fsync_folder(self.folder)
                self._faiss_file = target
            finally:
                if os.path.exists(temp):
                    os.remove(temp)
        for stale in self.stale_files():
            stale.unlink(missing_ok=True)

    def stale_files(self) -> list[Path]:
        """FAISS files of other generations, and temporary files a crashed writer left behind."""
        current = self.faiss_path(self.generation)
        stale = [f for f in self.folder.glob(FAISS_PATTERN.format("*")) if f != current]
        return stale + list(self.folder.glob(FAISS_TEMP_PREFIX + "*.tmp"))

    def _load_faiss(self, generation: int):
        """The FAISS file for `generation` if it exists, reads and agrees with SQLite's counts; else None.

        A file can vanish between listing and reading (the writer removes stale
        ones): that, like any unreadable file, just means rebuilding from SQLite.
        """
        import faiss

        path = self.faiss_path(generation)
        if not path.exists():
            return None
        try:
            index = faiss.read_index(str(path))
        except Exception:  # missing, truncated or not a FAISS file: FAISS raises RuntimeError
            return None
        dim = (self.meta("encoder") or {}).get("dim")
        return index if (index.ntotal, index.d) == (self.db["passages"].count, dim) else None

    def _rebuild_faiss(self):
        index = self._empty_faiss()
        batch_ids, batch_vectors = [], []
        for row in self.db.query("select id, vector from passages order by id"):
            batch_ids.append(row["id"])
            batch_vectors.append(np.frombuffer(row["vector"], dtype=np.float32))
            if len(batch_ids) == REBUILD_BATCH:
                index.add_with_ids(np.stack(batch_vectors), np.array(batch_ids, dtype=np.int64))
                batch_ids, batch_vectors = [], []
        if batch_ids:
            index.add_with_ids(np.stack(batch_vectors), np.array(batch_ids, dtype=np.int64))
        return index

    def _empty_faiss(self):
        import faiss

        dim = (self.meta("encoder") or {}).get("dim")
        if dim is None:
            raise IndexNotFoundError(f"the index at {self.folder} has no encoder recorded yet: index some files first")
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def _update_faiss(self, before: int, old_ids, new_ids, vectors) -> None:
        """Apply one committed change to the loaded FAISS index, or drop it if it was stale."""
        if self._faiss is None:
            return
        if self._faiss_generation != before:
            self._faiss = None
            return
        if old_ids:
            self._faiss.remove_ids(np.array(old_ids, dtype=np.int64))
        if new_ids:
            self._faiss.add_with_ids(vectors, np.array(new_ids, dtype=np.int64))
        self._faiss_generation = before + 1

    def size_on_disk(self) -> int:
        total = 0
        for file in self.folder.iterdir():
            try:  # a writer may delete a stale FAISS file meanwhile
                total += file.stat().st_size if file.is_file() else 0
            except FileNotFoundError:
                pass
        return total

    @_serialized
    def close(self) -> None:
        self.db.close()


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (where the platform allows opening folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _runs(keys: list) -> Iterable[tuple[int, int]]:
    """[first, last) bounds of each run of equal consecutive keys."""
    first = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[first]:
            yield first, i
            first = i


def describe_encoder(fingerprint: dict) -> str:
    return f"{fingerprint['model']} ({fingerprint['pooling']} pooling, {fingerprint['dim']} dims)"


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")
