"""Finding documents on disk and extracting their text.

Offsets that bertsearch reports are character offsets into the text extracted
here: for plain-text formats that is the decoded file itself.
"""

import codecs
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PLAIN_TEXT = {".txt", ".text", ".md", ".markdown", ".rst"}
HTML = {".html", ".htm", ".xhtml"}
PDF = {".pdf"}
SNIFF_BYTES = 8192
# Elements that end a paragraph in extracted HTML text.
HTML_BLOCKS = [
    "p", "div", "section", "article", "header", "footer", "aside", "nav", "main",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tr", "blockquote", "pre", "figure", "figcaption", "br", "hr", "title",
]
HTML_INVISIBLE = ["script", "style", "noscript", "template", "svg", "head > meta"]


class SkipFile(Exception):
    """A file that cannot be indexed; the message says why."""


@dataclass
class Document:
    path: Path
    text: str
    format: str


@dataclass
class Skipped:
    path: Path
    reason: str


def find_files(paths: Iterable[Path], exclude: Path | None = None) -> Iterator[Path | Skipped]:
    """Yield the files under `paths`, recursively, skipping hidden entries.

    Folders are walked without following symbolic links, so a link loop cannot
    recurse; `exclude` (the index folder) is never descended into.
    """
    exclude = exclude.resolve() if exclude else None
    for path in paths:
        path = Path(path)
        if path.is_file():
            yield path.resolve()
            continue
        for root, dirs, files in os.walk(path, onerror=None):
            root_path = Path(root)
            dirs[:] = sorted(
                d for d in dirs
                if not d.startswith(".") and (root_path / d).resolve() != exclude
            )
            for name in sorted(files):
                if name.startswith("."):
                    continue
                file = root_path / name
                if file.is_symlink() and not file.exists():
                    yield Skipped(file, "broken symbolic link")
                elif file.is_file():
                    yield file.resolve()


def extract(path: Path) -> Document:
    """Read `path` and return its visible text; raise SkipFile when it cannot be indexed."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SkipFile(f"unreadable ({error.strerror or error})") from None
    suffix = path.suffix.lower()
    if suffix in PDF:
        return Document(path, pdf_text(data), "pdf")
    text = decode(data)
    if suffix in HTML:
        return Document(path, html_text(text), "html")
    return Document(path, text, suffix.lstrip(".") or "text")


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 (or UTF-16 with a BOM), replacing invalid bytes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:SNIFF_BYTES]:
        raise SkipFile("binary file")
    return data.decode("utf-8-sig", errors="replace")


def html_text(markup: str) -> str:
    """The visible text of an HTML page, one paragraph per block element."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for element in soup.select(", ".join(HTML_INVISIBLE)):
        element.decompose()
    for element in soup.find_all(HTML_BLOCKS):
        element.insert_before("\n\n")
        element.insert_after("\n\n")
    return tidy_paragraphs(soup.get_text())


def pdf_text(data: bytes) -> str:
    """The text of a PDF, pages separated by blank lines."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SkipFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise SkipFile(f"could not parse PDF ({type(error).__name__}: {error})") from None
    return tidy_paragraphs("\n\n".join(pages))


def tidy_paragraphs(text: str) -> str:
    """Collapse whitespace inside paragraphs; keep one blank line between them."""
    paragraphs = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)
