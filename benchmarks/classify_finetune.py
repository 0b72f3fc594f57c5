"""Fine-tune the default encoder on SST-2 train (all of it, or a seeded sample) and score it once on SST-2 test.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/classify_finetune.py --epochs 2 --pooling mean --max-length 64

Early stopping reads a seeded sample of SST-2 dev (`--validation`, scored after each epoch);
test is scored once, at the end. A checkpoint is written after each epoch under
.cache/classify/ (git-ignored): `--resume` continues an interrupted run. Writes
benchmarks/results/classification/fine-tune-sst2-<N>-<pooling>-test.json: the training report
(losses, held-out accuracy per epoch, seconds per epoch), the evaluation, training and prediction
throughput and the machine's load; the fine-tuned classifier is saved under .cache/classify/.
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
    parser.add_argument("--train", type=int, default=None, help="SST-2 train sentences to sample (seeded); default all")
    parser.add_argument("--validation", type=int, default=2000, help="SST-2 dev sentences scored after each epoch")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--pooling", choices=["cls", "mean"], default="mean")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--freeze-word-embeddings", action="store_true")
    parser.add_argument("--eval", choices=["dev", "test"], default="test")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    from bertsearch import Classifier
    from bertsearch.classify.finetune import Recipe

    texts, labels = sample(*read_tsv(DATA / "sst2" / "train.tsv", header=True), args.train)
    held_texts, held_labels = sample(*read_tsv(DATA / "sst2" / "dev.tsv", header=True), args.validation, seed=1)
    eval_texts, eval_labels = read_tsv(DATA / "sst2" / f"{args.eval}.tsv", header=True)
    name = f"sst2-{args.train or 'all'}-{args.pooling}"
    recipe = Recipe(epochs=args.epochs, learning_rate=args.learning_rate, max_length=args.max_length,
                    freeze_word_embeddings=args.freeze_word_embeddings)
    load_before = os.getloadavg()
    classifier = Classifier.train(texts, labels, method="fine-tune", pooling=args.pooling, device="cpu",
                                  precision=args.precision, recipe=recipe, checkpoints=CACHE / f"fine-tune-{name}",
                                  resume=args.resume, progress=True, validation=(held_texts, held_labels))
    classifier.save(CACHE / f"fine-tuned-{name}")
    started = time.perf_counter()
    evaluation = classifier.evaluate(eval_texts, eval_labels)
    predict_seconds = time.perf_counter() - started
    report = classifier.report
    result = {
        "benchmark": "classify-fine-tune",
        "command": "python benchmarks/classify_finetune.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, shared with other jobs",
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "train_sentences": len(texts),
        "validation": f"{len(held_texts)} sentences of sst2/dev.tsv",
        "eval_set": f"sst2/{args.eval}.tsv",
        "training": report,
        "train_texts_per_second": round(len(texts) * len(report["epoch_train_seconds"])
                                        / max(sum(report["epoch_train_seconds"]), 1e-9), 1),
        "predict_texts_per_second": round(len(eval_texts) / predict_seconds, 1),
        "evaluation": evaluation.to_dict(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"fine-tune-{name}-{args.eval}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{path}: accuracy {evaluation.accuracy:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
