"""Intake through both doors against the real broker and MongoDB-wire server: one behaviour,
exactly-once contacts, clear errors, nothing lost."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio

from frontline.contracts import Topic, dlq_topic
from frontline.contracts.contacts import ContactSubmitted, ContactSubmittedData
from tests.integration.helpers import (
    end_offsets,
    eventually,
    free_port,
    read_until,
    running_service,
    service_environment,
    signed,
)
from tests.unit.factories import contact_received

RECEIVED = Topic.CONTACTS_RECEIVED.value
INBOUND = Topic.CONTACTS_INBOUND.value
SYSTEM = {"Authorization": "Bearer dev-acme-system"}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def intake(settings, producer, tmp_path_factory):
    port = free_port()
    env = service_environment(settings, port) | {
        "FRONTLINE_INTAKE_REPUBLISH_AFTER_SECONDS": "1",
        "FRONTLINE_INTAKE_REST_MAX_IN_FLIGHT": "100",
    }
    async with running_service("intake", env, port, tmp_path_factory.mktemp("intake")) as service:
        http = httpx.AsyncClient(base_url=service.url, timeout=10, headers=SYSTEM)
        async with http:
            yield http


def contact(**fields):
    unique = uuid.uuid4().hex[:8]
    return {
        "channel": "chat",
        "customer": {"email": f"{unique}@example.com"},
        "text": "My invoice is wrong, you charged me twice",
        "external_id": f"T-{unique}",
    } | fields


async def marker(http) -> str:
    """A contact submitted after the ones under test: its event arrives after theirs (one tenant, one partition)."""
    return (await http.post("/v1/contacts", json=contact())).json()["event_id"]


async def received_events(settings, start, http):
    last = await marker(http)
    return await read_until(settings.kafka_bootstrap_servers, start, lambda value: value["id"] == last)


CARD, IBAN = "4111 1111 1111 1111", "NL91 ABNA 0417 1643 00"


async def test_a_rest_contact_is_understood_and_published_once(intake, settings, db):
    start = await end_offsets(settings.kafka_bootstrap_servers, RECEIVED)
    text = f"You charged card {CARD} twice, refund to {IBAN} please"
    first = await intake.post(
        "/v1/contacts", json=contact(subject="Invoice", text=text), headers={"Idempotency-Key": "abc-1"}
    )
    again = await intake.post("/v1/contacts", json=contact(), headers={"Idempotency-Key": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    body = first.json()
    assert again.json() == body | {"duplicate": True}
    assert body["contact"]["concern"]["code"] == "billing"
    assert body["contact"]["required_skills"] == [{"skill": "billing", "min_proficiency": 2}]
    events = [e for e in await received_events(settings, start, intake) if e["contact_id"] == body["contact_id"]]
    assert [e["id"] for e in events] == [body["event_id"]]
    assert events[0]["type"] == "contact.received"
    assert events[0]["data"]["concern"]["code"] == "billing"
    assert events[0]["data"]["text"] == "You charged card [CARD] twice, refund to [IBAN] please"
    stored = await db.intake_contacts.find_one({"_id": body["contact_id"]})
    everything_kept = json.dumps(stored, default=str) + json.dumps(events[0]) + first.text
    assert "4111" not in everything_kept
    assert "ABNA" not in everything_kept


async def test_a_duplicate_storm_yields_one_contact_and_one_event(intake, settings, db):
    start = await end_offsets(settings.kafka_bootstrap_servers, RECEIVED)
    same = contact()
    answers = await asyncio.gather(*(intake.post("/v1/contacts", json=same) for _ in range(50)))
    assert sorted(a.status_code for a in answers) == [200] * 49 + [201]
    assert len({a.json()["contact_id"] for a in answers}) == 1
    contact_id = answers[0].json()["contact_id"]
    assert await db.intake_contacts.count_documents({"_id": contact_id}) == 1
    events = [e for e in await received_events(settings, start, intake) if e["contact_id"] == contact_id]
    assert len(events) == 1


async def test_the_same_contact_by_kafka_and_by_rest_is_one_contact(intake, settings, producer, db):
    data = ContactSubmittedData.model_validate(contact(channel="email"))
    submitted = ContactSubmitted.new(data=data, tenant="acme", source="crm", occurred_at=datetime.now(UTC))
    await producer.publish(submitted)
    await producer.publish(submitted)

    async def stored() -> bool:
        return await db.intake_contacts.count_documents({"event.data.external_id": data.external_id}) == 1

    await eventually(stored, within=90, what="the Kafka contact being stored")
    by_rest = await intake.post(
        "/v1/contacts", json=contact(channel="email", external_id=data.external_id, source="crm")
    )
    assert by_rest.status_code == 200
    stored_doc = await db.intake_contacts.find_one({"event.data.external_id": data.external_id})
    assert by_rest.json()["contact_id"] == stored_doc["_id"]
    assert stored_doc["event"]["causation_id"] == str(submitted.id)
    assert stored_doc["event"]["correlation_id"] == submitted.correlation_id


async def test_kafka_input_that_cannot_be_accepted_goes_to_the_dlq_and_the_door_stays_open(
    intake, settings, producer, db
):
    start = await end_offsets(settings.kafka_bootstrap_servers, dlq_topic(INBOUND))
    now = datetime.now(UTC)

    def submitted(**fields):
        return ContactSubmitted.new(
            data=ContactSubmittedData.model_validate(contact(**fields)), tenant="acme", source="crm", occurred_at=now
        ).to_json()

    future = json.loads(submitted())
    future["occurred_at"] = (now + timedelta(days=1)).isoformat()
    bad = [
        b"{oops",
        submitted(customer={"phone": "call me"}),
        json.dumps(future).encode(),
        contact_received().to_json(),
    ]
    for value in bad:
        headers = signed(settings, value) if value.startswith(b'{"') else None
        await producer.send_raw(INBOUND, value, key=b"acme", headers=headers)
    good = ContactSubmittedData.model_validate(contact())
    await producer.publish(ContactSubmitted.new(data=good, tenant="acme", source="crm", occurred_at=now))

    async def good_stored() -> bool:
        return await db.intake_contacts.count_documents({"event.data.external_id": good.external_id}) == 1

    await eventually(good_stored, within=90, what="the valid contact after the bad ones being stored")
    reasons = []

    def fourth(value):
        reasons.append(value["reason"])
        return len(reasons) == 4

    await read_until(settings.kafka_bootstrap_servers, start, fourth)
    # the door handles several messages at once, so their dead letters may arrive in any order
    assert sum(reason.startswith("not JSON") for reason in reasons) == 1
    assert "data.customer.phone: 'call me' is not a phone number" in reasons
    assert sum(r.startswith("occurred_at: 20") and r.endswith("is in the future") for r in reasons) == 1
    assert "contact.received events belong on frontline.contacts.received, not frontline.contacts.inbound" in reasons


async def test_a_batch_is_validated_whole_before_any_contact_is_accepted(intake, db):
    good, bad = contact(), contact(channel="pigeon")
    refused = await intake.post("/v1/contacts:batch", json={"contacts": [good, bad]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "contacts", 1, "channel"]
    assert await db.intake_contacts.count_documents({"event.data.external_id": good["external_id"]}) == 0
    too_many = await intake.post("/v1/contacts:batch", json={"contacts": [contact()] * 501})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "contacts"]
    accepted = await intake.post("/v1/contacts:batch", json={"contacts": [good, contact(), good]})
    assert accepted.status_code == 200
    results = accepted.json()["contacts"]
    assert [r["duplicate"] for r in results] == [False, False, True]
    assert results[0]["contact_id"] == results[2]["contact_id"]


async def test_a_domain_error_in_a_batch_names_the_item(intake):
    answer = await intake.post("/v1/contacts:batch", json={"contacts": [contact(customer={"phone": "call me"})]})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "contacts", 0, "customer", "phone"]


async def test_validation_errors_name_each_bad_field(intake):
    answer = await intake.post(
        "/v1/contacts",
        json={"channel": "email", "customer": {}, "text": "x" * 20_001, "occurred_at": "yesterday", "colour": "red"},
    )
    assert answer.status_code == 422
    locations = {tuple(problem["loc"]) for problem in answer.json()["detail"]}
    assert {("body", "customer"), ("body", "text"), ("body", "occurred_at"), ("body", "colour")} <= locations
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    answer = await intake.post("/v1/contacts", json=contact(occurred_at=future))
    assert answer.json()["detail"][0]["loc"] == ["body", "occurred_at"]


async def test_the_customer_is_found_by_any_identifier_and_their_profile_shapes_the_next_contact(intake):
    unique = uuid.uuid4().hex[:8]
    first = (
        await intake.post(
            "/v1/contacts", json=contact(customer={"email": f"Pia.{unique}@Example.com", "phone": "+358 40 123 4567"})
        )
    ).json()
    customer_id = first["contact"]["customer"]["customer_id"]
    assert first["contact"]["customer"]["new_customer"]
    by_email = await intake.get("/v1/customers", params={"email": f"pia.{unique}@example.COM"})
    assert by_email.json()["customer_id"] == customer_id
    assert by_email.json()["phones"] == ["+358401234567"]
    supervisor = {"Authorization": "Bearer dev-acme-supervisor"}
    patched = await intake.patch(
        f"/v1/customers/{customer_id}",
        headers=supervisor,
        json={"tier": "gold", "preferred_language": "fi", "reference": f"R-{unique}"},
    )
    assert patched.status_code == 200, patched.text
    assert (await intake.get("/v1/customers", params={"reference": f"R-{unique}"})).json()["tier"] == "gold"
    second = (
        await intake.post(
            "/v1/contacts",
            json=contact(customer={"reference": f"R-{unique}"}, text="Charged twice again on my invoice"),
        )
    ).json()
    assert second["contact"]["customer"] == first["contact"]["customer"] | {
        "tier": "gold",
        "preferred_language": "fi",
        "new_customer": False,
    }
    assert second["contact"]["repeat_contact"]
    assert "tier gold +15" in second["contact"]["priority_reasons"]


async def test_an_agent_may_not_edit_profiles_and_tenants_never_see_each_other(intake):
    created = (await intake.post("/v1/contacts", json=contact())).json()
    customer_id = created["contact"]["customer"]["customer_id"]
    agent = {"Authorization": "Bearer dev-acme-agent"}
    assert (await intake.patch(f"/v1/customers/{customer_id}", headers=agent, json={"tier": "x"})).status_code == 403
    globex = {"Authorization": "Bearer dev-globex-admin"}
    assert (await intake.get(f"/v1/customers/{customer_id}", headers=globex)).status_code == 404
    assert (await intake.get(f"/v1/contacts/{created['contact_id']}", headers=globex)).status_code == 404
    assert (await intake.get(f"/v1/contacts/{created['contact_id']}")).json()["contact_id"] == created["contact_id"]


async def test_a_tenant_taxonomy_changes_classification_and_versions_only_grow(intake):
    admin = {"Authorization": "Bearer dev-globex-admin"}
    current = (await intake.get("/v1/taxonomy", headers=admin)).json()
    mine = {
        "version": current["version"] + 1,
        "fallback": "general",
        "concerns": [
            {"code": "general", "label": "General", "skills": [{"skill": "general"}]},
            {
                "code": "solar",
                "label": "Solar panels",
                "skills": [{"skill": "solar", "min_proficiency": 3}],
                "keywords": {"en": ["solar", "panel"], "nl": ["zonnepane"]},
            },
        ],
    }
    assert (await intake.put("/v1/taxonomy", json=mine)).status_code == 403
    assert (await intake.put("/v1/taxonomy", headers=admin, json=mine)).status_code == 200
    assert (await intake.put("/v1/taxonomy", headers=admin, json=mine)).status_code == 409
    answer = await intake.post(
        "/v1/contacts",
        headers={"Authorization": "Bearer dev-globex-system"},
        json=contact(text="Mijn zonnepanelen leveren niets op"),
    )
    assert answer.json()["contact"]["concern"]["code"] == "solar"
    assert answer.json()["contact"]["required_skills"] == [{"skill": "solar", "min_proficiency": 3}]


async def test_beyond_its_capacity_the_rest_door_sheds_load_with_503_and_retry_after(settings, tmp_path):
    port = free_port()
    env = service_environment(settings, port) | {"FRONTLINE_INTAKE_REST_MAX_IN_FLIGHT": "1"}
    async with (
        running_service("intake", env, port, tmp_path) as service,
        httpx.AsyncClient(base_url=service.url, timeout=30, headers=SYSTEM) as http,
    ):
        answers = await asyncio.gather(*(http.post("/v1/contacts", json=contact()) for _ in range(20)))
    statuses = [answer.status_code for answer in answers]
    assert 201 in statuses
    shed = [answer for answer in answers if answer.status_code == 503]
    assert shed, statuses
    assert all(answer.headers["retry-after"] == "1" for answer in shed)
    assert set(statuses) <= {201, 503}


async def test_labelled_examples_are_uploaded_whole_kept_redacted_per_version_and_exported(intake):
    admin = {"Authorization": "Bearer dev-globex-admin"}
    before = (await intake.get("/v1/training-examples", headers=admin)).json()
    rows = [
        {"text": f"My card {CARD} never arrived", "intent": "card_arrival", "concern": "orders_delivery"},
        {"text": "Palauttakaa rahani", "intent": "request_refund", "language": "fi"},
        {"text": "返金してください", "concern": "returns_refunds"},
    ]
    jsonl = {"Content-Type": "application/jsonl"}
    body = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode()
    assert (await intake.post("/v1/training-examples", content=body, headers=jsonl)).status_code == 403

    created = await intake.post("/v1/training-examples", content=body, headers=admin | jsonl)
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    assert created.json() | {"stored_at": None} == {
        "version": version,
        "examples": 3,
        "intents": 2,
        "concerns": 2,
        "by": "dev-globex-admin",
        "stored_at": None,
        "documents": 1,
        "redacted": 1,
    }
    exported = await intake.get(f"/v1/training-examples/{version}", headers=admin)
    assert exported.headers["content-type"].startswith("application/jsonl")
    kept = [json.loads(line) for line in exported.text.splitlines()]
    assert kept == [{**rows[0], "text": "My card [CARD] never arrived"}, rows[1], rows[2]]

    bad = body + b'\n{"text": "no label at all"}'
    refused = await intake.post("/v1/training-examples", content=bad, headers=admin | jsonl)
    assert refused.status_code == 422
    assert "row 4: an example needs an intent or a concern" in refused.json()["detail"]

    words = " ".join(["waiting"] * 600)  # a body past the 4 MiB every other request is held to
    csv_body = "text,intent\n" + "".join(f"{words} {i},card_arrival\n" for i in range(1_200))
    assert len(csv_body) > 4 * 1024 * 1024
    large = await intake.post(
        "/v1/training-examples", content=csv_body.encode(), headers=admin | {"Content-Type": "text/csv"}
    )
    assert large.status_code == 201, large.text
    assert (large.json()["version"], large.json()["examples"], large.json()["documents"]) == (version + 1, 1_200, 2)
    too_large_elsewhere = await intake.post("/v1/contacts", content=csv_body.encode(), headers=admin)
    assert too_large_elsewhere.status_code == 413

    listed = (await intake.get("/v1/training-examples", headers=admin)).json()
    assert [s["version"] for s in listed] == [*(s["version"] for s in before), version, version + 1]
    other = {"Authorization": "Bearer dev-acme-admin"}  # another tenant: none of globex's sets
    assert all(s["by"] != "dev-globex-admin" for s in (await intake.get("/v1/training-examples", headers=other)).json())
    assert "Palauttakaa" not in (await intake.get(f"/v1/training-examples/{version}", headers=other)).text
    assert (await intake.get("/v1/training-examples/999999", headers=admin)).status_code == 404
