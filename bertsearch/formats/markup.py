"""Markdown, reStructuredText and HTML: their text, and the headings found in it.

Markdown and reStructuredText are indexed as they are (offsets are offsets
into the file); their headings are found line by line: Markdown's `#` and
setext (`===`/`---` underlined) titles outside fenced code, reST's titles
underlined (and maybe overlined) with punctuation, whose levels follow the
order in which each style first appears, as docutils decides them. HTML
becomes its visible text, a paragraph per block element, and its h1-h6 are found in it.
"""

import re
from pathlib import Path

from ..extract import PARAGRAPH_BREAK, Document, Heading, SkipFile, decode, tidy_paragraphs

ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
# Elements that end a paragraph in extracted HTML text.
HTML_BLOCKS = [
    "p", "div", "section", "article", "header", "footer", "aside", "nav", "main",
    *HEADINGS, "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tr", "blockquote", "pre", "figure", "figcaption", "br", "hr", "title",
]
HTML_INVISIBLE = ["script", "style", "noscript", "template", "svg", "head > meta"]
RST_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1{2,}[ \t]*$")  # a line of one punctuation character, 3 or more


def markdown(path: Path, data: bytes) -> Document:
    decoded = decode(data)
    return Document(path, decoded.text, _suffix(path), decoded.encoding, decoded.undecodable,
                    headings=markdown_headings(decoded.text))


def restructuredtext(path: Path, data: bytes) -> Document:
    decoded = decode(data)
    return Document(path, decoded.text, _suffix(path), decoded.encoding, decoded.undecodable,
                    headings=rst_headings(decoded.text))


def html(path: Path, data: bytes) -> Document:
    decoded = decode(data)
    try:
        text, headings = html_with_headings(decoded.text)
    except Exception as error:  # a parser fed arbitrary markup can fail in any way
        raise SkipFile(f"could not parse HTML ({type(error).__name__})") from None
    return Document(path, text, "html", decoded.encoding, decoded.undecodable, headings=headings)


def _suffix(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def _lines(text: str) -> list[tuple[int, str]]:
    """(start offset, line without its line break) for every line."""
    lines, start = [], 0
    for line in text.splitlines(keepends=True):
        lines.append((start, line.rstrip("\r\n")))
        start += len(line)
    return lines


def markdown_headings(text: str) -> list[Heading]:
    headings, fence, paragraph_start = [], None, None
    for start, line in _lines(text):
        opened = FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence, paragraph_start = opened.group(1), None
            continue
        atx, setext = ATX.match(line), SETEXT.match(line)
        if atx:
            headings.append(Heading(start, len(atx.group(1)), (atx.group(2) or "").strip()))
            paragraph_start = None
        elif setext and paragraph_start is not None:
            title = " ".join(text[paragraph_start:start].split())
            headings.append(Heading(paragraph_start, 1 if setext.group(1)[0] == "=" else 2, title))
            paragraph_start = None
        elif not line.strip():
            paragraph_start = None
        elif paragraph_start is None and not line.startswith(("    ", "\t")):
            paragraph_start = start
    return [h for h in headings if h.title]


def rst_headings(text: str) -> list[Heading]:
    lines, headings, styles = _lines(text), [], []
    for i, (start, line) in enumerate(lines):
        under = RST_ADORNMENT.match(lines[i + 1][1]) if i + 1 < len(lines) else None
        if not under or not line.strip() or line[0].isspace() or RST_ADORNMENT.match(line):
            continue
        if len(under.group(0).rstrip()) < len(line.rstrip()):
            continue
        if i > 0 and lines[i - 1][1].strip():
            over = RST_ADORNMENT.match(lines[i - 1][1])
            if not over or over.group(1) != under.group(1):
                continue  # a title follows a blank line, or its overline
            style, start = (under.group(1), True), lines[i - 1][0]
        else:
            style = (under.group(1), False)
        if style not in styles:
            styles.append(style)
        headings.append(Heading(start, styles.index(style) + 1, line.strip()))
    return headings


def html_with_headings(markup: str, *, title: bool = True) -> tuple[str, list[Heading]]:
    """The visible text of an HTML page, one paragraph per block element, and its h1-h6 headings.
    `title=False` leaves out the <head> and its <title> (an e-book chapter's repeats its first heading)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for element in soup.select(", ".join(HTML_INVISIBLE if title else [*HTML_INVISIBLE, "head"])):
        element.decompose()
    titles = [(int(tag.name[1]), " ".join(tag.get_text().split())) for tag in soup.find_all(HEADINGS)]
    text = tidy_paragraphs(_block_text(soup))
    return text, locate_paragraphs(text, titles)


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
                parts.append(PARAGRAPH_BREAK)
                stack.append(PARAGRAPH_BREAK)
            stack.extend(reversed(node.contents))
        elif node is PARAGRAPH_BREAK or type(node) in (NavigableString, CData):
            parts.append(str(node))
    return "".join(parts)


def locate_paragraphs(text: str, titles: list[tuple[int, str]]) -> list[Heading]:
    """Headings for (level, title) pairs, each found, in order, as the start of a paragraph of `text`
    (a title not found there, inside an invisible element say, is left out)."""
    headings, position = [], 0
    for level, title in titles:
        if not title:
            continue
        for match in re.compile(re.escape(title)).finditer(text, position):
            at = match.start()
            if at == 0 or text.startswith("\n\n", at - 2):
                headings.append(Heading(at, level, title))
                position = at + len(title)
                break
    return headings
