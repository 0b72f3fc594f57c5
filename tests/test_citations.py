"""Page and section reach every caller: stored with each passage, given by search, ask, the CLI's
JSON and the library; indexes made before them keep working, and moving a passage to another
page re-encodes nothing."""

import json
import sqlite3

import pytest

import format_samples as samples
from bertsearch import Index

GUIDE = "# Guide\n\nWhat this is.\n\n## Installation\n\n### Linux\n\nRun the installer from a terminal.\n"


@pytest.fixture
def shelf(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text(GUIDE)
    (folder / "notes.txt").write_text("Plain notes about the installer, with no headings at all.")
    samples.pptx(folder / "deck.pptx")
    return folder


def test_search_gives_page_and_section(shelf, tmp_path, tiny_bert):
    index = Index(tmp_path / "index", model=tiny_bert)
    index.add([shelf])
    hits = {(h.path.rsplit("/", 1)[-1], h.page, h.section) for h in index.search("installer", mode="bm25", k=10)}
    assert hits == {("guide.md", None, "Guide > Installation > Linux"), ("notes.txt", None, None)}
    regions = index.search("North Growth", mode="bm25", k=1)[0]
    assert (regions.page, regions.section) == (2, "Regions")
    stored = {(p.page, p.section) for p in index.passages(path=str(shelf / "deck.pptx"))}
    assert stored == {(1, "Quarterly results"), (2, "Regions"), (3, None)}


def test_ask_gives_the_page_of_each_answer(shelf, tmp_path, tiny_bert, tiny_qa):
    index = Index(tmp_path / "index", model=tiny_bert, reader=tiny_qa)
    index.add([shelf / "deck.pptx"])
    result = index.ask("Which region grew?", k=3, always_answer=True)
    for answer in result.answers:
        passage = next(p for p in result.passages if p.path == answer.path and p.start <= answer.start < p.end)
        assert (answer.page, answer.section) == (passage.page, passage.section) and answer.page in (1, 2, 3)
    assert result.to_dict()["answers"][0].keys() >= {"page", "section"}


def test_search_json_carries_page_and_section(run, shelf, tiny_bert):
    assert run("index", shelf, "--model", tiny_bert).exit_code == 0
    hits = json.loads(run("search", "Region Growth North", "--mode", "bm25", "--json", "-k", "1").stdout)
    assert (hits[0]["page"], hits[0]["section"]) == (2, "Regions")
    plain = json.loads(run("search", "plain notes", "--mode", "bm25", "--json", "-k", "1").stdout)
    assert plain[0]["path"].endswith("notes.txt") and (plain[0]["page"], plain[0]["section"]) == (None, None)


def test_the_cli_cites_page_and_section(run, shelf, tiny_bert):
    assert run("index", shelf, "--model", tiny_bert).exit_code == 0
    printed = run("search", "Region Growth North", "--mode", "bm25", "-k", "1").stdout
    assert printed.startswith("1. ") and "docs/deck.pptx:7, page 2 > Regions [chars 73-" in printed.splitlines()[0]
    printed = run("search", "installer terminal", "--mode", "bm25", "-k", "1").stdout
    assert "docs/guide.md:5 > Guide > Installation > Linux [chars 24-" in printed.splitlines()[0]


def make_it_old(folder):
    """Turn an index into one made before migration 4: no page or section columns, the step not recorded."""
    with sqlite3.connect(folder / "index.db") as db:
        db.execute("alter table passages drop column page")
        db.execute("alter table passages drop column section")
        db.execute("delete from _migrations where name like '%page_and_section'")
    db.close()


def test_an_index_from_before_pages_opens_and_keeps_working(shelf, tmp_path, tiny_bert):
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([shelf])
        before = [(h.path, h.text) for h in index.search("installer", mode="bm25")]
    make_it_old(tmp_path / "index")
    with Index(tmp_path / "index") as reopened:
        found = reopened.search("installer", mode="bm25")
        assert [(h.path, h.text) for h in found] == before
        assert {(h.page, h.section) for h in found} == {(None, None)}  # unknown for passages indexed before
        assert reopened.check().ok
        (shelf / "guide.md").write_text(GUIDE + "\nOne more line.\n")  # indexed again: now it has sections
        reopened.add([shelf])
        assert {h.section for h in reopened.search("installer", mode="bm25", path=str(shelf / "guide.md"))} == {
            "Guide > Installation > Linux"}


def test_a_passage_moved_to_another_page_is_not_encoded_again(tmp_path, tiny_bert):
    folder = tmp_path / "docs"
    folder.mkdir()
    samples.pptx(folder / "deck.pptx", slides=3)
    index = Index(tmp_path / "index", model=tiny_bert)
    first = index.add([folder])
    samples.pptx(folder / "deck.pptx", slides=4)  # one more slide at the end: same text on slides 1-3
    again = index.add([folder])
    assert again.passages_reused == first.passages_encoded and again.passages_encoded == 1
    assert [p.page for p in index.passages()] == [1, 2, 3, 4]
