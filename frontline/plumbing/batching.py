"""Group commit for a REST door: requests that arrive while a batch is being worked wait and go
together in the next one, so that under load each store round trip and publish serves many
requests, and a lone request still goes at once."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Work = Callable[[list[Item]], Awaitable[list[Result]]]


class Coalescer(Generic[Item, Result]):
    """Runs `work` on the items of the requests waiting, at most `max_batch` at once (a request is
    never split). If a batch of several requests fails, each of them is worked alone, so one
    request's failure is its own."""

    def __init__(self, work: Work[Item, Result], *, max_batch: int) -> None:
        self._work = work
        self._max_batch = max_batch
        self._waiting: deque[tuple[list[Item], asyncio.Future[list[Result]]]] = deque()
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, items: list[Item]) -> list[Result]:
        done: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="coalescer")
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
