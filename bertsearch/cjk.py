"""Keyword search in Chinese, Japanese and Korean: passages as character bigrams in a second FTS5 table.

FTS5's `unicode61` tokenizer splits words at spaces and punctuation. Chinese and
Japanese put no spaces between words, so a whole sentence becomes one token
that no query matches; Korean separates words but glues particles to them
(`서울은`, "Seoul" + topic marker), so `서울` does not match either.

The standard remedy, which needs no dictionary, is to index overlapping
character bigrams (`東京都庁` -> `東京 京都 都庁 庁`): any word of two or more
characters in a query is then a run of bigrams the passage holds too. The last
character of each run is kept as a one-character token as well, so a
one-character query (`猫`) is a prefix query (`"猫" *`) that finds every passage
holding the character. FTS5's trigram tokenizer, the other candidate, cannot
match terms shorter than three characters, and most Chinese and Japanese words
are two (docs/cjk.md measures both).

`passages_cjk` is a contentless FTS5 table (`schema.py`) holding only passages
with CJK characters, filled and emptied by triggers on `passages` that call
`bertsearch_has_cjk` and `bertsearch_cjk_grams`, the functions `register` adds
to each connection (`Store` does). So it
changes in the same transaction as the passages, like the main FTS5 table.
A query with CJK characters is searched there (its bigrams ORed, BM25-ranked),
any other query in the main table (`bm25.py`).
"""

import re
import sqlite3

CJK_TABLE = "passages_cjk"
GRAMS_FUNCTION = "bertsearch_cjk_grams"
TEST_FUNCTION = "bertsearch_has_cjk"  # the triggers' WHEN: ten times cheaper than the same test as a GLOB
# Han (with its extensions and compatibility block, and 々〆〇), kana (not the middle dot ・), Hangul.
_CJK_CLASS = ("\u3005-\u3007\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
              "\uf900-\ufaff\uff66-\uff9f\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\U00020000-\U0003134f")
CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
LATIN_WORD = re.compile(r"\w+")
KANA = re.compile("[\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
SCRIPT_SEGMENT = re.compile(f"{KANA.pattern}+|[^{KANA.pattern[1:-1]}]+")


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None


def run_grams(run: str) -> list[str]:
    """A run of CJK characters as its overlapping bigrams, then its last character alone."""
    return [run[n : n + 2] for n in range(len(run) - 1)] + [run[-1]]


def grams(text: str) -> str:
    """What `passages_cjk` indexes for a passage: each CJK run replaced by its grams, other text kept."""
    return CJK_RUN.sub(lambda run: " " + " ".join(run_grams(run.group())) + " ", text)


def match_expression(query: str) -> str | None:
    """The FTS5 expression for a query with CJK characters, its terms quoted and ORed: each run's bigrams;
    a lone character (a run of one, or a kanji between kana: `桜はいつ咲く`) as a prefix query, which
    finds it anywhere; and the query's other words. None if it has no terms."""
    terms = []
    for piece in re.split(f"([{_CJK_CLASS}]+)", query):
        if has_cjk(piece):
            terms += [f'"{g}"' for g in run_grams(piece)[:-1]]
            terms += [f'"{c}" *' for c in lone_ideographs(piece)]
        else:
            terms += [f'"{w.lower()}"' for w in LATIN_WORD.findall(piece)]
    return " OR ".join(dict.fromkeys(terms)) or None


def lone_ideographs(run: str) -> list[str]:
    """Characters of a run that stand alone in their script: the run itself if one character long, and
    a kanji between kana (Japanese writes a word's stem in kanji and its ending in kana: `咲く`)."""
    if len(run) == 1:
        return [run]
    return [segment for segment in SCRIPT_SEGMENT.findall(run) if len(segment) == 1 and not KANA.match(segment)]


def register(connection: sqlite3.Connection) -> None:
    """Give a connection the two functions the `passages_cjk` triggers call."""
    connection.create_function(GRAMS_FUNCTION, 1, lambda text: grams(text or ""), deterministic=True)
    connection.create_function(TEST_FUNCTION, 1, lambda text: has_cjk(text or ""), deterministic=True)
