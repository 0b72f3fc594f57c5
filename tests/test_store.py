import numpy as np
import pytest

from bertsearch.errors import EncoderMismatchError, IndexNotFoundError
from bertsearch.store import Store
from bertsearch.vectors import FILE_PATTERN
from conftest import STORE_ENCODER as FINGERPRINT, make_store, put

def agree(store):
    """Every passage id in SQLite is in FAISS and nothing else is."""
    faiss_ids, _ = store.vector_index().ids_and_vectors()
    return set(store.passage_id_array().tolist()) == set(faiss_ids.tolist())


def test_opening_a_missing_index_says_how_to_make_one(tmp_path):
    with pytest.raises(IndexNotFoundError, match="bertsearch index"):
        Store(tmp_path / "nothing")


def test_faiss_and_sqlite_agree_after_adds_and_deletes(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["one", "two", "three"])
    put(store, "/b", ["four", "five"], seed=1)
    assert agree(store)
    put(store, "/a", ["one", "six"], seed=2)  # replaced
    store.delete_documents(["/b"])
    assert agree(store)
    assert store.counts() == {"documents": 1, "passages": 2}


def test_a_search_returns_passage_row_ids(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["one", "two"])
    vectors = put(store, "/b", ["three", "four"], seed=1)
    scores, ids = store.search_vectors(vectors[1:2], 1)
    assert store.passages(ids[0])[ids[0][0]].text == "four"
    assert scores[0][0] == pytest.approx(1.0, abs=1e-5)


def test_deleting_never_shifts_other_ids(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["one", "two"])
    vectors = put(store, "/b", ["three"], seed=1)
    before = store.search_vectors(vectors, 1)[1][0][0]
    store.delete_documents(["/a"])
    assert store.search_vectors(vectors, 1)[1][0][0] == before


def test_the_faiss_file_is_named_for_its_generation_and_replaced(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["one"])
    store.save_vectors()
    put(store, "/b", ["two"], seed=1)
    store.save_vectors()
    assert sorted(p.name for p in tmp_path.glob("*.faiss")) == [FILE_PATTERN.format(store.generation)]
    assert not list(tmp_path.glob(".vectors-*"))


def test_a_missing_or_stale_faiss_file_is_rebuilt_from_sqlite(tmp_path):
    store = make_store(tmp_path)
    vectors = put(store, "/a", ["one", "two"])
    store.save_vectors()
    store.close()
    for file in tmp_path.glob("*.faiss"):
        file.unlink()
    reopened = Store(tmp_path)
    assert reopened.vector_index().count == 2 and agree(reopened)
    reopened.save_vectors()
    # Another writer commits without saving FAISS: the file on disk is now stale.
    writer = Store(tmp_path)
    put(writer, "/b", ["three"], seed=3)
    assert reopened.vector_index().count == 3 and agree(reopened)
    assert reopened.search_vectors(vectors[:1], 1)[1][0][0] >= 0


def test_a_different_encoder_is_refused(tmp_path):
    store = make_store(tmp_path)
    with pytest.raises(EncoderMismatchError, match="test-model"):
        store.record_encoder({**FINGERPRINT, "pooling": "mean"})


def test_unchanged_passages_reuse_stored_vectors(tmp_path):
    store = make_store(tmp_path)
    vectors = put(store, "/a", ["one", "two"])
    found = store.vectors_by_hash(["hash-/a-two", "unknown"])
    np.testing.assert_array_equal(found["hash-/a-two"], vectors[1])
    assert "unknown" not in found


def test_a_reader_follows_the_writer_to_its_next_generation(tmp_path):
    writer = make_store(tmp_path)
    put(writer, "/a", ["one"])
    writer.save_vectors()
    reader = Store(tmp_path)
    assert reader.vector_index().count == 1
    vectors = put(writer, "/b", ["two", "three"], seed=1)
    writer.save_vectors()  # deletes the file the reader loaded
    ids = reader.search_vectors(vectors[:1], 1)[1][0]
    assert reader.passages(ids)[ids[0]].text == "two"
    assert agree(reader)


