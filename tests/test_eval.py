"""`bertsearch eval` on a hand-made SQuAD v2.0 file, with a reader whose answers the test sets."""

import json

import pytest
from click.testing import CliRunner

from bertsearch.cli import cli
from bertsearch.eval.evaluation import contains_answer, evaluate, mode_kwargs, percentiles, ranking_metrics
from bertsearch.reader import Span

ARTICLES = [
    ("Eiffel Tower", [
        ("The Eiffel Tower was finished in 1889. It stands in Paris.", [
            ("When was the Eiffel Tower finished?", ["1889"]),
            ("Where does the tower stand?", ["Paris"]),
        ]),
        ("Gustave Eiffel's company built the tower, designed by Koechlin and Nouguier.", [
            ("Whose company built the tower?", ["Gustave Eiffel's company", "Gustave Eiffel"]),
        ]),
    ]),
    ("Honeybee", [
        ("Honeybees dance to show where flowers are. A colony has one queen.", [
            ("How many queens does a colony have?", ["one"]),
            ("What colour is the queen's crown?", []),  # unanswerable
        ]),
    ]),
]

# What the fake reader answers, and with which score; None finds nothing.
PREDICTIONS = {
    "When was the Eiffel Tower finished?": ("1889", 9.0),  # EM 1
    "Where does the tower stand?": ("in Paris", 9.0),  # EM 0, F1 2/3
    "Whose company built the tower?": ("Gustave Eiffel's company", 9.0),  # EM 1
    "How many queens does a colony have?": ("dance", 1.0),  # EM 0, F1 0; below a threshold of 5
    "What colour is the queen's crown?": None,  # '' : right for an unanswerable question
}


@pytest.fixture
def squad_file(tmp_path):
    data = {"version": "v2.0", "data": [
        {"title": title, "paragraphs": [
            {"context": context, "qas": [
                {"id": f"{a}-{p}-{q}", "question": question, "is_impossible": not answers,
                 "answers": [{"text": t, "answer_start": context.index(t)} for t in answers]}
                for q, (question, answers) in enumerate(qas)
            ]}
            for p, (context, qas) in enumerate(paragraphs)
        ]}
        for a, (title, paragraphs) in enumerate(ARTICLES)
    ]}
    path = tmp_path / "tiny-v2.0.json"
    path.write_text(json.dumps(data))
    return path


class FakeReader:
    """Answers each question with the text PREDICTIONS sets, wherever it is in the contexts."""

    no_answer_threshold = None

    def __init__(self, model=None, **kwargs):
        pass

    def read(self, question, contexts, *, top_n=5, per_window=None):
        if PREDICTIONS[question] is None:
            return []
        text, score = PREDICTIONS[question]
        for i, context in enumerate(contexts):
            if text in context:
                start = context.index(text)
                return [Span(text, score, i, start, start + len(text))]
        return []

    def read_batch(self, questions, contexts, *, top_n=5, per_window=None):
        return [self.read(q, cs) for q, cs in zip(questions, contexts)]


@pytest.fixture
def fake_reader(monkeypatch):
    monkeypatch.setattr("bertsearch.reader.Reader", FakeReader)
    return FakeReader


