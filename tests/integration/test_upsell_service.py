"""The upsell service as a real process on the real broker and store: a catalog edited with versions,
a suggestion in the customer's language when an interested customer's contact is assigned, none for
an angry one, outcomes counted once, performance and the decision log over REST; bad input answered
4xx or dead-lettered."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from frontline.contracts import dlq_topic
from frontline.contracts.upsell import OutcomeData, OutcomeKind, SuggestionAnswered
from frontline.plumbing.auth import Role
from services.upsell.core.gates import in_control_group
from tests.integration.helpers import end_offsets, eventually, free_port, read_from, read_until, running_service
from tests.integration.routing_helpers import Pool
from tests.unit.factories import contact_assigned, contact_received

SUGGESTIONS = "frontline.upsell.suggestions"
TV = {
    "product": "tv",
    "concerns": ["sales_inquiry", "billing"],
    "value": 20,
    "scripts": {"en": "Would you like our TV package?", "nl": "Wilt u ons tv-pakket?"},
}


def customer(tenant: str, *, in_control: bool = False, **fields: Any) -> dict[str, Any]:
    """A consenting customer who is (or is not) in the 5% control group."""
    while True:
        customer_id = f"cust-{uuid.uuid4().hex[:8]}"
        if in_control_group(tenant, customer_id, 5) == in_control:
            return {"customer_id": customer_id, "tier": "gold", "marketing_consent": True} | fields


async def consuming(producer, http: httpx.AsyncClient, tenant: str) -> None:
    """The worker's group starts at the end of the topics: send interested contacts until one is decided on."""

    async def one_decided() -> bool:
        contact_id = f"probe-{uuid.uuid4().hex[:8]}"
        received = contact_received(
            tenant=tenant,
            contact_id=contact_id,
            concern={"code": "sales_inquiry", "confidence": 0.9},
            customer=customer(tenant),
        )
        await producer.publish(received)
        await producer.publish(contact_assigned(contact_id, "ann", tenant=tenant))
        for _ in range(10):
            if (await http.get(f"/v1/contacts/{contact_id}/decisions")).json():
                return True
            await asyncio.sleep(0.3)
        return False

    await eventually(one_decided, within=60, what="the upsell worker deciding")


