"""A contact's way through the suite as it stands: REST into intake, `contact.received` through the real
broker, and into the records store, redacted all the way."""

import uuid

import httpx

from tests.integration.helpers import eventually, free_port, running_service, service_environment, until_consuming


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
