"""Helpers for the reliability tests: seeded corpora, a killable writer process, and the index invariants."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bertsearch import Index, IndexNotFoundError

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "writer_driver.py"
WORDS = ("tower river bridge honey bee moon rocket paper press iron lattice garden coffee bean planet orbit "
         "engine harbour castle forest winter summer market train signal lamp glass stone copper violin").split()


def write_corpus(folder: Path, files: int, seed: int) -> None:
    """`files` text files of a few seeded paragraphs each, in two subfolders."""
    rng = random.Random(seed)
    for n in range(files):
        path = folder / f"part{n % 2}" / f"doc{n:03d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        paragraphs = [" ".join(rng.choices(WORDS, k=rng.randint(20, 60))) + "." for _ in range(rng.randint(1, 4))]
        path.write_text(f"Document {n} seed {seed}.\n\n" + "\n\n".join(paragraphs) + "\n")


def edit_corpus(folder: Path, seed: int) -> None:
    """Change some files, delete some and add some, moving modification times on."""
    rng = random.Random(seed)
    files = sorted(folder.rglob("*.txt"))
    for path in rng.sample(files, len(files) // 4):
        path.write_text(path.read_text() + f"\nAn edit, seed {seed}, about the {rng.choice(WORDS)}.\n")
        later = time.time() + 5
        os.utime(path, (later, later))
    for path in rng.sample(files, len(files) // 8):
        if path.exists():
            path.unlink()
    write_corpus(folder / "added", len(files) // 8, seed + 1)


def contents(index_path: Path, root: Path) -> dict[str, list[str]]:
    """Each indexed document (relative to `root`) and its passages' texts, read straight from SQLite."""
    db = sqlite3.connect(index_path / "index.db")
    try:
        docs = {}
        for path, text in db.execute(
            "select documents.path, passages.text from documents join passages on passages.document_id = documents.id "
            "order by documents.path, passages.seq"
        ):
            docs.setdefault(os.path.relpath(path, root), []).append(text)
        return docs
    finally:
        db.close()


def driver_env() -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1", BERTSEARCH_BACKEND="onnx")  # see writer_driver.py
    return env


def start(*args) -> subprocess.Popen:
    """Start `bertsearch ARGS` in a child process and return once its imports are done."""
    process = subprocess.Popen([sys.executable, str(DRIVER), *map(str, args)], cwd=ROOT, env=driver_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line.strip() == "READY", process.stderr.read()
    return process


def kill_at(process: subprocess.Popen, index_path: Path, generation: int, delay: float) -> bool:
    """SIGKILL `process` `delay` seconds after the index reaches `generation` (its n-th commit).

    Watching commits, not the clock, spreads the kills over the whole write, however
    long the child takes to load its model on a busy machine. True if the kill
    landed while the child was running.
    """
    while process.poll() is None and generation_of(index_path) < generation:
        time.sleep(0.002)
    try:
        process.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed = True
    process.stdout.close()
    process.stderr.close()
    return killed


def generation_of(index_path: Path) -> int:
    """The index's generation as SQLite has committed it; 0 before there is one. Reads only."""
    try:
        db = sqlite3.connect(f"file:{index_path / 'index.db'}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        row = db.execute("select value from meta where key = 'generation'").fetchone()
        return int(row[0]) if row else 0
    except sqlite3.OperationalError:  # the file exists but its tables do not yet
        return 0
    finally:
        db.close()


def assert_sound(index_path: Path, model: str | None = None) -> None:
    """The invariants: the index opens, checks clean, FAISS holds exactly SQLite's passage ids, search works."""
    with Index(index_path) as index:
        report = index.check()
        assert report.ok, report.problems
        store = index.store
        if store.meta("encoder") is None:  # killed before it recorded its encoder: nothing was indexed
            assert store.counts() == {"documents": 0, "passages": 0}
            with pytest.raises(IndexNotFoundError, match="nothing indexed yet"):
                index.search("tower by the river")
            assert store.meta("encoder") is None  # a reader records nothing
            return
        with store.snapshot():
            sqlite_ids = set(store.passage_id_array().tolist())
            faiss_ids = set(store.vector_index().ids_and_vectors()[0].tolist())
        assert sqlite_ids == faiss_ids
        if sqlite_ids:
            hits = index.search("tower by the river", k=5)
            assert hits and len({hit.id for hit in hits}) == len(hits)
