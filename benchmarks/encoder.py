"""Encoder throughput: bertsearch.Encoder against SentenceTransformer.encode.

Same model, passages, batch size and device, in the same process, in turns.
Passages are SQuAD v1.1 dev paragraphs; the vectors of each contender are
compared with bertsearch's fp32 ones (cosine), and so are the rankings they give
for the paragraphs' questions (same top-1, same top-10 list).

    python benchmarks/encoder.py                  # CPU: torch fp32 and bf16 autocast, ONNX Runtime fp32, OpenVINO bf16
    python benchmarks/encoder.py --device cuda    # GPU: adds fp16 and the share of bf16 peak FLOP/s
"""

from __future__ import annotations

import argparse
import contextlib

import numpy as np
from common import SQUAD_DEV, in_turns, spread, squad_paragraphs_and_questions, write_result

# Dense bf16 tensor-core peak FLOP/s from the vendor's data sheets, by name fragment.
BF16_PEAK = {"H100 PCIe": 756e12, "H100 NVL": 835e12, "H100": 989.4e12, "H200": 989.4e12, "A100": 312e12}


def bf16_peak(gpu_name: str) -> float | None:
    return next((peak for fragment, peak in BF16_PEAK.items() if fragment in gpu_name), None)


def encoder_flops(lengths: list[int], config) -> float:
    """Multiply-add FLOPs of a BERT encoder over sequences of these lengths (no padding)."""
    d, ff, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    return float(sum(layers * (n * (8 * d * d + 4 * d * ff) + 4 * n * n * d) for n in lengths))


def peer_pooling(model) -> str:
    """'cls' or 'mean': the pooling of a SentenceTransformer (config keys differ across versions)."""
    config = model[1].get_config_dict()
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return "cls" if "cls" in mode else "mean" if mode.startswith("mean") else mode
    return "cls" if config.get("pooling_mode_cls_token") else "mean"


def rank(queries: np.ndarray, passages: np.ndarray, depth: int = 10) -> np.ndarray:
    return np.argsort(-(queries @ passages.T), axis=1, kind="stable")[:, :depth]


def graph_encoders(model: str, pooling: str) -> dict:
    """bertsearch on the exported ONNX graph, CPU only: ONNX Runtime fp32 (the one-shot query default without
    OpenVINO) and OpenVINO bf16 (the default where installed; fp32 on a CPU without native bf16)."""
    from bertsearch.backends import openvino_installed
    from bertsearch.onnx_encoder import OnnxEncoder

    encoders = {"onnx": OnnxEncoder(model, pooling=pooling, precision="fp32")}
    if openvino_installed():
        from bertsearch.openvino_backend import auto_precision

        encoders["openvino"] = OnnxEncoder(model, pooling=pooling, precision=auto_precision(), backend="openvino")
    return {f"bertsearch {e.backend} {e.precision}": e for e in encoders.values()}


