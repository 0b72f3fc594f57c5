"""Train bertsearch's bundled reader: all-MiniLM-L6-v2 fine-tuned on SQuAD v1.1.

Each step is a subcommand; docs/reader.md gives the exact run:

    # here: an fp16 base model and gzip'd SQuAD in .carry/, for a GPU machine that lacks them
    python scripts/train_default_reader.py carry --squad ../shared/data/squad
    # on the GPU
    python scripts/train_default_reader.py train --out runs/reader
    python scripts/train_default_reader.py bundle runs/reader --to bundle
    python scripts/train_default_reader.py evaluate bundle     # v1.1 dev EM/F1, v2.0 dev threshold
    # here, on the CPU: measure speed and write the model card
    python scripts/train_default_reader.py card bertsearch/models/reader
"""

import argparse
import gzip
import json
import os
import shutil
import time
from pathlib import Path

from bertsearch.reader import Reader
from bertsearch.eval.squad import calibrate_no_answer, evaluate_reader, load_squad
from bertsearch.eval.training import CHECKPOINT, RESULTS, default_base_model, export_fp16, train_reader

SQUAD_FILES = ("train-v1.1.json", "dev-v1.1.json", "dev-v2.0.json")
CONFIG = "reader_config.json"


def carry(squad: Path, to: Path) -> None:
    """Write an fp16 copy of the base model and gzip'd SQuAD files into `to`."""
    from transformers import AutoModel

    export_fp16(default_base_model(), to / "base-fp16", auto_class=AutoModel)
    for name in SQUAD_FILES:
        with open(squad / name, "rb") as src, gzip.open(to / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)


def train(data: Path, out: Path, lr: float, epochs: int, batch_size: int, limit: int | None) -> None:
    """Train the reader (it is scored by `evaluate`, once bundled)."""
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
    """Export a run as the fp16 bundle; a run cut short gives its last finished epoch."""
    if not (run / RESULTS).exists():
        _save_last_epoch(run)
    export_fp16(run, to)
    _write_config(to, {"training": _read(run / RESULTS)})


def evaluate(bundle: Path, data: Path, limit: int | None) -> None:
    """Score the bundle on v1.1 dev and calibrate its no-answer threshold on v2.0 dev."""
    reader = _reader(bundle)
    dev = evaluate_reader(reader, data / "dev-v1.1.json.gz", limit, progress=True)
    calibration = calibrate_no_answer(reader, data / "dev-v2.0.json.gz", limit, progress=True)
    _write_config(bundle, {
        "no_answer_threshold": calibration["no_answer_threshold"],
        "calibrated_on": "SQuAD v2.0 dev, each question read in its gold paragraph",
        "squad_v1.1_dev": dev,
        "squad_v2.0_dev": calibration,
        "evaluated_on": f"{reader.device}, {reader.precision}",
    })
    print(json.dumps({"dev": dev, "calibration": calibration}, indent=2))


def card(bundle: Path, data: Path, questions: int) -> None:
    """Time the bundle on this CPU, then write its model card from reader_config.json."""
    reader = _reader(bundle, device="cpu")
    sample = load_squad(data / "dev-v1.1.json.gz", questions)
    started = time.perf_counter()
    for q in sample:
        reader.read(q.question, [q.context])
    speed = {
        "questions_per_second": round(len(sample) / (time.perf_counter() - started), 1),
        "questions": len(sample),
        "cpu_cores": os.cpu_count(),
        "torch_threads": reader._torch.get_num_threads(),
    }
    _write_config(bundle, {"cpu_speed": speed})
    size_mb = (bundle / "model.safetensors").stat().st_size / 1e6
    (bundle / "README.md").write_text(_model_card(_read(bundle / CONFIG), size_mb))


def _reader(bundle: Path, device: str | None = None) -> Reader:
    return Reader(str(bundle), device=device)


def _save_last_epoch(run: Path) -> None:
    """Turn the last epoch checkpoint of an unfinished run into a saved model."""
    import torch
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    state = torch.load(run / CHECKPOINT, map_location="cpu")
    model = AutoModelForQuestionAnswering.from_config(AutoConfig.from_pretrained(run))
    model.load_state_dict(state["model"])
    model.save_pretrained(run)
    (run / RESULTS).write_text(json.dumps({"cut_short_after_epoch": state["epoch"],
                                           "epoch_losses": state["epoch_losses"]}, indent=2))


