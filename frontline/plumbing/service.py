"""One process per service: its Kafka workers and its FastAPI app on one event loop."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import APIRouter, FastAPI

from frontline.plumbing.auth import CurrentPrincipal, KeyRing
from frontline.plumbing.health import Check, health_router
from frontline.plumbing.http import guard
from frontline.plumbing.kafka import EventProducer, ensure_topics
from frontline.plumbing.kernel import Door, Stuck, store_and_broker_health
from frontline.plumbing.logging import configure_logging, get_logger
from frontline.plumbing.metrics import record_http_metrics
from frontline.plumbing.mongo import Client, Database, connect, ping
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import EventKeys

log = get_logger(__name__)


@dataclass
class Runtime:
    """The connections a service's edges use; built at start-up, closed at shutdown."""

    service: str
    settings: Settings
    producer: EventProducer
    mongo: Client
    keys: EventKeys
    db: Database = field(init=False)
    extra_checks: dict[str, Check] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db = self.mongo[self.settings.mongodb_database]

    def checks(self) -> dict[str, Check]:
        """Readiness: Kafka, MongoDB, and the workers the service added in its setup."""
        return {"kafka": self.producer.ready, "mongodb": self.mongo_ready, **self.extra_checks}

    def supervise(self, checks: dict[str, Check], *tasks: asyncio.Task[None] | None) -> None:
        """Background workers of the service: their readiness joins /readyz, and one that dies stops the process."""
        self.extra_checks.update(checks)
        for task in tasks:
            if task is not None:
                task.add_done_callback(stop_process_if_crashed)

    async def mongo_ready(self) -> None:
        await ping(self.mongo)

    def door(self, name: str) -> Door:
        """A consumer kernel's door for one of the service's workers; its readiness joins /readyz."""
        door = Door(self.producer, store_and_broker_health(self.producer, self.mongo_ready), Stuck(), self.keys)

        async def not_stuck() -> None:
            door.stuck.check(name)

        self.extra_checks[f"{name}-not-stuck"] = not_stuck
        return door


Setup = Callable[[Runtime], Awaitable[None]]


async def _no_setup(_: Runtime) -> None:
    return None


def create_service(
    *,
    service: str,
    settings: Settings,
    routers: Sequence[APIRouter] = (),
    setup: Setup = _no_setup,
    teardown: Setup = _no_setup,
    larger_bodies: Mapping[str, int] | None = None,
) -> FastAPI:
    """The service's ASGI app. Its lifespan connects to Kafka and MongoDB, runs `setup`
    (indexes, Kafka workers, background tasks), and on shutdown runs `teardown` and undoes the rest."""
    configure_logging(service=service, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        if settings.kafka_create_topics:
            await ensure_topics(settings)
        keys = settings.signing_keys()
        producer = EventProducer(settings, client_id=f"frontline-{service}", signer=keys.for_service(service))
        await producer.start()
        runtime = Runtime(
            service=service,
            settings=settings,
            producer=producer,
            mongo=connect(settings, app_name=f"frontline-{service}"),
            keys=keys,
        )
        api.state.runtime = runtime
        try:
            await setup(runtime)
            try:
                log.info("service started", checks=sorted(runtime.checks()))
                yield
            finally:
                await teardown(runtime)
        finally:
            await producer.stop()
            await runtime.mongo.close()
            log.info("service stopped")

    api = FastAPI(title=f"Frontline {service}", version="0.1.0", lifespan=lifespan)
    api.state.keyring = KeyRing(settings.effective_api_keys())
    api.middleware("http")(record_http_metrics)

    api.include_router(health_router(lambda: api.state.runtime.checks()))
    guard(api, max_body_bytes=settings.http_max_body_bytes, larger_bodies=larger_bodies)
    api.include_router(whoami_router())
    for router in routers:
        api.include_router(router)
    return api


def whoami_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["auth"])

    @router.get("/whoami", summary="The tenant and role of the API key presented")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"name": principal.name, "tenant": principal.tenant, "role": principal.role.value}

    return router


# An idle connection is kept longer than clients and load balancers keep theirs (httpx 5 s, cloud load
# balancers 60 s): with uvicorn's default of 5 s a client reusing a connection just as the server closed it
# got "Server disconnected without sending a response" (seen once in CI).
KEEP_ALIVE_SECONDS = 75


# The young generation is collected after this many allocations (CPython's default: 700). A service
# keeps a large state (a routing pool's agents and contacts) and allocates many small objects per
# event (models, facts); fewer young collections measured ~10 % more routing decisions/s
# (BENCHMARKS.md). The older generations keep their defaults.
YOUNG_COLLECTION_ALLOCATIONS = 20_000


def tune_collector() -> None:
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, *gc.get_threshold()[1:])


def serve(api: FastAPI, settings: Settings, *, default_port: int) -> None:
    """Serve until SIGTERM or SIGINT, then drain: uvicorn stops accepting, the lifespan stops the workers."""
    tune_collector()
    config = uvicorn.Config(
        api,
        host=settings.http_host,
        port=settings.http_port or default_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    uvicorn.Server(config).run()


def stop_process_if_crashed(task: asyncio.Task[None]) -> None:
    """A background worker that died must not leave a process that looks alive: stop it, so it is
    restarted (use as the task's done callback)."""
    if not task.cancelled() and task.exception() is not None:
        log.critical(
            "background task crashed; stopping the process", task=task.get_name(), error=repr(task.exception())
        )
        os.kill(os.getpid(), signal.SIGTERM)


async def stop_each(parts: Sequence[tuple[str, Callable[[], Awaitable[None]]]], *, seconds: float) -> None:
    """Stops the parts in order, each within `seconds`: a stuck stop must not keep the process alive."""
    for name, stop in parts:
        try:
            await asyncio.wait_for(stop(), seconds)
        except TimeoutError:
            log.error("part did not stop in time; going on", part=name, seconds=seconds)
