"""The upsell service's process: the ledger every process keeps, the stream worker, the REST door."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from frontline.contracts import Event
from frontline.plumbing.kafka import EventProducer
from frontline.plumbing.service import Runtime, create_service, stop_each
from frontline.plumbing.settings import Settings
from services.upsell.api import router
from services.upsell.catalogs import Catalogs
from services.upsell.core.ledger import Ledger
from services.upsell.reader import LedgerReader
from services.upsell.settings import UpsellSettings, get_upsell_settings
from services.upsell.store import UpsellStore
from services.upsell.worker import UpsellWorker

DEFAULT_PORT = 8003


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
            door=runtime.door("upsell"),
            clock=lambda: datetime.now(UTC),
        )
        await self.reader.start()
        await self.worker.start()
        runtime.supervise(
            {"upsell_ledger": self.reader.ready, "upsell_worker": self.worker.ready}, self.reader.task, self.worker.task
        )

    async def publish(self, event: Event) -> None:
        assert self._producer is not None, "the service has not started"
        await self._producer.publish(event)

    async def teardown(self, runtime: Runtime) -> None:
        await stop_each(
            (("worker", self.worker.stop), ("ledger", self.reader.stop)),
            seconds=runtime.settings.shutdown_grace_seconds / 2,
        )


def create(settings: Settings) -> FastAPI:
    parts = Components(settings, get_upsell_settings())
    return create_service(
        service="upsell",
        settings=settings,
        routers=[router(parts)],
        setup=parts.setup,
        teardown=parts.teardown,
    )
