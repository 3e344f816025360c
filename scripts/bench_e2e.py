"""End to end: contacts into the Kafka door, all four services running as processes, agents who
answer every offer and finish every contact — contacts/s until every service's consumer group has
drained, beside the raw broker carrying the same messages in the same run.

    python scripts/bench_e2e.py [--contacts 20000] [--agents 300] [--handle-seconds 0.2] [--kill]

With `--kill`, each service in turn (intake, routing, upsell, records) is killed with SIGKILL while
the contacts stream through, and started again; afterwards every contact must have come out of
intake once, been queued and completed once by routing, and every event of the run be recorded
once in records' log (intact): the count of each, lost and duplicated, goes in the report.

A tenant of its own, a database of its own and consumer groups of their own (starting at the end of
the topics), so nothing earlier runs left behind is counted. The agents are a bench simulator: one
consumer of routing's facts (read committed) that accepts each offer at once and sends the wrap-up
(`contact.handled`) `--handle-seconds` after the assignment; the queues' wrap-up time is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console

from frontline.contracts import Topic
from frontline.contracts.agents import (
    AgentProfile,
    AgentProfileSaved,
    AgentStateRequested,
    ContactHandled,
    Handled,
    OfferAnswer,
    OfferAnswered,
    StateRequest,
)
from frontline.contracts.contacts import ContactSubmitted, ContactSubmittedData
from frontline.contracts.policies import QueuePolicy, QueuePolicySaved
from frontline.contracts.topics import TOPICS
from frontline.plumbing.kafka import EventProducer, ensure_topics, partitions_of
from frontline.plumbing.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_suite
from bench_intake import TEXTS
from benchlib import KAFKA, append_report, broker_round_trip, machine, scratch_database

SKILLS = ("billing", "tech_support", "orders", "returns", "account", "sales", "complaints", "retention", "general")
FACTS = Topic.ROUTING_EVENTS.value
RECORDED = [topic.value for topic, spec in TOPICS.items() if topic is not Topic.CONTACTS_INBOUND and not spec.internal]
KILLED = ("intake", "routing", "upsell", "records")
ONCE = ("contact.received", "contact.queued", "contact.completed")
PORT_OFFSET = 100  # beside a `make run` on the usual ports


class Desk:
    """The agents: every offer accepted at once, every contact handled `handle_seconds` later."""

    def __init__(self, settings: Settings, tenant: str, producer: EventProducer, handle_seconds: float) -> None:
        self.settings, self.tenant, self.producer = settings, tenant, producer
        self.handle_seconds = handle_seconds
        self.seen: Counter[str] = Counter()
        self.available: set[str] = set()
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.completed: set[str] = set()
        self.queued = asyncio.Event()  # set at each contact.queued
        self._tasks: set[asyncio.Task[None]] = set()

    async def work(self) -> None:
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
            max_partition_fetch_bytes=4 << 20,
        )
        await reader.start()
        try:
            partitions = [TopicPartition(FACTS, p) for p in await partitions_of(self.settings, FACTS)]
            reader.assign(partitions)
            await reader.seek_to_end(*partitions)
            for partition in partitions:
                await reader.position(partition)
            while True:
                for records in (await reader.getmany(timeout_ms=100, max_records=2000)).values():
                    for record in records:
                        if record.key == self.tenant.encode():
                            await self._react(json.loads(record.value))
        finally:
            await reader.stop()

    async def _react(self, fact: dict[str, Any]) -> None:
        kind, data = fact["type"], fact["data"]
        self.seen[kind] += 1
        now = time.perf_counter()
        self.first.setdefault(kind, now)
        self.last[kind] = now
        if kind == "agent.state_changed" and data["presence"] == "available":
            self.available.add(data["agent_id"])
        elif kind == "offer.created":
            answer = OfferAnswer(offer_id=data["offer_id"], agent_id=data["agent_id"], accepted=True)
            await self.producer.enqueue(self._event(OfferAnswered, answer))
        elif kind == "contact.queued":
            self.queued.set()
        elif kind == "contact.completed":
            self.completed.add(fact["contact_id"])
        elif kind == "contact.assigned":
            task = asyncio.create_task(self._handle(data["contact_id"], data["agent_id"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, contact_id: str, agent_id: str) -> None:
        await asyncio.sleep(self.handle_seconds)
        handled = Handled(agent_id=agent_id, disposition="answered", resolution="resolved")
        await self.producer.enqueue(self._event(ContactHandled, handled, contact_id))

    def _event(self, model: Any, data: Any, contact_id: str | None = None) -> Any:
        return model.new(
            data=data, tenant=self.tenant, source="bench-desk", occurred_at=datetime.now(UTC), contact_id=contact_id
        )


async def staff(desk: Desk, producer: EventProducer, agents: int, *, within: float = 120) -> None:
    """The agents' profiles and presence sent as the tenant's workforce system would, again until
    routing has made them all available."""
    policy = QueuePolicySaved.new(
        data=QueuePolicy(queue="general", wrap_up_seconds=0),
        tenant=desk.tenant,
        source="bench",
        occurred_at=datetime.now(UTC),
    )
    await producer.publish(policy)
    names = [f"agent-{n:04d}" for n in range(agents)]
    deadline = time.monotonic() + within
    while missing := [name for name in names if name not in desk.available]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(missing)} agents not available after {within:.0f} s")
        for name in missing:
            profile = AgentProfile(
                agent_id=name,
                skills=[{"skill": skill, "proficiency": 4} for skill in SKILLS],
                languages=["en", "nl", "de", "fr", "es", "sv", "fi"],
                capacity={"email": 5, "chat": 3},
            )
            now = datetime.now(UTC)
            await producer.enqueue(
                AgentProfileSaved.new(data=profile, tenant=desk.tenant, source="bench", occurred_at=now)
            )
            state = StateRequest(agent_id=name, state="available")
            await producer.enqueue(
                AgentStateRequested.new(data=state, tenant=desk.tenant, source="bench", occurred_at=now)
            )
        await asyncio.sleep(3)


class Groups:
    """The services' consumer groups: when each last committed, and what it has left to read."""

    def __init__(self, settings: Settings, prefix: str) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        self.ends = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)  # reads end offsets only
        self.prefix = prefix
        self.committed: dict[str, dict[TopicPartition, int]] = {}
        self.changed: dict[str, float] = {}

    async def poll(self) -> dict[str, int]:
        """Each group's lag now; notes when its committed offsets last moved."""
        lags = {}
        for group in [f"{self.prefix}-{name}" for name in ("intake", "routing", "upsell", "records")]:
            offsets = {tp: meta.offset for tp, meta in (await self.admin.list_consumer_group_offsets(group)).items()}
            if offsets != self.committed.get(group):
                self.committed[group], self.changed[group] = offsets, time.perf_counter()
            ends = await self.ends.end_offsets(list(offsets))
            lags[group] = sum(max(0, ends[tp] - offset) for tp, offset in offsets.items())
        return lags


