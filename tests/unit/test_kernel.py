"""The consumer kernel's rules, without a broker: an outage is waited out, a message's own failure
isolates that message, and nothing is retried for ever while the store and the broker answer."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from hypothesis import given
from hypothesis import strategies as st
from pymongo.errors import AutoReconnect, OperationFailure

from frontline.plumbing.kernel import MAX_ATTEMPTS, GaveUp, Stuck, caused_by_infrastructure, isolate, persist


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("frontline.plumbing.kernel.BACKOFF_SECONDS", (0,))


def health(answers: bool):
    async def healthy() -> bool:
        return answers

    return healthy


@pytest.mark.parametrize(
    ("error", "infrastructure"),
    [
        (AutoReconnect("primary stepped down"), True),
        (KafkaConnectionError(), True),
        (ConnectionRefusedError(), True),
        (OperationFailure("bad $ key", code=52), False),
        (MessageSizeTooLargeError(), False),
        (OverflowError("date value out of range"), False),
        (ValueError("x"), False),
    ],
)
def test_only_unreachable_or_slow_servers_count_as_infrastructure(error: Exception, infrastructure: bool) -> None:
    assert caused_by_infrastructure(error) is infrastructure


def test_an_outage_is_waited_out_however_long_it_lasts() -> None:
    calls = []
    stuck = Stuck()

    async def flaky() -> None:
        calls.append(1)
        if len(calls) < 3 * MAX_ATTEMPTS:
            raise AutoReconnect("no primary")

    asyncio.run(persist(flaky, healthy=health(False), stuck=stuck))
    assert len(calls) == 3 * MAX_ATTEMPTS
    assert stuck.since is None


def test_a_message_that_fails_while_the_servers_answer_is_given_up_after_n_attempts() -> None:
    calls = []
    stuck = Stuck()

    async def always_times_out() -> None:
        calls.append(1)
        raise AutoReconnect("this one document makes the server time out")

    with pytest.raises(GaveUp, match=f"failed {MAX_ATTEMPTS} times"):
        asyncio.run(persist(always_times_out, healthy=health(True), stuck=stuck))
    assert len(calls) == MAX_ATTEMPTS
    assert stuck.since is not None


def test_a_message_fault_is_raised_at_once_without_retrying() -> None:
    calls = []

    async def overflow() -> None:
        calls.append(1)
        raise OverflowError("date value out of range")

    with pytest.raises(OverflowError):
        asyncio.run(persist(overflow, healthy=health(True), stuck=Stuck()))
    assert calls == [1]


@given(st.lists(st.integers(0, 50), max_size=40), st.sets(st.integers(0, 50), max_size=5))
def test_isolation_refuses_exactly_the_poison_and_handles_the_rest_in_order(
    messages: list[int], poison: set[int]
) -> None:
    handled: list[int] = []  # what batches that succeeded did
    in_memory: list[int] = []  # what an attempt did before it failed or succeeded
    refused: list[int] = []
    forgotten = []

    async def handle(batch: list[int]) -> None:
        in_memory.extend(m for m in batch if m not in poison)
        if poison & set(batch):
            raise OverflowError("poison")
        handled.extend(in_memory)
        in_memory.clear()

    async def refuse(message: int, reason: str) -> None:
        assert reason == "OverflowError: poison"
        refused.append(message)

    async def retrying(run) -> None:
        await persist(run, healthy=health(True), stuck=Stuck())

    def forget() -> None:
        forgotten.append(len(in_memory))
        in_memory.clear()  # a failed attempt's effects are dropped, as the workers' forget() does

    asyncio.run(isolate(messages, handle, refuse=refuse, forget=forget, retrying=retrying))
    assert refused == [m for m in messages if m in poison]
    assert handled == [m for m in messages if m not in poison]
    assert bool(forgotten) == bool(set(messages) & poison)
