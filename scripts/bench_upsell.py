"""`make bench` for upsell: the decision engine alone, and the service through the real broker.

1. The engine (no I/O): decisions/s and p50/p99 per decision with 1,000 offers in the catalog, over
   a mixed stream of contacts (some angry, escalated, without consent, not interested, in the
   control group) and over contacts whose every contact gate is open (each one ranked). The
   baseline is the same loop with a catalog of 10 offers, in the same process.
2. The service: pairs of `contact.received` and `contact.assigned` produced at a fixed rate (open
   loop) into a real upsell process with the 1,000-offer catalog saved through REST; the latency
   from producing the assignment until its decision is read back, p50/p99. The baseline is the
   broker alone: the same number of messages at the same rate, produced and read back.
Results are appended to BENCHMARKS.md with the command and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
from aiokafka import AIOKafkaProducer
from benchlib import (
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
from frontline.contracts.contacts import Channel, ContactReceived, ContactReceivedData, CustomerSnapshot
from frontline.contracts.envelope import Event
from frontline.contracts.routing import Assignment, ContactAssigned
from frontline.contracts.upsell import Moment, Offer
from frontline.plumbing.kafka import ensure_topics
from frontline.plumbing.settings import Settings
from services.upsell.core.catalog import Catalog
from services.upsell.core.decide import decide
from services.upsell.core.gates import History, Situation, UpsellPolicy
from services.upsell.core.learning import Propensities

CONCERNS = ["sales_inquiry", "product_question", *(f"concern-{i}" for i in range(18))]
BASE_PRODUCTS = [f"base-{i}" for i in range(50)]
CHANNELS = [Channel.VOICE, Channel.CHAT, Channel.EMAIL, Channel.MESSAGING, Channel.WEB_FORM]
SEGMENTS = ["standard", "gold", "silver", "standard/new"]
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def offer_settings(i: int, rng: random.Random) -> dict[str, object]:
    eligibility: dict[str, object] = {}
    if rng.random() < 0.3:
        eligibility["owns_any"] = rng.sample(BASE_PRODUCTS, rng.randint(1, 3))
    if rng.random() < 0.1:
        eligibility["owns_none"] = rng.sample(BASE_PRODUCTS, 1)
    if rng.random() < 0.2:
        eligibility["tiers"] = ["gold"]
    return {
        "product": f"product-{i}",
        "eligibility": eligibility,
        "concerns": rng.sample(CONCERNS, rng.randint(1, 3)),
        "channels": [] if rng.random() < 0.5 else [str(c) for c in rng.sample(CHANNELS, rng.randint(1, 3))],
        "value": round(rng.uniform(5, 200), 2),
        "weight": round(rng.uniform(0.5, 2), 2),
        "scripts": {"en": f"Offer {i}", "nl": f"Aanbod {i}"},
        "daily_cap": 1_000 if rng.random() < 0.1 else None,
    }


def catalog_of(size: int, seed: int) -> list[Offer]:
    rng = random.Random(seed)
    return [Offer.model_validate({"offer_id": f"o-{i}", **offer_settings(i, rng)}) for i in range(size)]


def learned(offers: list[Offer], seed: int) -> Propensities:
    rng, propensities = random.Random(seed), Propensities()
    for offer in offers:
        for segment in SEGMENTS:
            shown = rng.randint(0, 200)
            rate = rng.uniform(0.01, 0.3)
            propensities.counts[(offer.offer_id, segment)] = (yes := int(shown * rate), shown - yes)
    return propensities


def situation(n: int, rng: random.Random, *, all_open: bool) -> tuple[Situation, History]:
    new = rng.random() < 0.1
    customer = CustomerSnapshot(
        customer_id=f"cust-{n}",
        tier=rng.choice(["standard", "gold", "silver"]),
        products=rng.sample(BASE_PRODUCTS, rng.randint(0, 3)),
        marketing_consent=all_open or rng.random() < 0.9,
        new_customer=new,
    )
    interested = all_open or rng.random() < 0.3
    history = History()
    if rng.random() < 0.2:
        history.declined_at = {f"o-{rng.randrange(1000)}": NOW - timedelta(days=rng.uniform(0, 60))}
    return (
        Situation(
            tenant="bench",
            contact_id=f"c-{n}",
            agent_id="ann",
            customer=customer,
            channel=rng.choice(CHANNELS),
            concern=rng.choice(CONCERNS[:2]) if interested else rng.choice(CONCERNS[2:]),
            language="nl",
            angry=not all_open and rng.random() < 0.05,
            escalated=not all_open and rng.random() < 0.03,
            moment=rng.choice([Moment.ASSIGNED, Moment.RESOLVED]),
            resolved=rng.random() < 0.7,
        ),
        history,
    )


@dataclass
class EngineRun:
    offers: int
    decisions: int
    seconds: float
    latencies_ms: list[float]
    suggested: int
    open_offers: float

    @property
    def per_second(self) -> float:
        return self.decisions / self.seconds


def engine(offers: int, decisions: int, *, all_open: bool, seed: int = 7) -> EngineRun:
    catalog_offers = catalog_of(offers, seed)
    catalog, propensities = Catalog(catalog_offers), learned(catalog_offers, seed)
    policy = UpsellPolicy(control_percent=0 if all_open else 5)
    rng, generator = random.Random(seed), np.random.default_rng(seed)
    cases = [situation(n, rng, all_open=all_open) for n in range(decisions)]
    latencies, suggested, open_total = [], 0, 0
    started = time.perf_counter()
    for case, history in cases:
        before = time.perf_counter()
        decision = decide(case, catalog, history, propensities, policy, generator, NOW)
        latencies.append((time.perf_counter() - before) * 1000)
        if decision.choice is not None:
            suggested += 1
            open_total += len(decision.choice.candidates)
    seconds = time.perf_counter() - started
    return EngineRun(offers, decisions, seconds, latencies, suggested, open_total / max(1, suggested))


def _received(tenant: str, contact_id: str) -> Event:
    data = ContactReceivedData.model_validate(
        {
            "channel": "chat",
            "customer": {"customer_id": f"cust-{contact_id}", "tier": "gold", "marketing_consent": True},
            "language": {"code": "nl", "confidence": 0.9, "method": "detected"},
            "concern": {"code": "sales_inquiry", "confidence": 0.9},
            "priority": 10,
            "sentiment": {"score": 0.2, "angry": False},
        }
    )
    return ContactReceived.new(
        data=data, tenant=tenant, source="bench", occurred_at=datetime.now(UTC), contact_id=contact_id
    )


def _assigned(tenant: str, contact_id: str) -> Event:
    data = Assignment(
        contact_id=contact_id, agent_id="ann", offer_id=f"o-{contact_id}", queue="general", waited_seconds=1
    )
    return ContactAssigned.new(
        data=data, tenant=tenant, source="bench", occurred_at=datetime.now(UTC), contact_id=contact_id
    )


async def service_latency(settings: Settings, *, offers: int, rate: float, seconds: float) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    tenant = f"bench-{run}"
    port = free_port()
    key = f"bench-{run}-admin"
    env = {
        **os.environ,
        "FRONTLINE_HTTP_PORT": str(port),
        "FRONTLINE_MONGODB_DATABASE": settings.mongodb_database,
        "FRONTLINE_LOG_LEVEL": "WARNING",
        "FRONTLINE_KAFKA_GROUP_PREFIX": f"bench-{run}",
        "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
        "FRONTLINE_UPSELL_CONTROL_PERCENT": "0",
        "FRONTLINE_API_KEYS": json.dumps([{"name": "bench", "tenant": tenant, "role": "admin", "key": key}]),
    }
    log = ROOT / ".local" / "logs" / "bench-upsell.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.upsell", cwd=ROOT, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    producer = SigningProducer(settings, linger_ms=1, acks="all")
    await producer.start()
    latencies = Latencies(expected=int(rate * seconds))
    decided: dict[str, str] = {}

    async def seen(value: bytes) -> None:
        event = json.loads(value)
        if event["tenant"] == tenant:
            decided[event["contact_id"]] = event["type"]
            latencies.see(event["contact_id"])

    reader = asyncio.create_task(read_topic(settings, Topic.UPSELL_SUGGESTIONS.value, seen))
    try:
        await until_ready(port, process, "upsell")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}) as http:
            rng = random.Random(11)
            for i in range(offers):
                (await http.put(f"/v1/offers/o-{i}", json=offer_settings(i, rng))).raise_for_status()
        await _until_consuming(producer, tenant, decided)
        print(f"upsell service: {rate:g} assigned contacts/s for {seconds:g}s, {offers} offers ...", flush=True)

        async def send(i: int) -> None:
            contact_id = f"{run}-{i}"
            await producer.send(
                Topic.CONTACTS_RECEIVED.value, _received(tenant, contact_id).to_json(), key=tenant.encode()
            )
            latencies.sent[contact_id] = time.perf_counter()
            await producer.send(
                Topic.ROUTING_EVENTS.value, _assigned(tenant, contact_id).to_json(), key=tenant.encode()
            )

        await open_loop(rate, seconds, send)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(latencies.all_seen.wait(), 60)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await producer.stop()
        process.send_signal(signal.SIGTERM)
        await process.wait()
    values = latencies.milliseconds()
    suggested = sum(1 for c in latencies.sent if decided.get(c) == "offer.suggested")
    return {
        "sent": len(latencies.sent),
        "decided": len(values),
        "suggested": suggested,
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
    }


async def _send_pair(producer: AIOKafkaProducer, tenant: str, contact_id: str, *, sent: dict[str, float]) -> None:
    """The contact as intake publishes it, then its assignment as routing does (timed from here)."""
    key = tenant.encode()
    await producer.send(Topic.CONTACTS_RECEIVED.value, _received(tenant, contact_id).to_json(), key=key)
    sent[contact_id] = time.perf_counter()
    await producer.send(Topic.ROUTING_EVENTS.value, _assigned(tenant, contact_id).to_json(), key=key)


async def _until_consuming(producer: AIOKafkaProducer, tenant: str, decided: dict[str, str]) -> None:
    """The worker's group starts at the end of the topics: probe until a decision comes back."""
    for attempt in range(60):
        contact_id = f"probe-{attempt}"
        await _send_pair(producer, tenant, contact_id, sent={})
        await asyncio.sleep(1)
        if contact_id in decided:
            return
    raise RuntimeError("upsell made no decision; see .local/logs/bench-upsell.log")