def _progress(seen: Counter[str]) -> str:
    kinds = ("contact.queued", "offer.created", "contact.assigned", "contact.completed")
    return ", ".join(f"{kind} {seen[kind]:,}" for kind in kinds)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    async with scratch_database(run_id) as settings:
        return await measure(args, settings, run_id)


async def measure(args: argparse.Namespace, settings: Settings, run_id: str) -> dict[str, Any]:
    tenant = f"bench-{run_id}"
    prefix = f"bench-e2e-{run_id}"
    await ensure_topics(settings)
    keys = [{"name": f"{tenant}-admin", "tenant": tenant, "role": "admin", "key": f"key-{tenant}-admin"}]
    env = {
        "FRONTLINE_API_KEYS": json.dumps(keys),
        "FRONTLINE_MONGODB_DATABASE": settings.mongodb_database,
        "FRONTLINE_KAFKA_GROUP_PREFIX": prefix,
        "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
        "FRONTLINE_LOG_LEVEL": "WARNING",
    }
    services = [run_suite.start(name, port + PORT_OFFSET, env) for name, port in run_suite.SERVICES.items()]
    producer = EventProducer(settings, client_id="bench-e2e", signer=settings.signing_keys().for_tenant(tenant))
    await producer.start()
    desk = Desk(settings, tenant, producer, args.handle_seconds)
    desk_task = asyncio.create_task(desk.work())
    groups = Groups(settings, prefix)
    await groups.admin.start()
    await groups.ends.start()
    try:
        if not await asyncio.to_thread(run_suite.wait_until_ready, services, Console()):
            raise RuntimeError("the services did not become ready; see .local/logs/<service>.log")
        start_offsets = await topic_ends(settings, RECORDED)  # before the tenant's first event
        await staff(desk, producer, args.agents)
        print(f"{args.agents} agents available; sending {args.contacts} contacts ...", flush=True)
        events = [
            ContactSubmitted.new(
                data=ContactSubmittedData(
                    channel="email" if n % 2 else "chat",
                    external_id=f"{run_id}-{n}",
                    text=TEXTS[n % len(TEXTS)],
                    customer={"email": f"customer{n % (args.contacts // 3 or 1)}.{run_id}@example.com"},
                ),
                tenant=tenant,
                source="bench-crm",
                occurred_at=datetime.now(UTC),
            )
            for n in range(args.contacts)
        ]
        await groups.poll()
        started = time.perf_counter()
        await asyncio.gather(*[await producer.enqueue(event) for event in events])
        sent = time.perf_counter() - started
        deadline = started + args.timeout
        killing = asyncio.create_task(kill_each(services, env, desk, args.contacts)) if args.kill else None
        while len(desk.completed) < args.contacts:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(desk.completed)} of {args.contacts} contacts completed in time")
            await asyncio.sleep(5)
            print(f"  {time.perf_counter() - started:5.0f} s: {_progress(desk.seen)}", flush=True)
        settled = 0.0
        while settled < 5:  # drained: every group at the end (but transaction markers), then unchanged for 5 s
            lags = await groups.poll()
            behind = any(lag > args.marker_allowance for lag in lags.values())
            settled = 0.0 if behind else time.perf_counter() - max(groups.changed.values())
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the consumer groups did not drain in time: {lags}")
            await asyncio.sleep(0.25)
        drained = max(groups.changed.values()) - started
        kills = await killing if killing else []
        once = await exactly_once(settings, tenant, start_offsets, args.contacts, services) if args.kill else {}
        baseline = await broker_round_trip(settings, [event.to_json() for event in events], run_id)
    finally:
        desk_task.cancel()
        await asyncio.gather(desk_task, return_exceptions=True)
        await groups.admin.close()
        await groups.ends.stop()
        await producer.stop()
        run_suite.stop(services)
    return {
        "contacts": args.contacts,
        "sent_seconds": sent,
        "received": desk.first.get("contact.queued", started) - started,
        "stages": {
            kind: desk.last[kind] - started for kind in ("contact.queued", "contact.assigned", "contact.completed")
        },
        "drained": drained,
        "groups": {group.removeprefix(f"{prefix}-"): at - started for group, at in groups.changed.items()},
        "lags": lags,
        "baseline": baseline,
        "seen": dict(desk.seen),
        "kills": kills,
        "once": once,
    }


