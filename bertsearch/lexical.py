"""BM25 over the passages, in the same SQLite file: an FTS5 table kept in step by triggers.

`passages_fts` is an external-content FTS5 table over `passages.text`, keyed
by the passage row id. Triggers on `passages` update it inside the same
transaction as the passage rows, so the two never disagree. Queries are never
handed to FTS5's query language: they are split into words here, and each word
is quoted, so quotes, AND/OR/NOT/NEAR, `*`, `:` and parentheses are just text.
"""

import re
from collections.abc import Sequence

FTS_TABLE = "passages_fts"
# Porter stemming over unicode61 with diacritics folded: measured best on SQuAD train (docs/benchmarks.md).
TOKENIZER = "porter unicode61 remove_diacritics 2"
WORD = re.compile(r"\w+")
# Words so common in questions that matching them only costs time (their BM25 weight is near zero).
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how in is it its of on or that the this "
    "to was were what when where which who whom whose why with".split()
)


def create_fts(db, tokenizer: str = TOKENIZER) -> None:
    """Create the FTS5 table and its triggers, and index the passages already there."""
    db.execute(
        f"create virtual table {FTS_TABLE} using fts5(text, content='passages', content_rowid='id', "
        f"tokenize='{tokenizer}')"
    )
    db.execute(
        f"create trigger passages_fts_insert after insert on passages begin "
        f"insert into {FTS_TABLE}(rowid, text) values (new.id, new.text); end"
    )
    db.execute(
        f"create trigger passages_fts_delete after delete on passages begin "
        f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, text) values ('delete', old.id, old.text); end"
    )
    db.execute(
        f"create trigger passages_fts_update after update of text on passages begin "
        f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, text) values ('delete', old.id, old.text); "
        f"insert into {FTS_TABLE}(rowid, text) values (new.id, new.text); end"
    )
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('rebuild')")


def query_terms(query: str, stopwords: frozenset = STOPWORDS) -> list[str]:
    """The distinct words of `query`, lower-cased, without stopwords (unless that leaves none)."""
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(query)))
    kept = [w for w in words if w not in stopwords]
    return kept or words


def match_expression(query: str, stopwords: frozenset = STOPWORDS) -> str | None:
    """An FTS5 MATCH expression that ORs every quoted word of `query`; None if it has no words."""
    terms = query_terms(query, stopwords)
    return " OR ".join(f'"{term}"' for term in terms) or None


def bm25_search(db, query: str, k: int, where: str = "", params: Sequence = ()) -> list[tuple[int, float]]:
    """The `k` best (passage id, BM25 score) pairs, best first; higher is better.

    `where` is an optional SQL condition on `passages` (alias p) and `documents`
    (alias d), e.g. from `Filters.sql()`, applied inside the search.
    """
    expression = match_expression(query)
    if expression is None:
        return []
    join = "join passages p on p.id = f.rowid join documents d on d.id = p.document_id" if where else ""
    sql = (
        f"select f.rowid, -bm25({FTS_TABLE}) as score from {FTS_TABLE} f {join} "
        f"where {FTS_TABLE} match ? {'and ' + where if where else ''} order by bm25({FTS_TABLE}) limit ?"
    )
    return [(row[0], row[1]) for row in db.execute(sql, [expression, *params, k])]


def bm25_matches(db, query: str, where: str = "", params: Sequence = ()) -> dict[int, float]:
    """BM25 score of every passage holding a word of `query` (one FTS5 pass; the rest score 0).

    Cheaper than asking FTS5 for the scores of chosen rowids, which it answers
    one rowid at a time.
    """
    expression = match_expression(query)
    if expression is None:
        return {}
    join = "join passages p on p.id = f.rowid join documents d on d.id = p.document_id" if where else ""
    sql = (f"select f.rowid, -bm25({FTS_TABLE}) from {FTS_TABLE} f {join} "
           f"where {FTS_TABLE} match ? {'and ' + where if where else ''}")
    return {row[0]: row[1] for row in db.execute(sql, [expression, *params])}
