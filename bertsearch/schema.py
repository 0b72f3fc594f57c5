"""The SQLite schema of an index, built by numbered migrations, and the condition `Filters` become on it.

With `store.py`, the only module with SQL: `Store` runs what is written here.

Each step is a function `_mNNN_...(db)`; `migrate` applies the ones a
database has not seen, in order, and records them in `_migrations`, so an
index made by an older version opens in a newer one.
"""

from datetime import datetime, timezone

import sqlite_utils

from .bm25 import FTS_TABLE, TOKENIZER
from .cjk import CJK_TABLE, GRAMS_FUNCTION, TEST_FUNCTION
from .filters import Filters


def _m001_create_tables(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["documents"].create(
        {"id": int, "path": str, "size": int, "mtime_ns": int, "content_hash": str,
         "format": str, "indexed_at": str},
        pk="id",
    )
    db["documents"].create_index(["path"], unique=True)
    db["passages"].create(
        {"id": int, "document_id": int, "seq": int, "start": int, "end": int, "line": int,
         "text": str, "content_hash": str, "vector": bytes},
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["passages"].create_index(["document_id"])
    db["passages"].create_index(["content_hash"])


def _m002_create_passages_fts(db: sqlite_utils.Database) -> None:
    """BM25 over the passages (FTS5), kept in step by triggers; backfilled for existing indexes.

    `passages_fts` is an external-content FTS5 table over `passages.text`, keyed
    by the passage row id. The triggers update it inside the same transaction as
    the passage rows, so the two never disagree.
    """
    db.execute(
        f"create virtual table {FTS_TABLE} using fts5(text, content='passages', content_rowid='id', "
        f"tokenize='{TOKENIZER}')"
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


def _m003_create_document_labels(db: sqlite_utils.Database) -> None:
    """A label per document from `bertsearch classify label`, with the probability of every label (JSON)."""
    db["document_labels"].create(
        {"document_id": int, "label": str, "probabilities": str},
        pk="document_id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["document_labels"].create_index(["label"])


def _m004_add_passage_page_and_section(db: sqlite_utils.Database) -> None:
    """Each passage's page (1-based, paged formats only) and heading path (`Installation > Linux`).
    Passages indexed before this step keep NULL in both until their file is indexed again."""
    db["passages"].add_column("page", int)
    db["passages"].add_column("section", str)


def _m005_create_passages_cjk(db: sqlite_utils.Database) -> None:
    """BM25 for Chinese, Japanese and Korean (`cjk.py`): passages with CJK characters as character
    bigrams in a contentless FTS5 table, kept in step by triggers; backfilled here for existing indexes.

    The triggers call `bertsearch_has_cjk` and `bertsearch_cjk_grams`, which `Store` registers on
    its connection: a connection without them (an older bertsearch, the sqlite3 shell) can read
    the index but not write passages.
    """
    grams, cjk = f"{GRAMS_FUNCTION}(%s.text)", f"{TEST_FUNCTION}(%s.text)"
    db.execute(f"create virtual table {CJK_TABLE} using fts5(text, content='', tokenize='unicode61')")
    db.execute(f"create trigger passages_cjk_insert after insert on passages when {cjk % 'new'} begin "
               f"insert into {CJK_TABLE}(rowid, text) values (new.id, {grams % 'new'}); end")
    db.execute(f"create trigger passages_cjk_delete after delete on passages when {cjk % 'old'} begin "
               f"insert into {CJK_TABLE}({CJK_TABLE}, rowid, text) values ('delete', old.id, {grams % 'old'}); end")
    db.execute(f"create trigger passages_cjk_update_old after update of text on passages when {cjk % 'old'} begin "
               f"insert into {CJK_TABLE}({CJK_TABLE}, rowid, text) values ('delete', old.id, {grams % 'old'}); end")
    db.execute(f"create trigger passages_cjk_update_new after update of text on passages when {cjk % 'new'} begin "
               f"insert into {CJK_TABLE}(rowid, text) values (new.id, {grams % 'new'}); end")
    db.execute(f"insert into {CJK_TABLE}(rowid, text) select id, {grams % 'passages'} from passages "
               f"where {cjk % 'passages'}")


MIGRATIONS = [_m001_create_tables, _m002_create_passages_fts, _m003_create_document_labels,
              _m004_add_passage_page_and_section, _m005_create_passages_cjk]


def migrate(db: sqlite_utils.Database) -> None:
    """Apply the numbered schema steps this database has not seen yet.

    All pending steps run in one write transaction, taken up front (`BEGIN
    IMMEDIATE`) and checked again inside it, so a crash leaves none of them
    half done and two processes opening a new index never both apply them.
    """
    if not _pending_migrations(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if "_migrations" not in db.table_names():
            db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
        for step in _pending_migrations(db):
            step(db)
            db["_migrations"].insert({"name": step.__name__, "applied_at": now()})
        db.execute("COMMIT")
    except BaseException:
        db.conn.rollback()
        raise


def _pending_migrations(db: sqlite_utils.Database) -> list:
    if "_migrations" not in db.table_names():
        return list(MIGRATIONS)
    done = {row["name"] for row in db["_migrations"].rows}
    return [step for step in MIGRATIONS if step.__name__ not in done]


def filter_condition(filters: Filters | None) -> tuple[str, list]:
    """`filters` as an SQL condition on documents (alias d) and its parameters; ("", []) for none."""
    if not filters:
        return "", []
    conditions, params = [], []
    glob = filters.path_glob()
    if glob:
        conditions.append("d.path glob ?")
        params.append(glob)
    extensions = filters.extensions()
    if extensions:
        conditions.append("(" + " or ".join(["lower(d.path) like ? escape '\\'"] * len(extensions)) + ")")
        params += ["%" + e.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") for e in extensions]
    after, before = filters.mtime_range()
    if after is not None:
        conditions.append("d.mtime_ns >= ?")
        params.append(after)
    if before is not None:
        conditions.append("d.mtime_ns < ?")
        params.append(before)
    if filters.label:
        conditions.append("d.id in (select document_id from document_labels where label = ?)")
        params.append(filters.label)
    return " and ".join(conditions), params


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
