"""`Encoder` on ONNX Runtime or OpenVINO: the same vectors with neither torch nor transformers imported.

Texts are tokenized with the `tokenizers` library (the very tokenizer the torch
path uses, saved with the graph), run through the cached ONNX graph
(`onnx_backend`) on either runtime, then pooled and L2-normalised in numpy, as
`Encoder` does.
"""

from collections.abc import Sequence

import numpy as np

from .batching import by_length
from .checkpoints import DEFAULT_ENCODER, read_model_file, resolve_model_path
from .encoder import POOLINGS, declared_pooling
from .errors import InvalidSettingError
from .onnx_backend import open_graph


class OnnxEncoder:
    """A BERT-family encoder on the exported ONNX graph (CPU), with the public surface of `Encoder`.

    `backend` "onnx" runs it on ONNX Runtime, in `precision` "fp32" or "int8" (dynamic quantization of the
    weights); "openvino" on OpenVINO, in "fp32" or "bf16" (`openvino_backend`).
    """

    device = "cpu"

    def __init__(self, model: str = DEFAULT_ENCODER, pooling: str | None = None, precision: str = "fp32",
                 batch_size: int | None = None, max_length: int | None = None, *, backend: str = "onnx"):
        if pooling is not None and pooling not in POOLINGS:
            raise InvalidSettingError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
        self.name = model
        self.backend = backend
        path = resolve_model_path(model)
        self.graph, self.session = open_graph(path, "encoder", precision, backend=backend)
        self.precision = getattr(self.session, "precision", precision)  # OpenVINO says what it really runs
        self.pooling = pooling or declared_pooling(path) or "cls"
        self.batch_size = batch_size or 32
        declared = (read_model_file(path, "sentence_bert_config.json") or {}).get("max_seq_length")
        self.max_length = max_length or int(min(filter(None, [self.graph.info["model_max_length"], declared])))
        self.dim = self.graph.info["dim"]
        self._inputs = self.graph.info["inputs"]
        self._pad_id = self.graph.info["pad_id"]
        self._tokenizer = self.graph.tokenizer()
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_length)
        self._spans_tokenizer = self.graph.tokenizer()
        self._spans_tokenizer.no_padding()
        self._spans_tokenizer.no_truncation()

    @property
    def fingerprint(self) -> dict:
        """What an index must agree on to share vectors with this encoder (as `Encoder.fingerprint`)."""
        return {"model": self.name, "pooling": self.pooling, "dim": self.dim}

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character spans of each text's tokens (no special tokens), for chunking."""
        return [e.offsets for e in self._spans_tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def encode(self, texts: str | Sequence[str], batch_size: int | None = None, progress=None) -> np.ndarray:
        """Encode `texts` into an (n, dim) float32 array of unit vectors, in input order; a single string
        gives one (dim,) vector (see `Encoder.encode`)."""
        if isinstance(texts, str):
            return self.encode([texts], batch_size, progress)[0]
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        encodings = self._tokenizer.encode_batch(list(texts))
        for batch in by_length([len(e.ids) for e in encodings], batch_size or self.batch_size):
            features = pad([encodings[i] for i in batch], self._inputs, self._pad_id)
            hidden = self.session.run(None, features)[0]
            vectors[batch] = normalize(pool(hidden, features["attention_mask"], self.pooling))
            if progress:
                progress(len(batch))
        return vectors


def pad(encodings, inputs: list[str], pad_id: int) -> dict[str, np.ndarray]:
    """The graph's int64 inputs for `encodings`, padded on the right to the longest."""
    width = max(len(e.ids) for e in encodings)
    features = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in inputs}
    features["input_ids"].fill(pad_id)
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        features["input_ids"][row, :n] = encoding.ids
        if "attention_mask" in features:
            features["attention_mask"][row, :n] = encoding.attention_mask
        if "token_type_ids" in features:
            features["token_type_ids"][row, :n] = encoding.type_ids
    return features


def pool(hidden: np.ndarray, attention_mask: np.ndarray, pooling: str) -> np.ndarray:
    """Pool token states (batch, tokens, dim) into one vector per text, as `encoder.pool` does."""
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask[..., None].astype(hidden.dtype)
    return (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)


def normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
