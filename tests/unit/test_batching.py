"""The REST door's group commit: a lone request goes at once, requests that come meanwhile go
together, a few batches at a time, and one request's failure is its own."""

import asyncio

import pytest

from frontline.plumbing.batching import Coalescer


class Work:
    """Batches as worked, each held until the test lets it end."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.running = 0
        self.most_at_once = 0
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        self.started.set()
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.gate.wait()
            if -1 in items:
                raise ValueError("a bad item")
            return [item * 10 for item in items]
        finally:
            self.running -= 1


async def settled(work: Work, batches: int) -> None:
    async with asyncio.timeout(5):
        while len(work.batches) < batches:
            work.started.clear()
            await work.started.wait()


async def test_requests_that_come_while_batches_are_worked_go_together() -> None:
    work = Work()
    door = Coalescer(work, max_batch=100, in_flight=2)
    first = asyncio.create_task(door.submit([1]))
    await settled(work, 1)
    second = asyncio.create_task(door.submit([2]))  # a second batch starts beside the first
    await settled(work, 2)
    rest = [asyncio.create_task(door.submit([n, n + 1])) for n in (3, 5, 7)]
    await asyncio.sleep(0)
    assert len(work.batches) == 2, "no third batch while two are worked"
    work.gate.set()
    assert await first == [10]
    assert await second == [20]
    assert [await request for request in rest] == [[30, 40], [50, 60], [70, 80]]
    assert work.batches[2] == [3, 4, 5, 6, 7, 8]  # the three waiting requests in one batch
    assert work.most_at_once == 2


async def test_a_batch_holds_at_most_max_batch_items_and_never_splits_a_request() -> None:
    work = Work()
    door = Coalescer(work, max_batch=4, in_flight=1)
    first = asyncio.create_task(door.submit([0]))
    await settled(work, 1)
    waiting = [asyncio.create_task(door.submit(items)) for items in ([1, 2], [3, 4], [5], [6, 7, 8, 9, 10])]
    await asyncio.sleep(0)
    work.gate.set()
    await asyncio.gather(first, *waiting)
    assert work.batches[1:] == [[1, 2, 3, 4], [5], [6, 7, 8, 9, 10]]


async def test_a_failing_request_fails_alone() -> None:
    work = Work()
    door = Coalescer(work, max_batch=100, in_flight=1)
    first = asyncio.create_task(door.submit([0]))
    await settled(work, 1)
    good, bad = asyncio.create_task(door.submit([1])), asyncio.create_task(door.submit([-1]))
    await asyncio.sleep(0)
    work.gate.set()
    assert await first == [0]
    assert await good == [10]
    with pytest.raises(ValueError, match="a bad item"):
        await bad


async def test_a_request_after_the_runners_ended_goes_at_once() -> None:
    work = Work()
    work.gate.set()
    door = Coalescer(work, max_batch=100, in_flight=2)
    for n in range(5):
        assert await door.submit([n]) == [n * 10]
    assert work.batches == [[n] for n in range(5)]
