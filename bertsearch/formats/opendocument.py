"""OpenDocument text (.odt), read from its content.xml with the standard library.

odfpy would parse the same XML into its own tree, but it has not been
released since 2020, and reading text needs only the body's elements in
order: `text:h` (a heading, its outline level), `text:p`, lists, sections and
`table:table` (one line per row, `a | b | c`). Spaces, tabs and line breaks
written as elements (`text:s`, `text:tab`, `text:line-break`) become
whitespace; footnote bodies are left out of the sentence they interrupt.
ElementTree (expat) fetches no external entities and limits entity expansion.
"""

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from ..extract import Document, SkipFile
from .builder import TextBuilder, table_row
from .zipped import open_zip, read_member

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
CONTAINERS = {f"{TEXT}list", f"{TEXT}list-item", f"{TEXT}list-header", f"{TEXT}section", f"{TEXT}soft-page-break"}
WHITESPACE = {f"{TEXT}s": " ", f"{TEXT}tab": "\t", f"{TEXT}line-break": "\n"}
LEFT_OUT = {f"{TEXT}note", f"{OFFICE}annotation"}


def odt(path: Path, data: bytes) -> Document:
    archive = open_zip(data, "OpenDocument text (.odt)")
    try:
        root = ElementTree.fromstring(read_member(archive, "content.xml", "OpenDocument text (.odt)"))
    except ElementTree.ParseError as error:
        raise SkipFile(f"damaged OpenDocument text (content.xml: {error})") from None
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        raise SkipFile("not an OpenDocument text file (content.xml has no text body)")
    text = TextBuilder()
    _blocks(text, body)
    return text.document(path, "odt")


def _blocks(text: TextBuilder, element) -> None:
    for child in element:
        if child.tag == f"{TEXT}h":
            text.heading(inline_text(child), _number(child.get(f"{TEXT}outline-level"), most=10))
        elif child.tag == f"{TEXT}p":
            text.paragraph(inline_text(child))
        elif child.tag == f"{TABLE}table":
            for row in child.iter(f"{TABLE}table-row"):
                cells = row.findall(f"{TABLE}table-cell")
                text.paragraph(table_row([" ".join(inline_text(p) for p in cell) for cell in cells]))
        elif child.tag in CONTAINERS:
            _blocks(text, child)


def inline_text(element) -> str:
    """The text of a paragraph or heading, its spans and links included, notes left out."""
    parts = [element.text or ""]
    for child in element:
        if child.tag in WHITESPACE:
            parts.append(WHITESPACE[child.tag] * _number(child.get(f"{TEXT}c"), most=100))
        elif child.tag not in LEFT_OUT:
            parts.append(inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _number(value: str | None, *, most: int) -> int:
    """An attribute's count or level: 1 when absent or not a number, at most `most`."""
    try:
        return min(max(int(value), 1), most)
    except (TypeError, ValueError):
        return 1
