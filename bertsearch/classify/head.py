"""The linear head every classifier ends in: probabilities = softmax(((v - mean) / std) @ weight.T + bias).

`v` is the encoder's L2-normalised pooled vector, the one an index stores. The three
methods only fill the head differently:

- probe: multinomial logistic regression on standardised frozen vectors, fitted full-batch
  with L-BFGS in torch (no new dependency; a few seconds for tens of thousands of vectors);
- zero-shot: one row per label, the embedded label template, over a temperature;
- fine-tune: trained with the encoder (see `finetune.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_L2 = 1e-2  # chosen on SST-2 dev: accuracy and calibration (docs/classification.md)
ZERO_SHOT_TEMPERATURE = 0.05  # cosines differ by hundredths: sharpen them into probabilities


@dataclass
class LinearHead:
    mean: np.ndarray  # (dim,)
    std: np.ndarray  # (dim,)
    weight: np.ndarray  # (labels, dim)
    bias: np.ndarray  # (labels,)

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        return ((np.asarray(vectors, np.float32) - self.mean) / self.std) @ self.weight.T + self.bias

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        return softmax(self.logits(vectors))

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, std=self.std, weight=self.weight, bias=self.bias)

    @classmethod
    def load(cls, path: Path) -> "LinearHead":
        with np.load(path, allow_pickle=False) as data:
            return cls(*(data[k].astype(np.float32) for k in ("mean", "std", "weight", "bias")))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def fit_probe(vectors: np.ndarray, targets: np.ndarray, n_labels: int, *, l2: float = DEFAULT_L2,
              max_iter: int = 500) -> LinearHead:
    """Multinomial logistic regression with an L2 penalty on the weights (not the bias), fitted with L-BFGS.

    The features are standardised first (unit vectors have tiny, uneven components),
    so one penalty strength suits every encoder.
    """
    import torch

    x = torch.from_numpy(np.asarray(vectors, np.float32))
    y = torch.from_numpy(np.asarray(targets, np.int64))
    mean, std = x.mean(0), x.std(0).clamp(min=1e-6)
    z = (x - mean) / std
    weight = torch.zeros(n_labels, x.shape[1], requires_grad=True)
    bias = torch.zeros(n_labels, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter, tolerance_grad=1e-6,
                                  history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(z @ weight.T + bias, y) + 0.5 * l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return LinearHead(mean.numpy(), std.numpy(), weight.detach().numpy(), bias.detach().numpy())


def zero_shot_head(label_vectors: np.ndarray, *, temperature: float = ZERO_SHOT_TEMPERATURE) -> LinearHead:
    """A head scoring each text by its cosine with each label's embedded template."""
    dim = label_vectors.shape[1]
    return LinearHead(np.zeros(dim, np.float32), np.full(dim, temperature, np.float32),
                      np.asarray(label_vectors, np.float32), np.zeros(len(label_vectors), np.float32))
