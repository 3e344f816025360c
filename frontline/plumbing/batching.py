"""Group commit for a REST door: requests that arrive while batches are being worked wait and go
together in the next one, so that under load each store round trip and publish serves many
requests, and a lone request still goes at once. A few batches are worked at a time, so a request
that arrives while one waits on the store need not wait for it to end."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Work = Callable[[list[Item]], Awaitable[list[Result]]]


class Coalescer(Generic[Item, Result]):
    """Runs `work` on the items of the requests waiting, at most `max_batch` items in a batch (a
    request is never split) and at most `in_flight` batches at once; `work` must allow that (each
    of intake's steps is idempotent and safe beside another). If a batch of several requests
    fails, each of them is worked alone, so one request's failure is its own."""

    def __init__(self, work: Work[Item, Result], *, max_batch: int, in_flight: int = 2) -> None:
        self._work = work
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._waiting: deque[tuple[list[Item], asyncio.Future[list[Result]]]] = deque()
        self._runners: set[asyncio.Task[None]] = set()

    async def submit(self, items: list[Item]) -> list[Result]:
        done: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        # a runner not done is within its loop, and looks at the waiting requests again before it ends
        self._runners = {runner for runner in self._runners if not runner.done()}
        if len(self._runners) < self._in_flight:
            self._runners.add(asyncio.create_task(self._run(), name="coalescer"))
        return await done

    async def _run(self) -> None:
        while self._waiting:
            taken = [self._waiting.popleft()]
            size = len(taken[0][0])
            while self._waiting and size + len(self._waiting[0][0]) <= self._max_batch:
                taken.append(self._waiting.popleft())
                size += len(taken[-1][0])
            try:
                results = await self._work([item for items, _ in taken for item in items])
            except Exception as error:  # noqa: BLE001 - handed to the requests that asked
                if len(taken) == 1:
                    _settle(taken[0][1], error=error)
                else:
                    await asyncio.gather(*(self._alone(items, done) for items, done in taken))
                continue
            start = 0
            for items, done in taken:
                _settle(done, results=results[start : start + len(items)])
                start += len(items)

    async def _alone(self, items: list[Item], done: asyncio.Future[list[Result]]) -> None:
        try:
            _settle(done, results=await self._work(items))
        except Exception as error:  # noqa: BLE001 - handed to the request that asked
            _settle(done, error=error)


def _settle(
    done: asyncio.Future[list[Result]], *, results: list[Result] | None = None, error: Exception | None = None
) -> None:
    if done.done():  # the caller went away
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(results or [])
