"""Where a passage sits in its document: the page it starts on and the headings it is under.

A document's readers give page starts and headings as offsets into its text
(`extract.Document`); `boundaries` hands them to `chunking.split_passages`,
which keeps passages inside one section and page, and `place` then gives each
passage its page (1-based, the page its start falls in) and its section: the
path of headings in force, outermost first, joined as `Installation > Linux`.
The path is read where the passage's first paragraph that is not itself a
heading starts, so a passage that opens with a chapter title and a section
title sits under both.
"""

import bisect
import re
from collections.abc import Sequence

from .chunking import PARAGRAPH, Chunk
from .extract import Document, Heading

SEPARATOR = " > "
BLANK = re.compile(r"\s*")


def boundaries(document: Document) -> list[int]:
    """Where passages must not run across: each heading's and each page's start."""
    return sorted({h.start for h in document.headings} | set(document.pages))


def place(chunks: list[Chunk], document: Document) -> None:
    """Fill each chunk's `page` and `section` from the document's pages and headings (None where it has none)."""
    text = document.text
    heading_starts = {BLANK.match(text, h.start).end() for h in document.headings}  # where their paragraphs start
    for chunk in chunks:
        chunk.page = page_at(document.pages, chunk.start)
        chunk.section = section_at(document.headings, _body_start(chunk, text, heading_starts))


def page_at(pages: Sequence[int], offset: int) -> int | None:
    """The 1-based page that `offset` falls in; None for a document without pages."""
    return max(bisect.bisect_right(pages, offset), 1) if pages else None


def section_at(headings: Sequence[Heading], offset: int) -> str | None:
    """The heading path in force at `offset` (`A > B > C`), or None before the first heading.
    A heading with an empty title (an untitled slide) ends the path of those before it."""
    path: list[Heading] = []
    for heading in headings:
        if heading.start > offset:
            break
        while path and path[-1].level >= heading.level:
            path.pop()
        path.append(heading)
    return SEPARATOR.join(h.title for h in path if h.title) or None


def _body_start(chunk: Chunk, text: str, heading_starts: set[int]) -> int:
    """Where the chunk's first paragraph that does not start with a heading starts (else its last paragraph's)."""
    start = chunk.start
    for paragraph in PARAGRAPH.finditer(text, chunk.start, chunk.end):
        start = paragraph.start()
        if start not in heading_starts:
            break
    return start
