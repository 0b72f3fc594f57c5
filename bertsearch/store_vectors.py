"""The part of `Store` that keeps the vector index derived from SQLite: which kind, loaded, rebuilt, saved.

A mixin `Store` inherits, like those in `store_parts.py`. The writer saves the
vector file at the end of each run (`save_vectors`), of the kind the index
wants then: the recorded setting ("auto" or a forced factory string) and the
size decide (`vector_kinds.kind_for`, with hysteresis against the kind saved
last, recorded as `faiss_kind`). A reader loads the current generation's file
(memory-mapped when large), or builds an exact `Flat` index in memory when
there is none. The loaded index follows each committed write
(`VectorIndex.apply`) or is dropped and rebuilt.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from . import vector_kinds
from . import vectors as vector_files
from .errors import IndexNotFoundError
from .store_parts import serialized
from .vectors import VectorIndex

VECTOR_BATCH = 10_000  # vectors read from SQLite at a time


class DerivedVectors:
    """The vector index of the current generation, and the settings that choose its kind."""

    # -- iterating over vectors (check.py, the vector index) ----------------

    def iter_vectors(self, dim: int, batch: int = VECTOR_BATCH) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of every passage in id order, a batch at a time; call inside `snapshot()`."""
        rows = self.db.execute("select id, vector from passages order by id")
        while chunk := rows.fetchmany(batch):
            ids = np.array([row[0] for row in chunk], dtype=np.int64)
            yield ids, np.frombuffer(b"".join(row[1] for row in chunk), dtype=np.float32).reshape(len(chunk), dim)

    # -- the vector index, derived from SQLite --------------------------------

    def vector_index(self) -> VectorIndex:
        """The vector index of the current generation: the one loaded, its file, or (exact) rebuilt from SQLite.

        Readers rebuild `Flat` (the quickest to build, and exact); the writer saves the kind the index wants.
        """
        with self.snapshot():
            return self._current_vectors() or self.rebuild_vectors(vector_kinds.FLAT)

    def _current_vectors(self) -> VectorIndex | None:
        """The loaded vector index if it is of the current generation, else that generation's file if sound."""
        generation = self.generation
        if self._vectors is None or self._vectors.generation != generation:
            self._vectors = VectorIndex.load(self.folder, generation, count=self.counts()["passages"], dim=self._dim())
        return self._vectors

    def rebuild_vectors(self, kind: str | None = None) -> VectorIndex:
        """Rebuild the vector index from SQLite, whatever file there is; `kind` defaults to `wanted_kind()`."""
        with self.snapshot():
            dim, kind = self._dim(), kind or self.wanted_kind()
            lists = vector_kinds.ivf_lists(kind)
            training = self._vector_sample(lists * vector_files.TRAIN_PER_LIST) if lists else None
            self._vectors = VectorIndex.build(self.iter_vectors(dim), dim, self.generation, kind=kind,
                                              training=training)
            return self._vectors

    def faiss_setting(self) -> str:
        """The recorded FAISS setting: "auto" (the kind follows the size) or a forced factory string."""
        return self.meta("faiss", vector_kinds.AUTO)

    def set_faiss_setting(self, setting: str) -> None:
        """Record the FAISS setting (checked by `vectors.check_kind`); the writer's next save builds that kind."""
        if setting != self.faiss_setting():
            self.set_meta("faiss", setting)

    def faiss_kind(self) -> str | None:
        """The kind of the vector file the writer last saved (a factory string); None before the first."""
        return self.meta("faiss_kind")

    def wanted_kind(self) -> str:
        """The kind the vector index should be now, by the setting and the size (`vector_kinds.kind_for`)."""
        with self.snapshot():
            return vector_kinds.kind_for(self.faiss_setting(), self.counts()["passages"], self.faiss_kind())

    @serialized
    def _vector_sample(self, count: int) -> np.ndarray:
        """Up to `count` stored vectors chosen at random (seeded): what an IVF index is trained on."""
        ids = self.passage_id_array()
        chosen = np.sort(np.random.default_rng(0).choice(ids, size=min(count, len(ids)), replace=False))
        return self.vectors(chosen)

    def search_vectors(self, queries: np.ndarray, k: int, ids: Sequence[int] | None = None):
        """`VectorIndex.search` on the current generation: (scores, ids), -1 for "no hit"."""
        with self.snapshot():
            return self.vector_index().search(queries, k, ids)

    @serialized
    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these passages, in order (KeyError for an id with no passage)."""
        found = {}
        for first in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[first : first + 500]]
            sql = f"select id, vector from passages where id in ({','.join('?' * len(chunk))})"
            found.update(self.db.execute(sql, chunk).fetchall())
        if not found:
            return np.zeros((0, self._dim()), dtype=np.float32)
        return np.stack([np.frombuffer(found[int(i)], dtype=np.float32) for i in ids])

    def vector_file(self, generation: int | None = None) -> Path:
        """Where the vector index of `generation` (default: the current one) is saved."""
        return vector_files.file_for(self.folder, self.generation if generation is None else generation)

    def save_vectors(self) -> None:
        """Write the vector file for the current generation atomically, of the kind the index wants now
        (rebuilt from SQLite when the size crossed a threshold or HNSW tombstones must go); remove stale files.

        Only the writer calls this, holding the writer lock: readers never write or delete files.
        """
        with self.snapshot():
            current, wanted = self._current_vectors(), self.wanted_kind()
            if current is None or current.kind != wanted or current.tombstones:
                current = self.rebuild_vectors(wanted)
            current.save(self.folder)
        if self.faiss_kind() != current.kind:  # after the snapshot: it rolls back what it read
            self.set_meta("faiss_kind", current.kind)
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
