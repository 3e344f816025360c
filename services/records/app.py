"""The records service's process: the stream worker that appends every event to its tenant's log,
the purge job, and the REST door."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pymongo.errors import DuplicateKeyError, PyMongoError

from frontline.contracts import Event
from frontline.plumbing.kafka import EventProducer
from frontline.plumbing.logging import get_logger
from frontline.plumbing.service import Runtime, create_service, stop_each
from frontline.plumbing.settings import Settings
from services.records.api import purge_event, router
from services.records.core.sealing import Signer
from services.records.queries import Records
from services.records.service import Recorder
from services.records.settings import RecordsSettings, get_records_settings
from services.records.store import RecordStore
from services.records.worker import RecordsWorker

DEFAULT_PORT = 8004
log = get_logger(__name__)


class Components:
    store: RecordStore
    records: Records
    worker: RecordsWorker

    def __init__(self, settings: Settings, records: RecordsSettings) -> None:
        self._settings = settings
        self.settings = records
        self._producer: EventProducer | None = None
        self._purging: asyncio.Task[None] | None = None

    async def setup(self, runtime: Runtime) -> None:
        self._producer = runtime.producer
        self.store = RecordStore(runtime.db)
        await self.store.ensure_indexes()
        signer = Signer(await self._signing_seed())
        self.records = Records(self.store, signer.public_key, audit_seconds=self.settings.audit_seconds)
        recorder = Recorder(self.settings, store=self.store, signer=signer, clock=lambda: datetime.now(UTC))
        self.worker = RecordsWorker(
            self._settings,
            max_batch=self.settings.max_batch,
            recorder=recorder,
            store=self.store,
            door=runtime.door("records"),
        )
        await self.worker.start()
        self._purging = asyncio.create_task(self._purge_every(), name="records-purge")
        runtime.supervise({"records_worker": self.worker.ready}, self.worker.task)

    async def _signing_seed(self) -> bytes:
        if self.settings.signing_key is not None:
            return base64.b64decode(self.settings.signing_key.get_secret_value())
        log.warning("FRONTLINE_RECORDS_SIGNING_KEY is unset: tree heads are signed with a key kept in the store")
        with contextlib.suppress(DuplicateKeyError):  # another process made it first
            await self.store.signing.insert_one({"_id": "ed25519", "seed": os.urandom(32)})
        doc = await self.store.signing.find_one({"_id": "ed25519"})
        assert doc is not None
        return bytes(doc["seed"])

    async def publish(self, event: Event) -> None:
        assert self._producer is not None, "the service has not started"
        await self._producer.publish(event)

    async def purge(self, tenant: str, now: datetime) -> dict[str, Any]:
        """Removes payloads past the tenant's retention (legal holds exempt) and records that it did."""
        policy = await self.store.policy(tenant)
        retention = policy.get("retention_days", self.settings.retention_days)
        result = await self.records.purge(tenant, retention_days=retention, holds=policy.get("holds", {}), now=now)
        if result["records"]:
            await self.publish(purge_event(tenant, result, retention, now))
        return {"tenant": tenant, "retention_days": retention, **result}

    async def _purge_every(self) -> None:
        while True:
            await asyncio.sleep(self.settings.purge_every_seconds)
            try:
                for tenant in await self.store.tenants():
                    log.info("purge done", **await self.purge(tenant, datetime.now(UTC)))
            except PyMongoError as error:
                log.warning("purge failed; it runs again later", error=repr(error))

    async def teardown(self, runtime: Runtime) -> None:
        if self._purging is not None:
            self._purging.cancel()
        await stop_each((("worker", self.worker.stop),), seconds=runtime.settings.shutdown_grace_seconds / 2)


def create(settings: Settings) -> FastAPI:
    parts = Components(settings, get_records_settings())
    return create_service(
        service="records", settings=settings, routers=[router(parts)], setup=parts.setup, teardown=parts.teardown
    )
