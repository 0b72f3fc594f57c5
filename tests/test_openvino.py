"""The OpenVINO backend runs the cached ONNX graphs: torch's vectors and spans in fp32, close ones in bf16;
by default on a CPU where it is installed it indexes and serves; the index records it truthfully."""

import threading

import numpy as np
import pytest

from bertsearch import Index
from bertsearch.backends import choose_backend, graph_precision, load_encoder, resident_backend
from bertsearch.encoder import Encoder
from bertsearch.errors import InvalidSettingError
from bertsearch.onnx_encoder import OnnxEncoder
from bertsearch.onnx_reader import OnnxReader
from bertsearch.reader import Reader
from test_onnx import FILLER, TEXTS, cli_in_subprocess


def spans_of(reader, questions, contexts):
    return reader.read_batch(questions, [contexts] * len(questions), top_n=None)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_openvino_fp32_vectors_are_the_torch_ones(tiny_bert, pooling):
    torch_vectors = Encoder(tiny_bert, pooling=pooling, precision="fp32").encode(TEXTS)
    openvino = OnnxEncoder(tiny_bert, pooling=pooling, precision="fp32", backend="openvino")
    assert (openvino.backend, openvino.precision) == ("openvino", "fp32")
    assert (openvino.encode(TEXTS) * torch_vectors).sum(1).min() > 0.9999


def test_openvino_bf16_vectors_stay_as_close_to_fp32_as_torch_bf16(tiny_bert):
    fp32 = Encoder(tiny_bert, pooling="mean", precision="fp32").encode(TEXTS)
    torch_bf16 = Encoder(tiny_bert, pooling="mean", precision="bf16").encode(TEXTS)
    openvino = OnnxEncoder(tiny_bert, pooling="mean", precision="bf16", backend="openvino")
    cosine = (openvino.encode(TEXTS) * fp32).sum(1)
    assert cosine.min() > 0.995
    assert cosine.min() > (torch_bf16 * fp32).sum(1).min() - 0.005


def test_openvino_spans_are_the_torch_ones_across_windows_and_passages(tiny_qa):
    contexts = ["river " + FILLER + "bridge " + FILLER, "A short passage about a bridge.", FILLER * 2]
    questions = ["where is the bridge?", "what stood by the water? " * 30]
    theirs = spans_of(Reader(tiny_qa, precision="fp32", max_length=128, stride=32), questions, contexts)
    ours = spans_of(OnnxReader(tiny_qa, precision="fp32", max_length=128, stride=32, backend="openvino"),
                    questions, contexts)
    for mine, reference in zip(ours, theirs):
        assert len(mine) == len(reference) > 10
        assert [(s.context_index, s.start, s.end) for s in mine[:5]] == [(s.context_index, s.start, s.end)
                                                                          for s in reference[:5]]
        np.testing.assert_allclose([s.score for s in mine[:5]], [s.score for s in reference[:5]], atol=1e-3)


def test_openvino_bf16_span_scores_stay_near_fp32(tiny_qa):
    contexts = ["A short passage about a bridge over the river.", FILLER]
    fp32 = spans_of(Reader(tiny_qa, precision="fp32"), ["where is the bridge?"], contexts)[0]
    bf16 = spans_of(OnnxReader(tiny_qa, precision="bf16", backend="openvino"), ["where is the bridge?"], contexts)[0]
    by_span = {(s.context_index, s.start, s.end): s.score for s in fp32}
    gaps = [abs(s.score - by_span[(s.context_index, s.start, s.end)]) for s in bf16[:20]]
    assert max(gaps) < 0.05  # logits of a few units: bf16 keeps about three significant digits