async def kill_each(services: list[run_suite.Service], env: dict[str, str], desk: Desk, contacts: int) -> list[str]:
    """Kills each service with SIGKILL (its whole process group) once a further share of the contacts
    has been queued, and starts it again; what was killed when."""
    done = []
    for turn, name in enumerate(KILLED, start=1):
        while desk.seen["contact.queued"] < contacts * turn // (len(KILLED) + 1):
            desk.queued.clear()
            await desk.queued.wait()
        index = next(i for i, service in enumerate(services) if service.name == name)
        victim = services[index]
        os.killpg(victim.process.pid, signal.SIGKILL)
        await asyncio.to_thread(victim.process.wait)
        done.append(f"{name} at {desk.seen['contact.queued']:,} queued, {len(desk.completed):,} completed")
        print(f"  killed {done[-1]}; starting it again", flush=True)
        services[index] = run_suite.start(name, victim.port, env)
        if not await asyncio.to_thread(run_suite.wait_until_ready, [services[index]], Console(quiet=True)):
            raise RuntimeError(f"{name} did not come back after SIGKILL; see .local/logs/{name}.log")
    return done


async def topic_ends(settings: Settings, topics: list[str]) -> dict[TopicPartition, int]:
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await reader.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in await partitions_of(settings, t)]
        return dict(await reader.end_offsets(partitions))
    finally:
        await reader.stop()


