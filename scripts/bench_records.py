"""`make bench` for records, through the real broker into a real records process and the real store.

1. Ingest: contact stories (received, queued, assigned, suggested, completed: 5 events each) produced
   as fast as the producer goes into one tenant; recorded events per second, from the first produced
   until the tenant's signed tree head holds them all. Baselines in the same run: the broker alone
   (the same number of messages of the same size read back by a plain consumer) and the store alone
   (`insert_many` of as many documents of a record's size).
2. Verify: one contact's history (p50/p95 over 100 contacts), and the whole log of that tenant
   (`GET /v1/verify/log`) at --events records.
3. Timelines: the store filled to --total records (a second tenant), then p50/p95 of
   `GET /v1/contacts/{id}/timeline` over 500 random contacts of both tenants, and a contact's
   verification again at that size.
Results are appended to BENCHMARKS.md with the command and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from benchlib import (
    ROOT,
    SigningProducer,
    append_report,
    free_port,
    machine,
    percentile,
    scratch_database,
    until_ready,
)

from frontline.contracts import REGISTRY
from frontline.contracts.agents import Resolution
from frontline.contracts.contacts import Channel, ContactReceived, ContactReceivedData
from frontline.contracts.routing import (
    Assignment,
    Completion,
    ContactAssigned,
    ContactCompleted,
    ContactQueued,
    QueuedBecause,
    QueuedContact,
)
from frontline.contracts.upsell import OfferSuggested, SuggestionData
from frontline.plumbing.kafka import ensure_topics
from frontline.plumbing.mongo import connect
from frontline.plumbing.settings import Settings

STORY = ("contact.received", "contact.queued", "contact.assigned", "offer.suggested", "contact.completed")


def templates() -> dict[str, dict[str, Any]]:
    """One valid event of each story type, as JSON, to stamp ids and times into."""
    at, c = datetime(2026, 10, 1, tzinfo=UTC), "c"
    received = ContactReceivedData.model_validate(
        {
            "channel": "voice",
            "customer": {"customer_id": "cust", "tier": "gold"},
            "text": "My invoice is wrong, I was charged twice for the same month.",
            "language": {"code": "en", "confidence": 0.97, "method": "detected"},
            "concern": {"code": "billing", "confidence": 0.8},
            "priority": 40,
            "sentiment": {"score": -0.2, "angry": False},
        }
    )
    queued = QueuedContact(
        contact_id=c,
        queue="billing",
        policy_version=1,
        because=QueuedBecause.ARRIVED,
        channel=Channel.VOICE,
        priority=40,
        service_class="standard",
        arrived_at=at,
        queued_at=at,
    )
    suggestion = SuggestionData(
        suggestion_id="s",
        contact_id=c,
        agent_id="ann",
        customer_id="cust",
        offer_id="tv",
        offer_version=1,
        moment="assigned",
        script="Would you like our TV package?",
        language="en",
        reasons=["billing"],
        propensity=0.2,
        choice_probability=0.9,
        score=1.0,
        segment="gold",
    )
    completion = Completion(
        contact_id=c,
        agent_id="ann",
        queue="billing",
        disposition="answered",
        resolution=Resolution.RESOLVED,
        handle_seconds=180,
        wrap_up_until=at,
    )
    events = [
        ContactReceived.new(data=received, tenant="t", source="intake", occurred_at=at, contact_id=c),
        ContactQueued.new(data=queued, tenant="t", source="bench", occurred_at=at, contact_id=c),
        ContactAssigned.new(
            data=Assignment(contact_id=c, agent_id="ann", offer_id="o", queue="billing", waited_seconds=12),
            tenant="t",
            source="bench",
            occurred_at=at,
            contact_id=c,
        ),
        OfferSuggested.new(data=suggestion, tenant="t", source="bench", occurred_at=at, contact_id=c),
        ContactCompleted.new(data=completion, tenant="t", source="bench", occurred_at=at, contact_id=c),
    ]
    return {e.type: e.model_dump(mode="json") for e in events}


@dataclass
class Stamp:
    tenant: str
    run: str
    shapes: dict[str, dict[str, Any]]

    def story(self, n: int, at: datetime) -> list[tuple[str, bytes]]:
        """Contact n's five events: (topic, JSON)."""
        contact = f"{self.run}-{n}"
        out = []
        for step, kind in enumerate(STORY):
            event = json.loads(json.dumps(self.shapes[kind]))
            event.update(
                id=str(uuid.uuid4()),
                tenant=self.tenant,
                contact_id=contact,
                correlation_id=contact,
                occurred_at=(at + timedelta(seconds=step * 20)).isoformat(),
            )
            data = event["data"]
            if "contact_id" in data:
                data["contact_id"] = contact
            if kind == "contact.received":
                data["customer"]["customer_id"] = f"cust-{n % 5000}"
            if kind == "offer.suggested":
                data["suggestion_id"] = f"s-{contact}"
            out.append((REGISTRY[kind].topic.value, json.dumps(event).encode()))
        return out


