"""Retrieval by pooling on SQuAD: does the right paragraph come first?

Each SQuAD paragraph is one passage; each question is a query; a hit is the
question's own paragraph among the top k. Runs the product's Encoder on the
GPU when there is one.

    python benchmarks/pooling.py --squad ../shared/data/squad/dev-v1.1.json

The result is also written to benchmarks/results/pooling-{cpu,gpu}.json, which
benchmarks/report.py renders into docs/benchmarks.md.
"""

import argparse
import json
import platform
import time

import numpy as np


def recall(passages: np.ndarray, queries: np.ndarray, gold: np.ndarray, ks=(1, 5, 20)) -> dict:
    import torch

    scores = torch.from_numpy(queries) @ torch.from_numpy(passages).T
    top = torch.topk(scores, min(max(ks), scores.shape[1]), dim=1).indices.numpy()
    return {f"top{k}": float((top[:, :k] == gold[:, None]).any(1).mean()) for k in ks}


def main(argv=None):
    from common import squad_paragraphs_and_questions
    from bertsearch.encoder import Encoder
    from bertsearch.checkpoints import DEFAULT_ENCODER

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default="../shared/data/squad/dev-v1.1.json")
    parser.add_argument("--model", default=DEFAULT_ENCODER)
    parser.add_argument("--device")
    parser.add_argument("--limit", type=int, help="only the first N questions (and their paragraphs)")
    parser.add_argument("--out-dir", help="where to write the result JSON (default benchmarks/results)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no result file")
    args = parser.parse_args(argv)

    paragraphs, asked = squad_paragraphs_and_questions(args.squad)
    questions, gold = [q for q, _, _ in asked], np.array([n for _, _, n in asked])
    if args.limit:
        questions, gold = questions[: args.limit], gold[: args.limit]
        paragraphs = paragraphs[: gold.max() + 1]
    rows = []
    for pooling in ("cls", "mean"):
        encoder = Encoder(args.model, pooling=pooling, device=args.device)
        started = time.perf_counter()
        passage_vectors = encoder.encode(paragraphs)
        seconds = time.perf_counter() - started
        query_vectors = encoder.encode(questions)
        rows.append({"pooling": pooling, **recall(passage_vectors, query_vectors, gold),
                     "passages_per_s": len(paragraphs) / seconds, "device": encoder.device,
                     "precision": encoder.precision})
    print(json.dumps({"machine": platform.processor() or platform.machine(), "paragraphs": len(paragraphs),
                      "questions": len(questions), "model": args.model, "rows": rows}, indent=2))
    if not args.no_write:
        from common import write_result

        device = rows[0]["device"]
        write_result("pooling-gpu" if device.startswith("cuda") else "pooling-cpu",
                     {"paragraphs": len(paragraphs), "questions": len(questions), "model": args.model, "rows": rows},
                     args.out_dir, device)
    print(f"\n{'pooling':<8} {'top-1':>7} {'top-5':>7} {'top-20':>7}  ({len(questions)} questions, {len(paragraphs)} paragraphs)")
    for row in rows:
        print(f"{row['pooling']:<8} {row['top1']:>7.1%} {row['top5']:>7.1%} {row['top20']:>7.1%}")


if __name__ == "__main__":
    main()
