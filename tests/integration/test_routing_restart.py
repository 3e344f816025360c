"""Routing killed with kill -9 while contacts are in flight and restarted, or its partitions moved
between workers by rebalances: every contact is queued once and assigned exactly once, with real
processes on the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from frontline.contracts import Topic
from frontline.contracts.agents import ContactHandled as HandledEvent
from frontline.contracts.agents import Handled, OfferAnswer, OfferAnswered
from frontline.plumbing.kafka import EventProducer
from tests.integration.helpers import end_offsets, eventually, free_port, running_service
from tests.integration.routing_helpers import Pool, staff
from tests.unit.factories import agent_saved, contact_received, policy_saved, state_requested

CONTACTS = 300
AGENTS = 12
FACTS = Topic.ROUTING_EVENTS.value


class Desk:
    """Agents at their desks: accept every offer at once, finish every contact shortly after."""

    def __init__(self, tenants: set[str], producer: EventProducer, *, expected: int) -> None:
        self.tenants = tenants
        self.producer = producer
        self.facts: list[dict[str, Any]] = []
        self.assigned: Counter[str] = Counter()
        self.available: set[tuple[str, str]] = set()
        self.all_assigned = asyncio.Event()
        self._expected = expected
        self._finishing: set[asyncio.Task[None]] = set()

    async def work(self, bootstrap: str, start: dict[TopicPartition, int]) -> None:
        reader = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
        )
        await reader.start()
        try:
            reader.assign(list(start))
            for partition, offset in start.items():
                reader.seek(partition, offset)
            while True:
                for records in (await reader.getmany(timeout_ms=200)).values():
                    for record in records:
                        await self._react(json.loads(record.value))
        finally:
            await reader.stop()

    async def _react(self, fact: dict[str, Any]) -> None:
        tenant = fact["tenant"]
        if tenant not in self.tenants:
            return
        self.facts.append(fact)
        data = fact["data"]
        if fact["type"] == "agent.state_changed" and data["presence"] == "available":
            self.available.add((tenant, data["agent_id"]))
        if fact["type"] == "offer.created":
            answer = OfferAnswer(offer_id=data["offer_id"], agent_id=data["agent_id"], accepted=True)
            await self.producer.publish(self._event(OfferAnswered, answer, tenant))
        elif fact["type"] == "contact.assigned":
            self.assigned[data["contact_id"]] += 1
            if len(self.assigned) == self._expected:
                self.all_assigned.set()
            task = asyncio.create_task(self._finish(tenant, data["contact_id"], data["agent_id"]))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)

    async def _finish(self, tenant: str, contact_id: str, agent_id: str) -> None:
        await asyncio.sleep(0.3)
        handled = Handled(agent_id=agent_id, disposition="answered")
        await self.producer.publish(self._event(HandledEvent, handled, tenant, contact_id))

    def _event(self, model: Any, data: Any, tenant: str, contact_id: str | None = None) -> Any:
        return model.new(data=data, tenant=tenant, source="desk", occurred_at=datetime.now(UTC), contact_id=contact_id)

    def check(self, contact_ids: list[str]) -> None:
        """Every contact queued once and assigned exactly once; no offer made twice."""
        missing = [c for c in contact_ids if c not in self.assigned]
        assert not missing, f"{len(missing)} contacts never assigned, e.g. {missing[:3]}"
        twice = {c: n for c, n in self.assigned.items() if n > 1}
        assert not twice, f"assigned more than once: {twice}"
        queued = Counter(f["data"]["contact_id"] for f in self.facts if f["type"] == "contact.queued")
        assert set(queued) == set(contact_ids)
        assert max(queued.values()) == 1, "a contact.received was applied twice"
        offers = Counter(f["data"]["offer_id"] for f in self.facts if f["type"] == "offer.created")
        assert max(offers.values()) == 1, "an offer was made twice"


async def test_kill_9_mid_stream_loses_no_contact_and_assigns_none_twice(settings, producer, tmp_path_factory):
    pool = Pool()
    group = f"test-{uuid.uuid4().hex[:8]}"
    bootstrap = settings.kafka_bootstrap_servers
    desk = Desk({pool.tenant}, producer, expected=CONTACTS)
    desk_task = asyncio.create_task(desk.work(bootstrap, await end_offsets(bootstrap, FACTS)))
    contact_ids = [f"c-{n:04d}-{uuid.uuid4().hex[:6]}" for n in range(CONTACTS)]
    try:
        port = free_port()
        # snapshots every 100 facts: the restart restores a snapshot and replays only the facts after it
        snapshots = {"FRONTLINE_ROUTING_SNAPSHOT_EVERY_FACTS": "100"}
        first_env = pool.environment(settings, port, group=group) | snapshots
        async with running_service("routing", first_env, port, tmp_path_factory.mktemp("first")) as first:
            async with pool.client(first.url) as admin:
                team = {f"agent-{n}": {"skills": [{"skill": "billing", "proficiency": 3}]} for n in range(AGENTS)}
                await staff(admin, team)
                await producer.publish(policy_saved("general", tenant=pool.tenant, wrap_up_seconds=0))
            for n, contact_id in enumerate(contact_ids):
                await producer.publish(contact_received(tenant=pool.tenant, contact_id=contact_id, channel="chat"))
                if n % 20 == 19:
                    await asyncio.sleep(0.1)
                if n == CONTACTS // 3:

                    async def snapshotted() -> bool:  # 100 facts make a snapshot; a loaded machine is slow
                        return len(desk.facts) >= 250

                    await eventually(snapshotted, within=60, what="routing publishing 250 facts")
                    await asyncio.sleep(1)
                    first.process.send_signal(signal.SIGKILL)
                    await first.process.wait()
            assert sum(desk.assigned.values()) < CONTACTS, "routing finished before it was killed"

        second_port = free_port()
        second_env = pool.environment(settings, second_port, group=group) | snapshots
        async with running_service("routing", second_env, second_port, tmp_path_factory.mktemp("second")) as second:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(desk.all_assigned.wait(), 90)
            await asyncio.sleep(2)  # anything assigned twice would show up now
            await second.stop_gracefully()
            rebuilt = [
                json.loads(line) for line in second.log.read_text().splitlines() if "routing pools rebuilt" in line
            ]
            assert any(line["snapshots"] > 0 for line in rebuilt), "the restart did not start from a snapshot"
    finally:
        desk_task.cancel()
        await asyncio.gather(desk_task, return_exceptions=True)

    desk.check(contact_ids)


async def test_partitions_moving_between_workers_lose_no_contact_and_assign_none_twice(
    settings, producer, tmp_path_factory
):
    """Two workers share the pools; one leaves (its partitions move), then a third joins (they move again)."""
    pools = [Pool() for _ in range(4)]
    tenants = {pool.tenant for pool in pools}
    group = f"test-{uuid.uuid4().hex[:8]}"
    bootstrap = settings.kafka_bootstrap_servers
    desk = Desk(tenants, producer, expected=CONTACTS)
    desk_task = asyncio.create_task(desk.work(bootstrap, await end_offsets(bootstrap, FACTS)))
    contact_ids = [f"c-{n:04d}-{uuid.uuid4().hex[:6]}" for n in range(CONTACTS)]

    def environment() -> tuple[int, dict[str, str]]:
        port = free_port()
        return port, pools[0].environment(settings, port, group=group) | {
            "FRONTLINE_ROUTING_SNAPSHOT_EVERY_FACTS": "100"
        }

    try:
        (port_a, env_a), (port_b, env_b) = environment(), environment()
        async with (
            running_service("routing", env_a, port_a, tmp_path_factory.mktemp("a")) as worker_a,
            running_service("routing", env_b, port_b, tmp_path_factory.mktemp("b")),
        ):
            await _staff_by_events(desk, producer, pools)
            for n, contact_id in enumerate(contact_ids):
                tenant = pools[n % len(pools)].tenant
                await producer.publish(contact_received(tenant=tenant, contact_id=contact_id, channel="chat"))
                if n % 20 == 19:
                    await asyncio.sleep(0.1)
                if n == CONTACTS // 3:
                    await worker_a.stop_gracefully()
            port_c, env_c = environment()
            async with running_service("routing", env_c, port_c, tmp_path_factory.mktemp("c")):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(desk.all_assigned.wait(), 90)
                await asyncio.sleep(2)  # anything assigned twice would show up now
    finally:
        desk_task.cancel()
        await asyncio.gather(desk_task, return_exceptions=True)
    desk.check(contact_ids)


async def _staff_by_events(desk: Desk, producer: EventProducer, pools: list[Pool]) -> None:
    """Four agents per pool, sent until the desk has seen them all available (the workers joined at the end)."""
    wanted = {(pool.tenant, f"agent-{n}") for pool in pools for n in range(4)}
    for pool in pools:
        await producer.publish(policy_saved("general", tenant=pool.tenant, wrap_up_seconds=0))
    for _ in range(30):
        for tenant, agent_id in sorted(wanted - desk.available):
            await producer.publish(
                agent_saved(agent_id, tenant=tenant, skills=[{"skill": "billing", "proficiency": 3}])
            )
            await producer.publish(state_requested(agent_id, tenant=tenant))
        await asyncio.sleep(2)
        if wanted <= desk.available:
            return
    raise AssertionError(f"agents never available: {sorted(wanted - desk.available)[:5]}")