class Service:
    def __init__(self, settings: Settings, tenants: list[str]) -> None:
        self.port = free_port()
        self.keys = {t: f"bench-{t}" for t in tenants}
        self.env = {
            **os.environ,
            "FRONTLINE_HTTP_PORT": str(self.port),
            "FRONTLINE_MONGODB_DATABASE": settings.mongodb_database,
            "FRONTLINE_LOG_LEVEL": "WARNING",
            "FRONTLINE_KAFKA_GROUP_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
            "FRONTLINE_API_KEYS": json.dumps(
                [{"name": f"bench-{t}", "tenant": t, "role": "admin", "key": k} for t, k in self.keys.items()]
            ),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Service:
        with (ROOT / ".local" / "logs" / "bench-records.log").open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.records",
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        await until_ready(self.port, self.process, "records")
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        await self.process.wait()

    def client(self, tenant: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}", headers={"X-API-Key": self.keys[tenant]}, timeout=600
        )


async def size(http: httpx.AsyncClient) -> int:
    answer = await http.get("/v1/checkpoints/latest")
    return int(answer.json()["size"]) if answer.status_code == 200 else 0


async def until_consuming(producer: AIOKafkaProducer, stamp: Stamp, http: httpx.AsyncClient) -> int:
    for attempt in range(60):
        topic, value = stamp.story(10_000_000 + attempt, datetime.now(UTC))[0]
        await producer.send_and_wait(topic, value, key=stamp.tenant.encode())
        await asyncio.sleep(1)
        if await size(http) > 0:
            await asyncio.sleep(2)
            return await size(http)
    raise RuntimeError("records recorded nothing; see .local/logs/bench-records.log")


async def ingest(
    producer: AIOKafkaProducer, stamp: Stamp, http: httpx.AsyncClient, contacts: int, start_size: int
) -> tuple[float, int]:
    """Produces `contacts` stories; seconds until all are recorded, and the average event size."""
    base = datetime(2026, 10, 1, tzinfo=UTC)
    total = contacts * len(STORY)
    started = time.perf_counter()
    sizes = 0
    key = stamp.tenant.encode()
    for n in range(contacts):
        for topic, value in stamp.story(n, base + timedelta(seconds=n)):
            sizes += len(value)
            await producer.send(topic, value, key=key)
    await producer.flush()
    last_report = 0.0
    while (recorded := await size(http) - start_size) < total:
        if time.perf_counter() - last_report > 10:
            print(f"  {recorded:,} of {total:,} events recorded", flush=True)
            last_report = time.perf_counter()
        await asyncio.sleep(0.2)
    return time.perf_counter() - started, sizes // total


async def broker_baseline(settings: Settings, count: int, value_size: int) -> float:
    """Messages/s a plain consumer reads back of `count` messages of this size, already produced."""
    topic = f"bench-records-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    producer = SigningProducer(settings, linger_ms=5, acks="all")
    await producer.start()
    payload = b"x" * value_size
    for _ in range(count):
        await producer.send(topic, payload)
    await producer.flush()
    await producer.stop()
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await reader.start()
    reader.assign([TopicPartition(topic, 0)])
    await reader.seek_to_beginning(TopicPartition(topic, 0))
    started, seen = time.perf_counter(), 0
    while seen < count:
        for records in (await reader.getmany(timeout_ms=500, max_records=5000)).values():
            seen += len(records)
    rate = count / (time.perf_counter() - started)
    await reader.stop()
    await admin.delete_topics([topic])
    await admin.close()
    return rate


async def store_baseline(settings: Settings, count: int, value_size: int) -> float:
    """Documents/s `insert_many` stores, of a record's size, in batches of 1,000."""
    client = connect(settings, app_name="bench-records")
    collection = client[settings.mongodb_database][f"bench_records_{uuid.uuid4().hex[:8]}"]
    started = time.perf_counter()
    for first in range(0, count, 1000):
        await collection.insert_many(
            [{"_id": f"doc-{i}", "payload": "x" * value_size} for i in range(first, min(count, first + 1000))]
        )
    rate = count / (time.perf_counter() - started)
    await collection.drop()
    await client.close()
    return rate


