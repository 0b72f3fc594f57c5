"""bertsearch: semantic search and question answering over your own documents.

    >>> import bertsearch
    >>> index = bertsearch.Index(".bertsearch")
    >>> index.add(["docs/"])
    >>> index.search("how do I configure it?", k=5)
    >>> index.ask("Who designed the Eiffel Tower?")

Names are imported on first use, so `import bertsearch` stays cheap.
"""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "Index": "index",
    "SearchResult": "results",
    "Answer": "results",
    "AskResult": "results",
    "IndexReport": "ingest",
    "IndexInfo": "results",
    "DocumentInfo": "results",
    "Passage": "results",
    "MODES": "search_modes",
    "CheckReport": "check",
    "Watcher": "watch",
    "Update": "watch",
    "Encoder": "encoder",
    "OnnxEncoder": "onnx_encoder",
    "Reader": "reader",
    "OnnxReader": "onnx_reader",
    "Span": "reader",
    "BertsearchError": "errors",
    "IndexNotFoundError": "errors",
    "DocumentNotFoundError": "errors",
    "SettingsMismatchError": "errors",
    "EncoderMismatchError": "errors",
    "ModelLoadError": "errors",
    "NoReaderError": "errors",
    "NothingToIndexError": "errors",
    "InvalidQueryError": "errors",
    "InvalidSettingError": "errors",
    "IndexLockedError": "errors",
    "CorruptIndexError": "errors",
    "ServerBusyError": "errors",
    "PathNotAllowedError": "errors",
    "PassageNotFoundError": "errors",
    "InvalidDataError": "errors",
    "ClassifierNotFoundError": "errors",
    "Classifier": "classify",
    "Prediction": "classify",
    "Evaluation": "classify",
    "WatchError": "errors",
    "RayUnavailableError": "errors",
    "RayEncodingError": "errors",
    "RayEncoding": "ray_encoding",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name loads on first use
    from .check import CheckReport
    from .encoder import Encoder
    from .errors import (
        BertsearchError,
        CorruptIndexError,
        DocumentNotFoundError,
        EncoderMismatchError,
        IndexLockedError,
        IndexNotFoundError,
        InvalidQueryError,
        InvalidSettingError,
        ModelLoadError,
        NoReaderError,
        NothingToIndexError,
        RayEncodingError,
        RayUnavailableError,
        SettingsMismatchError,
    )
    from .index import Index
    from .ingest import IndexReport
    from .ray_encoding import RayEncoding
    from .reader import Reader, Span
    from .results import Answer, AskResult, DocumentInfo, IndexInfo, Passage, SearchResult
    from .search_modes import MODES


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'bertsearch' has no attribute {name!r}")
