"""SQuAD articles written as text files (paragraphs separated by blank lines), indexed with bertsearch.

Shared by the hybrid benchmark and its tuning run, so both index exactly what
a user would: files, split with the index's default passage settings.
"""

import json
from pathlib import Path


def load_articles(squad: str, every: int = 1) -> list[dict]:
    """The articles of a SQuAD file; `every=10` keeps articles 0, 10, 20, ..."""
    with open(squad, encoding="utf-8") as file:
        return json.load(file)["data"][::every]


def write_articles(articles: list[dict], folder: Path) -> list[tuple[str, list[str]]]:
    """One file per article (`bertsearch.eval.evaluation.write_corpus`); returns (question, gold answers)
    for every question."""
    from bertsearch.eval.evaluation import write_corpus

    write_corpus(articles, folder)
    return [(qa["question"], [a["text"] for a in qa["answers"]])
            for article in articles for paragraph in article["paragraphs"] for qa in paragraph["qas"]]


def build_index(squad: str, cache: Path, every: int = 1, device: str | None = None):
    """Write the articles under `cache` and index them (only what changed is encoded again)."""
    from bertsearch import Index

    articles = load_articles(squad, every)
    questions = write_articles(articles, cache / "articles")
    index = Index(cache / "index", device=device)
    index.add([cache / "articles"])
    return index, questions
