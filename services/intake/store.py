"""Intake's collections, designed for what every MongoDB-wire server does fast: inserts and `_id` lookups.

Every uniqueness rule is an `_id`, so concurrent duplicates are settled by the server, never by a
read-then-write race. Nothing on the hot path filters on other fields or updates a large collection:
FerretDB 1.x (SQLite) scans the whole collection for those (measured: ~40 updates/s at 5,000 documents).

- `intake_contacts`      one per contact, `_id` = contact id (derived from the idempotency key)
- `intake_outbox`        contacts whose event is not yet published; small, so deletes are cheap
- `intake_outbox_failed` outbox entries that could not be finished, kept whole for an operator
- `intake_customers`     profiles, `_id` = customer id
- `intake_customer_keys` `_id` = `tenant|ref:…` / `tenant|email:…` / `tenant|phone:…` → customer id
- `intake_concern_days`  `_id` = `tenant|customer|concern|day`: the repeat-contact memory
- `intake_taxonomies`    `_id` = tenant
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from frontline.contracts.contacts import ContactReceived
from frontline.plumbing.mongo import Collection, Database
from services.intake.domain.customers import CustomerProfile, ProfileUpdate
from services.intake.domain.identity import Identity
from services.intake.domain.taxonomy import Taxonomy

REPEAT_DAYS = 7
DUPLICATE_KEY = 11000


class ReferenceTaken(ValueError):
    """A customer reference number can name one customer only."""


@dataclass(frozen=True)
class Pending:
    """A contact whose `contact.received` event is stored but not yet known to be published."""

    event: ContactReceived
    customer_id: str
    stored_at: datetime

    @cached_property
    def document(self) -> dict[str, Any]:
        """What the outbox and the contacts collection keep of it (serialised once)."""
        return {
            "_id": self.event.contact_id,
            "tenant": self.event.tenant,
            "customer_id": self.customer_id,
            "event": self.event.model_dump(mode="json"),
            "stored_at": self.stored_at,
        }


class ContactStore:
    def __init__(self, db: Database) -> None:
        self._contacts = db["intake_contacts"]
        self._outbox = db["intake_outbox"]
        self._failed = db["intake_outbox_failed"]
        self._customers = db["intake_customers"]
        self._keys = db["intake_customer_keys"]
        self._concern_days = db["intake_concern_days"]
        self._taxonomies = db["intake_taxonomies"]

    # -- contacts and their outbox --------------------------------------------

    async def contact(self, tenant: str, contact_id: str) -> ContactReceived | None:
        found = await self._contacts.find_one({"_id": contact_id})
        if found is None or found["tenant"] != tenant:
            return None
        return ContactReceived.model_validate(found["event"])

    async def pending(self, contact_id: str) -> Pending | None:
        found = await self._outbox.find_one({"_id": contact_id})
        return pending_of(found) if found else None

    async def reserve(self, pending: Pending) -> bool:
        """Puts the contact in the outbox; False if it is already there (a concurrent duplicate)."""
        return await _inserted(self._outbox, pending.document)

    async def add_contact(self, pending: Pending) -> bool:
        """Stores the contact; False if a contact with its id was already stored."""
        return await _inserted(self._contacts, pending.document)

    async def published(self, contact_id: str) -> None:
        await self._outbox.delete_one({"_id": contact_id})

    async def stale_pending(self, *, stored_before: datetime, limit: int = 500) -> list[dict[str, Any]]:
        """Outbox documents older than `stored_before`, as stored (`pending_of` reads one)."""
        cursor = self._outbox.find({"stored_at": {"$lt": stored_before}}).limit(limit)
        return [doc async for doc in cursor]

    async def set_aside(self, document: dict[str, Any], reason: str) -> None:
        """An outbox entry that cannot be finished leaves the outbox, kept whole with why."""
        await self._failed.replace_one({"_id": document["_id"]}, {**document, "reason": reason}, upsert=True)
        await self._outbox.delete_one({"_id": document["_id"]})

    async def raised_recently(self, tenant: str, customer_id: str, concern: str, *, contact_id: str, on: date) -> bool:
        """Whether the customer raised this concern in another contact on `on` or any of the 7 days
        before (the published definition of a repeat contact); and records this contact for later.

        A contact leaves a marker on its own day and on each of the 7 days after it, so asking is one
        bulk insert (and, if its own day is taken, one read of that existing marker): no lookups of
        missing documents, which FerretDB answers by scanning. Deliveries of one contact get the same
        answer."""
        markers = [
            {"_id": _concern_day(tenant, customer_id, concern, on + timedelta(days=days)), "contact_id": contact_id}
            for days in range(REPEAT_DAYS + 1)
        ]
        try:
            await self._concern_days.insert_many(markers, ordered=False)
        except BulkWriteError as error:
            failures = error.details.get("writeErrors", [])
            if any(failure["code"] != DUPLICATE_KEY for failure in failures):
                raise  # days already marked by an earlier contact are expected; nothing else is
            if any(failure["index"] == 0 for failure in failures):
                first = await self._concern_days.find_one({"_id": markers[0]["_id"]})
                return first is None or first["contact_id"] != contact_id
        return False

    # -- customers -----------------------------------------------------------

    async def identify(self, tenant: str, identity: Identity, *, now: datetime) -> tuple[CustomerProfile, bool]:
        """The customer these identifiers name, created if new. The strongest identifier decides
        (reference, then e-mail, then phone); weaker ones not yet known are linked to that customer.

        Insert-first: a key is claimed by inserting it, and only an existing key is read back, since a
        lookup of a missing `_id` is a collection scan on FerretDB."""
        keys = identity.keys()
        candidate = identity.customer_id_for(tenant)
        customer_id = await self._take(tenant, keys[0], candidate) or candidate
        linked = [key for key in keys[1:] if await self._take(tenant, key, customer_id) is None]
        if customer_id == candidate and (created := await self._create(tenant, customer_id, identity, now)):
            return created, True
        if linked:
            await self._remember(customer_id, identity.only(linked))
        profile = await self.customer(tenant, customer_id)
        if profile is None:
            raise LookupError(f"customer {customer_id} vanished while being identified")
        return profile, False

    async def _take(self, tenant: str, key: str, customer_id: str) -> str | None:
        """Links `key` to the customer if it is free (None); else returns the customer it names."""
        try:
            await self._keys.insert_one({"_id": f"{tenant}|{key}", "customer_id": customer_id})
        except DuplicateKeyError:
            owner = await self._keys.find_one({"_id": f"{tenant}|{key}"})
            if owner is None:
                raise LookupError(f"customer key {key} neither free nor taken") from None
            return str(owner["customer_id"])
        return None

    async def _create(self, tenant: str, customer_id: str, identity: Identity, now: datetime) -> CustomerProfile | None:
        """The new customer's profile, or None if another delivery created it first."""
        document = {
            "_id": customer_id,
            "tenant": tenant,
            "reference": identity.reference,
            "emails": [identity.email] if identity.email else [],
            "phones": [identity.phone] if identity.phone else [],
            "name": identity.name,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self._customers.insert_one(document)
        except DuplicateKeyError:
            return None
        return _profile(document)

    async def _remember(self, customer_id: str, new: Identity) -> None:
        """A known customer came with a new e-mail, phone or reference: keep it on the profile (rare)."""
        additions = {field: value for field, value in (("emails", new.email), ("phones", new.phone)) if value}
        update: dict[str, Any] = {"$addToSet": additions} if additions else {}
        if new.reference:
            update["$set"] = {"reference": new.reference}
        if update:
            await self._customers.update_one({"_id": customer_id}, update)

    async def customer(self, tenant: str, customer_id: str) -> CustomerProfile | None:
        found = await self._customers.find_one({"_id": customer_id})
        return _profile(found) if found and found["tenant"] == tenant else None

    async def customer_by_key(self, tenant: str, key: str) -> CustomerProfile | None:
        found = await self._keys.find_one({"_id": f"{tenant}|{key}"})
        return await self.customer(tenant, found["customer_id"]) if found else None

    async def update_customer(
        self, tenant: str, customer_id: str, update: ProfileUpdate, *, now: datetime
    ) -> CustomerProfile | None:
        if await self.customer(tenant, customer_id) is None:
            return None
        new_reference = Identity(update.reference, None, None, None).keys() if update.reference else []
        owner = await self._take(tenant, new_reference[0], customer_id) if new_reference else None
        if owner not in (None, customer_id):
            raise ReferenceTaken(f"reference {update.reference!r} already belongs to another customer")
        changes = update.model_dump(mode="json", exclude_unset=True)
        found = await self._customers.find_one_and_update(
            {"_id": customer_id}, {"$set": {**changes, "updated_at": now}}, return_document=ReturnDocument.AFTER
        )
        return _profile(found) if found else None

    # -- taxonomies ----------------------------------------------------------

    async def taxonomy(self, tenant: str) -> Taxonomy | None:
        found = await self._taxonomies.find_one({"_id": tenant})
        return Taxonomy.model_validate(found["taxonomy"]) if found else None

    async def save_taxonomy(self, tenant: str, taxonomy: Taxonomy) -> None:
        await self._taxonomies.replace_one(
            {"_id": tenant}, {"_id": tenant, "taxonomy": taxonomy.model_dump(mode="json")}, upsert=True
        )


async def _inserted(collection: Collection, document: dict[str, Any]) -> bool:
    """Inserts unless the `_id` is taken; True if this call inserted it."""
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


def _concern_day(tenant: str, customer_id: str, concern: str, day: date) -> str:
    return f"{tenant}|{customer_id}|{concern}|{day.isoformat()}"


def pending_of(doc: dict[str, Any]) -> Pending:
    return Pending(ContactReceived.model_validate(doc["event"]), doc["customer_id"], doc["stored_at"])


def _profile(doc: dict[str, Any]) -> CustomerProfile:
    return CustomerProfile.model_validate({**doc, "customer_id": doc["_id"]})
