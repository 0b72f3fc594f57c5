"""The models an `Index` loads on first use: its encoders and its reader.

Indexing and queries may each want their own encoder backend (ONNX Runtime
starts fastest, OpenVINO or torch encode fastest in bulk: `backends.choose_backend`), so
encoders are kept by backend; one serves both when both choose the same. The
model an index was built with comes from its recorded fingerprint unless the
caller names one, and loading an encoder records its fingerprint (the first
writer's; later opens check it against what was recorded). Nothing here
imports a model library until a model is wanted.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .encoder import Encoder
    from .reader import Reader
    from .store import Store


class ModelLoader:
    """The settings an `Index` was opened with, and the models loaded under them."""

    def __init__(self, *, model: str | None, pooling: str | None, device: str | None, precision: str,
                 backend: str | None, reader: str | None):
        self.model, self.pooling, self.device, self.precision = model, pooling, device, precision
        self.backend = backend  # None: $BERTSEARCH_BACKEND, else the measured default (backends.choose_backend)
        self.reader_name = reader
        self._encoders: dict[str, "Encoder"] = {}
        self._chosen: dict[bool, str] = {}  # the backend for bulk work and for queries, chosen once
        self._reader: "Reader | None" = None

    def encoder(self, store: "Store", *, bulk: bool) -> "Encoder":
        """The encoder for indexing (`bulk`) or for queries, loaded on first use."""
        from .backends import choose_backend, load_encoder
        from .checkpoints import DEFAULT_ENCODER

        if bulk not in self._chosen:
            self._chosen[bulk] = choose_backend(self.backend, self.device, self.precision, bulk=bulk)
        backend = self._chosen[bulk]
        if backend not in self._encoders:
            stored = store.meta("encoder") or {}
            encoder = load_encoder(self.model or stored.get("model") or DEFAULT_ENCODER,
                                   pooling=self.pooling or stored.get("pooling"), device=self.device,
                                   precision=self.precision, backend=backend)
            store.record_encoder(encoder.fingerprint)
            self._encoders[backend] = encoder
        return self._encoders[backend]

    def reader(self) -> "Reader":
        """The question-answering reader, loaded on first use."""
        if self._reader is None:
            from .backends import load_reader

            self._reader = load_reader(self.reader_name, device=self.device, precision=self.precision,
                                       backend=self.backend)
        return self._reader

    @staticmethod
    def record_encoded_with(store: "Store", encoder: str) -> None:
        """Remember what computed the index's vectors ("openvino bf16", "torch bf16", "torch bf16 on ray", ...)."""
        used = store.meta("encoded_with") or []
        if encoder not in used:
            store.set_meta("encoded_with", [*used, encoder])
