"""The intake service's process: the REST and Kafka doors onto one `Intake`, and its republisher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from frontline.plumbing.batching import Coalescer
from frontline.plumbing.kernel import caused_by_infrastructure, reason_of
from frontline.plumbing.logging import get_logger
from frontline.plumbing.service import Runtime, create_service, stop_each
from frontline.plumbing.settings import Settings
from services.intake.api import router
from services.intake.language_detector import LinguaDetector
from services.intake.service import Intake, Outcome, Submission, Taxonomies
from services.intake.settings import IntakeSettings, get_intake_settings
from services.intake.store import ContactStore
from services.intake.worker import InboundWorker

DEFAULT_PORT = 8001
log = get_logger(__name__)


class Components:
    """What the routes and the workers share; built when the service starts."""

    store: ContactStore
    taxonomies: Taxonomies
    intake: Intake
    rest: Coalescer[Submission, Outcome]
    worker: InboundWorker

    def __init__(self, settings: IntakeSettings) -> None:
        self.settings = settings
        self.admission = asyncio.Semaphore(settings.rest_max_in_flight)
        self._republisher: asyncio.Task[None] | None = None

    async def setup(self, runtime: Runtime) -> None:
        self.store = ContactStore(runtime.db)
        self.taxonomies = Taxonomies(self.store, cache_seconds=self.settings.taxonomy_cache_seconds)
        self.intake = Intake(
            store=self.store,
            taxonomies=self.taxonomies,
            detector=LinguaDetector(),
            publish=runtime.producer.publish,
            clock=lambda: datetime.now(UTC),
            region=self.settings.default_region,
            stale_after=timedelta(seconds=self.settings.republish_after_seconds),
        )
        self.rest = Coalescer(self.intake.accept_many, max_batch=self.settings.max_batch)
        self.worker = InboundWorker(
            runtime.settings, intake=self.intake, max_batch=self.settings.max_batch, door=runtime.door("intake")
        )
        await self.worker.start()
        self._republisher = asyncio.create_task(self._republish(), name="intake-republisher")
        runtime.supervise({"intake_worker": self.worker.ready}, self.worker.task, self._republisher)

    async def teardown(self, runtime: Runtime) -> None:
        async def republisher() -> None:
            if self._republisher is not None:
                self._republisher.cancel()
                await asyncio.gather(self._republisher, return_exceptions=True)

        await stop_each(
            [("worker", self.worker.stop), ("republisher", republisher)],
            seconds=runtime.settings.shutdown_grace_seconds,
        )

    async def _republish(self) -> None:
        """Every `republish_after_seconds`, finishes what a crash left in the outbox; an outage is
        waited out until the next round."""
        while True:
            await asyncio.sleep(self.settings.republish_after_seconds)
            try:
                await self.intake.republish_pending()
            except Exception as error:
                if not caused_by_infrastructure(error):
                    raise
                log.warning("republishing waits for the store and broker", error=reason_of(error))


def create(settings: Settings) -> FastAPI:
    parts = Components(get_intake_settings())
    return create_service(
        service="intake",
        settings=settings,
        routers=[router(parts)],
        setup=parts.setup,
        teardown=parts.teardown,
        larger_bodies={"/v1/training-examples": parts.settings.training_max_body_bytes},
    )
