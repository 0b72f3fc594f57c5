"""Keyword search in Chinese, Japanese and Korean: recall@5 on tests/data/cjk before and after the bigram table.

    nice -n 10 python benchmarks/cjk.py            # the default encoder (all-MiniLM-L6-v2) for dense and hybrid

The 30 documents and 57 queries of tests/data/cjk (each query has one right
document) are indexed with bertsearch; each query is searched
- "before": the main FTS5 table as it was (Porter over unicode61, bm25.py), in an
  in-memory SQLite holding the same passages: what bm25 mode did before #17;
- "trigram + scan": an FTS5 `trigram` table, the other candidate: each CJK run of
  three or more characters as its overlapping trigrams (BM25), shorter runs, which
  trigram cannot match, by a scan of every passage (`instr`; LIKE on the trigram
  table matches nothing under three characters), each hit worth 1;
- "bm25", "dense", "hybrid": bertsearch's modes through `Index.search` (bm25 now
  searches the bigram table for these queries).
Recall@5 overall, per language and per query length (the CJK characters in it);
milliseconds per query for the keyword methods.

What the table costs when indexing: synthetic passages (English ones of 150
words, Chinese ones of 300 characters) inserted into the schema with and without
migration 005, in one transaction, in turns over ROUNDS rounds (median).
Writes benchmarks/results/cjk.json and docs/cjk.md's tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from common import REPO, RESULTS, write_result  # noqa: E402

from bertsearch import Index  # noqa: E402
from bertsearch import bm25, cjk  # noqa: E402

DATA = REPO / "tests" / "data" / "cjk"
DOC = REPO / "docs" / "cjk.md"
START, END = "<!-- cjk-results:start -->", "<!-- cjk-results:end -->"
K = 5


def load() -> tuple[dict[str, str], list[dict]]:
    documents = {p.name: p.read_text().strip() for p in sorted((DATA / "documents").glob("*.txt"))}
    with open(DATA / "queries.tsv", newline="") as file:
        queries = list(csv.DictReader(file, delimiter="\t"))
    return documents, queries


def before(documents: dict[str, str]):
    """The main table as it was: Porter over unicode61, the query's words ORed (bm25.py)."""
    db = sqlite3.connect(":memory:")
    db.execute(f"create virtual table t using fts5(name unindexed, text, tokenize='{bm25.TOKENIZER}')")
    db.executemany("insert into t(name, text) values (?, ?)", documents.items())

    def search(query: str) -> list[str]:
        expression = bm25.match_expression(query)
        return [r[0] for r in db.execute("select name from t where t match ? order by bm25(t) limit ?",
                                         [expression, K])] if expression else []
    return search


def trigram(documents: dict[str, str]):
    """An FTS5 trigram table: runs of 3+ characters as trigrams (BM25), shorter ones by a scan, hits summed."""
    db = sqlite3.connect(":memory:")
    db.execute("create virtual table t using fts5(name unindexed, text, tokenize='trigram')")
    db.executemany("insert into t(name, text) values (?, ?)", documents.items())

    def search(query: str) -> list[str]:
        pieces = cjk.CJK_RUN.findall(query) + cjk.LATIN_WORD.findall(cjk.CJK_RUN.sub(" ", query))
        long = sorted({p[n : n + 3] for p in pieces if len(p) >= 3 for n in range(len(p) - 2)})
        scores: dict[str, float] = {}
        if long:
            expression = " OR ".join(f'"{t}"' for t in long)
            for name, score in db.execute("select name, -bm25(t) from t where t match ?", [expression]):
                scores[name] = scores.get(name, 0.0) + score
        for short in (p for p in pieces if len(p) < 3):
            # Not LIKE: on a trigram table, LIKE with under three characters matches nothing (SQLite 3.40).
            for (name,) in db.execute("select name from t where instr(text, ?) > 0", [short]):
                scores[name] = scores.get(name, 0.0) + 1.0
        return sorted(scores, key=scores.get, reverse=True)[:K]
    return search


def insert_seconds(with_cjk: bool, texts: list[str]) -> float:
    """Seconds to insert `texts` as passages into a fresh in-memory index schema (with or without the CJK table)."""
    import sqlite_utils

    from bertsearch import schema

    db = sqlite_utils.Database(sqlite3.connect(":memory:"))
    cjk.register(db.conn)
    for step in schema.MIGRATIONS:
        if with_cjk or step.__name__ != "_m005_create_passages_cjk":
            step(db)
    started = time.perf_counter()
    with db.conn:
        db.conn.executemany('insert into passages (document_id, seq, start, "end", line, text, content_hash, vector) '
                            "values (1, ?, 0, 0, 1, ?, '', x'00')", list(enumerate(texts)))
    return time.perf_counter() - started


