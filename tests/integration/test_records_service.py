"""The records service as a real process on the real broker and store: every event recorded once and
in order, timelines and customer histories, each kind of tampering with the store found and located
by verify, checkpoints and proofs an outside party can check, KPIs equal to a hand-computed morning
(and still after a restart), erasure and purge that keep verification green, streamed exports, and
bad input answered 4xx or dead-lettered."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from frontline.contracts import Event, dlq_topic
from frontline.plumbing.auth import Role
from services.records.core.merkle import verify_consistency, verify_inclusion
from services.records.core.sealing import signature_valid
from services.records.core.tiles import HASH, WIDTH, tile_at
from services.records.store import tile_id
from tests.integration.helpers import (
    end_offsets,
    eventually,
    free_port,
    read_from,
    running_service,
    until_consuming,
)
from tests.integration.routing_helpers import Pool
from tests.unit.factories import contact_assigned, contact_completed, contact_received
from tests.unit.records.scenario import (
    EXPECTED_OCCUPANCY,
    EXPECTED_QUEUE_HOUR,
    EXPECTED_UPSELL_ACCEPTANCE,
    T0,
    morning,
)

DLQ = dlq_topic("frontline.contacts.received")


def story(tenant: str, contact_id: str, customer: str = "cust-1") -> list[Event]:
    """Received, assigned 5 s later, completed a minute after that."""
    events = [
        contact_received(tenant=tenant, contact_id=contact_id, customer={"customer_id": customer}),
        contact_assigned(contact_id, "ann", tenant=tenant),
        contact_completed(contact_id, "ann", tenant=tenant),
    ]
    return [
        e.model_copy(update={"occurred_at": e.occurred_at + timedelta(seconds=s)})
        for e, s in zip(events, (0, 5, 65), strict=True)
    ]


async def recorded(http: httpx.AsyncClient, contact_id: str, count: int, *, within: float = 60) -> list[dict]:
    """The contact's timeline once it holds `count` records."""
    items: list[dict] = []

    async def complete() -> bool:
        nonlocal items
        answer = await http.get(f"/v1/contacts/{contact_id}/timeline")
        items = answer.json()["items"] if answer.status_code == 200 else []
        return len(items) >= count

    await eventually(complete, within=within, what=f"{count} records of {contact_id}")
    return items


def environment(pool: Pool, settings, port: int, group: str) -> dict[str, str]:
    return pool.environment(settings, port, group=group) | {"FRONTLINE_RECORDS_CHECKPOINT_SECONDS": "0.1"}


