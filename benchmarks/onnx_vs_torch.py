"""The ONNX Runtime and OpenVINO backends against torch on the CPU: encoder and reader throughput, agreement,
cross-backend search.

Encoder: the default model encodes SQuAD v1.1 dev paragraphs with torch fp32,
torch bf16 autocast, sentence-transformers fp32, ONNX Runtime fp32 and int8,
and OpenVINO bf16 and fp32 (where installed), in turns; each contender's rankings of the paragraphs for their questions are
compared with torch fp32's (top-10 overlap, same top-1, recall@1). Across
backends: paragraphs encoded by one backend, questions by the other, same
top-1 as the querying backend's own vectors give.

Reader: the bundled reader reads each dev question with its own paragraph, all
in one `read_batch` call, with the same backends and precisions, in turns; the top answer (paragraph and character span) of every contender is
compared with torch fp32's on --agreement-questions questions.

    python benchmarks/onnx_vs_torch.py                 # 512 paragraphs, 2,000 reader questions
    python benchmarks/onnx_vs_torch.py --smoke --model M --reader R
    python benchmarks/onnx_vs_torch.py --graph-contenders "openvino bf16"   # torch fp32/bf16 are always run

(Not named onnx.py: the script's folder comes first on sys.path, and would shadow the `onnx` package.)
"""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
from common import SQUAD_DEV, in_turns, spread, squad_paragraphs_and_questions, write_result


def rank(queries: np.ndarray, passages: np.ndarray, depth: int = 10) -> np.ndarray:
    return np.argsort(-(queries @ passages.T), axis=1, kind="stable")[:, :depth]


GRAPH_CONTENDERS = ("onnx fp32", "onnx int8", "openvino bf16", "openvino fp32")


def graph_contenders(chosen: list[str] | None) -> list[str]:
    """The ONNX-graph contenders to run ("backend precision"): those chosen, else all whose runtime is installed."""
    installed = [c for c in GRAPH_CONTENDERS if importlib.util.find_spec("onnxruntime" if c.startswith("onnx ")
                                                                         else c.split()[0])]
    return chosen or installed


def encoders(model: str, pooling: str | None, batch_size: int, contenders: list[str]):
    """name -> callable encoding a list of texts; the encoder objects by name."""
    from sentence_transformers import SentenceTransformer

    from bertsearch.encoder import Encoder
    from bertsearch.checkpoints import resolve_model_path
    from bertsearch.onnx_encoder import OnnxEncoder

    models = {"torch fp32": Encoder(model, pooling=pooling, device="cpu", precision="fp32"),
              "torch bf16": Encoder(model, pooling=pooling, device="cpu", precision="bf16")}
    for name in contenders:
        backend, precision = name.split()
        models[name] = OnnxEncoder(model, pooling=pooling, precision=precision, backend=backend)
    runs = {name: (lambda texts, e=e: e.encode(texts, batch_size=batch_size)) for name, e in models.items()}
    peer = SentenceTransformer(resolve_model_path(model), device="cpu")
    peer.max_seq_length = models["torch fp32"].max_length
    runs["sentence-transformers fp32"] = lambda texts: peer.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return runs, models


def bench_encoder(args) -> dict:
    paragraphs, questions = squad_paragraphs_and_questions(args.squad)
    passages = paragraphs[: args.passages]
    questions = [q for q in questions if q[2] < len(passages)][: args.questions]
    query_texts, gold = [q[0] for q in questions], np.array([q[2] for q in questions])
    runs, models = encoders(args.model, None, args.batch_size, graph_contenders(args.graph_contenders))
    for run in runs.values():  # warm-up
        run(passages[: 2 * args.batch_size])
    seconds, vectors = in_turns({name: (lambda run=run: run(passages)) for name, run in runs.items()}, args.rounds)
    queries = {name: run(query_texts) for name, run in runs.items()}
    reference = rank(queries["torch fp32"], vectors["torch fp32"])
    tokens = sum(len(s) + 2 for s in models["torch fp32"].token_spans(passages))
    rows = []
    for name in runs:
        top = rank(queries[name], vectors[name])
        rows.append({
            "name": name,
            "passages_per_s": spread([len(passages) / t for t in seconds[name]]),
            "tokens_per_s": spread([tokens / t for t in seconds[name]]),
            "vs_torch_bf16": spread([b / t for b, t in zip(seconds["torch bf16"], seconds[name])]),
            "vs_sentence_transformers_fp32": spread([p / t for p, t in zip(seconds["sentence-transformers fp32"],
                                                                            seconds[name])]),
            "top10_overlap": float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top, reference)])),
            "same_top1": float(np.mean(top[:, 0] == reference[:, 0])),
            "recall@1": float(np.mean(top[:, 0] == gold)),
        })
    cross = []  # an index built by one backend, queried by the other
    pairs = [("torch bf16", "onnx int8"), ("onnx int8", "torch bf16"), ("torch fp32", "onnx fp32"),
             ("torch bf16", "onnx fp32"), ("onnx fp32", "torch bf16"), ("openvino bf16", "onnx fp32"),
             ("onnx fp32", "openvino bf16"), ("openvino bf16", "torch fp32"), ("torch bf16", "openvino bf16")]
    for built, asked in [(b, a) for b, a in pairs if b in runs and a in runs]:
        mixed, own = rank(queries[asked], vectors[built]), rank(queries[asked], vectors[asked])
        cross.append({"index_built_with": built, "queried_with": asked,
                      "same_top1_as_own_vectors": float(np.mean(mixed[:, 0] == own[:, 0])),
                      "same_top1_as_builder": float(np.mean(mixed[:, 0] == rank(queries[built], vectors[built])[:, 0])),
                      "recall@1": float(np.mean(mixed[:, 0] == gold))})
    return {"model": args.model, "passages": len(passages), "tokens": tokens, "questions": len(questions),
            "batch_size": args.batch_size, "rows": rows, "cross_backend": cross}