def _write_config(bundle: Path, values: dict) -> None:
    """Merge `values` into the bundle's reader_config.json."""
    path = bundle / CONFIG
    config = _read(path) if path.exists() else {}
    path.write_text(json.dumps(config | values, indent=2) + "\n")


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _model_card(config: dict, size_mb: float) -> str:
    training, dev, v2 = config["training"], config["squad_v1.1_dev"], config["squad_v2.0_dev"]
    tuned, raw, speed = v2["with_threshold"], v2["without_threshold"], config["cpu_speed"]
    return f"""# bertsearch bundled reader

An extractive question-answering model: `sentence-transformers/all-MiniLM-L6-v2` (6 layers,
384 dims, 22.7M parameters) fine-tuned on SQuAD v1.1 train, stored in fp16 ({size_mb:.0f} MB).
It is what `bertsearch ask` uses when no `--reader` is given.

## Training
- data: SQuAD v1.1 train, 87,599 questions ({training.get("windows", "?")} windows of 384 tokens, stride 128)
- recipe: `bertsearch.eval.training.train_reader`: {training.get("epochs", "?")} epochs, batch {training.get("batch_size", "?")},
  AdamW at peak learning rate {training.get("learning_rate", "?")}, 10% warmup then linear decay,
  gradient clipping 1.0, bf16 autocast; epoch losses {[round(x, 3) for x in training["epoch_losses"]]}
- device: {training.get("device", "?")}, {training.get("train_seconds", "?")} s of training
- command: `scripts/train_default_reader.py` (see docs/reader.md)

## Accuracy (each question read in its gold paragraph, through `bertsearch.reader.Reader`, {config["evaluated_on"]})
| set | EM | F1 | questions |
|---|---|---|---|
| SQuAD v1.1 dev | {dev["exact_match"]:.1f} | {dev["f1"]:.1f} | {dev["total"]} |
| SQuAD v2.0 dev, always answering | {raw["exact_match"]:.1f} | {raw["f1"]:.1f} | {raw["total"]} |
| SQuAD v2.0 dev, with the no-answer threshold | {tuned["exact_match"]:.1f} | {tuned["f1"]:.1f} | {tuned["total"]} |

## No-answer threshold
`reader_config.json` holds `no_answer_threshold` = {config["no_answer_threshold"]:.3f}: when the best span's
score (start logit + end logit) is below it, `ask` answers nothing. It is the cut that maximises F1 over all
{tuned["total"]:,} SQuAD v2.0 dev questions (the official "best_f1"). At that threshold: HasAns F1
{tuned["HasAns_f1"]:.1f} ({tuned["HasAns_total"]} questions), NoAns accuracy {tuned["NoAns_exact_match"]:.1f}
({tuned["NoAns_total"]} questions), overall F1 {tuned["f1"]:.1f}; without it, HasAns F1 {raw["HasAns_f1"]:.1f},
NoAns accuracy {raw["NoAns_exact_match"]:.1f}, overall F1 {raw["f1"]:.1f}. The model never saw an
unanswerable question in training, so the threshold is a rough filter. It was picked on the same
v2.0 dev set it is scored on, so these figures are optimistic.

## Speed
{speed["questions_per_second"]} questions per second on this CPU ({speed["cpu_cores"]} cores, {speed["torch_threads"]} torch threads),
one SQuAD paragraph per question, fp32, over the first {speed["questions"]} v1.1 dev questions.

## Licence
Base model Apache-2.0; SQuAD CC BY-SA 4.0 (Rajpurkar et al.).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("carry", help="fp16 base model and gzip'd SQuAD into a folder")
    p.add_argument("--squad", type=Path, default=Path("../shared/data/squad"))
    p.add_argument("--to", type=Path, default=Path(".carry"))
    p = commands.add_parser("train", help="fine-tune the base model on SQuAD v1.1 train")
    p.add_argument("--data", type=Path, default=Path(".carry"))
    p.add_argument("--out", type=Path, default=Path("runs/reader"))
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None)
    p = commands.add_parser("bundle", help="export a run as the fp16 bundle")
    p.add_argument("run", type=Path)
    p.add_argument("--to", type=Path, default=Path("bertsearch/models/reader"))
    p = commands.add_parser("evaluate", help="v1.1 dev EM/F1 and the v2.0 dev no-answer threshold")
    p.add_argument("bundle", type=Path, nargs="?", default=Path("bertsearch/models/reader"))
    p.add_argument("--data", type=Path, default=Path(".carry"))
    p.add_argument("--limit", type=int, default=None)
    p = commands.add_parser("card", help="CPU speed and the model card README.md")
    p.add_argument("bundle", type=Path, nargs="?", default=Path("bertsearch/models/reader"))
    p.add_argument("--data", type=Path, default=Path(".carry"))
    p.add_argument("--questions", type=int, default=300)
    args = vars(parser.parse_args())
    {"carry": carry, "train": train, "bundle": bundle, "evaluate": evaluate, "card": card}[args.pop("command")](**args)


if __name__ == "__main__":
    main()
