"""`bertsearch check`: is the index whole, and do its two halves agree?

SQLite is the source of truth and cannot be repaired from anything else; the
FAISS file is derived from it, so `repair` rebuilds it (and removes files a
crashed writer left behind).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import numpy as np

from .encoder import POOLINGS
from .store import Store
from .vectors import VectorIndex

UNIT_TOLERANCE = 1e-3


@dataclass
class CheckReport:
    """What `check` found. `problems` is empty when the index is sound; `notes` are
    harmless states that a writer leaves while it works or when it is killed
    (the next write, or `repair`, tidies them)."""

    index: str
    sqlite: str
    documents: int
    passages: int
    generation: int
    faiss_file: str | None
    faiss_vectors: int | None
    encoder: dict | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_index(store: Store, *, repair: bool = False, lock: Callable[[], AbstractContextManager]) -> CheckReport:
    """`check_store`; with `repair`, if anything is amiss, `repair_store` under `lock()` (the writer lock),
    then check again."""
    report = check_store(store)
    if repair and (report.problems or report.notes):
        with lock():
            done = repair_store(store)
        report = check_store(store)
        report.repaired = done
    return report


def check_store(store: Store) -> CheckReport:
    """Verify SQLite's integrity, vectors/SQLite agreement and the stored encoder, as of one moment."""
    with store.snapshot():
        counts = store.counts()
        generation = store.generation
        encoder = store.meta("encoder")
        vector_file = store.vector_file(generation)
        report = CheckReport(
            index=str(store.folder.resolve()), sqlite=store.integrity(), generation=generation,
            faiss_file=vector_file.name if vector_file.exists() else None, faiss_vectors=None,
            encoder=encoder, **counts,
        )
        if report.sqlite != "ok":
            report.problems.append(f"SQLite integrity check failed ({report.sqlite}): "
                                   "index your documents again into a new --index folder")
        report.problems += _row_problems(store)
        report.problems += _encoder_problems(store, encoder, counts["passages"])
        report.problems += _vector_problems(store, report, encoder)
        if report.faiss_file is None and report.passages:
            report.notes.append(f"no FAISS file for generation {generation} yet: readers rebuild it "
                                "from SQLite in memory (the next write, or --repair, saves it)")
    stale = store.stale_files()
    if stale:
        report.notes.append("files from an earlier generation or an interrupted write: "
                            + ", ".join(f.name for f in stale))
    return report


def repair_store(store: Store) -> list[str]:
    """Rebuild the vector file from SQLite and remove stale files. The caller holds the writer lock."""
    done = [f"rebuilt {store.vector_file().name} from SQLite"]
    stale = [f.name for f in store.stale_files()]
    store.rebuild_vectors()
    store.save_vectors()
    if stale:
        done.append("removed " + ", ".join(stale))
    return done


ROW_PROBLEMS = {
    "orphan_passages": "{} passages belong to no document",
    "duplicate_passages": "{} passages are stored twice",
    "empty_documents": "{} documents have no passages",
}


def _row_problems(store: Store) -> list[str]:
    return [ROW_PROBLEMS[name].format(count) for name, count in store.row_problems().items() if count]


def _encoder_problems(store: Store, encoder: dict | None, passages: int) -> list[str]:
    if encoder is None:
        return ["no encoder is recorded, yet there are passages"] if passages else []
    missing = [key for key in ("model", "pooling", "dim") if not encoder.get(key)]
    if missing:
        return [f"the recorded encoder lacks {', '.join(missing)}: {encoder}"]
    problems = []
    if encoder["pooling"] not in POOLINGS:
        problems.append(f"the recorded pooling {encoder['pooling']!r} is not one of {', '.join(POOLINGS)}")
    dim = encoder["dim"]
    wrong = store.vectors_not_of_dim(dim)
    if wrong:
        problems.append(f"{wrong} passage vectors are not {dim}-dimensional like the recorded encoder's")
        return problems
    not_unit = 0
    for _, vectors in store.iter_vectors(dim):
        norms = np.linalg.norm(vectors, axis=1)
        not_unit += int(np.sum(~np.isfinite(norms) | (np.abs(norms - 1) > UNIT_TOLERANCE)))
    if not_unit:
        problems.append(f"{not_unit} passage vectors are not unit length")
    return problems


def _vector_problems(store: Store, report: CheckReport, encoder: dict | None) -> list[str]:
    """Compare the vector file for the current generation with SQLite, id by id and vector by vector."""
    if report.faiss_file is None:
        return []
    path = store.vector_file(report.generation)
    try:
        saved = VectorIndex.read(path, report.generation)
    except Exception as error:
        if not path.exists():  # a writer replaced it with a newer generation's file meanwhile
            report.faiss_file = None
            return []
        detail = " ".join(str(error).split())[:200]
        return [f"{report.faiss_file} cannot be read ({detail}): --repair rebuilds it"]
    report.faiss_vectors = saved.count
    if encoder and saved.dim != encoder.get("dim"):
        return [f"{report.faiss_file} holds {saved.dim}-dimensional vectors, the encoder {encoder.get('dim')}"]
    faiss_ids, stored = saved.ids_and_vectors()
    sqlite_ids = store.passage_id_array()
    missing = np.setdiff1d(sqlite_ids, faiss_ids).size
    extra = np.setdiff1d(faiss_ids, sqlite_ids).size
    if missing or extra or len(faiss_ids) != len(sqlite_ids):
        return [f"{report.faiss_file} disagrees with SQLite: {missing} passages missing from FAISS, "
                f"{extra} FAISS vectors with no passage (--repair rebuilds it)"]
    first = 0
    for _, vectors in store.iter_vectors(saved.dim):
        if not np.array_equal(stored[first : first + len(vectors)], vectors):
            return [f"{report.faiss_file} holds other vectors than SQLite (--repair rebuilds it)"]
        first += len(vectors)
    return []
