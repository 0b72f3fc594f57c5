"""Render docs/benchmarks.md from the result files in benchmarks/results/.

    python benchmarks/report.py           # rewrite docs/benchmarks.md
    python benchmarks/report.py --check   # fail if docs/benchmarks.md is not what the results give

Every figure in the page comes from a result file written by a benchmark
script, with that script's command, machine and date; `results/*.md` files are
sections kept as Markdown (with their commands), included as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PAGE = Path(__file__).parent.parent / "docs" / "benchmarks.md"
ORDER = ("encoder", "reader", "readersize", "search", "scale", "ask", "pooling", "onnx", "startup")

INTRO = """# Benchmarks

Every figure here comes from a result file in `benchmarks/results/`, written by
the script whose command is shown with it; this page is rendered from those files
by `python benchmarks/report.py` (do not edit it by hand). bertsearch and its peer
run in the same process on the same inputs, in turns, the order rotating each
round; a figure given as *median (min–max)* spans the rounds. Timings on a shared
machine are noisy: compare ratios taken in the same run, not figures across runs.
The CPU figures for the encoder, the readers, search and `ask` were taken on
2026-11-23 with nothing else running on the 2-core machine (each header gives the
load average at the run's end; two threads of work read about 2). The hybrid
retrieval and re-ranking sections at the end come from earlier runs that shared
the machine with other jobs, and say so.
"""


def spread(s, fmt="{:,.1f}", scale=1.0) -> str:
    """'median (min–max)' of a spread, or the one value of a single run."""
    if not isinstance(s, dict):
        return fmt.format(s * scale)
    if s.get("runs", 2) == 1 or s["min"] == s["max"]:
        return fmt.format(s["median"] * scale)
    return f"{fmt.format(s['median'] * scale)} ({fmt.format(s['min'] * scale)}–{fmt.format(s['max'] * scale)})"


def pct(value, digits=1) -> str:
    return f"{100 * value:.{digits}f}%"


def machine_line(result: dict) -> str:
    m = result["machine"]
    where = m.get("gpu") or f"{m['cpu']}, {m['cores']} cores"
    threads = f", {m['torch_threads']} torch threads" if not m.get("gpu") and "torch_threads" in m else ""
    memory = f", {m['memory_gb']:g} GB" if m.get("memory_gb") else ""
    if m.get("load_average") is not None and not m.get("gpu"):
        memory += f", load average {m['load_average']:.1f} at the end"
    software = f"torch {m['torch']}, transformers {m['transformers']}"
    return f"Run on {result['date']} on {where}{memory}{threads} ({software})."


def header(result: dict, extra: str = "") -> list[str]:
    lines = ["```bash", result["command"], "```", "", machine_line(result) + (" " + extra if extra else ""), ""]
    if result.get("note"):
        lines += [result["note"], ""]
    return lines


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def render_encoder(result: dict) -> list[str]:
    gpu = result["machine"].get("gpu")
    lines = [f"### On {'the GPU' if gpu else 'the CPU'}", ""]
    lines += header(result)
    lines.append(f"{result['passages']} SQuAD v1.1 dev paragraphs ({result['tokens']:,} tokens, cut at "
                 f"{result['max_length']}), batch size {result['batch_size']}, {result['rounds']} round(s); rankings over "
                 f"the same paragraphs for {result['questions']} of their questions, against bertsearch fp32.")
    lines.append("")
    against_bf16 = any("vs_torch_bf16" in row for row in result["rows"])
    head = ["contender", "passages/s", "tokens/s", "× sentence-transformers same precision", "× sentence-transformers fp32",
            *(["× bertsearch bf16 (torch autocast)"] if against_bf16 else []),
            "min cosine to fp32", "same top-1", "same top-10 (in order)", "top-10 overlap", "recall@1"]
    if gpu:
        head.append("share of bf16 peak FLOP/s")
    rows = []
    for row in result["rows"]:
        cells = [row["name"], spread(row["passages_per_s"]), spread(row["tokens_per_s"], "{:,.0f}"),
                 spread(row["vs_peer_same_precision"], "{:.2f}×") if "vs_peer_same_precision" in row else "",
                 spread(row["vs_peer_fp32"], "{:.2f}×") if "vs_peer_fp32" in row else "",
                 *([spread(row["vs_torch_bf16"], "{:.2f}×") if "vs_torch_bf16" in row else ""] if against_bf16 else []),
                 f"{row['cosine_to_fp32']['min']:.5f}", pct(row["same_top1"]), pct(row["same_top10"]),
                 pct(row["top10_overlap"]) if "top10_overlap" in row else "", pct(row["recall@1"])]
        if gpu:
            cells.append(spread(row["bf16_peak_share"], "{:.1f}%", 100) if "bf16_peak_share" in row else "")
        rows.append(cells)
    lines += table(head, rows)
    if "default_backend" in result:
        lines += [f"What `bertsearch index` encodes with here by default: {result['default_backend']} (torch's default "
                  f"precision: {result['default_precision']}); sentence-transformers' is fp32.", ""]
    elif "default_precision" in result:
        lines += [f"bertsearch's default precision here: {result['default_precision']}; sentence-transformers' is fp32.", ""]
    if gpu and result.get("bf16_peak_flops"):
        lines += [f"FLOP/s count the encoder's matrix products over the real tokens (no padding), against a bf16 "
                  f"dense peak of {result['bf16_peak_flops'] / 1e12:,.0f} TFLOP/s.", ""]
    return lines


def render_reader(result: dict) -> list[str]:
    w = result["window"]
    speed = result["speed"]
    lines = header(result)
    lines.append(f"{speed['questions']} SQuAD v1.1 dev questions, each with {result['contexts']} paragraph(s); windows of "
                 f"{w['max_length']} tokens, stride {w['stride']}, answers up to {w['max_answer_length']} tokens, "
                 f"{result['batch_size']} windows per forward pass; {result['rounds']} round(s). Model: {speed['model']}.")
    lines.append("")
    against_bf16 = any("vs_torch_bf16" in r for r in speed["rows"])
    rows = [[r["name"], spread(r["questions_per_s"], "{:.2f}"),
             spread(r["vs_peer_same_precision"], "{:.2f}×") if "vs_peer_same_precision" in r else "",
             spread(r["vs_peer_fp32"], "{:.2f}×") if "vs_peer_fp32" in r else "",
             *([spread(r["vs_torch_bf16"], "{:.2f}×") if "vs_torch_bf16" in r else ""] if against_bf16 else [])]
            for r in speed["rows"]]
    lines += table(["contender", "questions/s", "× pipeline same precision", "× pipeline fp32",
                    *(["× bertsearch bf16 (torch autocast)"] if against_bf16 else [])], rows)
    if "default_cpu_precision" in result:
        lines += [f"bertsearch's default precision on this CPU: {result['default_cpu_precision']} "
                  "(bf16 where the CPU has bf16 instructions, see `bertsearch/device.py`); the pipeline's is fp32.", ""]
    if "agreement" in result:
        a = result["agreement"]
        lines += [f"Same top answer as the pipeline in fp32 (same paragraph and character span; same text after SQuAD "
                  f"normalisation), on {a['questions']:,} questions with a trained reader ({a['model']})"
                  + (f"; {a['single_window_questions']:,} of their paragraphs fit one window. Where a paragraph needs "
                     "more, the pipeline compares windows by probabilities normalised within each window, bertsearch "
                     "by raw logits (comparable across windows and passages)" if "single_window_questions" in a else "")
                  + ":", ""]
        single = "single_window_questions" in a
        lines += table(["contender", "same span", "same text"] + (["same span, one-window paragraphs"] if single else []),
                       [[name, pct(s["same_span"]), pct(s["same_text"])]
                        + ([pct(s["same_span_single_window"])] if single else [])
                        for name, s in a["against_pipeline_fp32"].items() if name != "pipeline fp32"])
    return lines


def render_search(result: dict) -> list[str]:
    lines = header(result)
    first = result["sizes"][0]
    lines.append(f"{first['queries']} queries per round, k={first['k']}, {first['rounds']} round(s), "
                 f"{first['faiss_threads']} FAISS thread(s); {result['dim']}-dimensional vectors{_latent(first)}, "
                 f"{result['text_chars']} characters of text per passage, ten passages per document. "
                 "Each query runs once per round both ways, in turns; its latency is its best over the rounds (which drops "
                 "the times another process had the core). Overhead is bertsearch's median over FAISS's, less one "
                 "(in brackets: the same from each round alone, min–max); metadata is the per-query difference, with "
                 "the two SQLite reads Index.search makes timed alone: the index generation check and the passage rows. "
                 "On a shared machine wall time counts the waits for a core, so the same is given in this process's "
                 "CPU time (FAISS runs on one thread), best of the rounds too."
                 + (f" Index.search runs in {first['mode']} mode, as raw FAISS does." if "mode" in first else ""))
    lines.append("")
    rows = []
    for s in result["sizes"]:
        for kind in [kind for kind in ("flat", "hnsw") if kind in s]:
            m = s[kind]
            extra = f" {_hnsw_settings(s, m)}, recall@{s['k']} {pct(m['recall_at_k_vs_flat'])} of flat" if kind == "hnsw" else ""
            rows.append([f"{s['passages']:,}", f"{kind}{extra}",
                         f"{m['faiss_us']['p50']:,.0f} / {m['faiss_us']['p95']:,.0f}",
                         f"{m['bertsearch_us']['p50']:,.0f} / {m['bertsearch_us']['p95']:,.0f}",
                         f"{m['metadata_us']['p50']:,.0f}" + (
                             f" ({m['sqlite_us']['generation_check']['p50']:,.0f} + {m['sqlite_us']['passage_rows']['p50']:,.0f})"
                             if "sqlite_us" in m else ""),
                         f"{100 * m['overhead']:+.1f}% (rounds {spread(m['overhead_per_round'], '{:+.0f}%', 100).split(' ', 1)[-1].strip('()')})",
                         (f"{m['cpu']['faiss_us']['p50']:,.0f} / {m['cpu']['bertsearch_us']['p50']:,.0f}: "
                          f"{100 * m['cpu']['overhead']:+.1f}%" if "cpu" in m else ""),
                         f"{m['build_s']:,.1f}", f"{m['peak_rss_mb']:,.0f}"])
    lines += table(["passages", "FAISS index", "FAISS µs p50 / p95", "bertsearch µs p50 / p95", "metadata µs p50 (SQLite: generation + passages)",
                    "overhead", "CPU time µs p50, FAISS / bertsearch: overhead", "build s", "peak memory MB"], rows)
    writes = ", ".join(f"{s['passages']:,} passages {s['sqlite_write_s']:.0f} s ({s['sqlite_mb']:,.0f} MB)"
                       for s in result["sizes"])
    lines += [f"Writing the synthetic SQLite rows (one transaction): {writes}. Flat build time is bertsearch deriving "
              "its FAISS index from SQLite; HNSW build time is FAISS adding the same vectors. Peak memory is the "
              "process's peak resident set at the end of that step (the flat index is freed before HNSW is built).", ""]
    return lines


def _latent(size: dict) -> str:
    """How the synthetic vectors were made; results from before #3 used i.i.d. random ones and say nothing."""
    if "latent_dim" not in size:
        return ""
    return f" of intrinsic dimension {size['latent_dim']} (real embeddings have a low one: see benchmarks/search.py)"


def _hnsw_settings(size: dict, hnsw: dict) -> str:
    # Results from before #3 (no latent_dim) all searched with efSearch 64 and showed only M.
    return f"M={hnsw['M']}" + (f", efSearch={hnsw['efSearch']}" if "latent_dim" in size else "")


def render_ask(result: dict) -> list[str]:
    lines = header(result)
    lines.append(f"{result['articles']} SQuAD v1.1 dev article(s) ({result['passages']} passages), "
                 f"{result['questions']} questions asked one at a time, k={result['k']} passages read, "
                 f"{result['rounds']} round(s); reader: {result['reader']}.")
    lines.append("")
    rows = [[r["precision"], f"{r['total']['p50']:,.0f}", f"{r['total']['p95']:,.0f}",
             spread(r["p50_per_round"], "{:,.0f}"), f"{r['encode']['p50']:,.1f}", f"{r['search']['p50']:,.2f}",
             f"{r['read']['p50']:,.0f}", f"{r['squad']['exact_match']:.1f} / {r['squad']['f1']:.1f}"]
            + ([pct(r["answered"], 0), f"{r['squad_always_answering']['exact_match']:.1f} / "
                f"{r['squad_always_answering']['f1']:.1f}"] if "answered" in r else [])
            for r in result["rows"]]
    answering = ["answered", "EM / F1 always answering"] if "answered" in result["rows"][0] else []
    lines += table(["precision", "ask p50 ms", "ask p95 ms", "p50 per round", "encode p50", "search p50", "read p50",
                    "EM / F1"] + answering, rows)
    if answering:
        lines += ["`ask` abstains (\"no answer found\") when its best span scores under the reader's no-answer "
                  "threshold; *always answering* scores its best answer anyway (`--always-answer`).", ""]
    if "default_cpu_precision" in result:
        lines += [f"The default on this CPU is {result['default_cpu_precision']}.", ""]
    return lines


def render_readersize(result: dict) -> list[str]:
    acc, v2 = result["accuracy"]["squad_v1.1_dev"], result["accuracy"]["squad_v2.0_dev"]
    train = result["training"]
    lines = [
        "| set (gold paragraph, through `Reader` on an H100, fp16) | EM | F1 | questions |",
        "|---|---|---|---|",
        f"| SQuAD v1.1 dev | {acc['exact_match']:.1f} | {acc['f1']:.1f} | {acc['total']:,} |",
        f"| SQuAD v2.0 dev, always answering | {v2['without_threshold']['exact_match']:.1f} "
        f"| {v2['without_threshold']['f1']:.1f} | {v2['without_threshold']['total']:,} |",
        f"| SQuAD v2.0 dev, with the no-answer threshold {result['accuracy']['no_answer_threshold']:.2f} "
        f"| {v2['with_threshold']['exact_match']:.1f} | {v2['with_threshold']['f1']:.1f} | {v2['with_threshold']['total']:,} |",
        "",
        f"At the threshold: HasAns F1 {v2['with_threshold']['HasAns_f1']:.1f}, NoAns accuracy "
        f"{v2['with_threshold']['NoAns_exact_match']:.1f}; picked on v2.0 dev itself (the official best_f1 cut), so "
        f"optimistic. Trained with `scripts/train_default_reader.py` on {train['device']}: {train['epochs']} epochs, "
        f"batch {train['batch_size']}, learning rate {train['learning_rate']:g}, {train['train_seconds']:.0f} s.",
        "",
    ]
    lines += header(result)
    q, params = result["questions_per_second"], result["parameters"]
    lines += [
        "| reader | parameters | questions/s |",
        "|---|---|---|",
        f"| bundled (MiniLM-L6) | {params['bundled'] / 1e6:.1f}M | {spread(q['bundled'])} |",
        f"| BERT-base-sized | {params['bert-base'] / 1e6:.1f}M | {spread(q['bert-base'])} |",
        "",
        f"The bundled reader reads {spread(result['speedup'], '{:.1f}')} times as many questions per second "
        f"({result['questions']} questions, {result.get('precision', 'fp32')}).",
        "",
    ]
    return lines


def render_pooling(result: dict) -> list[str]:
    lines = header(result)
    lines.append(f"Each of the {result['paragraphs']:,} SQuAD v1.1 dev paragraphs is one passage, each of the "
                 f"{result['questions']:,} questions one query; a hit is the question's own paragraph in the top k. "
                 f"Encoder: {result['model']}, each pooling forced in turn.")
    lines.append("")
    rows = [[r["pooling"], pct(r["top1"]), pct(r["top5"]), pct(r["top20"]), spread(r["passages_per_s"], "{:,.0f}"),
             r.get("precision", "")] for r in result["rows"]]
    lines += table(["pooling", "top-1", "top-5", "top-20", "encoding passages/s", "precision"], rows)
    return lines


def render_onnx(result: dict) -> list[str]:
    enc, rd = result["encoder"], result["reader"]
    lines = header(result)
    lines += [f"Encoder ({enc['model']}): {enc['passages']} SQuAD v1.1 dev paragraphs ({enc['tokens']:,} tokens), batch "
              f"size {enc['batch_size']}, {result['rounds']} round(s); rankings of those paragraphs for "
              f"{enc['questions']} of their questions, against torch fp32.", ""]
    lines += table(["contender", "passages/s", "tokens/s", "× torch bf16", "× sentence-transformers fp32",
                    "top-10 overlap", "same top-1", "recall@1"],
                   [[r["name"], spread(r["passages_per_s"]), spread(r["tokens_per_s"], "{:,.0f}"),
                     spread(r["vs_torch_bf16"], "{:.2f}×"), spread(r["vs_sentence_transformers_fp32"], "{:.2f}×"),
                     pct(r["top10_overlap"]), pct(r["same_top1"]), pct(r["recall@1"])] for r in enc["rows"]])
    lines += ["Across backends: the paragraphs encoded by one, the questions by the other; same top-1 as the querying "
              "backend's own paragraph vectors give, and as the index's builder gives.", ""]
    lines += table(["index built with", "queried with", "same top-1 as own vectors", "same top-1 as builder",
                    "recall@1"],
                   [[c["index_built_with"], c["queried_with"], pct(c["same_top1_as_own_vectors"]),
                     pct(c["same_top1_as_builder"]), pct(c["recall@1"])] for c in enc["cross_backend"]])
    lines += [f"Reader ({rd['model']}): {rd['timed_questions']} questions per timed run, each with its own paragraph, "
              f"{rd['batch_size']} windows per forward pass; top answers (paragraph and character span) compared "
              f"with torch fp32's on {rd['agreement_questions']:,} questions.", ""]
    lines += table(["contender", "questions/s", "× torch bf16", "same top answer as torch fp32"],
                   [[r["name"], spread(r["questions_per_s"], "{:.2f}"), spread(r["vs_torch_bf16"], "{:.2f}×"),
                     pct(r["same_top_answer_as_torch_fp32"]) if "same_top_answer_as_torch_fp32" in r else "not checked"]
                    for r in rd["rows"]])
    return lines


def render_startup(result: dict) -> list[str]:
    lines = header(result)
    lines += [f"Each command is a fresh `python -m bertsearch` process on an index of {result['corpus']} "
              f"({result['rounds']} round(s), backends in turns; the ONNX graphs already exported). Query: "
              f"\"{result['query']}\".", ""]
    lines += table(["command", "backend", "seconds", "× faster than torch", "heavy modules imported"],
                   [[r["command"], r["backend"], spread(r["seconds"], "{:.2f}"),
                     spread(r["vs_torch"], "{:.2f}×") if "vs_torch" in r else "", ", ".join(r["imports"]) or "none"]
                    for r in result["rows"]])
    for backend, imports in result.get("search_imports", {}).items():
        slowest = ", ".join(f"{i['module']} {i['ms']:,.0f} ms" for i in imports)
        lines += [f"Slowest top-level imports of `search` on {backend} (`python -X importtime`): {slowest}.", ""]
    return lines


def _cpu(timing: dict, digits: int = 2) -> str:
    """The p50 in this process's CPU time, blind to the time other processes held the core."""
    return f" (CPU {timing['cpu_p50_ms']:.{digits}f})" if "cpu_p50_ms" in timing else ""


def render_scale(result: dict) -> list[str]:
    lines = header(result)
    lines.append(f"Synthetic passages (unit vectors of {result['dim']} dimensions, intrinsic dimension "
                 f"{result['latent_dim']}; ~600 characters of common words and one rarer word each), written through "
                 "`Store.bulk_load`, the kind chosen and built by the writer's `Store.save_vectors()`, searched with "
                 "`Index.search` given each query's vector, one FAISS thread. Latencies are each query's best of the "
                 "rounds; in parentheses, the p50 in the search process's CPU time, which leaves out the time other "
                 "processes held the core. Recall@10 is against exact search over the same vectors; the filter keeps 1% of the "
                 "documents (a path glob). Hybrid queries are three common words and a rarer one; \"uncapped\" is "
                 "before hybrid's BM25 cap, on the first queries. Design: [scale.md](scale.md).")
    lines.append("")
    rows, sweeps = [], []
    for size in result["sizes"]:
        build, search, cold = size["build"], size["search"], size["cold_open"]["median"]
        rows.append([f"{size['passages']:,}", f"`{search['faiss']}`" + (" (mapped)" if search["mapped"] else ""),
                     f"{build['build_s']:,.0f} ({build['build_threads']} threads)",
                     f"{build['file_mb']:,.0f} / {size['write']['sqlite_mb']:,.0f}",
                     f"{cold['process_s']:.2f} ({cold['open_s']:.2f} + {cold['first_search_s']:.3f})"
                     + (f"; CPU {cpu['imports_s']:.2f} imports, {cpu['open_s']:.2f} + {cpu['first_search_s']:.3f}"
                        if (cpu := size["cold_open"].get("cpu_median")) else ""),
                     f"{search['dense']['p50_ms']:.2f} / {search['dense']['p95_ms']:.1f}" + _cpu(search["dense"]),
                     f"{search['dense']['recall_at_k']:.3f}",
                     f"{search['dense_filtered_1pct']['p50_ms']:.1f} / {search['dense_filtered_1pct']['recall_at_k']:.3f}",
                     f"{search['hybrid']['p50_ms']:.1f} / {search['hybrid']['p95_ms']:.1f}" + _cpu(search["hybrid"], 1),
                     f"{search['hybrid_uncapped']['p50_ms']:,.0f} against {search['hybrid_same_queries_capped']['p50_ms']:.1f}",
                     f"{build['peak_rss_mb']:,.0f} / {search['peak_rss_mb']:,.0f} ({search['rss']['RssAnon']:,.0f} private)"])
        for point in search.get("sweep", []):
            knob = f"efSearch {point['ef_search']}" if "ef_search" in point else f"one list in {point['probe_one_list_in']}"
            sweeps.append([f"{size['passages']:,}", f"`{search['faiss']}`", knob, f"{point['p50_ms']:.2f}",
                           f"{point['p95_ms']:.1f}", f"{point['recall_at_k']:.3f}"])
    lines += table(["passages", "kind", "build s", "FAISS / SQLite MB", "cold open s: process (open + first search)",
                    "dense ms p50 / p95", "recall@10", "1% filter: ms p50 / recall@10", "hybrid ms p50 / p95",
                    "hybrid uncapped ms p50 against capped", "peak MB: build / search"], rows)
    if sweeps:
        lines += ["The search breadth against recall (dense, the same queries):", ""]
        lines += table(["passages", "kind", "breadth", "ms p50", "ms p95", "recall@10"], sweeps)
    return lines


TITLES = {
    "encoder": ("Encoder throughput", "bertsearch.Encoder against `SentenceTransformer.encode` on the same model, "
                "passages, batch size and device."),
    "reader": ("Reader throughput", "bertsearch.Reader against the transformers `question-answering` pipeline on the "
               "same model, questions, contexts and window settings. transformers 5 removed that pipeline, so this "
               "runs with transformers 4 first on the path, for both (see `benchmarks/reader.py`). bertsearch reads "
               "all questions in one `Reader.read_batch` call, the pipeline is given all question-context pairs in "
               "one call, and both put the same number of windows in a forward pass; `align_to_words=False`, so both "
               "return raw token spans."),
    "readersize": ("The bundled reader: accuracy, and speed against BERT-base", "all-MiniLM-L6-v2 fine-tuned on "
                   "SQuAD v1.1 train (docs/reader.md), against a BERT-base-sized QA model (random weights: speed "
                   "only), both through bertsearch.Reader on the same questions, one question and its paragraph at a "
                   "time, in turns."),
    "search": ("Search latency", "`Index.search` (with the query vector given, so no encoding) against raw FAISS "
               "on the same vectors: what bertsearch adds around FAISS."),
    "scale": ("Search at scale", "Index kinds chosen by size, memory-mapped files and hybrid's BM25 cap at 100k "
              "and 1M passages (`benchmarks/scale.py`). Cold open: median over new processes that import "
              "bertsearch, open the index and search once, spawn to exit (in parentheses: opening, with the FAISS "
              "file, and the first search)."),
    "ask": ("End-to-end `ask` latency", "One question at a time: encode the question, search, read the passages."),
    "pooling": ("Retrieval by pooling (SQuAD v1.1 dev)", ""),
    "onnx": ("The ONNX Runtime and OpenVINO backends against torch (CPU)", "bertsearch's encoder and reader on the "
             "exported ONNX graph, on ONNX Runtime (`--backend onnx`, the default for one-shot queries on a CPU-only "
             "machine) and on OpenVINO (`--backend openvino`, the default for indexing and serving where installed), "
             "against its torch ones and sentence-transformers, same inputs, in turns. Design and choices: "
             "[docs/onnx.md](onnx.md)."),
    "startup": ("Cold start of the CLI", "Whole-process wall time of one command, as a user runs it."),
}
RENDER = {"encoder": render_encoder, "reader": render_reader, "search": render_search, "ask": render_ask,
          "pooling": render_pooling, "scale": render_scale, "readersize": render_readersize, "onnx": render_onnx, "startup": render_startup}


def render(results_dir: Path = RESULTS) -> str:
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    lines = [INTRO]
    for name in ORDER:
        mine = [r for r in results if r["benchmark"] == name]
        if not mine:
            continue
        title, text = TITLES[name]
        lines += [f"## {title}", ""] + ([text, ""] if text else [])
        for result in mine:
            lines += RENDER[name](result)
    for fragment in sorted(results_dir.glob("*.md")):  # sections kept as Markdown by their scripts' authors
        lines += [fragment.read_text().rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page differs from what the results give")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    page = render(args.results)
    if args.check:
        if not args.page.exists() or args.page.read_text() != page:
            sys.exit(f"{args.page} is out of date: run python benchmarks/report.py")
        return
    args.page.write_text(page)
    print(f"wrote {args.page}", file=sys.stderr)


if __name__ == "__main__":
    main()
