import os
import time

import pytest

from bertsearch import Index, SearchResult
from bertsearch.answers import READER_WEIGHT, rank_answers
from conftest import hand_set_logits
from bertsearch.errors import EncoderMismatchError, NothingToIndexError, SettingsMismatchError


@pytest.fixture
def index(tmp_path, tiny_bert):
    with Index(tmp_path / "index", model=tiny_bert) as idx:
        yield idx


def touch_later(path, text):
    """Rewrite a file and make sure its modification time moves on."""
    path.write_text(text)
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))


def test_first_run_indexes_every_document(index, corpus):
    report = index.add([corpus])
    assert len(report.added) == 3 and report.passages_encoded >= 3
    assert index.info().documents == 3


def test_rerun_on_unchanged_files_encodes_nothing(index, corpus):
    index.add([corpus])
    report = index.add([corpus])
    assert (report.added, report.updated, report.unchanged, report.passages_encoded) == ([], [], 3, 0)


def test_a_changed_file_is_encoded_again_and_only_its_new_passages(index, corpus):
    index.add([corpus])
    before = index.info().passages
    touch_later(corpus / "paris.txt", (corpus / "paris.txt").read_text() + "\nA new paragraph about lifts.\n")
    report = index.add([corpus])
    assert [os.path.basename(p) for p in report.updated] == ["paris.txt"]
    assert report.unchanged == 2
    assert report.passages_encoded == 1  # the one new passage; the old text reuses its vector
    assert index.info().passages == before


def test_touching_a_file_without_changing_it_is_not_a_change(index, corpus):
    index.add([corpus])
    touch_later(corpus / "bees.md", (corpus / "bees.md").read_text())
    report = index.add([corpus])
    assert report.updated == [] and report.unchanged == 3


def test_deleted_files_are_dropped(index, corpus):
    index.add([corpus])
    (corpus / "bees.md").unlink()
    report = index.add([corpus])
    assert [os.path.basename(p) for p in report.removed] == ["bees.md"]
    assert all("Honeybees" not in r.text for r in index.search("bees dancing", k=10))


def test_remove_takes_files_and_folders(index, corpus):
    index.add([corpus])
    assert len(index.remove([corpus / "sub"])) == 1
    assert len(index.remove([corpus / "paris.txt"])) == 1
    assert index.info().documents == 1


def test_search_results_cite_file_and_position(index, corpus):
    index.add([corpus])
    results = index.search("Eiffel Tower", k=10)
    assert len(results) == index.info().passages
    for result in results:
        with open(result.path, encoding="utf-8") as file:
            source = file.read()
        if result.path.endswith(".txt"):
            assert source[result.start : result.end] == result.text
    assert results == sorted(results, key=lambda r: -r.score)


def test_reopening_uses_the_stored_encoder(tmp_path, tiny_bert, corpus):
    with Index(tmp_path / "index", model=tiny_bert, pooling="mean") as idx:
        idx.add([corpus])
    with Index(tmp_path / "index") as idx:
        assert idx.encoder.name == tiny_bert and idx.encoder.pooling == "mean"
        assert idx.search("bees", k=1)


def test_a_different_encoder_is_refused_before_loading_it(tmp_path, tiny_bert, corpus):
    with Index(tmp_path / "index", model=tiny_bert) as idx:
        idx.add([corpus])
    with pytest.raises(EncoderMismatchError, match="new --index"):
        Index(tmp_path / "index", model="some/other-model").add([corpus])
    with pytest.raises(EncoderMismatchError):
        Index(tmp_path / "index", pooling="mean").search("bees")


def test_passage_settings_are_fixed_at_creation(tmp_path, tiny_bert, corpus):
    with Index(tmp_path / "index", model=tiny_bert, passage_tokens=50) as idx:
        idx.add([corpus])
    with pytest.raises(SettingsMismatchError, match="passage tokens=50"):
        Index(tmp_path / "index", passage_tokens=80).add([corpus])


def test_an_empty_folder_is_nothing_to_index(index, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NothingToIndexError):
        index.add([tmp_path / "empty"])


@pytest.fixture(scope="module")
def bridge_reader(tiny_qa):
    """A reader that scores 'bridge' 18 and 'river' 2."""
    from bertsearch.reader import Reader

    reader = Reader(tiny_qa, max_length=64, stride=16)
    hand_set_logits(reader, {"bridge": 9.0, "river": 1.0})
    return reader


def ranked_ask(reader, retrieval: dict[str, float], threshold=None, always_answer=False):
    """What `ask` makes of hand-made passages with these retrieval scores, read by `reader`."""
    passages = [SearchResult(score, f"{text}.txt", 0, 20, 1, f"by the {text} here", n)
                for n, (text, score) in enumerate(retrieval.items())]
    spans = reader.read("where?", [p.text for p in passages], top_n=None, per_window=5)
    return rank_answers("where?", passages, spans, threshold=threshold, wanted=5, always_answer=always_answer)


def test_ask_abstains_under_the_no_answer_threshold_unless_told_to_always_answer(bridge_reader):
    abstained = ranked_ask(bridge_reader, {"river": 1.0, "bridge": 0.0}, threshold=20.0)
    assert not abstained.found and not abstained.confident
    assert [p.path for p in abstained.passages] == ["river.txt", "bridge.txt"]
    guessed = ranked_ask(bridge_reader, {"river": 1.0, "bridge": 0.0}, threshold=20.0, always_answer=True)
    assert guessed.answers[0].text == "bridge" and not guessed.confident
    cleared = ranked_ask(bridge_reader, {"river": 1.0, "bridge": 0.0}, threshold=17.0)  # 18 clears 17
    assert cleared.found and cleared.confident


def test_ask_ranks_by_retrieval_and_reader_scores_fused(bridge_reader):
    result = ranked_ask(bridge_reader, {"river": 1.0, "bridge": 0.0})
    # Close retrieval scores: the reader's much stronger answer wins, and its passage moves up.
    assert result.answers[0].text == "bridge"
    assert [p.path for p in result.passages] == ["bridge.txt", "river.txt"]
    best = result.answers[0]
    assert (best.score, best.retrieval_score) == (18.0, 0.0)
    assert best.rank_score == pytest.approx(READER_WEIGHT * 18.0)
    assert [a.rank_score for a in result.answers] == sorted((a.rank_score for a in result.answers), reverse=True)


def test_a_much_better_retrieved_passage_keeps_first_place(bridge_reader):
    result = ranked_ask(bridge_reader, {"river": 5.0, "bridge": 0.0})
    # 0.8 * 5 + 0.2 * 2 = 4.4 beats 0.8 * 0 + 0.2 * 18 = 3.6.
    assert result.answers[0].text == "river"
    assert [p.path for p in result.passages] == ["river.txt", "bridge.txt"]


def test_ask_alternatives_never_overlap_a_better_answer(tmp_path, tiny_bert, tiny_qa, corpus):
    with Index(tmp_path / "index", model=tiny_bert, reader=tiny_qa) as idx:
        idx.add([corpus])
        answers = idx.ask("When did Apollo land?", alternatives=9).answers
    assert len(answers) > 1
    for i, better in enumerate(answers):
        for worse in answers[i + 1 :]:
            assert better.path != worse.path or worse.end <= better.start or better.end <= worse.start
