"""Rebuilding pools from Kafka: the latest snapshot of each pool, then the committed facts written after it.

A snapshot record (on `frontline.routing.snapshots`, partitioned like the facts) holds a pool's
state as of `facts_offset`, the offset of the last fact of that partition it includes. The worker
writes the snapshots of all pools of a partition in the same transaction as facts, so a snapshot is
never ahead of, or behind, the committed facts it names.

However large a pool grows, no message outgrows the broker's limit: a snapshot is zlib-compressed
JSON cut into pieces of at most SNAPSHOT_PIECE_BYTES, keyed `<tenant>/<index>` (compaction keeps
each piece's latest) and labelled with the snapshot's id, its index and the count of pieces.
"""

from __future__ import annotations

import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel

from frontline.contracts import ContractViolation, Event, Topic, parse_event
from frontline.plumbing.kafka import REQUEST_TIMEOUT_MS, RawMessage
from frontline.plumbing.logging import get_logger
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import EventKeys, KeySigner
from services.routing.core.snapshot import PoolSnapshot, restore
from services.routing.core.state import PoolState
from services.routing.facts import SOURCE, as_fact

log = get_logger(__name__)
FACTS = Topic.ROUTING_EVENTS.value
SNAPSHOTS = Topic.ROUTING_SNAPSHOTS.value
P = TypeVar("P", bound=PoolState)


SNAPSHOT_PIECE_BYTES = 512 * 1024
PIECE_HEADER = "frontline-snapshot-piece"  # "<snapshot id> <index> <count>"
Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


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
    )


def snapshot_messages(tenant: str, record: SnapshotRecord, signer: KeySigner) -> list[Message]:
    """The pool's snapshot as messages no larger than SNAPSHOT_PIECE_BYTES each, signed by routing."""
    packed = zlib.compress(record.model_dump_json().encode(), level=1)
    pieces = [packed[start : start + SNAPSHOT_PIECE_BYTES] for start in range(0, len(packed), SNAPSHOT_PIECE_BYTES)]
    ident = uuid.uuid4().hex
    return [
        (
            f"{tenant}/{index}".encode(),
            piece,
            [(PIECE_HEADER, f"{ident} {index} {len(pieces)}".encode()), *signer.headers(None, piece)],
        )
        for index, piece in enumerate(pieces)
    ]


