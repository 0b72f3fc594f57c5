"""Ingestion: files in, passages and vectors committed, and a report of what changed; the settings that fixes.

`add` walks the given files and folders (`extract.find_files`, lazily: files
flow through, never listed whole), skips files whose size and mtime (or,
failing that, text) are unchanged, extracts and chunks the rest, and gathers
their passages until the encoding step's `passages_per_call` are waiting. Then
it encodes only passages whose text is new (an unchanged passage keeps its
stored vector, found by content hash) and commits file by file
(`Store.put_document`: one transaction each). Indexed files gone from the
given folders are removed. The caller holds the writer lock.

Memory stays bounded whatever the folder's size: one batch of passages and
their vectors at a time, plus the set of paths seen (to find files that have
gone); the FAISS index is built from SQLite in chunks (`Store.iter_vectors`).

Encoding is a pluggable step (`Encoding`): `LocalEncoding`, the default, runs
the index's encoder in this process; `ray_encoding.RayEncoding` sends the texts
to a Ray cluster. Either way the vectors come back here and are committed
through the same per-file transactions, so a run stays kill-safe and
incremental however its vectors were computed.
"""

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from . import chunking, structure
from .chunking import Chunk
from .errors import EncoderMismatchError, NothingToIndexError, SettingsMismatchError
from .extract import SkipFile, Skipped, extract, find_files
from .store import DB_NAME, Store, describe_encoder

ENCODE_BATCH_PASSAGES = 512  # passages gathered across files before each local encoder call

if TYPE_CHECKING:
    import numpy as np

    from .encoder import Encoder


class Encoding(Protocol):
    """How `add` turns new passages' texts into vectors: a pluggable step.

    `encode` gets the index's own encoder, loaded in this process (it chunks the
    text, so it is always there: a remote step reads which model to run from it),
    the texts, and `progress(n)` to call as vectors arrive; it returns one unit
    vector per text, in order. `add` gathers `passages_per_call` passages (across
    files) before each call. `describe` says what computed the vectors
    ("torch bf16", "ray: torch bf16 on 2 actors"), recorded as the index's `encoded_with`.
    """

    passages_per_call: int

    def encode(self, encoder: "Encoder", texts: list[str], progress: Callable[[int], None]) -> "np.ndarray": ...

    def describe(self, encoder: "Encoder") -> str: ...


class LocalEncoding:
    """The default step: the index's encoder, in this process."""

    passages_per_call = ENCODE_BATCH_PASSAGES

    def encode(self, encoder: "Encoder", texts: list[str], progress: Callable[[int], None]) -> "np.ndarray":
        return encoder.encode(texts, progress=progress)

    def describe(self, encoder: "Encoder") -> str:
        from .backends import describe

        return describe(encoder)


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
    labelled: int = 0  # new and changed documents labelled by the index's classifier (`Index.label`)


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
        if asked and stored and stored[key] != asked:  # said before loading anything asked for
            raise EncoderMismatchError(
                f"this index was built with {describe_encoder(stored)}, and --{key} {asked} asks for "
                f"another {key}: leave out --{key} to use the index's own, or use a new --index folder")
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


