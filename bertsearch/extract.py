"""Finding documents on disk and extracting their text.

Offsets that bertsearch reports are character offsets into the text extracted
here: for plain-text formats that is the decoded file itself. Each format's
reader is in `bertsearch/formats/` (a registry by suffix); this module holds
the contract they fill (`Document`, `Heading`, `SkipFile`), finding files,
and decoding text.
"""

import codecs
import errno
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SNIFF_BYTES = 8192
MAX_FILE_BYTES = 10_000_000  # bigger files are skipped with a notice; see `extract`
PARAGRAPH_BREAK = "\n\n"
REPLACEMENT = "\ufffd"  # what an undecodable byte becomes
MOSTLY_ASCII = 0.7  # share of ASCII among the letters of Western European text
# Editors' swap, backup and temporary files (beside hidden ones): never documents of their own.
EDITOR_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".swn", ".kate-swp", ".bak", ".tmp", "___jb_tmp___", "___jb_old___")
EDITOR_NAMES = {"4913"}  # the file vim writes to test that a folder is writable


class SkipFile(Exception):
    """A file that cannot be indexed; the message says why."""


@dataclass
class Heading:
    """A heading in a document's extracted text: where its line starts, its depth (1 = top) and its title."""

    start: int
    level: int
    title: str


@dataclass
class Document:
    path: Path
    text: str
    format: str
    encoding: str = "utf-8"  # how a text file's bytes were decoded
    undecodable: int = 0  # bytes that fit no encoding, each replaced by U+FFFD
    warnings: list[str] = field(default_factory=list)  # what a parser said while reading it
    # Paged formats (PDF, slides): the character offset in `text` where each page starts, in
    # order, so page n (1-based) is text[pages[n-1]:pages[n]]. Empty for formats without pages.
    pages: list[int] = field(default_factory=list)
    # In order of `start`; empty where none are known. An empty title ends the headings before it (an untitled slide).
    headings: list[Heading] = field(default_factory=list)


@dataclass
class Skipped:
    path: Path
    reason: str
    folder: bool = False  # a folder that could not be listed: what was indexed inside it is kept


def inside_root(root: Path, given: str | Path) -> Path:
    """`given` (relative to `root`, or absolute) resolved, for servers that may index only inside `root`
    (`serve --allow-index`, the MCP `index` tool). PathNotAllowedError unless it exists and it, and every
    file under it (links followed), lies inside `root`."""
    from .errors import PathNotAllowedError

    root = Path(root).resolve()
    resolved = (root / given).resolve()
    if not resolved.is_relative_to(root):
        raise PathNotAllowedError(f"{str(given)!r} is outside the folder this server may index")
    if not resolved.exists():
        raise PathNotAllowedError(f"{str(given)!r} does not exist inside the folder this server may index")
    for found in find_files([resolved], follow_links=True):  # every link, to refuse any that leaves root
        if isinstance(found, Path) and not found.resolve().is_relative_to(root):
            raise PathNotAllowedError(f"{str(given)!r} holds a link to {found}, outside the folder this server may index")
    return resolved


def find_files(paths: Iterable[Path], exclude: Path | None = None,
               follow_links: bool = False) -> Iterator[Path | Skipped]:
    """Yield the files under `paths`, recursively, skipping hidden entries and editors' leftovers.

    Files are yielded under the path they were found at (absolute, symbolic
    links not resolved), so a document found through a link is stored under
    the link, and removing the link removes it. A link inside a given folder
    whose target lies outside that folder is followed only with
    `follow_links` (else it is skipped with a notice); links to folders are
    followed only with `follow_links`, and a link loop is skipped. `exclude`
    (the index folder) is never descended into, and a path inside it is
    skipped. Folders that cannot be listed and names that are not valid UTF-8
    are yielded as `Skipped`.
    """
    exclude = exclude.resolve() if exclude else None
    for path in paths:
        path = Path(os.path.abspath(path))
        if exclude and _inside(path.resolve(), exclude):
            yield Skipped(path, f"inside the index folder {exclude}", folder=path.is_dir())
        elif path.is_file():
            yield _checked_name(path)
        else:
            yield from _walk(path, exclude, follow_links)


