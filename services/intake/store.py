"""Intake's collections: contacts (idempotent by id), customers and their lookup keys, taxonomies.

Every uniqueness rule is an `_id`, so concurrent duplicates are settled by the server, never by a
read-then-write race, and FerretDB's lack of partial indexes does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from frontline.contracts.contacts import ContactReceived
from frontline.plumbing.mongo import Database
from services.intake.domain.customers import CustomerProfile, ProfileUpdate
from services.intake.domain.identity import Identity
from services.intake.domain.taxonomy import Taxonomy


class ReferenceTaken(ValueError):
    """A customer reference number can name one customer only."""


@dataclass(frozen=True)
class StoredContact:
    """A contact's `contact.received` event, whether it has been published, and since when it is stored."""

    event: ContactReceived
    published: bool
    stored_at: datetime


class ContactStore:
    def __init__(self, db: Database) -> None:
        self._contacts = db["intake_contacts"]
        self._customers = db["intake_customers"]
        self._keys = db["intake_customer_keys"]
        self._taxonomies = db["intake_taxonomies"]

    async def ensure_indexes(self) -> None:
        await self._contacts.create_index(
            [("tenant", ASCENDING), ("customer_id", ASCENDING), ("arrived_at", ASCENDING)], name="by_customer"
        )
        await self._contacts.create_index([("published", ASCENDING), ("stored_at", ASCENDING)], name="unpublished")
        await self._customers.create_index([("tenant", ASCENDING)], name="by_tenant")

    # -- contacts ------------------------------------------------------------

    async def contact(self, tenant: str, contact_id: str) -> StoredContact | None:
        found = await self._contacts.find_one({"_id": contact_id, "tenant": tenant})
        if found is None:
            return None
        return StoredContact(
            ContactReceived.model_validate(found["event"]), bool(found["published"]), found["stored_at"]
        )

    async def add_contact(self, event: ContactReceived, *, customer_id: str, now: datetime) -> bool:
        """Stores the contact unless one with its id exists; True if this call stored it."""
        try:
            await self._contacts.insert_one(
                {
                    "_id": event.contact_id,
                    "tenant": event.tenant,
                    "customer_id": customer_id,
                    "concern": event.data.concern.code,
                    "arrived_at": event.data.arrived_at,
                    "event": event.model_dump(mode="json"),
                    "published": False,
                    "stored_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def mark_published(self, contact_id: str) -> None:
        await self._contacts.update_one({"_id": contact_id}, {"$set": {"published": True}})

    async def unpublished(self, *, stored_before: datetime, limit: int = 500) -> list[ContactReceived]:
        cursor = self._contacts.find({"published": False, "stored_at": {"$lt": stored_before}}).limit(limit)
        return [ContactReceived.model_validate(doc["event"]) async for doc in cursor]

    async def recent_concerns(self, tenant: str, customer_id: str, *, since: datetime) -> frozenset[str]:
        cursor = self._contacts.find(
            {"tenant": tenant, "customer_id": customer_id, "arrived_at": {"$gte": since}}, {"concern": 1}
        )
        return frozenset([doc["concern"] async for doc in cursor])

    # -- customers -----------------------------------------------------------

    async def identify(self, tenant: str, identity: Identity, *, now: datetime) -> tuple[CustomerProfile, bool]:
        """The customer these identifiers name, created if new; identifiers not yet known are linked."""
        keys = identity.keys()
        found = await self._keys.find({"_id": {"$in": [f"{tenant}|{key}" for key in keys]}}).to_list()
        by_key = {doc["_id"].split("|", 1)[1]: doc["customer_id"] for doc in found}
        customer_id = next((by_key[key] for key in keys if key in by_key), None)
        created = False
        if customer_id is None:
            customer_id = identity.customer_id_for(tenant)
            created = await self._create(tenant, customer_id, identity, now)
        await self._link(tenant, customer_id, [key for key in keys if key not in by_key], identity)
        profile = await self.customer(tenant, customer_id)
        if profile is None:
            raise LookupError(f"customer {customer_id} vanished while being identified")
        return profile, created

    async def _create(self, tenant: str, customer_id: str, identity: Identity, now: datetime) -> bool:
        try:
            await self._customers.insert_one(
                {
                    "_id": customer_id,
                    "tenant": tenant,
                    "reference": identity.reference,
                    "emails": [identity.email] if identity.email else [],
                    "phones": [identity.phone] if identity.phone else [],
                    "name": identity.name,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def _claim(self, tenant: str, key: str, customer_id: str) -> bool:
        """Links `key` to the customer; False if it already names another customer."""
        try:
            await self._keys.insert_one({"_id": f"{tenant}|{key}", "customer_id": customer_id})
        except DuplicateKeyError:
            owner = await self._keys.find_one({"_id": f"{tenant}|{key}"})
            return owner is not None and owner["customer_id"] == customer_id
        return True

    async def _link(self, tenant: str, customer_id: str, keys: list[str], identity: Identity) -> None:
        for key in keys:
            await self._claim(tenant, key, customer_id)
        additions: dict[str, Any] = {}
        if identity.email and f"email:{identity.email}" in keys:
            additions["emails"] = identity.email
        if identity.phone and f"phone:{identity.phone}" in keys:
            additions["phones"] = identity.phone
        if additions:
            await self._customers.update_one({"_id": customer_id}, {"$addToSet": additions})
        if identity.reference and f"ref:{identity.reference}" in keys:
            await self._customers.update_one(
                {"_id": customer_id, "reference": None}, {"$set": {"reference": identity.reference}}
            )

    async def customer(self, tenant: str, customer_id: str) -> CustomerProfile | None:
        found = await self._customers.find_one({"_id": customer_id, "tenant": tenant})
        return _profile(found) if found else None

    async def customer_by_key(self, tenant: str, key: str) -> CustomerProfile | None:
        found = await self._keys.find_one({"_id": f"{tenant}|{key}"})
        return await self.customer(tenant, found["customer_id"]) if found else None

    async def update_customer(
        self, tenant: str, customer_id: str, update: ProfileUpdate, *, now: datetime
    ) -> CustomerProfile | None:
        changes = update.model_dump(mode="json", exclude_unset=True)
        if update.reference is not None and not await self._claim(tenant, f"ref:{update.reference}", customer_id):
            raise ReferenceTaken(f"reference {update.reference!r} already belongs to another customer")
        found = await self._customers.find_one_and_update(
            {"_id": customer_id, "tenant": tenant},
            {"$set": {**changes, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
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


def _profile(doc: dict[str, Any]) -> CustomerProfile:
    return CustomerProfile.model_validate({**doc, "customer_id": doc["_id"]})
