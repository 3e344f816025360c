"""Records killed with kill -9 while events stream in (some delivered twice), then restarted: every
event is recorded exactly once and in order, the log verifies, and the KPIs count each contact once —
real processes on the real broker and store."""

from __future__ import annotations

import asyncio
import uuid

from tests.integration.helpers import eventually, free_port, running_service, until_consuming
from tests.integration.routing_helpers import Pool
from tests.integration.test_records_service import environment, story

CONTACTS = 150


async def test_a_crash_mid_stream_loses_no_record_and_doubles_none(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = environment(pool, settings, port, f"test-{uuid.uuid4().hex[:8]}") | {"FRONTLINE_RECORDS_MAX_BATCH": "50"}
    contact_ids = [f"k-{uuid.uuid4().hex[:10]}" for _ in range(CONTACTS)]

    async def stream() -> None:
        for n, contact_id in enumerate(contact_ids):
            events = story(pool.tenant, contact_id, customer=f"cust-{n % 20}")
            for event in events:
                await producer.publish(event)
            if n % 3 == 0:
                await producer.publish(events[1])  # a producer's retry: the same event again
            await asyncio.sleep(0.01)

    async def size(http) -> int:
        answer = await http.get("/v1/checkpoints/latest")
        return answer.json()["size"] if answer.status_code == 200 else 0

    for run in ("first", "second"):
        (tmp_path / run).mkdir()
    async with running_service("records", env, port, tmp_path / "first") as first, pool.client(first.url) as http:
        await until_consuming(producer, http, pool.tenant)
        before = await size(http)
        streaming = asyncio.create_task(stream())

        async def some_recorded() -> bool:
            return await size(http) >= before + CONTACTS * 3 // 4

        await eventually(some_recorded, within=60, what="a quarter of the events recorded")
        first.process.kill()  # kill -9: no drain, no commit
        await first.process.wait()
    await streaming
    expected = before + CONTACTS * 3
    async with running_service("records", env, port, tmp_path / "second") as second, pool.client(second.url) as http:

        async def all_recorded() -> bool:
            return await size(http) >= expected

        await eventually(all_recorded, within=90, what=f"all {CONTACTS * 3} events recorded")
        await asyncio.sleep(2)  # anything recorded twice would be by now
        assert await size(http) == expected
        for contact_id in contact_ids:
            items = (await http.get(f"/v1/contacts/{contact_id}/timeline")).json()["items"]
            assert [i["type"] for i in items] == ["contact.received", "contact.assigned", "contact.completed"]
        check = (await http.get("/v1/verify/log")).json()
        assert check["intact"], check["findings"][:5]
        assert check["records_checked"] == expected
        day = {"start": "2026-11-22T00:00:00Z", "end": "2026-11-23T00:00:00Z", "bucket": "day"}
        [kpis] = (await http.get("/v1/kpis", params=day)).json()  # the factories' events happen that day
        assert kpis["handled"] == CONTACTS
        await second.stop_gracefully()