def _walk(root: Path, exclude: Path | None, follow_links: bool) -> Iterator[Path | Skipped]:
    real_root, unlisted, seen = root.resolve(), [], set()
    for folder, dirs, files in os.walk(root, onerror=unlisted.append, followlinks=follow_links):
        yield from (_unlisted(error) for error in unlisted)
        unlisted.clear()
        folder = Path(folder)
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            child = folder / name
            if child.resolve() == exclude:
                continue
            if child.is_symlink():
                problem = _folder_link_problem(child, real_root, follow_links, seen)
                if problem:
                    if problem is not True:
                        yield Skipped(child, problem, folder=True)
                    continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(f for f in files if not is_leftover(f)):
            file = folder / name
            if file.is_symlink():
                problem = _file_link_problem(file, real_root, follow_links)
                if problem:
                    yield Skipped(file, problem)
                    continue
            if file.is_file():
                yield _checked_name(file)
    yield from (_unlisted(error) for error in unlisted)


def _file_link_problem(link: Path, real_root: Path, follow_links: bool) -> str | None:
    """Why a symbolic link to a file is not indexed, or None when it is."""
    if not link.exists():
        return _link_problem(link)
    if not follow_links and not _inside(link.resolve(), real_root):
        return f"symbolic link to {link.resolve()}, outside {real_root} (--follow-links indexes it)"
    return None


def _folder_link_problem(link: Path, real_root: Path, follow_links: bool, seen: set) -> str | bool | None:
    """Why a symbolic link to a folder is not walked: a notice, True to skip it silently, None to walk it."""
    if not link.exists():
        return _link_problem(link)
    target = link.resolve()
    if not follow_links:
        # Inside the folder being indexed it is walked under its own name; outside, the user decides.
        return True if _inside(target, real_root) else f"symbolic link to the folder {target}, outside {real_root} (--follow-links indexes it)"
    if _inside(link.parent.resolve(), target) or target in seen:
        return "symbolic link loop"
    seen.add(target)
    return None


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


def extract(path: Path, max_bytes: int | None = MAX_FILE_BYTES, *, pdf_password: str | None = None) -> Document:
    """Read `path` and return its visible text; raise SkipFile when it cannot be indexed.

    The file's suffix picks its reader (`formats.for_path`; plain text when none
    claims it). Files over `max_bytes` (None: no limit) are skipped unread, so a
    huge file costs neither memory nor hours of encoding. Binary formats (PDF,
    zipped Office and e-book files) are measured by their extracted text
    instead, and read only up to a multiple of the cap. Encrypted PDFs open
    with `pdf_password`.
    """
    from . import formats

    suffix = path.suffix.lower()
    reader = formats.for_path(path)
    multiple = reader.file_bytes_per_text_byte if reader else 1
    data = _read(path, None if max_bytes is None else max_bytes * multiple)
    if reader is None:
        decoded = decode(data)
        return Document(path, decoded.text, suffix.lstrip(".") or "text", decoded.encoding, decoded.undecodable)
    document = reader.read(path, data, pdf_password=pdf_password)
    if multiple > 1:
        _check_text_size(document.text, max_bytes)
    return document


def _check_text_size(text: str, max_bytes: int | None) -> None:
    if max_bytes is not None and len(text.encode("utf-8")) > max_bytes:
        raise SkipFile(f"its text is over the {_megabytes(max_bytes)} limit (--max-file-mb)")


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


@dataclass
class Decoded:
    text: str
    encoding: str
    undecodable: int = 0  # bytes replaced by U+FFFD


def decode(data: bytes) -> Decoded:
    """Decode a text file's bytes: UTF-16 with a BOM, UTF-8, else the legacy encoding they are in.

    Bytes that are not UTF-8 are read as Windows-1252 (which Latin-1 files
    also decode as) when that gives text that reads as Western European:
    mostly ASCII letters with some accented ones. Otherwise charset-normalizer
    guesses (Cyrillic, Greek, CJK code pages...). A file that is UTF-8 but for
    a few stray bytes stays UTF-8, and those bytes are counted.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
        return Decoded(text, "utf-16", text.count(REPLACEMENT))
    if b"\x00" in data[:SNIFF_BYTES]:
        raise SkipFile("binary file")
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    utf8 = data.decode("utf-8-sig", errors="replace")
    bad = utf8.count(REPLACEMENT)
    if sum(1 for c in utf8 if ord(c) > 127 and c != REPLACEMENT) > bad:  # UTF-8, a few bytes astray
        return Decoded(utf8, "utf-8", bad)
    return _legacy(data) or Decoded(utf8, "utf-8", bad)


def _legacy(data: bytes) -> Decoded | None:
    try:
        text = data.decode("cp1252")
        letters = [c for c in text if c.isalpha()]
        if letters and sum(c.isascii() for c in letters) >= MOSTLY_ASCII * len(letters):
            return Decoded(text, "cp1252")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return Decoded(str(best), best.encoding) if best is not None else None


def tidy_paragraphs(text: str) -> str:
    """Collapse whitespace inside paragraphs; keep one blank line between them."""
    paragraphs = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)
