"""`Reader` on ONNX Runtime or OpenVINO: the same windows, spans and scores with neither torch nor transformers imported.

Windows come from the `tokenizers` library with the truncation the torch path
asks transformers for (`only_second`, `max_length`, `stride`, overflowing
windows), so both read the same tokens; spans are chosen in numpy by the same
rule as `reader.best_spans` (start + end logit, both ends in the context, at
most `max_answer_length` tokens).
"""

from collections.abc import Sequence

import numpy as np

from .batching import by_length
from .checkpoints import read_model_file, resolve_model_path
from .confidence import ReaderConfidence
from .onnx_backend import open_graph
from .onnx_encoder import pad
from .reader import MAX_QUESTION_TOKENS, Span, default_reader, keep_best, ranked


def best_spans(start_logits: np.ndarray, end_logits: np.ndarray, context_mask: np.ndarray,
               max_answer_length: int, top_n: int) -> list[tuple[int, int, float]]:
    """The `top_n` best (start, end, score) token spans of one window, as `reader.best_spans`."""
    scores = start_logits[:, None] + end_logits[None, :]
    length = np.arange(len(start_logits))
    width = length[None, :] - length[:, None]
    valid = context_mask[:, None] & context_mask[None, :] & (width >= 0) & (width < max_answer_length)
    count = min(top_n, int(valid.sum()))
    if count == 0:
        return []
    flat = np.where(valid, scores, -np.inf).ravel()
    best = np.argpartition(-flat, count - 1)[:count]
    best = best[np.argsort(-flat[best], kind="stable")]
    columns = scores.shape[1]
    return [(int(i) // columns, int(i) % columns, float(flat[i])) for i in best]


class OnnxReader(ReaderConfidence):
    """An extractive QA model on the exported ONNX graph (CPU), with the public surface of `Reader`;
    `backend` and `precision` as for `OnnxEncoder`."""

    device = "cpu"

    def __init__(self, model: str | None = None, precision: str = "fp32", max_length: int = 384, stride: int = 128,
                 max_answer_length: int = 30, batch_size: int | None = None, *, backend: str = "onnx"):
        from .errors import ModelLoadError, NoReaderError

        self.name = model or default_reader()
        self.backend = backend
        try:
            path = resolve_model_path(self.name)
            self.graph, self.session = open_graph(path, "reader", precision, backend=backend)
        except (ModelLoadError, ValueError, OSError) as error:
            raise NoReaderError(f"no question-answering model could be loaded for 'ask' from '{self.name}' on the "
                                f"{backend} backend ({str(error).strip() or type(error).__name__}). Pass --reader with a "
                                "local folder of a SQuAD-tuned checkpoint, or set BERTSEARCH_READER, or use --backend torch") from None
        self.precision = getattr(self.session, "precision", precision)  # OpenVINO says what it really runs
        self.max_length, self.stride, self.max_answer_length = max_length, stride, max_answer_length
        self.batch_size = batch_size or 16
        self._read_confidence(read_model_file(path, "reader_config.json") or {})
        self._inputs, self._pad_id = self.graph.info["inputs"], self.graph.info["pad_id"]
        self._windows_tokenizer = self.graph.tokenizer()
        self._windows_tokenizer.no_padding()
        self._windows_tokenizer.enable_truncation(max_length, stride=stride, strategy="only_second")
        self._plain_tokenizer = self.graph.tokenizer()
        self._plain_tokenizer.no_padding()
        self._plain_tokenizer.no_truncation()

    def read(self, question: str, contexts: Sequence[str], *, top_n: int | None = 5,
             per_window: int | None = None) -> list[Span]:
        """The `top_n` best answers to `question` in `contexts`, best first (None: every span found);
        each window yields its `per_window` best spans (default: `top_n`), as in `Reader.read`."""
        return self.read_batch([question], [contexts], top_n=top_n, per_window=per_window)[0]

    def read_batch(self, questions: Sequence[str], contexts: Sequence[Sequence[str]], *, top_n: int | None = 5,
                   per_window: int | None = None) -> list[list[Span]]:
        """`read` for many questions at once, each with its own contexts, in shared forward passes."""
        if len(questions) != len(contexts):
            raise ValueError("give one list of contexts per question")
        per_window = per_window or top_n or 5
        pairs = [(q, c, (n, i)) for n, (q, cs) in enumerate(zip(self._shorten(questions), contexts))
                 for i, c in enumerate(cs)]
        if not pairs:
            return [[] for _ in questions]
        windows, owners = self._windows([(q, c) for q, c, _ in pairs])
        found: list[dict[tuple[int, int, int], Span]] = [{} for _ in questions]
        for window, owner, (start_logits, end_logits) in zip(windows, owners, self._logits(windows)):
            _, _, (n, context_index) = pairs[owner]
            mask = np.array([s == 1 for s in window.sequence_ids])
            for start, end, score in best_spans(start_logits, end_logits, mask, self.max_answer_length, per_window):
                keep_best(found[n], contexts[n][context_index], context_index, window.offsets, start, end, score)
        return ranked(found, top_n)

    def _windows(self, pairs: list[tuple[str, str]]):
        """Each (question, context) pair in windows of `max_length` tokens overlapping by `stride`,
        and the pair each window comes from."""
        windows, owners = [], []
        for owner, encoding in enumerate(self._windows_tokenizer.encode_batch(pairs)):
            for window in [encoding, *encoding.overflowing]:
                windows.append(window)
                owners.append(owner)
        return windows, owners

    def _shorten(self, questions: Sequence[str]) -> list[str]:
        """Cut very long questions so that passages still fit in the window."""
        questions = [q.strip() for q in questions]
        encodings = self._plain_tokenizer.encode_batch(questions, add_special_tokens=False)
        return [q if len(e.offsets) <= MAX_QUESTION_TOKENS else q[: e.offsets[MAX_QUESTION_TOKENS - 1][1]]
                for q, e in zip(questions, encodings)]

    def _logits(self, windows) -> list[tuple[np.ndarray, np.ndarray]]:
        """Start and end logits (float32) of every window, in order, batched by length."""
        logits = [None] * len(windows)
        for batch in by_length([len(w.ids) for w in windows], self.batch_size):
            starts, ends = self.session.run(None, pad([windows[w] for w in batch], self._inputs, self._pad_id))
            for row, w in enumerate(batch):
                length = len(windows[w].ids)
                logits[w] = (starts[row, :length].astype(np.float32), ends[row, :length].astype(np.float32))
        return logits
