"""Request batching: concurrent requests share one forward pass.

A `Batcher` takes single requests (`await batcher.submit(params, item)`) from
many coroutines and hands them to `run(params, items)` in batches: the first
request waits up to `window_s` for others, a batch holds at most `max_batch`,
and requests are grouped by `params` (only requests with the same k, mode and
filters can share a call to `Index.search_many` or `Index.ask_many`).

`run` is blocking work (torch, SQLite): it runs in the batcher's own worker
thread, never on the event loop. One batch runs at a time, so requests that
arrive while it runs form the next batch: under load, batches grow by themselves.

The queue is bounded: when `max_pending` requests are already waiting, `submit`
raises ServerBusyError at once (the server answers 503 with Retry-After)
instead of letting the queue grow. If a batch fails, its requests are run one
by one, so each gets its own result or its own error.

`max_batch=1, window_s=0` turns batching off: the same path, one request per call.
"""

import asyncio
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import ServerBusyError

DEFAULT_WINDOW_S = 0.005
DEFAULT_MAX_BATCH = 16
DEFAULT_MAX_PENDING = 256

Run = Callable[[Hashable, Sequence[Any]], Sequence[Any]]


@dataclass
class _Request:
    params: Hashable
    item: Any
    future: asyncio.Future


class Batcher:
    def __init__(self, run: Run, *, window_s: float = DEFAULT_WINDOW_S, max_batch: int = DEFAULT_MAX_BATCH,
                 max_pending: int = DEFAULT_MAX_PENDING, name: str = "batcher"):
        if max_batch < 1 or max_pending < 1 or window_s < 0:
            raise ValueError("max_batch and max_pending must be at least 1, window_s at least 0")
        self.run, self.window_s, self.max_batch, self.max_pending = run, window_s, max_batch, max_pending
        self.batch_sizes: list[int] = []  # the size of every call to `run`, for tests and benchmarks
        self._queue: list[_Request] = []
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    @property
    def pending(self) -> int:
        """Requests waiting for a batch (not counting the one being run)."""
        return len(self._queue)

    async def submit(self, params: Hashable, item: Any) -> Any:
        """The result of `run(params, [item, ...])` for `item`; raises what `run` raised for it."""
        if len(self._queue) >= self.max_pending:
            raise ServerBusyError(f"the server is busy ({len(self._queue)} requests waiting): retry in a moment")
        self._start()
        request = _Request(params, item, asyncio.get_running_loop().create_future())
        self._queue.append(request)
        self._arrived.set()
        return await request.future

    def _start(self) -> None:
        if self._worker is None or self._worker.done():
            self._arrived = asyncio.Event()
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def close(self) -> None:
        """Finish the requests already queued, then stop the worker thread."""
        while self._queue:
            await asyncio.sleep(0.01)
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def _work(self) -> None:
        while True:
            await self._arrived.wait()
            await self._gather()
            batch = self._take()
            if not self._queue:
                self._arrived.clear()
            if batch:
                await self._run(batch)

    async def _gather(self) -> None:
        """Wait up to the window for the first request's companions (or until a batch is full)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window_s
        while len(self._queue) < self.max_batch and (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(left, 0.001))

    def _take(self) -> list[_Request]:
        """The oldest request and up to max_batch - 1 more with the same params, oldest first."""
        if not self._queue:
            return []
        params = self._queue[0].params
        batch = [r for r in self._queue if r.params == params][: self.max_batch]
        taken = set(map(id, batch))
        self._queue = [r for r in self._queue if id(r) not in taken]
        return [r for r in batch if not r.future.done()]  # a client that went away is not served

    async def _run(self, batch: list[_Request]) -> None:
        loop = asyncio.get_running_loop()
        params, items = batch[0].params, [r.item for r in batch]
        self.batch_sizes.append(len(batch))
        try:
            results = await loop.run_in_executor(self._executor, self.run, params, items)
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0].future, error=error)
                return
            for request in batch:  # find whose request failed: each alone
                await self._run([request])
            return
        for request, result in zip(batch, results, strict=True):
            _settle(request.future, result=result)


def _settle(future: asyncio.Future, *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # cancelled: the client disconnected
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
