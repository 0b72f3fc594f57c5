"""Fine-tune the default encoder on a seeded sample of SST-2 train and score it on SST-2 test (or dev).

    python benchmarks/classify_finetune.py --train 2000 --epochs 1 --eval test

Writes benchmarks/results/classification/fine-tune-sst2-N.json: the training report
(losses, seconds, precision), the evaluation, prediction throughput and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from classify_vectors import CACHE, DATA, read_tsv, sample  # noqa: E402
from common import cpu_model  # noqa: E402

OUT = Path(__file__).parent / "results" / "classification"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000, help="SST-2 train sentences to sample (seeded)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--eval", choices=["dev", "test"], default="test")
    parser.add_argument("--pooling", choices=["cls", "mean"], default="cls")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)

    from bertsearch import Classifier
    from bertsearch.classify.finetune import Recipe

    texts, labels = sample(*read_tsv(DATA / "sst2" / "train.tsv", header=True), args.train)
    eval_texts, eval_labels = read_tsv(DATA / "sst2" / f"{args.eval}.tsv", header=True)
    load_before = os.getloadavg()
    classifier = Classifier.train(texts, labels, method="fine-tune", pooling=args.pooling, device="cpu",
                                  precision=args.precision, recipe=Recipe(epochs=args.epochs, held_out=0.05),
                                  checkpoints=CACHE / f"fine-tune-{args.train}-{args.pooling}", progress=True)
    started = time.perf_counter()
    evaluation = classifier.evaluate(eval_texts, eval_labels)
    predict_seconds = time.perf_counter() - started
    result = {
        "benchmark": "classify-fine-tune",
        "command": "python benchmarks/classify_finetune.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, shared with other jobs",
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "train_sentences": len(texts),
        "eval_set": f"sst2/{args.eval}.tsv",
        "training": classifier.report,
        "train_texts_per_second": round(classifier.report["train_examples"] * len(classifier.report["epoch_losses"])
                                        / classifier.report["train_seconds"], 1),
        "predict_texts_per_second": round(len(eval_texts) / predict_seconds, 1),
        "evaluation": evaluation.to_dict(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"fine-tune-sst2-{args.train}-{args.pooling}-{args.eval}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{path}: accuracy {evaluation.accuracy:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
