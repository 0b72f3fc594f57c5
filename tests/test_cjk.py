"""Keyword search in Chinese, Japanese and Korean (issue #17): passages as character bigrams in a second
FTS5 table (`bertsearch/cjk.py`), kept in step with the passages, and filled for indexes made before it.

The documents are the evaluation set in tests/data/cjk/ (written for bertsearch; see tests/data/README.md).
"""

import shutil
from pathlib import Path

import pytest

from bertsearch import Index, cjk, schema

CJK_DATA = Path(__file__).parent / "data" / "cjk"


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(CJK_DATA / "documents", folder)
    return folder


def best(index, query) -> str:
    return Path(index.search(query, mode="bm25", k=1)[0].path).stem


@pytest.mark.parametrize("query, document", [
    ("年夜饭", "zh-springfestival"),        # Chinese, a two-character word inside a sentence
    ("谁改进了造纸术", "zh-paper"),          # Chinese, a question
    ("茶", "zh-tea"),                       # one character
    ("富士山の高さ", "ja-fuji"),             # Japanese, kanji and kana
    ("桜はいつ咲く", "ja-sakura"),           # a kanji stem between kana: 咲く finds 咲きます
    ("マグロ", "ja-sushi"),                 # katakana
    ("한글을 만든 왕", "ko-hangul"),          # Korean, particles glued to the words
    ("서울 인구", "ko-seoul"),
])
def test_bm25_finds_a_document_by_a_chinese_japanese_or_korean_query(tiny_bert, tmp_path, docs, query, document):
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([docs])
        assert best(index, query) == document


def test_a_changed_or_removed_document_leaves_no_bigrams_behind(tiny_bert, tmp_path, docs):
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([docs])
        (docs / "zh-tea.txt").write_text("咖啡原产于埃塞俄比亚。")
        (docs / "ko-kimchi.txt").unlink()
        index.add([docs])
        assert index.search("龙井", mode="bm25") == [] and index.search("김장", mode="bm25") == []
        assert best(index, "咖啡") == "zh-tea"


def test_english_queries_still_use_the_main_table(tiny_bert, tmp_path, docs):
    (docs / "notes.txt").write_text("Running shoes are on sale.")
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([docs])
        assert best(index, "run") == "notes"  # Porter stemming: only the main table has it


def test_filters_apply_to_cjk_queries(tiny_bert, tmp_path, docs):
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([docs])
        hits = index.search("一九六四年", mode="bm25", path=str(docs / "ja-judo.txt"))
        assert [Path(h.path).stem for h in hits] == ["ja-judo"]
        assert {Path(h.path).stem for h in index.search("一九六四年", mode="bm25")} == {"ja-judo", "ja-shinkansen"}


def test_an_index_made_before_the_cjk_table_gets_it_filled_when_opened(tiny_bert, tmp_path, docs, monkeypatch):
    before_cjk = [m for m in schema.MIGRATIONS if m.__name__ != "_m005_create_passages_cjk"]
    monkeypatch.setattr(schema, "MIGRATIONS", before_cjk)
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([docs])  # passages written with no bigram table and no triggers
    monkeypatch.undo()
    with Index(tmp_path / "index", model=tiny_bert) as index:
        assert best(index, "年夜饭") == "zh-springfestival"


def test_query_terms():
    assert cjk.match_expression("東京") == '"東京"'
    assert cjk.match_expression("猫") == '"猫" *'
    assert cjk.match_expression("iPhone 价格") == '"iphone" OR "价格"'
    assert cjk.grams("東京都。abc") == " 東京 京都 都 。abc"
