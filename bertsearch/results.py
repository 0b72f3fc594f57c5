"""The public result types: what `Index` returns to its callers.

Each is a plain dataclass; the CLI's `--json` output is built from these, so
their fields are a contract (`search --json` is `dataclasses.asdict` of each
SearchResult, `ask --json` is `AskResult.to_dict()`, `info --json` is
`IndexInfo.to_dict()`).
"""

import dataclasses
from dataclasses import dataclass


@dataclass
class SearchResult:
    """A passage found by a search: `score` (higher is better; its scale depends on the
    mode), the document's `path`, the passage's character span `start`-`end` in the
    document's text, the `line` it starts on, its `text` and its passage `id`; the `page`
    (or slide) it starts on and its `section`, the heading path it sits under
    (`Installation > Linux`), each None where the document has none.

    When the search was re-ranked by the reader (`rerank=N`), `score` is the fused score
    the results are ordered by, `retrieval_score` the search's own and `reader_score`
    the reader's best span in the passage (both None when the passage was not read)."""

    score: float
    path: str
    start: int
    end: int
    line: int
    text: str
    id: int
    page: int | None = None
    section: str | None = None
    retrieval_score: float | None = None
    reader_score: float | None = None


@dataclass
class Answer:
    """An answer span: `start`/`end` are offsets into the file's text, `passage_start`/`passage_end` into `passage`.

    `score` is the reader's (start + end logit), `retrieval_score` the passage's search
    score, `rank_score` what answers are ordered by: the two fused, and `confidence` the
    estimated probability that the answer is right.
    """

    text: str
    score: float
    path: str
    start: int
    end: int
    line: int
    passage: str
    passage_start: int
    passage_end: int
    retrieval_score: float
    rank_score: float
    confidence: float = 0.0  # the estimated probability that the answer is right (confidence.py)
    page: int | None = None  # the page (or slide) of the passage the answer is in, for paged formats
    section: str | None = None  # that passage's heading path (`Installation > Linux`), where known


@dataclass
class AskResult:
    """What `ask` found: the best `answers` first (distinct spans), and the `passages`
    read, ranked by their best answer. `confident` is False when the best answer's
    confidence is under the cut; `confidence` is the best answer's, also when `ask`
    abstains (None when the reader found nothing)."""

    question: str
    answers: list[Answer]
    passages: list[SearchResult]
    confident: bool = True
    confidence: float | None = None

    @property
    def found(self) -> bool:
        return bool(self.answers)

    def to_dict(self) -> dict:
        """The JSON of `bertsearch ask --json`."""
        return dataclasses.asdict(self)


@dataclass
class IndexInfo:
    """Counts, encoder and settings of an index. `passage_tokens`/`overlap_tokens` are
    None (and absent from `to_dict()`) until the index has recorded its chunking."""

    index: str
    documents: int
    passages: int
    model: str | None
    pooling: str | None
    dim: int | None
    passage_tokens: int | None
    overlap_tokens: int | None
    size_bytes: int
    generation: int
    labels: dict[str, int] | None = None  # documents per label, once `classify label` has run (else absent)
    encoded_with: str | None = None  # which backends and precisions computed the vectors: "onnx int8, torch bf16"
    faiss: str | None = None  # the vector index's kind, a FAISS factory string: "Flat", "HNSW32", "IVF1024,Flat"
    faiss_setting: str = "auto"  # "auto" (the kind follows the size, docs/scale.md) or the kind forced with --faiss
    dense_weight: float | None = None  # the hybrid mode's weight of the vectors, chosen for this index (adaptive_fusion)
    dense_weight_from: str | None = None  # how it was chosen

    def to_dict(self) -> dict:
        """The JSON of `bertsearch info --json`."""
        data = dataclasses.asdict(self)
        if self.passage_tokens is None and self.overlap_tokens is None:
            del data["passage_tokens"], data["overlap_tokens"]
        if self.labels is None:
            del data["labels"]
        return data


@dataclass
class DocumentInfo:
    """An indexed document: its row `id`, `path`, file `size` and `mtime_ns` when indexed,
    `format` (text, markdown, html, pdf, ...), `indexed_at` (UTC, ISO 8601) and how many
    `passages` it was split into."""

    id: int
    path: str
    size: int
    mtime_ns: int
    format: str
    indexed_at: str
    passages: int


@dataclass
class Passage:
    """A stored passage: its row `id`, its document's id and `path`, its position `seq`
    in the document, its character span `start`-`end` in the document's text, the `line`
    it starts on, its `text`, and its `page` and `section` (None where unknown)."""

    id: int
    document_id: int
    seq: int
    path: str
    start: int
    end: int
    line: int
    text: str
    page: int | None = None
    section: str | None = None
