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
        running_service("records", records_env, records_port, tmp_path),
        running_service("intake", service_environment(settings, intake_port), intake_port, tmp_path) as intake,
        httpx.AsyncClient(base_url=intake.url, timeout=10, headers={"Authorization": "Bearer dev-acme-system"}) as http,
    ):
        await until_consuming(producer, db)
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
            return await db.records.count_documents({"contact_id": contact_id}) == 1

        await eventually(recorded, within=60, what="the contact reaching the records store")
        record = await db.records.find_one({"contact_id": contact_id})
        data = record["event"]["data"]
        assert (record["tenant"], record["type"], record["source"]) == ("acme", "contact.received", "intake")
        assert data["concern"]["code"] == "billing"
        assert data["language"]["code"] == "nl"
        assert data["text"] == "Mijn creditcard [CARD] is twee keer belast voor dezelfde factuur."


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
