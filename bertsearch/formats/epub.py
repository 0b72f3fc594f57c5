"""EPUB e-books, read with the standard library: chapter by chapter in spine order.

META-INF/container.xml names the package document (OPF); its manifest maps
ids to files and its spine gives the reading order. Each chapter's XHTML goes
through the HTML reader (`markup.html_with_headings`), keeping its h1-h6 as
headings. ebooklib would do the same walk, but it is AGPL-licensed and reads
every member into memory up front; here each chapter is read through
`zipped.read_member` after `zipped.open_zip` has refused zip bombs.
"""

import posixpath
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import unquote

from ..extract import Document, SkipFile, decode
from .builder import TextBuilder
from .markup import html_with_headings
from .zipped import open_zip, read_member

KIND = "EPUB"
CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
XHTML_TYPES = {"application/xhtml+xml", "text/html"}


def epub(path: Path, data: bytes) -> Document:
    archive = open_zip(data, KIND)
    container = _xml(read_member(archive, "META-INF/container.xml", KIND), "META-INF/container.xml")
    rootfile = container.find(f"{CONTAINER}rootfiles/{CONTAINER}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise SkipFile("not a valid EPUB file (its container names no package document)")
    package_path = rootfile.get("full-path")
    package = _xml(read_member(archive, package_path, KIND), package_path)
    text = TextBuilder()
    for chapter in chapters(package, posixpath.dirname(package_path)):
        markup = decode(read_member(archive, chapter, KIND)).text
        try:
            chapter_text, headings = html_with_headings(markup, title=False)
        except Exception as error:  # a parser fed arbitrary markup can fail in any way
            raise SkipFile(f"could not parse the EPUB chapter {chapter} ({type(error).__name__})") from None
        text.block(chapter_text, headings)
    return text.document(path, "epub")


def chapters(package, folder: str) -> list[str]:
    """The archive paths of the spine's XHTML documents, in reading order (the EPUB 3 table of contents left out)."""
    manifest = {item.get("id"): item for item in package.iter(f"{OPF}item")}
    paths = []
    for itemref in package.iter(f"{OPF}itemref"):
        item = manifest.get(itemref.get("idref"))
        if (item is not None and item.get("href") and item.get("media-type") in XHTML_TYPES
                and "nav" not in (item.get("properties") or "").split()):  # the table of contents repeats the headings
            paths.append(posixpath.normpath(posixpath.join(folder, unquote(item.get("href")))))
    return paths


def _xml(data: bytes, name: str):
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise SkipFile(f"damaged EPUB file ({name}: {error})") from None
