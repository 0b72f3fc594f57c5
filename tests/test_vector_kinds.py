"""An index's vector kind: chosen by size (with hysteresis), forced by a factory string, followed through
deletes and updates, reported by `info` and `check`. A tiny threshold ($BERTSEARCH_APPROXIMATE_ABOVE)
stands in for the real one."""

import json

import numpy as np
import pytest

from bertsearch import Index, bm25
from bertsearch.check import check_store, repair_store
from bertsearch.errors import InvalidSettingError
from conftest import make_store, one_line_error, put


def saved_kind(store) -> str:
    """What the writer saves at the end of a run."""
    store.save_vectors()
    return store.faiss_kind()


def exact_top(store, query, k):
    ids = store.passage_id_array()
    return set(ids[np.argsort(-(store.vectors(ids) @ query[0]))[:k]].tolist())


def texts(n, prefix):
    return [f"{prefix}{i}" for i in range(n)]


def test_the_kind_follows_the_size_and_goes_back_only_below_half_the_threshold(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTSEARCH_APPROXIMATE_ABOVE", "20")
    store = make_store(tmp_path)
    for d in range(7):
        put(store, f"/d{d}", texts(3, f"d{d}-"), seed=d)
    assert store.counts()["passages"] == 21 and saved_kind(store) == "HNSW32"
    store.delete_documents(["/d0", "/d1", "/d2"])  # 12 passages: under the threshold, not under half of it
    assert saved_kind(store) == "HNSW32"
    store.delete_documents(["/d3"])  # 9
    assert saved_kind(store) == "Flat"
    put(store, "/d8", texts(6, "d8-"), seed=8)  # 15: under the threshold again
    assert saved_kind(store) == "Flat"


@pytest.mark.parametrize("kind", ["HNSW32", "IVF4,Flat"])
def test_deletes_and_updates_on_an_approximate_index_never_return_what_is_gone(tmp_path, kind):
    store = make_store(tmp_path)
    store.set_faiss_setting(kind)
    for d in range(10):
        put(store, f"/d{d}", texts(5, f"d{d}-"), seed=d)
    assert saved_kind(store) == kind
    gone = set(store.passage_id_array().tolist())
    query = put(store, "/d0", ["new"], seed=99)  # an update: /d0's passages replaced by one new one
    store.delete_documents(["/d1"])
    gone -= set(store.passage_id_array().tolist())
    assert len(gone) == 10
    found = set(store.search_vectors(query, 50)[1][0].tolist())
    assert not found & gone and exact_top(store, query, 1) <= found
    assert saved_kind(store) == kind
    report = check_store(store)
    assert report.ok and report.faiss == kind and report.faiss_vectors == 41


def test_a_forced_ivf_too_big_for_the_index_is_exact_until_it_can_be_trained(tmp_path):
    store = make_store(tmp_path)
    store.set_faiss_setting("IVF64,Flat")
    put(store, "/a", texts(10, "a"))
    assert saved_kind(store) == "Flat" and store.faiss_setting() == "IVF64,Flat"


def test_check_notes_a_file_of_another_kind_than_the_size_wants_and_repair_rebuilds_it(tmp_path, monkeypatch):
    store = make_store(tmp_path)
    put(store, "/a", texts(30, "a"))
    assert saved_kind(store) == "Flat"
    monkeypatch.setenv("BERTSEARCH_APPROXIMATE_ABOVE", "20")
    report = check_store(store)
    assert report.ok and any("wants HNSW32" in note for note in report.notes)
    repair_store(store)
    assert check_store(store).faiss == "HNSW32" and store.faiss_kind() == "HNSW32"


def test_hybrid_leaves_out_words_more_passages_hold_than_the_cap(tmp_path, monkeypatch):
    store = make_store(tmp_path)
    put(store, "/a", ["common rare", "common", "common", "common"])
    assert len(store.bm25_scores("common rare")) == 4
    monkeypatch.setattr(bm25, "MAX_ROWS_PER_WORD", 3)
    assert [store.passages(list(store.bm25_scores("common rare")))[i].text
            for i in store.bm25_scores("common rare")] == ["common rare"]
    assert store.bm25_scores("common") == {}
    assert len(store.bm25_search("common", 10)) == 4  # bm25 mode ranks by every word


def test_an_index_records_a_forced_kind_and_info_shows_it(corpus, tiny_bert, tmp_path):
    with Index(tmp_path / "index", model=tiny_bert, faiss="HNSW32") as index:
        index.add([corpus])
        info = index.info()
        assert (info.faiss, info.faiss_setting) == ("HNSW32", "HNSW32")
        assert info.to_dict()["faiss"] == "HNSW32"
        assert index.search("bees", k=3, mode="dense")
        index.add([corpus], faiss="auto")  # back to choosing by size: small, so exact
        assert (index.info().faiss, index.info().faiss_setting) == ("Flat", "auto")


def test_a_bad_factory_string_writes_nothing(corpus, tiny_bert, tmp_path):
    with pytest.raises(InvalidSettingError, match="IVFxx"):
        Index(tmp_path / "index", model=tiny_bert, faiss="IVFxx,Flat").add([corpus])
    assert not (tmp_path / "index").exists()


def test_a_reader_opens_a_large_file_memory_mapped_and_a_writer_can_still_write(tmp_path, monkeypatch):
    store = make_store(tmp_path)
    vectors = put(store, "/a", texts(20, "a"))
    store.save_vectors()
    expected = store.search_vectors(vectors, 5)
    monkeypatch.setenv("BERTSEARCH_MMAP_ABOVE", "1")
    store.close()
    reopened = make_store(tmp_path)
    assert reopened.vector_index().mapped
    for found, wanted in zip(reopened.search_vectors(vectors, 5), expected):
        np.testing.assert_array_equal(found, wanted)
    reopened.delete_documents(["/a"])
    put(reopened, "/b", ["b"], seed=3)
    assert not reopened.vector_index().mapped and reopened.vector_index().count == 1


def test_the_cli_forces_a_kind_and_info_and_check_show_it(run, corpus, tiny_bert):
    assert run("index", corpus, "--model", tiny_bert, "--faiss", "HNSW32", "-q").exit_code == 0
    info = json.loads(run("info", "--json").stdout)
    assert (info["faiss"], info["faiss_setting"]) == ("HNSW32", "HNSW32")
    assert "HNSW32" in [line for line in run("check").stdout.splitlines() if line.startswith("faiss ")][0]
    assert json.loads(run("check", "--json").stdout)["faiss"] == "HNSW32"


def test_the_cli_refuses_a_bad_factory_string_in_one_line(run, corpus, tiny_bert):
    one_line_error(run("index", corpus, "--model", tiny_bert, "--faiss", "IVFxx,Flat"), "--faiss", "IVFxx,Flat")
