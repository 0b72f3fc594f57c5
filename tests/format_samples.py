"""Small documents of every format bertsearch reads, written with each format's own library
(python-docx, python-pptx) or by hand (OpenDocument and EPUB are zip archives of XML; notebooks
are JSON; e-mail comes from the standard library). Shared by tests/test_formats.py and
benchmarks/ingestion.py; every text here is written for these tests."""

import json
import zipfile
from email.message import EmailMessage
from pathlib import Path

LINUX = "Run the installer from a terminal and answer its three questions."
WINDOWS = "Double-click setup.exe and accept the licence."


def docx(path: Path, *, paragraphs: int = 1) -> Path:
    """A Word guide: a title, Installation > Linux (a paragraph, a table, a paragraph), Installation > Windows."""
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading("Field guide", 0)
    document.add_heading("Installation", 1)
    document.add_heading("Linux", 2)
    for _ in range(paragraphs):
        document.add_paragraph(LINUX)
    table = document.add_table(rows=2, cols=3)
    for column, name in enumerate(["System", "Version", "Size"]):
        table.cell(0, column).text = name
    table.cell(1, 0).text = "Debian"
    table.cell(1, 1).merge(table.cell(1, 2)).text = "12 (any size)"
    document.add_paragraph("The table above lists the tested systems.")
    document.add_heading("Windows", 2)
    document.add_paragraph(WINDOWS)
    document.save(path)
    return path


def pptx(path: Path, *, slides: int = 3) -> Path:
    """Slides: a titled slide with a body and notes, a titled slide with a table, and an untitled
    slide whose right-hand box was added before its left-hand one; more alike ones after them."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for n in range(slides):
        kind = n % 3
        if kind == 0:
            slide = deck.slides.add_slide(deck.slide_layouts[1])
            slide.shapes.title.text = "Quarterly results" if n == 0 else f"Results {n}"
            slide.placeholders[1].text_frame.text = "Revenue grew by a third."
            slide.notes_slide.notes_text_frame.text = "Mention the new customers."
        elif kind == 1:
            slide = deck.slides.add_slide(deck.slide_layouts[5])
            slide.shapes.title.text = "Regions"
            table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
            for (row, column), value in {(0, 0): "Region", (0, 1): "Growth", (1, 0): "North", (1, 1): "40%"}.items():
                table.cell(row, column).text = value
        else:
            slide = deck.slides.add_slide(deck.slide_layouts[6])
            for left, words in ((Inches(5), "Right column."), (Inches(1), "Left column.")):
                slide.shapes.add_textbox(left, Inches(1), Inches(3), Inches(1)).text_frame.text = words
    deck.save(path)
    return path


ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.3">
<office:body><office:text>
<text:h text:outline-level="1">Installation</text:h>
<text:h text:outline-level="2">Linux</text:h>
<text:p>Run the installer<text:s text:c="2"/>from a <text:span>terminal</text:span>.<text:note><text:note-body><text:p>A footnote.</text:p></text:note-body></text:note></text:p>
<text:list><text:list-item><text:p>First step.</text:p></text:list-item><text:list-item><text:p>Second step.</text:p></text:list-item></text:list>
<table:table><table:table-row><table:table-cell><text:p>System</text:p></table:table-cell><table:table-cell><text:p>Size</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell><text:p>Debian</text:p></table:table-cell><table:table-cell><text:p>12 MB</text:p></table:table-cell></table:table-row></table:table>
<text:h text:outline-level="2">Windows</text:h>
<text:p>{windows}</text:p>
</office:text></office:body></office:document-content>
"""


def odt(path: Path, *, repeat: int = 1) -> Path:
    """An OpenDocument text: Installation > Linux (spaces as elements, a footnote, a list, a table), > Windows."""
    body = ODT_CONTENT.format(windows=" ".join([WINDOWS] * repeat))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", body)
        archive.writestr("META-INF/manifest.xml", '<manifest:manifest xmlns:manifest='
                         '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    return path


CHAPTER = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head>
<body><h1>{title}</h1><p>{first}</p><h2>{section}</h2><p>{second}</p></body></html>
"""


def epub(path: Path, *, chapters: int = 2) -> Path:
    """An EPUB whose manifest lists its chapters backwards and whose spine gives them in order,
    after the table of contents (an EPUB 3 navigation document)."""
    names = [f"chapter {n + 1}.xhtml" for n in range(chapters)]
    items = "".join(f'<item id="c{n}" href="{name.replace(" ", "%20")}" media-type="application/xhtml+xml"/>'
                    for n, name in reversed(list(enumerate(names))))
    spine = '<itemref idref="nav"/>' + "".join(f'<itemref idref="c{n}"/>' for n in range(chapters))
    package = (f'<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><manifest>{items}'
               '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
               f'<item id="css" href="style.css" media-type="text/css"/></manifest><spine>{spine}</spine></package>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr("META-INF/container.xml", '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                         'version="1.0"><rootfiles><rootfile full-path="OEBPS/content.opf" '
                         'media-type="application/oebps-package+xml"/></rootfiles></container>')
        archive.writestr("OEBPS/content.opf", package)
        archive.writestr("OEBPS/style.css", "p { margin: 0 }")
        archive.writestr("OEBPS/nav.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml"><body><nav><h1>Contents</h1>'
                         '<ol><li>Chapter 1</li></ol></nav></body></html>')
        for n, name in enumerate(names):
            archive.writestr(f"OEBPS/{name}", CHAPTER.format(
                title=f"Chapter {n + 1}", section=f"Voyage {n + 1}",
                first=f"The ship left harbour on day {n + 1}.", second="The sea was calm and the wind fair."))
    return path


def ipynb(path: Path, *, cells: int = 1) -> Path:
    """A notebook: a Markdown heading, code (with a comment that is no heading) and its outputs, a second heading."""
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
    for n in range(cells):
        notebook["cells"] += [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n", "\n", "We load the survey data."]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "import math\n# radius in metres\nprint(math.pi)",
             "outputs": [{"output_type": "stream", "name": "stdout", "text": ["3.141592653589793\n"]},
                         {"output_type": "display_data", "metadata": {},
                          "data": {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg==",
                                   "text/plain": "<Figure size 640x480>"}}]},
            {"cell_type": "markdown", "metadata": {}, "source": f"## Results {n + 1}\n\nThe mean is 4.2."},
        ]
    path.write_text(json.dumps(notebook, indent=1))
    return path


def eml(path: Path, *, lines: int = 1) -> Path:
    """A message with a plain and an HTML body and a CSV attachment."""
    message = EmailMessage()
    message["Subject"] = "Meeting moved to Thursday"
    message["From"] = "Ada <ada@example.org>"
    message["To"] = "team@example.org"
    message["Date"] = "Tue, 01 Dec 2026 09:30:00 +0000"
    message.set_content("Hello all,\n\n" + "The meeting moves to Thursday at ten.\n" * lines + "\nAda\n")
    message.add_alternative("<p>Hello all,</p><p>The <b>HTML</b> version.</p>", subtype="html")
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="figures.csv")
    path.write_bytes(bytes(message))
    return path


WRITERS = {"docx": docx, "pptx": pptx, "odt": odt, "epub": epub, "ipynb": ipynb, "eml": eml}
