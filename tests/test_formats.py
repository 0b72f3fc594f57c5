"""Every format bertsearch reads, on a small sample each test writes with the format's own library:
the text in reading order, its headings and pages, and bad files skipped with a reason."""

import json
import zipfile

import pytest

import format_samples as samples
from bertsearch import Index
from bertsearch.extract import SkipFile, extract
from bertsearch.formats import FORMATS, for_path, zipped


def headings(document):
    """(level, title) of each heading, checked to sit where the text says (at its line, or its
    Markdown marks or reST overline)."""
    for heading in document.headings:
        line = " ".join(document.text[heading.start:].lstrip("#=~- \n").split()) if heading.title else ""
        assert line.startswith(heading.title), heading
    return [(h.level, h.title) for h in document.headings]


def paragraphs(document):
    return document.text.split("\n\n")


def test_every_registered_suffix_finds_its_format(tmp_path):
    for format in FORMATS:
        for suffix in format.suffixes:
            assert for_path(tmp_path / f"x{suffix.upper()}") is format
    assert for_path(tmp_path / "notes.txt") is None  # plain text


def test_word_keeps_body_order_tables_and_heading_styles(tmp_path):
    document = extract(samples.docx(tmp_path / "guide.docx"))
    assert document.format == "docx" and document.pages == []
    assert paragraphs(document) == [
        "Field guide", "Installation", "Linux", samples.LINUX,
        "System | Version | Size", "Debian | 12 (any size)",  # the merged cell once
        "The table above lists the tested systems.", "Windows", samples.WINDOWS,
    ]
    assert headings(document) == [(1, "Field guide"), (1, "Installation"), (2, "Linux"), (2, "Windows")]


def test_powerpoint_reads_slide_by_slide_each_a_page(tmp_path):
    document = extract(samples.pptx(tmp_path / "deck.pptx"))
    slides = [document.text[start:end].strip() for start, end in
              zip(document.pages, document.pages[1:] + [len(document.text)])]
    assert slides == [
        "Quarterly results\n\nRevenue grew by a third.\n\nMention the new customers.",  # title, body, notes
        "Regions\n\nRegion | Growth\n\nNorth | 40%",
        "Left column.\n\nRight column.",  # left to right, whatever order the boxes were added in
    ]
    assert headings(document) == [(1, "Quarterly results"), (1, "Regions"), (1, "")]  # "": slide 3 has no title
    assert document.headings[1].start == document.pages[1]


def test_opendocument_text(tmp_path):
    document = extract(samples.odt(tmp_path / "guide.odt"))
    assert paragraphs(document) == [
        "Installation", "Linux", "Run the installer from a terminal.",  # the footnote left out
        "First step.", "Second step.", "System | Size", "Debian | 12 MB", "Windows", samples.WINDOWS,
    ]
    assert headings(document) == [(1, "Installation"), (2, "Linux"), (2, "Windows")]


def test_epub_reads_chapters_in_spine_order(tmp_path):
    document = extract(samples.epub(tmp_path / "book.epub", chapters=3))
    assert [title for _, title in headings(document)] == [
        "Chapter 1", "Voyage 1", "Chapter 2", "Voyage 2", "Chapter 3", "Voyage 3"]
    assert [level for level, _ in headings(document)] == [1, 2] * 3
    assert paragraphs(document)[:3] == ["Chapter 1", "The ship left harbour on day 1.", "Voyage 1"]
    assert "margin" not in document.text  # the stylesheet is in the manifest, not the spine
    assert "Contents" not in document.text  # the table of contents repeats the headings


def test_notebook_cells_in_order_without_binary_outputs(tmp_path):
    document = extract(samples.ipynb(tmp_path / "analysis.ipynb"))
    assert document.text.startswith("# Analysis\n\nWe load the survey data.\n\nimport math\n# radius in metres\n")
    assert "3.141592653589793" in document.text and "<Figure size 640x480>" in document.text
    assert "iVBOR" not in document.text  # the PNG's data
    assert headings(document) == [(1, "Analysis"), (2, "Results 1")]  # the code comment is no heading


def test_email_headers_plain_body_and_attachment_names(tmp_path):
    document = extract(samples.eml(tmp_path / "note.eml"))
    assert paragraphs(document) == [
        "Meeting moved to Thursday", "From: Ada <ada@example.org>", "To: team@example.org",
        "Date: Tue, 01 Dec 2026 09:30:00 +0000", "Hello all,", "The meeting moves to Thursday at ten.", "Ada",
        "Attachments: figures.csv",
    ]
    assert "HTML" not in document.text  # text/plain preferred
    assert headings(document) == [(1, "Meeting moved to Thursday")]


