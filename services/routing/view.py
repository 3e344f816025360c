"""What REST reads: every pool, rebuilt continuously from `routing.events`, and recent explanations.

Any routing process can answer for any tenant, whichever worker owns the pool: the view follows
all partitions of the committed facts, a few milliseconds behind the worker that wrote them. The
facts this process's own worker committed are handed over as the events they were (`written`), so
the view reads them without parsing and checking them again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque

from aiokafka import AIOKafkaConsumer, TopicPartition

from frontline.contracts import Event
from frontline.contracts.routing import Decision, RoutingDecision
from frontline.plumbing.kafka import RawMessage, partitions_of
from frontline.plumbing.logging import get_logger
from frontline.plumbing.settings import Settings
from services.routing.core.state import PoolState
from services.routing.recovery import (
    FACTS,
    Skipped,
    SnapshotRecord,
    apply_fact,
    committed_reader,
    evolve_with,
    first_fact_to_replay,
    latest_snapshots,
    restored_pools,
)
from services.routing.settings import RoutingSettings

log = get_logger(__name__)
HANDED_OVER = 100_000  # facts of the local worker kept for the view to read; beyond, the oldest are dropped


class ViewNotReady(RuntimeError):
    """The view has not yet read the facts that existed when it started."""


class RoutingView:
    def __init__(self, settings: Settings, routing: RoutingSettings) -> None:
        self._settings = settings
        self._routing = routing
        self._keys = settings.signing_keys()
        self.pools: dict[str, PoolState] = {}
        self.decisions: OrderedDict[tuple[str, str], deque[Decision]] = OrderedDict()
        self._reader: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self._catching_up: dict[TopicPartition, int] = {}
        self._snapshots: dict[str, SnapshotRecord] = {}
        self._skipped = Skipped()
        self._written: dict[tuple[int, int], Event] = {}  # (partition, offset) → a fact the local worker committed
        self._read: dict[int, int] = {}  # partition → the offset of the last fact read
        self.caught_up = asyncio.Event()

    def pool(self, tenant: str) -> PoolState:
        return self.pools.get(tenant) or PoolState(tenant)

    async def start(self) -> None:
        """Each pool from its latest snapshot, then the facts after it, then follow the facts as they come."""
        self._reader = committed_reader(self._settings)
        await self._reader.start()
        numbers = await partitions_of(self._settings, FACTS)
        starts: dict[TopicPartition, int] = {}
        for number in numbers:
            snapshots = await latest_snapshots(self._reader, number, self._keys)
            self._snapshots.update(snapshots)
            self.pools.update(restored_pools(snapshots, PoolState))
            starts[TopicPartition(FACTS, number)] = first_fact_to_replay(snapshots)
        self._reader.assign(list(starts))
        for tp, offset in starts.items():
            self._reader.seek(tp, offset)
        ends = await self._reader.end_offsets(list(starts))
        self._catching_up = {tp: end for tp, end in ends.items() if end > starts[tp]}
        if not self._catching_up:
            self.caught_up.set()
        self.task = asyncio.create_task(self._run(), name="routing-view")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self._reader is not None:
            await self._reader.stop()

    async def ready(self) -> None:
        if self.task is None or self.task.done():
            raise ViewNotReady("the routing view is not running")
        if not self.caught_up.is_set():
            raise ViewNotReady("the routing view is still reading the facts")

    async def _run(self) -> None:
        reader = self._reader
        assert reader is not None
        while True:
            batches = await reader.getmany(timeout_ms=200, max_records=5_000)
            for records in batches.values():
                for record in records:
                    self._apply(record)
            self._skipped.report(reader="routing view")
            if self._catching_up:
                for tp, end in list(self._catching_up.items()):
                    if await reader.position(tp) >= end:
                        del self._catching_up[tp]
                if not self._catching_up:
                    self.caught_up.set()
                    log.info("routing view caught up", pools=len(self.pools))

    def written(self, partition: int, facts: list[tuple[int, Event]]) -> None:
        """Facts the local worker has just committed to `partition`, by offset: read as they are when
        the view comes to them (a fact it has read already is not kept)."""
        read = self._read.get(partition, -1)
        for offset, event in facts:
            if offset > read:
                self._written[(partition, offset)] = event
        while len(self._written) > HANDED_OVER:  # a view far behind parses what it comes to instead
            del self._written[next(iter(self._written))]

    def _apply(self, record: RawMessage) -> None:
        self._read[record.partition] = record.offset
        known = self._written.pop((record.partition, record.offset), None)
        if known is None:
            fact = apply_fact(self.pools, self._snapshots, record, PoolState, self._keys, self._skipped)
        else:
            fact = known if evolve_with(self.pools, self._snapshots, known, record.offset, PoolState) else None
        if isinstance(fact, RoutingDecision):
            self._remember(fact.tenant, fact.data)

    def _remember(self, tenant: str, decision: Decision) -> None:
        key = (tenant, decision.contact_id)
        kept = self.decisions.get(key)
        if kept is None:
            kept = self.decisions[key] = deque(maxlen=self._routing.decisions_kept_per_contact)
            if len(self.decisions) > self._routing.contacts_explained:
                self.decisions.popitem(last=False)
        kept.append(decision)
