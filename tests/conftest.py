"""Integration and end-to-end tests run against the real local Kafka broker and FerretDB (or the servers
that KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL name), started once per test session if not running.
Unit tests use none of these fixtures and need no server."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from frontline.plumbing import mongo
from frontline.plumbing.kafka import EventProducer, ensure_topics
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import WriterSigner

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(("tests/integration/", "tests/e2e/", "tests/robustness/")):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def infra() -> None:
    """The real servers are up and answering (idempotent: running ones are reused)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/infra.py"), "up"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"could not start the local servers: {done.stderr.strip() or done.stdout.strip()}")


@pytest.fixture(scope="session")
def test_database() -> str:
    return f"frontline_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def settings(infra: None, test_database: str) -> Settings:
    return Settings(environment="test", mongodb_database=test_database)


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def mongo_client(settings: Settings) -> AsyncIterator[AsyncMongoClient]:
    client = mongo.connect(settings, app_name="frontline-tests")
    yield client
    await client.drop_database(settings.mongodb_database)
    await client.close()


@pytest.fixture(scope="session")
def db(mongo_client: AsyncMongoClient, settings: Settings) -> AsyncDatabase:
    return mongo_client[settings.mongodb_database]


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def producer(settings: Settings) -> AsyncIterator[EventProducer]:
    await ensure_topics(settings)
    # the tests write as each event's writer would: outside systems with their tenant's key,
    # services' events (stand-ins for them) with the owning service's development key
    events = EventProducer(settings, client_id="frontline-tests", signer=WriterSigner(settings.signing_keys()))
    await events.start()
    yield events
    await events.stop()
