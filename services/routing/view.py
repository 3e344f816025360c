"""What REST reads: every pool, rebuilt continuously from `routing.events`, and recent explanations.

Any routing process can answer for any tenant, whichever worker owns the pool: the view follows
all partitions of the committed facts, a few milliseconds behind the worker that wrote them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque

from aiokafka import AIOKafkaConsumer, TopicPartition

from frontline.contracts import ContractViolation, parse_event
from frontline.contracts.routing import Decision, RoutingDecision
from frontline.plumbing.kafka import REQUEST_TIMEOUT_MS, partitions_of
from frontline.plumbing.logging import get_logger
from frontline.plumbing.settings import Settings
from services.routing.core.state import PoolState
from services.routing.facts import as_fact
from services.routing.settings import RoutingSettings
from services.routing.worker import FACTS

log = get_logger(__name__)


class ViewNotReady(RuntimeError):
    """The view has not yet read the facts that existed when it started."""


class RoutingView:
    def __init__(self, settings: Settings, routing: RoutingSettings) -> None:
        self._settings = settings
        self._routing = routing
        self.pools: dict[str, PoolState] = {}
        self.decisions: OrderedDict[tuple[str, str], deque[Decision]] = OrderedDict()
        self._reader: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self._catching_up: dict[TopicPartition, int] = {}
        self.caught_up = asyncio.Event()

    def pool(self, tenant: str) -> PoolState:
        return self.pools.get(tenant) or PoolState(tenant)

    async def start(self) -> None:
        self._reader = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=REQUEST_TIMEOUT_MS + 5_000,
        )
        await self._reader.start()
        partitions = [TopicPartition(FACTS, p) for p in await partitions_of(self._settings, FACTS)]
        self._reader.assign(partitions)
        await self._reader.seek_to_beginning(*partitions)
        self._catching_up = {tp: end for tp, end in (await self._reader.end_offsets(partitions)).items() if end > 0}
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
                    self._apply(record.value)
            if self._catching_up:
                for tp, end in list(self._catching_up.items()):
                    if await reader.position(tp) >= end:
                        del self._catching_up[tp]
                if not self._catching_up:
                    self.caught_up.set()
                    log.info("routing view caught up", pools=len(self.pools))

    def _apply(self, value: bytes | None) -> None:
        try:
            event = parse_event(value or b"")
        except ContractViolation as violation:
            log.error("unreadable routing fact skipped", reason=violation.reason)
            return
        pool = self.pools.get(event.tenant) or self.pools.setdefault(event.tenant, PoolState(event.tenant))
        pool.evolve(as_fact(event))
        if isinstance(event, RoutingDecision):
            self._remember(event.tenant, event.data)

    def _remember(self, tenant: str, decision: Decision) -> None:
        key = (tenant, decision.contact_id)
        kept = self.decisions.get(key)
        if kept is None:
            kept = self.decisions[key] = deque(maxlen=self._routing.decisions_kept_per_contact)
            if len(self.decisions) > self._routing.contacts_explained:
                self.decisions.popitem(last=False)
        kept.append(decision)
