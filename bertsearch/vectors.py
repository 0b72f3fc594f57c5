"""The vector half of an index: a FAISS index derived from SQLite, one file per generation.

A `VectorIndex` is an exact inner-product index (`IndexIDMap2` over
`IndexFlatIP`) whose ids are passage row ids, so deleting never shifts ids;
on unit vectors its scores are cosines. It knows the generation (the count of
committed writes) it reflects and the file it came from, if any.

Files are named after their generation (`vectors-N.faiss`), written to a
temporary file, fsynced and renamed into place, so a reader never sees half a
file. Nothing here touches SQLite: `Store` feeds vectors in and decides when a
loaded index is stale. Other index kinds (HNSW, IVF) belong here too.
"""

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

FILE_PATTERN = "vectors-{}.faiss"
TEMP_PREFIX = ".vectors-"


def file_for(folder: Path, generation: int) -> Path:
    """The FAISS file of `generation` in an index folder."""
    return Path(folder) / FILE_PATTERN.format(generation)


def leftover_files(folder: Path, generation: int) -> list[Path]:
    """FAISS files of generations other than `generation`, and temporary files a crashed writer left behind."""
    folder = Path(folder)
    current = file_for(folder, generation)
    stale = [f for f in folder.glob(FILE_PATTERN.format("*")) if f != current]
    return stale + list(folder.glob(TEMP_PREFIX + "*.tmp"))


class VectorIndex:
    """Vectors searchable by inner product, keyed by passage id, as of one generation."""

    def __init__(self, index, generation: int, file: Path | None = None):
        self.index, self.generation, self.file = index, generation, file

    @classmethod
    def build(cls, batches: Iterable[tuple[np.ndarray, np.ndarray]], dim: int, generation: int) -> "VectorIndex":
        """An index of every (ids, vectors) batch given, in memory."""
        import faiss

        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        for ids, vectors in batches:
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        return cls(index, generation)

    @classmethod
    def read(cls, path: Path, generation: int) -> "VectorIndex":
        """The index saved at `path`; FAISS raises RuntimeError if it is missing, truncated or not FAISS."""
        import faiss

        return cls(faiss.read_index(str(path)), generation, Path(path))

    @classmethod
    def load(cls, folder: Path, generation: int, *, count: int, dim: int | None) -> "VectorIndex | None":
        """`generation`'s file if it reads and holds `count` vectors of `dim`; else None (rebuild it).

        A file can vanish between listing and reading (the writer removes stale
        ones): that, like any unreadable file, just means rebuilding.
        """
        path = file_for(folder, generation)
        if not path.exists():
            return None
        try:
            loaded = cls.read(path, generation)
        except Exception:  # missing, truncated or not a FAISS file: FAISS raises RuntimeError
            return None
        return loaded if (loaded.count, loaded.dim) == (count, dim) else None

    @property
    def count(self) -> int:
        return self.index.ntotal

    @property
    def dim(self) -> int:
        return self.index.d

    def save(self, folder: Path) -> Path:
        """Write this generation's file atomically (unless it came from that file); returns its path."""
        import faiss

        target = file_for(folder, self.generation)
        if self.file == target and target.exists():
            return target
        fd, temp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=".tmp")
        os.close(fd)
        try:
            faiss.write_index(self.index, temp)
            with open(temp, "rb") as file:
                os.fsync(file.fileno())
            os.replace(temp, target)
            _fsync_folder(Path(folder))
            self.file = target
        finally:
            if os.path.exists(temp):
                os.remove(temp)
        return target

    def search(self, queries: np.ndarray, k: int, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the `k` best vectors for each query; an id of -1 means "no hit".

        `k` is capped at the index size. `ids` limits the search to those
        passages, inside FAISS (an id selector), so `k` hits come back whenever
        `k` of them exist.
        """
        import faiss

        params = None
        if ids is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))
        k = max(1, min(k, self.count))
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The vectors of these passage ids, in order."""
        return np.stack([self.index.reconstruct(int(i)) for i in ids])

    def ids_and_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every id, ascending, and its vector."""
        import faiss

        ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        order = np.argsort(ids)
        return ids[order], faiss.downcast_index(self.index.index).reconstruct_n(0, self.count)[order]

    def apply(self, before: int, removed: Sequence[int] | None, added: Sequence[int], vectors: np.ndarray | None) -> bool:
        """Follow one committed write that moved the index from generation `before` to the next.

        Returns False (and changes nothing) when this index is not at `before`:
        it is stale, and the caller should drop it.
        """
        if self.generation != before:
            return False
        if removed:
            self.index.remove_ids(np.asarray(removed, dtype=np.int64))
        if added:
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(added, dtype=np.int64))
        self.generation, self.file = before + 1, None
        return True


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
