"""The document formats bertsearch reads, by file suffix: the registry `extract.extract` dispatches through.

Each `Format` names the function that turns a file's bytes into a `Document`
(visible text in reading order, and where known its page starts and
headings: the contract in `extract.py`). The functions live in one small
module per family in this package, each importing its parsing library only
when called, so `import bertsearch` stays fast and a missing optional library
costs only its own format. A suffix not listed here is read as plain text.

To add a format: write `read(path, data) -> Document` in a module here (raise
`extract.SkipFile` with a reason for a file it cannot read; zip-based formats
open their bytes through `zipped.open_zip`, which refuses zip bombs), and add
one `Format` line to FORMATS.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    """One format: its `name` (`Document.format`), its `suffixes`, its `reader` ("module:function"
    in this package), and how many times the text cap (--max-file-mb) the file itself may be:
    a compressed or binary format is measured by its extracted text, but read only up to this."""

    name: str
    suffixes: tuple[str, ...]
    reader: str
    file_bytes_per_text_byte: int = 1
    options: tuple[str, ...] = ()  # the keyword options of `extract.extract` its reader takes (`pdf_password`)

    def read(self, path: Path, data: bytes, **options):
        """The `extract.Document` of the file at `path`, whose bytes are `data`; of `options`, the
        reader gets those it takes."""
        module, function = self.reader.split(":")
        taken = {name: value for name, value in options.items() if name in self.options}
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)(path, data, **taken)

    @property
    def binary(self) -> bool:
        """Whether the file is not text itself, so its extracted text is what the cap measures."""
        return self.file_bytes_per_text_byte > 1


ZIPPED = 10  # Office, OpenDocument and EPUB files: zip archives, often holding images that are not read
PDF_BYTES_PER_TEXT_BYTE = 10  # a PDF is measured by its text, but read only up to this multiple of the cap

FORMATS = [
    Format("markdown", (".md", ".markdown"), "markup:markdown"),
    Format("rst", (".rst",), "markup:restructuredtext"),
    Format("html", (".html", ".htm", ".xhtml"), "markup:html"),
    Format("pdf", (".pdf",), "pdf:read", PDF_BYTES_PER_TEXT_BYTE, options=("pdf_password",)),
    Format("docx", (".docx",), "office:docx", ZIPPED),
    Format("pptx", (".pptx",), "office:pptx", ZIPPED),
    Format("odt", (".odt",), "opendocument:odt", ZIPPED),
    Format("epub", (".epub",), "epub:epub", ZIPPED),
    Format("ipynb", (".ipynb",), "notebook:ipynb"),
    Format("eml", (".eml",), "mail:eml"),
]
BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}


def for_path(path: Path) -> Format | None:
    """The format of the file at `path`, by its suffix (any case); None for plain text."""
    return BY_SUFFIX.get(path.suffix.lower())
