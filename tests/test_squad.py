"""SQuAD loading and the official EM/F1, checked against hand-computed answers."""

import gzip
import json

import pytest

from bertsearch.eval.squad import (
    SquadQuestion,
    best_no_answer_threshold,
    exact_match,
    f1_score,
    load_squad,
    normalize_answer,
    score_prediction,
    squad_metrics,
)


def question(*answers: str) -> SquadQuestion:
    return SquadQuestion(id="q", question="?", context="", answers=list(answers), answer_starts=[0] * len(answers))


def test_normalisation_drops_case_punctuation_articles_and_extra_space():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("Theatre") == "theatre"  # only whole-word articles go


def test_exact_match_ignores_articles_and_punctuation():
    assert exact_match("the Eiffel Tower.", "Eiffel Tower") == 1.0
    assert exact_match("Eiffel", "Eiffel Tower") == 0.0


def test_f1_counts_shared_tokens():
    # prediction "eiffel tower in paris" (4 tokens), gold "eiffel tower" (2): precision 2/4, recall 2/2
    assert f1_score("the Eiffel Tower in Paris", "Eiffel Tower") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert f1_score("London", "Paris") == 0.0


def test_f1_counts_repeated_tokens_once_each():
    # "paris paris" vs "paris": one shared token, precision 1/2, recall 1/1
    assert f1_score("Paris Paris", "Paris") == pytest.approx(2 / 3)


def test_the_best_of_several_golds_counts():
    q = question("Denver Broncos", "the Broncos", "Broncos")
    assert score_prediction(q, "Broncos") == (1.0, 1.0)
    em, f1 = score_prediction(q, "The Denver team")
    assert (em, f1) == (0.0, pytest.approx(2 * (1 / 2) * (1 / 2) / 1.0))  # "denver team" vs "denver broncos"


def test_an_unanswerable_question_wants_the_empty_answer():
    q = question()
    assert q.is_impossible
    assert score_prediction(q, "") == (1.0, 1.0)
    assert score_prediction(q, "Paris") == (0.0, 0.0)
    assert score_prediction(question("Paris"), "") == (0.0, 0.0)


def test_a_gold_made_only_of_articles_counts_as_empty():
    assert score_prediction(question("the"), "") == (1.0, 1.0)


def test_metrics_are_percentages_with_has_and_no_answer_breakdown():
    questions = [question("Paris"), question("1889"), question()]
    metrics = squad_metrics(questions, ["Paris", "1890", ""])
    assert metrics["exact_match"] == pytest.approx(200 / 3)
    assert (metrics["HasAns_exact_match"], metrics["HasAns_total"]) == (50.0, 2)
    assert (metrics["NoAns_exact_match"], metrics["NoAns_total"]) == (100.0, 1)


def test_the_threshold_answers_only_confident_spans():
    questions = [question("Paris"), question(), question("1889")]
    best = [("Paris", 9.0), ("Lyon", 5.0), ("1890", 2.0)]
    threshold, f1 = best_no_answer_threshold(questions, best)
    # answering only the first: Paris right, "" right for the unanswerable, "" wrong for 1889
    assert threshold == 9.0
    assert f1 == pytest.approx(200 / 3)


def test_loading_flattens_articles_and_reads_gzip(tmp_path):
    data = {"version": "v2.0", "data": [{"title": "Paris", "paragraphs": [{
        "context": "The Eiffel Tower is in Paris.",
        "qas": [
            {"id": "a", "question": "Where is it?", "answers": [{"text": "Paris", "answer_start": 23}]},
            {"id": "b", "question": "Who?", "answers": [], "is_impossible": True},
        ],
    }]}]}
    path = tmp_path / "tiny.json.gz"
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    first, second = load_squad(path)
    assert (first.title, first.answers, first.answer_starts) == ("Paris", ["Paris"], [23])
    assert first.context[23:28] == "Paris"
    assert second.is_impossible
    assert load_squad(path, limit=1) == [first]


def test_loading_keeps_each_questions_place_in_the_file(tmp_path):
    data = {"version": "v2.0", "data": [
        {"title": "A", "paragraphs": [{"context": "x", "qas": [{"id": "1", "question": "q1", "answers": []}]},
                                      {"context": "y", "qas": [{"id": "2", "question": "q2",
                                                                "answers": [{"text": "y", "answer_start": 0}]}]}]},
        {"title": "B", "paragraphs": [{"context": "z", "qas": [{"id": "3", "question": "q3", "answers": []}]}]},
    ]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    loaded = load_squad(path)
    assert [(q.article, q.paragraph, q.context, q.is_impossible) for q in loaded] == [
        (0, 0, "x", True), (0, 1, "y", False), (1, 0, "z", True)]
    assert [q.id for q in load_squad(path, limit=2)] == ["1", "2"]