def bench_reader(args) -> dict:
    from bertsearch.onnx_reader import OnnxReader
    from bertsearch.reader import Reader

    paragraphs, questions = squad_paragraphs_and_questions(args.squad)
    readers = {"torch fp32": Reader(args.reader, device="cpu", precision="fp32"),
               "torch bf16": Reader(args.reader, device="cpu", precision="bf16")}
    for name in graph_contenders(args.graph_contenders):
        backend, precision = name.split()
        readers[name] = OnnxReader(args.reader, precision=precision, backend=backend)

    def answers(reader, chosen):
        found = reader.read_batch([q for q, _, _ in chosen], [[paragraphs[g]] for _, _, g in chosen], top_n=1)
        return [(s[0].start, s[0].end) if s else None for s in found]

    timed = questions[: args.reader_questions]
    for reader in readers.values():
        answers(reader, timed[:4])
    seconds, _ = in_turns({name: (lambda r=r: answers(r, timed)) for name, r in readers.items()}, args.rounds)
    agreeing = questions[: args.agreement_questions]
    top = {name: answers(reader, agreeing) for name, reader in readers.items() if name != "torch bf16"}
    rows = [{"name": name,
             "questions_per_s": spread([len(timed) / t for t in seconds[name]]),
             "vs_torch_bf16": spread([b / t for b, t in zip(seconds["torch bf16"], seconds[name])]),
             **({"same_top_answer_as_torch_fp32": float(np.mean([a == b for a, b in zip(top[name], top["torch fp32"])]))}
                if name in top else {})}
            for name in readers]
    return {"model": readers["torch fp32"].name, "timed_questions": len(timed), "agreement_questions": len(agreeing),
            "batch_size": readers["torch fp32"].batch_size, "rows": rows}


def main(argv=None):
    from bertsearch.checkpoints import BUNDLED_READER, DEFAULT_ENCODER

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_ENCODER)
    parser.add_argument("--reader", default=BUNDLED_READER)
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--passages", type=int, default=512)
    parser.add_argument("--questions", type=int, default=1000, help="questions for the encoder's ranking check")
    parser.add_argument("--batch-size", type=int, default=32, help="encoder batch size (bertsearch's CPU default)")
    parser.add_argument("--reader-questions", type=int, default=64, help="questions per timed reader run")
    parser.add_argument("--agreement-questions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--graph-contenders", nargs="+", choices=GRAPH_CONTENDERS,
                        help="the ONNX-graph contenders (default: all whose runtime is installed)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    parser.add_argument("--note", help="a line about how this run was made, kept in the result")
    args = parser.parse_args(argv)
    if args.smoke:
        args.passages, args.questions, args.reader_questions, args.agreement_questions, args.rounds = 16, 8, 4, 8, 1
    result = {"encoder": bench_encoder(args), "reader": bench_reader(args), "rounds": args.rounds,
              **({"note": args.note} if args.note else {})}
    write_result("onnx-cpu", result, args.out_dir, "cpu")
    for part in ("encoder", "reader"):
        print(part)
        for row in result[part]["rows"]:
            quality = {k: round(v, 4) for k, v in row.items() if isinstance(v, float)}
            print(f"  {row['name']:<28} x torch bf16 {row['vs_torch_bf16']['median']:.2f}  {quality}")
    for row in result["encoder"]["cross_backend"]:
        print(f"  index {row['index_built_with']}, queries {row['queried_with']}: "
              f"same top-1 {row['same_top1_as_own_vectors']:.1%}")
    return result


if __name__ == "__main__":
    main()
