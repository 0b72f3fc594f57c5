"""End to end with the packaged all-MiniLM-L6-v2 on real SQuAD paragraphs: quality, not plumbing."""

import json
from pathlib import Path

import pytest

from bertsearch import Index

SQUAD_DEV = Path(__file__).parent.parent.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
ARTICLES = 4


@pytest.fixture(scope="module")
def squad_corpus(tmp_path_factory):
    """A few SQuAD dev articles as files, one paragraph each, and their questions."""
    if not SQUAD_DEV.exists():
        pytest.fail(f"SQuAD dev set missing at {SQUAD_DEV}: the project expects ../shared beside it")
    folder = tmp_path_factory.mktemp("squad")
    questions = []
    for a, article in enumerate(json.loads(SQUAD_DEV.read_text())["data"][:ARTICLES]):
        for p, paragraph in enumerate(article["paragraphs"]):
            name = f"{a:02d}-{p:03d}.txt"
            (folder / name).write_text(paragraph["context"])
            questions += [(qa["question"], name) for qa in paragraph["qas"][:2]]
    return folder, questions


@pytest.fixture(scope="module")
def squad_index(squad_corpus, tmp_path_factory):
    """The SQuAD paragraphs indexed with the default encoder and the pooling its checkpoint declares."""
    folder, _ = squad_corpus
    with Index(tmp_path_factory.mktemp("squad-index")) as index:
        index.add([folder])
        yield index


def top1(paths: list[str], best: list[int], questions) -> float:
    """The share of questions whose best passage (`best`, an index into `paths`) is in their paragraph's file."""
    return sum(Path(paths[b]).name == name for b, (_, name) in zip(best, questions)) / len(questions)


@pytest.fixture(scope="module")
def declared_top1(squad_corpus, squad_index) -> float:
    """Top-1 of dense search in the index (the pooling the checkpoint declares)."""
    _, questions = squad_corpus
    # Dense only: this measures the encoder's pooling, which BM25 in the default hybrid mode would mask.
    found = squad_index.search_many([question for question, _ in questions], k=1, mode="dense")
    return top1([hits[0].path for hits in found], range(len(found)), questions)


def test_the_right_paragraph_comes_first_for_most_questions(squad_corpus, squad_index, declared_top1):
    _, questions = squad_corpus
    assert squad_index.encoder.pooling == "mean"  # declared by the checkpoint
    # Measured here: 0.661 over these 469 questions and 240 paragraphs.
    assert len(questions) == 469
    assert declared_top1 > 0.6


def test_following_the_declared_pooling_beats_cls(squad_corpus, squad_index, declared_top1):
    """The index's own passages encoded with [CLS] pooling and searched exactly, as an index built with it would."""
    from bertsearch import Encoder

    _, questions = squad_corpus
    passages = squad_index.passages()
    cls = Encoder(squad_index.encoder.name, pooling="cls")
    scores = cls.encode([q for q, _ in questions]) @ cls.encode([p.text for p in passages]).T
    assert declared_top1 > top1([p.path for p in passages], scores.argmax(axis=1), questions) + 0.1
    # measured: 0.661 against 0.480


def test_ask_answers_the_sample_corpus_eiffel_question_offline(tmp_path, monkeypatch):
    """The README's main job: default encoder and bundled reader, no network."""
    monkeypatch.delenv("BERTSEARCH_READER", raising=False)
    sample = Path(__file__).parent.parent / "sample_corpus"
    with Index(tmp_path / "index") as index:
        index.add([sample])
        best = index.ask("Who designed the Eiffel Tower?").answers[0]
    assert "Koechlin" in best.text and "Nouguier" in best.text
    assert best.path.endswith("eiffel_tower.html")
    assert best.passage[best.passage_start : best.passage_end] == best.text
