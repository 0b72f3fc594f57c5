"""Hybrid retrieval: BM25 in SQLite FTS5 beside the vectors, fusion, and filters applied inside the search."""

import json
import os
from datetime import date, datetime

import pytest

from bertsearch import Index, bm25, fusion, schema
from bertsearch.search_modes import DEFAULT_MODE, MODES
from bertsearch.errors import InvalidQueryError
from bertsearch.filters import Filters
from bertsearch.store import Store
from conftest import make_store, one_line_error, put

# Each awkward query, and which of the passages "bees dance to tell where flowers are" (0) and
# "say hi to the tower" (1) it must match when its words are taken as plain words.
AWKWARD_QUERIES = {'"unbalanced': [], 'say "hi"': [1], "NOT": [], "bees AND flowers OR NOT tower": [0, 1],
                   "NEAR(bees flowers)": [0], "bee*": [0], "text:bees": [0], "(((": [], "!!!": [], "-": [],
                   "c++ & |": [], "^bees": [0], "héllo wörld": [], "?": []}


def bm25_ids(store, query, k=10):
    return [i for i, _ in store.bm25_search(query, k)]


def ids_of(store, path):
    return [p.id for p in store.passage_list(Filters(path=path))]


# -- BM25 in the same SQLite file ------------------------------------------------

def test_bm25_finds_an_exact_rare_term(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["bees dance to tell where flowers are", "the tower stands in paris"])
    put(store, "/b", ["the zyxquorp protocol moves bees", "bees make honey"], seed=1)
    assert bm25_ids(store, "what is zyxquorp?")[0] == ids_of(store, "/b")[0]


def test_words_are_stemmed_and_accents_folded(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["Bees were dancing at the café", "nothing here"])
    assert bm25_ids(store, "dances cafe") == ids_of(store, "/a")[:1]


@pytest.mark.parametrize("query", AWKWARD_QUERIES)
def test_query_syntax_is_plain_text_to_fts5(tmp_path, query):
    store = make_store(tmp_path)
    put(store, "/a", ["bees dance to tell where flowers are", "say hi to the tower"])
    passages = ids_of(store, "/a")
    assert sorted(bm25_ids(store, query)) == [passages[n] for n in AWKWARD_QUERIES[query]]


def test_a_query_of_words_matches_on_any_of_them():
    assert bm25.match_expression('who said "NOT" NEAR(x)?') == '"said" OR "not" OR "near" OR "x"'
    assert bm25.match_expression("what is it") == '"what" OR "is" OR "it"'  # only stopwords: keep them
    assert bm25.match_expression("?!") is None


def test_the_fts_table_follows_reindex_and_remove(tmp_path):
    store = make_store(tmp_path)
    put(store, "/a", ["old words about walruses", "shared text"])
    put(store, "/a", ["new words about narwhals", "shared text"], seed=2)  # re-indexed
    assert bm25_ids(store, "walruses") == []
    assert bm25_ids(store, "narwhals") == ids_of(store, "/a")[:1]
    store.delete_documents(["/a"])
    assert bm25_ids(store, "narwhals shared") == []


def test_the_migration_backfills_an_index_made_before_fts(tmp_path, monkeypatch):
    # Every step but the FTS one: today's code writes today's passage columns.
    monkeypatch.setattr(schema, "MIGRATIONS", [m for m in schema.MIGRATIONS if "fts" not in m.__name__])
    old = make_store(tmp_path)
    put(old, "/a", ["a passage about walruses", "and one about narwhals"])
    assert "passages_fts" not in old.db.table_names()
    old.close()
    monkeypatch.undo()
    reopened = Store(tmp_path)
    assert bm25_ids(reopened, "narwhals") == ids_of(reopened, "/a")[1:]
    put(reopened, "/b", ["walruses again"], seed=1)
    assert len(bm25_ids(reopened, "walruses")) == 2


# -- fusion ------------------------------------------------------------------------

def test_fusion_ranks_what_both_sides_like_first():
    dense = {1: 0.9, 2: 0.5, 3: 0.6}
    bm25 = {2: 12.0, 3: 11.0}  # passage 1 has none of the words: BM25 0
    assert [i for i, _ in fusion.fuse(dense, bm25, weight=0.5)][0] == 3  # good on both sides
    assert [i for i, _ in fusion.fuse(dense, bm25, weight=1.0)] == [1, 3, 2]
    assert [i for i, _ in fusion.fuse(dense, bm25, weight=0.0)] == [2, 3, 1]


