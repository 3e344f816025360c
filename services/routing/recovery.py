"""Rebuilding pools from Kafka: the latest snapshot of each pool, then the committed facts written after it.

A snapshot record (on `frontline.routing.snapshots`, keyed and partitioned like the facts) holds a
pool's state as of `facts_offset`, the offset of the last fact of that partition it includes. The
worker writes the snapshots of all pools of a partition in the same transaction as facts, so a
snapshot is never ahead of, or behind, the committed facts it names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel

from frontline.contracts import ContractViolation, Event, Topic, parse_event
from frontline.plumbing.kafka import REQUEST_TIMEOUT_MS, SNAPSHOT_MAX_BYTES
from frontline.plumbing.logging import get_logger
from frontline.plumbing.settings import Settings
from services.routing.core.snapshot import PoolSnapshot, restore
from services.routing.core.state import PoolState
from services.routing.facts import SOURCE, as_fact

log = get_logger(__name__)
FACTS = Topic.ROUTING_EVENTS.value
SNAPSHOTS = Topic.ROUTING_SNAPSHOTS.value
P = TypeVar("P", bound=PoolState)


class SnapshotRecord(BaseModel):
    facts_offset: int
    taken_at: datetime
    pool: PoolSnapshot


def committed_reader(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **settings.kafka_connection(),
        enable_auto_commit=False,
        isolation_level="read_committed",
        request_timeout_ms=REQUEST_TIMEOUT_MS + 5_000,
        max_partition_fetch_bytes=SNAPSHOT_MAX_BYTES,
        fetch_max_bytes=SNAPSHOT_MAX_BYTES * 2,
    )


async def latest_snapshots(reader: AIOKafkaConsumer, partition: int) -> dict[str, SnapshotRecord]:
    """The last committed snapshot of each pool in `partition` (tenant → record)."""
    tp = TopicPartition(SNAPSHOTS, partition)
    reader.assign([tp])
    await reader.seek_to_beginning(tp)
    end = (await reader.end_offsets([tp]))[tp]
    latest: dict[str, SnapshotRecord] = {}
    while await reader.position(tp) < end:
        for record in (await reader.getmany(tp, timeout_ms=500)).get(tp, []):
            if record.key is not None and record.value is not None:
                latest[record.key.decode()] = SnapshotRecord.model_validate_json(record.value)
    return latest


def restored_pools(snapshots: dict[str, SnapshotRecord], make: Callable[[str], P]) -> dict[str, P]:
    pools = {}
    for tenant, record in snapshots.items():
        pool = pools[tenant] = make(tenant)
        restore(pool, record.pool)
    return pools


def first_fact_to_replay(snapshots: dict[str, SnapshotRecord]) -> int:
    return min((record.facts_offset + 1 for record in snapshots.values()), default=0)


def apply_fact(
    pools: dict[str, P],
    snapshots: dict[str, SnapshotRecord],
    value: bytes | None,
    offset: int,
    make: Callable[[str], P],
) -> Event | None:
    """Evolve the fact's pool, unless its snapshot already includes it; the fact, if applied."""
    try:
        event = parse_event(value or b"")
    except ContractViolation as violation:
        log.error("unreadable routing fact skipped", offset=offset, reason=violation.reason)
        return None
    if event.source != SOURCE:
        # routing's facts are its memory: one it did not write (a test double, a stray producer) is no fact
        log.error("routing fact from another source skipped", offset=offset, source=event.source, type=event.type)
        return None
    snapshot = snapshots.get(event.tenant)
    if snapshot is not None and offset <= snapshot.facts_offset:
        return None
    pool = pools.get(event.tenant) or pools.setdefault(event.tenant, make(event.tenant))
    pool.evolve(as_fact(event))
    return event


async def rebuild(settings: Settings, partition: int, make: Callable[[str], P]) -> tuple[dict[str, P], int]:
    """The pools of `partition` as of its last committed fact, and that fact's offset (-1 if none)."""
    reader = committed_reader(settings)
    await reader.start()
    try:
        snapshots = await latest_snapshots(reader, partition)
        pools = restored_pools(snapshots, make)
        tp = TopicPartition(FACTS, partition)
        reader.assign([tp])
        reader.seek(tp, first_fact_to_replay(snapshots))
        end = (await reader.end_offsets([tp]))[tp]
        replayed = 0
        while await reader.position(tp) < end:
            for record in (await reader.getmany(tp, timeout_ms=500, max_records=5_000)).get(tp, []):
                apply_fact(pools, snapshots, record.value, record.offset, make)
                replayed += 1
    finally:
        await reader.stop()
    log.info("routing pools rebuilt", partition=partition, snapshots=len(snapshots), facts_replayed=replayed)
    return pools, end - 1


def snapshot_value(pool: PoolSnapshot, *, facts_offset: int, taken_at: datetime) -> bytes:
    return SnapshotRecord(facts_offset=facts_offset, taken_at=taken_at, pool=pool).model_dump_json().encode()