class Pieces:
    """The latest piece under each key, assembled into each pool's latest whole snapshot. A piece
    routing did not sign is no snapshot of ours: it is passed over."""

    def __init__(self, keys: EventKeys) -> None:
        self._latest: dict[str, tuple[str, int, int, bytes]] = {}
        self._keys = keys

    def add(self, key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> None:
        label = dict(headers).get(PIECE_HEADER)
        if key is None or value is None or label is None:
            return
        if not self._keys.signed_by_service(value, headers, SOURCE):
            log.error("routing snapshot piece not signed by routing; passed over", key=key.decode(errors="replace"))
            return
        ident, index, count = label.decode().split()
        self._latest[key.decode()] = (ident, int(index), int(count), value)

    def snapshots(self) -> dict[str, SnapshotRecord]:
        """tenant → its latest snapshot. A snapshot whose pieces do not all match (which committed
        transactions cannot leave) is a corrupt topic: then none is used, and every fact is replayed."""
        found: dict[str, SnapshotRecord] = {}
        for key, (ident, index, count, _) in self._latest.items():
            if index != 0:
                continue
            tenant = key.rsplit("/", 1)[0]
            pieces = [self._latest.get(f"{tenant}/{i}") for i in range(count)]
            if any(piece is None or piece[0] != ident for piece in pieces):
                log.error("routing snapshot incomplete; replaying every fact instead", tenant=tenant)
                return {}
            packed = b"".join(piece[3] for piece in pieces if piece is not None)
            found[tenant] = SnapshotRecord.model_validate_json(zlib.decompress(packed))
        return found


async def latest_snapshots(reader: AIOKafkaConsumer, partition: int, keys: EventKeys) -> dict[str, SnapshotRecord]:
    """The last committed snapshot of each pool in `partition` (tenant → record)."""
    tp = TopicPartition(SNAPSHOTS, partition)
    reader.assign([tp])
    await reader.seek_to_beginning(tp)
    end = (await reader.end_offsets([tp]))[tp]
    pieces = Pieces(keys)
    while await reader.position(tp) < end:
        for record in (await reader.getmany(tp, timeout_ms=500)).get(tp, []):
            pieces.add(record.key, record.value, record.headers)
    return pieces.snapshots()


def restored_pools(snapshots: dict[str, SnapshotRecord], make: Callable[[str], P]) -> dict[str, P]:
    pools = {}
    for tenant, record in snapshots.items():
        pool = pools[tenant] = make(tenant)
        restore(pool, record.pool)
    return pools


def first_fact_to_replay(snapshots: dict[str, SnapshotRecord]) -> int:
    return min((record.facts_offset + 1 for record in snapshots.values()), default=0)


class Skipped:
    """Messages on the facts topic that are no facts of routing's, counted and reported in one line per
    pass: a topic holding many of another writer's messages must not cost a log line each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._first: dict[str, int] = {}

    def add(self, why: str, offset: int) -> None:
        self.counts[why] += 1
        self._first.setdefault(why, offset)

    def report(self, **context: object) -> None:
        if self.counts:
            log.error("routing facts skipped", skipped=dict(self.counts), first_offsets=self._first, **context)
            self.counts.clear()
            self._first.clear()


def apply_fact(
    pools: dict[str, P],
    snapshots: dict[str, SnapshotRecord],
    record: RawMessage,
    make: Callable[[str], P],
    keys: EventKeys,
    skipped: Skipped,
) -> Event | None:
    """Evolve the fact's pool, unless its snapshot already includes it; the fact, if applied."""
    event = read_fact(record, keys, skipped)
    if event is None or not evolve_with(pools, snapshots, event, record.offset, make):
        return None
    return event


def read_fact(record: RawMessage, keys: EventKeys, skipped: Skipped) -> Event | None:
    """The fact the record carries, if it is one of routing's (read and its signature checked)."""
    try:
        event = parse_event(record.value or b"")
    except ContractViolation as violation:
        skipped.add(f"unreadable: {violation.reason}", record.offset)
        return None
    refused = keys.refusal(event, record.value or b"", record.headers or (), record.topic)
    if refused is not None or event.source != SOURCE:
        # routing's facts are its memory: one it did not write (a forger, a stray producer, a test's
        # stand-in written in routing's name for another reader) is no fact
        skipped.add(f"not written by routing: {refused or f'source {event.source}'}", record.offset)
        return None
    return event


def evolve_with(
    pools: dict[str, P], snapshots: dict[str, SnapshotRecord], event: Event, offset: int, make: Callable[[str], P]
) -> bool:
    """Evolve the fact's pool, unless its snapshot already includes it; whether it did."""
    snapshot = snapshots.get(event.tenant)
    if snapshot is not None and offset <= snapshot.facts_offset:
        return False
    pool = pools.get(event.tenant) or pools.setdefault(event.tenant, make(event.tenant))
    pool.evolve(as_fact(event))
    return True


async def rebuild(settings: Settings, partition: int, make: Callable[[str], P]) -> tuple[dict[str, P], int]:
    """The pools of `partition` as of its last committed fact, and that fact's offset (-1 if none)."""
    reader = committed_reader(settings)
    keys = settings.signing_keys()
    await reader.start()
    try:
        snapshots = await latest_snapshots(reader, partition, keys)
        pools = restored_pools(snapshots, make)
        tp = TopicPartition(FACTS, partition)
        reader.assign([tp])
        reader.seek(tp, first_fact_to_replay(snapshots))
        end = (await reader.end_offsets([tp]))[tp]
        replayed = 0
        skipped = Skipped()
        while await reader.position(tp) < end:
            for record in (await reader.getmany(tp, timeout_ms=500, max_records=5_000)).get(tp, []):
                apply_fact(pools, snapshots, record, make, keys, skipped)
                replayed += 1
        skipped.report(partition=partition)
    finally:
        await reader.stop()
    log.info("routing pools rebuilt", partition=partition, snapshots=len(snapshots), facts_replayed=replayed)
    return pools, end - 1
