"""Keeping an index in step with folders: a `Watcher` over watchdog's file events.

watchdog reports events from its own thread; the watcher only notes which paths
changed. A worker thread waits until the folders have been quiet for `debounce`
seconds (an editor's save, written to a temporary file, renamed over the
original and its backup deleted, settles into one update), or for at most
`max_delay` seconds under a steady stream of changes, then updates the index
through its public methods: `Index.add` for paths that exist, `Index.remove`
for those that are gone. So watching indexes exactly as `bertsearch index`
does: unchanged passages keep their vectors, bad files are skipped with a
notice, and each call takes the writer lock and releases it, so `bertsearch
index` or `remove` from another shell still get their turn (a watcher that
finds the index locked tries again a moment later).

`start()` first catches up with `Index.add(roots)`, which also drops documents
deleted while nobody watched. A kill at any moment leaves the index as its last
commit left it (see store.py); the next start's catch-up finishes the job.
Hidden files and editors' leftovers (`extract.is_leftover`) are ignored.
"""

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BertsearchError, IndexLockedError, NothingToIndexError, WatchError
from .extract import Skipped, is_leftover

DEBOUNCE_SECONDS = 0.3
MAX_DELAY_SECONDS = 5.0  # a file that never stops changing is still indexed this often
RETRY_SECONDS = 1.0  # after finding the index locked by another writer


