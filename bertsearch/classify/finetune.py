"""Fine-tuning the whole encoder with a linear head, the classic recipe.

The head reads the pooled vector (mean by default, [CLS] if asked) L2-normalised and multiplied
by SCALE, the same unit vector an index stores, so a fine-tuned classifier ends in the same
`LinearHead` as a probe. AdamW (the encoder at `learning_rate`, the freshly initialised
head at `head_learning_rate`; fused: one kernel over all parameters instead of a loop over
tensors), 10% linear warm-up then linear decay, gradient clipping at 1.0, bf16 autocast where
`device.effective_precision` picks it. A held-out share of the data (or the validation set
given) is scored after each epoch: the best epoch's weights are kept and training stops
after `patience` epochs without improvement. A checkpoint is written after each epoch;
`resume=True` continues after the last one.

Speed on a CPU comes from padding: each batch is padded only to its longest text, and
batches are drawn from length-grouped pools (`length_grouped_batches`), so a batch holds
texts of similar length. Short texts (SST-2 averages 13 tokens, with a long tail to 66)
then cost what they are, not what the longest text of a random batch costs. The order
stays random between pools and between batches, and every text is trained on once an epoch.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..device import autocast, choose_device, effective_precision
from ..encoder import pool
from .head import LinearHead

SCALE = 20.0  # unit vectors times SCALE: logits of a useful size from the first step
CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"


@dataclass
class Recipe:
    epochs: int = 3
    learning_rate: float = 3e-5
    head_learning_rate: float = 1e-3
    batch_size: int = 32
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    held_out: float = 0.1
    patience: int = 1
    max_length: int = 128
    seed: int = 42
    group_by_length: bool = True  # batches of similar lengths (see length_grouped_batches); False: random batches
    freeze_word_embeddings: bool = False  # True: the vocabulary's vectors stay as they are (half the optimizer's work)
    fused_optimizer: bool = True  # one AdamW kernel over all parameters (False: torch's loop over tensors)


def fine_tune(model, tokenizer, texts: list[str], targets: np.ndarray, n_labels: int, *, pooling: str,
              recipe: Recipe, checkpoints: Path, device: str | None = None, precision: str = "auto",
              resume: bool = False, progress: bool = False,
              validation: tuple[list[str], np.ndarray] | None = None) -> tuple[LinearHead, dict]:
    """Train `model` (a transformers AutoModel, updated in place) and a head on the texts; returns the head and a report.

    `validation` (texts, targets) is the held-out set scored after each epoch; without it,
    `recipe.held_out` of the texts are set aside for that."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    device = choose_device(device)
    precision = effective_precision(precision, device)
    torch.manual_seed(recipe.seed)
    model.float().to(device)
    head = torch.nn.Linear(model.config.hidden_size, n_labels).to(device)
    if validation is not None:
        train, held = np.arange(len(texts)), np.arange(len(texts), len(texts) + len(validation[0]))
        texts, targets = [*texts, *validation[0]], np.concatenate([np.asarray(targets), np.asarray(validation[1])])
    else:
        train, held = _split(len(texts), recipe.held_out, recipe.seed)
    encoded = tokenizer(list(texts), truncation=True, max_length=recipe.max_length)
    if recipe.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in model.parameters() if p.requires_grad], "lr": recipe.learning_rate},
         {"params": head.parameters(), "lr": recipe.head_learning_rate}],
        weight_decay=recipe.weight_decay, fused=recipe.fused_optimizer and _fused_adamw_runs_on(device),
    )
    total_steps = recipe.epochs * math.ceil(len(train) / recipe.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(recipe.warmup_ratio * total_steps), total_steps)
    state = {"epoch_losses": [], "held_out_accuracy": [], "best_epoch": None}
    checkpoints.mkdir(parents=True, exist_ok=True)
    if resume and (checkpoints / CHECKPOINT).exists():
        state = _load_checkpoint(checkpoints / CHECKPOINT, model, head, optimizer, scheduler, device)
    run = _Run(model, head, tokenizer, encoded, targets, pooling, device, precision, recipe)

    for epoch in range(len(state["epoch_losses"]), recipe.epochs):
        if _patience_spent(state, recipe.patience):
            break
        began = time.perf_counter()
        state["epoch_losses"].append(run.train_epoch(train, optimizer, scheduler, recipe.seed + epoch,
                                                     f"epoch {epoch + 1}/{recipe.epochs}", progress))
        state.setdefault("epoch_train_seconds", []).append(round(time.perf_counter() - began, 1))
        if len(held):
            began = time.perf_counter()
            state["held_out_accuracy"].append(run.accuracy(held))
            state.setdefault("epoch_held_out_seconds", []).append(round(time.perf_counter() - began, 1))
        if not len(held) or state["held_out_accuracy"][-1] > max(state["held_out_accuracy"][:-1], default=-1):
            state["best_epoch"] = epoch + 1
            torch.save({"model": model.state_dict(), "head": head.state_dict()}, checkpoints / BEST)
        _save_checkpoint(checkpoints / CHECKPOINT, model, head, optimizer, scheduler, state)
    best = torch.load(checkpoints / BEST, map_location=device)
    model.load_state_dict(best["model"])
    head.load_state_dict(best["head"])
    model.eval()
    report = {**state, "stopped_early": len(state["epoch_losses"]) < recipe.epochs, "train_examples": len(train),
              "held_out_examples": len(held), "train_seconds": _seconds_spent(state),
              "device": device, "precision": precision, **{f"recipe_{k}": v for k, v in vars(recipe).items()}}
    return _as_linear_head(head), report


