"""Jupyter notebooks (.ipynb): their cells in order, read as JSON.

Markdown cells keep their lines and their `#` headings (`markup.markdown_headings`);
code and raw cells keep their lines too. Of the outputs only text is kept
(printed streams, plain-text results and errors' messages): images, HTML and
other rich data are left out. Notebook format 4 and the older 3 (worksheets).
"""

import json
from pathlib import Path

from ..extract import Document, SkipFile, decode
from .builder import TextBuilder
from .markup import markdown_headings

TEXT_OUTPUT = "text/plain"


def ipynb(path: Path, data: bytes) -> Document:
    decoded = decode(data)
    try:
        notebook = json.loads(decoded.text)
    except json.JSONDecodeError as error:
        raise SkipFile(f"not a valid Jupyter notebook (JSON error at line {error.lineno})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells", notebook.get("worksheets")), list):
        raise SkipFile("not a valid Jupyter notebook (no cells)")
    text = TextBuilder()
    for cell in _cells(notebook):
        source = _joined(cell.get("source", cell.get("input", "")))
        if cell.get("cell_type") == "markdown":
            text.block(source, markdown_headings(source))
        elif cell.get("cell_type") == "heading":  # format 3
            level = cell.get("level")
            text.heading(source, level if isinstance(level, int) and 1 <= level <= 6 else 1)
        else:
            text.paragraph(source, tidy=False)
        for output in cell.get("outputs", []) if isinstance(cell.get("outputs"), list) else []:
            text.paragraph(_output_text(output), tidy=False)
    return text.document(path, "ipynb", encoding=decoded.encoding, undecodable=decoded.undecodable)


def _cells(notebook: dict) -> list[dict]:
    if "cells" in notebook:
        cells = notebook["cells"]
    else:
        cells = [c for sheet in notebook["worksheets"] if isinstance(sheet, dict) for c in sheet.get("cells", [])]
    return [cell for cell in cells if isinstance(cell, dict)]


def _output_text(output) -> str:
    if not isinstance(output, dict):
        return ""
    if output.get("output_type") == "stream":
        return _joined(output.get("text", ""))
    if output.get("output_type") == "error":
        return f"{output.get('ename', '')}: {output.get('evalue', '')}"
    data = output.get("data", output)  # format 3 keeps the text beside the output type
    return _joined(data.get(TEXT_OUTPUT, data.get("text", ""))) if isinstance(data, dict) else ""


def _joined(source) -> str:
    """A notebook string: a string, or a list of lines."""
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""