async def timed(http: httpx.AsyncClient, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        started = time.perf_counter()
        answer = await http.get(path)
        out.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    async with scratch_database(run_id) as settings:
        return await measure(args, settings, run_id)


async def measure(args: argparse.Namespace, settings: Settings, run_id: str) -> dict[str, Any]:
    await ensure_topics(settings)
    first, filler = f"bench-{run_id}-a", f"bench-{run_id}-b"
    shapes = templates()
    stamps = {t: Stamp(t, f"{t}-c", shapes) for t in (first, filler)}
    figures: dict[str, Any] = {}
    producer = SigningProducer(settings, linger_ms=5, acks="all")
    await producer.start()
    try:
        async with Service(settings, [first, filler]) as service, service.client(first) as http:
            start = await until_consuming(producer, stamps[first], http)
            contacts = args.events // len(STORY)
            print(f"records: ingesting {contacts * len(STORY):,} events into one tenant ...", flush=True)
            seconds, value_size = await ingest(producer, stamps[first], http, contacts, start)
            figures.update(events=contacts * len(STORY), seconds=seconds, value_size=value_size)
            sample = [f"{stamps[first].run}-{n}" for n in random.Random(3).sample(range(contacts), 100)]
            figures["verify_contact_ms"] = await timed(http, [f"/v1/verify/contacts/{c}" for c in sample])
            print("records: verifying the whole log ...", flush=True)
            started = time.perf_counter()
            answer = await http.get("/v1/verify/log")
            assert answer.status_code == 200, f"GET /v1/verify/log answered {answer.status_code}: {answer.text[:500]}"
            check = answer.json()
            figures["verify_log_s"] = time.perf_counter() - started
            figures["verify_log_records"] = check["records_checked"]
            assert check["intact"], check["findings"][:3]
            if args.total > args.events:
                async with service.client(filler) as fill:
                    fill_start = await until_consuming(producer, stamps[filler], fill)
                    more = (args.total - args.events) // len(STORY)
                    print(f"records: filling the store with {more * len(STORY):,} more events ...", flush=True)
                    fill_seconds, _ = await ingest(producer, stamps[filler], fill, more, fill_start)
                    figures.update(fill_events=more * len(STORY), fill_seconds=fill_seconds)
                    rng = random.Random(5)
                    picks = [(first, f"{stamps[first].run}-{rng.randrange(contacts)}") for _ in range(250)]
                    picks += [(filler, f"{stamps[filler].run}-{rng.randrange(more)}") for _ in range(250)]
                    rng.shuffle(picks)
                    lines: list[float] = []
                    for tenant, contact in picks:
                        lines += await timed(fill if tenant == filler else http, [f"/v1/contacts/{contact}/timeline"])
                    figures["timeline_ms"] = lines
                    figures["verify_contact_full_ms"] = await timed(http, [f"/v1/verify/contacts/{c}" for c in sample])
    finally:
        await producer.stop()
    print("records: baselines (broker alone, store alone) ...", flush=True)
    figures["broker_per_s"] = await broker_baseline(settings, figures["events"], figures["value_size"])
    figures["store_per_s"] = await store_baseline(settings, figures["events"], figures["value_size"])
    return figures


def render(args: argparse.Namespace, f: dict[str, Any]) -> str:
    rate = f["events"] / f["seconds"]
    rows = [
        (
            "ingest: events recorded/s (one tenant)",
            f"{rate:,.0f}",
            f"broker alone: {f['broker_per_s']:,.0f}/s read",
            f"{rate / f['broker_per_s']:.3f}",
        ),
        ("", "", f"store alone: {f['store_per_s']:,.0f} docs/s inserted", f"{rate / f['store_per_s']:.3f}"),
        (
            "verify one contact (5 records): p50 / p95",
            f"{percentile(f['verify_contact_ms'], 50):.1f} / {percentile(f['verify_contact_ms'], 95):.1f} ms",
            "",
            "",
        ),
        (f"verify the whole log: {f['verify_log_records']:,} records", f"{f['verify_log_s']:.1f} s", "", ""),
    ]
    if "timeline_ms" in f:
        stored = f["events"] + f["fill_events"]
        fill_rate = f["fill_events"] / f["fill_seconds"]
        rows += [
            (f"ingest while filling to {stored:,} records: events/s", f"{fill_rate:,.0f}", "", ""),
            (
                f"contact timeline with {stored:,} records stored: p50 / p95",
                f"{percentile(f['timeline_ms'], 50):.1f} / {percentile(f['timeline_ms'], 95):.1f} ms",
                "",
                "",
            ),
            (
                f"verify one contact with {stored:,} records stored: p50 / p95",
                f"{percentile(f['verify_contact_full_ms'], 50):.1f} / "
                f"{percentile(f['verify_contact_full_ms'], 95):.1f} ms",
                "",
                "",
            ),
        ]
    table = "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    return f"""
## records — {datetime.now(UTC):%Y-%m-%d}

Command: `python scripts/bench_records.py --events {args.events} --total {args.total}` (in `make bench`)
Machine: {machine()}; local Kafka and FerretDB on the same machine.
Events of {f["value_size"]} bytes on average (5 per contact: received, queued, assigned, suggested,
completed), produced as fast as the producer goes; the baselines read back / insert as many messages
of the same size in the same run.

| measure | records | baseline | ratio |
|---|---|---|---|
{table}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="events into the measured tenant")
    parser.add_argument("--total", type=int, default=1_000_000, help="records stored before timelines are timed")
    args = parser.parse_args()
    append_report(render(args, asyncio.run(run(args))))


if __name__ == "__main__":
    main()
