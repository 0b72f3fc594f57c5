"""train_reader on a tiny random BERT, and the reader that ships with bertsearch."""

import json
import socket

import pytest
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from bertsearch.checkpoints import BUNDLED_READER_PATH
from bertsearch.reader import Reader
from bertsearch.eval.squad import load_squad
from bertsearch.eval.training import encode_training_windows, train_reader

PARAGRAPHS = [
    ("The Eiffel Tower was finished in 1889 and stands in Paris.",
     [("When was the Eiffel Tower finished?", "1889"), ("Where does the Eiffel Tower stand?", "Paris")]),
    ("Honeybees dance to tell each other where the flowers are.",
     [("Why do honeybees dance?", "to tell each other where the flowers are"), ("Which insects dance?", "Honeybees")]),
    ("Apollo 11 landed on the Moon in July 1969, carrying Neil Armstrong.",
     [("When did Apollo 11 land?", "July 1969"), ("Who did Apollo 11 carry?", "Neil Armstrong")]),
]


@pytest.fixture
def squad_file(tmp_path):
    """Six hand-made questions in SQuAD v1.1 format."""
    paragraphs = [
        {"context": context, "qas": [
            {"id": f"{p}-{q}", "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}
            for q, (question, answer) in enumerate(qas)
        ]}
        for p, (context, qas) in enumerate(PARAGRAPHS)
    ]
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "Tiny", "paragraphs": paragraphs}]}))
    return path


def test_labels_mark_the_answer_tokens_or_cls_when_the_window_lacks_it(tiny_bert, squad_file):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    moon = [q for q in load_squad(squad_file) if q.answers == ["Neil Armstrong"]]
    windows = encode_training_windows(tokenizer, moon, max_length=20, stride=4)  # the paragraph needs 2 windows
    labels = list(zip(windows["start_positions"].tolist(), windows["end_positions"].tolist()))
    assert labels[0] == (0, 0)  # the first window stops before "Neil Armstrong"
    start, end = labels[-1]
    assert tokenizer.decode(windows["input_ids"][-1][start : end + 1]) == "neil armstrong"


def test_training_lowers_the_loss_and_saves_a_reader_that_reloads(tiny_bert, squad_file, tmp_path):
    out = tmp_path / "reader"
    results = train_reader(squad_file, out, dev_file=squad_file, base_model=tiny_bert, epochs=8,
                           learning_rate=1e-3, batch_size=4, max_length=64, stride=16, device="cpu", progress=False)
    losses = results["epoch_losses"]
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert results["dev"]["total"] == 6 and 0 <= results["dev"]["f1"] <= 100
    model = AutoModelForQuestionAnswering.from_pretrained(out)
    assert model.config.hidden_size == 32
    assert json.loads((out / "training_results.json").read_text())["epoch_losses"] == losses


def test_resume_continues_after_the_last_finished_epoch(tiny_bert, squad_file, tmp_path):
    settings = dict(base_model=tiny_bert, learning_rate=1e-3, batch_size=4, max_length=64, stride=16,
                    device="cpu", progress=False)
    first = train_reader(squad_file, tmp_path, epochs=1, **settings)
    resumed = train_reader(squad_file, tmp_path, epochs=2, resume=True, **settings)
    assert resumed["epoch_losses"][0] == first["epoch_losses"][0]  # epoch 1 was not run again
    assert len(resumed["epoch_losses"]) == 2


@pytest.mark.skipif(not (BUNDLED_READER_PATH / "config.json").exists(), reason="no bundled reader in this checkout")
def test_the_bundled_reader_answers_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise OSError("the bundled reader must load without the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    reader = Reader("bundled", device="cpu")
    answers = reader.read("When was the Eiffel Tower finished?", [PARAGRAPHS[0][0]])
    assert answers[0].text == "1889"
    assert isinstance(reader.no_answer_threshold, float)
