"""An event sent through the real broker into the real records service lands, once, in the real
MongoDB-wire server; the service shuts down cleanly on SIGTERM."""

import json
import uuid

from frontline.contracts import dlq_topic
from tests.integration.helpers import (
    end_offsets,
    eventually,
    free_port,
    read_from,
    running_service,
    service_environment,
    until_consuming,
)
from tests.unit.factories import contact_received

DLQ = dlq_topic("frontline.contacts.received")


async def test_an_event_is_stored_once_even_when_delivered_twice(settings, producer, db, tmp_path):
    port = free_port()
    # a consumer group of its own that starts at the end, so what earlier runs left in the topics is not replayed
    env = service_environment(settings, port) | {
        "FRONTLINE_KAFKA_GROUP_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
    }
    async with running_service("records", env, port, tmp_path) as service:
        await until_consuming(producer, db)
        event = contact_received(contact_id=f"c-{port}")
        dlq_start = await end_offsets(settings.kafka_bootstrap_servers, DLQ)
        await producer.publish(event)
        await producer.publish(event)
        await producer.send_raw(
            "frontline.contacts.received", b'{"type": "contact.received", "broken": true}', key=b"acme"
        )

        async def stored() -> bool:
            return await db.records.count_documents({"contact_id": event.contact_id}) >= 1

        await eventually(stored, within=60, what="the event reaching MongoDB")
        letters = [json.loads(v) for v in await read_from(settings.kafka_bootstrap_servers, dlq_start, count=1)]
        assert letters, "the broken message was not dead-lettered"
        assert "tenant: Field required" in letters[0]["reason"]
        assert await db.records.count_documents({"contact_id": event.contact_id}) == 1
        record = await db.records.find_one({"_id": str(event.id)})
        assert record["type"] == "contact.received"
        assert record["event"]["data"]["concern"]["code"] == "billing"

        await service.stop_gracefully()
