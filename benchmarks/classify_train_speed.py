"""Fine-tuning speed on this machine: training examples per second of the loop as it was (random
batches, torch's AdamW loop over tensors, bf16, both cores) and with each change added, over the
same seeded SST-2 train sample.

    nice -n 10 python benchmarks/classify_train_speed.py --steps 10

Each setting trains the default encoder for `--steps` batches of 32 (one epoch, nothing held
out) through `Classifier.train`; the figure is the time spent in training steps only
(`epoch_train_seconds` in the report: no checkpoint writing, no held-out scoring). Settings run
in turns, the order rotating, `--rounds` times; the machine's load is recorded before and after.
Writes benchmarks/results/classification/train-speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from classify_vectors import DATA, read_tsv, sample  # noqa: E402
from common import cpu_model  # noqa: E402

OUT = Path(__file__).parent / "results" / "classification"
BEFORE = dict(group_by_length=False, fused_optimizer=False, precision="bf16", threads=2)  # the loop as it was
AFTER = dict(group_by_length=True, fused_optimizer=True, precision="bf16", threads=1)  # as fine-tuning runs now
SETTINGS = {
    "before: random batches, AdamW loop, bf16, 2 threads": BEFORE,
    "random batches, AdamW loop, bf16, 1 thread": {**BEFORE, "threads": 1},
    "length-grouped, AdamW loop, bf16, 1 thread": {**BEFORE, "threads": 1, "group_by_length": True},
    "after: length-grouped, fused AdamW, bf16, 1 thread": AFTER,
    "after, 2 threads": {**AFTER, "threads": 2},
    "after, fp32": {**AFTER, "precision": "fp32"},
    "after, word embeddings frozen": {**AFTER, "freeze_word_embeddings": True},
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="training batches per setting")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--only", action="append", choices=list(SETTINGS), help="run only these settings")
    args = parser.parse_args(argv)

    import torch

    from bertsearch import Classifier
    from bertsearch.classify.finetune import Recipe

    texts, labels = sample(*read_tsv(DATA / "sst2" / "train.tsv", header=True), args.steps * 32, seed=1)
    names = args.only or list(SETTINGS)
    seconds = {name: [] for name in names}
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            setting = dict(SETTINGS[name])
            precision, threads = setting.pop("precision"), setting.pop("threads")
            recipe = Recipe(epochs=1, held_out=0.0, max_length=args.max_length, **setting)
            torch.set_num_threads(threads)
            with tempfile.TemporaryDirectory() as scratch:
                classifier = Classifier.train(texts, labels, method="fine-tune", device="cpu",
                                              precision=precision, recipe=recipe, checkpoints=scratch)
            seconds[name].append(classifier.report["epoch_train_seconds"][0])
            print(f"{name}: {len(texts) / seconds[name][-1]:.1f} examples/s (load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr)
    per_second = {name: round(len(texts) / min(values), 1) for name, values in seconds.items()}
    baseline = per_second[names[0]]  # the first setting run: "before" unless --only leaves it out
    result = {
        "benchmark": "classify-train-speed",
        "command": "python benchmarks/classify_train_speed.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, shared with other jobs",
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "examples": len(texts),
        "batch_size": 32,
        "max_length": args.max_length,
        "train_seconds": seconds,
        "examples_per_second_best": per_second,
        "settings": {name: SETTINGS[name] for name in names},
        "speedup_over_first": {name: round(v / baseline, 2) for name, v in per_second.items()},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "train-speed.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["examples_per_second_best"]), file=sys.stderr)


if __name__ == "__main__":
    main()
