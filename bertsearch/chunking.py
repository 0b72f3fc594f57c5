"""Splitting text into passages measured in the encoder's tokens.

Passages end at paragraph boundaries where they can, else at sentence
boundaries; only a sentence longer than a whole passage is cut between tokens.
Each passage keeps its character span in the source text.

The caller may give section boundaries (where headings and pages start): a
passage never runs across one, so each passage sits in one section and on one
page. A section that is one short paragraph (under MIN_SECTION_TOKENS: a
heading with nothing under it before the next heading, a title-only slide)
joins the section after it instead of becoming a passage of its own, since a
passage holding only a title answers nothing.
"""

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import InvalidSettingError

DEFAULT_PASSAGE_TOKENS = 200
DEFAULT_OVERLAP_TOKENS = 40
MIN_SECTION_TOKENS = 16

PARAGRAPH = re.compile(r"\S(?:[^\n]|\n(?![ \t\r]*\n))*")  # runs of lines without a blank line
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n")

# texts -> for each text, the character span of every token
TokenSpans = Callable[[Sequence[str]], list[list[tuple[int, int]]]]


@dataclass
class Chunk:
    """A passage about to be stored: its character span in the text, the line it starts on
    (1-based), its text and the hash that lets an unchanged text keep its vector; the page it
    starts on (1-based) and its heading path, where the document has them (`structure.place`)."""

    start: int
    end: int
    line: int
    text: str
    content_hash: str
    page: int | None = None
    section: str | None = None


@dataclass
class _Unit:
    """A sentence (or a piece of one): the smallest thing a passage is built from."""

    start: int
    end: int
    tokens: int
    starts_paragraph: bool
    opens_section: bool = False


def split_passages(
    text: str,
    token_spans: TokenSpans,
    passage_tokens: int = DEFAULT_PASSAGE_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    *,
    boundaries: Sequence[int] = (),
) -> list[Chunk]:
    """Split `text` into passages of at most `passage_tokens` tokens, none running across
    one of the `boundaries` (character offsets: where headings or pages start).

    Consecutive passages cut inside a paragraph share up to `overlap_tokens`
    tokens of whole sentences, so an answer near the cut is whole in one of them.
    """
    check_sizes(passage_tokens, overlap_tokens)
    units = _units(text, token_spans, passage_tokens)
    _open_sections(units, boundaries)
    passages = []
    first = 0
    while first < len(units):
        last = _passage_end(units, first, passage_tokens)
        start, end = units[first].start, units[last - 1].end
        line = text.count("\n", 0, start) + 1
        passages.append(Chunk(start, end, line, text[start:end], content_hash(text[start:end])))
        first = last if last == len(units) else _overlap_start(units, first, last, overlap_tokens)
    return passages


def join_passages(passages: Sequence) -> str:
    """The text `split_passages` cut, rebuilt from passages (anything with start, end, line and text),
    in order. Text between passages is not kept: each gap gets the line breaks that put the next
    passage on its line, padded with spaces before them."""
    parts, end, line = [], 0, 1
    for passage in passages:
        if passage.end <= end:  # wholly inside the previous passage
            continue
        if passage.start >= end:
            gap, breaks = passage.start - end, max(passage.line - line, 0)
            parts.append(" " * max(gap - breaks, 0) + "\n" * min(breaks, gap) + passage.text)
        else:  # overlapping the previous passage: add only what is new
            parts.append(passage.text[end - passage.start :])
        line += parts[-1].count("\n")
        end = passage.end
    return "".join(parts)


def check_sizes(passage_tokens: int, overlap_tokens: int, limit: int | None = None) -> None:
    """InvalidSettingError unless 1 <= passage_tokens (<= limit, the encoder's) and 0 <= overlap_tokens < passage_tokens."""
    if limit is not None and passage_tokens > limit:
        raise InvalidSettingError(f"passages of {passage_tokens} tokens do not fit this encoder: use at most {limit}")
    if passage_tokens < 1:
        raise InvalidSettingError("a passage must be at least 1 token long")
    if not 0 <= overlap_tokens < passage_tokens:
        raise InvalidSettingError("the passage overlap must be at least 0 and less than the passage size")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _units(text: str, token_spans: TokenSpans, passage_tokens: int) -> list[_Unit]:
    sentences = []  # (start, end, starts_paragraph)
    for paragraph in PARAGRAPH.finditer(text):
        start = paragraph.start()
        for boundary in SENTENCE_END.finditer(paragraph.group()):
            end = paragraph.start() + boundary.start()
            if end > start:
                sentences.append((start, end, start == paragraph.start()))
            start = paragraph.start() + boundary.end()
        if paragraph.end() > start:
            sentences.append((start, paragraph.end(), start == paragraph.start()))
    spans = token_spans([text[s:e] for s, e, _ in sentences]) if sentences else []
    units = []
    for (start, end, starts_paragraph), tokens in zip(sentences, spans):
        if len(tokens) <= passage_tokens:
            units.append(_Unit(start, end, max(len(tokens), 1), starts_paragraph))
            continue
        for i in range(0, len(tokens), passage_tokens):  # a sentence longer than a passage
            piece = tokens[i : i + passage_tokens]
            piece_end = end if i + passage_tokens >= len(tokens) else start + piece[-1][1]
            units.append(_Unit(start + (0 if i == 0 else piece[0][0]), piece_end, len(piece), starts_paragraph and i == 0))
    return units


def _open_sections(units: list[_Unit], boundaries: Sequence[int]) -> None:
    """Mark the first unit at or after each boundary as opening a section (and a paragraph);
    then let each section that is one short paragraph run on into the next."""
    position = 0
    for boundary in sorted(set(boundaries)):
        while position < len(units) and units[position].end <= boundary:
            position += 1
        if position < len(units):
            units[position].opens_section = units[position].starts_paragraph = True
    openers = [i for i, unit in enumerate(units) if unit.opens_section]
    for opener, following in zip(openers, openers[1:]):
        section = units[opener:following]
        if not any(u.starts_paragraph for u in section[1:]) and sum(u.tokens for u in section) < MIN_SECTION_TOKENS:
            units[following].opens_section = False  # a title alone: it heads the next section's passage


def _passage_end(units: list[_Unit], first: int, passage_tokens: int) -> int:
    """Index after the last unit of the passage that starts at `first`."""
    total, last = 0, first
    while last < len(units) and (last == first or (total + units[last].tokens <= passage_tokens
                                                   and not units[last].opens_section)):
        total += units[last].tokens
        last += 1
    if last < len(units) and not units[last].starts_paragraph:
        # Back up to a paragraph boundary if that keeps the passage at least half full.
        filled = total
        for candidate in range(last - 1, first, -1):
            filled -= units[candidate].tokens
            if filled < passage_tokens // 2:
                break
            if units[candidate].starts_paragraph:
                return candidate
    return last


def _overlap_start(units: list[_Unit], first: int, last: int, overlap_tokens: int) -> int:
    """Where the next passage starts: back over trailing sentences of a cut paragraph."""
    if units[last].starts_paragraph:
        return last
    start, total = last, 0
    while start - 1 > first and not units[start].starts_paragraph:
        if total + units[start - 1].tokens > overlap_tokens:
            break
        total += units[start - 1].tokens
        start -= 1
    return start
