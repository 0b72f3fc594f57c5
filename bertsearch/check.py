"""`bertsearch check`: is the index whole, and do its two halves agree?

SQLite is the source of truth and cannot be repaired from anything else; the
FAISS file is derived from it, so `repair` rebuilds it (and removes files a
crashed writer left behind).
"""

from dataclasses import dataclass, field

import numpy as np

from .encoder import POOLINGS
from .store import Store

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


def check_store(store: Store) -> CheckReport:
    """Verify SQLite's integrity, FAISS/SQLite agreement and the stored encoder, as of one moment."""
    with store.snapshot():
        counts = store.counts()
        generation = store.generation
        encoder = store.meta("encoder")
        faiss_path = store.faiss_path(generation)
        report = CheckReport(
            index=str(store.folder.resolve()), sqlite=_integrity(store), generation=generation,
            faiss_file=faiss_path.name if faiss_path.exists() else None, faiss_vectors=None,
            encoder=encoder, **counts,
        )
        if report.sqlite != "ok":
            report.problems.append(f"SQLite integrity check failed ({report.sqlite}): "
                                   "index your documents again into a new --index folder")
        report.problems += _row_problems(store)
        report.problems += _encoder_problems(store, encoder, counts["passages"])
        report.problems += _faiss_problems(store, report, encoder)
        if report.faiss_file is None and report.passages:
            report.notes.append(f"no FAISS file for generation {generation} yet: readers rebuild it "
                                "from SQLite in memory (the next write, or --repair, saves it)")
    stale = store.stale_files()
    if stale:
        report.notes.append("files from an earlier generation or an interrupted write: "
                            + ", ".join(f.name for f in stale))
    return report


def repair_store(store: Store) -> list[str]:
    """Rebuild the FAISS file from SQLite and remove stale files. The caller holds the writer lock."""
    done = [f"rebuilt {store.faiss_path(store.generation).name} from SQLite"]
    stale = [f.name for f in store.stale_files()]
    with store.snapshot():
        store._faiss = store._rebuild_faiss()
        store._faiss_generation, store._faiss_file = store.generation, None
    store.save_faiss()
    if stale:
        done.append("removed " + ", ".join(stale))
    return done


def _integrity(store: Store) -> str:
    rows = [row[0] for row in store.db.execute("pragma integrity_check")]
    return "ok" if rows == ["ok"] else "; ".join(rows[:3])


def _row_problems(store: Store) -> list[str]:
    problems = []
    orphans = _scalar(store, "select count(*) from passages where document_id not in (select id from documents)")
    if orphans:
        problems.append(f"{orphans} passages belong to no document")
    twice = _scalar(store, "select count(*) from (select 1 from passages group by document_id, seq having count(*) > 1)")
    if twice:
        problems.append(f"{twice} passages are stored twice")
    empty = _scalar(store, "select count(*) from documents where id not in (select document_id from passages)")
    if empty:
        problems.append(f"{empty} documents have no passages")
    return problems


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
    wrong = _scalar(store, "select count(*) from passages where length(vector) != ?", [4 * int(dim)])
    if wrong:
        problems.append(f"{wrong} passage vectors are not {dim}-dimensional like the recorded encoder's")
        return problems
    not_unit = 0
    for _, vectors in _sqlite_vectors(store, dim):
        norms = np.linalg.norm(vectors, axis=1)
        not_unit += int(np.sum(~np.isfinite(norms) | (np.abs(norms - 1) > UNIT_TOLERANCE)))
    if not_unit:
        problems.append(f"{not_unit} passage vectors are not unit length")
    return problems


def _faiss_problems(store: Store, report: CheckReport, encoder: dict | None) -> list[str]:
    """Compare the FAISS file for the current generation with SQLite, id by id and vector by vector."""
    import faiss

    if report.faiss_file is None:
        return []
    path = store.faiss_path(report.generation)
    try:
        index = faiss.read_index(str(path))
    except Exception as error:
        if not path.exists():  # a writer replaced it with a newer generation's file meanwhile
            report.faiss_file = None
            return []
        detail = " ".join(str(error).split())[:200]
        return [f"{report.faiss_file} cannot be read ({detail}): --repair rebuilds it"]
    report.faiss_vectors = index.ntotal
    if encoder and index.d != encoder.get("dim"):
        return [f"{report.faiss_file} holds {index.d}-dimensional vectors, the encoder {encoder.get('dim')}"]
    faiss_ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    order = np.argsort(faiss_ids)
    faiss_ids = faiss_ids[order]
    sqlite_ids = np.array([row[0] for row in store.db.execute("select id from passages order by id")], dtype=np.int64)
    missing = np.setdiff1d(sqlite_ids, faiss_ids).size
    extra = np.setdiff1d(faiss_ids, sqlite_ids).size
    if missing or extra or len(faiss_ids) != len(sqlite_ids):
        return [f"{report.faiss_file} disagrees with SQLite: {missing} passages missing from FAISS, "
                f"{extra} FAISS vectors with no passage (--repair rebuilds it)"]
    stored = faiss.downcast_index(index.index).reconstruct_n(0, index.ntotal)[order]
    for positions, vectors in _sqlite_vectors(store, index.d):
        if not np.array_equal(stored[positions], vectors):
            return [f"{report.faiss_file} holds other vectors than SQLite (--repair rebuilds it)"]
    return []


def _sqlite_vectors(store: Store, dim: int, batch: int = 10_000):
    """(positions in id order, vectors) of all passages, a batch at a time."""
    rows = store.db.execute("select vector from passages order by id")
    first = 0
    while chunk := rows.fetchmany(batch):
        vectors = np.frombuffer(b"".join(row[0] for row in chunk), dtype=np.float32).reshape(len(chunk), dim)
        yield slice(first, first + len(chunk)), vectors
        first += len(chunk)


def _scalar(store: Store, sql: str, params=()) -> int:
    return store.db.execute(sql, list(params)).fetchone()[0]