def test_one_compiled_model_serves_several_threads(tiny_bert):
    encoder = OnnxEncoder(tiny_bert, precision="fp32", backend="openvino")
    alone = encoder.encode(TEXTS)
    results = [None] * 4

    def encode(slot):
        results[slot] = encoder.encode(TEXTS * 8)

    threads = [threading.Thread(target=encode, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for found in results:
        np.testing.assert_allclose(found, np.tile(alone, (8, 1)), atol=1e-6)


def test_on_a_cpu_with_openvino_it_indexes_and_serves_and_onnx_runtime_answers_one_shot_queries(monkeypatch):
    monkeypatch.delenv("BERTSEARCH_BACKEND", raising=False)
    monkeypatch.delenv("BERTSEARCH_CPU_PRECISION", raising=False)
    monkeypatch.setattr("bertsearch.backends._gpu_visible", lambda: False)
    assert choose_backend(bulk=True) == "openvino"  # indexing: the fastest in bulk
    assert resident_backend() == resident_backend("cpu") == "openvino"  # serve, mcp, watch: warm throughput
    assert choose_backend() == "onnx"  # search and ask: the fastest start
    assert choose_backend(precision="bf16") == "openvino"
    assert choose_backend(device="cuda", bulk=True) == "torch"
    assert resident_backend("cuda") is None  # the device decides: torch
    assert choose_backend(precision="fp16", bulk=True) == "torch"  # a precision only one backend runs decides it
    assert choose_backend(precision="int8", bulk=True) == "onnx"
    monkeypatch.setattr("bertsearch.backends._gpu_visible", lambda: True)
    assert choose_backend(bulk=True) == resident_backend() == "torch"
    monkeypatch.setenv("BERTSEARCH_BACKEND", "onnx")
    assert resident_backend() is None  # the environment decides


def test_openvino_precision_is_bf16_where_the_cpu_computes_it_natively(monkeypatch):
    monkeypatch.delenv("BERTSEARCH_CPU_PRECISION", raising=False)
    monkeypatch.setattr("bertsearch.openvino_backend.native_bf16", lambda: True)
    assert graph_precision("auto", "encoder", "openvino") == "bf16"
    monkeypatch.setattr("bertsearch.openvino_backend.native_bf16", lambda: False)
    assert graph_precision("auto", "reader", "openvino") == "fp32"
    monkeypatch.setenv("BERTSEARCH_CPU_PRECISION", "bf16")
    assert graph_precision("auto", "reader", "openvino") == "bf16"
    with pytest.raises(InvalidSettingError, match="openvino backend runs in fp32 or bf16, not int8"):
        graph_precision("int8", "encoder", "openvino")


def test_asking_for_openvino_where_it_is_missing_is_one_typed_error(tiny_bert, monkeypatch):
    monkeypatch.setattr("bertsearch.backends.openvino_installed", lambda: False)
    with pytest.raises(InvalidSettingError, match=r"pip install 'bertsearch\[openvino\]'"):
        load_encoder(tiny_bert, backend="openvino")
    with pytest.raises(InvalidSettingError, match="CPU only"):
        choose_backend("openvino", device="cuda")


def test_without_openvino_the_defaults_are_the_earlier_ones(monkeypatch):
    monkeypatch.delenv("BERTSEARCH_BACKEND", raising=False)
    monkeypatch.setattr("bertsearch.backends._gpu_visible", lambda: False)
    monkeypatch.setattr("bertsearch.backends.openvino_installed", lambda: False)
    assert choose_backend() == "onnx"  # queries: ONNX Runtime's fast start
    assert choose_backend(bulk=True) == "torch"  # bulk: torch bf16 autocast beats ONNX Runtime fp32
    assert resident_backend() == "torch"


def test_an_index_built_on_openvino_records_it_and_answers_onnx_and_torch_queries(tiny_bert, corpus, tmp_path):
    path = tmp_path / "index"
    with Index(path, model=tiny_bert, backend="openvino", precision="fp32") as index:
        index.add([corpus])
        assert index.info().encoded_with == "openvino fp32"
    hits = {}
    for backend in ("openvino", "onnx", "torch"):
        with Index(path, backend=backend, precision="fp32") as index:
            hits[backend] = [(r.id, round(r.score, 4)) for r in index.search("Eiffel Tower in Paris", mode="dense")]
    assert hits["openvino"] == hits["onnx"] == hits["torch"] and len(hits["openvino"]) == 3


def test_search_and_ask_on_openvino_never_import_torch_or_transformers(tiny_bert, tiny_qa, corpus, tmp_path):
    index = tmp_path / "index"
    with Index(index, model=tiny_bert, backend="openvino") as built:
        built.add([corpus])
    env = {"BERTSEARCH_BACKEND": "openvino", "BERTSEARCH_INDEX": str(index)}
    searched = cli_in_subprocess(["search", "Eiffel Tower", "-k", "1"], env)
    assert searched.startswith("1. ") and "IMPORTED []" in searched
    asked = cli_in_subprocess(["ask", "Where is the Eiffel Tower?", "--reader", tiny_qa, "--always-answer"], env)
    assert "IMPORTED []" in asked
