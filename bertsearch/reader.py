"""Extracting answer spans from passages with an extractive question-answering model.

Long passages are read in overlapping windows. A span's score is its start
logit plus its end logit, with no per-window softmax, so scores compare across
windows and passages.

Like the encoder's, the reader's tokenizer calls take a lock, so that
concurrent `ask`s (a server's worker threads) cannot mix truncation settings.
"""

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .confidence import ReaderConfidence
from .device import autocast, choose_device, effective_precision, prepare
from .errors import NoReaderError
from .batching import by_length
from .checkpoints import BUNDLED_READER, BUNDLED_READER_PATH, quiet_loading, read_model_file, resolve_model_path

MAX_QUESTION_TOKENS = 64


@dataclass
class Span:
    """An answer found by the reader: `start`/`end` are character offsets into its context."""

    text: str
    score: float
    context_index: int
    start: int
    end: int


def default_reader() -> str:
    """The reader `ask` uses when none is named: $BERTSEARCH_READER, else the bundled one."""
    return os.environ.get("BERTSEARCH_READER") or BUNDLED_READER


def best_spans(start_logits, end_logits, context_mask, max_answer_length: int, top_n: int):
    """The `top_n` best (start, end, score) token spans of one window.

    Both ends must be context tokens (`context_mask`), end >= start, and the
    span at most `max_answer_length` tokens long; score = start + end logit.
    """
    import torch

    scores = start_logits[:, None] + end_logits[None, :]
    length = torch.arange(len(start_logits))
    width = length[None, :] - length[:, None]
    valid = context_mask[:, None] & context_mask[None, :] & (width >= 0) & (width < max_answer_length)
    scores = scores.masked_fill(~valid, float("-inf"))
    best = torch.topk(scores.flatten(), min(top_n, int(valid.sum())))
    columns = scores.shape[1]
    return [(int(i) // columns, int(i) % columns, float(s)) for s, i in zip(best.values, best.indices)]


class Reader(ReaderConfidence):
    """An extractive QA model (`AutoModelForQuestionAnswering`) that reads passages in windows."""

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        precision: str = "auto",
        max_length: int = 384,
        stride: int = 128,
        max_answer_length: int = 30,
        batch_size: int | None = None,
    ):
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        self.device = choose_device(device)  # a device this machine lacks fails before any loading
        self.precision = effective_precision(precision, self.device)
        self.name = model or default_reader()
        try:
            path = resolve_model_path(self.name)
            with quiet_loading():
                self.tokenizer = AutoTokenizer.from_pretrained(path)
                self.model, info = AutoModelForQuestionAnswering.from_pretrained(path, output_loading_info=True)
        except Exception as error:  # any failure to load is the same fix for the user
            raise NoReaderError(_no_reader_message(self.name, error)) from None
        if any("qa_outputs" in key for key in info.get("missing_keys", [])):
            raise NoReaderError(_no_reader_message(self.name, ValueError("it has no trained question-answering head")))
        prepare(self.model, self.device, self.precision)
        self.max_length = max_length
        self.stride = stride
        self.max_answer_length = max_answer_length
        self.batch_size = batch_size or (128 if self.device == "cuda" else 16)
        self._read_confidence(read_model_file(path, "reader_config.json") or {})
        self._torch = torch
        self._tokenizer_lock = threading.Lock()

    def read(self, question: str, contexts: Sequence[str], *, top_n: int | None = 5,
             per_window: int | None = None) -> list[Span]:
        """The `top_n` best answers to `question` in `contexts`, best first (None: every span found).

        Each window of each context yields its `per_window` best spans (default: `top_n`),
        so every context that yields a span has its best one in the full list, which
        therefore also ranks the contexts themselves (as `Index.ask` does).
        """
        return self.read_batch([question], [contexts], top_n=top_n, per_window=per_window)[0]

    def read_batch(self, questions: Sequence[str], contexts: Sequence[Sequence[str]], *, top_n: int | None = 5,
                   per_window: int | None = None) -> list[list[Span]]:
        """`read` for many questions at once, each with its own contexts: windows of all of
        them share forward passes, which is faster than one question at a time."""
        if len(questions) != len(contexts):
            raise ValueError("give one list of contexts per question")
        per_window = per_window or top_n or 5
        pairs = [(q, c, (n, i)) for n, (q, cs) in enumerate(zip(questions, contexts)) for i, c in enumerate(cs)]
        if not pairs:
            return [[] for _ in questions]
        windows = self.windows([q for q, _, _ in pairs], [c for _, c, _ in pairs])
        start_logits, end_logits = self._logits(windows)
        found: list[dict[tuple[int, int, int], Span]] = [{} for _ in questions]
        for w in range(len(windows["input_ids"])):
            _, _, (n, context_index) = pairs[windows["overflow_to_sample_mapping"][w]]
            offsets = windows["offset_mapping"][w]
            mask = self._torch.tensor([s == 1 for s in windows.sequence_ids(w)])
            for start, end, score in best_spans(start_logits[w], end_logits[w], mask, self.max_answer_length,
                                                per_window):
                keep_best(found[n], contexts[n][context_index], context_index, offsets, start, end, score)
        return ranked(found, top_n)

    def windows(self, questions: Sequence[str], contexts: Sequence[str]):
        """The windows each (question, context) pair is read in: the question cut to MAX_QUESTION_TOKENS,
        the context in windows of `max_length` tokens overlapping by `stride` (a tokenizer BatchEncoding;
        `overflow_to_sample_mapping` gives each window's pair)."""
        shortened = self._shorten(questions)
        with self._tokenizer_lock:
            return self.tokenizer(
                shortened,
                list(contexts),
                truncation="only_second",
                max_length=self.max_length,
                stride=self.stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )

    def _shorten(self, questions: Sequence[str]) -> list[str]:
        """Cut very long questions so that passages still fit in the window."""
        questions = [q.strip() for q in questions]
        with self._tokenizer_lock:
            offsets = self.tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return [q if len(o) <= MAX_QUESTION_TOKENS else q[: o[MAX_QUESTION_TOKENS - 1][1]]
                for q, o in zip(questions, offsets)]

    def _logits(self, windows):
        """Start and end logits of every window (float32, on the CPU), batched by length."""
        torch = self._torch
        count = len(windows["input_ids"])
        keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in windows]
        starts, ends = [None] * count, [None] * count
        with torch.inference_mode(), autocast(self.device, self.precision):
            for batch in by_length([len(ids) for ids in windows["input_ids"]], self.batch_size):
                with self._tokenizer_lock:
                    features = self.tokenizer.pad(
                        {k: [windows[k][w] for w in batch] for k in keys}, return_tensors="pt"
                    ).to(self.device)
                output = self._forward(features)
                for row, w in enumerate(batch):
                    length = len(windows["input_ids"][w])
                    starts[w] = output.start_logits[row, :length].float().cpu()
                    ends[w] = output.end_logits[row, :length].float().cpu()
        return starts, ends

    def _forward(self, features):
        return self.model(**features)


def _no_reader_message(name: str, error: Exception) -> str:
    if name == BUNDLED_READER and not BUNDLED_READER_PATH.exists():
        reason = "no reader is bundled with this install"
    else:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"no question-answering model could be loaded for 'ask' from '{name}' ({reason}). "
        "Pass --reader with a hub id or a local folder of a SQuAD-tuned checkpoint, "
        "or set BERTSEARCH_READER."
    )


def keep_best(found: dict, context: str, context_index: int, offsets, start: int, end: int, score: float) -> None:
    """Record the span from token `start` to `end` of a window in `found`, keyed by its characters in
    `context`: a span read in two overlapping windows keeps its better score."""
    char_start, char_end = offsets[start][0], offsets[end][1]
    key = (context_index, char_start, char_end)
    if key not in found or found[key].score < score:
        found[key] = Span(context[char_start:char_end], score, context_index, char_start, char_end)


def ranked(found: list[dict], top_n: int | None) -> list[list[Span]]:
    """Each question's spans, best first, the `top_n` best (None: all)."""
    spans = [sorted(by_key.values(), key=lambda span: -span.score) for by_key in found]
    return spans if top_n is None else [question[:top_n] for question in spans]
