"""Kafka at the edge: a JSON event producer, the dead-letter format,
topic creation, and a readiness probe. Built on aiokafka."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import RecordMetadata

from frontline.contracts import REGISTRY, TOPICS, Event, dlq_topic
from frontline.plumbing.logging import get_logger
from frontline.plumbing.metrics import DEAD_LETTERS, EVENTS_PUBLISHED
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import Signer

log = get_logger(__name__)
REQUEST_TIMEOUT_MS = 10_000
DLQ_REASON_HEADER = "frontline-dlq-reason"


class RawMessage(Protocol):
    """What a Kafka record looks like to us (an aiokafka ConsumerRecord is one)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


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

    def __init__(self, settings: Settings, *, client_id: str, signer: Signer) -> None:
        self._producer = AIOKafkaProducer(
            **settings.kafka_connection(),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=REQUEST_TIMEOUT_MS,
            linger_ms=5,
        )
        self._client_id = client_id
        self._signer = signer

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event: Event) -> None:
        await (await self.enqueue(event))

    async def enqueue(self, event: Event) -> asyncio.Future[RecordMetadata]:
        """Hands the event to the producer's batch; the future resolves when the broker has it."""
        spec = REGISTRY[event.type]
        value = event.to_json()
        sent: asyncio.Future[RecordMetadata] = await self._producer.send(
            spec.topic.value, value, key=spec.key(event).encode(), headers=self._signer.headers(event, value)
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