async def test_recorded_once_in_order_verified_and_tampering_located(settings, producer, db, tmp_path):
    pool, port = Pool(), free_port()
    env = environment(pool, settings, port, f"test-{uuid.uuid4().hex[:8]}")
    async with running_service("records", env, port, tmp_path), pool.client(f"http://127.0.0.1:{port}") as http:
        await until_consuming(producer, http, pool.tenant)
        contacts = {kind: f"{kind}-{uuid.uuid4().hex[:6]}" for kind in ("intact", "edit", "delete", "forge", "swap")}
        dlq_start = await end_offsets(settings.kafka_bootstrap_servers, DLQ)
        for contact_id in contacts.values():
            events = story(pool.tenant, contact_id)
            for event in events:
                await producer.publish(event)
            await producer.publish(events[0])  # delivered twice
        await producer.send_raw("frontline.contacts.received", b'{"type": "contact.received"}', key=b"x")
        for contact_id in contacts.values():
            items = await recorded(http, contact_id, 3)
            assert [i["type"] for i in items] == ["contact.received", "contact.assigned", "contact.completed"]
            assert [i["seq"] for i in items] == [0, 1, 2]
        await asyncio.sleep(1)  # what else would come of the duplicates has had time to
        intact = await recorded(http, contacts["intact"], 3)
        assert len(intact) == 3, "a duplicate was recorded twice"
        assert intact[0]["event"]["data"]["text"] == "My invoice is wrong"
        letters = [json.loads(v) for v in await read_from(settings.kafka_bootstrap_servers, dlq_start, count=1)]
        assert "tenant: Field required" in letters[0]["reason"]

        for contact_id in contacts.values():
            check = (await http.get(f"/v1/verify/contacts/{contact_id}")).json()
            assert check["intact"], check
            assert check["records_checked"] == 3
        assert (await http.get("/v1/verify/customers/cust-1")).json()["intact"]
        assert (await http.get("/v1/verify/log")).json()["intact"]

        # tampering, straight in the database
        tenant = pool.tenant

        def rid(kind: str, seq: int) -> str:
            return f"{tenant}|contact:{contacts[kind]}|{seq:09d}"

        await db.records.update_one({"_id": rid("edit", 1)}, {"$set": {"entry.occurred_at": "2026-01-01T00:00:00Z"}})
        await db.records.delete_one({"_id": rid("delete", 1)})
        last = await db.records.find_one({"_id": rid("forge", 2)})
        forged = dict(last) | {"_id": rid("forge", 3)}
        forged["entry"] = last["entry"] | {"seq": 3, "event_id": str(uuid.uuid4()), "index": last["entry"]["index"] + 1}
        await db.records.insert_one(forged)
        first, second = (
            await db.records.find_one({"_id": rid("swap", 0)}),
            await db.records.find_one({"_id": rid("swap", 1)}),
        )
        await db.records.replace_one({"_id": rid("swap", 0)}, second | {"_id": rid("swap", 0)})
        await db.records.replace_one({"_id": rid("swap", 1)}, first | {"_id": rid("swap", 1)})

        async def findings(kind: str) -> set[tuple[str, int | None]]:
            check = (await http.get(f"/v1/verify/contacts/{contacts[kind]}")).json()
            assert not check["intact"], kind
            return {(f["problem"], f["seq"]) for f in check["findings"]}

        assert ("edited", 1) in await findings("edit")
        assert ("removed", 1) in await findings("delete")
        assert ("inserted", 3) in await findings("forge")
        swapped = await findings("swap")
        assert {p for p, _ in swapped} == {"edited", "removed"} or ("edited", 0) in swapped, swapped
        assert (await http.get(f"/v1/verify/contacts/{contacts['intact']}")).json()["intact"]
        whole = (await http.get("/v1/verify/log")).json()
        assert not whole["intact"]
        problems = {f["problem"] for f in whole["findings"]}
        assert {"edited", "removed", "inserted"} <= problems

        # a record edited together with its leaf: the signed head no longer contains it
        target = await db.records.find_one({"_id": f"{tenant}|contact:{contacts['intact']}|{1:09d}"})
        index = target["entry"]["index"]
        size = (await db.records_logs.find_one({"_id": tenant}))["size"]
        tile = {"_id": tile_id(tenant, tile_at(size, 0, index))}
        hashes = bytearray((await db.records_tiles.find_one(tile))["h"])
        hashes[(index % WIDTH) * HASH : (index % WIDTH + 1) * HASH] = bytes(HASH)
        await db.records_tiles.update_one(tile, {"$set": {"h": bytes(hashes)}})
        altered = (await http.get(f"/v1/verify/contacts/{contacts['intact']}")).json()
        assert not altered["intact"]
        assert {f["problem"] for f in altered["findings"]} & {"edited", "log_altered"}

        assert (await http.get("/v1/contacts/nobody/timeline")).status_code == 404
        bad = await http.get("/v1/contacts/x/timeline", params={"limit": 0})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["query", "limit"]
        as_agent = pool.client(f"http://127.0.0.1:{port}", Role.AGENT)
        async with as_agent:
            assert (await as_agent.get("/v1/verify/log")).status_code == 403


