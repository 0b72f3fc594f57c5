"""Encode the classification data sets once, with [CLS] and mean pooling from one forward pass,
and cache the vectors under .cache/classify/ (git-ignored) for benchmarks/classify.py.

    python benchmarks/classify_vectors.py --sst2-train 12000 --sst2-dev 2000

Each cached set is a .npz with `cls`, `mean` (L2-normalised float32, as the index stores them),
the texts and the labels; it is reused when its texts are the same.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import REPO  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CACHE = REPO / ".cache" / "classify"


def read_tsv(path: Path, header: bool) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()[1 if header else 0 :]
    rows = [line.rsplit("\t", 1) for line in lines if line.strip()]
    return [r[0].strip() for r in rows], [r[1].strip() for r in rows]


def sample(texts, labels, n: int | None, seed: int = 0):
    if n is None or n >= len(texts):
        return texts, labels
    chosen = sorted(random.Random(seed).sample(range(len(texts)), n))
    return [texts[i] for i in chosen], [labels[i] for i in chosen]


def encode_both(encoder, texts: list[str], batch_size: int = 128) -> dict[str, np.ndarray]:
    """[CLS] and mean-pooled unit vectors from one pass of the encoder."""
    import torch

    from bertsearch.encoder import pool

    encoded = encoder.tokenizer(texts, truncation=True, max_length=encoder.max_length)
    order = sorted(range(len(texts)), key=lambda i: -len(encoded["input_ids"][i]))
    out = {p: np.zeros((len(texts), encoder.dim), np.float32) for p in ("cls", "mean")}
    with torch.inference_mode():
        for first in range(0, len(order), batch_size):
            batch = order[first : first + batch_size]
            features = encoder.tokenizer.pad({k: [encoded[k][i] for i in batch] for k in encoded.keys()},
                                             return_tensors="pt")
            hidden = encoder.model(**features).last_hidden_state
            for pooling in out:
                pooled = pool(hidden, features["attention_mask"], pooling).float()
                out[pooling][batch] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def cached(name: str, texts: list[str], labels: list[str], encoder) -> dict:
    path = CACHE / f"{name}.npz"
    if path.exists():
        data = np.load(path, allow_pickle=False)
        if list(data["texts"]) == texts:
            return {k: data[k] for k in data.files}
    started = time.perf_counter()
    vectors = encode_both(encoder, texts)
    seconds = time.perf_counter() - started
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, texts=np.array(texts), labels=np.array(labels), seconds=seconds, **vectors)
    print(f"{name}: {len(texts)} texts in {seconds:.0f} s", file=sys.stderr, flush=True)
    return {"texts": np.array(texts), "labels": np.array(labels), "seconds": seconds, **vectors}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sst2-train", type=int, default=12000, help="SST-2 train sentences to sample (seeded)")
    parser.add_argument("--sst2-dev", type=int, default=2000, help="SST-2 dev sentences to sample (seeded)")
    parser.add_argument("--skip-agnews", action="store_true")
    args = parser.parse_args(argv)

    from bertsearch.encoder import Encoder

    encoder = Encoder(device="cpu", precision="fp32")  # fp32: faster than bf16 on this loaded 2-core machine
    sst2 = DATA / "sst2"
    cached("sst2-test", *read_tsv(sst2 / "test.tsv", header=True), encoder)
    cached(f"sst2-dev-{args.sst2_dev}", *sample(*read_tsv(sst2 / "dev.tsv", header=True), args.sst2_dev), encoder)
    cached(f"sst2-train-{args.sst2_train}", *sample(*read_tsv(sst2 / "train.tsv", header=True), args.sst2_train), encoder)
    if not args.skip_agnews:
        cached("agnews", *read_tsv(DATA / "agnews" / "train.tsv", header=False), encoder)


if __name__ == "__main__":
    main()
