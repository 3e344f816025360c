"""All four services as processes against the real servers, shared by the hostile-input tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest_asyncio

from tests.integration.helpers import free_port, running_service, service_environment

SERVICES = ("intake", "routing", "upsell", "records")
ADMIN = {"Authorization": "Bearer dev-acme-admin"}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def doors(settings, tmp_path_factory) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A client per running service (its base URL is the service's), with an admin key of tenant acme."""
    logs = tmp_path_factory.mktemp("hostile")
    async with AsyncExitStack() as stack:
        clients = {}
        for name in SERVICES:
            port = free_port()
            service = await stack.enter_async_context(
                running_service(name, service_environment(settings, port), port, logs)
            )
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(base_url=service.url, headers=ADMIN, timeout=30)
            )
        yield clients