def test_a_faiss_file_that_vanishes_while_being_read_is_rebuilt_from_sqlite(tmp_path, monkeypatch):
    import faiss

    store = make_store(tmp_path)
    put(store, "/a", ["one", "two"])
    store.save_vectors()
    reader = Store(tmp_path)

    def vanished(path, *args):
        raise RuntimeError(f"Error: could not open {path} for reading: No such file or directory")

    monkeypatch.setattr(faiss, "read_index", vanished)
    assert reader.vector_index().count == 2 and agree(reader)


def test_search_never_asks_faiss_for_more_than_it_holds(tmp_path):
    store = make_store(tmp_path)
    vectors = put(store, "/a", ["one", "two"])
    scores, ids = store.search_vectors(vectors[:1], 10**9)
    assert ids.shape == (1, 2)


def test_threads_sharing_one_store_never_trip_over_each_others_transactions(tmp_path):
    import threading

    store = make_store(tmp_path)
    vectors = put(store, "/a", ["one", "two", "three"])
    errors = []

    def read():
        for _ in range(300):
            try:
                store.meta("encoder"), store.counts()
                with store.snapshot():
                    ids = store.search_vectors(vectors[:1], 3)[1][0]
                    assert len(store.passages(ids)) == 3
            except Exception as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(20):
        put(store, f"/w{n}", ["more"], seed=n)
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]


def test_a_snapshot_sees_one_commit_and_the_next_sees_the_writers(tmp_path):
    writer = make_store(tmp_path)
    put(writer, "/a", ["one"])
    reader = Store(tmp_path)
    with reader.snapshot():
        before = reader.generation
        vectors = put(writer, "/b", ["two", "three"], seed=1)  # another connection commits meanwhile
        ids = reader.search_vectors(vectors[:1], 10)[1][0]
        assert (reader.generation, reader.vector_index().count) == (before, 1)
        assert [p.text for p in reader.passages(ids).values()] == ["one"]
    assert reader.generation == before + 1
    ids = reader.search_vectors(vectors[:1], 1)[1][0]
    assert reader.passages(ids)[ids[0]].text == "two" and agree(reader)


def test_a_write_through_the_same_store_shows_in_its_next_search(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["one"])
    assert store.vector_index().count == 1
    vectors = put(store, "/b", ["two"], seed=1)
    ids = store.search_vectors(vectors, 1)[1][0]
    assert store.passages(ids)[ids[0]].text == "two" and store.generation == 2


def test_an_error_inside_a_snapshot_ends_its_transaction_and_frees_the_store(tmp_path):
    import threading

    store = make_store(tmp_path)
    with pytest.raises(ZeroDivisionError):
        with store.snapshot():
            with store.snapshot():  # nested: the outer one owns the transaction
                1 / 0
    assert not store.db.conn.in_transaction
    entered = threading.Event()

    def read():
        with store.snapshot():
            entered.set()

    threading.Thread(target=read, daemon=True).start()
    assert entered.wait(timeout=10)  # the lock was released


def test_a_bulk_load_is_one_generation_and_searchable_both_ways(tmp_path):
    store = make_store(tmp_path)
    vectors = np.eye(8, dtype=np.float32)[:3]
    store.bulk_load([(1, "/a", 0, 0, "", "txt", ""), (2, "/b", 0, 0, "", "txt", "")],
                    [(10, 1, 0, 0, 5, 1, "walruses", "h10", vectors[0].tobytes()),
                     (11, 1, 1, 6, 11, 2, "narwhals", "h11", vectors[1].tobytes()),
                     (12, 2, 0, 0, 5, 1, "beluga", "h12", vectors[2].tobytes())])
    assert store.counts() == {"documents": 2, "passages": 3} and store.generation == 1
    assert store.search_vectors(vectors[1:2], 1)[1][0][0] == 11
    assert store.bm25_search("beluga", 5)[0][0] == 12
    assert agree(store)
