"""The intake service's process: the REST and Kafka doors onto one `Intake`, and its republisher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from frontline.plumbing.service import Runtime, create_service
from frontline.plumbing.settings import Settings
from frontline.plumbing.streams import consume
from services.intake.api import router
from services.intake.intake import Intake, Taxonomies
from services.intake.language_detector import LinguaDetector
from services.intake.settings import IntakeSettings, get_intake_settings
from services.intake.store import ContactStore
from services.intake.streams import INBOUND, inbound_handler

DEFAULT_PORT = 8001


class Components:
    """What the routes and stream agents share; built when the service starts."""

    store: ContactStore
    taxonomies: Taxonomies
    intake: Intake

    def __init__(self, settings: IntakeSettings) -> None:
        self.settings = settings
        self.admission = asyncio.Semaphore(settings.rest_max_in_flight)

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
        consume(
            runtime.streams,
            name="intake.inbound",
            topics=[INBOUND],
            handler=inbound_handler(self.intake),
            door=runtime.door("intake.inbound"),
            concurrency=self.settings.inbound_concurrency,
        )
        runtime.streams.timer(self.settings.republish_after_seconds, name="intake.republish")(self._republish)

    async def _republish(self) -> None:
        await self.intake.republish_pending()


def create(settings: Settings) -> FastAPI:
    parts = Components(get_intake_settings())
    return create_service(service="intake", settings=settings, routers=[router(parts)], setup=parts.setup)
