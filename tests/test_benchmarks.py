"""The benchmark scripts run end to end at tiny sizes (timings are never asserted), and the page matches the results."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
SQUAD_SLICE = str(Path(__file__).parent / "data" / "squad-dev-v1.1-slice.json")  # smoke runs need no ../shared


@pytest.fixture
def script(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name):
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def result(folder, name):
    data = json.loads((folder / f"{name}.json").read_text())
    assert {"benchmark", "command", "date", "machine"} <= set(data)
    return data


def test_encoder_benchmark_smoke(script, tiny_bert, tmp_path):
    from bertsearch.openvino_backend import auto_precision

    script("encoder").main(["--smoke", "--squad", SQUAD_SLICE, "--model", tiny_bert, "--device", "cpu", "--out-dir", str(tmp_path)])
    rows = {row["name"]: row for row in result(tmp_path, "encoder-cpu")["rows"]}
    assert set(rows) == {"bertsearch fp32", "bertsearch bf16", "sentence-transformers fp32", "sentence-transformers bf16",
                         "bertsearch onnx fp32", f"bertsearch openvino {auto_precision()}"}
    assert rows["bertsearch onnx fp32"]["cosine_to_fp32"]["min"] > 0.9999
    assert rows["bertsearch onnx fp32"]["vs_torch_bf16"]["runs"] == 1
    # Same model, same pooling: the peer's fp32 vectors are bertsearch's.
    assert rows["sentence-transformers fp32"]["cosine_to_fp32"]["min"] > 0.9999
    assert rows["bertsearch fp32"]["vs_peer_fp32"]["runs"] == 1


def test_reader_benchmark_says_which_transformers_it_needs(script, tiny_qa, tmp_path):
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("this transformers still has the question-answering pipeline")
    with pytest.raises(SystemExit, match="transformers 4"):
        script("reader").main(["--smoke", "--squad", SQUAD_SLICE, "--speed-model", tiny_qa, "--out-dir", str(tmp_path)])


# .ci/run installs the peer, so in CI this test always runs.
@pytest.mark.skipif(not os.environ.get("BERTSEARCH_PEER_TRANSFORMERS") and not os.environ.get("CI"),
                    reason="set BERTSEARCH_PEER_TRANSFORMERS to a folder holding transformers 4 (see .ci/run)")
def test_reader_benchmark_smoke(tiny_qa, tmp_path):
    peer = os.environ.get("BERTSEARCH_PEER_TRANSFORMERS")
    assert peer, "CI must install transformers 4 for the reader benchmark's peer (.ci/run does)"
    path = os.pathsep.join([peer, str(BENCHMARKS.parent)])
    subprocess.run([sys.executable, str(BENCHMARKS / "reader.py"), "--smoke", "--squad", SQUAD_SLICE, "--speed-model", tiny_qa,
                    "--agreement-model", tiny_qa, "--out-dir", str(tmp_path)],
                   check=True, env={**os.environ, "PYTHONPATH": path}, capture_output=True)
    data = result(tmp_path, "reader-cpu")
    assert data["agreement"]["against_pipeline_fp32"]["bertsearch fp32"]["same_span"] == 1.0


def test_search_benchmark_smoke(script, tmp_path):
    script("search").main(["--smoke", "--out-dir", str(tmp_path), "--workdir", str(tmp_path)])
    size = result(tmp_path, "search-cpu-2k")["sizes"][0]
    assert size["passages"] == 2000
    assert size["hnsw"]["recall_at_k_vs_flat"] > 0.5
    assert size["flat"]["faiss_us"]["p50"] > 0


def test_scale_benchmark_smoke(script, tmp_path, monkeypatch):
    monkeypatch.setenv("BERTSEARCH_APPROXIMATE_ABOVE", "1000")  # the steps' processes inherit these
    monkeypatch.setenv("BERTSEARCH_MMAP_ABOVE", "1")
    script("scale").main(["--smoke", "--out-dir", str(tmp_path), "--cache", str(tmp_path / "cache")])
    size = result(tmp_path, "scale-cpu-3k")["sizes"][0]
    search = size["search"]
    assert (search["faiss"], search["mapped"], size["build"]["faiss"]) == ("HNSW32", True, "HNSW32")
    assert search["dense"]["recall_at_k"] >= 0.9 and search["dense_filtered_1pct"]["recall_at_k"] == 1.0
    assert all(run["mapped"] for run in size["cold_open"]["runs"])
    assert search["hybrid_uncapped"]["queries"] == 5 and search["sweep"][0]["ef_search"] == 64
    page = script("report").render(tmp_path)
    assert "## Search at scale" in page and "`HNSW32` (mapped)" in page


def test_ask_benchmark_smoke(script, tiny_bert, tiny_qa, tmp_path):
    script("ask").main(["--smoke", "--squad", SQUAD_SLICE, "--model", tiny_bert, "--reader", tiny_qa, "--out-dir", str(tmp_path)])
    rows = result(tmp_path, "ask-cpu")["rows"]
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    assert rows[0]["total"]["p95"] >= rows[0]["total"]["p50"] > 0


def test_pooling_benchmark_writes_its_result(script, tiny_bert, tmp_path):
    script("pooling").main(["--limit", "12", "--squad", SQUAD_SLICE, "--model", tiny_bert, "--device", "cpu", "--out-dir", str(tmp_path)])
    assert [r["pooling"] for r in result(tmp_path, "pooling-cpu")["rows"]] == ["cls", "mean"]


def test_the_report_renders_every_result(script, tmp_path):
    report = script("report")
    page = report.render(BENCHMARKS / "results")
    for name in ("Retrieval by pooling", "741", "62.5%"):
        assert name in page
    report.main(["--check"])  # docs/benchmarks.md is what the results give


def test_no_answer_benchmark_scores_three_thresholds(script, tiny_bert, tiny_qa, tmp_path):
    article = {"title": "Moon", "paragraphs": [{"context": "Apollo 11 landed on the Moon in 1969.", "qas": [
        {"id": "a", "question": "When did Apollo 11 land?", "is_impossible": False,
         "answers": [{"text": "1969", "answer_start": 32}]},
        {"id": "b", "question": "Who landed on Mars?", "is_impossible": True, "answers": []},
    ]}]}
    squad = tmp_path / "v2.json"
    squad.write_text(json.dumps({"version": "v2.0", "data": [article]}))
    out = script("no_answer").main(["--squad", str(squad), "--every", "1", "-k", "1", "--model", tiny_bert,
                                    "--reader", tiny_qa])
    assert (out["questions"], out["unanswerable"]) == (2, 1)
    assert out["always answering"]["answered"] == 1.0
    # The best cut on these very scores is never worse than answering always.
    assert out["best cut here"]["f1"] >= out["always answering"]["f1"]


@pytest.mark.slow
def test_serve_benchmark_smoke(script, tiny_bert, tiny_qa, tmp_path):
    """Starts `bertsearch serve` three times: slow, so run with -m slow."""
    article = {"title": "Moon", "paragraphs": [{"context": "Apollo 11 landed on the Moon in 1969.", "qas": [
        {"id": "a", "question": "When did Apollo 11 land?", "answers": [{"text": "1969", "answer_start": 32}]}]}]}
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"version": "1.1", "data": [article]}))
    script("serve").main(["--smoke", "--squad", str(squad), "--model", tiny_bert, "--reader", tiny_qa,
                          "--out-dir", str(tmp_path)])
    data = result(tmp_path, "serve-cpu")
    assert data["bad_input"]["all_4xx_json"] and data["bad_input"]["server_errors"] == 0
    assert data["writer"]["failed"] == 0 and data["writer"]["followed"] == data["writer"]["commits"]
    assert "bertsearch serve" in (tmp_path / "serve.md").read_text()


def test_onnx_benchmark_smoke(script, tiny_bert, tiny_qa, tmp_path):
    script("onnx_vs_torch").main(["--smoke", "--squad", SQUAD_SLICE, "--model", tiny_bert, "--reader", tiny_qa, "--out-dir", str(tmp_path)])
    data = result(tmp_path, "onnx-cpu")
    encoders = {row["name"]: row for row in data["encoder"]["rows"]}
    assert set(encoders) == {"torch fp32", "torch bf16", "onnx fp32", "onnx int8", "openvino bf16", "openvino fp32",
                             "sentence-transformers fp32"}
    # The same vectors as torch fp32 to float error; a tiny random model's scores are near ties, so a few swap.
    assert encoders["onnx fp32"]["top10_overlap"] >= 0.95 and encoders["openvino fp32"]["top10_overlap"] >= 0.95
    assert {(c["index_built_with"], c["queried_with"]) for c in data["encoder"]["cross_backend"]} >= {
        ("torch bf16", "onnx int8"), ("onnx int8", "torch bf16"), ("torch fp32", "onnx fp32"),
        ("openvino bf16", "onnx fp32"), ("onnx fp32", "openvino bf16")}
    readers = {row["name"]: row for row in data["reader"]["rows"]}
    assert readers["onnx fp32"]["same_top_answer_as_torch_fp32"] == readers["openvino fp32"]["same_top_answer_as_torch_fp32"] == 1.0


@pytest.mark.slow  # starts the CLI a dozen times with the real models: minutes on a small CPU
def test_startup_benchmark_smoke(script, tmp_path):
    script("startup").main(["--smoke", "--out-dir", str(tmp_path)])
    rows = {(r["command"], r["backend"]): r for r in result(tmp_path, "startup-cpu")["rows"]}
    assert "torch" not in rows[("search", "onnx")]["imports"] and "torch" in rows[("search", "torch")]["imports"]


def test_watch_benchmark_smoke(script, tiny_bert, tmp_path):
    script("watch").main(["--smoke", "--model", tiny_bert, "--out-dir", str(tmp_path)])
    data = result(tmp_path, "watch")
    assert data["watch"]["runs"] == data["index_after_each_save"]["runs"] == 3
    stress = data["stress"]
    assert sum(stress["operations"].values()) == 40 and stress["idle"]
    assert stress["equal_to_fresh_index"] and stress["update_failure_count"] == stress["search_error_count"] == 0
    assert (tmp_path / "watch.md").read_text().startswith("## Watching a folder")


def test_ingestion_benchmark_smoke(script, tmp_path):
    page = tmp_path / "ingestion.md"
    page.write_text("# Ingestion\n\nHand-written.\n\n<!-- formats: begin (benchmarks/ingestion.py) -->\nold\n<!-- formats: end -->\n\nMore.\n")
    script("ingestion").main(["--smoke", "--out-dir", str(tmp_path), "--page", str(page)])
    rows = {row["format"]: row for row in result(tmp_path, "ingestion")["formats"]}
    assert {"docx", "pptx", "odt", "epub", "ipynb", "eml", "md"} <= set(rows)
    assert all(row["chars_per_file"] > 0 for row in rows.values()) and rows["pptx"]["pages_per_file"] == 2
    written = page.read_text()
    assert written.startswith("# Ingestion\n\nHand-written.") and written.endswith("More.\n") and "old" not in written
    assert "| docx | 2 |" in written


def test_pdf_readers_benchmark_smoke(script, tmp_path):
    from pdfs import write_pdf

    folder = tmp_path / "pdfs"
    folder.mkdir()
    bodies = [["Owls hunt at night, with a hyphen-", "ated word."], ["Larks sing at dawn."], ["Crows gather in winter."]]
    write_pdf(folder / "a.pdf", [["Report", *body, str(n)] for n, body in enumerate(bodies, start=1)])
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    page = tmp_path / "ingestion.md"
    page.write_text("# Ingestion\n\n<!-- pdf-readers:start -->\nold\n<!-- pdf-readers:end -->\n\nMore.\n")
    script("pdf_readers").main(["--folder", str(folder), "--rounds", "1", "--libraries", "pypdf",
                                "--out-dir", str(tmp_path), "--page", str(page)])
    libraries = result(tmp_path, "pdf_readers")["libraries"]
    assert set(libraries) == {"pypdfium2", "pypdf"}
    for read in libraries.values():
        assert (read["files_read"], read["pages_with_text"], read["edge_lines_dropped"]) == (1, 3, 6)
        assert list(read["failed"]) == ["broken.pdf"]
    written = page.read_text()
    assert "| files read | 1 / 2 | 1 / 2 |" in written and "old" not in written and written.endswith("More.\n")


def test_cjk_benchmark_smoke(script, tiny_bert, tmp_path):
    page = tmp_path / "cjk.md"
    page.write_text("# CJK\n\n<!-- cjk-results:start -->\n<!-- cjk-results:end -->\n")
    script("cjk").main(["--model", tiny_bert, "--smoke", "--rounds", "1", "--out-dir", str(tmp_path), "--page", str(page)])
    methods = result(tmp_path, "cjk")["methods"]
    assert methods["bm25"]["recall"]["all"] > methods["before (unicode61)"]["recall"]["all"]
    assert "| bm25 | 1.00 |" in page.read_text()


def test_reindex_benchmark_smoke(script, tiny_bert, tmp_path):
    script("reindex").main(["--smoke", "--model", tiny_bert, "--out-dir", str(tmp_path)])
    data = result(tmp_path, "reindex")
    assert data["files"] == 100 and data["passages_encoded"] == data["passages"] >= 100
    assert len(data["reindex_library_seconds"]) == len(data["reindex_command_seconds"]) == 1


def test_index_memory_benchmark_smoke(script, tmp_path):
    script("index_memory").main(["--smoke", "--out-dir", str(tmp_path)])
    (row,) = result(tmp_path, "index-memory")["rows"]
    assert row["passages"] == 2000 and row["encoding_calls"] >= 3  # one passage per paragraph, in batches
    assert row["vectors_mb"] == 2000 * 384 * 4 / 1024**2
    assert row["first_call_rss_mb"] <= row["ingest_peak_rss_mb"] <= row["peak_rss_mb"]
