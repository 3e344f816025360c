"""Routing's stream worker: it owns routing pools by partition and applies each request exactly once.

The inputs (`contacts.received`, `agents.events`, `routing.requests`) and the output
(`routing.events`) are all keyed by tenant, so partition p of each holds the same pools. For each
partition p it is assigned, the worker
  - starts a transactional producer with the id `<group>-p<p>`, which fences any earlier owner of p
    and aborts that owner's unfinished transaction;
  - rebuilds the pools of p by replaying partition p of `routing.events`, committed facts only;
  - then handles each batch of input records of p, and the timers that fell due, in one Kafka
    transaction that writes the resulting facts and dead letters and commits the input offsets.
A crash before the commit undoes the whole step: its inputs are read again and applied to state
rebuilt from committed facts, so no contact is lost and none is offered or assigned twice.

A message the router cannot apply (an exception it raises for that message) is marked poison, the
step is undone and the pool rebuilt without it, and the step taken again dead-letters it. A step the
broker refuses for a reason of its own is retried with backoff; one that keeps failing while the
broker answers is taken again one message at a time, and the message that still fails is poison.
aiokafka is used directly, not faust, because this needs consume-transform-produce transactions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import ConsumerRecord, RecordMetadata

from frontline.contracts import Event, Topic, parse_event
from frontline.plumbing.kafka import REQUEST_TIMEOUT_MS, dead_letter_of
from frontline.plumbing.kernel import (
    BACKOFF_SECONDS,
    MAX_ATTEMPTS,
    Stuck,
    WorkerStopped,
    caused_by_infrastructure,
    keyed_group_consumer,
    reason_of,
)
from frontline.plumbing.logging import get_logger
from frontline.plumbing.metrics import DEAD_LETTERS, EVENTS_CONSUMED, EVENTS_PUBLISHED
from frontline.plumbing.settings import Settings
from services.routing.core.errors import RoutingRefused
from services.routing.core.router import Router
from services.routing.core.snapshot import take
from services.routing.core.state import Fact
from services.routing.facts import as_event
from services.routing.recovery import SNAPSHOTS, SnapshotRecord, rebuild, snapshot_messages
from services.routing.settings import RoutingSettings

log = get_logger(__name__)
INPUTS = (Topic.CONTACTS_RECEIVED.value, Topic.AGENTS_EVENTS.value, Topic.ROUTING_REQUESTS.value)
FACTS = Topic.ROUTING_EVENTS.value
# A step's facts (~1,000 at 500 contacts/s) in one producer batch: aiokafka sends one request at a time
# to a broker, with one batch per partition, so in its default 16 KiB batches they took a round trip
# each, one after another (median latency ~5x lower, BENCHMARKS.md 2026-12-08). Half the broker's
# default message size limit.
BATCH_BYTES = 512 * 1024
Clock = Callable[[], datetime]
Place = tuple[str, int, int]  # topic, partition, offset
Sent = tuple["asyncio.Future[RecordMetadata]", Event | None]  # a send, and the fact it carries (None: a dead letter)
Committed = Callable[[int, list[tuple[int, Event]]], None]  # a partition's facts of a committed step, by offset


class PoisonFound(Exception):
    """A message broke the pool while being applied; the step is undone and taken again without it."""


class Partition:
    """One owned partition number: its transactional producer, its pools (tenant → router), and
    how far its facts and its last snapshot go."""

    def __init__(self, number: int, producer: AIOKafkaProducer, pools: dict[str, Router], last_fact: int) -> None:
        self.number = number
        self.producer = producer
        self.pools = pools
        self.last_fact = last_fact
        self.facts_since_snapshot = 0
        self.snapshot_at = time.monotonic()
        self.failures = 0  # steps failed in a row while the broker answered
        self.single_steps = 0  # steps still to take one message at a time, to find the one that fails

    def due(self, now: datetime) -> bool:
        epoch = now.timestamp()
        return any((due := pool.next_due()) is not None and due <= epoch for pool in self.pools.values())


class RoutingWorker(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, settings: Settings, routing: RoutingSettings, *, clock: Clock, committed: Committed) -> None:
        self._settings = settings
        self._routing = routing
        self._clock = clock
        self._committed = committed
        self._keys = settings.signing_keys()
        self._signer = self._keys.for_service("routing")
        self.group = f"{settings.kafka_group_prefix}-routing"
        self.partitions: dict[int, Partition] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.assigned = asyncio.Event()  # set once the group has given this worker its partitions
        self._to_take: set[int] = set()  # assigned partition numbers whose pools are not rebuilt yet
        self._stepping = asyncio.Lock()  # a step and a revocation never overlap
        self._poison: dict[Place, str] = {}  # messages to dead-letter, not apply, when read again
        self.stuck = Stuck()

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._consumer = keyed_group_consumer(self._settings, group=self.group, client_id="frontline-routing")
        self._consumer.subscribe(list(INPUTS), listener=self)
        await self._consumer.start()
        self.task = asyncio.create_task(self._run(), name="routing-worker")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for partition in list(self.partitions.values()):
            await partition.producer.stop()
        self.partitions.clear()
        if self._consumer is not None:
            await self._consumer.stop()

    async def ready(self) -> None:
        if self.task is None or self.task.done():
            raise WorkerStopped("the routing worker is not running")
        if not self.assigned.is_set():
            raise WorkerStopped("the routing worker has not been given its partitions yet")
        self.stuck.check("routing")

    # --- ownership -----------------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Waits for a step in progress to commit (or abort) before giving its producer up."""
        async with self._stepping:
            for number in sorted({tp.partition for tp in revoked}):
                self._to_take.discard(number)
                partition = self.partitions.pop(number, None)
                if partition is not None:
                    await partition.producer.stop()
                    log.info("routing partition released", partition=number, pools=len(partition.pools))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Returns at once, so that the group's heartbeats go on: the loop takes the partitions over."""
        self._to_take |= {tp.partition for tp in assigned} - set(self.partitions)
        if not self._to_take:
            self.assigned.set()

    async def _take_over(self) -> None:
        """Fence the previous owner of each newly assigned partition and rebuild its pools."""
        while self._to_take:
            number = min(self._to_take)
            producer = AIOKafkaProducer(
                **self._settings.kafka_connection(),
                client_id=f"frontline-routing-p{number}",
                transactional_id=f"{self.group}-p{number}",
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                linger_ms=2,
                max_batch_size=BATCH_BYTES,
                compression_type="lz4",  # cheap to pack and unpack; every Kafka client reads it
            )
            await producer.start()
            pools, last_fact = await rebuild(self._settings, number, Router)
            if number not in self._to_take:  # revoked again while it was being rebuilt
                await producer.stop()
                continue
            self._to_take.discard(number)
            self.partitions[number] = Partition(number, producer, pools, last_fact)
            log.info("routing partition taken", partition=number, pools=len(pools))
        self.assigned.set()

    # --- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        timeout_ms = int(self._routing.tick_seconds * 1000)
        while True:
            if self._to_take:
                await self._take_over()
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=self._routing.max_batch)
            by_partition: dict[int, list[ConsumerRecord]] = {}
            for tp, records in batches.items():
                if tp.partition in self.partitions:
                    by_partition.setdefault(tp.partition, []).extend(records)
                elif tp in consumer.assignment():  # fetched before its pools were rebuilt: read it again later
                    consumer.seek(tp, records[0].offset)
            now = self._clock()
            async with self._stepping:
                for number, partition in list(self.partitions.items()):
                    records = self._taken(partition, by_partition.get(number, []))
                    if records or partition.due(now):
                        await self._step(partition, records, now)

    def _taken(self, partition: Partition, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        """The records this step takes: all, or while a failing one is looked for, only the first
        (the others are read again)."""
        if partition.single_steps <= 0 or len(records) <= 1:
            return records
        partition.single_steps -= 1
        consumer = self._consumer
        assert consumer is not None
        first_left: dict[TopicPartition, int] = {}
        for record in records[1:]:
            first_left.setdefault(TopicPartition(record.topic, record.partition), record.offset)
        for tp, offset in first_left.items():
            consumer.seek(tp, offset)
        return records[:1]

    async def _step(self, partition: Partition, records: list[ConsumerRecord], now: datetime) -> None:
        """Apply `records` and the timers due, and commit it all at once, or nothing."""
        try:
            async with partition.producer.transaction():
                sent: list[Sent] = []
                offsets: dict[TopicPartition, int] = {}
                outcomes: list[tuple[str, str]] = []
                for record in records:
                    futures, outcome = await self._handle(partition, record, now)
                    sent += futures
                    outcomes.append((record.topic, outcome))
                    offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
                for pool in partition.pools.values():
                    due = pool.next_due()
                    if due is not None and due <= now.timestamp():
                        sent += await self._publish(partition, pool.tick(now), tenant=pool.tenant, cause=None)
                metas = await asyncio.gather(*(future for future, _ in sent))
                written = [
                    (meta.offset, event)
                    for meta, (_, event) in zip(metas, sent, strict=True)
                    if meta.topic == FACTS and event is not None
                ]
                if written:
                    partition.last_fact = max(offset for offset, _ in written)
                    partition.facts_since_snapshot += len(written)
                if self._snapshot_due(partition):
                    await self._snapshot(partition, now)
                if offsets:
                    await partition.producer.send_offsets_to_transaction(offsets, self.group)
        except ProducerFenced:
            log.warning("routing partition taken over by another worker", partition=partition.number)
            self.partitions.pop(partition.number, None)
            await partition.producer.stop()
        except PoisonFound as found:
            log.error(
                "a message broke the routing pool; undoing the step", partition=partition.number, error=str(found)
            )
            await self._rewind(partition)
        except KafkaError as error:
            log.error("routing step failed; undoing it", partition=partition.number, error=repr(error))
            await self._rewind(partition)
            await self._failed(partition, records, error)
        else:
            partition.failures = 0
            self.stuck.cleared()
            self._committed(partition.number, written)
            for topic, outcome in outcomes:
                EVENTS_CONSUMED.labels(topic, outcome).inc()

    async def _failed(self, partition: Partition, records: list[ConsumerRecord], error: KafkaError) -> None:
        """Waits out an outage; a step the broker keeps refusing is narrowed to the message at fault."""
        self.stuck.failing()
        if not caused_by_infrastructure(error):
            partition.failures += 1
        if partition.failures >= MAX_ATTEMPTS:
            partition.failures = 0
            if len(records) == 1:
                record = records[0]
                self._poison[(record.topic, record.partition, record.offset)] = reason_of(error)
            else:
                partition.single_steps = len(records)
        await asyncio.sleep(BACKOFF_SECONDS[min(partition.failures, len(BACKOFF_SECONDS) - 1)])

    def _snapshot_due(self, partition: Partition) -> bool:
        if partition.facts_since_snapshot >= self._routing.snapshot_every_facts:
            return True
        elapsed = time.monotonic() - partition.snapshot_at
        return partition.facts_since_snapshot > 0 and elapsed >= self._routing.snapshot_every_seconds

    async def _snapshot(self, partition: Partition, now: datetime) -> None:
        """Every pool of the partition as of its last fact, in the transaction that wrote that fact."""
        for tenant, pool in partition.pools.items():
            record = SnapshotRecord(facts_offset=partition.last_fact, taken_at=now, pool=take(pool, now))
            for key, value, headers in snapshot_messages(tenant, record, self._signer):
                await partition.producer.send(SNAPSHOTS, value, key=key, partition=partition.number, headers=headers)
        partition.facts_since_snapshot, partition.snapshot_at = 0, time.monotonic()

    async def _rewind(self, partition: Partition) -> None:
        """After a failed transaction: state back to the committed facts, inputs back to the committed offsets."""
        consumer = self._consumer
        assert consumer is not None
        partition.pools, partition.last_fact = await rebuild(self._settings, partition.number, Router)
        for topic in INPUTS:
            tp = TopicPartition(topic, partition.number)
            if tp in consumer.assignment():
                committed = await consumer.committed(tp)
                if committed is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, committed)

    async def _handle(self, partition: Partition, record: ConsumerRecord, now: datetime) -> tuple[list[Sent], str]:
        """The sends this record caused, and its outcome: ok, invalid or refused (both dead-lettered)."""
        poison = self._poison.pop((record.topic, record.partition, record.offset), None)
        if poison is not None:
            return [await self._dead_letter(partition, record, poison)], "refused"
        try:
            event = parse_event(record.value)
            forged = self._keys.refusal(event, record.value or b"", record.headers, record.topic)
        except Exception as error:  # noqa: BLE001 - a message that cannot even be read goes to its DLQ
            return [await self._dead_letter(partition, record, reason_of(error))], "invalid"
        if forged is not None:
            return [await self._dead_letter(partition, record, forged)], "invalid"
        if record.key != event.tenant.encode():
            reason = "the message key must be the tenant (routing pool)"
            return [await self._dead_letter(partition, record, reason)], "invalid"
        if not Router.handles(event):
            return [await self._dead_letter(partition, record, f"routing does not take {event.type} events")], "invalid"
        pool = partition.pools.get(event.tenant) or partition.pools.setdefault(event.tenant, Router(event.tenant))
        try:
            facts = pool.apply(event, now)
            return await self._publish(partition, facts, tenant=event.tenant, cause=event), "ok"
        except RoutingRefused as refused:
            return [await self._dead_letter(partition, record, refused.reason)], "refused"
        except KafkaError:
            raise  # the broker's, not the message's: the step is undone and retried
        except Exception as error:
            self._poison[(record.topic, record.partition, record.offset)] = reason_of(error)
            raise PoisonFound(reason_of(error)) from error

    async def _publish(
        self, partition: Partition, facts: list[Fact], *, tenant: str, cause: Event | None
    ) -> list[Sent]:
        sent: list[Sent] = []
        for fact in facts:
            event = as_event(fact, tenant=tenant, cause=cause)
            value = event.to_json()
            headers = self._signer.headers(event, value)
            future = await partition.producer.send(
                FACTS, value, key=tenant.encode(), partition=partition.number, headers=headers
            )
            sent.append((future, event))
        EVENTS_PUBLISHED.labels(FACTS).inc(len(facts))
        return sent

    async def _dead_letter(self, partition: Partition, record: ConsumerRecord, reason: str) -> Sent:
        topic, body, headers = dead_letter_of(record, reason, service="frontline-routing", now=self._clock())
        DEAD_LETTERS.labels(record.topic).inc()
        log.warning("message dead-lettered", topic=record.topic, offset=record.offset, reason=reason)
        future: asyncio.Future[RecordMetadata] = await partition.producer.send(
            topic, body, key=record.key, headers=headers
        )
        return future, None