def main(argv=None):
    import torch
    from sentence_transformers import SentenceTransformer

    from bertsearch.device import choose_device, effective_precision
    from bertsearch.encoder import Encoder
    from bertsearch.checkpoints import DEFAULT_ENCODER, resolve_model_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_ENCODER)
    parser.add_argument("--device")
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--passages", type=int, default=512, help="how many SQuAD paragraphs to encode per run")
    parser.add_argument("--questions", type=int, default=1000, help="questions for the ranking check")
    parser.add_argument("--batch-size", type=int, help="default: bertsearch's own (32 on a CPU, 256 on a GPU)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs")
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    parser.add_argument("--note", help="a line about how this run was made, kept in the result")
    args = parser.parse_args(argv)
    if args.smoke:
        args.passages, args.questions, args.rounds = 24, 16, 1

    device = choose_device(args.device)
    gpu = device.startswith("cuda")
    paragraphs, questions = squad_paragraphs_and_questions(args.squad)
    passages = paragraphs[: args.passages]
    questions = [q for q in questions if q[2] < len(passages)][: args.questions]
    query_texts, gold = [q[0] for q in questions], np.array([q[2] for q in questions])

    path = resolve_model_path(args.model)
    peer32 = SentenceTransformer(path, device=device)
    pooling = peer_pooling(peer32)  # what the peer pools with (its default where the checkpoint declares none)
    precisions = ["fp32", "fp16", "bf16"] if gpu else ["fp32", "bf16"]
    ours = {p: Encoder(args.model, pooling=pooling, device=device, precision=p) for p in precisions}
    for p, encoder in ours.items():  # the same weights for all: a checkpoint stored in fp16 loads as fp16
        if p != "fp16":
            encoder.model.float()
    peer32.float()
    reference = ours["fp32"]
    batch_size = args.batch_size or reference.batch_size
    peer32.max_seq_length = reference.max_length
    peers = {"fp32": (peer32, contextlib.nullcontext)}
    if gpu:
        peer16 = SentenceTransformer(path, device=device).half()
        peer16.max_seq_length = reference.max_length
        peers["fp16"] = (peer16, contextlib.nullcontext)
    else:  # sentence-transformers has no precision option on a CPU: autocast around encode, as bertsearch does
        peers["bf16"] = (peer32, lambda: torch.autocast("cpu", dtype=torch.bfloat16))

    def ours_encode(encoder):
        return lambda texts=passages: encoder.encode(texts, batch_size=batch_size)

    def peer_encode(model, context):
        def run(texts=passages):
            with context():
                return model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
        return run

    contenders = {f"bertsearch {p}": ours_encode(e) for p, e in ours.items()}
    if not gpu:
        contenders.update({name: ours_encode(e) for name, e in graph_encoders(args.model, pooling).items()})
    contenders.update({f"sentence-transformers {p}": peer_encode(m, c) for p, (m, c) in peers.items()})
    for run in contenders.values():  # warm-up: first calls, CUDA kernels, oneDNN primitives
        run(passages[: 2 * batch_size])
    if gpu:
        torch.cuda.synchronize()
    seconds, vectors = in_turns(contenders, args.rounds)

    lengths = [len(ids) for ids in reference.tokenizer(passages, truncation=True, max_length=reference.max_length)["input_ids"]]
    tokens, flops = sum(lengths), encoder_flops(lengths, reference.model.config)
    reference_vectors = vectors["bertsearch fp32"]
    reference_top = rank(reference.encode(query_texts), reference_vectors)
    peak = bf16_peak(torch.cuda.get_device_name(device)) if gpu else None
    rows = []
    for name, run in contenders.items():
        times = seconds[name]
        cosine = np.sum(vectors[name] * reference_vectors, axis=1)
        top = rank(run(query_texts), vectors[name])
        row = {
            "name": name,
            "passages_per_s": spread([len(passages) / t for t in times]),
            "tokens_per_s": spread([tokens / t for t in times]),
            "cosine_to_fp32": {"min": float(cosine.min()), "mean": float(cosine.mean())},
            "same_top1": float(np.mean(top[:, 0] == reference_top[:, 0])),
            "same_top10": float(np.mean(np.all(top == reference_top, axis=1))),
            "top10_overlap": float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top, reference_top)])),
            "recall@1": float(np.mean(top[:, 0] == gold)),
        }
        if peak:
            row["bf16_peak_share"] = spread([flops / t / peak for t in times])
        rows.append(row)
    for row in rows:  # speed-ups against the peer at the same precision, and against its fp32
        name = row["name"]
        if name.startswith("bertsearch"):
            precision = name.split()[-1]
            for label, peer in (("vs_peer_same_precision", f"sentence-transformers {precision}"),
                                ("vs_peer_fp32", "sentence-transformers fp32")):
                if peer in seconds:
                    row[label] = spread([p / o for p, o in zip(seconds[peer], seconds[name])])
            if "bertsearch bf16" in seconds:  # against today's torch default on a CPU, bf16 autocast
                row["vs_torch_bf16"] = spread([b / o for b, o in zip(seconds["bertsearch bf16"], seconds[name])])

    from bertsearch.backends import choose_backend

    result = {
        "default_precision": effective_precision("auto", device),
        "default_backend": choose_backend(device=device, bulk=True),  # what `bertsearch index` encodes with
        "model": args.model,
        "pooling": pooling,
        "passages": len(passages),
        "tokens": tokens,
        "max_length": reference.max_length,
        "batch_size": batch_size,
        "questions": len(questions),
        "rounds": args.rounds,
        "flops_per_run": flops,
        "bf16_peak_flops": peak,
        "rows": rows,
        **({"note": args.note} if args.note else {}),
    }
    write_result("encoder-gpu" if gpu else "encoder-cpu", result, args.out_dir, device)
    print(f"{'contender':<32}{'passages/s (min/med/max)':>28}{'tokens/s med':>14}{'x ST fp32':>11}{'x bf16':>8}{'cos min':>9}{'top1':>7}{'top10 ov':>9}{'R@1':>7}")
    for row in rows:
        p = row["passages_per_s"]
        ratio = row.get("vs_peer_fp32", {}).get("median")
        print(f"{row['name']:<32}{p['min']:>10.1f}{p['median']:>9.1f}{p['max']:>9.1f}"
              f"{row['tokens_per_s']['median']:>14.0f}{(f'{ratio:.2f}x' if ratio else '-'):>11}"
              f"{row.get('vs_torch_bf16', {}).get('median', 0):>7.2f}x"
              f"{row['cosine_to_fp32']['min']:>9.5f}{row['same_top1']:>7.1%}{row['top10_overlap']:>9.1%}{row['recall@1']:>7.1%}")
    return result


if __name__ == "__main__":
    main()
