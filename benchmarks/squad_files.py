"""SQuAD articles written as text files (paragraphs separated by blank lines), indexed with bertsearch.

Shared by the hybrid benchmark and its tuning run, so both index exactly what
a user would: files, split with the index's default passage settings.
"""

import json
import re
from pathlib import Path


def load_articles(squad: str, every: int = 1) -> list[dict]:
    """The articles of a SQuAD file; `every=10` keeps articles 0, 10, 20, ..."""
    with open(squad, encoding="utf-8") as file:
        return json.load(file)["data"][::every]


def write_articles(articles: list[dict], folder: Path) -> list[tuple[str, list[str]]]:
    """One file per article; returns (question, gold answers) for every question."""
    folder.mkdir(parents=True, exist_ok=True)
    questions = []
    for number, article in enumerate(articles):
        name = f"{number:03d}-{re.sub(r'[^A-Za-z0-9]+', '_', article['title'])[:60]}.txt"
        text = "\n\n".join(p["context"].strip() for p in article["paragraphs"]) + "\n"
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        for paragraph in article["paragraphs"]:
            questions += [(qa["question"], [a["text"] for a in qa["answers"]]) for qa in paragraph["qas"]]
    return questions


def build_index(squad: str, cache: Path, every: int = 1, device: str | None = None):
    """Write the articles under `cache` and index them (only what changed is encoded again)."""
    from bertsearch import Index

    articles = load_articles(squad, every)
    questions = write_articles(articles, cache / "articles")
    index = Index(cache / "index", device=device)
    index.add([cache / "articles"])
    return index, questions
