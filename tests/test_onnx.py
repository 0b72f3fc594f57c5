"""The ONNX Runtime backend computes what the torch path computes, keeps its graphs honest, and starts without torch."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from bertsearch import Index
from bertsearch.backends import choose_backend, load_encoder, onnx_precision
from bertsearch.encoder import Encoder
from bertsearch.errors import InvalidSettingError, ModelLoadError
from bertsearch.onnx_backend import cache_root
from bertsearch.onnx_encoder import OnnxEncoder
from bertsearch.onnx_reader import OnnxReader
from bertsearch.reader import Reader

TEXTS = ["a short one", "a much longer text about towers, bridges and rivers in many countries " * 3, "x",
         "Ünïcode — and emoji 🙂 too"]
FILLER = "the tower stood by the water for many long years . " * 12


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """An empty graph cache for this test alone."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "bertsearch" / "onnx"


def graph_folders(cache):
    return sorted(p for p in cache.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_onnx_vectors_and_token_spans_are_the_torch_ones(tiny_bert, pooling):
    torch_encoder = Encoder(tiny_bert, pooling=pooling, precision="fp32")
    onnx_encoder = OnnxEncoder(tiny_bert, pooling=pooling, precision="fp32")
    cosine = (onnx_encoder.encode(TEXTS) * torch_encoder.encode(TEXTS)).sum(1)
    assert cosine.min() > 0.9999
    assert onnx_encoder.token_spans(TEXTS) == torch_encoder.token_spans(TEXTS)
    assert (onnx_encoder.max_length, onnx_encoder.dim) == (torch_encoder.max_length, torch_encoder.dim)
    assert onnx_encoder.fingerprint == torch_encoder.fingerprint  # so an index takes vectors from either


def test_int8_vectors_stay_close_to_fp32(tiny_bert):
    fp32 = OnnxEncoder(tiny_bert, precision="fp32").encode(TEXTS)
    int8 = OnnxEncoder(tiny_bert, precision="int8").encode(TEXTS)
    assert (fp32 * int8).sum(1).min() > 0.95


def test_onnx_spans_are_the_torch_ones_across_windows_and_passages(tiny_qa):
    contexts = ["river " + FILLER + "bridge " + FILLER, "A short passage about a bridge.", FILLER * 2]
    questions = ["where is the bridge?", "what stood by the water? " * 30]  # the second is cut to fit a window
    torch_spans = Reader(tiny_qa, precision="fp32", max_length=128, stride=32).read_batch(questions, [contexts] * 2, top_n=None)
    onnx_spans = OnnxReader(tiny_qa, precision="fp32", max_length=128, stride=32).read_batch(questions, [contexts] * 2, top_n=None)
    for ours, theirs in zip(onnx_spans, torch_spans):
        assert len(ours) == len(theirs) > 10
        top = lambda spans: [(s.context_index, s.start, s.end, s.text) for s in spans[:5]]  # noqa: E731
        assert top(ours) == top(theirs)
        np.testing.assert_allclose([s.score for s in ours[:5]], [s.score for s in theirs[:5]], atol=1e-3)


def test_a_changed_checkpoint_gets_a_new_graph(tiny_bert, tmp_path, own_cache):
    from transformers import BertConfig, BertModel

    folder = shutil.copytree(tiny_bert, tmp_path / "model")
    OnnxEncoder(str(folder), precision="fp32")
    config = BertConfig.from_pretrained(folder)
    BertModel(config).save_pretrained(folder)  # new random weights, same names and sizes
    changed = OnnxEncoder(str(folder), precision="fp32")
    assert len(graph_folders(own_cache)) == 2
    cosine = (changed.encode(TEXTS) * Encoder(str(folder), precision="fp32").encode(TEXTS)).sum(1)
    assert cosine.min() > 0.9999  # the new weights' vectors, not the stale graph's


def test_a_damaged_graph_is_exported_again(tiny_bert, own_cache, capsys):
    first = OnnxEncoder(tiny_bert, precision="fp32").encode(TEXTS)
    assert "exporting the encoder" in capsys.readouterr().err
    [folder] = graph_folders(own_cache)
    (folder / "model-fp32.onnx").write_bytes(b"not a graph")
    again = OnnxEncoder(tiny_bert, precision="fp32").encode(TEXTS)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exporting the encoder" in err  # one line, and nothing else on stderr
    np.testing.assert_allclose(again, first, atol=1e-6)


def test_a_graph_filed_under_another_checkpoint_is_not_used(tiny_bert, tiny_qa, own_cache):
    OnnxEncoder(tiny_bert, precision="fp32")
    OnnxReader(tiny_qa, precision="fp32")
    encoder_folder, reader_folder = graph_folders(own_cache)
    if json.loads((encoder_folder / "info.json").read_text())["kind"] != "encoder":
        encoder_folder, reader_folder = reader_folder, encoder_folder
    shutil.rmtree(encoder_folder)
    shutil.copytree(reader_folder, encoder_folder)  # the reader's graph where the encoder's belongs
    vectors = OnnxEncoder(tiny_bert, precision="fp32").encode(TEXTS)
    assert json.loads((encoder_folder / "info.json").read_text())["kind"] == "encoder"
    assert vectors.shape == (len(TEXTS), 32)


def test_the_cache_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "bertsearch" / "onnx"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "bertsearch" / "onnx"


def test_backend_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.setenv("BERTSEARCH_BACKEND", "torch")
    assert choose_backend() == "torch"
    assert choose_backend("onnx") == "onnx"
    monkeypatch.setenv("BERTSEARCH_BACKEND", "tensorflow")
    with pytest.raises(InvalidSettingError, match="torch, onnx"):
        choose_backend()
    with pytest.raises(InvalidSettingError, match="CPU only"):
        choose_backend("onnx", device="cuda")
    monkeypatch.delenv("BERTSEARCH_BACKEND")
    monkeypatch.setattr("bertsearch.backends._gpu_visible", lambda: False)
    monkeypatch.setattr("bertsearch.backends.openvino_installed", lambda: False)  # with it: tests/test_openvino.py
    assert choose_backend() == "onnx"  # queries on a CPU: the fast start
    assert choose_backend(bulk=True) == "torch"  # indexing: bf16 autocast encodes faster in bulk
    assert choose_backend(device="cuda") == "torch"
    assert choose_backend(precision="bf16") == "torch"  # only torch runs it


def test_onnx_precisions(tiny_bert):
    assert onnx_precision("auto", "reader") == "fp32"
    assert onnx_precision("int8", "encoder") == "int8"
    with pytest.raises(InvalidSettingError, match="runs in fp32 or int8, not bf16: choose another --backend"):
        load_encoder(tiny_bert, precision="bf16", backend="onnx")


def test_a_missing_model_is_one_typed_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no model folder at .*no-such-model: the path does not exist"):
        OnnxEncoder(str(tmp_path / "no-such-model"))


def test_the_index_records_each_backend_that_encoded_it_and_either_can_query_it(tiny_bert, corpus, tmp_path):
    path = tmp_path / "index"
    with Index(path, model=tiny_bert, backend="onnx", precision="fp32") as index:
        index.add([corpus])
        assert index.info().encoded_with == "onnx fp32"
    (corpus / "new.txt").write_text("A new document about rivers.")
    with Index(path, backend="torch", precision="fp32") as index:
        index.add([corpus])
        assert index.info().encoded_with == "onnx fp32, torch fp32"
    hits = {}
    for backend in ("onnx", "torch"):
        with Index(path, backend=backend, precision="fp32") as index:
            hits[backend] = [(r.id, round(r.score, 4)) for r in index.search("Eiffel Tower in Paris", mode="dense")]
    assert hits["onnx"] == hits["torch"] and len(hits["onnx"]) == 4


def test_without_openvino_indexing_runs_on_torch_and_queries_on_onnx(tiny_bert, corpus, tmp_path, monkeypatch):
    monkeypatch.delenv("BERTSEARCH_BACKEND", raising=False)
    monkeypatch.setattr("bertsearch.backends._gpu_visible", lambda: False)
    monkeypatch.setattr("bertsearch.backends.openvino_installed", lambda: False)
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([corpus])
        assert index.info().encoded_with.startswith("torch ")
    with Index(tmp_path / "index") as index:
        assert index.search("Eiffel Tower", k=1) and index.encoder.backend == "onnx"


def cli_in_subprocess(args, env):
    """Run the CLI in a fresh interpreter; print which heavy modules it imported."""
    code = ("import sys\nfrom bertsearch.cli import cli\ntry:\n    cli(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\nprint('IMPORTED', sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'transformers', 'scipy', 'sklearn'}))")
    done = subprocess.run([sys.executable, "-c", code, *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_search_and_ask_on_onnx_never_import_torch_or_transformers(tiny_bert, tiny_qa, corpus, tmp_path):
    index = tmp_path / "index"
    with Index(index, model=tiny_bert, backend="onnx") as built:
        built.add([corpus])
        OnnxReader(tiny_qa)  # exported here, so the subprocess finds both graphs cached
    env = {"BERTSEARCH_BACKEND": "onnx", "BERTSEARCH_INDEX": str(index)}
    searched = cli_in_subprocess(["search", "Eiffel Tower", "-k", "1"], env)
    assert searched.startswith("1. ") and "IMPORTED []" in searched
    asked = cli_in_subprocess(["ask", "Where is the Eiffel Tower?", "--reader", tiny_qa, "--always-answer"], env)
    assert "IMPORTED []" in asked


def test_an_export_that_fails_is_one_typed_error_naming_the_torch_backend(tiny_bert, own_cache, monkeypatch):
    def no_torch(*args):
        raise ImportError("No module named 'torch'")

    monkeypatch.setattr("bertsearch.onnx_backend._export_with_torch", no_torch)
    with pytest.raises(ModelLoadError, match="could not export .* No module named 'torch'.*--backend torch"):
        OnnxEncoder(tiny_bert)
    assert graph_folders(own_cache) == []  # nothing half-written is left to be mistaken for a graph
