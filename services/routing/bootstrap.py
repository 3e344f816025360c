"""Bootstrap a routing pool from a file: its queues (policies) and agents, as events on the broker.

    python -m services.routing.bootstrap --tenant acme deploy/routing/pool.example.json

The file is JSON: {"queues": [QueuePolicy, ...], "agents": [AgentProfile + optional "state", ...]}
(the shapes of docs/events/queue.policy_saved.v1 and agent.profile_saved.v1). The whole file is
validated before anything is sent; a queue overflowing into another is sent after that one.
Saving is idempotent in effect: the same file again makes new policy versions with the same content.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from frontline.contracts.agents import AgentProfile, AgentProfileSaved, AgentStateRequested, Presence, StateRequest
from frontline.contracts.envelope import Event
from frontline.contracts.policies import QueuePolicy, QueuePolicySaved
from frontline.contracts.registry import describe_validation_error
from frontline.plumbing.kafka import EventProducer, ensure_topics
from frontline.plumbing.settings import Settings, get_settings


class BootstrapAgent(AgentProfile):
    state: Presence | None = Field(default=None, description="Also request this state once saved.")


class PoolFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queues: list[QueuePolicy] = Field(default_factory=list)
    agents: list[BootstrapAgent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        for kind, names in (("queues", [q.queue for q in self.queues]), ("agents", [a.agent_id for a in self.agents])):
            if len(names) != len(set(names)):
                raise ValueError(f"{kind}: each name may appear once")
        return self

    def queues_in_order(self) -> list[QueuePolicy]:
        """Overflow targets before the queues that overflow into them."""
        ordered: list[QueuePolicy] = []
        pending = {queue.queue: queue for queue in self.queues}
        while pending:
            ready = [q for q in pending.values() if q.overflow is None or q.overflow.to_queue not in pending]
            if not ready:
                raise ValueError(f"queues: overflow goes round in a circle among {sorted(pending)}")
            for queue in ready:
                ordered.append(pending.pop(queue.queue))
        return ordered


def events_for(pool: PoolFile, *, tenant: str, source: str, now: datetime) -> list[Event]:
    events: list[Event] = [
        QueuePolicySaved.new(data=queue, tenant=tenant, source=source, occurred_at=now)
        for queue in pool.queues_in_order()
    ]
    for agent in pool.agents:
        profile = AgentProfile.model_validate(agent.model_dump(exclude={"state"}))
        events.append(AgentProfileSaved.new(data=profile, tenant=tenant, source=source, occurred_at=now))
        if agent.state is not None:
            request = StateRequest(agent_id=agent.agent_id, state=agent.state, reason="bootstrap")
            events.append(AgentStateRequested.new(data=request, tenant=tenant, source=source, occurred_at=now))
    return events


def read(path: Path) -> PoolFile:
    """The validated file, or SystemExit naming every problem (nothing is sent then)."""
    try:
        return PoolFile.model_validate(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as error:
        raise SystemExit(f"{path}: {error}") from None
    except ValidationError as error:
        raise SystemExit(f"{path}: {describe_validation_error(error)}") from None


async def publish(events: list[Event], settings: Settings, *, tenant: str) -> None:
    """Sent as the tenant's own systems would send them, signed with the tenant's newest key."""
    await ensure_topics(settings)
    signer = settings.signing_keys().for_tenant(tenant)
    producer = EventProducer(settings, client_id="frontline-routing-bootstrap", signer=signer)
    await producer.start()
    try:
        for event in events:
            await producer.publish(event)
    finally:
        await producer.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", required=True, help="the routing pool to fill")
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    pool = read(args.file)
    try:
        events = events_for(pool, tenant=args.tenant, source="routing-bootstrap", now=datetime.now(UTC))
    except ValidationError as error:
        raise SystemExit(f"--tenant {args.tenant!r}: {describe_validation_error(error)}") from None
    except ValueError as error:
        raise SystemExit(f"{args.file}: {error}") from None
    asyncio.run(publish(events, get_settings(), tenant=args.tenant))
    print(f"{args.file}: sent {len(pool.queues)} queues and {len(pool.agents)} agents for tenant {args.tenant}")


if __name__ == "__main__":
    main(sys.argv[1:])
