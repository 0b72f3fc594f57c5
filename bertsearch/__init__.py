"""bertsearch: semantic search and question answering over your own documents.

    >>> import bertsearch
    >>> index = bertsearch.Index(".bertsearch")
    >>> index.add(["docs/"])
    >>> index.search("how do I configure it?", k=5)
    >>> index.ask("Who designed the Eiffel Tower?")

Names are imported on first use, so `import bertsearch` stays cheap.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Index": "index",
    "SearchResult": "index",
    "Answer": "index",
    "AskResult": "index",
    "IndexReport": "index",
    "CheckReport": "check",
    "Watcher": "watch",
    "Update": "watch",
    "Encoder": "encoder",
    "Reader": "reader",
    "Span": "reader",
    "BertsearchError": "errors",
    "IndexNotFoundError": "errors",
    "SettingsMismatchError": "errors",
    "EncoderMismatchError": "errors",
    "ModelLoadError": "errors",
    "NoReaderError": "errors",
    "NothingToIndexError": "errors",
    "InvalidQueryError": "errors",
    "InvalidSettingError": "errors",
    "IndexLockedError": "errors",
    "CorruptIndexError": "errors",
    "WatchError": "errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'bertsearch' has no attribute {name!r}")
