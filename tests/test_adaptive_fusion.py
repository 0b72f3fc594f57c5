"""The hybrid mode's dense weight, chosen per index from pseudo-queries: recorded, reused, recomputed, overridden."""

import json
import random
import shutil

import pytest

from bertsearch import Index, adaptive_fusion
from bertsearch.errors import InvalidQueryError

WORDS = ("river bridge tower honey bee flower moon rocket engine stone castle forest mountain valley "
         "harbour ship train station market bread cheese violin piano garden lantern clock mirror").split()


def write_notes(folder, count, first=0, seed=0):
    """`count` notes of four made-up sentences each (enough for a pseudo-query apiece)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(first, first + count):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + "." for _ in range(4)]
        (folder / f"note{n:03d}.txt").write_text(" ".join(sentences) + "\n")
    return folder


@pytest.fixture
def calibrated(tmp_path, tiny_bert):
    """An index of 60 notes: enough pseudo-queries for the weight to be calibrated at the end of `add`."""
    index = Index(tmp_path / "index", model=tiny_bert, backend="torch")  # one backend, so a copy re-encodes alike
    index.add([write_notes(tmp_path / "notes", 60)])
    yield index
    index.close()


def test_add_records_a_calibrated_weight_that_info_shows(calibrated):
    record = calibrated.store.meta(adaptive_fusion.SETTING)
    assert record["source"] == "pseudo-queries" and record["queries"] == 60 and record["passages"] == 60
    info = calibrated.info()
    assert info.dense_weight == record["dense_weight"] and 0 <= info.dense_weight <= 1
    assert "60 pseudo-queries" in info.dense_weight_from
    assert info.to_dict()["dense_weight"] == record["dense_weight"]


def test_the_calibration_is_deterministic_for_a_given_index(calibrated, tmp_path, tiny_bert):
    first = adaptive_fusion.pseudo_query_curve(calibrated.store, calibrated.encoder.encode)
    again = adaptive_fusion.pseudo_query_curve(calibrated.store, calibrated.encoder.encode)
    assert first == again and first[1] == 60
    calibrated.close()
    shutil.copytree(tmp_path / "index", tmp_path / "copy")
    with Index(tmp_path / "copy", backend="torch") as copy:  # the backend `add` encoded with
        assert adaptive_fusion.calibrate(copy.store, copy.encoder.encode) == copy.store.meta(adaptive_fusion.SETTING)


def test_the_weight_is_kept_after_small_changes_and_recomputed_after_large_ones(calibrated, tmp_path):
    before = calibrated.store.meta(adaptive_fusion.SETTING)
    calibrated.add([write_notes(tmp_path / "notes", 5, first=60, seed=1)])  # 5 of 60: under 20%
    assert calibrated.store.meta(adaptive_fusion.SETTING) == before
    calibrated.add([write_notes(tmp_path / "notes", 15, first=65, seed=2)])  # 20 of 60 since: over 20%
    after = calibrated.store.meta(adaptive_fusion.SETTING)
    assert after["passages"] == 80 and after["queries"] == 80


def test_removing_many_documents_recomputes_the_weight(calibrated, tmp_path):
    calibrated.remove([tmp_path / "notes" / f"note{n:03d}.txt" for n in range(20)])
    assert calibrated.store.meta(adaptive_fusion.SETTING)["passages"] == 40


def test_a_small_index_keeps_the_default_weight(tmp_path, tiny_bert):
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([write_notes(tmp_path / "notes", 10)])
        record = index.store.meta(adaptive_fusion.SETTING)
        assert record["source"] == "prior" and record["dense_weight"] == adaptive_fusion.PRIOR
        assert "too few" in index.info().dense_weight_from


def test_search_uses_the_recorded_weight_and_dense_weight_overrides_it(calibrated):
    query = "bridge over the river"
    dense = [r.id for r in calibrated.search(query, k=5, mode="dense")]
    bm25 = [r.id for r in calibrated.search(query, k=1, mode="bm25")]
    record = calibrated.store.meta(adaptive_fusion.SETTING)
    calibrated.store.set_meta(adaptive_fusion.SETTING, {**record, "dense_weight": 1.0})
    assert [r.id for r in calibrated.search(query, k=5)] == dense  # all weight on the vectors
    assert [r.id for r in calibrated.search(query, k=1, dense_weight=0.0)] == bm25  # all on the words


@pytest.mark.parametrize("weight", [-0.1, 1.5, "0.5", True])
def test_a_dense_weight_outside_0_to_1_is_an_invalid_query(calibrated, weight):
    with pytest.raises(InvalidQueryError, match="dense weight"):
        calibrated.search("river", dense_weight=weight)


def test_cli_info_shows_the_weight_and_search_and_ask_take_dense_weight(run, tmp_path, tiny_bert, tiny_qa):
    assert run("index", write_notes(tmp_path / "notes", 60), "--model", tiny_bert).exit_code == 0
    info = json.loads(run("info", "--json").stdout)
    assert 0 <= info["dense_weight"] <= 1 and "60 pseudo-queries" in info["dense_weight_from"]
    assert "dense weight" in run("info").stdout
    dense = [h["id"] for h in json.loads(run("search", "river bridge", "-k", "4", "--mode", "dense", "--json").stdout)]
    hybrid = json.loads(run("search", "river bridge", "-k", "4", "--dense-weight", "1", "--json").stdout)
    assert [h["id"] for h in hybrid] == dense
    answered = run("ask", "Which river?", "--reader", tiny_qa, "--dense-weight", "0.3", "--always-answer", "--json")
    assert answered.exit_code == 0 and json.loads(answered.stdout)["answers"]
