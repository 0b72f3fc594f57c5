"""The request batcher: concurrent requests with the same parameters share one call, in a worker thread."""

import asyncio
import threading

import pytest

from bertsearch import InvalidQueryError, ServerBusyError
from bertsearch.request_batcher import Batcher


class Recorder:
    """A stand-in for `Index.search_many`: upper-cases each query, and records every call and its thread."""

    def __init__(self, hold: threading.Event | None = None):
        self.calls, self.threads, self.hold = [], set(), hold

    def __call__(self, params, items):
        self.threads.add(threading.get_ident())
        if self.hold:
            self.hold.wait(5)
        if any(item == "" for item in items):
            raise InvalidQueryError("the query is empty")
        self.calls.append((params, list(items)))
        return [f"{item.upper()}@{params}" for item in items]


def gather(batcher, requests):
    async def main():
        try:
            return await asyncio.gather(*(batcher.submit(p, q) for p, q in requests), return_exceptions=True)
        finally:
            await batcher.close()

    return asyncio.run(main())


def test_requests_that_arrive_together_share_one_call_and_each_gets_its_own_result():
    run = Recorder()
    results = gather(Batcher(run, window_s=0.05), [(10, f"q{i}") for i in range(5)])
    assert results == [f"Q{i}@10" for i in range(5)]
    assert run.calls == [(10, ["q0", "q1", "q2", "q3", "q4"])]


def test_only_requests_with_the_same_parameters_are_batched_together():
    run = Recorder()
    results = gather(Batcher(run, window_s=0.05), [(10, "a"), (5, "b"), (10, "c"), (5, "d")])
    assert results == ["A@10", "B@5", "C@10", "D@5"]
    assert sorted(run.calls) == [(5, ["b", "d"]), (10, ["a", "c"])]


def test_a_batch_holds_at_most_max_batch_requests():
    run = Recorder()
    batcher = Batcher(run, window_s=0.05, max_batch=3)
    results = gather(batcher, [(1, str(i)) for i in range(7)])
    assert results == [f"{i}@1" for i in range(7)]
    assert batcher.batch_sizes == [3, 3, 1]


def test_with_batching_off_every_request_is_its_own_call():
    run = Recorder()
    batcher = Batcher(run, window_s=0, max_batch=1)
    gather(batcher, [(1, str(i)) for i in range(4)])
    assert batcher.batch_sizes == [1, 1, 1, 1]


def test_the_work_runs_in_a_worker_thread_never_on_the_event_loop():
    run = Recorder()
    gather(Batcher(run), [(1, "a")])
    assert run.threads and threading.get_ident() not in run.threads


def test_a_failing_request_gets_its_error_and_the_others_in_its_batch_their_results():
    run = Recorder()
    results = gather(Batcher(run, window_s=0.05), [(1, "a"), (1, ""), (1, "c")])
    assert results[0] == "A@1" and results[2] == "C@1"
    assert isinstance(results[1], InvalidQueryError)


def test_a_full_queue_refuses_at_once_instead_of_growing():
    hold = threading.Event()
    run = Recorder(hold)
    batcher = Batcher(run, window_s=0, max_batch=1, max_pending=2)

    async def main():
        first = asyncio.ensure_future(batcher.submit(1, "running"))
        await asyncio.sleep(0.05)  # the first is taken and blocks the worker
        queued = [asyncio.ensure_future(batcher.submit(1, f"q{i}")) for i in range(2)]
        await asyncio.sleep(0.01)
        assert batcher.pending == 2
        with pytest.raises(ServerBusyError, match="busy"):
            await batcher.submit(1, "one too many")
        hold.set()
        done = await asyncio.gather(first, *queued)
        await batcher.close()
        return done

    assert asyncio.run(main()) == ["RUNNING@1", "Q0@1", "Q1@1"]


def test_requests_arriving_while_a_batch_runs_form_the_next_batch():
    hold = threading.Event()
    run = Recorder(hold)
    batcher = Batcher(run, window_s=0, max_batch=16)

    async def main():
        first = asyncio.ensure_future(batcher.submit(1, "first"))
        await asyncio.sleep(0.05)
        later = [asyncio.ensure_future(batcher.submit(1, f"q{i}")) for i in range(5)]
        await asyncio.sleep(0.01)
        hold.set()
        await asyncio.gather(first, *later)
        await batcher.close()

    asyncio.run(main())
    assert batcher.batch_sizes == [1, 5]


def test_settings_out_of_range_are_refused():
    with pytest.raises(ValueError):
        Batcher(Recorder(), max_batch=0)
