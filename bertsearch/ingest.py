"""Ingestion: files in, passages and vectors committed, and a report of what changed; the settings that fixes.

`add` walks the given files and folders (`extract.find_files`), skips files
whose size and mtime (or, failing that, text) are unchanged, extracts and
chunks the rest, and gathers their passages until ENCODE_BATCH_PASSAGES are
waiting. Then it encodes only passages whose text is new (an unchanged passage
keeps its stored vector, found by content hash) and commits file by file
(`Store.put_document`: one transaction each). Indexed files gone from the
given folders are removed. The caller holds the writer lock.
"""

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import chunking
from .chunking import Chunk
from .errors import NothingToIndexError, SettingsMismatchError
from .extract import SkipFile, Skipped, extract, find_files
from .store import Store

ENCODE_BATCH_PASSAGES = 512  # passages gathered across files before each encoder call


@dataclass
class IndexReport:
    """What `Index.add` did: paths `added`, `updated` and `removed`, how many files were
    `unchanged`, the files `skipped` (each with its reason), and how many passages were
    encoded or reused (their text was already indexed)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    passages_encoded: int = 0
    passages_reused: int = 0


@dataclass
class _Pending:
    """A changed file, chunked, waiting for its vectors."""

    path: str
    stat: os.stat_result
    content_hash: str
    format: str
    chunks: list[Chunk]
    is_new: bool


def check_settings(store: Store, *, model: str | None, pooling: str | None, chunks: dict) -> None:
    """Fail fast, before loading any model, when asked for other settings than the index has (None: not asked)."""
    stored = store.meta("encoder") or {}
    for key, asked in (("model", model), ("pooling", pooling)):
        if asked and stored and stored[key] != asked:
            store.record_encoder({**stored, key: asked})  # raises with the full story
    recorded = store.meta("chunking") or {}
    for key, value in chunks.items():
        if recorded and value is not None and value != recorded[key]:
            raise SettingsMismatchError(
                f"this index splits passages with {key.replace('_', ' ')}={recorded[key]}, not {value}: "
                "leave the option out, or use a new --index folder"
            )


def chunk_settings(store: Store, asked: dict, token_limit: Callable[[], int]) -> dict:
    """The index's passage settings: recorded ones, else `asked` (defaults where None), checked and recorded.

    `token_limit` gives the longest passage the encoder takes (only asked for a new index).
    """
    chunks = store.meta("chunking")
    if chunks is None:
        chunks = {
            "passage_tokens": asked["passage_tokens"] or chunking.DEFAULT_PASSAGE_TOKENS,
            "overlap_tokens": chunking.DEFAULT_OVERLAP_TOKENS if asked["overlap_tokens"] is None
            else asked["overlap_tokens"],
        }
        chunking.check_sizes(chunks["passage_tokens"], chunks["overlap_tokens"], token_limit())
        store.set_meta("chunking", chunks)
    return chunks


class Ingester:
    """One `add` run over a Store. `encoder()` gives the encoder, loaded only when something changed."""

    def __init__(self, store: Store, encoder: Callable, *, exclude: Path, max_file_bytes: int | None,
                 notify: Callable[[str], None] | None = None, progress: bool = False):
        self.store, self.encoder = store, encoder
        self.exclude, self.max_file_bytes = exclude, max_file_bytes
        self.notify, self.progress = notify, progress
        self.report = IndexReport()

    def add(self, roots: list[Path], chunks: dict) -> IndexReport:
        """Index `roots` with passage settings `chunks`; NothingToIndexError if they hold nothing indexable."""
        seen, pending = set(), []
        files = list(find_files(roots, exclude=self.exclude))
        with _progress_bar(len(files), self.progress) as bar:
            for found in files:
                bar.update(1)
                if isinstance(found, Skipped):
                    self._skip(found)
                    continue
                seen.add(str(found))
                change = self._prepare(found, chunks)
                if change:
                    pending.append(change)
                if sum(len(p.chunks) for p in pending) >= ENCODE_BATCH_PASSAGES:
                    self._write(pending)
                    pending = []
            self._write(pending)
        self._remove_gone(roots, seen)
        self.store.save_vectors()
        report = self.report
        if not (report.added or report.updated or report.unchanged or report.removed):
            raise NothingToIndexError(
                "nothing to index in " + ", ".join(map(str, roots))
                + ": give files or folders holding text, Markdown, reStructuredText, HTML or PDF documents"
            )
        return report

    def _remove_gone(self, roots: list[Path], seen: set[str]) -> None:
        """Drop indexed files that have gone from the given folders (but keep those of folders skipped)."""
        kept = [Path(s.path).resolve() for s in self.report.skipped if s.folder]
        gone = [p for root in roots if root.is_dir() for p in self.store.document_paths(root.resolve())
                if p not in seen and not any(_inside(p, folder) for folder in kept)]
        self.report.removed = gone if self.store.delete_documents(gone) else []

    def _prepare(self, path: Path, chunks: dict) -> _Pending | None:
        """Chunk a file that is new or changed; None if it is unchanged or skipped."""
        store = self.store
        try:
            stat = path.stat()
            known = store.document(str(path))
            if known and (known["size"], known["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
                self.report.unchanged += 1
                return None
            document = extract(path, self.max_file_bytes)
        except SkipFile as reason:
            return self._skip(Skipped(path, str(reason)))
        except FileNotFoundError:
            return self._skip(Skipped(path, "it disappeared during indexing"))
        except OSError as error:
            return self._skip(Skipped(path, f"unreadable ({error.strerror or error})"))
        digest = chunking.content_hash(document.text)
        if known and known["content_hash"] == digest:
            store.touch_document(str(path), stat)
            self.report.unchanged += 1
            return None
        pieces = chunking.split_passages(document.text, self.encoder().token_spans, **chunks)
        if not pieces:
            return self._skip(Skipped(path, "no text"))
        return _Pending(str(path), stat, digest, document.format, pieces, known is None)

    def _write(self, pending: list[_Pending]) -> None:
        """Encode what is new in `pending` (reusing vectors of unchanged passages), then commit file by file."""
        import numpy as np

        if not pending:
            return
        hashes = [c.content_hash for doc in pending for c in doc.chunks]
        known = self.store.vectors_by_hash(hashes)
        todo = {}
        for doc in pending:
            for c in doc.chunks:
                if c.content_hash not in known:
                    todo.setdefault(c.content_hash, c.text)
        if todo:
            known.update(zip(todo.keys(), self.encoder().encode(list(todo.values()))))
        self.report.passages_encoded += len(todo)
        self.report.passages_reused += len(hashes) - len(todo)
        for doc in pending:
            vectors = np.stack([known[c.content_hash] for c in doc.chunks])
            self.store.put_document(doc.path, doc.stat, doc.content_hash, doc.format, doc.chunks, vectors)
            (self.report.added if doc.is_new else self.report.updated).append(doc.path)

    def _skip(self, skipped: Skipped) -> None:
        self.report.skipped.append(skipped)
        if self.notify:
            self.notify(f"skipped {printable(skipped.path)}: {skipped.reason}")


def remove(store: Store, paths: Iterable[str | Path]) -> list[str]:
    """Remove documents: files, or every document inside a folder. Returns the paths removed.
    The caller holds the writer lock."""
    targets = []
    for path in paths:
        resolved = str(Path(path).resolve())
        inside = store.document_paths(Path(resolved))
        targets += inside or ([resolved] if store.document(resolved) else [])
    store.delete_documents(targets)
    store.save_vectors()
    return targets


def printable(path) -> str:
    """A path on one line: control characters (a newline in a file name, say) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


def _inside(path: str, folder: Path) -> bool:
    return path == str(folder) or path.startswith(str(folder).rstrip(os.sep) + os.sep)


def _progress_bar(total: int, show: bool):
    from tqdm import tqdm

    # disable=None hides the bar when stderr is not a terminal.
    return tqdm(total=total, unit="file", desc="Indexing", disable=None if show else True, leave=False)