@pytest.mark.parametrize("form", fusion.FORMS)
def test_every_fusion_form_handles_ties_and_single_candidates(form):
    assert [i for i, _ in fusion.fuse({7: 0.3}, {}, form=form)] == [7]
    assert len(fusion.fuse({1: 0.5, 2: 0.5}, {1: 1.0, 2: 1.0}, form=form)) == 2


# -- the library: modes and filters ----------------------------------------------------

@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """40 short notes about bees: 30 .txt, 5 .md and 5 .rst; the .md ones are old."""
    folder = tmp_path_factory.mktemp("many") / "notes"
    folder.mkdir()
    for n in range(40):
        ext = "txt" if n < 30 else "md" if n < 35 else "rst"
        (folder / f"note{n:02d}.{ext}").write_text(f"Note {n}: honeybees dance to show where flowers are.\n")
    old = datetime(2020, 1, 1).timestamp()
    for n in range(30, 35):
        os.utime(folder / f"note{n:02d}.md", (old, old))
    return folder


@pytest.fixture(scope="module")
def index(tmp_path_factory, tiny_bert, many):
    """Read-only: shared by the tests below."""
    with Index(tmp_path_factory.mktemp("many-index"), model=tiny_bert) as idx:
        idx.add([many])
        yield idx


@pytest.mark.parametrize("mode", MODES)
def test_a_filtered_search_returns_k_results_when_k_match(index, mode):
    results = index.search("honeybees dance", k=5, mode=mode, ext="md")
    assert len(results) == 5 and all(r.path.endswith(".md") for r in results)


@pytest.mark.parametrize("mode", MODES)
def test_filters_combine(index, many, mode):
    found = index.search("flowers", k=40, mode=mode, path=str(many / "note3*"), ext=[".RST", "md"],
                         before=date(2021, 1, 1))
    assert sorted(os.path.basename(r.path) for r in found) == [f"note{n}.md" for n in range(30, 35)]
    assert index.search("flowers", k=40, mode=mode, ext="md", after="2021-01-01") == []


def test_a_relative_path_glob_starts_in_the_working_folder(index, many, monkeypatch):
    monkeypatch.chdir(many.parent)
    assert len(index.search("bees", k=40, path="notes/*.rst")) == 5


def test_bm25_mode_finds_the_note_by_its_number(index):
    assert index.search("note 17", k=1, mode="bm25")[0].path.endswith("note17.txt")


@pytest.mark.parametrize("mode", MODES)
def test_searches_return_k_distinct_passages_best_first(index, mode):
    results = index.search("Where are the flowers?", k=8, mode=mode)
    assert len({r.id for r in results}) == 8
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_unknown_modes_and_dates_are_invalid_queries(index):
    with pytest.raises(InvalidQueryError, match="hybrid"):
        index.search("bees", mode="sparse")
    with pytest.raises(InvalidQueryError, match="2024-05-31"):
        index.search("bees", after="last tuesday")


def test_a_query_with_no_words_still_gets_dense_results(index):
    assert len(index.search("?!", k=3)) == 3
    assert index.search("?!", k=3, mode="bm25") == []


# -- the command line ---------------------------------------------------------------



def test_cli_modes_are_the_library_modes():
    from bertsearch.cli import search

    mode = next(p for p in search.params if p.name == "mode")
    assert tuple(mode.type.choices) == MODES and mode.default == DEFAULT_MODE


def test_search_takes_a_mode_and_filters(run, indexed):
    result = run("search", "Honeybees dance", "--mode", "bm25", "--ext", "md", "--json")
    hits = json.loads(result.stdout)
    assert len(hits) == 1 and hits[0]["path"].endswith("bees.md")
    result = run("search", "anything", "--path", indexed / "sub" / "*", "--after", "2000-01-01", "--json")
    assert [os.path.basename(h["path"]) for h in json.loads(result.stdout)] == ["moon.html"]


def test_a_filter_nothing_matches_finds_nothing(run, indexed):
    assert "No passages found." in run("search", "bees", "--before", "1990-01-01").stdout


def test_a_bad_date_is_a_usage_error(run, indexed):
    result = run("search", "bees", "--after", "yesterday")
    assert result.exit_code == 2 and "--after" in result.stderr


def test_ask_takes_a_mode_and_filters(run, indexed, tiny_qa):
    result = run("ask", "When did Apollo land?", "--reader", tiny_qa, "--mode", "dense", "--ext", "html", "--json")
    assert {p["path"][-4:] for p in json.loads(result.stdout)["passages"]} == {"html"}
