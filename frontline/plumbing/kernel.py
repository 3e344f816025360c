"""One way to consume Kafka, for every service: decode → validate → handle, and a message that
cannot be handled goes to its DLQ with the reason while the worker moves on.

- What a message causes — a contract violation, a domain refusal, an overflow, an encoding error,
  any exception its handler raises — is that message's fault: it is isolated (a failing batch is
  halved until the one message is found, the others handled in order) and dead-lettered.
- Only infrastructure failures — the store or the broker unreachable or timing out — are retried,
  with backoff, for as long as the outage lasts. While both answer their health probe, a message
  that still fails counts its attempts, and after `MAX_ATTEMPTS` it too is dead-lettered: a message
  can never hold its partition, or the tenants that share it, for ever.
- A worker retrying an outage for longer than `STUCK_AFTER_SECONDS` reports itself not ready.
"""

from __future__ import annotations

import abc
import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, NodeNotReadyError
from aiokafka.structs import ConsumerRecord, TopicPartition
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

from frontline.contracts import ContractViolation, Event, parse_event
from frontline.plumbing.kafka import REQUEST_TIMEOUT_MS, EventProducer, RawMessage
from frontline.plumbing.logging import get_logger
from frontline.plumbing.metrics import EVENTS_CONSUMED
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import EventKeys

log = get_logger(__name__)
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STUCK_AFTER_SECONDS = 30.0
Healthy = Callable[[], Awaitable[bool]]
Item = TypeVar("Item")


class Unprocessable(Exception):
    """A well-formed event the handler refuses for good; it goes to the DLQ with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GaveUp(Exception):
    """A message kept failing while the store and the broker answered: it is the message."""


def caused_by_infrastructure(error: BaseException) -> bool:
    """The store or the broker unreachable or too slow: worth waiting for, not the message's fault."""
    if isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError | ConnectionError | TimeoutError):
        return True
    if isinstance(error, KafkaConnectionError | KafkaTimeoutError | NodeNotReadyError):
        return True
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


def reason_of(error: BaseException) -> str:
    if isinstance(error, Unprocessable | ContractViolation):
        return error.reason
    return f"{type(error).__name__}: {error}"[:2000]


class Stuck:
    """Since when a worker has been retrying an outage, for readiness."""

    def __init__(self) -> None:
        self.since: float | None = None

    def failing(self) -> None:
        if self.since is None:
            self.since = time.monotonic()

    def cleared(self) -> None:
        self.since = None

    def check(self, name: str) -> None:
        if self.since is not None and time.monotonic() - self.since > STUCK_AFTER_SECONDS:
            raise WorkerStopped(f"the {name} worker has been retrying for {time.monotonic() - self.since:.0f}s")


async def persist(run: Callable[[], Awaitable[None]], *, healthy: Healthy, stuck: Stuck) -> None:
    """Runs `run` until it succeeds. Infrastructure failures are retried with backoff as long as the
    store or broker is down; while both answer, the MAX_ATTEMPTS-th failure raises GaveUp. Any other
    exception is raised at once."""
    counted = 0
    for attempt in itertools.count():
        try:
            await run()
        except Exception as error:
            if not caused_by_infrastructure(error):
                raise
            if await healthy():
                counted += 1
                if counted >= MAX_ATTEMPTS:
                    reason = f"failed {counted} times while the store and broker answered: {reason_of(error)}"
                    raise GaveUp(reason) from error
            stuck.failing()
            delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
            log.warning("infrastructure failure; retrying", error=reason_of(error), in_seconds=delay)
            await asyncio.sleep(delay)
        else:
            stuck.cleared()
            return


async def isolate(
    items: list[Item],
    handle: Callable[[list[Item]], Awaitable[None]],
    *,
    refuse: Callable[[Item, str], Awaitable[None]],
    forget: Callable[[], None],
    retrying: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]],
) -> None:
    """Handles `items` at once; if they fail for a reason of theirs, `forget`s what the failed
    attempt left in memory and halves them, in order, until each failing item is alone — then it is
    refused (dead-lettered) with the reason and the others are handled."""
    if not items:
        return
    try:
        await retrying(lambda: handle(items))
    except Exception as error:  # noqa: BLE001 - whatever a message causes goes to its DLQ, with the reason
        forget()
        if len(items) == 1:
            await refuse(items[0], reason_of(error))
            return
        log.warning("a batch failed; isolating the message that caused it", size=len(items), error=reason_of(error))
        middle = len(items) // 2
        for half in (items[:middle], items[middle:]):
            await isolate(half, handle, refuse=refuse, forget=forget, retrying=retrying)


def store_and_broker_health(producer: EventProducer, ping_store: Callable[[], Awaitable[None]]) -> Healthy:
    async def healthy() -> bool:
        try:
            await asyncio.wait_for(asyncio.gather(producer.ready(), ping_store()), 5)
        except Exception:  # noqa: BLE001 - any failure of a probe means "not healthy"
            return False
        return True

    return healthy


