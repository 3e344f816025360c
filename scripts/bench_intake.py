"""`make bench`: intake throughput and latency through the real broker and MongoDB-wire server.

Starts a real intake process against the local servers (its own database and port), then measures
  - the Kafka door: N `contact.submitted` events → N `contact.received` events, contacts/s, beside a
    baseline of the same number of same-sized messages produced and consumed without intake;
  - the REST door: p50/p99 latency of POST /v1/contacts at a fixed offered rate (open loop), beside
    GET /healthz at the same rate as the framework baseline, and the closed-loop maximum, single and
    `:batch`. The load comes from vegeta (scripts/install_vegeta.sh): a Python client measured itself
    (32 httpx clients topped out at ~130 requests/s where vegeta's reached ~350).
Results are appended to BENCHMARKS.md with the command and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from benchlib import (
    KAFKA,
    ROOT,
    Request,
    SigningProducer,
    append_report,
    broker_round_trip,
    free_port,
    machine,
    scratch_database,
    vegeta,
)

from frontline.contracts import Topic
from frontline.contracts.contacts import MAX_TEXT_LENGTH, ContactSubmitted, ContactSubmittedData
from frontline.plumbing.kafka import ensure_topics
from frontline.plumbing.settings import Settings
from services.intake.core.redaction import redact

TEXTS = [
    "My invoice is wrong, you charged me twice this month",
    "Mijn internet valt steeds weg sinds gisteren",
    "Wo bleibt meine Bestellung? Sie sollte am Montag kommen.",
    "Haluan palauttaa takin, se on liian pieni.",
    "Jag har glömt mitt lösenord och får inget återställningsmejl.",
    "Je souhaite résilier mon contrat à la fin du mois.",
    "Me interesa una tarifa de fibra más rápida, ¿cuánto cuesta?",
]


# The texts that cost redaction the most per character, at the contract's longest (issue 15)
WORST_TEXTS = {
    "IBAN-like groups": "NL91 " * (MAX_TEXT_LENGTH // 5),
    "phone-like runs": "+31 6 1234 5678 " * (MAX_TEXT_LENGTH // 16),
    "one digit run": "4" * MAX_TEXT_LENGTH,
    "word characters": "a" * MAX_TEXT_LENGTH,
}


def redaction_cost() -> dict[str, tuple[float, float]]:
    """Microseconds per character of redacting each worst text at a tenth of its length and whole:
    equal figures mean linear time."""
    costs = {}
    for name, text in WORST_TEXTS.items():
        per_char = []
        for size in (len(text) // 10, len(text)):
            started = time.perf_counter()
            for _ in range(5):
                redact(text[:size], region="NL")
            per_char.append((time.perf_counter() - started) / 5 / size * 1e6)
        costs[name] = (per_char[0], per_char[1])
    return costs


async def liveness_under_worst_input(http: httpx.AsyncClient, run: str, requests: int = 5) -> dict[str, float]:
    """/healthz latency while the REST door works through batches of the worst allowed contacts."""
    texts = list(WORST_TEXTS.values())
    probes: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await http.get("/healthz")
            probes.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)

    async def load() -> None:
        for r in range(requests):
            contacts = [
                {
                    "channel": "email",
                    "external_id": f"{run}-worst-{r}-{i}",
                    "text": texts[i % len(texts)],
                    "customer": {"email": f"worst{i}.{run}@example.com"},
                }
                for i in range(10)
            ]
            (await http.post("/v1/contacts:batch", json={"contacts": contacts})).raise_for_status()
        done.set()

    idle = [(await _timed(http.get("/healthz"))) for _ in range(50)]
    await asyncio.gather(probe(), load())
    return {
        "idle_p99_ms": statistics.quantiles(idle, n=100)[98],
        "p99_ms": statistics.quantiles(probes, n=100)[98],
        "max_ms": max(probes),
        "probes": len(probes),
    }


async def _timed(request: Awaitable[Any]) -> float:
    started = time.perf_counter()
    await request
    return (time.perf_counter() - started) * 1000


def submission(i: int, run: str) -> ContactSubmittedData:
    return ContactSubmittedData.model_validate(
        {
            "channel": "email",
            "external_id": f"{run}-{i}",
            "text": TEXTS[i % len(TEXTS)],
            "customer": {"email": f"customer{i % 2000}.{run}@example.com"},
        }
    )


BATCH_SIZE = 250


async def kafka_door(settings: Settings, count: int, run: str) -> dict[str, float]:
    received_topic = Topic.CONTACTS_RECEIVED.value
    consumer = await _consumer(settings, received_topic, group=f"bench-{run}", reset="latest")
    await _until_assigned(consumer)
    producer = SigningProducer(settings, acks="all", linger_ms=5)
    await producer.start()
    events = [
        ContactSubmitted.new(data=submission(i, run), tenant="acme", source="bench", occurred_at=datetime.now(UTC))
        for i in range(count)
    ]
    wanted = {str(event.id) for event in events}
    started = time.perf_counter()
    for event in events:
        await producer.send(Topic.CONTACTS_INBOUND.value, event.to_json(), key=str(event.data.external_id).encode())
    await producer.flush()
    seen = 0
    while seen < count:
        batches = await consumer.getmany(timeout_ms=1000)
        if not batches and time.perf_counter() - started > 600:
            raise TimeoutError(f"only {seen} of {count} contacts came out of intake")
        seen += sum(json.loads(r.value).get("causation_id") in wanted for rs in batches.values() for r in rs)
    elapsed = time.perf_counter() - started
    baseline = await broker_round_trip(settings, [event.to_json() for event in events], run)
    await producer.stop()
    await consumer.stop()
    return {
        "contacts": count,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "baseline_per_second": count / baseline,
    }


async def _consumer(settings: Settings, topic: str, *, group: str, reset: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        auto_offset_reset=reset,
        enable_auto_commit=False,
    )
    await consumer.start()
    return consumer


async def _until_assigned(consumer: AIOKafkaConsumer) -> None:
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)


def rest_outcome(load: dict[str, Any]) -> dict[str, Any]:
    """vegeta's summary in the table's terms: accepted (2xx), shed (503), failed (anything else)."""
    codes = load["codes"]
    ok = sum(count for code, count in codes.items() if code.startswith("2"))
    shed = codes.get("503", 0)
    return {**load, "ok": ok, "shed": shed, "failed": load["requests"] - ok - shed}


def posts(url: str, run: str, count: int) -> list[Request]:
    return [
        Request("POST", f"{url}/v1/contacts", json.dumps(submission(i, run).model_dump(mode="json")).encode())
        for i in range(count)
    ]


def batch_posts(url: str, run: str, count: int) -> list[Request]:
    return [
        Request(
            "POST",
            f"{url}/v1/contacts:batch",
            json.dumps(
                {"contacts": [submission(b * BATCH_SIZE + n, run).model_dump(mode="json") for n in range(BATCH_SIZE)]}
            ).encode(),
        )
        for b in range(count)
    ]


async def start_intake(settings: Settings, port: int, log: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "FRONTLINE_HTTP_PORT": str(port),
        "FRONTLINE_MONGODB_DATABASE": settings.mongodb_database,
        "FRONTLINE_LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.intake", cwd=ROOT, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(300):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"intake did not become ready; see {log}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20000, help="contacts through the Kafka door")
    parser.add_argument("--rates", default="50,200", help="offered REST rates, requests/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=30, help="duration of the REST runs")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    async with scratch_database(run) as settings:
        await measure(args, settings, run)


async def measure(args: argparse.Namespace, settings: Settings, run: str) -> None:
    await ensure_topics(settings)
    port = free_port()
    log = ROOT / ".local" / "logs" / "bench-intake.log"
    process = await start_intake(settings, port, log)
    try:
        print(f"Kafka door: {args.contacts} contacts ...", flush=True)
        kafka = await kafka_door(settings, args.contacts, run)
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": "Bearer dev-acme-system", "Content-Type": "application/json"}
        rest = []
        for rate in [float(r) for r in args.rates.split(",")]:
            count = int(rate * args.seconds)
            print(f"REST door at {rate:g} requests/s for {args.seconds:g}s ...", flush=True)
            health = await vegeta([Request("GET", f"{url}/healthz")] * count, headers, rate=rate, seconds=args.seconds)
            contacts = await vegeta(posts(url, f"{run}-{rate:g}", count), headers, rate=rate, seconds=args.seconds)
            rest.append(({**rest_outcome(contacts), "rate": rate}, health))
        print("REST door, closed loop (32 clients) ...", flush=True)
        closed = rest_outcome(await vegeta(posts(url, f"{run}-max", 20_000), headers, rate=0, seconds=15, workers=32))
        print("REST :batch, closed loop (4 clients) ...", flush=True)
        batched = rest_outcome(
            await vegeta(batch_posts(url, f"{run}-batch", 200), headers, rate=0, seconds=30, workers=4)
        )
        print("liveness under the worst allowed input ...", flush=True)
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            worst = await liveness_under_worst_input(http, run)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    append_report(render(args, kafka, rest, (closed, batched), worst, redaction_cost()))


def render(
    args: argparse.Namespace,
    kafka: dict[str, float],
    rest: list[tuple[dict[str, float], dict[str, float]]],
    closed: tuple[dict[str, Any], dict[str, Any]],
    worst: dict[str, float],
    redaction: dict[str, tuple[float, float]],
) -> str:
    command = (
        f"python scripts/bench_intake.py --contacts {args.contacts} --rates {args.rates} --seconds {args.seconds:g}"
    )
    rows = [
        (
            f"Kafka door: contacts/s, submitted → received ({kafka['contacts']:.0f} contacts)",
            f"{kafka['per_second']:.0f}",
            f"broker alone, same messages: {kafka['baseline_per_second']:.0f}/s",
            f"{kafka['per_second'] / kafka['baseline_per_second']:.3f}",
        )
    ]
    for contacts, health in rest:
        offered = f"REST door, {contacts['rate']:g} req/s offered for {args.seconds:g} s"
        rows += [
            (
                f"{offered}: p50 latency (accepted)",
                f"{contacts['p50_ms']:.1f} ms",
                f"GET /healthz at that rate: {health['p50_ms']:.1f} ms",
                f"{contacts['p50_ms'] / health['p50_ms']:.1f}x",
            ),
            (
                f"{offered}: p99 latency (accepted)",
                f"{contacts['p99_ms']:.1f} ms",
                f"GET /healthz: {health['p99_ms']:.1f} ms",
                f"{contacts['p99_ms'] / health['p99_ms']:.1f}x",
            ),
            (
                f"{offered}: accepted / shed (503) / failed",
                f"{contacts['ok']:.0f} / {contacts['shed']:.0f} / {contacts['failed']:.0f}",
                f"of {contacts['requests']:.0f}",
                "",
            ),
        ]
    single, batched = closed
    rows.append(
        (
            "REST door, 32 clients closed loop for 15 s: contacts/s accepted (p99)",
            f"{single['ok'] / 15:.0f} ({single['p99_ms']:.0f} ms)",
            "",
            "",
        )
    )
    rows.append(
        (
            f"REST :batch of {BATCH_SIZE}, 4 clients closed loop for 30 s: contacts/s accepted",
            f"{batched['ok'] * BATCH_SIZE / 30:.0f}",
            "",
            "",
        )
    )
    rows.append(
        (
            f"GET /healthz while 5 :batch requests of 10 worst-case {MAX_TEXT_LENGTH:,}-character texts are handled: "
            f"p99 / max ({worst['probes']:.0f} probes)",
            f"{worst['p99_ms']:.1f} / {worst['max_ms']:.1f} ms",
            f"idle p99: {worst['idle_p99_ms']:.1f} ms",
            f"{worst['p99_ms'] / worst['idle_p99_ms']:.1f}x",
        )
    )
    for name, (tenth, whole) in redaction.items():
        rows.append(
            (
                f"redaction of {name}: µs per character at {MAX_TEXT_LENGTH // 10:,} / {MAX_TEXT_LENGTH:,} characters",
                f"{tenth:.2f} / {whole:.2f}",
                "linear time: equal",
                f"{whole / tenth:.2f}",
            )
        )
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    return f"""
## intake — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC

Command: `make bench` (`{command}`)
Machine: {machine()}; local {KAFKA} and FerretDB 1.24 (SQLite) on the same machine.
Customers: 2,000 distinct e-mail addresses per run, so most contacts come from a returning customer.

| measure | intake | baseline (same run) | ratio |
|---|---|---|---|
{table}
"""


if __name__ == "__main__":
    asyncio.run(main())
