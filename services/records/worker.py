"""Records' Kafka door: every event of every Frontline topic, handed a batch at a time to the
`Recorder` (`service.py`) tenant by tenant; the consumer offsets are committed after it.

- One consumer group over tenant-keyed topics with the range assignor: one worker owns all of a
  tenant's partitions, so it is the only writer of the tenant's log (it reads committed records only:
  routing publishes in transactions).
- DLQ messages are counted per topic (exactly once, by offset), not stored.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from frontline.contracts import TOPICS, Event, Topic, dlq_topic
from frontline.plumbing.kernel import Door, KeyedWorker, Received
from frontline.plumbing.mongo import Document
from frontline.plumbing.settings import Settings
from services.records.service import Recorder
from services.records.store import RecordStore

# The inbound topic carries contacts as other systems sent them, before intake redacts card numbers,
# IBANs, e-mail addresses and phone numbers; its redacted record is intake's contact.received.
RECORDED_TOPICS = [
    topic.value for topic, spec in TOPICS.items() if topic is not Topic.CONTACTS_INBOUND and not spec.internal
]
DEAD_LETTER_TOPICS = [dlq_topic(topic.value) for topic, spec in TOPICS.items() if not spec.internal]
RECEIVED = Topic.CONTACTS_RECEIVED.value
TENANT = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
UNATTRIBUTED = "-"  # not a tenant id: the pattern cannot match it


def tenant_of_dead_letter(value: bytes | None) -> str:
    """The tenant the dead-lettered message claimed, if it named a well-formed one; its DLQ count is
    shown only to that tenant. Unattributable messages are counted for the operators alone."""
    try:
        payload = json.loads(json.loads(value or b"{}").get("payload") or "{}")
    except (ValueError, AttributeError, TypeError):
        return UNATTRIBUTED
    tenant = payload.get("tenant") if isinstance(payload, dict) else None
    return tenant if isinstance(tenant, str) and TENANT.fullmatch(tenant) else UNATTRIBUTED


class RecordsWorker(KeyedWorker):
    undecoded_topics = frozenset(DEAD_LETTER_TOPICS)

    def __init__(
        self, settings: Settings, *, max_batch: int, recorder: Recorder, store: RecordStore, door: Door
    ) -> None:
        super().__init__(
            settings,
            name="records",
            topics=[*RECORDED_TOPICS, *DEAD_LETTER_TOPICS],
            max_batch=max_batch,
            door=door,
        )
        self._recorder = recorder
        self._store = store
        self._dead_letters: dict[str, Document] = {}

    async def handle(self, received: list[Received], *, reassigned: bool) -> None:
        if reassigned:  # another worker may have appended to these tenants meanwhile
            self.forget()
        by_tenant: dict[str, list[Event]] = {}
        dead_letters: dict[TopicPartition, list[ConsumerRecord]] = {}
        # contacts first: a contact's later events find its customer known
        for item in sorted(received, key=lambda item: item.record.topic != RECEIVED):
            if item.event is None:
                tp = TopicPartition(item.record.topic, item.record.partition)
                dead_letters.setdefault(tp, []).append(item.record)
            else:
                by_tenant.setdefault(item.event.tenant, []).append(item.event)
        for tp, records in dead_letters.items():
            await self._count_dead_letters(tp, records)
        for tenant, events in by_tenant.items():
            await self._recorder.append(tenant, events)

    def forget(self) -> None:
        self._recorder.forget()
        self._dead_letters.clear()

    async def _count_dead_letters(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Counts each DLQ message once: the count remembers the next offset of every partition."""
        doc = self._dead_letters.get(tp.topic) or await self._store.dead_letters.find_one({"_id": tp.topic})
        doc = doc or {"_id": tp.topic, "next": {}, "tenants": {}}
        partition = str(tp.partition)
        for record in records:
            if record.offset < doc["next"].get(partition, 0):
                continue
            day = datetime.fromtimestamp(record.timestamp / 1000, UTC).date().isoformat()
            counts = doc["tenants"].setdefault(tenant_of_dead_letter(record.value), {"count": 0, "by_day": {}})
            counts["count"] += 1
            counts["by_day"][day] = counts["by_day"].get(day, 0) + 1
            doc["next"][partition] = record.offset + 1
        await self._store.dead_letters.replace_one({"_id": tp.topic}, doc, upsert=True)
        self._dead_letters[tp.topic] = doc
