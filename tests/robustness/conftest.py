"""All four services as processes against the real servers, shared by the hostile-input tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest_asyncio

from tests.integration.helpers import free_port, running_service, service_environment

SERVICES = ("intake", "routing", "upsell", "records")
ADMIN = {"Authorization": "Bearer dev-acme-admin"}
# a tenant of the module's own, whose records hold only what the module sends (whole-log operations
# such as GET /v1/verify/log then cost what this module did, not what the whole test session did)
FRESH = f"fz-{uuid.uuid4().hex[:8]}"
FRESH_KEYS = {role: f"key-{FRESH}-{role}" for role in ("admin", "agent")}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def doors(settings, tmp_path_factory) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A client per running service (its base URL is the service's), with an admin key of tenant acme."""
    logs = tmp_path_factory.mktemp("hostile")
    async with AsyncExitStack() as stack:
        clients = {}
        for name in SERVICES:
            port = free_port()
            keys = [{"name": f"{FRESH}-{r}", "tenant": FRESH, "role": r, "key": k} for r, k in FRESH_KEYS.items()]
            env = service_environment(settings, port) | {"FRONTLINE_API_KEYS": json.dumps(keys)}
            service = await stack.enter_async_context(running_service(name, env, port, logs))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(base_url=service.url, headers=ADMIN, timeout=30)
            )
        yield clients
