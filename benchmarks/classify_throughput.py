"""Training time and prediction throughput of the three methods, in one run on this machine.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/classify_throughput.py

probe: `Classifier.train` end to end (encoding included) on a seeded sample of SST-2 train;
zero-shot: building the head (two template sentences); fine-tuned: the classifier that
benchmarks/classify_finetune.py saved under .cache/classify/ (its training time is in that
benchmark's report). Each then predicts SST-2 test (872 sentences) end to end: tokenise,
encode, head (timed through `evaluate`, whose scoring adds milliseconds). Writes benchmarks/results/classification/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from classify import SST2_NAMES  # noqa: E402
from classify_vectors import CACHE, DATA, read_tsv, sample  # noqa: E402
from common import cpu_model  # noqa: E402

OUT = Path(__file__).parent / "results" / "classification"


def timed(make):
    started = time.perf_counter()
    value = make()
    return value, time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe-train", type=int, default=4000, help="SST-2 train sentences for the probe")
    parser.add_argument("--fine-tuned", default=str(CACHE / "fine-tuned-sst2-all-mean"))
    args = parser.parse_args(argv)

    from bertsearch import Classifier

    texts, labels = sample(*read_tsv(DATA / "sst2" / "train.tsv", header=True), args.probe_train)
    test_texts, test_labels = read_tsv(DATA / "sst2" / "test.tsv", header=True)
    load_before = os.getloadavg()
    methods = {}
    probe, seconds = timed(lambda: Classifier.train(texts, labels, device="cpu"))
    methods["probe"] = {"train_texts": len(texts), "train_seconds": round(seconds, 1),
                        "train_texts_per_second": round(len(texts) / seconds, 1)}
    zero_shot, seconds = timed(lambda: Classifier.zero_shot(list(SST2_NAMES.values()), device="cpu"))
    methods["zero-shot"] = {"train_texts": 0, "train_seconds": round(seconds, 1)}
    classifiers = {"probe": probe, "zero-shot": zero_shot}
    if Path(args.fine_tuned).exists():
        classifiers["fine-tune"] = Classifier.load(args.fine_tuned, device="cpu")
        methods["fine-tune"] = {"train_seconds": sum(classifiers["fine-tune"].report["epoch_train_seconds"])}
    for name, classifier in classifiers.items():
        classifier.encoder  # loaded before the clock starts
        truth = [SST2_NAMES[y] for y in test_labels] if name == "zero-shot" else test_labels
        evaluation, seconds = timed(lambda: classifier.evaluate(test_texts, truth))  # predicting, then scoring
        methods[name].update(predict_texts=len(test_texts), predict_seconds=round(seconds, 1),
                             predict_texts_per_second=round(len(test_texts) / seconds, 1),
                             precision=classifier.encoder.precision, test_accuracy=round(evaluation.accuracy, 4))
        print(name, methods[name], file=sys.stderr, flush=True)
    result = {
        "benchmark": "classify-throughput",
        "command": "python benchmarks/classify_throughput.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, shared with other jobs",
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "methods": methods,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "throughput.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
