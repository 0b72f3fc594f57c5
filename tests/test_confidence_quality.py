"""`ask`'s shipped confidence with the bundled reader and the packaged MiniLM, on real SQuAD dev text:
it answers questions whose article is indexed, and says "No answer found" to questions whose article is not.

Two articles of the shipped dev slice (Warsaw, Normans) are indexed, one document each, as in the
open setting the confidence was fitted in (on train); the questions are the first of every 10th
paragraph of those two articles (in-corpus) and of Super_Bowl_50, which is not indexed (out-of-corpus).
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bertsearch import Index
from bertsearch.cli import cli

SQUAD_SLICE = Path(__file__).parent / "data" / "squad-dev-v1.1-slice.json"
INDEXED, NOT_INDEXED = ("Warsaw", "Normans"), "Super_Bowl_50"


@pytest.fixture(scope="module")
def open_setting(tmp_path_factory):
    """The indexed articles as files, and (question, in corpus?) pairs."""
    folder = tmp_path_factory.mktemp("articles")
    questions = []
    for article in json.loads(SQUAD_SLICE.read_text())["data"]:
        if article["title"] in INDEXED:
            (folder / f"{article['title']}.txt").write_text("\n\n".join(p["context"] for p in article["paragraphs"]))
        if article["title"] in (*INDEXED, NOT_INDEXED):
            questions += [(p["qas"][0]["question"], article["title"] in INDEXED) for p in article["paragraphs"][::10]]
    return folder, questions


@pytest.fixture(scope="module")
def asked(open_setting, tmp_path_factory):
    folder, questions = open_setting
    index_path = tmp_path_factory.mktemp("index")
    with Index(index_path) as index:
        index.add([folder])
        found = index.ask_many([question for question, _ in questions])  # as ask, one reader batch for all
        results = [(result, in_corpus) for result, (_, in_corpus) in zip(found, questions)]
    return index_path, results


def test_questions_about_indexed_articles_are_answered_and_others_mostly_not(asked):
    _, results = asked
    inside = [r.found for r, in_corpus in results if in_corpus]
    outside = [r.found for r, in_corpus in results if not in_corpus]
    assert (len(inside), len(outside)) == (10, 6)
    # Measured: all 10 answered (confidences 0.32 to 0.995), none of the 6 (at most 0.023, the cut is 0.13).
    assert sum(inside) >= 9
    assert sum(outside) <= 1
    for result, _ in results:
        assert 0.0 <= result.confidence <= 1.0
        assert result.found == result.confident


def test_the_cli_answers_an_indexed_article_and_not_another(asked, open_setting, monkeypatch):
    index_path, results = asked
    _, questions = open_setting
    monkeypatch.delenv("BERTSEARCH_READER", raising=False)
    inside = next(q for (q, in_corpus), (r, _) in zip(questions, results) if in_corpus and r.found)
    outside = next(q for (q, in_corpus), (r, _) in zip(questions, results) if not in_corpus and not r.found)
    answered = CliRunner().invoke(cli, ["ask", inside, "--index", str(index_path)])
    assert answered.exit_code == 0 and "(confidence " in answered.stdout and "No answer" not in answered.stdout
    abstained = CliRunner().invoke(cli, ["ask", outside, "--index", str(index_path)])
    assert abstained.stdout.startswith("No answer found (the best guess has confidence 0.")
