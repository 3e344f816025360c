"""What every benchmark script shares: the machine it ran on, a free port, the report appended, a
database of the run's own; an open-loop sender, latencies seen on a topic, and the broker alone as the
baseline of service latency."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import tempfile
import time
import tomllib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from frontline.plumbing.kafka import partitions_of
from frontline.plumbing.mongo import connect
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import WriterSigner

ROOT = Path(__file__).resolve().parents[1]
KAFKA = f"Kafka {tomllib.loads((ROOT / 'deploy' / 'versions.toml').read_text())['kafka']['version']}"


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown CPU")
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, {system}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SigningProducer(AIOKafkaProducer):  # type: ignore[misc]
    """A producer that signs each Frontline event it sends as its writer would (development keys):
    the benchmarks stand in for outside systems and for the services whose output they feed in."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(bootstrap_servers=settings.kafka_bootstrap_servers, **options)
        self._signer = WriterSigner(settings.signing_keys())

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        if topic.startswith("frontline.") and value:
            head = json.loads(value)
            headers = [*(headers or []), *self._signer.headers_for(head["type"], head["tenant"], value)]
        return await super().send(topic, value, key, partition, timestamp_ms, headers)


VEGETA = ROOT / ".local" / "bin" / "vegeta"  # scripts/install_vegeta.sh


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None = None


async def vegeta(
    requests: list[Request], headers: dict[str, str], *, rate: float, seconds: float, workers: int = 0
) -> dict[str, Any]:
    """Offers the requests, each once, in order, with vegeta: open loop at `rate` per second, or as
    fast as `workers` clients go when `rate` is 0 (closed loop). Latency as the client sees it,
    requests per second answered, and the count of each status code."""
    lines = []
    for request in requests:
        target: dict[str, Any] = {
            "method": request.method,
            "url": request.url,
            "header": {k: [v] for k, v in headers.items()},
        }
        if request.body is not None:
            target["body"] = base64.b64encode(request.body).decode()
        lines.append(json.dumps(target))
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as targets:
        targets.write("\n".join(lines) + "\n")
        targets.flush()
        attack = [
            str(VEGETA),
            "attack",
            "-format=json",
            f"-targets={targets.name}",
            f"-rate={rate:g}",
            f"-duration={seconds:g}s",
        ]
        if workers:
            attack += [f"-workers={workers}", f"-max-workers={workers}"]
        results = (await asyncio.to_thread(subprocess.run, attack, capture_output=True, check=True)).stdout
    report = await asyncio.to_thread(
        subprocess.run, [str(VEGETA), "report", "-type=json"], input=results, capture_output=True, check=True
    )
    summary = json.loads(report.stdout)
    return {
        "requests": summary["requests"],
        "rate": summary["rate"],
        "throughput": summary["throughput"],
        "p50_ms": summary["latencies"]["50th"] / 1e6,
        "p99_ms": summary["latencies"]["99th"] / 1e6,
        "codes": {str(code): count for code, count in summary["status_codes"].items()},
    }


@contextlib.asynccontextmanager
async def scratch_database(run: str) -> AsyncIterator[Settings]:
    """Settings naming a database of the run's own, dropped afterwards: a benchmark neither scans what
    earlier runs left in the shared one nor leaves its own behind."""
    settings = Settings(mongodb_database=f"frontline_bench_{run}")
    try:
        yield settings
    finally:
        client = connect(settings, app_name="bench")
        await client.drop_database(settings.mongodb_database)
        await client.close()


def append_report(report: str) -> None:
    print(report)
    with (ROOT / "BENCHMARKS.md").open("a") as out:
        out.write(report)


@dataclass
class Latencies:
    expected: int
    sent: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    all_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def see(self, key: str) -> None:
        if key not in self.sent:
            return  # not one of the measured messages (a probe, or another run's)
        self.seen.setdefault(key, time.perf_counter())
        if len(self.seen) >= self.expected:
            self.all_seen.set()

    def milliseconds(self) -> list[float]:
        return [(self.seen[key] - at) * 1000 for key, at in self.sent.items() if key in self.seen]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def read_topic(settings: Settings, topic: str, on_value: Any) -> None:
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, isolation_level="read_committed"
    )
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        reader.assign(partitions)
        await reader.seek_to_end(*partitions)
        while True:
            for records in (await reader.getmany(timeout_ms=100)).values():
                for record in records:
                    await on_value(record.value)
    finally:
        await reader.stop()


async def open_loop(rate: float, seconds: float, send: Any) -> None:
    started = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(i)


async def until_ready(port: int, process: asyncio.subprocess.Process, name: str) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited; see .local/logs/bench-{name}.log")
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{name} did not become ready; see .local/logs/bench-{name}.log")


async def broker_latency(settings: Settings, *, rate: float, seconds: float) -> dict[str, float]:
    """The same messages at the same rate, produced to a scratch topic and read back."""
    topic = f"bench-echo-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=1, acks="all")
    await producer.start()
    latencies = Latencies(expected=int(rate * seconds))

    async def seen(value: bytes) -> None:
        latencies.see(value.decode())

    reader = asyncio.create_task(read_topic(settings, topic, seen))
    try:
        await asyncio.sleep(2)

        async def send(i: int) -> None:
            latencies.sent[str(i)] = time.perf_counter()
            await producer.send(topic, str(i).encode())

        await open_loop(rate, seconds, send)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(latencies.all_seen.wait(), 30)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()
    values = latencies.milliseconds()
    return {"p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99)}


async def broker_round_trip(settings: Settings, values: list[bytes], run: str) -> float:
    """Seconds the broker alone takes to carry `values`: produced to a topic of their own (acks=all)
    and consumed back by a new consumer group — the baseline of a pipeline carrying them."""
    topic = f"frontline.bench.{run}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=settings.kafka_topic_partitions, replication_factor=1)]
        )
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"bench-b-{run}",
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        started = time.perf_counter()
        for value in values:
            await producer.send(topic, value)
        await producer.flush()
        seen = 0
        while seen < len(values):
            batches = await consumer.getmany(timeout_ms=1000)
            seen += sum(len(records) for records in batches.values())
        return time.perf_counter() - started
    finally:
        await producer.stop()
        await consumer.stop()
