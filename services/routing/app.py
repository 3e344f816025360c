"""The routing service's process: the stream worker that owns pools, the view REST reads, the REST door."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from frontline.contracts import Event
from frontline.plumbing.kafka import EventProducer
from frontline.plumbing.service import Runtime, create_service, stop_each
from frontline.plumbing.settings import Settings
from services.routing.api import router
from services.routing.settings import RoutingSettings, get_routing_settings
from services.routing.view import RoutingView
from services.routing.worker import RoutingWorker

DEFAULT_PORT = 8002


class Components:
    def __init__(self, settings: Settings, routing: RoutingSettings) -> None:
        self.view = RoutingView(settings, routing)
        self.worker = RoutingWorker(settings, routing, clock=lambda: datetime.now(UTC), committed=self.view.written)
        self._producer: EventProducer | None = None

    async def setup(self, runtime: Runtime) -> None:
        self._producer = runtime.producer
        await self.view.start()
        await self.worker.start()
        runtime.supervise(
            {"routing_worker": self.worker.ready, "routing_view": self.view.ready}, self.worker.task, self.view.task
        )

    async def publish(self, event: Event) -> None:
        assert self._producer is not None, "the service has not started"
        await self._producer.publish(event)

    async def teardown(self, runtime: Runtime) -> None:
        await stop_each(
            (("worker", self.worker.stop), ("view", self.view.stop)),
            seconds=runtime.settings.shutdown_grace_seconds / 2,
        )


def create(settings: Settings) -> FastAPI:
    parts = Components(settings, get_routing_settings())
    return create_service(
        service="routing",
        settings=settings,
        routers=[router(parts.view, parts.publish)],
        setup=parts.setup,
        teardown=parts.teardown,
    )
