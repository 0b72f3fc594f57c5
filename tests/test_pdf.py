"""PDFs (issue #17): pages recorded, hyphenation joined, running heads and page numbers dropped, and every
file that cannot be read (password, scans only, broken) skipped with a notice that says why.

The PDFs are written by the tests themselves (`tests/pdfs.py`); `run` and `tiny_bert` come from conftest.
"""

import json

import pytest

from bertsearch import Index
from bertsearch.extract import SkipFile, extract
from bertsearch.formats.pdf import drop_running_lines, page_lines, tidy_pages
from pdfs import IMAGE_ONLY, encrypt, write_pdf


def page_texts(document) -> list[str]:
    """Each page's text, cut from the document's text where `Document.pages` says each starts."""
    ends = document.pages[1:] + [len(document.text)]
    return [document.text[start:end].strip() for start, end in zip(document.pages, ends)]


def test_each_page_starts_where_the_document_says(tmp_path):
    pdf = write_pdf(tmp_path / "three.pdf", [["Apples grow on trees."], [], ["Rice grows in paddies."]])
    document = extract(pdf)
    assert document.format == "pdf"
    assert page_texts(document) == ["Apples grow on trees.", "", "Rice grows in paddies."]


def test_a_word_hyphenated_at_a_line_end_is_joined():
    pages = [["The exam-", "ple is clear, a well-known one.", "Another well-", "known case and an Anglo-",
              "Saxon name."]]
    assert tidy_pages(pages) == ["The example is clear, a well-known one. Another well-known case "
                                 "and an Anglo-Saxon name."]


def test_pdfium_line_end_hyphen_marks_become_joined_words():
    # PDFium reports a hyphen it found at a line's end as U+FFFE and drops the line break.
    assert tidy_pages([page_lines("consec\ufffetetur adipiscing\r\nelit")]) == ["consectetur adipiscing elit"]


def test_running_heads_footers_and_page_numbers_are_dropped():
    bodies = [["Bees dance.", "They point at flowers."], ["Ants march.", "They follow scent."],
              ["Moths fly.", "They steer by the moon."], ["Wasps build.", "They chew wood."]]
    pages = [["Field notes · Draft", *body, f"Page {n} of 4"] for n, body in enumerate(bodies, start=1)]
    assert drop_running_lines(pages) == bodies


def test_a_printed_page_number_that_counts_from_an_offset_is_dropped_with_its_running_head():
    bodies = [["We measured twice.", "Then once more."], ["The scale was off.", "By a gram."],
              ["We fixed it.", "And measured again."]]
    pages = [[f"{n + 10} 2. METHODS", *body] for n, body in enumerate(bodies)]
    assert drop_running_lines(pages) == bodies


def test_a_page_of_only_a_repeated_line_keeps_it_and_a_one_page_document_keeps_everything():
    assert drop_running_lines([["Hello"], ["Hello"], ["Hello"]]) == [["Hello"], ["Hello"], ["Hello"]]
    assert drop_running_lines([["Report", "Text.", "1"]]) == [["Report", "Text.", "1"]]


def test_a_number_inside_the_text_is_not_a_page_number(tmp_path):
    pages = [["Intro", "In 1999 we began."], ["Results", "We found 42 cases"]]
    assert drop_running_lines(pages) == pages


def test_pages_without_a_text_layer_are_one_notice(tmp_path):
    pdf = write_pdf(tmp_path / "mixed.pdf", [["Typed page."], IMAGE_ONLY, ["Typed again."], [], IMAGE_ONLY])
    document = extract(pdf)
    assert document.warnings == ["pages 2, 5 have no text layer (scanned images?); OCR is not supported"]
    assert page_texts(document) == ["Typed page.", "", "Typed again.", "", ""]


def test_a_pdf_of_only_scanned_pages_is_skipped_saying_why(tmp_path):
    pdf = write_pdf(tmp_path / "scan.pdf", [IMAGE_ONLY, IMAGE_ONLY])
    with pytest.raises(SkipFile, match=r"none of its 2 pages has a text layer \(scanned images\?\); OCR is not"):
        extract(pdf)
    with pytest.raises(SkipFile, match=r"^its only page has no text layer \(scanned images\?\); OCR is not"):
        extract(write_pdf(tmp_path / "one.pdf", [IMAGE_ONLY]))


