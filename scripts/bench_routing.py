"""`make bench` for routing: the engine alone, and the service through the real broker.

1. The matching engine (no I/O): decisions/s and p99 decision latency in a pool of 10,000 agents,
   50 skills and 2,000 queued contacts (see bench_routing_core.py), beside the same loop on a pool a
   tenth the size (the baseline, same process).
2. The service: `contact.received` events produced at a fixed rate (open loop) into a real routing
   process; the latency until its `offer.created` is read back (read_committed), p50/p99. Simulated
   agents accept every offer and finish each contact a second later, so capacity keeps freeing. The
   baseline is the broker alone: the same messages at the same rate, produced and read back.
Results are appended to BENCHMARKS.md with the command and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import bench_routing_core
from aiokafka import AIOKafkaProducer
from benchlib import (
    KAFKA,
    ROOT,
    Latencies,
    SigningProducer,
    append_report,
    broker_latency,
    free_port,
    machine,
    open_loop,
    percentile,
    read_topic,
    scratch_database,
    until_ready,
)

from frontline.contracts import Topic
from frontline.contracts.agents import (
    AgentProfile,
    AgentProfileSaved,
    AgentStateRequested,
    ContactHandled,
    Handled,
    OfferAnswer,
    OfferAnswered,
    Presence,
    StateRequest,
)
from frontline.contracts.contacts import ContactReceived, ContactReceivedData
from frontline.contracts.envelope import Event, EventData
from frontline.contracts.policies import QueuePolicy, QueuePolicySaved
from frontline.plumbing.kafka import ensure_topics
from frontline.plumbing.settings import Settings

FACTS = Topic.ROUTING_EVENTS.value
HOLD_SECONDS = 1.0


def _event(model: type[Event], data: EventData, tenant: str, contact_id: str | None = None) -> Event:
    return model.new(data=data, tenant=tenant, source="bench", occurred_at=datetime.now(UTC), contact_id=contact_id)


def _contact(tenant: str, contact_id: str) -> Event:
    data = ContactReceivedData.model_validate(
        {
            "channel": "chat",
            "customer": {"customer_id": contact_id},
            "language": {"code": "en", "confidence": 0.9, "method": "detected"},
            "concern": {"code": "billing", "confidence": 0.9},
            "required_skills": [{"skill": "billing", "min_proficiency": 2}],
            "priority": 40,
            "sentiment": {"score": 0.0, "angry": False},
        }
    )
    return _event(ContactReceived, data, tenant, contact_id)


class Desk:
    """Simulated agents: accept every offer at once, finish every contact HOLD_SECONDS later."""

    def __init__(self, tenant: str, producer: AIOKafkaProducer, latencies: Latencies) -> None:
        self.tenant, self.producer, self.latencies = tenant, producer, latencies
        self.available: set[str] = set()
        self._later: set[asyncio.Task[None]] = set()

    async def send(self, event: Event, contact_id: str | None = None) -> None:
        await self.producer.send(Topic.AGENTS_EVENTS.value, event.to_json(), key=self.tenant.encode())

    async def react(self, fact: dict[str, Any]) -> None:
        if fact["tenant"] != self.tenant:
            return
        data = fact["data"]
        if fact["type"] == "offer.created":
            self.latencies.see(data["contact_id"])
            answer = OfferAnswer(offer_id=data["offer_id"], agent_id=data["agent_id"], accepted=True)
            await self.send(_event(OfferAnswered, answer, self.tenant))
        elif fact["type"] == "contact.assigned":
            task = asyncio.create_task(self._finish(data["contact_id"], data["agent_id"]))
            self._later.add(task)
            task.add_done_callback(self._later.discard)
        elif fact["type"] == "agent.state_changed" and data["presence"] == "available":
            self.available.add(data["agent_id"])

    async def stop(self) -> None:
        for task in self._later:
            task.cancel()
        await asyncio.gather(*self._later, return_exceptions=True)

    async def _finish(self, contact_id: str, agent_id: str) -> None:
        await asyncio.sleep(HOLD_SECONDS)
        handled = Handled(agent_id=agent_id, disposition="done")
        await self.send(_event(ContactHandled, handled, self.tenant, contact_id))


async def service_latency(settings: Settings, *, rate: float, seconds: float, agents: int) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    tenant = f"bench-{run}"
    port = free_port()
    env = {
        **os.environ,
        "FRONTLINE_HTTP_PORT": str(port),
        "FRONTLINE_MONGODB_DATABASE": settings.mongodb_database,
        "FRONTLINE_LOG_LEVEL": "WARNING",
        "FRONTLINE_KAFKA_GROUP_PREFIX": f"bench-{run}",
        "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
    }
    log = ROOT / ".local" / "logs" / "bench-routing.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.routing", cwd=ROOT, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    producer = SigningProducer(settings, linger_ms=1, acks="all")
    await producer.start()
    latencies = Latencies(expected=int(rate * seconds))
    desk = Desk(tenant, producer, latencies)
    reader = asyncio.create_task(read_topic(settings, FACTS, lambda value: desk.react(json.loads(value))))
    try:
        await until_ready(port, process, "routing")
        await _staff(desk, agents)
        print(f"routing service: {rate:g} contacts/s for {seconds:g}s into {agents} agents ...", flush=True)

        async def send(i: int) -> None:
            contact_id = f"{run}-{i}"
            latencies.sent[contact_id] = time.perf_counter()
            await producer.send(
                Topic.CONTACTS_RECEIVED.value, _contact(tenant, contact_id).to_json(), key=tenant.encode()
            )

        await open_loop(rate, seconds, send)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(latencies.all_seen.wait(), 30)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await desk.stop()
        await producer.stop()
        process.send_signal(signal.SIGTERM)
        await process.wait()
    values = latencies.milliseconds()
    return {
        "sent": len(latencies.sent),
        "offered": len(values),
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
    }


async def _staff(desk: Desk, agents: int) -> None:
    """Agents with chat capacity 3 and no wrap-up; re-sent until routing shows them all available."""
    policy = QueuePolicy(queue="general", wrap_up_seconds=0, sticky_agent_seconds=0)
    await desk.producer.send(
        Topic.ROUTING_REQUESTS.value, _event(QueuePolicySaved, policy, desk.tenant).to_json(), key=desk.tenant.encode()
    )
    for _ in range(60):
        for n in range(agents):
            agent_id = f"agent-{n}"
            if agent_id in desk.available:
                continue
            profile = AgentProfile.model_validate(
                {"agent_id": agent_id, "skills": [{"skill": "billing", "proficiency": 3}]}
            )
            await desk.send(_event(AgentProfileSaved, profile, desk.tenant))
            await desk.send(
                _event(AgentStateRequested, StateRequest(agent_id=agent_id, state=Presence.AVAILABLE), desk.tenant)
            )
        await desk.producer.flush()
        await asyncio.sleep(1)
        if len(desk.available) == agents:
            return
    raise RuntimeError(f"only {len(desk.available)} of {agents} agents became available")


def render(args: argparse.Namespace, core: tuple[Any, Any], service: dict[str, float], broker: dict[str, float]) -> str:
    small, large = core
    command = (
        f"python scripts/bench_routing.py --agents {args.agents} --skills {args.skills} --queued {args.queued} "
        f"--operations {args.operations} --rate {args.rate:g} --seconds {args.seconds:g} "
        f"--service-agents {args.service_agents}"
    )
    rows = [
        (
            f"engine: decisions/s, {large.agents:,} agents, {large.skills} skills, {large.queued:,} queued",
            f"{large.per_second:,.0f}",
            f"{small.agents:,} agents, {small.queued} queued: {small.per_second:,.0f}/s",
            f"{large.per_second / small.per_second:.2f}",
        ),
        (
            "engine: p50 / p99 decision latency",
            f"{large.percentile(50):.3f} / {large.percentile(99):.3f} ms",
            f"{small.percentile(50):.3f} / {small.percentile(99):.3f} ms",
            f"{large.percentile(99) / small.percentile(99):.2f}x (p99)",
        ),
        (
            f"service: contact.received → offer.created p50, {args.rate:g} contacts/s for {args.seconds:g} s",
            f"{service['p50_ms']:.1f} ms",
            f"broker alone, same rate: {broker['p50_ms']:.1f} ms",
            f"{service['p50_ms'] / broker['p50_ms']:.1f}x",
        ),
        (
            "service: contact.received → offer.created p99",
            f"{service['p99_ms']:.1f} ms",
            f"broker alone: {broker['p99_ms']:.1f} ms",
            f"{service['p99_ms'] / broker['p99_ms']:.1f}x",
        ),
        ("service: contacts offered / sent", f"{service['offered']:.0f} / {service['sent']:.0f}", "", ""),
    ]
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    return f"""
## routing — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC

