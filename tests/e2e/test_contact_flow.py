"""A contact's way through the suite as it stands: REST into intake, `contact.received` through the real
broker, into the records store redacted all the way, and to the agent routing picks."""

import uuid

import httpx

from frontline.plumbing.auth import Role
from tests.integration.helpers import eventually, free_port, running_service, service_environment, until_consuming
from tests.integration.routing_helpers import Pool, routing_of, staff


async def test_a_contact_submitted_to_intake_is_recorded_redacted(settings, producer, db, tmp_path):
    intake_port, records_port = free_port(), free_port()
    records_env = service_environment(settings, records_port) | {
        "FRONTLINE_KAFKA_GROUP_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}",
        "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
    }
    async with (
        running_service("records", records_env, records_port, tmp_path) as records_service,
        running_service("intake", service_environment(settings, intake_port), intake_port, tmp_path) as intake,
        httpx.AsyncClient(base_url=intake.url, timeout=10, headers={"Authorization": "Bearer dev-acme-system"}) as http,
        httpx.AsyncClient(
            base_url=records_service.url, timeout=10, headers={"Authorization": "Bearer dev-acme-supervisor"}
        ) as records,
    ):
        await until_consuming(producer, records)
        answer = await http.post(
            "/v1/contacts",
            json={
                "channel": "web_form",
                "customer": {"reference": f"G-{uuid.uuid4().hex[:6]}"},
                "subject": "Dubbele afschrijving",
                "text": "Mijn creditcard 5500 0000 0000 0004 is twee keer belast voor dezelfde factuur.",
            },
        )
        assert answer.status_code == 201, answer.text
        contact_id = answer.json()["contact_id"]

        async def recorded() -> bool:
            return (await records.get(f"/v1/contacts/{contact_id}/timeline")).status_code == 200

        await eventually(recorded, within=60, what="the contact reaching the records store")
        [item] = (await records.get(f"/v1/contacts/{contact_id}/timeline")).json()["items"]
        event = item["event"]
        assert (event["tenant"], event["type"], event["source"]) == ("acme", "contact.received", "intake")
        assert event["data"]["concern"]["code"] == "billing"
        assert event["data"]["language"]["code"] == "nl"
        assert event["data"]["text"] == "Mijn creditcard [CARD] is twee keer belast voor dezelfde factuur."
        stored = await db.records.find_one({"_id": f"acme|contact:{contact_id}|{0:09d}"})
        assert "payload" not in stored, "a customer's contact is stored sealed with the customer's key"
        assert b"afschrijving" not in bytes(stored["sealed"])
        assert (await records.get(f"/v1/verify/contacts/{contact_id}")).json()["intact"]


async def test_a_contact_submitted_to_intake_is_offered_to_the_agent_who_fits_and_explained(settings, tmp_path):
    """Intake understands a Dutch billing complaint; routing offers it to the Dutch-speaking billing
    agent rather than the German-speaking one, and says why."""
    pool, intake_port, routing_port = Pool(), free_port(), free_port()
    routing_env = pool.environment(settings, routing_port, group=f"e2e-{uuid.uuid4().hex[:8]}")
    intake_env = service_environment(settings, intake_port) | {"FRONTLINE_API_KEYS": routing_env["FRONTLINE_API_KEYS"]}
    async with (
        running_service("routing", routing_env, routing_port, tmp_path) as routing,
        running_service("intake", intake_env, intake_port, tmp_path) as intake,
        pool.client(routing.url) as admin,
        pool.client(intake.url, Role.SYSTEM) as channel,
    ):
        billing = [{"skill": "billing", "proficiency": 4}]
        await staff(
            admin, {"anke": {"skills": billing, "languages": ["nl"]}, "jens": {"skills": billing, "languages": ["de"]}}
        )
        answer = await channel.post(
            "/v1/contacts",
            json={
                "channel": "chat",
                "customer": {"email": f"klant-{uuid.uuid4().hex[:6]}@example.nl"},
                "text": "Mijn factuur is twee keer afgeschreven, ik wil mijn geld terug.",
            },
        )
        assert answer.status_code == 201, answer.text
        contact_id = answer.json()["contact_id"]
        seen: dict = {}

        async def offered() -> bool:
            seen.update(await routing_of(admin, contact_id) or {})
            return seen.get("stage") == "offered"

        await eventually(offered, within=60, what="routing offering the contact")
        assert seen["agent_id"] == "anke"
        [decision] = seen["decisions"]
        assert decision["chosen"]["agent_id"] == "anke"
        assert {"agent_id": "jens", "reason": "does not speak nl"} in decision["excluded"]


