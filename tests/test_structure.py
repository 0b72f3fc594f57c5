"""Passages follow a document's structure: none runs across a heading or a page, and each knows
its page and its heading path (`Installation > Linux`)."""

import re

import format_samples as samples
from bertsearch.chunking import split_passages
from bertsearch.extract import Document, Heading, extract
from bertsearch.structure import boundaries, page_at, place, section_at


def words(texts):
    """A stand-in tokenizer: one token per run of non-space characters."""
    return [[m.span() for m in re.finditer(r"\S+", text)] for text in texts]


def passages(document, passage_tokens=60, overlap_tokens=10):
    chunks = split_passages(document.text, words, passage_tokens, overlap_tokens, boundaries=boundaries(document))
    place(chunks, document)
    for chunk in chunks:  # spans map back to the extracted text
        assert document.text[chunk.start:chunk.end] == chunk.text
    return chunks


GUIDE = """# Guide

An introduction that says what the guide is for.

## Installation

### Linux

Run the installer from a terminal and answer its questions.

### Windows

Double-click the installer.

## Usage

Search with one command.
"""


def markdown(tmp_path, text=GUIDE):
    page = tmp_path / "guide.md"
    page.write_text(text)
    return extract(page)


def test_passages_do_not_cross_headings_and_know_their_path(tmp_path):
    found = [(c.section, c.text.splitlines()[-1]) for c in passages(markdown(tmp_path))]
    assert found == [
        ("Guide", "An introduction that says what the guide is for."),
        # "## Installation" has nothing under it of its own: it heads the Linux passage
        ("Guide > Installation > Linux", "Run the installer from a terminal and answer its questions."),
        ("Guide > Installation > Windows", "Double-click the installer."),  # short, but a section of its own
        ("Guide > Usage", "Search with one command."),
    ]
    assert passages(markdown(tmp_path))[1].text.startswith("## Installation\n\n### Linux")


def test_a_long_section_is_split_and_each_piece_keeps_the_path(tmp_path):
    long = GUIDE.replace("Double-click the installer.", " ".join(["Click next."] * 40))
    chunks = [c for c in passages(markdown(tmp_path, long), passage_tokens=20) if "Click next." in c.text]
    assert len(chunks) > 2 and {c.section for c in chunks} == {"Guide > Installation > Windows"}
    assert not any("Usage" in c.text for c in chunks)


def test_text_before_the_first_heading_has_no_section(tmp_path):
    chunks = passages(markdown(tmp_path, "A preface without a title.\n\n# Part one\n\nBody text here."))
    assert [(c.section, c.text) for c in chunks] == [
        (None, "A preface without a title."), ("Part one", "# Part one\n\nBody text here.")]


def test_slides_are_pages_and_passages_stay_on_theirs(tmp_path):
    document = extract(samples.pptx(tmp_path / "deck.pptx", slides=6))
    chunks = passages(document)
    assert [c.page for c in chunks] == [1, 2, 3, 4, 5, 6]
    assert [c.section for c in chunks[:4]] == ["Quarterly results", "Regions", None, "Results 3"]  # slide 3: no title
    assert "Left column." in chunks[2].text and "Region" not in chunks[2].text


def test_word_headings_become_sections(tmp_path):
    chunks = passages(extract(samples.docx(tmp_path / "guide.docx")))
    assert [c.section for c in chunks] == ["Installation > Linux", "Installation > Windows"]
    assert chunks[0].text.startswith("Field guide\n\nInstallation\n\nLinux")  # titles alone join what follows
    assert "Debian | 12 (any size)" in chunks[0].text


def test_unpaged_documents_have_no_page():
    document = Document(path=None, text="Just text.", format="txt")
    assert [(c.page, c.section) for c in passages(document)] == [(None, None)]


def test_page_and_section_lookups():
    assert [page_at([0, 10, 20], offset) for offset in (0, 9, 10, 25)] == [1, 1, 2, 3]
    assert page_at([5], 0) == 1 and page_at([], 3) is None
    headings = [Heading(0, 1, "A"), Heading(10, 2, "B"), Heading(20, 3, "C"), Heading(30, 2, "D"), Heading(40, 1, "E")]
    assert [section_at(headings, offset) for offset in (0, 15, 25, 35, 45)] == ["A", "A > B", "A > B > C", "A > D", "E"]
    assert section_at([Heading(0, 2, "deep first"), Heading(5, 1, "top")], 3) == "deep first"