Command: `make bench` (`{command}`)
Machine: {machine()}; local {KAFKA} on the same machine.
A decision is one `routing.decision` (an offer, or a contact explained and left waiting), with its facts.

| measure | routing | baseline (same run) | ratio |
|---|---|---|---|
{table}
"""


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--queued", type=int, default=2_000)
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500, help="contacts/s into the service (issue 16 measures 500)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--service-agents",
        type=int,
        default=400,
        help="agents (chat 3 each); 150 (450 at once) were fewer than 500 contacts/s held ~1.3 s need, so the "
        "latency measured was the queue for an agent, not routing",
    )
    args = parser.parse_args()
    print("routing engine, baseline pool ...", flush=True)
    small = bench_routing_core.run(
        agents=args.agents // 10, skills=args.skills, queued=args.queued // 10, operations=args.operations
    )
    print("routing engine, large pool ...", flush=True)
    large = bench_routing_core.run(
        agents=args.agents, skills=args.skills, queued=args.queued, operations=args.operations
    )
    async with scratch_database(uuid.uuid4().hex[:8]) as settings:
        await ensure_topics(settings)
        broker = await broker_latency(settings, rate=args.rate, seconds=args.seconds)
        service = await service_latency(settings, rate=args.rate, seconds=args.seconds, agents=args.service_agents)
        append_report(render(args, (small, large), service, broker))


if __name__ == "__main__":
    asyncio.run(main())
