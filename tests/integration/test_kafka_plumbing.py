"""The consumer kernel against the real broker: bad messages land in the DLQ with the reason, a
message that breaks its handler is isolated from its batch, the same worker goes on, and committed
offsets mean a restarted worker does not see handled messages again."""

import json
import uuid

from frontline.contracts import dlq_topic
from frontline.plumbing.kafka import ensure_topics
from frontline.plumbing.kernel import Door, KeyedWorker, Received, Stuck
from tests.integration.helpers import end_offsets, eventually, read_from, signed
from tests.unit.factories import contact_received


async def answering() -> bool:
    return True


def door(settings, producer) -> Door:
    return Door(producer, answering, Stuck(), settings.signing_keys())


async def send(settings, producer, topic: str, contact_id: str, *, key: bytes = b"acme") -> None:
    """A contact.received as intake signs it; the test's topic stands in for intake's."""
    value = contact_received(contact_id=contact_id).to_json()
    await producer.send_raw(topic, value, key=key, headers=signed(settings, value))


class Recorder(KeyedWorker):
    """Handles whole batches; a batch holding the contact "poison" fails the way a date overflow does."""

    def __init__(self, settings, topic: str, door: Door, name: str) -> None:
        super().__init__(settings, name=name, topics=[topic], max_batch=100, door=door)
        self.handled: list[str] = []

    async def handle(self, received: list[Received], *, reassigned: bool) -> None:
        if any(item.event.contact_id == "poison" for item in received):
            raise OverflowError("date value out of range")
        self.handled += [item.event.contact_id for item in received]

    def forget(self) -> None:
        return None


async def test_bad_and_poison_messages_go_to_the_dlq_and_the_same_worker_handles_the_rest(settings, producer):
    topic = f"frontline.test.{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic, dlq_topic(topic)])
    dlq_start = await end_offsets(settings.kafka_bootstrap_servers, dlq_topic(topic))
    for value in (b"\xff not json", b'{"type": "contact.received", "tenant": "acme"}'):
        await producer.send_raw(topic, value, key=b"acme")
    for contact_id in ("first", "poison", "second"):
        await send(settings, producer, topic, contact_id)
    await send(settings, producer, topic, "wrong-key", key=b"globex")

    worker = Recorder(settings, topic, door(settings, producer), name=f"test-{uuid.uuid4().hex[:8]}")
    await worker.start()
    try:
        await eventually(lambda: _async(worker.handled == ["first", "second"]), within=60, what="both good contacts")
        await send(settings, producer, topic, "after")
        await eventually(lambda: _async(worker.handled[-1:] == ["after"]), within=60, what="the next message")
        await worker.ready()
    finally:
        await worker.stop()

    letters = [json.loads(v) for v in await read_from(settings.kafka_bootstrap_servers, dlq_start, count=4)]
    by_key = {}  # the DLQ keeps the original key, so the two keys' letters may come in either order
    for letter in letters:
        by_key.setdefault(letter["key"], []).append(letter)
    acme = [letter["reason"] for letter in by_key["acme"]]
    assert acme[0].startswith("not JSON")
    assert "occurred_at: Field required" in acme[1]
    assert "data: Field required" in acme[1]
    assert acme[2] == "OverflowError: date value out of range"
    assert json.loads(by_key["acme"][2]["payload"])["contact_id"] == "poison"
    assert [letter["reason"] for letter in by_key["globex"]] == ["the message key must be the tenant"]
    assert all(letter["topic"] == topic for letter in letters)


async def test_committed_offsets_mean_a_restarted_worker_does_not_see_handled_events_again(settings, producer):
    topic = f"frontline.test.{uuid.uuid4().hex[:8]}"
    name = f"test-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic, dlq_topic(topic)])
    seen: list[str] = []

    async def consume_one(contact_id: str) -> None:
        await send(settings, producer, topic, contact_id)
        worker = Recorder(settings, topic, door(settings, producer), name=name)
        await worker.start()
        try:
            await eventually(lambda: _async(contact_id in worker.handled), within=60, what=contact_id)
        finally:
            await worker.stop()
        seen.extend(worker.handled)

    await consume_one("first")
    await consume_one("second")
    assert seen == ["first", "second"]


async def _async(value: bool) -> bool:
    return value