@contextlib.contextmanager
def undone_if_nothing_committed(folder: Path, close: Callable[[], int | None]):
    """Around an `add`: if it fails before the index's first commit, remove the files it created
    (and the folder, if it created that too), so a failed first run leaves nothing behind.

    `close()` closes the store and returns its generation (None if it was never opened).
    An index that already existed is never touched.
    """
    existed = folder.exists()
    before = set(folder.iterdir()) if existed else set()
    fresh = not (folder / DB_NAME).exists()
    try:
        yield
    except BaseException:
        if fresh and not close():
            for leftover in set(folder.iterdir()) - before if folder.exists() else ():
                if leftover.is_file():
                    leftover.unlink(missing_ok=True)
            if not existed and folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        raise


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during `add`: still a KeyboardInterrupt, carrying the report of what was committed
    before it (every file is committed whole, so running `add` again finishes the job)."""

    def __init__(self, report: IndexReport):
        super().__init__()
        self.report = report


class Ingester:
    """One `add` run over a Store. `encoder()` gives the encoder, loaded only when something changed;
    `encoding` is the step that computes vectors (default: `LocalEncoding`). After the run, `encoded_with`
    says what computed the vectors it encoded (None if it encoded none)."""

    def __init__(self, store: Store, encoder: Callable, *, exclude: Path, max_file_bytes: int | None,
                 notify: Callable[[str], None] | None = None, progress: bool = False, follow_links: bool = False,
                 pdf_password: str | None = None, encoding: Encoding | None = None):
        self.store, self.encoder, self.pdf_password = store, encoder, pdf_password
        self.exclude, self.max_file_bytes, self.follow_links = exclude, max_file_bytes, follow_links
        self.notify, self.progress = notify, progress
        self.encoding = encoding or LocalEncoding()
        self.encoded_with: str | None = None
        self.report = IndexReport()

    def add(self, roots: list[Path], chunks: dict) -> IndexReport:
        """Index `roots` with passage settings `chunks`; NothingToIndexError if they hold nothing indexable."""
        try:
            return self._add(roots, chunks)
        except KeyboardInterrupt:
            raise Interrupted(self.report) from None

    def _add(self, roots: list[Path], chunks: dict) -> IndexReport:
        seen, pending, waiting = set(), [], 0
        with _Progress(self.progress, lambda: self._files(roots)) as self.bar:
            for found in self._files(roots):
                if isinstance(found, Skipped):
                    self._skip(found)
                elif (prepared := self._prepare(found, chunks, seen)) is not None:
                    pending.append(prepared)
                    waiting += len(prepared.chunks)
                if waiting >= self.encoding.passages_per_call:
                    self._write(pending)
                    pending, waiting = [], 0
                self.bar.file_done()
            self._write(pending)
        self._remove_gone(roots, seen)
        self.store.save_vectors()  # an unchanged index's file is loaded, not rewritten
        report = self.report
        if not (report.added or report.updated or report.unchanged or report.removed):
            raise NothingToIndexError(_nothing_to_index(roots, report.skipped))
        return report

    def _files(self, roots: list[Path]):
        return find_files(roots, exclude=self.exclude, follow_links=self.follow_links)

    def _remove_gone(self, roots: list[Path], seen: set[str]) -> None:
        """Drop indexed files that have gone from the given folders (but keep those of folders skipped)."""
        kept = [_absolute(s.path) for s in self.report.skipped if s.folder]
        gone = [p for root in roots if root.is_dir() for p in self.store.document_paths(_absolute(root))
                if p not in seen and not any(_inside(p, folder) for folder in kept)]
        self.report.removed = gone if self.store.delete_documents(gone) else []

    def _prepare(self, path: Path, chunks: dict, seen: set[str]) -> _Pending | None:
        """Chunk a file that is new or changed; None if it is unchanged or skipped."""
        store = self.store
        seen.add(str(path))
        try:
            stat = path.stat()
            known = store.document(str(path))
            if known and (known["size"], known["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
                self.report.unchanged += 1
                return None
            document = extract(path, self.max_file_bytes, pdf_password=self.pdf_password)
        except SkipFile as reason:
            return self._skip(Skipped(path, str(reason)))
        except FileNotFoundError:
            return self._skip(Skipped(path, "it disappeared during indexing"))
        except OSError as error:
            return self._skip(Skipped(path, f"unreadable ({error.strerror or error})"))
        self._note(path, document)
        digest = chunking.content_hash(document.text)
        if known and known["content_hash"] == digest:
            store.touch_document(str(path), stat)
            self.report.unchanged += 1
            return None
        pieces = chunking.split_passages(document.text, self.encoder().token_spans, **chunks,
                                         boundaries=structure.boundaries(document))
        structure.place(pieces, document)
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
            encoder = self.encoder()
            vectors = self.encoding.encode(encoder, list(todo.values()), self.bar.update)
            known.update(zip(todo.keys(), vectors))
            self.encoded_with = self.encoding.describe(encoder)
        self.report.passages_encoded += len(todo)
        self.report.passages_reused += len(hashes) - len(todo)
        for doc in pending:
            vectors = np.stack([known[c.content_hash] for c in doc.chunks])
            self.store.put_document(doc.path, doc.stat, doc.content_hash, doc.format, doc.chunks, vectors)
            (self.report.added if doc.is_new else self.report.updated).append(doc.path)

    def _note(self, path: Path, document) -> None:
        """What reading the file noticed, as notices like the skip ones (the CLI's -q silences them)."""
        if not self.notify:
            return
        if document.undecodable:
            self.notify(f"note {printable(path)}: {document.undecodable} bytes fit no text encoding "
                        f"(read as {document.encoding}, each replaced by \ufffd)")
        for warning in document.warnings[:3]:
            self.notify(f"note {printable(path)}: {warning}")

    def _skip(self, skipped: Skipped) -> None:
        self.report.skipped.append(skipped)
        if self.notify:
            self.notify(f"skipped {printable(skipped.path)}: {skipped.reason}")


def remove(store: Store, paths: Iterable[str | Path]) -> list[str]:
    """Remove documents: files, or every document inside a folder. Returns the paths removed.
    The caller holds the writer lock."""
    targets = []
    for path in paths:
        absolute = _absolute(path)  # documents are stored under the path they were found at, links unresolved
        inside = store.document_paths(absolute)
        targets += inside or ([str(absolute)] if store.document(str(absolute)) else [])
    store.delete_documents(targets)
    store.save_vectors()
    return targets


def printable(path) -> str:
    """A path on one line: control characters (a newline in a file name, say) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


def _inside(path: str, folder: Path) -> bool:
    return path == str(folder) or path.startswith(str(folder).rstrip(os.sep) + os.sep)


def _absolute(path: str | Path) -> Path:
    """An absolute path with symbolic links left as they are (`Path.resolve` would follow them)."""
    return Path(os.path.abspath(path))


def _nothing_to_index(roots: list[Path], skipped: list[Skipped]) -> str:
    where = ", ".join(map(str, roots))
    if not skipped:
        return (f"nothing to index in {where}: give files or folders holding text, Markdown, "
                "reStructuredText, HTML, PDF, Office, OpenDocument, EPUB, notebook or e-mail documents")
    reasons = Counter(s.reason for s in skipped)
    said = "; ".join(f"{reason} ({count} files)" if count > 1 else reason for reason, count in reasons.most_common(3))
    more = f"; and {len(reasons) - 3} other reasons" if len(reasons) > 3 else ""
    files = f"{len(skipped)} file" + ("s were" if len(skipped) > 1 else " was")
    return f"nothing to index in {where}: {files} skipped: {said}{more}"


class _Progress:
    """The bar counts what takes the time, passages encoded (with their rate); files done ride along.

    The files are counted (`count_files()`, a walk that keeps nothing) only when the bar is shown.
    """

    def __init__(self, show: bool, count_files: Callable[[], Iterable]):
        from tqdm import tqdm

        # disable=None hides the bar when stderr is not a terminal.
        self.bar = tqdm(unit=" passages", desc="Encoding", disable=None if show else True, leave=False)
        self.files = "" if self.bar.disable else f"/{sum(1 for _ in count_files())}"
        self.done = 0
        self.bar.set_postfix_str(f"files 0{self.files}", refresh=False)

    def update(self, passages: int) -> None:
        self.bar.update(passages)
        self.bar.refresh()  # once per encoder batch: the count is never behind the work done

    def file_done(self) -> None:
        self.done += 1
        if not self.bar.disable:
            self.bar.set_postfix_str(f"files {self.done}{self.files}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()

