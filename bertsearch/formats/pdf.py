"""PDF text, page by page: PDFium reads it, bertsearch tidies it.

`read` is the registry's reader (`formats.FORMATS`): the `Document`, its
pages one paragraph each, a blank line between, `Document.pages` where each
starts, and a warning naming the pages that have no text layer.

`read_pdf` opens a PDF with pypdfium2 (PDFium, Chrome's PDF engine: measured
fastest of pypdf, pdfminer.six and pypdfium2 on real files, with as much text
found; docs/ingestion.md) and returns each page's raw text lines, and which
pages have no text layer. Encrypted files open with the password given
(`--pdf-password`), else are skipped saying so; files PDFium cannot parse are
skipped with its reason. A page without text but with images is a scan (OCR
is not supported): reported, and a file of only such pages is skipped. PDFium
is not thread-safe, so one thread at a time reads (`_PDFIUM`).

`tidy_pages` is bertsearch's own post-processing, the same whichever library
read the lines (the benchmark applies it to all three):

- lines repeated at the top or bottom of most pages (running heads, footers)
  and lone page numbers at a page's edge are dropped;
- a word hyphenated across a line break is joined (`exam-` + `ple` ->
  `example`) unless the document writes it with a hyphen elsewhere
  (`well-known`), or the part after the break starts with a capital;
- the page's lines become one paragraph.

`pdf_text` puts the pages together and records where each starts.
"""

import contextlib
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..extract import Document, SkipFile

EDGE_LINES = 2  # how many lines at the top and at the bottom of a page may be a running head or footer
REPEATED_SHARE = 0.5  # an edge line on at least this share of pages (and at least MIN_REPEATS) is a running head
MIN_REPEATS = 3
# A number a line starts or ends with, as a page number is printed: "12", "- 12 -", "Page 12", "12 / 40".
PAGE_NUMBER = re.compile(r"^\W*(?:page\s+)?(\d{1,4})\b|\b(\d{1,4})\W*$", re.IGNORECASE)
# PDFium marks a hyphen it found at a line's end with U+FFFE (and drops the line break); some
# producers write a soft hyphen (U+00AD). Both become "-" and a line break before the joining rule.
_PDFIUM = threading.Lock()  # PDFium's global state: one document read at a time in this process
LINE_END_HYPHENS = re.compile("[\ufffe\u00ad]\n?")
HYPHENATED = re.compile(r"([^\W\d_]+)-\n([^\W\d_]+)")
WORDS = re.compile(r"[\w-]+")


def read(path: Path, data: bytes, *, pdf_password: str | None = None) -> Document:
    """The registry's PDF reader: the tidied text, where each page starts, and what to tell the user
    (pages with no text layer; anything the library logged). SkipFile for what cannot be read."""
    with parser_warnings("pypdfium2") as warnings:
        pages = read_pdf(data, password=pdf_password)
    text, starts = pdf_text(tidy_pages(pages.pages))
    if pages.no_text_layer:
        warnings.insert(0, scans_notice(pages.no_text_layer))
    return Document(path, text, "pdf", warnings=warnings, pages=starts)


@dataclass
class PdfPages:
    """A PDF's text as read: each page's lines, and the (1-based) pages that are scans."""

    pages: list[list[str]]
    no_text_layer: list[int] = field(default_factory=list)


def read_pdf(data: bytes, *, password: str | None = None) -> PdfPages:
    """Each page's lines of text (PDFium); SkipFile for encrypted, broken or image-only files."""
    with _PDFIUM:
        pages, scans = _pages(data, password)
    if scans and not any(pages):
        which = "its only page has no" if len(pages) == 1 else f"none of its {len(pages)} pages has a"
        raise SkipFile(f"{which} text layer (scanned images?); OCR is not supported")
    return PdfPages(pages, scans)