def indexing_cost(rounds: int, scale: float = 1.0) -> dict:
    import random
    import statistics

    rng = random.Random(0)
    words = "the of and to in a is that for it as was with be by on not this are or from at which".split()
    words += [f"w{i}" for i in range(3000)]
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    sets = {"English, 150 words": [" ".join(rng.choice(words) for _ in range(150)) for _ in range(int(5000 * scale))],
            "Chinese, 300 characters": ["".join(rng.choice(han) for _ in range(300)) + "。"
                                        for _ in range(int(2000 * scale))]}
    out = {}
    for name, texts in sets.items():
        without, with_table = [], []
        for r in range(rounds):
            for with_cjk in ((False, True) if r % 2 == 0 else (True, False)):
                (with_table if with_cjk else without).append(insert_seconds(with_cjk, texts))
        out[name] = {"passages": len(texts), "without_ms": 1000 * statistics.median(without) / len(texts),
                     "with_ms": 1000 * statistics.median(with_table) / len(texts)}
    return out


def length_class(query: str) -> str:
    n = sum(len(run) for run in cjk.CJK_RUN.findall(query))
    return "1 character" if n == 1 else "2 characters" if n == 2 else "3 or more"


def measure(searches: dict, queries: list[dict]) -> dict:
    out = {}
    for method, search in searches.items():
        started, found = time.perf_counter(), [search(q["query"]) for q in queries]
        seconds = time.perf_counter() - started
        hits = [q["document"] in got for q, got in zip(queries, found)]
        first = [got[:1] == [q["document"]] for q, got in zip(queries, found)]
        groups: dict[str, list[bool]] = {}
        for q, hit in zip(queries, hits):
            for key in ("all", q["language"], length_class(q["query"])):
                groups.setdefault(key, []).append(hit)
        out[method] = {"recall": {key: sum(v) / len(v) for key, v in groups.items()},
                       "recall_at_1": sum(first) / len(first),
                       "counts": {key: len(v) for key, v in groups.items()},
                       "ms_per_query": 1000 * seconds / len(queries)}
    return out


def render(result: dict) -> str:
    methods = result["methods"]
    keys = ["all", "zh", "ja", "ko", "1 character", "2 characters", "3 or more"]
    counts = methods["bm25"]["counts"]
    head = ["recall@5", *(f"{k} ({counts.get(k, 0)})" for k in keys), "recall@1, all", "ms / query"]
    rows = [[name, *(f"{m['recall'].get(k, 0):.2f}" for k in keys), f"{m['recall_at_1']:.2f}",
             f"{m['ms_per_query']:.2f}" if name not in ("dense", "hybrid") else f"{m['ms_per_query']:.0f}"]
            for name, m in methods.items()]
    m = result["machine"]
    return "\n".join([
        START,
        f"Measured with `{result['command']}` on {result['date']}: {result['documents']} documents, "
        f"{result['queries']} queries (columns: the queries in each group), encoder "
        f"`{result['encoder']}`; {m['cpu']}, {m['cores']} cores shared with other jobs (load average "
        f"{result['load']} at the start). `ms / query` includes encoding the query for dense and hybrid.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"Indexing cost (synthetic passages inserted in one transaction; median of {result['rounds']} rounds in "
        "turns; the same machine and load):",
        "",
        "| passages | ms per passage, main FTS5 table only | with the CJK table | ratio |",
        "|---|---|---|---|",
        *(f"| {name} ({c['passages']:,}) | {c['without_ms']:.3f} | {c['with_ms']:.3f} "
          f"| {c['with_ms'] / c['without_ms']:.2f}x |" for name, c in result["indexing"].items()),
        END,
    ])


def write_section(section: str, page: Path = DOC) -> None:
    text = page.read_text()
    page.write_text(text[: text.index(START)] + section + text[text.index(END) + len(END):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="encoder (default: bertsearch's)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the indexing-cost measurement")
    parser.add_argument("--smoke", action="store_true", help="the indexing cost on 1%% of the passages")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--page", type=Path, default=DOC, help="the page whose results table is written")
    args = parser.parse_args(argv)
    documents, queries = load()
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as scratch:
        with Index(Path(scratch) / "index", model=args.model) as index:
            index.add([DATA / "documents"])
            encoder = index.info().model

            def mode(name):
                return lambda query: [Path(h.path).name for h in index.search(query, mode=name, k=K)]

            searches = {"before (unicode61)": before(documents), "trigram + scan": trigram(documents),
                        "bm25": mode("bm25"), "dense": mode("dense"), "hybrid": mode("hybrid")}
            mode("dense")("warm up")
            methods = measure(searches, queries)
    result = {"documents": len(documents), "queries": len(queries), "encoder": str(encoder or "default"),
              "load": load_avg, "methods": methods, "rounds": args.rounds,
              "indexing": indexing_cost(args.rounds, 0.01 if args.smoke else 1.0)}
    section = render(json.loads(write_result("cjk", result, args.out_dir).read_text()))
    write_section(section, args.page)
    print(section)


if __name__ == "__main__":
    main()
