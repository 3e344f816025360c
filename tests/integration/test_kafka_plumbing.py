"""The Kafka plumbing against the real broker: events flow, bad messages land in the DLQ with the reason,
and the consumer keeps going."""

import asyncio
import json
import uuid

from frontline.contracts import dlq_topic
from frontline.plumbing.kafka import EventConsumer, Unprocessable, ensure_topics
from tests.integration.helpers import end_offsets, read_from
from tests.unit.factories import contact_received


async def poll_until(consumer: EventConsumer, done, within: float = 60) -> None:
    """Polls (joining the group first, which a freshly started broker may take a while to allow)
    until `done(records seen)`; fails after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    seen = 0
    while not done(seen):
        assert asyncio.get_running_loop().time() < deadline, f"only {seen} records within {within:.0f}s"
        seen += await consumer.poll_once(timeout_ms=500)


async def test_bad_messages_go_to_the_dlq_with_the_reason_and_the_good_ones_get_through(settings, producer):
    topic = f"frontline.test.{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic, dlq_topic(topic)])
    dlq_start = await end_offsets(settings.kafka_bootstrap_servers, dlq_topic(topic))
    good, refused = contact_received(contact_id="good"), contact_received(contact_id="refused")
    for value in (
        b"\xff not json",
        b'{"type": "contact.received", "tenant": "acme"}',
        good.to_json(),
        refused.to_json(),
    ):
        await producer.send_raw(topic, value, key=b"acme")

    handled = []

    async def handler(event):
        if event.contact_id == "refused":
            raise Unprocessable("contact refused by the test handler")
        handled.append(event)

    consumer = EventConsumer(
        settings, topics=[topic], group_id=f"test-{uuid.uuid4().hex[:8]}", handler=handler, producer=producer
    )
    await consumer.start()
    try:
        await poll_until(consumer, lambda seen: seen == 4)
    finally:
        await consumer.stop()

    assert [event.id for event in handled] == [good.id]
    letters = [json.loads(value) for value in await read_from(settings.kafka_bootstrap_servers, dlq_start, count=3)]
    reasons = [letter["reason"] for letter in letters]
    assert reasons[0].startswith("not JSON")
    assert "occurred_at: Field required" in reasons[1]
    assert "data: Field required" in reasons[1]
    assert reasons[2] == "contact refused by the test handler"
    assert all(letter["topic"] == topic for letter in letters)
    assert json.loads(letters[2]["payload"])["contact_id"] == "refused"


async def test_committed_offsets_mean_a_restarted_consumer_does_not_see_handled_events_again(settings, producer):
    topic = f"frontline.test.{uuid.uuid4().hex[:8]}"
    group = f"test-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic, dlq_topic(topic)])
    first, second = contact_received(contact_id="first"), contact_received(contact_id="second")
    handled = []

    async def handler(event):
        handled.append(event.contact_id)

    async def consume_all() -> None:
        consumer = EventConsumer(settings, topics=[topic], group_id=group, handler=handler, producer=producer)
        await consumer.start()
        try:
            await poll_until(consumer, lambda seen: seen == 1)
        finally:
            await consumer.stop()

    await producer.send_raw(topic, first.to_json(), key=b"acme")
    await consume_all()
    await producer.send_raw(topic, second.to_json(), key=b"acme")
    await consume_all()
    assert handled == ["first", "second"]
