"""Building a document's text paragraph by paragraph, noting where its headings and pages start.

The structured formats (Office, OpenDocument, EPUB, notebooks, e-mail) read
their paragraphs in order and add them here; the text is the paragraphs
joined by blank lines, like `extract.tidy_paragraphs` makes it, so passages
break between them, and each heading and page start is an offset into it.
"""

import re
from pathlib import Path

from ..extract import PARAGRAPH_BREAK, Document, Heading


class TextBuilder:
    def __init__(self):
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[Heading] = []
        self.pages: list[int] = []

    def paragraph(self, text: str, *, tidy: bool = True) -> int | None:
        """Add a paragraph (whitespace collapsed unless `tidy` is False: code keeps its lines);
        returns where it starts, or None if it was blank and left out."""
        text = " ".join(text.split()) if tidy else text.strip("\n").rstrip()
        if not text.strip():
            return None
        if self.parts:
            self.parts.append(PARAGRAPH_BREAK)
            self.length += len(PARAGRAPH_BREAK)
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        return start

    def heading(self, title: str, level: int) -> None:
        start = self.paragraph(title)
        if start is not None:
            self.headings.append(Heading(start, level, " ".join(title.split())))

    def untitled(self) -> None:
        """What follows is under no heading (an untitled slide): a heading with an empty title."""
        self.headings.append(Heading(self.length + (len(PARAGRAPH_BREAK) if self.parts else 0), 1, ""))

    def block(self, text: str, headings: list[Heading]) -> None:
        """Add text that already has its paragraphs and headings (a chapter, a Markdown cell) as it is."""
        start = self.paragraph(text, tidy=False)
        if start is not None:
            offset = start - (len(text) - len(text.lstrip("\n")))
            self.headings += [Heading(h.start + offset, h.level, h.title) for h in headings]

    def new_page(self) -> None:
        """The next paragraph added starts a new page (slide)."""
        self.pages.append(self.length + (len(PARAGRAPH_BREAK) if self.parts else 0))

    def document(self, path: Path, format: str, **fields) -> Document:
        return Document(path, "".join(self.parts), format, headings=self.headings, pages=self.pages, **fields)


def table_row(cells: list[str]) -> str:
    """A table row as one line: its cells' text, `a | b | c` (empty cells at its end left out)."""
    cells = [re.sub(r"\s+", " ", cell).strip() for cell in cells]
    while cells and not cells[-1]:
        cells.pop()
    return " | ".join(cells)
