import pytest
import torch

from bertsearch.errors import NoReaderError
from bertsearch.reader import Reader, best_spans
from conftest import hand_set_logits

FILLER = "the tower stood by the water for many long years . " * 12


@pytest.fixture
def reader(tiny_qa):
    return Reader(tiny_qa, max_length=64, stride=16)


def test_best_span_in_a_later_window_wins(reader):
    context = "river " + FILLER + "bridge " + FILLER
    hand_set_logits(reader, {"river": 5.0, "bridge": 9.0})
    assert len(reader.windows(["where?"], [context])["input_ids"]) > 2
    best, *others = reader.read("where?", [context])
    assert (best.text, best.score) == ("bridge", 18.0)
    assert context[best.start : best.end] == "bridge"
    assert [a.text for a in others][:1] == ["river"]  # raw scores, comparable across windows


def test_best_span_in_a_later_passage_wins(reader):
    hand_set_logits(reader, {"river": 5.0, "bridge": 9.0})
    answers = reader.read("where?", ["a river here", FILLER, "a bridge there"])
    assert (answers[0].context_index, answers[0].text) == (2, "bridge")
    assert (answers[1].context_index, answers[1].text) == (0, "river")


def test_question_tokens_are_never_answers(reader):
    hand_set_logits(reader, {"bridge": 9.0, "river": 1.0})
    answers = reader.read("which bridge?", ["the river only"])
    assert answers[0].text == "river"


def test_spans_are_scored_as_pairs_within_the_maximum_length():
    start = torch.tensor([0.0, 5.0, 0.0, 0.0, 0.0, 0.0])
    end = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 6.0])
    mask = torch.tensor([False, True, True, True, True, True])
    assert best_spans(start, end, mask, max_answer_length=10, top_n=1) == [(1, 5, 11.0)]
    # Too long a span is not allowed: the best is then a shorter one.
    assert best_spans(start, end, mask, max_answer_length=3, top_n=1)[0][:2] != (1, 5)
    # An end before its start is never a span.
    assert all(s <= e for s, e, _ in best_spans(end, start, mask, 10, top_n=15))


def test_reading_no_contexts_finds_nothing(reader):
    assert reader.read("anything?", []) == []


def test_a_model_without_a_qa_head_is_refused(tiny_bert):
    with pytest.raises(NoReaderError, match="--reader"):
        Reader(tiny_bert)


def test_a_missing_reader_names_the_fix(tmp_path):
    with pytest.raises(NoReaderError, match="BERTSEARCH_READER"):
        Reader(str(tmp_path / "nowhere"))


def test_reading_questions_together_finds_what_reading_them_one_by_one_does(reader):
    questions = ["where is the bridge?", "what stood by the water?", "when?"]
    contexts = [["a bridge there", FILLER], ["the tower " + FILLER], []]
    together = reader.read_batch(questions, contexts, top_n=3)
    alone = [reader.read(q, cs, top_n=3) for q, cs in zip(questions, contexts)]
    assert [[(s.text, s.context_index, s.start) for s in spans] for spans in together] == \
        [[(s.text, s.context_index, s.start) for s in spans] for spans in alone]
    assert [s.score for spans in together for s in spans] == pytest.approx(
        [s.score for spans in alone for s in spans], abs=1e-4)
    assert together[2] == []


def test_a_batch_needs_one_list_of_contexts_per_question(reader):
    with pytest.raises(ValueError, match="one list of contexts per question"):
        reader.read_batch(["a?", "b?"], [["text"]])
