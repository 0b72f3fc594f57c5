"""One writer at a time: an advisory lock on a file in the index folder.

The writer holds `fcntl.flock` on `writer.lock` and writes its pid there, so a
second writer can say who holds the index. The kernel drops the lock when the
process dies, even by `kill -9`, so a crash never leaves the index locked.
Readers never take this lock. Where `fcntl` does not exist (Windows) the lock
is a no-op: one writer at a time is then up to the user.
"""

import os
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import IndexLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None

LOCK_NAME = "writer.lock"
POLL_SECONDS = 0.1


@contextmanager
def writer_lock(folder: Path, timeout: float = 0.0):
    """Hold the index's writer lock, waiting up to `timeout` seconds for it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, folder, timeout)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the file releases the lock


def holder(folder: Path) -> int | None:
    """The pid recorded by the current (or last) writer, if any."""
    try:
        return int((Path(folder) / LOCK_NAME).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _acquire(fd: int, folder: Path, timeout: float) -> None:
    if fcntl is None:
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IndexLockedError(_locked_message(folder, timeout)) from None
            time.sleep(POLL_SECONDS)


def _locked_message(folder: Path, timeout: float) -> str:
    pid = holder(folder)
    who = f"process {pid}" if pid else "another process"
    waited = f" (waited {timeout:g}s)" if timeout else ""
    return (f"the index at {folder} is being written by {who}{waited}: "
            "wait for it to finish, or use --wait SECONDS")
