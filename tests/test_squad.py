"""SQuAD scoring, checked against cases worked out by hand with the official script's rules."""

import json

import pytest

from bertsearch.squad import (
    SquadQuestion,
    best_no_answer_threshold,
    exact_match,
    f1_score,
    load_squad,
    normalize_answer,
    score_prediction,
    squad_metrics,
)


def question(*answers):
    return SquadQuestion(id="q", question="?", context="...", answers=list(answers))


@pytest.mark.parametrize("text, normal", [
    ("The Eiffel Tower", "eiffel tower"),
    ("  an   apple,  a pear. ", "apple pear"),
    ("Eiffel-Tower!", "eiffeltower"),  # punctuation is dropped, not turned into a space
    ("Theatre", "theatre"),  # articles only as whole words
    ("THE", ""),
])
def test_normalisation_lowercases_and_drops_punctuation_articles_and_extra_space(text, normal):
    assert normalize_answer(text) == normal


def test_exact_match_compares_normalised_answers():
    assert exact_match("the Eiffel Tower.", "Eiffel tower") == 1.0
    assert exact_match("Eiffel", "Eiffel Tower") == 0.0


@pytest.mark.parametrize("prediction, gold, f1", [
    ("in Paris", "Paris", 2 / 3),  # P 1/2, R 1: 2 * 1/2 / (3/2)
    ("x y z", "w x y", 2 / 3),  # 2 shared of 3 each
    ("b c d", "a b c", 0.8),  # "a" is an article: gold "b c", P 2/3, R 1
    ("the cat cat sat", "cat sat on mat", 4 / 7),  # repeats count once each side: P 2/3, R 2/4
    ("dance", "one", 0.0),
    ("", "", 1.0),
    ("", "one", 0.0),
])
def test_f1_is_token_overlap(prediction, gold, f1):
    assert f1_score(prediction, gold) == pytest.approx(f1)


def test_a_prediction_scores_against_its_best_gold():
    assert score_prediction(question("Denver Broncos", "Broncos"), "the Broncos") == (1.0, 1.0)
    em, f1 = score_prediction(question("Denver Broncos", "Broncos"), "Broncos team")
    assert em == 0.0 and f1 == pytest.approx(2 / 3)  # best against "Broncos": P 1/2, R 1


def test_unanswerable_questions_want_the_empty_answer():
    assert score_prediction(question(), "") == (1.0, 1.0)
    assert score_prediction(question(), "Paris") == (0.0, 0.0)
    assert score_prediction(question("the"), "") == (1.0, 1.0)  # a gold that normalises to nothing counts as ''


def test_metrics_split_answerable_and_unanswerable_when_both_occur():
    questions = [question("1889"), question("Paris"), question()]
    metrics = squad_metrics(questions, ["1889", "in Paris", ""])
    assert metrics["exact_match"] == pytest.approx(200 / 3)
    assert metrics["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1) / 3)
    assert (metrics["HasAns_exact_match"], metrics["HasAns_total"]) == (50.0, 2)
    assert (metrics["NoAns_exact_match"], metrics["NoAns_total"]) == (100.0, 1)
    assert "HasAns_f1" not in squad_metrics(questions[:2], ["1889", "Paris"])


def test_the_no_answer_threshold_keeps_the_answers_worth_giving():
    questions = [question("1889"), question(), question("Paris")]
    best = [("1889", 9.0), ("Lyon", 5.0), ("Rome", 1.0)]
    threshold, f1 = best_no_answer_threshold(questions, best)
    assert threshold == 9.0  # answer only the first: right, right (abstain), wrong (abstain)
    assert f1 == pytest.approx(200 / 3)


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
