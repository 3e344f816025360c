"""Kafka at the edge: a JSON event producer, a consumer that dead-letters what it cannot process,
topic creation, and a readiness probe. Built on aiokafka."""

from __future__ import annotations

import abc
import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord, RecordMetadata, TopicPartition
from pymongo.errors import ConnectionFailure, ExecutionTimeout

from frontline.contracts import REGISTRY, TOPICS, ContractViolation, Event, dlq_topic, parse_event
from frontline.plumbing.logging import event_context, get_logger
from frontline.plumbing.metrics import DEAD_LETTERS, EVENTS_CONSUMED, EVENTS_PUBLISHED
from frontline.plumbing.settings import Settings

log = get_logger(__name__)
REQUEST_TIMEOUT_MS = 10_000
DLQ_REASON_HEADER = "frontline-dlq-reason"


class RawMessage(Protocol):
    """What a Kafka record looks like to us, from aiokafka or from faust."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Unprocessable(Exception):
    """A well-formed event the handler refuses for good; it goes to the DLQ with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


SNAPSHOT_MAX_BYTES = 16 * 1024 * 1024


def all_topics() -> list[str]:
    """Every Frontline topic, and the DLQ of each event topic."""
    names = []
    for topic, spec in TOPICS.items():
        names.append(topic.value)
        if not spec.internal:
            names.append(dlq_topic(topic.value))
    return names


async def ensure_topics(settings: Settings, names: Iterable[str] | None = None) -> None:
    """Create missing topics with the configured partitions; existing ones are left alone."""
    admin = AIOKafkaAdminClient(**settings.kafka_connection(), request_timeout_ms=REQUEST_TIMEOUT_MS)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in (names or all_topics()) if name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            settings.kafka_topic_partitions,
                            settings.kafka_replication_factor,
                            topic_configs=topic_config(name),
                        )
                        for name in missing
                    ]
                )
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by another process", topics=missing)
            await _until_described(admin, missing)
    finally:
        await admin.close()


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """The partition numbers of an existing topic, from the broker."""
    admin = AIOKafkaAdminClient(**settings.kafka_connection(), request_timeout_ms=REQUEST_TIMEOUT_MS)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for p in description["partitions"])
    if description["error_code"] != 0 or not partitions:
        raise KafkaError(f"topic {topic} is unknown to the broker (error {description['error_code']})")
    return partitions


def topic_config(name: str) -> dict[str, str]:
    """Retention from the registry for a Frontline topic and its DLQ; internal state topics are compacted."""
    for topic, spec in TOPICS.items():
        if spec.internal and name == topic.value:
            return {"cleanup.policy": "compact", "max.message.bytes": str(SNAPSHOT_MAX_BYTES)}
        if name in (topic.value, dlq_topic(topic.value)):
            return {"retention.ms": str(spec.retention_days * 86_400_000)}
    return {}


async def _until_described(admin: AIOKafkaAdminClient, names: list[str], seconds: float = 15) -> None:
    """A created topic takes a moment to reach every broker's metadata; return once it has."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        described = await admin.describe_topics(names)
        pending = [d["topic"] for d in described if d["error_code"] != 0 or not d["partitions"]]
        if not pending:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics {pending} still unknown to the broker {seconds:.0f}s after creation")
        await asyncio.sleep(0.1)


def dead_letter(
    *,
    reason: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    service: str,
    now: datetime,
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The DLQ message for a record that could not be processed: the reason and the original, intact."""
    try:
        payload: dict[str, Any] = {"payload": value.decode() if value is not None else None}
    except UnicodeDecodeError:
        payload = {"payload_base64": base64.b64encode(value or b"").decode()}
    body = {
        "reason": reason,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key.decode(errors="replace") if key is not None else None,
        "service": service,
        "failed_at": now.astimezone(UTC).isoformat(),
        **payload,
    }
    headers = [(DLQ_REASON_HEADER, reason.encode()[:1000]), ("frontline-source-topic", topic.encode())]
    return json.dumps(body).encode(), headers


def dead_letter_of(
    record: RawMessage, reason: str, *, service: str, now: datetime
) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """Where a record that cannot be processed goes, and the body and headers to send there."""
    body, headers = dead_letter(
        reason=reason,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        service=service,
        now=now,
    )
    return dlq_topic(record.topic), body, headers


