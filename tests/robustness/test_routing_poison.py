"""Routing's transactional worker against the real broker: a message that breaks a pool while it is
applied is dead-lettered after the step is undone and the pool rebuilt without it; the messages
around it, and the other pools of its partition, are routed as if it had never come."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from frontline.contracts import Topic, dlq_topic
from frontline.plumbing.settings import Settings
from services.routing.core.router import Router
from services.routing.settings import RoutingSettings
from services.routing.worker import RoutingWorker
from tests.integration.helpers import end_offsets, eventually, read_until
from tests.unit.factories import agent_saved

AGENTS_DLQ = dlq_topic(Topic.AGENTS_EVENTS.value)


async def test_a_message_that_breaks_the_pool_is_dead_lettered_and_the_partition_goes_on(
    settings: Settings, producer, monkeypatch
) -> None:
    apply = Router.apply

    def breaks_on_poison(self, event, now):
        if getattr(event.data, "agent_id", None) == "poison":
            raise OverflowError("date value out of range")  # after whatever it changed so far
        return apply(self, event, now)

    monkeypatch.setattr(Router, "apply", breaks_on_poison)
    own = settings.model_copy(
        update={"kafka_group_prefix": f"poison-{uuid.uuid4().hex[:8]}", "kafka_offset_reset": "latest"}
    )
    worker = RoutingWorker(
        own, RoutingSettings(tick_seconds=0.1), clock=lambda: datetime.now(UTC), committed=lambda partition, facts: None
    )
    first, second = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    start = await end_offsets(settings.kafka_bootstrap_servers, AGENTS_DLQ)
    await worker.start()
    try:
        await eventually(_ready(worker), within=60, what="the routing worker taking its partitions")

        async def knows(tenant: str, agent: str) -> bool:
            if any(agent in p.pools.get(tenant, Router(tenant)).agents for p in worker.partitions.values()):
                return True
            await producer.publish(agent_saved(agent, tenant=tenant))  # joined at the end: send until read
            return False

        await eventually(lambda: knows(first, "ann"), within=60, what="the first pool routed")
        for event in (
            agent_saved("poison", tenant=first),
            agent_saved("bob", tenant=first),
            agent_saved("cid", tenant=second),
        ):
            await producer.publish(event)
        await eventually(lambda: knows(first, "bob"), within=60, what="the message after the poison")
        await eventually(lambda: knows(second, "cid"), within=60, what="another pool")
        letters: list[dict] = []

        def poisoned(letter: dict) -> bool:
            letters.append(letter)
            return json.loads(letter["payload"])["data"]["agent_id"] == "poison"

        await read_until(settings.kafka_bootstrap_servers, start, poisoned, within=60)
        assert letters[-1]["reason"] == "OverflowError: date value out of range"
        # rebuilt from committed facts without it (no other routing group runs now: the services the
        # other modules start are gone, and their facts for this tenant would be rebuilt too)
        pools = [p.pools[first] for p in worker.partitions.values() if first in p.pools]
        assert [sorted(pool.agents) for pool in pools] == [["ann", "bob"]]
        await worker.ready()
    finally:
        await worker.stop()


def _ready(worker: RoutingWorker):
    async def ready() -> bool:
        return worker.assigned.is_set() and not worker._to_take

    return ready
