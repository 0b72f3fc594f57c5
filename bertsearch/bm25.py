"""BM25's side of the query: which words of it to match, and how to say so to SQLite FTS5.

The index keeps BM25 in the same SQLite file as the passages (an FTS5 table
kept in step by triggers; see `schema.py`), and `Store` runs the queries.
Queries are never handed to FTS5's query language: they are split into words
here, and each word is quoted, so quotes, AND/OR/NOT/NEAR, `*`, `:` and
parentheses are just text.
"""

import re

FTS_TABLE = "passages_fts"
# Porter stemming over unicode61 with diacritics folded: measured best on SQuAD train (docs/benchmarks.md).
TOKENIZER = "porter unicode61 remove_diacritics 2"
WORD = re.compile(r"\w+")
# Words so common in questions that matching them only costs time (their BM25 weight is near zero).
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how in is it its of on or that the this "
    "to was were what when where which who whom whose why with".split()
)


# Hybrid search scores the passages holding a query word; a word held by more passages than this is left
# out of its BM25 side: scoring it costs time in proportion (about 1 s a million passages) and its weight
# (its IDF) is low. None: no cap. Measured at 1M passages in docs/scale.md.
MAX_ROWS_PER_WORD = 20_000


def query_terms(query: str, stopwords: frozenset = STOPWORDS) -> list[str]:
    """The distinct words of `query`, lower-cased, without stopwords (unless that leaves none)."""
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(query)))
    kept = [w for w in words if w not in stopwords]
    return kept or words


def match_expression(query: str, stopwords: frozenset = STOPWORDS) -> str | None:
    """An FTS5 MATCH expression that ORs every quoted word of `query`; None if it has no words."""
    return any_of(query_terms(query, stopwords))


def any_of(terms: list[str]) -> str | None:
    """The FTS5 MATCH expression for passages holding any of `terms` (words of `query_terms`); None if none."""
    return " OR ".join(f'"{term}"' for term in terms) or None
