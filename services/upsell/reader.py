"""Every upsell process keeps the whole ledger: it reads all partitions of its two topics from the
start (their 90-day retention bounds the replay) and follows them. REST answers from it; the worker
decides from it, after it has read everything written before the worker took its partitions."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from frontline.contracts import ContractViolation, Topic, parse_event
from frontline.plumbing.kafka import REQUEST_TIMEOUT_MS, partitions_of
from frontline.plumbing.logging import get_logger
from frontline.plumbing.settings import Settings
from services.upsell.core.ledger import Ledger

log = get_logger(__name__)
LEDGER_TOPICS = (Topic.UPSELL_SUGGESTIONS.value, Topic.UPSELL_OUTCOMES.value)


class LedgerNotReady(RuntimeError):
    """The ledger has not yet read what its topics held when it started."""


class LedgerReader:
    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self._settings = settings
        self.ledger = ledger
        self._keys = settings.signing_keys()  # what the ledger learns from, its writer must have been allowed to write
        self._reader: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self.task: asyncio.Task[None] | None = None
        self.caught_up = asyncio.Event()
        self._progress = asyncio.Condition()
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        self._reader = AIOKafkaConsumer(
            **self._settings.kafka_connection(),
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=REQUEST_TIMEOUT_MS + 5_000,
        )
        await self._reader.start()
        for topic in LEDGER_TOPICS:
            self._partitions += [TopicPartition(topic, n) for n in await partitions_of(self._settings, topic)]
        self._reader.assign(self._partitions)
        await self._reader.seek_to_beginning(*self._partitions)
        self.task = asyncio.create_task(self._run(), name="upsell-ledger")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self._reader is not None:
            await self._reader.stop()

    async def ready(self) -> None:
        if self.task is None or self.task.done():
            raise LedgerNotReady("the upsell ledger is not running")
        if not self.caught_up.is_set():
            raise LedgerNotReady("the upsell ledger is still reading its topics")

    async def read_up_to_now(self) -> None:
        """Returns once the ledger holds everything committed to its topics before this call."""
        assert self._reader is not None
        ends = await self._reader.end_offsets(self._partitions)
        async with self._progress:
            await self._progress.wait_for(lambda: self._read_to(ends))

    def _read_to(self, ends: dict[TopicPartition, int]) -> bool:
        return all(self._positions.get(tp, 0) >= end for tp, end in ends.items())

    async def _run(self) -> None:
        reader = self._reader
        assert reader is not None
        first = await reader.end_offsets(self._partitions)
        while True:
            batches = await reader.getmany(timeout_ms=200, max_records=5_000)
            for records in batches.values():
                for record in records:
                    try:
                        event = parse_event(record.value or b"")
                    except ContractViolation:
                        continue  # the worker dead-letters what it cannot use; the ledger passes over it
                    if self._keys.refusal(event, record.value or b"", record.headers, record.topic) is None:
                        self.ledger.apply(event)
            for tp in self._partitions:
                self._positions[tp] = await reader.position(tp)
            async with self._progress:
                self._progress.notify_all()
            if not self.caught_up.is_set() and self._read_to(first):
                self.caught_up.set()
                log.info("upsell ledger caught up", tenants=len(self.ledger.books))
