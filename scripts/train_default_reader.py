"""Train bertsearch's bundled reader: all-MiniLM-L6-v2 fine-tuned on SQuAD v1.1.

Three steps, each a subcommand (see docs/reader.md for the run that made the bundle):

    # here: fp16 base model and gzip'd SQuAD into .carry/ (for a GPU machine without them)
    python scripts/train_default_reader.py carry --squad ../shared/data/squad --to .carry
    # on the GPU: one run per setting, each scored on v1.1 dev and calibrated on v2.0 dev
    python scripts/train_default_reader.py train --data .carry --out runs/lr1e-4 --lr 1e-4 --epochs 3
    # keep the best run on dev F1 as the fp16 bundle, with its no-answer threshold
    python scripts/train_default_reader.py bundle runs/* --to bertsearch/models/reader
"""

import argparse
import gzip
import json
import shutil
from pathlib import Path

import torch

from bertsearch.reader import Reader
from bertsearch.squad import calibrate_no_answer, evaluate_reader
from bertsearch.training import RESULTS, default_base_model, export_fp16, train_reader

SQUAD_FILES = ("train-v1.1.json", "dev-v1.1.json", "dev-v2.0.json")


def carry(squad: Path, to: Path) -> None:
    """Write an fp16 copy of the base model and gzip'd SQuAD files into `to`."""
    from transformers import AutoModel

    export_fp16(default_base_model(), to / "base-fp16", auto_class=AutoModel)
    for name in SQUAD_FILES:
        with open(squad / name, "rb") as src, gzip.open(to / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)


def train(data: Path, out: Path, lr: float, epochs: int, batch_size: int, limit: int | None) -> None:
    """Train one setting (scored later, by `evaluate`, on the exported bundle)."""
    results = train_reader(
        data / "train-v1.1.json.gz",
        out,
        base_model=data / "base-fp16",
        epochs=epochs,
        learning_rate=lr,
        batch_size=batch_size,
        limit=limit,
    )
    print(json.dumps(results), flush=True)


def bundle(run: Path, to: Path) -> None:
    """Export a trained run as the fp16 bundle, with its training record."""
    export_fp16(run, to)
    _write_config(to, {"training": _read(run / RESULTS)})


def evaluate(bundle: Path, data: Path, limit: int | None) -> None:
    """Score the bundle on v1.1 dev, calibrate its no-answer threshold on v2.0 dev."""
    reader = Reader(str(bundle))
    if reader.precision == "fp32":
        reader.model.float()  # the bundle is stored in fp16; run it in the precision asked for
    dev = evaluate_reader(reader, data / "dev-v1.1.json.gz", limit, progress=True)
    calibration = calibrate_no_answer(reader, data / "dev-v2.0.json.gz", limit, progress=True)
    _write_config(bundle, {
        "no_answer_threshold": calibration["no_answer_threshold"],
        "calibrated_on": "SQuAD v2.0 dev, each question read in its gold paragraph",
        "squad_v1.1_dev": dev,
        "squad_v2.0_dev": calibration,
        "evaluated_on": reader.device,
    })
    print(json.dumps({"dev": dev, "calibration": calibration}, indent=2))


def _write_config(bundle: Path, values: dict) -> None:
    """Merge `values` into the bundle's reader_config.json."""
    path = bundle / "reader_config.json"
    config = _read(path) if path.exists() else {}
    path.write_text(json.dumps(config | values, indent=2) + "\n")


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("carry")
    p.add_argument("--squad", type=Path, default=Path("../shared/data/squad"))
    p.add_argument("--to", type=Path, default=Path(".carry"))
    p = commands.add_parser("train")
    p.add_argument("--data", type=Path, default=Path(".carry"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit", type=int, default=None)
    p = commands.add_parser("bundle")
    p.add_argument("run", type=Path)
    p.add_argument("--to", type=Path, default=Path("bertsearch/models/reader"))
    p = commands.add_parser("evaluate")
    p.add_argument("bundle", type=Path, nargs="?", default=Path("bertsearch/models/reader"))
    p.add_argument("--data", type=Path, default=Path(".carry"))
    p.add_argument("--limit", type=int, default=None)
    args = vars(parser.parse_args())
    {"carry": carry, "train": train, "bundle": bundle, "evaluate": evaluate}[args.pop("command")](**args)


if __name__ == "__main__":
    main()
