from datetime import UTC, datetime

from frontline.contracts import TOPICS, Topic
from frontline.plumbing.kafka import dead_letter
from services.records.worker import RECORDED_TOPICS, UNATTRIBUTED, tenant_of_dead_letter


def test_records_keeps_every_event_topic_but_the_unredacted_inbound_one():
    assert Topic.CONTACTS_INBOUND.value not in RECORDED_TOPICS
    internal = {Topic.ROUTING_SNAPSHOTS.value}
    assert set(RECORDED_TOPICS) == {topic.value for topic in TOPICS} - {Topic.CONTACTS_INBOUND.value} - internal


def test_a_dead_letter_is_counted_for_the_tenant_its_payload_names_or_for_operators_only():
    def letter(value: bytes) -> bytes:
        body, _ = dead_letter(
            reason="r", topic="t", partition=0, offset=1, key=None, value=value, service="s", now=datetime.now(UTC)
        )
        return body

    assert tenant_of_dead_letter(letter(b'{"tenant": "acme", "type": "x"}')) == "acme"
    for value in (b"not json", b'{"tenant": "Not A Tenant"}', b'{"tenant": "a.b"}', b"[1]", b"\xff"):
        assert tenant_of_dead_letter(letter(value)) == UNATTRIBUTED