class EventProducer:
    """Publishes events to their registry topic and key; acks from all in-sync replicas, idempotent."""

    def __init__(self, settings: Settings, *, client_id: str) -> None:
        self._producer = AIOKafkaProducer(
            **settings.kafka_connection(),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=REQUEST_TIMEOUT_MS,
            linger_ms=5,
        )
        self._client_id = client_id

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event: Event) -> None:
        await (await self.enqueue(event))

    async def enqueue(self, event: Event) -> asyncio.Future[RecordMetadata]:
        """Hands the event to the producer's batch; the future resolves when the broker has it."""
        spec = REGISTRY[event.type]
        sent: asyncio.Future[RecordMetadata] = await self._producer.send(
            spec.topic.value, event.to_json(), key=spec.key(event).encode()
        )
        EVENTS_PUBLISHED.labels(spec.topic.value).inc()
        return sent

    async def send_raw(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        await self._producer.send_and_wait(topic, value, key=key, headers=headers)

    async def send_to_dlq(self, record: RawMessage, reason: str) -> None:
        topic, body, headers = dead_letter_of(record, reason, service=self._client_id, now=datetime.now(UTC))
        await self.send_raw(topic, body, key=record.key, headers=headers)
        DEAD_LETTERS.labels(record.topic).inc()
        log.warning(
            "message dead-lettered", topic=record.topic, partition=record.partition, offset=record.offset, reason=reason
        )

    async def ready(self) -> None:
        """Raises unless a broker answers a metadata request."""
        metadata = await self._producer.client.fetch_all_metadata()
        if not metadata.brokers():
            raise ConnectionError("no Kafka broker in the metadata response")


Handler = Callable[[Event], Awaitable[None]]


TRANSIENT = (ConnectionFailure, ExecutionTimeout, KafkaError)
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


async def with_retries(handler: Handler, event: Event) -> None:
    """Retries a handler that met a passing outage of MongoDB or Kafka (handlers are idempotent);
    past the last delay the error propagates, the offset stays uncommitted and the message returns."""
    for delay in RETRY_DELAYS:
        try:
            await handler(event)
        except TRANSIENT as error:
            log.warning("transient failure, retrying", error=f"{type(error).__name__}: {error}", in_seconds=delay)
            await asyncio.sleep(delay)
        else:
            return
    await handler(event)


async def process(record: RawMessage, handler: Handler, producer: EventProducer) -> None:
    """Decode one message and hand it to `handler`; what cannot be processed is dead-lettered."""
    try:
        event = parse_event(record.value or b"")
    except ContractViolation as violation:
        EVENTS_CONSUMED.labels(record.topic, "invalid").inc()
        await producer.send_to_dlq(record, violation.reason)
        return
    with event_context(
        tenant=event.tenant, correlation_id=event.correlation_id, contact_id=event.contact_id, event_id=str(event.id)
    ):
        try:
            await with_retries(handler, event)
        except Unprocessable as refused:
            EVENTS_CONSUMED.labels(record.topic, "refused").inc()
            await producer.send_to_dlq(record, refused.reason)
            return
    EVENTS_CONSUMED.labels(record.topic, "ok").inc()


class EventConsumer:
    """Feeds each valid event to `handler`; invalid or refused messages go to `<topic>.dlq`.

    Offsets are committed only after a batch is handled or dead-lettered, so a crash
    re-delivers rather than loses; handlers are idempotent on the event id.
    """

    def __init__(
        self, settings: Settings, *, topics: list[str], group_id: str, handler: Handler, producer: EventProducer
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            **settings.kafka_connection(),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )
        self._handler = handler
        self._producer = producer

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def poll_once(self, timeout_ms: int = 1000) -> int:
        """Handle one batch and commit it; returns how many records it held."""
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        handled = 0
        for partition, records in batches.items():
            for record in records:
                await process(record, self._handler, self._producer)
            await self._consumer.commit({partition: records[-1].offset + 1})
            handled += len(records)
        return handled


def keyed_group_consumer(settings: Settings, *, group: str, client_id: str) -> AIOKafkaConsumer:
    """A consumer in `group` for topics keyed alike (by tenant): the range assignor gives one member
    the same partition number of each, so one worker sees everything of a key. Reads committed
    records only, commits by hand."""
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
    )


Batches = dict[TopicPartition, list[ConsumerRecord]]


class WorkerStopped(RuntimeError):
    """A stream worker is not running or has no partitions yet."""


class KeyedWorker(ConsumerRebalanceListener):  # type: ignore[misc]
    """A service's stream worker over tenant-keyed topics (see `keyed_group_consumer`): one task that
    handles each fetched batch in `step` under a lock, which a rebalance waits for, so a batch in
    progress finishes and commits before its partitions go. Ready once running with partitions."""

    def __init__(self, settings: Settings, *, name: str, topics: list[str], max_batch: int) -> None:
        self._settings = settings
        self.name = name
        self._topics = topics
        self._max_batch = max_batch
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
                reassigned, self._reassigned = self._reassigned, False
                await self.step(batches, reassigned=reassigned)

    @abc.abstractmethod
    async def step(self, batches: Batches, *, reassigned: bool) -> None:
        """Handles one fetched batch and commits its offsets; `reassigned`: partitions changed since."""
