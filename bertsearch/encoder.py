"""Turning passages and queries into L2-normalised vectors with a BERT-family model.

One Encoder may serve several threads (a watcher indexing while a server
searches): a fast tokenizer keeps its truncation settings as shared state, so
tokenizer calls take the encoder's lock; the model's forward passes do not.
"""

import threading
from collections.abc import Sequence

import numpy as np

from .device import autocast, choose_device, effective_precision, prepare
from .errors import InvalidSettingError, ModelLoadError
from .batching import by_length
from .checkpoints import DEFAULT_ENCODER, load_failure, quiet_loading, read_model_file, resolve_model_path

POOLINGS = ("cls", "mean")


def declared_pooling(model_path: str) -> str | None:
    """The pooling a sentence-transformers checkpoint declares, or None if it declares none."""
    modules = read_model_file(model_path, "modules.json") or []
    folder = next((m["path"] for m in modules if m.get("type", "").endswith("Pooling")), None)
    if folder is None:
        return None
    config = read_model_file(model_path, f"{folder}/config.json") or {}
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    return None


def pool(hidden: "torch.Tensor", attention_mask: "torch.Tensor", pooling: str) -> "torch.Tensor":
    """Pool token states (batch, tokens, dim) into one vector per text."""
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class Encoder:
    """A BERT-family encoder that returns pooled, L2-normalised float32 vectors.

    `pooling` defaults to what the checkpoint declares (sentence-transformers'
    `1_Pooling/config.json`), and to [CLS] for checkpoints that declare nothing.
    """

    def __init__(
        self,
        model: str = DEFAULT_ENCODER,
        pooling: str | None = None,
        device: str | None = None,
        precision: str = "auto",
        batch_size: int | None = None,
        max_length: int | None = None,
    ):
        import torch
        from transformers import AutoModel, AutoTokenizer

        if pooling is not None and pooling not in POOLINGS:
            raise InvalidSettingError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
        self.device = choose_device(device)  # a device this machine lacks fails before any loading
        self.precision = effective_precision(precision, self.device)
        self.name = model
        path = resolve_model_path(model)
        try:
            with quiet_loading():
                self.tokenizer = AutoTokenizer.from_pretrained(path)
                self.model = AutoModel.from_pretrained(path)
        except (OSError, ValueError, KeyError) as error:
            raise ModelLoadError(load_failure("encoder", model, error)) from None
        if not self.tokenizer.is_fast:
            raise ModelLoadError(f"encoder model '{model}' has no fast tokenizer, which bertsearch needs for offsets")
        self.pooling = pooling or declared_pooling(path) or "cls"
        prepare(self.model, self.device, self.precision)
        self.batch_size = batch_size or (256 if self.device == "cuda" else 32)
        self.max_length = max_length or _max_length(path, self.model, self.tokenizer)
        self.dim = self.model.config.hidden_size
        self._torch = torch
        self._tokenizer_lock = threading.Lock()  # see the module docstring

    @property
    def fingerprint(self) -> dict:
        """What an index must agree on to share vectors with this encoder."""
        return {"model": self.name, "pooling": self.pooling, "dim": self.dim}

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character spans of each text's tokens (no special tokens), for chunking."""
        with self._tokenizer_lock:
            encoded = self.tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)
        return encoded["offset_mapping"]

    def encode(self, texts: str | Sequence[str], batch_size: int | None = None, progress=None) -> np.ndarray:
        """Encode `texts` into an (n, dim) float32 array of unit vectors, in input order;
        a single string gives one (dim,) vector.

        Texts are sorted by length and batched so little work goes to padding;
        `progress`, if given, is called with the number of texts done per batch.
        """
        if isinstance(texts, str):
            return self.encode([texts], batch_size, progress)[0]
        torch = self._torch
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        with self._tokenizer_lock:
            encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        with torch.inference_mode(), autocast(self.device, self.precision):
            for batch in by_length([len(ids) for ids in encoded["input_ids"]], batch_size or self.batch_size):
                with self._tokenizer_lock:
                    features = self.tokenizer.pad(
                        {key: [encoded[key][i] for i in batch] for key in encoded.keys()},
                        return_tensors="pt",
                    ).to(self.device)
                hidden = self.model(**features).last_hidden_state
                pooled = pool(hidden, features["attention_mask"], self.pooling).float()
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                vectors[batch] = pooled.cpu().numpy()
                if progress:
                    progress(len(batch))
        return vectors


def _max_length(path: str, model, tokenizer) -> int:
    """The longest input the checkpoint was trained on."""
    limits = [model.config.max_position_embeddings, tokenizer.model_max_length]
    declared = (read_model_file(path, "sentence_bert_config.json") or {}).get("max_seq_length")
    if declared:
        limits.append(declared)
    return int(min(limits))