def test_an_encrypted_pdf_is_skipped_naming_the_option_and_opens_with_its_password(tmp_path):
    pdf = encrypt(write_pdf(tmp_path / "secret.pdf", [["The vault code is behind the painting."]]), "s3cret")
    with pytest.raises(SkipFile, match="password-protected PDF: give its password with --pdf-password"):
        extract(pdf)
    with pytest.raises(SkipFile, match="the --pdf-password given does not open it"):
        extract(pdf, pdf_password="wrong")
    assert extract(pdf, pdf_password="s3cret").text == "The vault code is behind the painting."


@pytest.mark.parametrize("damage", [lambda data: data[: len(data) // 2], lambda data: b"%PDF-1.4\n" + b"\x00" * 64])
def test_a_broken_pdf_is_skipped_with_the_parsers_reason(tmp_path, damage):
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(damage(write_pdf(tmp_path / "whole.pdf", [["Some text."]] * 3).read_bytes()))
    with pytest.raises(SkipFile, match="could not parse PDF"):
        extract(pdf)


def test_index_explains_each_skipped_pdf_and_pdf_password_opens_the_encrypted_one(run, tiny_bert, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "plain.pdf", [["Lighthouses guide ships at night."], IMAGE_ONLY])
    encrypt(write_pdf(docs / "locked.pdf", [["The harbour master keeps the keys."]]), "harbour")
    write_pdf(docs / "scan.pdf", [IMAGE_ONLY])
    (docs / "cut.pdf").write_bytes((docs / "plain.pdf").read_bytes()[:200])

    first = run("index", docs, "--model", tiny_bert, "--json")
    assert first.exit_code == 0, first.output
    notices = first.stderr.splitlines()
    assert any("plain.pdf: page 2 has no text layer (scanned images?); OCR is not supported" in n for n in notices)
    skipped = {s["path"].rsplit("/", 1)[1]: s["reason"] for s in json.loads(first.stdout)["skipped"]}
    assert skipped["locked.pdf"] == "password-protected PDF: give its password with --pdf-password"
    assert "has no text layer" in skipped["scan.pdf"] and "could not parse PDF" in skipped["cut.pdf"]

    second = run("index", docs, "--pdf-password", "harbour", "--json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert [p.rsplit("/", 1)[1] for p in report["added"]] == ["locked.pdf"]
    found = run("search", "harbour master keys", "--mode", "bm25", "--json")
    paths = [hit["path"] for hit in json.loads(found.stdout)]
    assert paths[0].endswith("locked.pdf") and any(p.endswith("plain.pdf") for p in run(
        "search", "lighthouses", "--mode", "bm25", "--json").stdout.split('"') if p.endswith(".pdf"))


def test_a_pdf_that_breaks_later_keeps_what_was_indexed(tiny_bert, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = write_pdf(docs / "manual.pdf", [["Turn the valve clockwise to close it."]])
    (docs / "notes.txt").write_text("Check the valve monthly.")
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([docs])
        pdf.write_bytes(pdf.read_bytes()[:150])  # truncated by a failed copy
        notices = []
        report = index.add([docs], notify=notices.append)
        assert [s.reason for s in report.skipped] == [notices[0].split(": ", 1)[1]]
        assert notices[0].startswith("skipped") and "could not parse PDF" in notices[0]
        assert index.search("valve clockwise", mode="bm25")[0].path == str(pdf)


def test_the_library_takes_the_pdf_password(tiny_bert, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    encrypt(write_pdf(docs / "minutes.pdf", [["The board approved the budget."]]), "board")
    with Index(tmp_path / "index", model=tiny_bert) as index:
        report = index.add([docs], pdf_password="board")
        assert len(report.added) == 1 and not report.skipped
        assert "approved the budget" in index.search("budget", mode="bm25")[0].text


def test_search_json_cites_the_page_a_pdf_passage_is_on(run, tiny_bert, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    filler = ["The figures were checked twice by the audit team.", "Each region reported on time this year."]
    write_pdf(docs / "report.pdf", [["Annual report", "Revenue rose in the north.", *filler, "1"],
                                    ["Annual report", "Costs fell after the merger.", *filler, "2"],
                                    ["Annual report", "Glaciers retreat every summer.", *filler, "3"]])
    assert run("index", docs, "--model", tiny_bert).exit_code == 0
    hits = json.loads(run("search", "glaciers summer", "--mode", "bm25", "--json").stdout)
    assert (hits[0]["path"].rsplit("/", 1)[1], hits[0]["page"]) == ("report.pdf", 3)
    assert hits[0]["text"].startswith("Glaciers retreat every summer.") and "Annual report" not in hits[0]["text"]