async def test_checkpoints_and_proofs_check_out_for_an_outside_party(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = environment(pool, settings, port, f"test-{uuid.uuid4().hex[:8]}")
    async with running_service("records", env, port, tmp_path), pool.client(f"http://127.0.0.1:{port}") as http:
        await until_consuming(producer, http, pool.tenant)
        old = (await http.get("/v1/checkpoints/latest")).json()
        contact_id = f"c-{uuid.uuid4().hex[:6]}"
        for event in story(pool.tenant, contact_id):
            await producer.publish(event)
        items = await recorded(http, contact_id, 3)
        new = (await http.get("/v1/checkpoints/latest")).json()
        key = bytes.fromhex(new["public_key"])
        for head in (old, new):
            signed = {k: head[k] for k in ("tenant", "size", "root", "at")}
            assert signature_valid(key, signed, bytes.fromhex(head["signature"]))
        forged = {k: new[k] for k in ("tenant", "size", "at")} | {"root": old["root"]}
        assert not signature_valid(key, forged, bytes.fromhex(new["signature"]))
        proof = (await http.get("/v1/proofs/consistency", params={"from": old["size"], "to": new["size"]})).json()
        assert verify_consistency(
            old["size"],
            new["size"],
            [bytes.fromhex(h) for h in proof["proof"]],
            bytes.fromhex(old["root"]),
            bytes.fromhex(new["root"]),
        )
        leaf_index = items[2]["index"]
        inclusion = (await http.get("/v1/proofs/inclusion", params={"index": leaf_index, "size": new["size"]})).json()
        assert inclusion["root"] == new["root"]
        path = [bytes.fromhex(h) for h in inclusion["proof"]]
        leaf, root = bytes.fromhex(inclusion["leaf"]), bytes.fromhex(new["root"])
        assert verify_inclusion(leaf, leaf_index, new["size"], path, root)
        assert not verify_inclusion(leaf, leaf_index - 1, new["size"], path, root)
        kept = (await http.get("/v1/checkpoints")).json()
        assert [h["size"] for h in kept] == sorted(h["size"] for h in kept)
        too_far = await http.get("/v1/proofs/consistency", params={"from": 1, "to": new["size"] + 5})
        assert too_far.status_code == 422
        assert "from, to" in too_far.json()["detail"]


async def test_kpis_match_the_hand_computed_morning_and_survive_a_restart(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = environment(pool, settings, port, f"test-{uuid.uuid4().hex[:8]}")
    start, end = T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()

    async def queue_hour(http: httpx.AsyncClient) -> dict[str, Any]:
        rows = (
            await http.get(
                "/v1/kpis",
                params={"dimension": "queue", "key": "billing", "start": start, "end": end, "bucket": "hour"},
            )
        ).json()
        return rows[0] if rows else {}

    async with running_service("records", env, port, tmp_path) as service, pool.client(service.url) as http:
        await until_consuming(producer, http, pool.tenant)
        events = morning(pool.tenant)
        for event in events:
            await producer.publish(event)

        async def all_in() -> bool:
            return (await queue_hour(http)).get("fcr") == pytest.approx(1 / 3)

        await eventually(all_in, within=60, what="the morning's KPIs")
        hour = await queue_hour(http)
        for name, expected in EXPECTED_QUEUE_HOUR.items():
            assert hour[name] == pytest.approx(expected), name
        assert hour["service_level_seconds"] == 20
        saved = await http.put("/v1/records/policy", json={"retention_days": 30, "service_levels": {"billing": 30}})
        assert saved.status_code == 200
        assert (await queue_hour(http))["service_level"] == pytest.approx(0.5)
        wrong = await http.put("/v1/records/policy", json={"retention_days": 30, "service_levels": {"billing": 25}})
        assert wrong.status_code == 422
        assert wrong.json()["detail"][0]["loc"] == ["body", "service_levels"]
        for agent, occupancy in EXPECTED_OCCUPANCY.items():
            dimension = "team" if agent == "red" else "agent"
            rows = (
                await http.get(
                    "/v1/kpis",
                    params={"dimension": dimension, "key": agent, "start": start, "end": end, "bucket": "day"},
                )
            ).json()
            assert rows[0]["occupancy"] == pytest.approx(occupancy), agent
        minutes = (
            await http.get("/v1/kpis", params={"dimension": "tenant", "start": start, "end": end, "bucket": "minute"})
        ).json()
        assert minutes[0]["start"].startswith("2026-11-02T10:00")
        assert minutes[0]["offered"] == 4
        quarters = (
            await http.get("/v1/kpis", params={"dimension": "tenant", "start": start, "end": end, "bucket": "quarter"})
        ).json()
        assert quarters[0]["start"].startswith("2026-11-02T10:00")
        first_quarter = [m for m in minutes if m["start"] < "2026-11-02T10:15"]
        for name in ("offered", "answered", "abandoned", "handled"):
            assert quarters[0][name] == sum(m[name] for m in first_quarter) > 0, name
        tenant_day = (await http.get("/v1/kpis", params={"start": start, "end": end, "bucket": "day"})).json()[0]
        assert tenant_day["upsell_acceptance"] == pytest.approx(EXPECTED_UPSELL_ACCEPTANCE)
        wide = await http.get("/v1/kpis", params={"start": start, "end": "2026-12-30T00:00:00Z", "bucket": "minute"})
        assert wide.status_code == 422
        definitions = (await http.get("/v1/kpis/definitions")).json()
        assert definitions["service_level_seconds"]["billing"] == 30
        await service.stop_gracefully()

    async with running_service("records", env, port, tmp_path) as service, pool.client(service.url) as http:
        assert await queue_hour(http) == hour | {"service_level": pytest.approx(0.5), "service_level_seconds": 30}
        again = morning(pool.tenant, prefix="again-")
        for event in again:
            await producer.publish(event)

        async def doubled() -> bool:
            return (await queue_hour(http)).get("offered") == 8

        await eventually(doubled, within=60, what="the second morning's KPIs")
        await asyncio.sleep(1)
        hour = await queue_hour(http)
        assert hour["offered"] == 8
        assert hour["asa"] == pytest.approx(140 / 3)


async def test_erasure_and_purge_keep_verification_green(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = environment(pool, settings, port, f"test-{uuid.uuid4().hex[:8]}")
    async with running_service("records", env, port, tmp_path) as service, pool.client(service.url) as http:
        await until_consuming(producer, http, pool.tenant)
        forget, keep, old, held = (f"{k}-{uuid.uuid4().hex[:6]}" for k in ("forget", "keep", "old", "held"))
        for event in [*story(pool.tenant, forget, "cust-forget"), *story(pool.tenant, keep, "cust-keep")]:
            await producer.publish(event)
        long_ago = datetime.now(UTC) - timedelta(days=40)
        for contact_id in (old, held):
            for event in story(pool.tenant, contact_id, f"cust-{contact_id}"):
                await producer.publish(event.model_copy(update={"occurred_at": long_ago}))
        for contact_id in (forget, keep, old, held):
            await recorded(http, contact_id, 3)

        erased = await http.post("/v1/customers/cust-forget/erasure", json={"reason": "gdpr_article_17"})
        assert erased.status_code == 202
        assert (await http.post("/v1/customers/cust-forget/erasure", json={})).status_code == 422

        async def withheld() -> bool:
            items = (await http.get(f"/v1/contacts/{forget}/timeline")).json()["items"]
            return all(i["withheld"] == "erased" and i["event"] is None for i in items)

        await eventually(withheld, within=30, what="the customer's payloads erased")
        kept = (await http.get(f"/v1/contacts/{keep}/timeline")).json()["items"]
        assert all(i["event"] is not None for i in kept)
        assert (await http.get("/v1/verify/customers/cust-forget")).json()["intact"]

        assert (await http.put(f"/v1/holds/contacts/{held}")).json()["contacts"] == [held]
        policy = await http.put("/v1/records/policy", json={"retention_days": 30})
        assert policy.status_code == 200
        purge = (await http.post("/v1/records/purge")).json()
        assert purge["records"] == 3
        assert purge["held"] == 3
        purged = (await http.get(f"/v1/contacts/{old}/timeline")).json()["items"]
        assert [i["withheld"] for i in purged] == ["purged"] * 3
        still = (await http.get(f"/v1/contacts/{held}/timeline")).json()["items"]
        assert all(i["event"] is not None for i in still)
        for contact_id in (forget, keep, old, held):
            assert (await http.get(f"/v1/verify/contacts/{contact_id}")).json()["intact"], contact_id

        async def both_requests_recorded() -> bool:
            check = (await http.get("/v1/verify/log")).json()
            assert check["intact"], check
            types = {
                i["type"] async for i in _exported(http, {"type": ["customer.erasure_requested", "records.purged"]})
            }
            return types == {"customer.erasure_requested", "records.purged"}

        await eventually(both_requests_recorded, within=30, what="the erasure and the purge in the log")

        export = await http.get("/v1/export", params={"format": "csv", "contact": [keep, old]})
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [r["subject"] for r in rows] == [f"contact:{keep}"] * 3 + [f"contact:{old}"] * 3
        assert json.loads(rows[0]["event"])["contact_id"] == keep
        assert rows[3]["withheld"] == "purged"
        lines = (await http.get("/v1/export", params={"customer": "cust-keep"})).text.splitlines()
        assert [json.loads(line)["type"] for line in lines] == [
            "contact.received",
            "contact.assigned",
            "contact.completed",
        ]


async def _exported(http: httpx.AsyncClient, params: dict[str, Any]):
    async with http.stream("GET", "/v1/export", params=params) as answer:
        async for line in answer.aiter_lines():
            if line:
                yield json.loads(line)