async def exactly_once(
    settings: Settings, tenant: str, start: dict[TopicPartition, int], contacts: int, services: list[run_suite.Service]
) -> dict[str, Any]:
    """What a crash must not do, counted: every event of the run read back (committed only) from where
    the run began; each contact's `contact.received`, `contact.queued` and `contact.completed` by
    distinct event id; records' log against the distinct events."""
    end = await topic_ends(settings, list({tp.topic for tp in start}))
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, isolation_level="read_committed")
    await reader.start()
    events: dict[str, tuple[str, str | None]] = {}
    copies = 0
    try:
        reader.assign(list(start))
        for tp, offset in start.items():
            reader.seek(tp, offset)
        while [tp for tp in start if await reader.position(tp) < end[tp]]:
            for records in (await reader.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    event = json.loads(record.value)
                    if record.key == tenant.encode() and event.get("tenant") == tenant:
                        copies += event["id"] in events
                        events[event["id"]] = (event["type"], event.get("contact_id"))
    finally:
        await reader.stop()
    per_contact = {kind: Counter(c for t, c in events.values() if t == kind) for kind in ONCE}
    counts = {
        kind: {"contacts": len(seen), "more than once": sum(n > 1 for n in seen.values())}
        for kind, seen in per_contact.items()
    }
    records = next(s for s in services if s.name == "records")
    url = f"http://127.0.0.1:{records.port}/v1/verify/log"
    async with httpx.AsyncClient(timeout=600, headers={"Authorization": f"Bearer key-{tenant}-admin"}) as http:
        verified: dict[str, Any] = {}
        for _ in range(60):  # the records of the run, all of them, in an intact log
            verified = (await http.get(url)).json()
            if verified.get("tree_size") == len(events):
                break
            await asyncio.sleep(2)
    return {
        "contacts": contacts,
        "per contact": counts,
        "events": len(events),
        "messages repeated (same event id)": copies,
        "records": {k: verified.get(k) for k in ("intact", "tree_size", "records_checked")},
    }


def render(args: argparse.Namespace, f: dict[str, Any]) -> str:
    per_second = f["contacts"] / f["drained"]
    broker = f["contacts"] / f["baseline"]
    stages = "\n".join(f"| last `{kind}` seen | {seconds:.1f} s |  |  |" for kind, seconds in f["stages"].items())
    command = f"python scripts/bench_e2e.py --contacts {args.contacts} --agents {args.agents}"
    command += f" --handle-seconds {args.handle_seconds:g}" + (" --kill" if args.kill else "")
    baseline = f"broker alone, same messages produced and consumed: {broker:,.0f}/s"
    groups = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(f["groups"].items(), key=lambda g: g[1]))
    title = "end to end, each service killed with SIGKILL once" if f["kills"] else "end to end"
    return f"""
## {title} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC

Command: `{command}` (in `make bench`)
Machine: {machine()}; all four services as processes, local {KAFKA} and FerretDB 1.24 (SQLite), the bench's
producer and agent simulator, all on these 2 cores. {args.agents} agents (chat 3, e-mail 5 at once), one tenant;
customers: a third as many as contacts (most come back). Drained: every group's committed offsets
unchanged for 5 s (left to read then: {f["lags"]}; routing's facts end in transaction markers).

| measure | end to end | baseline (same run) | ratio |
|---|---|---|---|
| contacts/s, first sent → every consumer group drained | {per_second:,.0f} | {baseline} | {per_second / broker:.4f} |
| contacts sent by the outside producer | {f["contacts"]:,} in {f["sent_seconds"]:.1f} s |  |  |
{stages}
| each group's last commit | {groups} |  |  |
{_crashes(f)}"""


def _crashes(f: dict[str, Any]) -> str:
    if not f["kills"]:
        return ""
    once = f["once"]
    rows = "\n".join(
        f"| `{kind}` | {c['contacts']:,} of {once['contacts']:,} contacts | {once['contacts'] - c['contacts']:,} "
        f"| {c['more than once']:,} |"
        for kind, c in once["per contact"].items()
    )
    records, events = once["records"], once["events"]
    logged = f"{records['tree_size'] or 0:,} of {events:,} distinct events (log intact: {records['intact']})"
    repeated = once["messages repeated (same event id)"]
    return f"""
Killed with SIGKILL during the run, each started again (the rate above includes four restarts):
{"; ".join(f["kills"])}.

| after the kills | seen | lost | more than once |
|---|---|---|---|
{rows}
| events of the run in records' log | {logged} | {events - (records["tree_size"] or 0):,} | — |

Messages carrying an event id already seen (a re-send after a crash; consumers skip them by id): {repeated:,}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--handle-seconds", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for every group to drain")
    parser.add_argument("--kill", action="store_true", help="SIGKILL each service once during the run and count")
    parser.add_argument(
        "--marker-allowance", type=int, default=50, help="records a drained group may seem behind (transaction markers)"
    )
    args = parser.parse_args()
    found = asyncio.run(run(args))
    report = render(args, found)
    print(report)
    append_report(report)


if __name__ == "__main__":
    main()
