"""Waiting on real things without sleeping blindly: each wait polls a condition with a deadline."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from frontline.contracts import parse_event
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import WriterSigner
from tests.unit.factories import contact_received

ROOT = Path(__file__).resolve().parents[2]


async def eventually(condition: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:.0f}s")
        await asyncio.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningService:
    name: str
    process: asyncio.subprocess.Process
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def stop_gracefully(self) -> None:
        """SIGTERM, then the drain: streams stopped, connections closed, and the process gone.
        uvicorn re-raises the signal once drained, so the exit status is -SIGTERM, not 0."""
        self.process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(self.process.wait(), 30)
        assert status in (0, -signal.SIGTERM), f"{self.name} exited with {status}:\n{self.output()}"
        assert "service stopped" in self.output()
        assert "Application shutdown complete." in self.output()


@asynccontextmanager
async def running_service(name: str, env: dict[str, str], port: int, logs: Path) -> AsyncIterator[RunningService]:
    """`python -m services.<name>` as a real process, ready (its /readyz says 200) before the body runs."""
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{name}", cwd=ROOT, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    service = RunningService(name, process, f"http://127.0.0.1:{port}", log)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=2) as http:

            async def ready() -> bool:
                if process.returncode is not None:
                    raise AssertionError(f"{name} exited with {process.returncode}:\n{service.output()}")
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=60, what=f"{name} becoming ready")
        yield service
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Where each partition of `topic` ends now: read from here to see only what comes next."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        [description] = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
        assert partitions, f"topic {topic} has no partitions: {description}"
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
        await admin.close()


async def read_from(bootstrap: str, start: dict[TopicPartition, int], *, count: int, within: float = 20) -> list[bytes]:
    """The next `count` values after the given offsets (no consumer group, nothing committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        deadline = time.monotonic() + within
        while len(values) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values += [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()
    return values


def service_environment(settings: Settings, port: int) -> dict[str, str]:
    """The environment of a service process under test: its own port, the test database, real servers.
    Intake trains concern models only where a test asks for it (tests/integration/test_intake_learning.py,
    in a database of its own): a model learned from another test's examples would change how that
    tenant's contacts are classified in every test after it."""
    return {
        **os.environ,
        "FRONTLINE_INTAKE_TRAINING_POLL_SECONDS": "3600",
        "FRONTLINE_ENVIRONMENT": "test",
        "FRONTLINE_HTTP_PORT": str(port),
        "FRONTLINE_MONGODB_DATABASE": settings.mongodb_database,
        "FRONTLINE_SHUTDOWN_GRACE_SECONDS": "10",
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URL": settings.mongodb_url,
    }


async def read_until(
    bootstrap: str, start: dict[TopicPartition, int], last: Callable[[dict[str, Any]], bool], *, within: float = 30
) -> list[dict[str, Any]]:
    """Every JSON value after the given offsets, up to and including the first for which `last` is true."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    values: list[dict[str, Any]] = []
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    values.append(json.loads(record.value))
                    if last(values[-1]):
                        return values
        raise AssertionError(f"the awaited message did not arrive within {within:.0f}s; saw {len(values)}")
    finally:
        await consumer.stop()


async def until_consuming(producer, records: httpx.AsyncClient, tenant: str = "acme") -> None:
    """A records group that starts at the end only sees what comes after it has joined: send probes
    until one is in a timeline."""

    async def a_probe_landed() -> bool:
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        await producer.publish(contact_received(tenant=tenant, contact_id=probe))
        for _ in range(10):
            if (await records.get(f"/v1/contacts/{probe}/timeline")).status_code == 200:
                return True
            await asyncio.sleep(0.3)
        return False

    await eventually(a_probe_landed, within=90, what="the records service consuming")


def signed(settings: Settings, value: bytes) -> list[tuple[str, bytes]]:
    """The headers its writer would sign a raw event with (see WriterSigner)."""
    return WriterSigner(settings.signing_keys()).headers(parse_event(value), value)