@dataclass
class Update:
    """One update of the index: what `on_update` receives."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    passages_encoded: int = 0
    passages_reused: int = 0
    seconds: float = 0.0
    catch_up: bool = False  # the update `start()` makes, for what changed while nobody watched

    @property
    def changed(self) -> int:
        return len(self.added) + len(self.updated) + len(self.removed)

    def summary(self) -> str:
        """The update on one line, as `bertsearch watch` reports it."""
        what = "caught up" if self.catch_up else "updated"
        return (f"{what}: {len(self.added)} new, {len(self.updated)} changed, {len(self.removed)} removed, "
                f"{len(self.skipped)} skipped; {self.passages_encoded} passages encoded, "
                f"{self.passages_reused} reused; {self.seconds:.2f}s")

    def _merge(self, report) -> None:
        self.added += report.added
        self.updated += report.updated
        self.removed += report.removed
        self.skipped += report.skipped
        self.passages_encoded += report.passages_encoded
        self.passages_reused += report.passages_reused


class Watcher:
    """Watches folders and keeps `index` in step with them until `stop()`.

    `on_update(update)` is called (from the watcher's thread) after each update
    that changed the index; `notify(line)` with each skipped file and each
    problem. Use it as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, index, paths: Iterable[str | Path], *, on_update: Callable[[Update], None] | None = None,
                 notify: Callable[[str], None] | None = None, debounce: float = DEBOUNCE_SECONDS,
                 max_delay: float = MAX_DELAY_SECONDS):
        self.index = index
        self.roots = [Path(p).resolve() for p in paths]
        for root in self.roots:
            if not root.is_dir():
                raise WatchError(f"cannot watch {root}: give folders that exist")
        self._on_update, self._notify = on_update, notify or (lambda line: None)
        self._debounce, self._max_delay = debounce, max_delay
        self._pending: set[Path] = set()
        self._first_event = self._last_event = 0.0
        self._changed = threading.Condition()
        self._stopping = False
        self._busy = False  # an update is being written
        self._observer = None
        self._thread = None

    # -- running --------------------------------------------------------------

    def start(self, *, wait: bool = True) -> "Watcher":
        """Start watching, then catch up with what changed meanwhile.

        `wait=True` returns once caught up; `wait=False` catches up in the
        watcher's thread (the index must exist already: two threads must not
        race to create it).
        """
        from watchdog.observers import Observer

        self._observer = Observer()
        handler = _Events(self)
        for root in self.roots:
            self._observer.schedule(handler, str(root), recursive=True)
        self._observer.daemon = True
        self._observer.start()  # events from now on are queued while catching up
        if wait:
            try:
                self.catch_up()
            except BaseException:
                self._observer.stop()
                raise
        self._busy = not wait  # catching up in the thread
        self._thread = threading.Thread(target=self._run, args=(not wait,), name="bertsearch-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop watching; an update in progress finishes first (its writes are whole either way)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> "Watcher":
        return self if self._thread else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_until_idle(self, timeout: float) -> bool:
        """Wait until no change is pending and no update running (events still in the kernel's queue
        are not seen); False if `timeout` seconds pass first."""
        end = time.monotonic() + timeout
        with self._changed:
            while self._pending or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def catch_up(self) -> Update:
        """Index the watched folders as `bertsearch index` would: what changed while nobody watched."""
        started, update = time.monotonic(), Update(catch_up=True)
        try:
            update._merge(self.index.add(self.roots, notify=self._notify))
        except NothingToIndexError:
            self._notify("nothing to index yet in " + ", ".join(map(str, self.roots)))
        update.seconds = time.monotonic() - started
        self._report(update)
        return update

    def _run(self, catch_up: bool) -> None:
        if catch_up:
            self._guarded(self.catch_up)
            self._finished()
        while True:
            paths = self._next_batch()
            if paths is None:
                return
            self._guarded(lambda: self._apply(paths))
            self._finished()

    def _finished(self) -> None:
        with self._changed:
            self._busy = False
            self._changed.notify_all()

    def _guarded(self, work) -> None:
        """Run one update; the watcher outlives whatever goes wrong in it."""
        try:
            work()
        except Exception as error:  # noqa: BLE001 - reported, and the next change tries again
            self._notify(f"update failed ({type(error).__name__}: {error}); the next change retries")

    def _next_batch(self) -> set[Path] | None:
        """The changed paths, once quiet for `debounce` seconds (or pending `max_delay`); None when stopping."""
        with self._changed:
            while True:
                if self._stopping:
                    return None
                if self._pending:
                    now = time.monotonic()
                    due = min(self._last_event + self._debounce, self._first_event + self._max_delay)
                    if now >= due:
                        paths, self._pending, self._busy = self._pending, set(), True
                        return paths
                    self._changed.wait(due - now)
                else:
                    self._changed.wait()

    def _noted(self, paths: Iterable[Path]) -> None:
        """Called from watchdog's thread with the paths an event touched."""
        wanted = [p for p in paths if self._wanted(p)]
        if not wanted:
            return
        with self._changed:
            now = time.monotonic()
            if not self._pending:
                self._first_event = now
            self._last_event = now
            self._pending.update(wanted)
            self._changed.notify_all()

    def _wanted(self, path: Path) -> bool:
        """Inside a watched folder, not inside the index, and no part of it hidden or an editor's leftover."""
        index_folder = Path(self.index.path).resolve()
        if path == index_folder or index_folder in path.parents:
            return False
        root = next((r for r in self.roots if path == r or r in path.parents), None)
        return root is not None and not any(is_leftover(part) for part in path.relative_to(root).parts)

    # -- updating -------------------------------------------------------------

    def _apply(self, paths: set[Path]) -> None:
        """Bring these paths' documents up to date: add what exists, remove what is gone."""
        started, update = time.monotonic(), Update()
        try:
            self._add([p for p in paths if p.exists()], update)
            self._remove([p for p in paths if not p.exists()], update)
        except IndexLockedError:
            self._notify(f"the index is being written by another process: trying again in {RETRY_SECONDS:g}s")
            time.sleep(RETRY_SECONDS)
            self._noted(paths)  # nothing is lost: indexing again is cheap for what was done
            return
        update.seconds = time.monotonic() - started
        self._report(update)

    def _add(self, paths: list[Path], update: Update) -> None:
        if not paths:
            return
        try:
            report = self.index.add(sorted(paths), notify=self._notify)
        except NothingToIndexError:  # every one was skipped, and noticed
            skipped = paths
        except BertsearchError as error:
            if all(p.exists() for p in paths):
                raise
            self._noted(paths)  # one vanished meanwhile: its deletion event follows; go again
            return
        else:
            update._merge(report)
            skipped = [Path(s.path) for s in report.skipped if not s.folder]
        # as `bertsearch index` of the folder would, drop documents of files that can no longer be indexed
        self._remove([p for p in skipped if p.is_file() and _storable(p)], update)

    def _remove(self, paths: list[Path], update: Update) -> None:
        if paths:
            update.removed += self.index.remove(sorted(paths))

    def _report(self, update: Update) -> None:
        if self._on_update and (update.changed or update.skipped or update.catch_up):
            self._on_update(update)


class _Events:
    """watchdog's handler: every event's paths go to the watcher (folders' own modifications say nothing new)."""

    def __init__(self, watcher: Watcher):
        self._watcher = watcher

    def dispatch(self, event) -> None:
        if event.event_type in ("opened", "closed_no_write") or (event.is_directory and event.event_type == "modified"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        self._watcher._noted(Path(os.fsdecode(p)) for p in paths if p)


def _storable(path: Path) -> bool:
    """Whether the path can be an indexed document's (its name is valid UTF-8; see `extract.find_files`)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