def test_markdown_headings_atx_and_setext_not_in_code(tmp_path):
    page = tmp_path / "guide.md"
    page.write_text("Guide\n=====\n\nIntro.\n\n## Install ##\n\n```sh\n# a shell comment\n```\n\n"
                    "Linux notes\nover two lines\n-----\n\nText.\n\n---\n\n####### seven is no heading\n")
    document = extract(page)
    assert document.text == page.read_text()  # Markdown is indexed as written
    assert headings(document) == [(1, "Guide"), (2, "Install"), (2, "Linux notes over two lines")]
    assert document.headings[2].start == document.text.index("Linux notes")


def test_restructuredtext_titles_take_levels_in_order_of_appearance(tmp_path):
    page = tmp_path / "guide.rst"
    page.write_text("=====\nGuide\n=====\n\nIntro.\n\nInstall\n-------\n\nText::\n\n    code\n\n"
                    "Linux\n~~~~~\n\nMore.\n\nUsage\n-------\n\nToo short\n---\n")
    document = extract(page)
    assert headings(document) == [(1, "Guide"), (2, "Install"), (3, "Linux"), (2, "Usage")]  # not "Too short"
    assert document.headings[0].start == 0  # the overline is part of the title


def test_html_headings(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Guide</title></head><body><h1>Guide</h1><p>Intro.</p>"
                    "<h2>Install <em>now</em></h2><p>Text.</p><script><h3>hidden</h3></script></body></html>")
    document = extract(page)
    assert paragraphs(document) == ["Guide", "Guide", "Intro.", "Install now", "Text."]
    assert headings(document) == [(1, "Guide"), (2, "Install now")]


BAD_FILES = {
    "plain.docx": (b"just some text, not a Word file", "not a valid Word (.docx) file"),
    "plain.pptx": (b"just some text", "not a valid PowerPoint (.pptx) file"),
    "plain.odt": (b"just some text", "not a valid OpenDocument text (.odt) file"),
    "plain.epub": (b"just some text", "not a valid EPUB file"),
    "broken.ipynb": (b'{"cells": [', "not a valid Jupyter notebook"),
    "list.ipynb": (b"[1, 2]", "not a valid Jupyter notebook"),
    "plain.eml": (b"no headers here, just words", "not an e-mail message"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_are_skipped_with_a_reason(tmp_path, name):
    data, reason = BAD_FILES[name]
    (tmp_path / name).write_bytes(data)
    with pytest.raises(SkipFile, match=reason.replace("(", r"\(").replace(")", r"\)")):
        extract(tmp_path / name)


@pytest.mark.parametrize("suffix", ["docx", "pptx", "odt", "epub"])
def test_truncated_zip_formats_are_skipped(tmp_path, suffix):
    whole = samples.WRITERS[suffix](tmp_path / f"whole.{suffix}").read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SkipFile, match="truncated"):
        extract(cut)


def zip_bomb(path, member="content.xml"):
    """A zip whose one member unzips to 20 MB of zeros from about 20 kB: a ratio near 1000."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, b"\0" * 20_000_000)
    return path


@pytest.mark.parametrize("suffix", ["docx", "pptx", "odt", "epub"])
def test_zip_bombs_are_refused_before_unzipping(tmp_path, suffix):
    with pytest.raises(SkipFile, match="zip bomb"):
        extract(zip_bomb(tmp_path / f"bomb.{suffix}"))


def test_a_zip_over_the_total_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(zipped, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(SkipFile, match="over the 0 MB cap"):
        extract(samples.docx(tmp_path / "guide.docx"))


def test_bad_files_keep_what_was_indexed(tmp_path, tiny_bert):
    """Each format indexed, then each file replaced by a bad one: skipped with a notice, its
    indexed text kept, and the index still whole."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for suffix, write in samples.WRITERS.items():
        write(folder / f"sample.{suffix}")
    (folder / "notes.txt").write_text("A plain note that stays as it is.")
    index = Index(tmp_path / "index", model=tiny_bert)
    assert len(index.add([folder]).added) == len(samples.WRITERS) + 1
    before = {p.path: p.text for p in index.passages()}
    for suffix in ("docx", "pptx", "odt"):
        (folder / f"sample.{suffix}").write_bytes(b"not a zip any more")
    zip_bomb(folder / "sample.epub")
    (folder / "sample.ipynb").write_text(json.dumps({"cells": "nope"}))
    (folder / "sample.eml").write_bytes(b"\n\nno headers")
    notices = []
    report = index.add([folder], notify=notices.append)
    assert len(report.skipped) == len(notices) == len(samples.WRITERS)
    assert {p.path: p.text for p in index.passages()} == before
    assert index.check().ok
