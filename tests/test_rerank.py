"""`search(rerank=N)`: the reader re-orders the first N results by the score `ask` ranks passages by."""

import json
import os

import pytest

from bertsearch import Index
from bertsearch.answers import fused_score
from bertsearch.errors import InvalidQueryError
from bertsearch.rerank import reordered
from bertsearch.results import SearchResult
from bertsearch.search_modes import MODES
from conftest import hand_set_logits


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    """30 notes about rivers; note 07 (.md) alone mentions a bridge, the .md notes are 05 to 09."""
    folder = tmp_path_factory.mktemp("rerank") / "notes"
    folder.mkdir()
    for n in range(30):
        ext = "md" if 5 <= n < 10 else "txt"
        thing = "a bridge" if n == 7 else "a boat"
        (folder / f"note{n:02d}.{ext}").write_text(f"Note {n}: the river runs past {thing} near the town.\n")
    return folder


@pytest.fixture(scope="module")
def index(tmp_path_factory, tiny_bert, tiny_qa, notes):
    """Read-only, with a torch reader whose logits are set by hand: "bridge" scores 9 as start and as end."""
    with Index(tmp_path_factory.mktemp("rerank-index"), model=tiny_bert, reader=tiny_qa, backend="torch") as idx:
        idx.add([notes])
        hand_set_logits(idx.reader, {"bridge": 9.0, "boat": 1.0})
        yield idx


def name(result):
    return os.path.basename(result.path)


def test_the_reader_brings_the_passage_with_the_answer_first(index):
    plain = index.search("where does the river run?", k=30)
    reranked = index.search("where does the river run?", k=5, rerank=30)
    best = reranked[0]
    assert name(best) == "note07.md"
    assert best.reader_score == 18.0  # "bridge" as start and end: 9 + 9
    assert best.score == pytest.approx(fused_score(best.retrieval_score, best.reader_score))
    assert best.retrieval_score == next(r.score for r in plain if r.id == best.id)


def test_reranked_results_are_ordered_by_the_fused_score_and_carry_both_scores(index):
    results = index.search("the river", k=10, rerank=10)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    for result in results:
        assert result.score == pytest.approx(fused_score(result.retrieval_score, result.reader_score))


def test_results_past_the_first_n_keep_their_search_order_unread(index):
    plain = index.search("the river", k=12)
    reranked = index.search("the river", k=12, rerank=4)
    assert {r.id for r in reranked[:4]} == {r.id for r in plain[:4]}
    assert [r.id for r in reranked[4:]] == [r.id for r in plain[4:]]
    assert all(r.reader_score is None and r.retrieval_score is None for r in reranked[4:])


def test_without_rerank_the_results_have_no_reader_score(index):
    for rerank in (None, 0):
        assert all(r.reader_score is None and r.retrieval_score is None
                   for r in index.search("the river", k=3, rerank=rerank))


@pytest.mark.parametrize("mode", MODES)
def test_rerank_works_in_every_mode_and_inside_filters(index, mode):
    results = index.search("bridge river", k=3, mode=mode, ext="md", rerank=5)
    assert len(results) == 3 and all(name(r).endswith(".md") for r in results)
    assert name(results[0]) == "note07.md" and results[0].reader_score == 18.0


def test_search_many_reranks_every_query(index):
    first, second = index.search_many(["the river", "a town"], k=2, rerank=30, ext="md")
    assert name(first[0]) == name(second[0]) == "note07.md"


@pytest.mark.parametrize("rerank", [-1, 2.5, "20"])
def test_a_bad_rerank_count_is_an_invalid_query(index, rerank):
    with pytest.raises(InvalidQueryError, match="rerank"):
        index.search("the river", rerank=rerank)


def test_reordered_puts_passages_without_a_span_after_the_read_ones():
    results = [SearchResult(float(3 - n), f"/{n}", 0, 1, 1, "x", n) for n in range(4)]
    ordered = reordered(results[:3], [None, 1.0, 30.0], rest=results[3:])
    assert [r.id for r in ordered] == [2, 1, 0, 3]
    assert ordered[2].score == 3.0 and ordered[2].reader_score is None and ordered[2].retrieval_score == 3.0


# -- the command line ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_cli_search_rerank_reads_the_results_in_every_mode_and_inside_filters(run, indexed, tiny_qa, mode):
    result = run("search", "When did Apollo land?", "--rerank", "--reader", tiny_qa, "--backend", "torch",
                 "--mode", mode, "--ext", "html", "--ext", "txt", "--json")
    hits = json.loads(result.stdout)
    assert hits and all(h["path"].endswith((".html", ".txt")) for h in hits)
    assert all(h["reader_score"] is not None and h["retrieval_score"] is not None for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_cli_rerank_takes_how_many_to_read(run, indexed, tiny_qa):
    hits = json.loads(run("search", "bees", "-k", "3", "--rerank", "2", "--reader", tiny_qa, "--backend", "torch",
                          "--json").stdout)
    assert [h["reader_score"] is None for h in hits] == [False, False, True]
    plain = json.loads(run("search", "bees", "-k", "3", "--json").stdout)
    assert all(h["reader_score"] is None for h in plain)


def test_cli_rerank_and_dense_weight_refuse_bad_values(run, indexed):
    assert run("search", "bees", "--rerank", "-1").exit_code == 2
    result = run("search", "bees", "--dense-weight", "1.5")
    assert result.exit_code == 2 and "--dense-weight" in result.stderr
