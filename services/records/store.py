"""The append-only record store: one document per event, keyed by the event id."""

from datetime import UTC, datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from frontline.contracts import Event
from frontline.plumbing.mongo import Database


class RecordStore:
    def __init__(self, db: Database) -> None:
        self._records = db["records"]

    async def ensure_indexes(self) -> None:
        await self._records.create_index(
            [("tenant", ASCENDING), ("contact_id", ASCENDING), ("occurred_at", ASCENDING)], name="by_contact"
        )

    async def append(self, event: Event) -> bool:
        """Stores the event unless it is already stored; True if it was new."""
        try:
            await self._records.insert_one(
                {
                    "_id": str(event.id),
                    "tenant": event.tenant,
                    "type": event.type,
                    "version": event.version,
                    "occurred_at": event.occurred_at,
                    "contact_id": event.contact_id,
                    "correlation_id": event.correlation_id,
                    "causation_id": event.causation_id,
                    "source": event.source,
                    "event": event.model_dump(mode="json"),
                    "stored_at": datetime.now(UTC),
                }
            )
        except DuplicateKeyError:
            return False
        return True
