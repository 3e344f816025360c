"""A routing service under test: its own tenant, API keys and consumer group, and a REST client for it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from frontline.plumbing.auth import Role
from frontline.plumbing.settings import Settings
from tests.integration.helpers import eventually, service_environment

DESK_AGENTS = ("ann", "bob", "cid", "sara")  # each has an agent key bound to them


@dataclass
class Pool:
    """A tenant of its own, so that what other tests left in the topics is not in its routing pool."""

    tenant: str = field(default_factory=lambda: f"t-{uuid.uuid4().hex[:10]}")

    def key(self, role: Role, agent: str | None = None) -> str:
        return f"key-{self.tenant}-{role.value}" + (f"-{agent}" if agent else "")

    def environment(self, settings: Settings, port: int, *, group: str) -> dict[str, str]:
        keys = [
            {"name": f"{self.tenant}-{r.value}", "tenant": self.tenant, "role": r.value, "key": self.key(r)}
            for r in Role
        ] + [
            {
                "name": f"{self.tenant}-{a}",
                "tenant": self.tenant,
                "role": "agent",
                "agent_id": a,
                "key": self.key(Role.AGENT, a),
            }
            for a in DESK_AGENTS
        ]
        return service_environment(settings, port) | {
            "FRONTLINE_API_KEYS": json.dumps(keys),
            "FRONTLINE_KAFKA_GROUP_PREFIX": group,
            "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
            "FRONTLINE_ROUTING_TICK_SECONDS": "0.1",
        }

    def client(self, url: str, role: Role = Role.ADMIN, *, agent: str | None = None) -> httpx.AsyncClient:
        """A client with the role's key; with `agent`, an agent key bound to that agent."""
        return httpx.AsyncClient(base_url=url, headers={"X-API-Key": self.key(role, agent)}, timeout=10)


async def staff(http: httpx.AsyncClient, agents: dict[str, dict[str, Any]], *, within: float = 60) -> None:
    """Save these agents and make them available, retrying until the pool shows them available
    (a worker that joined its group at the end of the topics misses what was sent before it joined)."""

    async def all_available() -> bool:
        listed = {a["profile"]["agent_id"]: a for a in (await http.get("/v1/agents")).json()}
        missing = [agent_id for agent_id in agents if listed.get(agent_id, {}).get("presence") != "available"]
        for agent_id in missing:
            if agent_id not in listed:
                (await http.put(f"/v1/agents/{agent_id}", json=agents[agent_id])).raise_for_status()
            else:
                (await http.post(f"/v1/agents/{agent_id}/state", json={"state": "available"})).raise_for_status()
        return not missing

    await eventually(all_available, within=within, what=f"agents {sorted(agents)} available")


async def routing_of(http: httpx.AsyncClient, contact_id: str) -> dict[str, Any] | None:
    answer = await http.get(f"/v1/contacts/{contact_id}/routing")
    return answer.json() if answer.status_code == 200 else None