def render(
    args: argparse.Namespace, runs: dict[str, EngineRun], service: dict[str, float], broker: dict[str, float]
) -> str:
    command = (
        f"python scripts/bench_upsell.py --offers {args.offers} --decisions {args.decisions} "
        f"--rate {args.rate:g} --seconds {args.seconds:g}"
    )
    rows = []
    for label, large, small in (
        ("mixed contacts", runs["mixed"], runs["mixed-small"]),
        ("every contact ranked", runs["open"], runs["open-small"]),
    ):
        rows += [
            (
                f"engine, {label}: decisions/s, {large.offers:,} offers",
                f"{large.per_second:,.0f}",
                f"{small.offers} offers: {small.per_second:,.0f}/s",
                f"{large.per_second / small.per_second:.2f}",
            ),
            (
                f"engine, {label}: p50 / p99 per decision",
                f"{percentile(large.latencies_ms, 50):.3f} / {percentile(large.latencies_ms, 99):.3f} ms",
                f"{percentile(small.latencies_ms, 50):.3f} / {percentile(small.latencies_ms, 99):.3f} ms",
                f"{percentile(large.latencies_ms, 99) / percentile(small.latencies_ms, 99):.2f}x (p99)",
            ),
            (
                f"engine, {label}: suggestions made; open offers per suggestion",
                f"{large.suggested / large.decisions:.0%}; {large.open_offers:.0f}",
                f"{small.suggested / small.decisions:.0%}; {small.open_offers:.1f}",
                "",
            ),
        ]
    rows += [
        (
            f"service: contact.assigned → decision p50, {args.rate:g} contacts/s for {args.seconds:g} s",
            f"{service['p50_ms']:.1f} ms",
            f"broker alone, same rate: {broker['p50_ms']:.1f} ms",
            f"{service['p50_ms'] / broker['p50_ms']:.1f}x",
        ),
        (
            "service: contact.assigned → decision p99",
            f"{service['p99_ms']:.1f} ms",
            f"broker alone: {broker['p99_ms']:.1f} ms",
            f"{service['p99_ms'] / broker['p99_ms']:.1f}x",
        ),
        (
            "service: decided / sent (suggestions)",
            f"{service['decided']:.0f} / {service['sent']:.0f} ({service['suggested']:.0f})",
            "",
            "",
        ),
    ]
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    return f"""
## upsell — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC

Command: `make bench` (`{command}`)
Machine: {machine()}; local Kafka and FerretDB on the same machine.
A decision is one contact at one moment: gates, and when they are open the ranking, the offer and its
exact choice probability. "Mixed contacts" include closed gates (anger, no consent, no interest,
control group), which end a decision early; "every contact ranked" has every contact gate open.

| measure | upsell | baseline (same run) | ratio |
|---|---|---|---|
{table}
"""


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=1_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=100, help="assigned contacts/s into the service")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    runs = {}
    for name, offers, all_open in (
        ("mixed-small", 10, False),
        ("mixed", args.offers, False),
        ("open-small", 10, True),
        ("open", args.offers, True),
    ):
        print(f"upsell engine: {name} ({offers} offers) ...", flush=True)
        runs[name] = engine(offers, args.decisions, all_open=all_open)
    async with scratch_database(uuid.uuid4().hex[:8]) as settings:
        await ensure_topics(settings)
        broker = await broker_latency(settings, rate=args.rate * 2, seconds=args.seconds)
        service = await service_latency(settings, offers=args.offers, rate=args.rate, seconds=args.seconds)
        append_report(render(args, runs, service, broker))


if __name__ == "__main__":
    asyncio.run(main())