def _pages(data: bytes, password: str | None) -> tuple[list[list[str]], list[int]]:
    """Each page's lines, and the numbers of the pages with images but no text."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        document = pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as error:
        if getattr(error, "err_code", None) == raw.FPDF_ERR_PASSWORD:
            raise SkipFile(_password_problem(password)) from None
        raise SkipFile(f"could not parse PDF ({_detail(error)})") from None
    try:
        pages, scans = [], []
        for number in range(1, len(document) + 1):
            page = document[number - 1]
            lines = page_lines(page.get_textpage().get_text_range())
            if not lines and _has_images(page, raw.FPDF_PAGEOBJ_IMAGE):
                scans.append(number)
            pages.append(lines)
    except Exception as error:  # a damaged page can fail in any way
        raise SkipFile(f"could not read PDF ({type(error).__name__}: {_detail(error)})") from None
    finally:
        document.close()
    return pages, scans


def _has_images(page, image_type: int) -> bool:
    return next(page.get_objects(filter=[image_type], max_depth=3), None) is not None


def _password_problem(password: str | None) -> str:
    if password is None:
        return "password-protected PDF: give its password with --pdf-password"
    return "password-protected PDF: the --pdf-password given does not open it"


def _detail(error: Exception) -> str:
    """The error's words; for PDFium's "Failed to load document (PDFium: Data format error).", its reason."""
    said = " ".join(str(error).split())
    reason = re.search(r"\((PDFium: [^)]*)\)", said)
    return (reason.group(1) if reason else said)[:200]


def scans_notice(pages: list[int]) -> str:
    """The notice for pages with no text layer: "pages 3, 5 have no text layer ..."."""
    which = f"page {pages[0]} has" if len(pages) == 1 else f"pages {', '.join(map(str, pages))} have"
    return f"{which} no text layer (scanned images?); OCR is not supported"


def page_lines(text: str) -> list[str]:
    """A page's raw text (any library's) as stripped, non-empty lines, line-end hyphens made "-\\n"."""
    text = LINE_END_HYPHENS.sub("-\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [line for line in (" ".join(raw.split()) for raw in text.split("\n")) if line]


def tidy_pages(pages: list[list[str]]) -> list[str]:
    """Each page as one paragraph: running heads, footers and page numbers dropped, hyphenation joined."""
    pages = drop_running_lines(pages)
    texts = ["\n".join(lines) for lines in pages]
    vocabulary = Counter(w.lower() for text in texts for w in WORDS.findall(HYPHENATED.sub(" ", text)))
    return [" ".join(join_hyphens(text, vocabulary).split()) for text in texts]


def drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop a page's top or bottom lines that are running heads or footers: a line carrying the page's
    number (`12`, `Page 12`, `12 2.3. Methods`, when most pages' edge lines count up with the pages), or a
    line that recurs, numbers aside, on most pages (`Draft · do not cite`)."""
    if len(pages) < 2:
        return pages
    offset = _page_number_offset(pages)
    recurring = Counter(key for lines in pages for key in {_shape(line) for line in _edges(lines)})
    needed = max(MIN_REPEATS, REPEATED_SHARE * sum(1 for lines in pages if lines))
    running = {key for key, count in recurring.items() if count >= needed}
    kept = []
    for index, lines in enumerate(pages):
        edge = set(range(min(EDGE_LINES, len(lines)))) | set(range(max(0, len(lines) - EDGE_LINES), len(lines)))
        number = None if offset is None else index + offset
        body = [line for n, line in enumerate(lines)
                if n not in edge or not (number in _end_numbers(line) or _shape(line) in running)]
        kept.append(body or lines)  # a page of nothing but one repeated line keeps it: it is the text
    return kept


def _page_number_offset(pages: list[list[str]]) -> int | None:
    """The printed page number minus the page's index, if most pages with text show one at an edge."""
    offsets = Counter(o for index, lines in enumerate(pages)
                      for o in {n - index for line in _edges(lines) for n in _end_numbers(line)})
    if not offsets:
        return None
    offset, count = offsets.most_common(1)[0]
    return offset if count >= max(2, REPEATED_SHARE * sum(1 for lines in pages if lines)) else None


def _end_numbers(line: str) -> set[int]:
    """The numbers a line starts or ends with (`12 Methods` and `Page 12 of 40` give 12 and 40)."""
    return {int(n) for pair in PAGE_NUMBER.findall(line) for n in pair if n}


def _edges(lines: list[str]) -> list[str]:
    return lines[:EDGE_LINES] + lines[EDGE_LINES:][-EDGE_LINES:]


def _shape(line: str) -> str:
    """A line with its numbers blanked, so `Chapter 3 · Draft` and `Chapter 4 · Draft` are the same running line."""
    return re.sub(r"\d+", "#", line.lower())


def join_hyphens(text: str, vocabulary: Counter) -> str:
    """Join `exam-\\nple` into `example`, keeping the hyphen where the document writes the word hyphenated
    and not joined (`well-known`) or the second part starts with a capital (`Anglo-\\nSaxon`)."""

    def joined(match: re.Match) -> str:
        first, second = match.group(1), match.group(2)
        whole, hyphenated = (first + second).lower(), f"{first}-{second}".lower()
        if second[0].isupper() or (vocabulary[hyphenated] > vocabulary[whole]):
            return f"{first}-{second}"
        return first + second

    return HYPHENATED.sub(joined, text)


def pdf_text(pages: list[str]) -> tuple[str, list[int]]:
    """The pages as one text, a blank line between pages, and the offset where each page starts."""
    text, starts = "", []
    for page in pages:
        starts.append(len(text))
        if page:
            text += page + "\n\n"
    return text.rstrip("\n"), [min(start, len(text.rstrip("\n"))) for start in starts]


@contextlib.contextmanager
def parser_warnings(logger_name: str):
    """Collect what a parsing library logs instead of letting it reach stderr: the caller
    reports it as the file's notice, which -q silences."""
    collected: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            collected.append(" ".join(record.getMessage().split())[:200])

    logger, handler = logging.getLogger(logger_name), Collect(logging.WARNING)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield collected
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
