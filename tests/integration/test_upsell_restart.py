"""Upsell killed with kill -9 while contacts stream in, then restarted: every contact gets exactly one
decision (no contact lost, none decided twice), with real processes on the real broker and store."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

from aiokafka import AIOKafkaConsumer

from tests.integration.helpers import end_offsets, eventually, free_port, running_service
from tests.integration.routing_helpers import Pool
from tests.integration.test_upsell_service import SUGGESTIONS, TV, consuming, customer
from tests.unit.factories import contact_assigned, contact_received

CONTACTS = 200


async def test_a_crash_mid_stream_loses_no_decision_and_doubles_none(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = pool.environment(settings, port, group=f"test-{uuid.uuid4().hex[:8]}")
    bootstrap = settings.kafka_bootstrap_servers
    contact_ids = [f"k-{uuid.uuid4().hex[:10]}" for _ in range(CONTACTS)]
    start = await end_offsets(bootstrap, SUGGESTIONS)
    decided: Counter[str] = Counter()

    async def watch() -> None:
        reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await reader.start()
        try:
            reader.assign(list(start))
            for partition, offset in start.items():
                reader.seek(partition, offset)
            while True:
                for records in (await reader.getmany(timeout_ms=200)).values():
                    for record in records:
                        value = json.loads(record.value)
                        if value["tenant"] == pool.tenant and value["contact_id"].startswith("k-"):
                            decided[value["data"]["suggestion_id"]] += 1
        finally:
            await reader.stop()

    async def stream() -> None:
        for contact_id in contact_ids:
            received = contact_received(
                tenant=pool.tenant,
                contact_id=contact_id,
                concern={"code": "sales_inquiry", "confidence": 0.9},
                customer=customer(pool.tenant),
            )
            await producer.publish(received)
            await producer.publish(contact_assigned(contact_id, "ann", tenant=pool.tenant))
            await asyncio.sleep(0.02)

    for run in ("first", "second"):
        (tmp_path / run).mkdir()
    watching = asyncio.create_task(watch())
    try:
        async with running_service("upsell", env, port, tmp_path / "first") as first, pool.client(first.url) as admin:
            assert (await admin.put("/v1/offers/tv-plus", json=TV)).status_code == 201
            await consuming(producer, admin, pool.tenant)
            streaming = asyncio.create_task(stream())

            async def some_decided() -> bool:
                return len(decided) >= CONTACTS // 4

            await eventually(some_decided, within=60, what="a quarter of the contacts decided")
            first.process.kill()  # kill -9: no drain, no commit
            await first.process.wait()
        await streaming
        assert len(decided) < CONTACTS, "the crash came too late to test anything"
        async with running_service("upsell", env, port, tmp_path / "second") as second:

            async def all_decided() -> bool:
                return len(decided) == CONTACTS

            await eventually(all_decided, within=90, what=f"all {CONTACTS} contacts decided")
            await asyncio.sleep(2)  # anything decided twice would arrive by now
            await second.stop_gracefully()
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    assert len(decided) == CONTACTS
    assert max(decided.values()) == 1, [d for d, n in decided.items() if n > 1]
