"""Word (.docx) and PowerPoint (.pptx), read with python-docx and python-pptx (MIT, both on lxml).

Word: the body's paragraphs and tables in the order they sit, a table as one
line per row (`a | b | c`, a merged cell once), headings from the paragraph
styles ("Title", "Heading 1" to "Heading 9"). PowerPoint: slide by slide,
each slide a page; its title a heading, then its shapes top to bottom and left
to right (groups opened, tables as rows), then its speaker notes.
Both open the bytes through `zipped.open_zip` first, so a zip bomb is refused
before either library unzips anything.
"""

import io
import re
from pathlib import Path

from ..extract import Document, SkipFile
from .builder import TextBuilder, table_row
from .zipped import open_zip

HEADING_STYLE = re.compile(r"heading (\d)$", re.IGNORECASE)


def docx(path: Path, data: bytes) -> Document:
    import docx as python_docx

    open_zip(data, "Word (.docx)")
    text = TextBuilder()
    try:
        for block in python_docx.Document(io.BytesIO(data)).iter_inner_content():
            if hasattr(block, "rows"):
                _table(text, block.rows)
            else:
                _word_paragraph(text, block)
    except Exception as error:  # a damaged package can fail anywhere inside python-docx
        raise SkipFile(f"could not read Word document ({type(error).__name__}: {_short(error)})") from None
    return text.document(path, "docx")


def _word_paragraph(text: TextBuilder, paragraph) -> None:
    style = paragraph.style.name if paragraph.style is not None else ""
    level = 1 if style == "Title" else int(m.group(1)) if (m := HEADING_STYLE.match(style or "")) else None
    if level:
        text.heading(paragraph.text, level)
    else:
        text.paragraph(paragraph.text)


def _table(text: TextBuilder, rows) -> None:
    for row in rows:
        cells = []
        for cell in row.cells:
            if not cells or cell is not cells[-1]:  # a merged cell is repeated across the columns it spans
                cells.append(cell)
        text.paragraph(table_row([cell.text for cell in cells]))


def pptx(path: Path, data: bytes) -> Document:
    from pptx import Presentation

    open_zip(data, "PowerPoint (.pptx)")
    text = TextBuilder()
    try:
        for slide in Presentation(io.BytesIO(data)).slides:
            text.new_page()
            _slide(text, slide)
    except Exception as error:  # a damaged package can fail anywhere inside python-pptx
        raise SkipFile(f"could not read PowerPoint file ({type(error).__name__}: {_short(error)})") from None
    return text.document(path, "pptx")


def _slide(text: TextBuilder, slide) -> None:
    title = slide.shapes.title
    if title is not None and title.has_text_frame and title.text_frame.text.strip():
        text.heading(title.text_frame.text, 1)
    else:
        text.untitled()  # its passages are under no heading, not under the last slide's title
    for shape in _reading_order(s for s in slide.shapes if title is None or s.shape_id != title.shape_id):
        _shape(text, shape)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        for paragraph in slide.notes_slide.notes_text_frame.paragraphs:
            text.paragraph(paragraph.text)


def _shape(text: TextBuilder, shape) -> None:
    if getattr(shape, "shapes", None) is not None:  # a group
        for inner in _reading_order(shape.shapes):
            _shape(text, inner)
    elif getattr(shape, "has_table", False) and shape.has_table:
        _table(text, shape.table.rows)
    elif shape.has_text_frame:
        for paragraph in shape.text_frame.paragraphs:
            text.paragraph(paragraph.text)


def _reading_order(shapes) -> list:
    """Top to bottom, then left to right (shapes without a position keep their order, last)."""
    shapes = list(shapes)
    return sorted(shapes, key=lambda s: (s.top is None, s.top or 0, s.left or 0))


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
