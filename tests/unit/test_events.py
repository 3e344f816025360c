from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from frontline.contracts import REGISTRY, TOPICS, ContractViolation, Topic, dlq_topic, parse_event, spec_for
from frontline.contracts.contacts import (
    Channel,
    ContactReceived,
    ContactSubmitted,
    ContactSubmittedData,
    CustomerIdentifiers,
)
from tests.unit.factories import contact_received

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def submitted(**data: object) -> ContactSubmitted:
    fields = {"channel": "email", "customer": {"email": "anna@example.com"}, "text": "Hello"} | data
    return ContactSubmitted.new(
        data=ContactSubmittedData.model_validate(fields), tenant="acme", source="crm", occurred_at=NOW
    )


def test_an_event_survives_its_json_round_trip_unchanged():
    event = submitted(external_id="T-1", subject="Invoice")
    assert parse_event(event.to_json()) == event


def test_envelope_times_are_stored_in_utc():
    event = ContactSubmitted.new(
        data=submitted().data,
        tenant="acme",
        source="crm",
        occurred_at=datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
    )
    assert event.occurred_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert event.to_json().decode().count('"occurred_at":"2026-01-01T10:00:00Z"') == 1


def test_a_first_event_correlates_by_its_contact_and_a_follow_up_keeps_the_story():
    first = submitted()
    assert first.correlation_id == str(first.id)
    follow = first.caused(
        ContactReceived, data=contact_received().data, source="intake", occurred_at=NOW, contact_id="c-1"
    )
    assert (follow.tenant, follow.correlation_id, follow.causation_id, follow.contact_id) == (
        "acme",
        first.correlation_id,
        str(first.id),
        "c-1",
    )
    assert follow.type == "contact.received"


def test_naive_timestamps_are_refused():
    raw = submitted().model_dump(mode="json") | {"occurred_at": "2026-11-22T10:15:00"}
    with pytest.raises(ContractViolation, match="occurred_at"):
        parse_event(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"id": "x"}', "missing field 'type'"),
        (b'{"type": "contact.teleported"}', "unknown event type 'contact.teleported'"),
    ],
)
def test_malformed_messages_are_refused_with_the_reason(raw, reason):
    with pytest.raises(ContractViolation, match=reason):
        parse_event(raw)


def test_every_bad_field_is_named():
    raw = submitted().model_dump(mode="json")
    raw["tenant"] = "Not A Tenant!"
    raw["data"] |= {"channel": "pigeon", "customer": {"name": "Anna"}}
    with pytest.raises(ContractViolation) as refused:
        parse_event(raw)
    assert "tenant:" in refused.value.reason
    assert "data.channel:" in refused.value.reason
    assert "customer needs at least one of reference, email or phone" in refused.value.reason


def test_a_customer_needs_an_identifier():
    with pytest.raises(ValueError, match="at least one"):
        CustomerIdentifiers(name="Anna")
    assert CustomerIdentifiers(phone="+358401234567").phone == "+358401234567"


def test_unknown_fields_from_a_newer_producer_are_ignored():
    raw = submitted().model_dump(mode="json")
    raw["data"]["mood_ring"] = "blue"
    raw["hops"] = 3
    assert parse_event(raw).data.channel is Channel.EMAIL


def test_events_are_immutable():
    event = submitted()
    with pytest.raises(ValueError, match="frozen"):
        event.tenant = "globex"


def test_the_registry_routes_each_type_to_its_topic_and_key():
    inbound = submitted(external_id="T-9")
    assert spec_for("contact.submitted").topic is Topic.CONTACTS_INBOUND
    assert spec_for("contact.submitted").key(inbound) == "T-9"
    received = contact_received()
    assert spec_for("contact.received").key(received) == "acme"


def test_an_event_without_an_external_id_is_keyed_by_its_own_id():
    event = submitted()
    assert spec_for("contact.submitted").key(event) == str(event.id)


def test_every_registered_type_has_a_known_topic_and_matching_type_field():
    for event_type, spec in REGISTRY.items():
        assert spec.topic in TOPICS
        assert spec.model.model_fields["type"].default == event_type
        assert spec.topic.value.startswith("frontline.")


def test_dead_letter_topics_sit_beside_their_topic():
    assert dlq_topic("frontline.contacts.inbound") == "frontline.contacts.inbound.dlq"


def test_event_ids_are_required_when_parsing():
    raw = submitted().model_dump(mode="json")
    del raw["id"]
    with pytest.raises(ContractViolation, match="id: Field required"):
        parse_event(raw)
    raw["id"] = str(uuid4())
    assert parse_event(raw).id
