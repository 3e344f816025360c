"""Upsell's collections. The catalog is small and edited by people; contacts are many and written
once. As elsewhere, uniqueness is an `_id` and the hot path only inserts and reads by `_id`.

- `upsell_offers`          the current version of each offer, `_id` = `tenant|offer id`
- `upsell_offer_versions`  every version ever saved, `_id` = `tenant|offer id|version` (insert only)
- `upsell_catalogs`        per tenant, a counter of catalog changes, `_id` = tenant: workers reload a
                           catalog only when it moved
- `upsell_contacts`        what a decision needs of a contact, `_id` = `tenant|contact id`
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from pymongo.errors import DuplicateKeyError

from frontline.contracts.upsell import Offer, OfferSettings
from frontline.plumbing.mongo import Database, by_ids, insert_new
from services.upsell.core.moments import ContactFile

_FILES = TypeAdapter(ContactFile)


class VersionConflict(Exception):
    """The offer changed since the version the caller read."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the offer is at version {current}")
        self.current = current


class UpsellStore:
    def __init__(self, db: Database) -> None:
        self._offers = db["upsell_offers"]
        self._versions = db["upsell_offer_versions"]
        self._contacts = db["upsell_contacts"]
        self._catalogs = db["upsell_catalogs"]

    # -- the catalog -----------------------------------------------------------

    async def offers(self, tenant: str) -> list[Offer]:
        found = self._offers.find({"tenant": tenant})
        return sorted([Offer.model_validate(doc["offer"]) async for doc in found], key=lambda o: o.offer_id)

    async def offer(self, tenant: str, offer_id: str) -> Offer | None:
        found = await self._offers.find_one({"_id": f"{tenant}|{offer_id}"})
        return Offer.model_validate(found["offer"]) if found else None

    async def versions(self, tenant: str, offer_id: str) -> list[dict[str, Any]]:
        found = self._versions.find({"tenant": tenant, "offer_id": offer_id})
        return sorted(
            [{"offer": doc["offer"], "saved_at": doc["saved_at"], "saved_by": doc["saved_by"]} async for doc in found],
            key=lambda v: int(v["offer"]["version"]),
        )

    async def save(
        self, tenant: str, offer_id: str, settings: OfferSettings, *, expected: int | None, by: str, now: datetime
    ) -> Offer:
        """Saves the next version; `expected` (the version the caller read, 0 for a new offer) guards
        against overwriting someone else's edit. Two saves of the same next version: one wins."""
        current = await self.offer(tenant, offer_id)
        version = current.version if current else 0
        if expected is not None and expected != version:
            raise VersionConflict(version)
        offer = Offer(offer_id=offer_id, version=version + 1, **settings.model_dump())
        document = {"tenant": tenant, "offer_id": offer_id, "offer": offer.model_dump(mode="json")}
        try:
            await self._versions.insert_one(
                {"_id": f"{tenant}|{offer_id}|{offer.version}", **document, "saved_at": now, "saved_by": by}
            )
        except DuplicateKeyError:
            raise VersionConflict(version + 1) from None
        await self._offers.replace_one({"_id": f"{tenant}|{offer_id}"}, document, upsert=True)
        await self._changed(tenant)
        return offer

    async def remove(self, tenant: str, offer_id: str) -> bool:
        """Takes the offer out of the catalog; its versions stay, as history."""
        result = await self._offers.delete_one({"_id": f"{tenant}|{offer_id}"})
        await self._changed(tenant)
        return result.deleted_count == 1

    async def catalog_changes(self, tenant: str) -> int:
        """How often the tenant's catalog changed: equal answers mean an unchanged catalog."""
        found = await self._catalogs.find_one({"_id": tenant})
        return int(found["changes"]) if found else 0

    async def _changed(self, tenant: str) -> None:
        await self._catalogs.update_one({"_id": tenant}, {"$inc": {"changes": 1}}, upsert=True)

    # -- contacts --------------------------------------------------------------

    async def keep_contacts(self, files: list[ContactFile]) -> None:
        """Stores contacts for decisions after a restart; ones already stored stay as they are."""
        if not files:
            return
        await insert_new(self._contacts, [_contact_document(f) for f in files])

    async def contacts(self, keys: list[tuple[str, str]]) -> list[ContactFile]:
        """The stored contacts among these (tenant, contact id) pairs."""
        found = await by_ids(self._contacts, [f"{tenant}|{contact_id}" for tenant, contact_id in keys])
        return [_FILES.validate_python(doc["file"]) for doc in found.values()]

    async def escalated(self, tenant: str, contact_id: str) -> None:
        await self._contacts.update_one({"_id": f"{tenant}|{contact_id}"}, {"$set": {"file.escalated": True}})


def _contact_document(file: ContactFile) -> dict[str, Any]:
    return {"_id": f"{file.tenant}|{file.contact_id}", "file": _FILES.dump_python(file, mode="json")}
