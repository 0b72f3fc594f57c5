"""The benchmark scripts run end to end at tiny sizes (timings are never asserted), and the page matches the results."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


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
    pytest.importorskip("sentence_transformers")
    script("encoder").main(["--smoke", "--model", tiny_bert, "--device", "cpu", "--out-dir", str(tmp_path)])
    rows = {row["name"]: row for row in result(tmp_path, "encoder-cpu")["rows"]}
    assert set(rows) == {"bertsearch fp32", "bertsearch bf16", "sentence-transformers fp32", "sentence-transformers bf16"}
    # Same model, same pooling: the peer's fp32 vectors are bertsearch's.
    assert rows["sentence-transformers fp32"]["cosine_to_fp32"]["min"] > 0.9999
    assert rows["bertsearch fp32"]["vs_peer_fp32"]["runs"] == 1


def test_reader_benchmark_says_which_transformers_it_needs(script, tiny_qa, tmp_path):
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("this transformers still has the question-answering pipeline")
    with pytest.raises(SystemExit, match="transformers 4"):
        script("reader").main(["--smoke", "--speed-model", tiny_qa, "--out-dir", str(tmp_path)])


@pytest.mark.skipif(not os.environ.get("BERTSEARCH_PEER_TRANSFORMERS"),
                    reason="set BERTSEARCH_PEER_TRANSFORMERS to a folder holding transformers 4 (see benchmarks/reader.py)")
def test_reader_benchmark_smoke(tiny_qa, tmp_path):
    path = os.pathsep.join([os.environ["BERTSEARCH_PEER_TRANSFORMERS"], str(BENCHMARKS.parent)])
    subprocess.run([sys.executable, str(BENCHMARKS / "reader.py"), "--smoke", "--speed-model", tiny_qa,
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


def test_ask_benchmark_smoke(script, tiny_bert, tiny_qa, tmp_path):
    script("ask").main(["--smoke", "--model", tiny_bert, "--reader", tiny_qa, "--out-dir", str(tmp_path)])
    rows = result(tmp_path, "ask-cpu")["rows"]
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    assert rows[0]["total"]["p95"] >= rows[0]["total"]["p50"] > 0


def test_pooling_benchmark_writes_its_result(script, tiny_bert, tmp_path):
    script("pooling").main(["--limit", "12", "--model", tiny_bert, "--device", "cpu", "--out-dir", str(tmp_path)])
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


def test_watch_benchmark_smoke(script, tiny_bert, tmp_path):
    script("watch").main(["--smoke", "--model", tiny_bert, "--out-dir", str(tmp_path)])
    data = result(tmp_path, "watch")
    assert data["watch"]["runs"] == data["index_after_each_save"]["runs"] == 3
    stress = data["stress"]
    assert sum(stress["operations"].values()) == 40 and stress["idle"]
    assert stress["equal_to_fresh_index"] and stress["update_failure_count"] == stress["search_error_count"] == 0
    assert (tmp_path / "watch.md").read_text().startswith("## Watching a folder")
