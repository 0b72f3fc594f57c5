"""Finding documents on disk and extracting their text.

Offsets that bertsearch reports are character offsets into the text extracted
here: for plain-text formats that is the decoded file itself.
"""

import codecs
import errno
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PLAIN_TEXT = {".txt", ".text", ".md", ".markdown", ".rst"}
HTML = {".html", ".htm", ".xhtml"}
PDF = {".pdf"}
SNIFF_BYTES = 8192
MAX_FILE_BYTES = 10_000_000  # bigger files are skipped with a notice; see `extract`
PDF_BYTES_PER_TEXT_BYTE = 10  # a PDF is measured by its text, but read only up to this multiple of the cap
# Elements that end a paragraph in extracted HTML text.
HTML_BLOCKS = [
    "p", "div", "section", "article", "header", "footer", "aside", "nav", "main",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tr", "blockquote", "pre", "figure", "figcaption", "br", "hr", "title",
]
PARAGRAPH_BREAK = "\n\n"
# Editors' swap, backup and temporary files (beside hidden ones): never documents of their own.
EDITOR_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".swn", ".kate-swp", ".bak", ".tmp", "___jb_tmp___", "___jb_old___")
EDITOR_NAMES = {"4913"}  # the file vim writes to test that a folder is writable
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
    folder: bool = False  # a folder that could not be listed: what was indexed inside it is kept


def find_files(paths: Iterable[Path], exclude: Path | None = None) -> Iterator[Path | Skipped]:
    """Yield the files under `paths`, recursively, skipping hidden entries and editors' leftovers.

    Folders are walked without following symbolic links, so a link loop cannot
    recurse; `exclude` (the index folder) is never descended into, and a path
    inside it is skipped. Folders that cannot be listed and names that are not
    valid UTF-8 are yielded as `Skipped`.
    """
    exclude = exclude.resolve() if exclude else None
    for path in paths:
        path = Path(path)
        if exclude and _inside(path.resolve(), exclude):
            yield Skipped(path, f"inside the index folder {exclude}", folder=path.is_dir())
            continue
        if path.is_file():
            yield _checked_name(path.resolve())
            continue
        unlisted = []
        for root, dirs, files in os.walk(path, onerror=unlisted.append):
            yield from (_unlisted(error) for error in unlisted)
            unlisted.clear()
            root_path = Path(root)
            dirs[:] = sorted(
                d for d in dirs
                if not d.startswith(".") and (root_path / d).resolve() != exclude
            )
            for name in sorted(files):
                if is_leftover(name):
                    continue
                file = root_path / name
                if file.is_symlink() and not file.exists():
                    yield Skipped(file, _link_problem(file))
                elif file.is_file():
                    yield _checked_name(file.resolve())
        yield from (_unlisted(error) for error in unlisted)


def is_leftover(name: str) -> bool:
    """A hidden file or an editor's swap, backup or temporary file (`notes.md~`, `#notes.md#`, `.notes.md.swp`)."""
    return (name.startswith(".") or name.endswith(EDITOR_SUFFIXES) or name in EDITOR_NAMES
            or (name.startswith("#") and name.endswith("#")))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _link_problem(link: Path) -> str:
    try:
        os.stat(link)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
    return "broken symbolic link"


def _checked_name(path: Path) -> Path | Skipped:
    """The path, or Skipped when its name cannot be stored as text (not valid UTF-8)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return Skipped(path, "the file name is not valid UTF-8")
    return path


def _unlisted(error: OSError) -> Skipped:
    return Skipped(Path(error.filename), f"unreadable folder ({error.strerror or error})", folder=True)


def extract(path: Path, max_bytes: int | None = MAX_FILE_BYTES) -> Document:
    """Read `path` and return its visible text; raise SkipFile when it cannot be indexed.

    Files over `max_bytes` (None: no limit) are skipped unread, so a huge file
    costs neither memory nor hours of encoding. PDFs are measured by their
    extracted text instead, and read only up to PDF_BYTES_PER_TEXT_BYTE times the cap.
    """
    suffix = path.suffix.lower()
    limit = None if max_bytes is None else max_bytes * (PDF_BYTES_PER_TEXT_BYTE if suffix in PDF else 1)
    data = _read(path, limit)
    if suffix in PDF:
        text = pdf_text(data)
        if max_bytes is not None and len(text.encode("utf-8")) > max_bytes:
            raise SkipFile(f"its text is over the {_megabytes(max_bytes)} limit (--max-file-mb)")
        return Document(path, text, "pdf")
    text = decode(data)
    if suffix in HTML:
        try:
            return Document(path, html_text(text), "html")
        except Exception as error:  # a parser fed arbitrary markup can fail in any way
            raise SkipFile(f"could not parse HTML ({type(error).__name__})") from None
    return Document(path, text, suffix.lstrip(".") or "text")


def _read(path: Path, limit: int | None) -> bytes:
    """The file's bytes; SkipFile if it cannot be read or is over `limit` bytes (checked while reading)."""
    try:
        with open(path, "rb") as file:
            if limit is not None and os.fstat(file.fileno()).st_size > limit:
                raise SkipFile(f"over the {_megabytes(limit)} limit (--max-file-mb)")
            data = file.read() if limit is None else file.read(limit + 1)
    except FileNotFoundError:
        raise SkipFile("it disappeared during indexing") from None
    except OSError as error:
        raise SkipFile(f"unreadable ({error.strerror or error})") from None
    if limit is not None and len(data) > limit:
        raise SkipFile(f"over the {_megabytes(limit)} limit (--max-file-mb)")
    return data


def _megabytes(size: int) -> str:
    return f"{size / 1e6:g} MB"


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
    return tidy_paragraphs(_block_text(soup))


def _block_text(root) -> str:
    """The text under `root`, with a paragraph break around each block element.

    An explicit stack, not recursion or BeautifulSoup's insert_after (which walks
    to the last descendant each time): time stays linear however deep the nesting.
    """
    from bs4 import CData, NavigableString, Tag

    blocks = set(HTML_BLOCKS)
    parts, stack = [], [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            if node.name in blocks:
                parts.append("\n\n")
                stack.append(PARAGRAPH_BREAK)
            stack.extend(reversed(node.contents))
        elif node is PARAGRAPH_BREAK or type(node) in (NavigableString, CData):
            parts.append(str(node))
    return "".join(parts)


def pdf_text(data: bytes) -> str:
    """The text of a PDF, pages separated by blank lines."""
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SkipFile:
        raise
    except Exception as error:  # a parser fed arbitrary bytes can fail in any way
        detail = " ".join(str(error).split())[:200]
        raise SkipFile(f"could not parse PDF ({type(error).__name__}: {detail})") from None
    return tidy_paragraphs("\n\n".join(pages))


def tidy_paragraphs(text: str) -> str:
    """Collapse whitespace inside paragraphs; keep one blank line between them."""
    paragraphs = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)