async def test_an_interested_customer_gets_a_suggestion_once_they_consent(settings, tmp_path):
    """Intake understands a sales inquiry, routing assigns it to the sales agent, and upsell decides:
    no suggestion while the customer has not consented to marketing, an offer in their language once
    they have."""
    pool, ports = Pool(), {name: free_port() for name in ("intake", "routing", "upsell")}
    routing_env = pool.environment(settings, ports["routing"], group=f"e2e-{uuid.uuid4().hex[:8]}")
    keys = {"FRONTLINE_API_KEYS": routing_env["FRONTLINE_API_KEYS"]}
    upsell_env = pool.environment(settings, ports["upsell"], group=routing_env["FRONTLINE_KAFKA_GROUP_PREFIX"])
    intake_env = service_environment(settings, ports["intake"]) | keys
    async with (
        running_service("routing", routing_env, ports["routing"], tmp_path) as routing,
        running_service("upsell", upsell_env, ports["upsell"], tmp_path) as upsell,
        running_service("intake", intake_env, ports["intake"], tmp_path) as intake,
        pool.client(routing.url) as routing_admin,
        pool.client(upsell.url) as upsell_admin,
        pool.client(intake.url) as intake_admin,
        pool.client(routing.url, Role.AGENT, agent="sara") as desk,
    ):
        await staff(routing_admin, {"sara": {"skills": [{"skill": "sales", "proficiency": 4}], "languages": []}})
        offer = {"product": "fibre-1000", "concerns": ["sales_inquiry"], "value": 30, "scripts": {"en": "Fibre?"}}
        assert (await upsell_admin.put("/v1/offers/fibre", json=offer)).status_code == 201
        email = f"koper-{uuid.uuid4().hex[:6]}@example.com"

        async def decided_after_assignment() -> dict:
            answer = await intake_admin.post(
                "/v1/contacts",
                json={"channel": "chat", "customer": {"email": email}, "text": "How much does the faster plan cost?"},
            )
            assert answer.status_code == 201, answer.text
            contact_id = answer.json()["contact_id"]
            customer_id = answer.json()["contact"]["customer"]["customer_id"]
            assert answer.json()["contact"]["concern"]["code"] == "sales_inquiry"
            seen: dict = {}

            async def offered() -> bool:
                seen.update(await routing_of(routing_admin, contact_id) or {})
                return seen.get("stage") == "offered"

            await eventually(offered, within=60, what="routing offering the contact")
            accepted = await desk.post(f"/v1/offers/{seen['offer_id']}/accept", json={"agent_id": "sara"})
            assert accepted.status_code == 202
            decisions: list = []

            async def decided() -> bool:
                decisions[:] = (await upsell_admin.get(f"/v1/contacts/{contact_id}/decisions")).json()
                return bool(decisions)

            await eventually(decided, within=60, what="upsell deciding on the assigned contact")
            done = await desk.post(
                f"/v1/contacts/{contact_id}/complete", json={"agent_id": "sara", "disposition": "quoted"}
            )
            assert done.status_code == 202
            return decisions[0] | {"customer_id": customer_id}

        first = await decided_after_assignment()
        assert (first["shown"], first["agent_id"]) == (False, "sara")
        assert "no_consent" in first["reasons"]
        consent = await intake_admin.patch(f"/v1/customers/{first['customer_id']}", json={"marketing_consent": True})
        assert consent.status_code == 200, consent.text
        second = await decided_after_assignment()
        if "control_group" in second["reasons"]:
            assert second["held_out"], "a control-group customer's withheld offer is logged"
        else:
            assert (second["shown"], second["offer_id"], second["moment"]) == (True, "fibre", "assigned")
