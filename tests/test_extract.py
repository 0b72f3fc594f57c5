import os
from pathlib import Path

import pytest

from bertsearch.extract import SkipFile, Skipped, extract, find_files

SAMPLE = Path(__file__).parent.parent / "sample_corpus"


def test_html_keeps_visible_text_only(corpus):
    text = extract(corpus / "sub" / "moon.html").text
    assert "Apollo 11 landed on the Moon in July 1969." in text
    assert "do not index" not in text and "color" not in text


def test_html_blocks_become_paragraphs(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<h1>Title</h1><p>One &amp; two.</p><ul><li>a</li><li>b</li></ul>")
    assert extract(page).text == "Title\n\nOne & two.\n\na\n\nb"


def test_pdf_text_is_extracted():
    document = extract(SAMPLE / "history" / "printing_press.pdf")
    assert document.format == "pdf"
    assert "Gutenberg" in document.text


def test_broken_pdf_is_skipped_with_a_reason(tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(SkipFile, match="PDF"):
        extract(bad)


def test_text_that_is_not_utf8_is_decoded_not_replaced(tmp_path):
    file = tmp_path / "latin1.txt"
    file.write_bytes("café au lait".encode("latin-1"))
    assert extract(file).text == "café au lait"


def test_utf16_with_bom(tmp_path):
    file = tmp_path / "wide.txt"
    file.write_text("hello wide world", encoding="utf-16")
    assert extract(file).text == "hello wide world"


def test_binary_file_is_skipped(tmp_path):
    file = tmp_path / "data.txt"
    file.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(SkipFile, match="binary"):
        extract(file)


def test_find_files_skips_hidden_and_the_index_folder(corpus):
    (corpus / ".git").mkdir()
    (corpus / ".git" / "config.txt").write_text("hidden")
    (corpus / ".hidden.txt").write_text("hidden")
    (corpus / "index").mkdir()
    (corpus / "index" / "index.txt").write_text("the index folder itself")
    found = [f.name for f in find_files([corpus], exclude=corpus / "index")]
    assert found == ["bees.md", "paris.txt", "moon.html"]


def test_find_files_skips_editors_swap_backup_and_temporary_files(corpus):
    for name in ["paris.txt~", "#paris.txt#", ".paris.txt.swp", "paris.txt.swp", "paris.txt.bak", "4913",
                 "paris.txt.tmp", "paris.txt___jb_tmp___"]:
        (corpus / name).write_text("an editor's copy")
    found = sorted(f.name for f in find_files([corpus]))
    assert found == ["bees.md", "moon.html", "paris.txt"]


def test_symlink_loops_do_not_recurse(corpus):
    os.symlink(corpus, corpus / "sub" / "loop")
    os.symlink(corpus / "missing.txt", corpus / "dangling.txt")
    found = list(find_files([corpus]))
    assert sum(isinstance(f, Path) for f in found) == 3
    assert [f.reason for f in found if isinstance(f, Skipped)] == ["broken symbolic link"]
