"""The upsell service's process: the ledger every process keeps, the stream worker, the REST door."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime

from fastapi import FastAPI

from frontline.contracts import Event
from frontline.plumbing.kafka import EventProducer
from frontline.plumbing.logging import get_logger
from frontline.plumbing.service import Runtime, create_service
from frontline.plumbing.settings import Settings
from services.upsell.api import router
from services.upsell.catalogs import Catalogs
from services.upsell.core.ledger import Ledger
from services.upsell.reader import LedgerReader
from services.upsell.settings import UpsellSettings, get_upsell_settings
from services.upsell.store import UpsellStore
from services.upsell.worker import UpsellWorker

DEFAULT_PORT = 8003
log = get_logger(__name__)


class Components:
    store: UpsellStore
    catalogs: Catalogs
    worker: UpsellWorker

    def __init__(self, settings: Settings, upsell: UpsellSettings) -> None:
        self._settings = settings
        self._upsell = upsell
        self.ledger = Ledger(
            prior_accepts=upsell.prior_accepts, prior_refusals=upsell.prior_refusals, keep_days=upsell.keep_days
        )
        self.reader = LedgerReader(settings, self.ledger)
        self._producer: EventProducer | None = None

    async def setup(self, runtime: Runtime) -> None:
        self._producer = runtime.producer
        self.store = UpsellStore(runtime.db)
        self.catalogs = Catalogs(self.store, refresh_seconds=self._upsell.catalog_refresh_seconds)
        self.worker = UpsellWorker(
            self._settings,
            self._upsell,
            reader=self.reader,
            store=self.store,
            catalogs=self.catalogs,
            producer=runtime.producer,
            clock=lambda: datetime.now(UTC),
        )
        await self.reader.start()
        await self.worker.start()
        runtime.extra_checks.update({"upsell_ledger": self.reader.ready, "upsell_worker": self.worker.ready})
        for task in (self.reader.task, self.worker.task):
            if task is not None:
                task.add_done_callback(_exit_if_crashed)

    async def publish(self, event: Event) -> None:
        assert self._producer is not None, "the service has not started"
        await self._producer.publish(event)

    async def teardown(self, runtime: Runtime) -> None:
        budget = runtime.settings.shutdown_grace_seconds / 2
        for name, stop in (("worker", self.worker.stop), ("ledger", self.reader.stop)):
            try:
                await asyncio.wait_for(stop(), budget)
            except TimeoutError:
                log.error("upsell part did not stop in time; exiting anyway", part=name, seconds=budget)


def _exit_if_crashed(task: asyncio.Task[None]) -> None:
    """A worker that died must not leave a process that looks alive: stop it, so it is restarted."""
    if not task.cancelled() and task.exception() is not None:
        log.critical("upsell task crashed; stopping the process", task=task.get_name(), error=repr(task.exception()))
        os.kill(os.getpid(), signal.SIGTERM)


def create(settings: Settings) -> FastAPI:
    parts = Components(settings, get_upsell_settings())
    return create_service(
        service="upsell",
        settings=settings,
        routers=[router(parts)],
        setup=parts.setup,
        teardown=parts.teardown,
    )
