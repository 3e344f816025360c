"""The records service's process: it stores every event of every Frontline topic, once."""

from fastapi import FastAPI

from frontline.contracts import TOPICS, Event, Topic
from frontline.plumbing.logging import get_logger
from frontline.plumbing.service import Runtime, create_service
from frontline.plumbing.settings import Settings
from frontline.plumbing.streams import consume
from services.records.store import RecordStore

DEFAULT_PORT = 8004
log = get_logger(__name__)
# The inbound topic carries contacts as other systems sent them, before intake redacts card numbers, IBANs,
# e-mail addresses and phone numbers; its redacted record is intake's contact.received.
RECORDED_TOPICS = [
    topic.value for topic, spec in TOPICS.items() if topic is not Topic.CONTACTS_INBOUND and not spec.internal
]


def create(settings: Settings) -> FastAPI:
    return create_service(service="records", settings=settings, setup=setup)


async def setup(runtime: Runtime) -> None:
    store = RecordStore(runtime.db)
    await store.ensure_indexes()

    async def keep(event: Event) -> None:
        if not await store.append(event):
            log.info("duplicate event ignored", event_type=event.type)

    consume(
        runtime.streams,
        name="records.ingest",
        topics=RECORDED_TOPICS,
        handler=keep,
        producer=runtime.producer,
    )