def test_reader_and_ask_scores_follow_the_official_rules(squad_file, tiny_bert, fake_reader, tmp_path):
    result = evaluate(squad_file, tmp_path / "ix", model=tiny_bert, k=10)
    assert (result["questions"], result["answerable"], result["unanswerable"]) == (5, 4, 1)
    assert (result["index"]["documents"], result["index"]["unit"]) == (2, "article")
    # EM: 1, 0, 1, 0, 1 (abstaining on the unanswerable one); F1: 1, 2/3, 1, 0, 1.
    assert result["reader"]["exact_match"] == pytest.approx(60.0)
    assert result["reader"]["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1 + 0 + 1) / 5)
    assert (result["reader"]["HasAns_total"], result["reader"]["NoAns_exact_match"]) == (4, 100.0)
    # Every passage is read (k=10 > 2 passages), so ask finds the same answers.
    assert result["ask"]["exact_match"] == pytest.approx(60.0)
    assert result["ask"]["f1"] == result["reader"]["f1"]
    assert result["no_answer"] == {"threshold": None, "reader_accuracy": 1.0, "ask_accuracy": 1.0}
    assert "reader_always_answering" not in result
    assert set(result["latency_ms"]) == {"encode", "search", "read", "total"}
    assert set(result["latency_ms"]["total"]) >= {"p50", "p95", "p99", "max"}
    assert result["latency_ms"]["read"]["max"] > 0  # the reader's time is its own stage, not search's


def test_the_readers_threshold_turns_weak_answers_into_abstentions(squad_file, tiny_bert, fake_reader, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setattr(FakeReader, "no_answer_threshold", 5.0)
    result = evaluate(squad_file, tmp_path / "ix", model=tiny_bert)
    # "dance" (score 1) becomes '': still wrong, and now a wrong abstention.
    assert result["reader"]["exact_match"] == pytest.approx(60.0)
    assert result["no_answer"] == {"threshold": 5.0, "reader_accuracy": 0.8, "ask_accuracy": 0.8}
    assert result["reader_always_answering"]["exact_match"] == pytest.approx(60.0)
    # ask abstains where the reader does, and scores what it would have answered too.
    assert result["ask"]["exact_match"] == result["reader"]["exact_match"]
    assert result["ask_always_answering"]["exact_match"] == result["reader_always_answering"]["exact_match"]


def test_retrieval_finds_everything_in_a_corpus_smaller_than_the_depth(squad_file, tiny_bert, tmp_path):
    result = evaluate(squad_file, tmp_path / "ix", model=tiny_bert, per_paragraph=True, retrieval_only=True)
    assert (result["index"]["documents"], result["index"]["unit"]) == (3, "paragraph")
    retrieval = result["retrieval"]
    assert retrieval["questions"] == 4  # answerable ones
    for key in ("by_answer", "by_paragraph"):
        m = retrieval[key]
        assert m["recall@1"] <= m["recall@5"] <= m["recall@20"] == 1.0
        assert 1 / 3 <= m["mrr@20"] <= 1.0
    assert "reader" not in result


def test_a_second_run_reuses_the_index_and_limit_keeps_the_first_articles(squad_file, tiny_bert, tmp_path):
    first = evaluate(squad_file, tmp_path / "ix", model=tiny_bert, retrieval_only=True)
    again = evaluate(squad_file, tmp_path / "ix", retrieval_only=True)
    assert first["index"]["passages_encoded"] > 0
    assert again["index"]["passages_encoded"] == 0 and again["index"]["documents"] == 2
    limited = evaluate(squad_file, tmp_path / "ix", retrieval_only=True, limit=3)
    assert (limited["questions"], limited["index"]["documents"]) == (3, 1)


def test_passage_hits_by_answer_are_whole_normalised_words():
    assert contains_answer("It was finished in 1889.", ["1889"])
    assert contains_answer("The EIFFEL tower, in Paris", ["the Eiffel Tower"])
    assert not contains_answer("It was finished in 18891.", ["1889"])
    assert not contains_answer("anything", [])


def test_recall_and_mrr_from_ranked_hits():
    hits = [[True, False], [False, False, True], [False] * 25 + [True], []]
    m = ranking_metrics(hits, ks=(1, 5, 20), depth=20)
    assert (m["recall@1"], m["recall@5"], m["recall@20"]) == (0.25, 0.5, 0.5)
    assert m["mrr@20"] == pytest.approx((1 + 1 / 3) / 4)


def test_percentiles_are_nearest_rank():
    p = percentiles([float(v) for v in range(1, 101)])
    assert (p["p50"], p["p95"], p["p99"], p["max"]) == (50.0, 95.0, 99.0, 100.0)
    assert percentiles([7.0])["p99"] == 7.0


def test_the_mode_is_passed_on_when_one_is_asked_for():
    assert mode_kwargs(None) == {}
    assert mode_kwargs("bm25") == {"mode": "bm25"}


def test_eval_command_prints_a_report_and_json(squad_file, tiny_bert, fake_reader, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", str(squad_file), "--model", tiny_bert, "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for words in ("SQuAD v2.0", "answer in passage", "gold paragraph",
                  "Reader, given the gold paragraph", "Ask over the corpus (k=10)", "No-answer accuracy", "p95"):
        assert words in result.stdout
    assert (tmp_path / ".bertsearch-eval" / "tiny-v2.0-articles" / "index.db").exists()
    result = runner.invoke(cli, ["eval", str(squad_file), "--json", "-q", "--retrieval-only", "--limit", "2"])
    data = json.loads(result.stdout)
    assert data["questions"] == 2 and "reader" not in data and data["retrieval"]["by_answer"]["recall@20"] == 1.0
