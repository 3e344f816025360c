from frontline.contracts import TOPICS, Topic
from services.records.worker import RECORDED_TOPICS


def test_records_keeps_every_event_topic_but_the_unredacted_inbound_one():
    assert Topic.CONTACTS_INBOUND.value not in RECORDED_TOPICS
    internal = {Topic.ROUTING_SNAPSHOTS.value}
    assert set(RECORDED_TOPICS) == {topic.value for topic in TOPICS} - {Topic.CONTACTS_INBOUND.value} - internal
