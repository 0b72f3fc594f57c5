"""Fine-tune the default encoder on AG News with 5-fold cross-validation over the same folds as
benchmarks/classify.py's probe and zero-shot.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/classify_finetune_agnews.py --epochs 1

Each fold trains on the other four (8,000 texts) and is scored on its own 2,000. With more than
one epoch, 5% of the training folds are held out for early stopping. Writes
benchmarks/results/classification/fine-tune-agnews.json (per fold, and mean and sd over folds),
with training and prediction throughput and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from classify import FOLDS, scores  # noqa: E402
from classify_vectors import DATA, read_tsv  # noqa: E402
from common import cpu_model  # noqa: E402

OUT = Path(__file__).parent / "results" / "classification"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--pooling", choices=["cls", "mean"], default="mean")
    parser.add_argument("--folds", type=int, default=FOLDS, help="how many of the 5 folds to run (the first N)")
    args = parser.parse_args(argv)

    from bertsearch import Classifier
    from bertsearch.classify.finetune import Recipe

    texts, labels = read_tsv(DATA / "agnews" / "train.tsv", header=False)
    folds = np.array_split(np.random.default_rng(0).permutation(len(labels)), FOLDS)  # as classify.py's
    recipe = Recipe(epochs=args.epochs, learning_rate=args.learning_rate, max_length=args.max_length,
                    held_out=0.05 if args.epochs > 1 else 0.0)
    load_before = os.getloadavg()
    runs = []
    for k, held in enumerate(folds[: args.folds]):
        train = np.concatenate([f for j, f in enumerate(folds) if j != k])
        with tempfile.TemporaryDirectory() as scratch:
            classifier = Classifier.train([texts[i] for i in train], [labels[i] for i in train], method="fine-tune",
                                          pooling=args.pooling, device="cpu", recipe=recipe, checkpoints=scratch,
                                          progress=True)
        started = time.perf_counter()
        evaluation = classifier.evaluate([texts[i] for i in held], [labels[i] for i in held])
        predict_seconds = time.perf_counter() - started
        report = classifier.report
        runs.append({**scores(evaluation), "train_examples": report["train_examples"],
                     "epoch_losses": report["epoch_losses"], "epoch_train_seconds": report["epoch_train_seconds"],
                     "train_texts_per_second": round(report["train_examples"] * len(report["epoch_train_seconds"])
                                                     / sum(report["epoch_train_seconds"]), 1),
                     "predict_texts_per_second": round(len(held) / predict_seconds, 1),
                     "load_average": round(os.getloadavg()[0], 1)})
        print(k, runs[-1], file=sys.stderr, flush=True)
        write(runs, args, argv, recipe, len(texts), load_before)  # after each fold: a cut-short run keeps its folds


def write(runs: list[dict], args, argv, recipe, texts: int, load_before) -> None:
    summary = {key: {"mean": round(statistics.mean(r[key] for r in runs), 4),
                     "stdev": round(statistics.stdev(r[key] for r in runs), 4) if len(runs) > 1 else None}
               for key in ("accuracy", "macro_f1", "ece", "train_texts_per_second", "predict_texts_per_second")}
    result = {
        "benchmark": "classify-fine-tune-agnews",
        "command": "python benchmarks/classify_finetune_agnews.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, shared with other jobs",
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "texts": texts, "folds_run": len(runs), "recipe": vars(recipe), "pooling": args.pooling,
        "summary": summary, "per_fold": runs,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fine-tune-agnews.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