def length_grouped_batches(lengths, indices: np.ndarray, batch_size: int, seed: int,
                           pool_batches: int = 50) -> list[np.ndarray]:
    """`indices` shuffled into batches of similar lengths, each index in exactly one batch.

    The shuffled indices are cut into pools of `pool_batches` batches; each pool is sorted
    by length and cut into batches; the batches of all pools are shuffled. Randomness stays
    (which texts share a pool, the order of batches) while padding nearly vanishes.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(np.asarray(indices))
    pool = batch_size * pool_batches
    batches = []
    for first in range(0, len(order), pool):
        chunk = order[first : first + pool]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _fused_adamw_runs_on(device: str) -> bool:
    """torch's fused AdamW runs on CUDA, and on the CPU since torch 2.4."""
    import torch

    kind = device.split(":")[0]
    version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    return kind == "cuda" or (kind == "cpu" and version >= (2, 4))


def _seconds_spent(state: dict) -> float:
    """Training and held-out scoring over every epoch, those of earlier runs that this one resumed included."""
    return round(sum(state.get("epoch_train_seconds", [])) + sum(state.get("epoch_held_out_seconds", [])), 1)


def _patience_spent(state: dict, patience: int) -> bool:
    scores = state["held_out_accuracy"]
    return bool(scores) and state["best_epoch"] is not None and len(scores) - state["best_epoch"] >= patience


def _split(n: int, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded held-out share (none when it would be under 2 texts), and the rest for training."""
    order = np.random.default_rng(seed).permutation(n)
    size = int(round(held_out * n))
    size = size if size >= 2 and size < n else 0
    return order[size:], order[:size]


def _as_linear_head(head) -> LinearHead:
    dim = head.weight.shape[1]
    return LinearHead(np.zeros(dim, np.float32), np.full(dim, 1 / SCALE, np.float32),
                      head.weight.detach().float().cpu().numpy(), head.bias.detach().float().cpu().numpy())


class _Run:
    """The model, head and tokenised texts of one training run."""

    def __init__(self, model, head, tokenizer, encoded, targets, pooling, device, precision, recipe: Recipe):
        import torch

        self.model, self.head, self.tokenizer, self.encoded = model, head, tokenizer, encoded
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
        self.pooling, self.device, self.precision, self.recipe = pooling, device, precision, recipe
        self.lengths = [len(ids) for ids in encoded["input_ids"]]

    def batches(self, indices: np.ndarray, seed: int) -> list[np.ndarray]:
        size = self.recipe.batch_size
        if self.recipe.group_by_length:
            return length_grouped_batches(self.lengths, indices, size, seed)
        order = np.random.default_rng(seed).permutation(indices)
        return [order[i : i + size] for i in range(0, len(order), size)]

    def logits(self, indices):
        import torch

        features = self.tokenizer.pad({k: [self.encoded[k][i] for i in indices] for k in self.encoded.keys()},
                                      return_tensors="pt").to(self.device)
        with autocast(self.device, self.precision):
            hidden = self.model(**features).last_hidden_state
            pooled = pool(hidden, features["attention_mask"], self.pooling).float()
        return self.head(torch.nn.functional.normalize(pooled, dim=-1) * SCALE)

    def train_epoch(self, train: np.ndarray, optimizer, scheduler, seed: int, desc: str, progress: bool) -> float:
        import torch
        from tqdm.auto import tqdm

        self.model.train()
        batches = self.batches(train, seed)
        total = 0.0
        bar = tqdm(batches, desc=desc, disable=not progress, leave=False)
        for step, indices in enumerate(bar, 1):
            loss = torch.nn.functional.cross_entropy(self.logits(indices), self.targets[indices].to(self.device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_([*self.model.parameters(), *self.head.parameters()], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item()
            bar.set_postfix(loss=f"{total / step:.3f}")
        return total / max(len(batches), 1)

    def accuracy(self, indices: np.ndarray) -> float:
        import torch

        self.model.eval()
        right = 0
        by_length = np.asarray(indices)[np.argsort([self.lengths[i] for i in indices], kind="stable")]
        with torch.inference_mode():
            for first in range(0, len(by_length), 128):
                chunk = by_length[first : first + 128]
                right += int((self.logits(chunk).argmax(1).cpu() == self.targets[chunk]).sum())
        return right / len(indices)


def _save_checkpoint(path: Path, model, head, optimizer, scheduler, state: dict) -> None:
    import torch

    partial = path.with_suffix(".partial")
    torch.save({"model": model.state_dict(), "head": head.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "state": copy.deepcopy(state)}, partial)
    partial.replace(path)  # a crash mid-write leaves the last good one


def _load_checkpoint(path: Path, model, head, optimizer, scheduler, device) -> dict:
    import torch

    saved = torch.load(path, map_location=device)
    model.load_state_dict(saved["model"])
    head.load_state_dict(saved["head"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    return saved["state"]
