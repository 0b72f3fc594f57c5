"""The vector half of an index: a FAISS index derived from SQLite, one file per generation.

A `VectorIndex` holds passage vectors searchable by inner product (cosine on
unit vectors), keyed by passage row id, so deleting never shifts ids. Its kind
is a FAISS factory string (`vector_kinds`): "Flat" (exact, `IndexIDMap` over
`IndexFlatIP`), "HNSW32" (a graph, also inside `IndexIDMap`), "IVF1024,Flat"
(inverted lists, which keep ids themselves). `IndexIDMap`, not `IndexIDMap2`:
nothing looks vectors up by id here (`Store.vectors` reads SQLite), and
`IndexIDMap2`'s reverse map costs a hash table of every id on each open
(files of earlier versions are `IndexIDMap2`, and open as they are). It knows
the generation (the count of committed writes) it reflects and the file it
came from, if any.

Files are named after their generation (`vectors-N.faiss`), written to a
temporary file, fsynced and renamed into place, so a reader never sees half a
file, and never changed afterwards. Files over `vector_kinds.mmap_above()`
bytes are memory-mapped, read-only: opening one reads only its headers, and
every process searching it shares the pages. A mapped index that must follow a
write is read into memory first (FAISS cannot change a mapped one).

Filters are id selectors inside FAISS's search: an IVF probes more lists the
fewer passages a filter keeps; an HNSW graph searched for a few allowed ids
would wander among the others, so below `EXACT_BELOW_FRACTION` its stored
vectors are scanned exactly (allowed ids only). HNSW cannot remove vectors: a
removed id becomes a tombstone that searches exclude, and the writer rebuilds
the graph from SQLite before saving it.

Nothing here touches SQLite: `Store` feeds vectors in and decides when a
loaded index is stale.
"""

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import vector_kinds
from .errors import InvalidSettingError
from .vector_kinds import FLAT

FILE_PATTERN = "vectors-{}.faiss"
TEMP_PREFIX = ".vectors-"
TRAIN_PER_LIST = 64  # training vectors per IVF list (FAISS's k-means wants 39 to 256)
EXACT_CODES = ("Flat",)  # code kinds whose vectors come back exactly (check compares them)


def file_for(folder: Path, generation: int) -> Path:
    """The FAISS file of `generation` in an index folder."""
    return Path(folder) / FILE_PATTERN.format(generation)


def leftover_files(folder: Path, generation: int) -> list[Path]:
    """FAISS files of generations other than `generation`, and temporary files a crashed writer left behind."""
    folder = Path(folder)
    current = file_for(folder, generation)
    stale = [f for f in folder.glob(FILE_PATTERN.format("*")) if f != current]
    return stale + list(folder.glob(TEMP_PREFIX + "*.tmp"))


