"""The routing service as a real process on the real broker: a contact offered, rejected, re-routed,
accepted and completed by REST, explained on the way; bad requests answered 4xx or dead-lettered."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from frontline.contracts import dlq_topic
from frontline.plumbing.auth import Role
from tests.integration.helpers import ROOT, end_offsets, eventually, free_port, read_from, running_service
from tests.integration.routing_helpers import Pool, routing_of, staff
from tests.unit.factories import contact_received, state_requested

EXAMPLE = ROOT / "deploy/routing/pool.example.json"
BILLING = {"skills": [{"skill": "billing", "proficiency": 4}], "languages": ["en"]}
JUNIOR = {"skills": [{"skill": "billing", "proficiency": 2}], "languages": ["en"]}


async def test_a_contact_is_offered_rerouted_on_reject_assigned_and_completed(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = pool.environment(settings, port, group=f"test-{uuid.uuid4().hex[:8]}")
    async with running_service("routing", env, port, tmp_path) as service, pool.client(service.url) as admin:
        await staff(admin, {"ann": BILLING, "bob": JUNIOR})
        contact = contact_received(tenant=pool.tenant, contact_id=f"c-{uuid.uuid4().hex[:8]}", channel="voice")
        await producer.publish(contact)
        contact_id = contact.contact_id

        async def offered_to(agent_id: str) -> dict[str, Any]:
            seen: dict[str, Any] = {}

            async def offered() -> bool:
                seen.update(await routing_of(admin, contact_id) or {})
                return seen.get("stage") == "offered" and seen.get("agent_id") == agent_id

            await eventually(offered, within=30, what=f"{contact_id} offered to {agent_id}")
            return seen

        first = await offered_to("ann")
        assert first["decisions"][0]["chosen"]["agent_id"] == "ann"
        assert [c["agent_id"] for c in first["decisions"][0]["candidates"]] == ["ann", "bob"], first["decisions"]

        async with (
            pool.client(service.url, Role.AGENT, agent="ann") as ann,
            pool.client(service.url, Role.AGENT, agent="bob") as bob,
        ):
            wrong = await bob.post(f"/v1/offers/{first['offer_id']}/accept", json={"agent_id": "bob"})
            assert wrong.status_code == 409
            assert "another agent" in wrong.json()["detail"]
            impersonated = await bob.post(f"/v1/offers/{first['offer_id']}/reject", json={"agent_id": "ann"})
            assert impersonated.status_code == 403
            assert "bound to agent 'bob'" in impersonated.json()["detail"]
            assert (await bob.post("/v1/agents/ann/state", json={"state": "offline"})).status_code == 403
            rejected = await ann.post(f"/v1/offers/{first['offer_id']}/reject", json={"agent_id": "ann"})
            assert rejected.status_code == 202
            second = await offered_to("bob")
            accepted = await bob.post(f"/v1/offers/{second['offer_id']}/accept", json={"agent_id": "bob"})
            assert accepted.status_code == 202

            async def assigned() -> bool:
                return (await routing_of(admin, contact_id) or {}).get("stage") == "assigned"

            await eventually(assigned, within=30, what="the contact assigned")
            done = await bob.post(
                f"/v1/contacts/{contact_id}/complete", json={"agent_id": "bob", "disposition": "invoice_corrected"}
            )
            assert done.status_code == 202

        async def completed() -> bool:
            bob = (await admin.get("/v1/agents/bob")).json()
            return await routing_of(admin, contact_id) is None and bob["state"] == "wrap_up"

        await eventually(completed, within=30, what="the contact completed and bob in wrap-up")
        stats = (await admin.get("/v1/queues/general/stats")).json()
        assert stats["waiting"] == 0
        assert stats["agents_by_skill"] == {}
        await service.stop_gracefully()


async def test_bad_requests_get_a_clear_4xx_and_bad_events_a_dead_letter(settings, producer, tmp_path):
    pool, port = Pool(), free_port()
    env = pool.environment(settings, port, group=f"test-{uuid.uuid4().hex[:8]}")
    async with running_service("routing", env, port, tmp_path) as service, pool.client(service.url) as admin:
        await staff(admin, {"ann": BILLING})

        too_skilled = await admin.put("/v1/agents/zed", json={"skills": [{"skill": "billing", "proficiency": 9}]})
        assert too_skilled.status_code == 422
        assert too_skilled.json()["detail"][0]["loc"] == ["body", "skills", 0, "proficiency"]
        nowhere = await admin.put("/v1/queues/vip", json={"overflow": {"to_queue": "nowhere", "after_seconds": 30}})
        assert nowhere.status_code == 422
        assert nowhere.json()["detail"][0]["loc"] == ["body", "overflow", "to_queue"]
        bad_steps = await admin.put("/v1/queues/vip", json={"steps": [{"after_seconds": 10}]})
        assert bad_steps.status_code == 422
        assert "first step starts at after_seconds 0" in bad_steps.text
        assert (await admin.post("/v1/agents/zed/state", json={"state": "available"})).status_code == 404
        async with pool.client(service.url, Role.AGENT, agent="ann") as desk:
            assert (await desk.post("/v1/offers/o-1/accept", json={"agent_id": "ann"})).status_code == 409
            done = await desk.post("/v1/contacts/c-x/complete", json={"agent_id": "ann", "disposition": "x"})
            assert done.status_code == 404
            assert (await desk.put("/v1/queues/vip", json={})).status_code == 403

        dlq = dlq_topic("frontline.agents.events")
        start = await end_offsets(settings.kafka_bootstrap_servers, dlq)
        await producer.publish(state_requested("nobody", tenant=pool.tenant))
        letters = [json.loads(v) for v in await read_from(settings.kafka_bootstrap_servers, start, count=1, within=30)]
        assert [letter["reason"] for letter in letters] == ["agent 'nobody' is not in this routing pool"]


async def test_a_pool_bootstrapped_from_the_example_file_shows_its_queues_and_agents(settings, tmp_path):
    pool, port = Pool(), free_port()
    env = pool.environment(settings, port, group=f"test-{uuid.uuid4().hex[:8]}")
    async with running_service("routing", env, port, tmp_path) as service, pool.client(service.url) as admin:
        await staff(admin, {"probe": {}})  # the worker consumes from here on
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.routing.bootstrap", "--tenant", pool.tenant, str(EXAMPLE), env=env
        )
        assert await done.wait() == 0

        async def loaded() -> bool:
            queues = {q["policy"]["queue"]: q["policy_version"] for q in (await admin.get("/v1/queues")).json()}
            agents = {a["profile"]["agent_id"]: a["state"] for a in (await admin.get("/v1/agents")).json()}
            return queues == {"billing": 1, "technical": 1, "general": 1} and agents.get("sofia") == "available"

        await eventually(loaded, within=30, what="the example pool loaded")
        stats = (await admin.get("/v1/queues/billing/stats")).json()
        assert stats["staffed_agents"] == 3