async def test_catalog_suggestions_outcomes_and_performance(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = pool.environment(settings, port, group=f"test-{uuid.uuid4().hex[:8]}") | {
        "FRONTLINE_UPSELL_FREQUENCY_CAP_DAYS": "0"
    }
    async with running_service("upsell", env, port, tmp_path) as service, pool.client(service.url) as admin:
        created = await admin.put("/v1/offers/tv-plus", json=TV, headers={"If-Match": "0"})
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1
        edited = await admin.put("/v1/offers/tv-plus", json=TV | {"value": 25}, headers={"If-Match": '"1"'})
        assert edited.status_code == 200
        assert edited.json()["version"] == 2
        stale = await admin.put("/v1/offers/tv-plus", json=TV, headers={"If-Match": "1"})
        assert stale.status_code == 412
        assert "version 2" in stale.json()["detail"]
        no_english = await admin.put("/v1/offers/radio", json=TV | {"scripts": {"nl": "Radio?"}})
        assert no_english.status_code == 422
        assert "English script" in no_english.text
        negative = await admin.put("/v1/offers/radio", json=TV | {"value": -1})
        assert negative.status_code == 422
        assert negative.json()["detail"][0]["loc"] == ["body", "value"]
        versions = (await admin.get("/v1/offers/tv-plus/versions")).json()
        assert [v["offer"]["value"] for v in versions] == [20, 25]
        assert (await admin.get("/v1/offers/nothing")).status_code == 404

        await consuming(producer, admin, pool.tenant)
        start = await end_offsets(settings.kafka_bootstrap_servers, SUGGESTIONS)
        dutch = contact_received(
            tenant=pool.tenant,
            contact_id=f"c-{uuid.uuid4().hex[:8]}",
            concern={"code": "sales_inquiry", "confidence": 0.9},
            language={"code": "nl", "confidence": 0.9, "method": "detected"},
            customer=customer(pool.tenant),
        )
        angry = contact_received(
            tenant=pool.tenant,
            contact_id=f"c-{uuid.uuid4().hex[:8]}",
            concern={"code": "sales_inquiry", "confidence": 0.9},
            sentiment={"score": -0.9, "angry": True},
            customer=customer(pool.tenant),
        )
        # the assignment read before its contact waits for it
        await producer.publish(contact_assigned(dutch.contact_id, "ann", tenant=pool.tenant))
        await producer.publish(dutch)
        await producer.publish(angry)
        await producer.publish(contact_assigned(angry.contact_id, "bob", tenant=pool.tenant))

        seen: dict[str, dict[str, Any]] = {}

        def both(value: dict[str, Any]) -> bool:
            if value["contact_id"] in (dutch.contact_id, angry.contact_id):
                seen[value["contact_id"]] = value
            return len(seen) == 2

        await read_until(settings.kafka_bootstrap_servers, start, both)
        suggestion = seen[dutch.contact_id]
        assert suggestion["type"] == "offer.suggested"
        assert suggestion["data"]["script"] == "Wilt u ons tv-pakket?"
        assert suggestion["data"]["language"] == "nl"
        assert suggestion["data"]["offer_version"] == 2
        assert suggestion["data"]["reasons"][0] == "interest:sales_inquiry"
        assert 0 < suggestion["data"]["choice_probability"] <= 1
        assert seen[angry.contact_id]["type"] == "upsell.no_suggestion"
        assert "angry_customer" in seen[angry.contact_id]["data"]["reasons"]

        suggestion_id = suggestion["data"]["suggestion_id"]

        # a billing question is no moment for selling, until the agent marks the customer's interest
        billing = contact_received(
            tenant=pool.tenant, contact_id=f"c-{uuid.uuid4().hex[:8]}", customer=customer(pool.tenant)
        )
        start = await end_offsets(settings.kafka_bootstrap_servers, SUGGESTIONS)
        await producer.publish(billing)
        await producer.publish(contact_assigned(billing.contact_id, "cid", tenant=pool.tenant))
        first = await read_until(
            settings.kafka_bootstrap_servers, start, lambda v: v["contact_id"] == billing.contact_id
        )
        assert first[-1]["type"] == "upsell.no_suggestion"
        assert first[-1]["data"]["reasons"] == ["not_the_moment"]
        start = await end_offsets(settings.kafka_bootstrap_servers, SUGGESTIONS)
        async with pool.client(service.url, Role.AGENT, agent="cid") as desk:
            marked = await desk.post(f"/v1/contacts/{billing.contact_id}/interest", json={"agent_id": "cid"})
            assert marked.status_code == 202
        then = await read_until(
            settings.kafka_bootstrap_servers, start, lambda v: v["contact_id"] == billing.contact_id
        )
        assert then[-1]["type"] == "offer.suggested"
        assert (then[-1]["data"]["moment"], then[-1]["data"]["reasons"][0]) == ("interest", "interest_marked")
        async with pool.client(service.url, Role.AGENT, agent="ann") as desk:
            log = (await desk.get(f"/v1/contacts/{dutch.contact_id}/decisions")).json()
            assert [(d["decision_id"], d["shown"], d["offer_id"]) for d in log] == [(suggestion_id, True, "tv-plus")]
            body = {"outcome": "accepted", "revenue": 25}
            assert (await desk.post(f"/v1/suggestions/{suggestion_id}/outcome", json=body)).status_code == 202
            assert (await desk.post(f"/v1/suggestions/{suggestion_id}/outcome", json=body)).status_code == 202

            async def counted() -> bool:
                result = (await desk.get("/v1/offers/tv-plus/performance")).json()
                return result["accepted"] == 1

            await eventually(counted, within=30, what="the outcome counted")
            contradicting = await desk.post(f"/v1/suggestions/{suggestion_id}/outcome", json={"outcome": "declined"})
            assert contradicting.status_code == 409
            unknown = await desk.post("/v1/suggestions/nope/outcome", json=body)
            assert unknown.status_code == 404
            bad = await desk.post(f"/v1/suggestions/{suggestion_id}/outcome", json={"outcome": "maybe"})
            assert bad.status_code == 422
            assert bad.json()["detail"][0]["loc"] == ["body", "outcome"]
            assert (await desk.put("/v1/offers/x", json=TV)).status_code == 403

        performance = (await admin.get("/v1/offers/tv-plus/performance")).json()
        assert performance["accepted"] == 1, "an outcome sent twice counts once"
        assert performance["revenue"] == 25
        # one acceptance of one answer: the Beta(2, 1) posterior's 95% interval is [0.158, 0.987]
        interval = performance["acceptance_interval"]
        assert (round(interval["low"], 3), round(interval["high"], 3)) == (0.158, 0.987)

        evaluation = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.upsell.evaluate",
            "--tenant",
            pool.tenant,
            "--policy",
            "logged",
            "--policy",
            "offer:tv-plus",
            env=env | {"COLUMNS": "200"},
            stdout=asyncio.subprocess.PIPE,
        )
        output = (await evaluation.communicate())[0].decode()
        assert evaluation.returncode == 0, output
        rows = {line.split("│")[1].strip(): line for line in output.splitlines() if line.count("│") > 4}
        # the one answered suggestion was accepted: the logged policy's IPS is its observed rate
        assert "│ 1 " in rows["logged"], output
        assert "1.0000" in rows["logged"], output
        assert "offer:tv-plus" in rows, output

        dlq = dlq_topic("frontline.upsell.outcomes")
        letters_start = await end_offsets(settings.kafka_bootstrap_servers, dlq)
        stray = SuggestionAnswered.new(
            data=OutcomeData(
                suggestion_id="never-made", offer_id="tv-plus", customer_id="x", outcome=OutcomeKind.ACCEPTED
            ),
            tenant=pool.tenant,
            source="test",
            occurred_at=datetime.now(UTC),
            contact_id="c-stray",
        )
        await producer.publish(stray)
        await producer.send_raw("frontline.upsell.outcomes", b"{not json", key=pool.tenant.encode())
        values = await read_from(settings.kafka_bootstrap_servers, letters_start, count=2, within=30)
        reasons = sorted(json.loads(v)["reason"] for v in values)
        assert reasons[1] == "unknown suggestion 'never-made'"
        assert reasons[0].startswith("not JSON")
        await service.stop_gracefully()