def empty_index(kind: str, dim: int):
    """A new FAISS index of `kind` (a factory string) that takes passage ids; InvalidSettingError if FAISS
    cannot make one, or makes a kind bertsearch cannot search with filters (pre-transforms, say)."""
    import faiss

    kind = vector_kinds.normalise_setting(kind)
    try:
        index = faiss.index_factory(int(dim), kind, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as error:
        detail = str(error).strip().splitlines()[-1].split(": ")[-1]
        raise InvalidSettingError(f"--faiss {kind!r} is not a FAISS index factory string ({detail}): "
                                  "try Flat, HNSW32 or IVF1024,Flat") from None
    inner = faiss.downcast_index(index)  # a view: `index` owns it
    if isinstance(inner, faiss.IndexIVF):
        return index  # IVF lists keep ids themselves
    if isinstance(inner, (faiss.IndexHNSW, faiss.IndexFlatCodes)):
        return faiss.index_factory(int(dim), "IDMap," + kind, faiss.METRIC_INNER_PRODUCT)
    raise InvalidSettingError(f"--faiss {kind!r} makes a {type(inner).__name__}: bertsearch searches Flat, "
                              "HNSW and IVF indexes (with Flat, SQ or PQ codes)")


def check_kind(kind: str, dim: int) -> str:
    """`kind` as recorded ("auto" or a factory string); InvalidSettingError, in one line, if FAISS cannot make it."""
    kind = vector_kinds.normalise_setting(kind)
    if kind != vector_kinds.AUTO:
        empty_index(kind, dim)
    return kind


def describe(index) -> str:
    """The factory string of a FAISS index bertsearch made ("Flat", "HNSW32", "IVF1024,Flat", ...)."""
    import faiss

    inner = faiss.downcast_index(index.index if isinstance(index, faiss.IndexIDMap) else index)
    if isinstance(inner, faiss.IndexHNSW):
        storage = faiss.downcast_index(inner.storage)
        codes = _codes(storage)
        return f"HNSW{inner.hnsw.nb_neighbors(1)}" + ("" if codes == FLAT else f",{codes}")
    if isinstance(inner, faiss.IndexIVF):
        return f"IVF{inner.nlist},{_codes(inner)}"
    return _codes(inner)


def _codes(index) -> str:
    import faiss

    if isinstance(index, (faiss.IndexFlat, faiss.IndexIVFFlat)):
        return FLAT
    if isinstance(index, (faiss.IndexPQ, faiss.IndexIVFPQ)):
        return f"PQ{index.pq.M}" + ("" if index.pq.nbits == 8 else f"x{index.pq.nbits}")
    if isinstance(index, (faiss.IndexScalarQuantizer, faiss.IndexIVFScalarQuantizer)):
        return {faiss.ScalarQuantizer.QT_8bit: "SQ8", faiss.ScalarQuantizer.QT_4bit: "SQ4",
                faiss.ScalarQuantizer.QT_fp16: "SQfp16"}.get(index.sq.qtype, "SQ")
    return type(index).__name__


class VectorIndex:
    """Vectors searchable by inner product, keyed by passage id, as of one generation."""

    def __init__(self, index, generation: int, file: Path | None = None, mapped: bool = False):
        self.index, self.generation, self.file, self.mapped = index, generation, file, mapped
        self.kind = describe(index)
        self.tombstones: set[int] = set()  # ids removed from a kind that cannot remove (HNSW)

    @classmethod
    def build(cls, batches: Iterable[tuple[np.ndarray, np.ndarray]], dim: int, generation: int, *,
              kind: str = FLAT, training: np.ndarray | None = None) -> "VectorIndex":
        """An index of `kind` holding every (ids, vectors) batch given, in memory.

        An IVF kind is trained first, on `training` (a sample of the vectors).
        """
        index = empty_index(kind, dim)
        if not index.is_trained:
            index.train(np.ascontiguousarray(training, dtype=np.float32))
        for ids, vectors in batches:
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        return cls(index, generation)

    @classmethod
    def read(cls, path: Path, generation: int, *, mmap: bool | None = None) -> "VectorIndex":
        """The index saved at `path`, memory-mapped if `mmap` (None: if the file is over
        `vector_kinds.mmap_above()` bytes); FAISS raises RuntimeError if it is missing, truncated or not FAISS."""
        import faiss

        if mmap is None:
            mmap = os.path.getsize(path) >= vector_kinds.mmap_above()
        if not mmap:
            return cls(faiss.read_index(str(path)), generation, Path(path))
        with open(path, "rb") as file:
            inverted_lists = file.read(2) == b"Iw"  # FAISS's IVF headers: their lists map one way, the rest another
        flags = faiss.IO_FLAG_MMAP if inverted_lists else faiss.IO_FLAG_MMAP_IFC
        return cls(faiss.read_index(str(path), flags), generation, Path(path), mapped=True)

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
        """How many passages it holds (tombstones not counted)."""
        return self.index.ntotal - len(self.tombstones)

    @property
    def dim(self) -> int:
        return self.index.d

    @property
    def exact_codes(self) -> bool:
        """Whether its stored vectors are the vectors given (not compressed codes)."""
        return self.kind.split(",")[-1] in EXACT_CODES or vector_kinds.is_hnsw(self.kind) and "," not in self.kind

    def save(self, folder: Path) -> Path:
        """Write this generation's file atomically (unless it came from that file); returns its path."""
        import faiss

        if self.tombstones:
            raise ValueError("an index with tombstones is rebuilt from SQLite before it is saved")
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
        `k` of them exist (on an approximate kind: nearly always, see the module's note).
        """
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, self.count or 1))
        if ids is not None:
            allowed = np.asarray(ids, dtype=np.int64)
            selector, fraction = faiss.IDSelectorBatch(allowed), len(allowed) / max(self.count, 1)
        elif self.tombstones:
            removed = faiss.IDSelectorBatch(np.fromiter(self.tombstones, dtype=np.int64))
            selector, fraction = faiss.IDSelectorNot(removed), 1.0
        else:
            selector, fraction = None, 1.0
        if selector is not None and vector_kinds.is_hnsw(self.kind) and fraction < vector_kinds.EXACT_BELOW_FRACTION:
            return self._exact_hnsw(queries, k, selector)
        return self.index.search(queries, k, params=self._parameters(selector, fraction))

    def _parameters(self, selector, fraction: float):
        import faiss

        inner = faiss.downcast_index(self.index.index if isinstance(self.index, faiss.IndexIDMap) else self.index)
        if isinstance(inner, faiss.IndexIVF):
            return faiss.SearchParametersIVF(sel=selector, nprobe=vector_kinds.ivf_probes(inner.nlist, fraction))
        if isinstance(inner, faiss.IndexHNSW):
            return faiss.SearchParametersHNSW(sel=selector, efSearch=vector_kinds.EF_SEARCH)
        return None if selector is None else faiss.SearchParameters(sel=selector)

    def _exact_hnsw(self, queries: np.ndarray, k: int, selector) -> tuple[np.ndarray, np.ndarray]:
        """Scan an HNSW index's stored vectors, the selected ids only: exact, for filters that keep few."""
        import faiss

        storage = faiss.downcast_index(faiss.downcast_index(self.index.index).storage)
        by_position = faiss.IDSelectorTranslated(self.index.id_map, selector)
        scores, positions = storage.search(queries, k, params=faiss.SearchParameters(sel=by_position))
        ids = faiss.rev_swig_ptr(self.index.id_map.data(), self.index.ntotal)
        return scores, np.where(positions >= 0, ids[np.maximum(positions, 0)], -1)

    def ids_and_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Every id, ascending, and its vector (None where the kind keeps compressed codes)."""
        import faiss

        if isinstance(self.index, faiss.IndexIDMap):
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            vectors = faiss.downcast_index(self.index.index).reconstruct_n(0, self.index.ntotal) if self.exact_codes else None
        else:
            ids, vectors = _inverted_lists(faiss.downcast_index(self.index), self.exact_codes)
        order = np.argsort(ids)
        keep = order[~np.isin(ids[order], np.fromiter(self.tombstones, dtype=np.int64))] if self.tombstones else order
        return ids[keep], None if vectors is None else vectors[keep]

    def apply(self, before: int, removed: Sequence[int] | None, added: Sequence[int], vectors: np.ndarray | None) -> bool:
        """Follow one committed write that moved the index from generation `before` to the next.

        Returns False when this index is not at `before` (it is stale) or cannot
        follow (an added id is a tombstone): the caller should drop it.
        """
        if self.generation != before or self.tombstones.intersection(int(i) for i in added):
            return False
        if self.mapped:
            self._read_into_memory()
        if removed:
            if vector_kinds.is_hnsw(self.kind):
                self.tombstones.update(int(i) for i in removed)
            else:
                self.index.remove_ids(np.asarray(removed, dtype=np.int64))
        if added:
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(added, dtype=np.int64))
        self.generation, self.file = before + 1, None
        return True

    def _read_into_memory(self) -> None:
        import faiss

        self.index, self.mapped = faiss.read_index(str(self.file)), False


def _inverted_lists(ivf, exact: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The ids (and, for Flat codes, the vectors) in an IVF index's lists, list by list."""
    import faiss

    lists = ivf.invlists
    ids, codes = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.uint8)]
    for number in range(ivf.nlist):
        size = lists.list_size(number)
        if size:
            ids.append(faiss.rev_swig_ptr(lists.get_ids(number), size).astype(np.int64))
            if exact:
                codes.append(faiss.rev_swig_ptr(lists.get_codes(number), size * lists.code_size).copy())
    vectors = np.concatenate(codes).view(np.float32).reshape(-1, ivf.d) if exact else None
    return np.concatenate(ids), vectors


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
