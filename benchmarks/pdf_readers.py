"""PDF libraries compared on real files: pypdf, pypdfium2 and pdfminer.six, each followed by bertsearch's tidying.

    nice -n 10 python benchmarks/pdf_readers.py                  # ../shared/data/pdfs, 3 rounds
    python benchmarks/pdf_readers.py --folder some/pdfs --rounds 1 --libraries pypdf,pypdfium2

Each library reads every PDF of the folder page by page (the password-protected
sample opened with its published user password, so all read the same pages);
`bertsearch.formats.pdf.page_lines` and `tidy_pages` then do what bertsearch does to
any library's text (running heads, footers and page numbers dropped, hyphenation
joined). Per library: files read, pages with text, characters, the files it
could not read and why, and seconds per page (the library's reading only, the
median of ROUNDS rounds run in turns). On the two-column LaTeX sample (026):
whether sentences that cross a line or the column break come out whole and in
order (`READING_ORDER`), and how many of the words LaTeX hyphenated at a line's
end come out joined (`HYPHENATED`). Writes benchmarks/results/pdf_readers.json
and the PDF section of docs/ingestion.md (between its pdf-readers markers).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from common import REPO, RESULTS, write_result  # noqa: E402

from bertsearch.formats import pdf  # noqa: E402

FOLDER = REPO.parent / "shared" / "data" / "pdfs"
PASSWORDS = {"005-libreoffice-writer-password__libreoffice-writer-password.pdf": "openpassword"}  # PROVENANCE.md
TWO_COLUMNS = "026-latex-multicolumn__multicolumn.pdf"
# Sentences of the two-column sample that cross a line break inside a column, or the break from the
# left column's last line to the right column's first (page 1: "...Donec nonummy" | "pellentesque ante...").
# Read across the columns line by line, none of them comes out whole.
READING_ORDER = [
    "Ut purus elit, vestibulum ut, placerat ac, adipiscing vitae, felis.",
    "Vivamus viverra fermentum felis. Donec nonummy pellentesque ante. Phasellus adipiscing semper elit.",
    "Nam vulputate metus eu enim. Vestibulum pellentesque felis eu massa.",
    "Duis eget orci sit amet orci dignissim rutrum.",
    "Integer tempus convallis augue.",
]
# Words the two-column sample hyphenates at a line's end (page 1), as they should read.
HYPHENATED = ["adipiscing", "consectetuer", "tristique", "rhoncus", "ultrices", "Curabitur", "dignissim",
              "sollicitudin", "bibendum", "Maecenas", "vulputate", "convallis", "fermentum", "vulputate",
              "ultricies", "Vestibulum"]
CID = re.compile(r"\(cid:\d+\)")  # pdfminer.six's text for a glyph it cannot map to a character
DOC = REPO / "docs" / "ingestion.md"
START, END = "<!-- pdf-readers:start -->", "<!-- pdf-readers:end -->"


def pypdf_pages(data: bytes, password: str | None) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not (password and reader.decrypt(password)):
        raise ValueError("password-protected")
    return [page.extract_text() or "" for page in reader.pages]


def pdfium_pages(data: bytes, password: str | None) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data, password=password)
    try:
        return [document[n].get_textpage().get_text_range() for n in range(len(document))]
    finally:
        document.close()


def pdfminer_pages(data: bytes, password: str | None) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    return ["".join(box.get_text() for box in page if isinstance(box, LTTextContainer))
            for page in extract_pages(io.BytesIO(data), password=password or "")]


LIBRARIES = {"pypdf": pypdf_pages, "pypdfium2": pdfium_pages, "pdfminer.six": pdfminer_pages}


def read_all(read, files: list[Path]) -> dict:
    """One library over every file: raw pages (or the error) and the seconds each file took."""
    out = {}
    for path in files:
        data = path.read_bytes()
        started = time.perf_counter()
        try:
            pages, error = read(data, PASSWORDS.get(path.name)), None
        except Exception as problem:  # what a library does with a bad file is what is measured
            pages, error = None, f"{type(problem).__name__}: {' '.join(str(problem).split())[:80]}"
        out[path.name] = {"pages": pages, "error": error, "seconds": time.perf_counter() - started}
    return out


def measure(files: list[Path], rounds: int, names: list[str]) -> dict:
    seconds = {name: {p.name: [] for p in files} for name in names}
    last = {}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            last[name] = read_all(LIBRARIES[name], files)
            for file, got in last[name].items():
                seconds[name][file].append(got["seconds"])
    return {name: summarise(last[name], {f: statistics.median(s) for f, s in seconds[name].items()})
            for name in names}


def summarise(read: dict, seconds: dict) -> dict:
    pages = characters = pages_with_text = dropped = unmapped = 0
    failed, two_columns = {}, ""
    for file, got in read.items():
        if got["error"]:
            failed[file] = got["error"]
            continue
        lines = [pdf.page_lines(text) for text in got["pages"]]
        tidy = pdf.tidy_pages(lines)
        dropped += sum(map(len, lines)) - sum(map(len, pdf.drop_running_lines(lines)))
        pages += len(tidy)
        pages_with_text += sum(1 for page in tidy if page)
        characters += sum(len(CID.sub("", page)) for page in tidy)
        unmapped += sum(len(CID.findall(page)) for page in tidy)
        if file == TWO_COLUMNS:
            two_columns = " ".join(tidy)
    read_seconds = sum(seconds[f] for f in read if not read[f]["error"])
    return {
        "files": len(read), "files_read": len(read) - len(failed), "failed": failed,
        "pages": pages, "pages_with_text": pages_with_text, "characters": characters,
        "unmapped_glyphs": unmapped, "edge_lines_dropped": dropped, "ms_per_page": 1000 * read_seconds / max(pages, 1),
        "reading_order": [sentence in two_columns for sentence in READING_ORDER],
        "hyphenated_joined": sum(1 for word in HYPHENATED if re.search(rf"\b{word}\b", two_columns)),
    }


def arabic(files: list[Path], names: list[str]) -> dict:
    """Arabic letters each library finds in the Arabic samples (015)."""
    out = {}
    for name, read in ((n, LIBRARIES[n]) for n in names):
        count = 0
        for path in (p for p in files if p.name.startswith("015-")):
            try:
                count += sum(1 for text in read(path.read_bytes(), None) for c in text if "\u0600" <= c <= "\u06ff")
            except Exception:
                pass
        out[name] = count
    return out


def render(result: dict) -> str:
    libs = result["libraries"]
    head = ["", *libs]
    rows = [
        ["files read", *(f"{r['files_read']} / {r['files']}" for r in libs.values())],
        ["pages with text", *(f"{r['pages_with_text']} / {r['pages']}" for r in libs.values())],
        ["characters (after tidying, `(cid:N)` not counted)", *(f"{r['characters']:,}" for r in libs.values())],
        ["unmapped glyphs written as `(cid:N)`", *(f"{r['unmapped_glyphs']:,}" for r in libs.values())],
        ["Arabic letters (015, 3 files)", *(f"{result['arabic'][name]:,}" for name in libs)],
        ["two-column reading order (026)", *(f"{sum(r['reading_order'])} / {len(READING_ORDER)} sentences whole"
                                            for r in libs.values())],
        ["line-end hyphens joined (026)", *(f"{r['hyphenated_joined']} / {len(HYPHENATED)}" for r in libs.values())],
        ["running heads, footers, page numbers dropped", *(str(r["edge_lines_dropped"]) for r in libs.values())],
        ["ms per page (reading)", *(f"{r['ms_per_page']:.2f}" for r in libs.values())],
        ["time vs pypdfium2", *(f"{r['ms_per_page'] / libs['pypdfium2']['ms_per_page']:.1f}x" for r in libs.values())],
    ]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    failures = [f"- {name}: `{file}`: {why}" for name, r in libs.items() for file, why in r["failed"].items()]
    m = result["machine"]
    return "\n".join([
        START,
        "### PDF libraries compared",
        "",
        f"Measured with `{result['command']}` on {result['date']}: {result['pdf_files']} PDFs of "
        f"`../shared/data/pdfs` (its three ODT files are the formats section's), {m['cpu']}, {m['cores']} cores, "
        f"shared with other jobs (load average {result['load']} at the start); times are the median of "
        f"{result['rounds']} rounds in turns. Every library's text goes through the same tidying "
        "(`bertsearch/formats/pdf.py`), so the rows after the first three compare what each library gives it.",
        "",
        *table,
        "",
        "Files a library could not read:" if failures else "Every library read every file.",
        "",
        *failures,
        "",
        "Reading order on the two-column sample is the content stream's, which pdfLaTeX writes column by "
        "column, and all three follow it; a producer that writes two columns line by line across the page "
        "would need layout analysis (pdfminer.six's), which these files do not exercise. pdfminer.six's "
        "lead in characters is the one file only it reads (017, 1,389 characters); it writes the glyphs it "
        "cannot map (GeoTopo's formulas) as `(cid:N)`, where the others give Unicode symbols. On the rotated "
        "Arabic sample PDFium returns a few glyphs as wrong characters (`ϲΒϴΒ`) beside the right ones; "
        "pypdf reads it cleanly.",
        END,
    ])


def write_section(section: str, page: Path = DOC) -> None:
    """Put `section` between the page's pdf-readers markers (appended, markers and all, if it has none)."""
    text = page.read_text() if page.exists() else "# Ingestion\n"
    if START in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    page.write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--libraries", default=",".join(LIBRARIES),
                        help="which to compare, comma-separated (pypdfium2 always among them)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--page", type=Path, default=DOC, help="the page whose PDF section is written")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # pypdf's font warnings, hundreds of lines of them
    names = list(dict.fromkeys(["pypdfium2", *args.libraries.split(",")]))

    files = sorted(args.folder.glob("*.pdf"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    result = {"pdf_files": len(files), "rounds": args.rounds, "load": load,
              "libraries": measure(files, args.rounds, names), "arabic": arabic(files, names)}
    section = render(json.loads(write_result("pdf_readers", result, args.out_dir).read_text()))
    write_section(section, args.page)
    print(section)


if __name__ == "__main__":
    main()