@dataclass(frozen=True)
class Door:
    """What a consumer needs to dead-letter and to tell an outage from a poison message."""

    producer: EventProducer
    healthy: Healthy
    stuck: Stuck
    keys: EventKeys

    def decode(self, record: RawMessage) -> Event:
        """The record's event, if it is one and its writer may write it; else ContractViolation or
        Unprocessable — whatever else reading it raises too, with the reason."""
        try:
            event = parse_event(record.value or b"")
            refused = self.keys.refusal(event, record.value or b"", record.headers or (), record.topic)
        except ContractViolation:
            raise
        except Exception as error:
            raise Unprocessable(reason_of(error)) from error
        if refused is not None:
            raise Unprocessable(refused)
        return event

    async def refuse(self, record: RawMessage, reason: str, *, outcome: str = "refused") -> None:
        EVENTS_CONSUMED.labels(record.topic, outcome).inc()
        await persist(lambda: self.producer.send_to_dlq(record, reason), healthy=self.healthy, stuck=self.stuck)

    async def retrying(self, run: Callable[[], Awaitable[None]]) -> None:
        await persist(run, healthy=self.healthy, stuck=self.stuck)


def keyed_group_consumer(settings: Settings, *, group: str, client_id: str) -> AIOKafkaConsumer:
    """A consumer in `group` for topics keyed alike (by tenant): the range assignor gives one member
    the same partition number of each, so one worker sees everything of a key. Reads committed
    records only, commits by hand; the broker holds a fetch `kafka_fetch_wait_ms` at most."""
    return AIOKafkaConsumer(
        **settings.kafka_connection(),
        group_id=group,
        client_id=client_id,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset=settings.kafka_offset_reset,
        partition_assignment_strategy=(RangePartitionAssignor,),
        session_timeout_ms=15_000,
        heartbeat_interval_ms=3_000,
        request_timeout_ms=REQUEST_TIMEOUT_MS + 5_000,
        fetch_max_wait_ms=settings.kafka_fetch_wait_ms,
    )


class WorkerStopped(RuntimeError):
    """A stream worker is not running, has no partitions yet, or is stuck."""


@dataclass(frozen=True)
class Received:
    """A message and its event; `event` is None on the topics a worker takes undecoded."""

    record: ConsumerRecord
    event: Event | None


class KeyedWorker(ConsumerRebalanceListener):  # type: ignore[misc]
    """A service's stream worker over tenant-keyed topics (see `keyed_group_consumer`): one task that
    decodes each fetched batch and hands it to `handle` under a lock, which a rebalance waits for,
    so a batch in progress finishes and commits before its partitions go. Ready once running with
    partitions (whether it is stuck on an outage, its door tells)."""

    undecoded_topics: frozenset[str] = frozenset()
    tenant_keyed = True  # a message whose key is not its event's tenant is refused

    def __init__(self, settings: Settings, *, name: str, topics: list[str], max_batch: int, door: Door) -> None:
        self._settings = settings
        self.name = name
        self._topics = topics
        self._max_batch = max_batch
        self.door = door
        self.group = f"{settings.kafka_group_prefix}-{name}"
        self._consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.assigned = asyncio.Event()
        self._reassigned = True
        self._stepping = asyncio.Lock()

    async def start(self) -> None:
        self._consumer = keyed_group_consumer(self._settings, group=self.group, client_id=f"frontline-{self.name}")
        self._consumer.subscribe(self._topics, listener=self)
        await self._consumer.start()
        self.task = asyncio.create_task(self._run(), name=f"{self.name}-worker")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    async def ready(self) -> None:
        if self.task is None or self.task.done():
            raise WorkerStopped(f"the {self.name} worker is not running")
        if not self.assigned.is_set():
            raise WorkerStopped(f"the {self.name} worker has not been given its partitions yet")

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._stepping:
            return

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._reassigned = True
        self.assigned.set()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        assert self._consumer is not None, "the worker has not started"
        return self._consumer

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=500, max_records=self._max_batch)
            async with self._stepping:
                await self._work(batches)

    async def _work(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Decode, handle (poison isolated), then commit what was fetched."""
        received: list[Received] = []
        for records in batches.values():
            for record in records:
                decoded = await self._decode(record)
                if decoded is not None:
                    received.append(decoded)
        await isolate(
            received, self._handle_fresh, refuse=self._refuse, forget=self._forget, retrying=self.door.retrying
        )
        if batches:
            offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
            await self.door.retrying(lambda: self.consumer.commit(offsets))

    async def _decode(self, record: ConsumerRecord) -> Received | None:
        if record.topic in self.undecoded_topics:
            return Received(record, None)
        try:
            event = self.door.decode(record)
        except (ContractViolation, Unprocessable) as invalid:
            await self.door.refuse(record, invalid.reason, outcome="invalid")
            return None
        if self.tenant_keyed and record.key != event.tenant.encode():
            await self.door.refuse(record, "the message key must be the tenant", outcome="invalid")
            return None
        return Received(record, event)

    async def _handle_fresh(self, received: list[Received]) -> None:
        reassigned, self._reassigned = self._reassigned, False
        try:
            await self.handle(received, reassigned=reassigned)
        except BaseException:
            self._reassigned = self._reassigned or reassigned
            raise
        for item in received:
            EVENTS_CONSUMED.labels(item.record.topic, "ok").inc()

    async def _refuse(self, item: Received, reason: str) -> None:
        await self.door.refuse(item.record, reason)

    def _forget(self) -> None:
        """After a failed attempt: what it left in memory is dropped, as after a rebalance."""
        self._reassigned = True
        self.forget()

    async def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        """For a handler that refuses one message of its batch and goes on with the others."""
        await self.door.refuse(record, reason)

    @abc.abstractmethod
    async def handle(self, received: list[Received], *, reassigned: bool) -> None:
        """Handles a batch of decoded messages; `reassigned`: partitions or memory changed since the last."""

    @abc.abstractmethod
    def forget(self) -> None:
        """Drops what this worker keeps in memory about its partitions; it is read again from the store."""
