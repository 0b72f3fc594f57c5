"""`bertsearch check`: what it finds, and what `--repair` mends."""

import json

import faiss
import numpy as np
import pytest
from click.testing import CliRunner

from bertsearch import CorruptIndexError, Index
from bertsearch.cli import cli
from bertsearch.vectors import FILE_PATTERN


@pytest.fixture
def index_path(tmp_path, corpus, tiny_bert):
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([corpus])
    return tmp_path / "index"


def check(index_path, *args):
    return CliRunner().invoke(cli, ["check", "--index", str(index_path), *args])


def faiss_file(index_path):
    (path,) = index_path.glob(FILE_PATTERN.format("*"))
    return path


def test_a_sound_index_checks_ok_in_one_screen(index_path):
    result = check(index_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "status      OK"
    assert "sqlite      ok" in result.stdout and "3 vectors" in result.stdout
    assert len(result.stdout.splitlines()) < 20


def test_a_damaged_faiss_file_is_a_problem_that_repair_rebuilds(index_path):
    faiss_file(index_path).write_bytes(b"not a faiss index")
    result = check(index_path)
    assert result.exit_code == 1 and "cannot be read" in result.stdout
    repaired = check(index_path, "--repair")
    assert repaired.exit_code == 0 and "repaired    rebuilt vectors-" in repaired.stdout
    assert Index(index_path).check().ok


def test_faiss_ids_that_disagree_with_sqlite_are_found(index_path):
    path = faiss_file(index_path)
    index = faiss.read_index(str(path))
    index.add_with_ids(np.ones((1, index.d), dtype=np.float32), np.array([999], dtype=np.int64))
    index.remove_ids(np.array([1], dtype=np.int64))
    faiss.write_index(index, str(path))
    data = json.loads(check(index_path, "--json").stdout)
    assert not data["ok"]
    assert "1 passages missing from FAISS, 1 FAISS vectors with no passage" in data["problems"][0]
    assert Index(index_path).check(repair=True).ok


def test_leftovers_of_a_killed_writer_are_notes_that_repair_tidies(index_path):
    faiss_file(index_path).rename(index_path / FILE_PATTERN.format(0))  # stale generation, current one missing
    (index_path / ".vectors-abc.tmp").write_bytes(b"half written")
    report = Index(index_path).check()
    assert report.ok and len(report.notes) == 2
    repaired = Index(index_path).check(repair=True)
    assert repaired.ok and not repaired.notes and len(repaired.repaired) == 2
    assert [p.name for p in index_path.glob("*vectors-*")] == [FILE_PATTERN.format(repaired.generation)]


def test_an_incomplete_encoder_record_is_a_problem(index_path):
    with Index(index_path) as index:
        index.store.set_meta("encoder", {"model": "m", "pooling": "cls"})
    assert "lacks dim" in Index(index_path).check().problems[0]


def test_vectors_of_another_dimension_than_the_encoder_are_a_problem(index_path):
    with Index(index_path) as index:
        index.store.set_meta("encoder", {**index.store.meta("encoder"), "dim": 64})
        problems = index.check().problems
    assert any("not 64-dimensional" in p for p in problems)


def test_orphaned_passages_are_a_problem(index_path):
    with Index(index_path) as index:
        row = next(index.store.db["passages"].rows)
        index.store.db["passages"].insert({**row, "id": None, "document_id": 999})
        assert "1 passages belong to no document" in index.check().problems


def test_a_damaged_database_is_one_line_naming_the_fix(index_path):
    for name in ("index.db-wal", "index.db-shm"):
        (index_path / name).unlink(missing_ok=True)
    (index_path / "index.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(CorruptIndexError):
        Index(index_path).check()
    result = check(index_path)
    assert result.exit_code == 1 and "damaged" in result.stderr and "new --index" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
