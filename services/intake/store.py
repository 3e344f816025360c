"""Intake's collections, designed for what every MongoDB-wire server does fast: bulk inserts and
`_id` lookups. The hot path works a batch of contacts at a time: one bulk insert per collection, and
one atomic update per returning customer (reading the profile and the repeat memory in the same
round trip).

Every uniqueness rule is an `_id`, so concurrent duplicates are settled by the server, never by a
read-then-write race. Nothing on the hot path filters on other fields or scans a large collection.

- `intake_contacts`      one per contact, `_id` = contact id (derived from the idempotency key)
- `intake_outbox`        contacts whose event is not yet published; small, so deletes are cheap
- `intake_outbox_failed` outbox entries that could not be finished, kept whole for an operator
- `intake_customers`     profiles, `_id` = customer id; `concerns` holds, per concern, the last
                         contact about it (its day and id): the repeat-contact memory
- `intake_customer_keys` `_id` = `tenant|ref:…` / `tenant|email:…` / `tenant|phone:…` → customer id
- `intake_taxonomies`    `_id` = tenant
- `intake_example_sets`  `_id` = tenant: the last version reserved and the sets stored, newest last
- `intake_examples`      a set's examples, 1,000 to a document, `_id` = `tenant|version|chunk`; a set
                         is listed once all its chunks are stored, so a crash mid-upload leaves
                         only chunks nothing reads
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from bson import Binary
from pymongo import ReturnDocument

from frontline.contracts.contacts import ContactReceived
from frontline.plumbing.mongo import Collection, Database, by_ids, insert_new
from services.intake.core.customers import CustomerProfile, ProfileUpdate
from services.intake.core.examples import ExampleIn
from services.intake.core.identity import Identity
from services.intake.core.taxonomy import Taxonomy

KEYS_IN_MEMORY = 200_000  # customer keys never change owner, so remembering them is always right
CONCURRENT_UPDATES = 32  # profile updates in flight at once
EXAMPLES_PER_DOCUMENT = 1_000  # 5 MB at most: the longest texts, well under a document's 16 MB


class ReferenceTaken(ValueError):
    """A customer reference number can name one customer only."""


@dataclass(frozen=True)
class Pending:
    """A contact whose `contact.received` event is stored but not yet known to be published."""

    event: ContactReceived
    customer_id: str
    stored_at: datetime

    @property
    def contact_id(self) -> str:
        return str(self.event.contact_id)

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


@dataclass(frozen=True)
class Visit:
    """A contact's visit to a customer's profile: the identifiers it linked, and its concern."""

    tenant: str
    customer_id: str
    identity: Identity  # only the identifiers this contact linked to the customer
    concern: str
    day: date
    contact_id: str
    now: datetime


@dataclass(frozen=True)
class Visited:
    """The profile as the visit left it, whether the visit created it, and the last earlier contact
    about the same concern (day, contact id) before this one, if the profile remembered one."""

    profile: CustomerProfile
    created: bool
    last_same_concern: tuple[date, str] | None


class ContactStore:
    def __init__(self, db: Database) -> None:
        self._contacts = db["intake_contacts"]
        self._outbox = db["intake_outbox"]
        self._failed = db["intake_outbox_failed"]
        self._customers = db["intake_customers"]
        self._keys = db["intake_customer_keys"]
        self._taxonomies = db["intake_taxonomies"]
        self._example_sets = db["intake_example_sets"]
        self._examples = db["intake_examples"]
        self._owners: OrderedDict[str, str] = OrderedDict()  # customer key → its customer

    # -- contacts and their outbox --------------------------------------------

    async def contact(self, tenant: str, contact_id: str) -> ContactReceived | None:
        found = await self._contacts.find_one({"_id": contact_id})
        if found is None or found["tenant"] != tenant:
            return None
        return ContactReceived.model_validate(found["event"])

    async def contacts_by_id(self, contact_ids: list[str]) -> dict[str, ContactReceived]:
        """The stored contacts among these ids (of any tenant: the caller checks)."""
        found = await by_ids(self._contacts, contact_ids)
        return {ident: ContactReceived.model_validate(doc["event"]) for ident, doc in found.items()}

    async def pending(self, contact_id: str) -> Pending | None:
        found = await self._outbox.find_one({"_id": contact_id})
        return pending_of(found) if found else None

    async def reserve(self, pendings: list[Pending]) -> set[str]:
        """Puts the contacts in the outbox; the ids of those that were not already there."""
        return await _inserted(self._outbox, [pending.document for pending in pendings])

    async def add_contacts(self, pendings: list[Pending]) -> set[str]:
        """Stores the contacts; the ids of those that were not stored before."""
        return await _inserted(self._contacts, [pending.document for pending in pendings])

    async def published(self, contact_ids: Iterable[str]) -> None:
        ids = list(contact_ids)
        if ids:
            await self._outbox.delete_many({"_id": {"$in": ids}})

    async def stale_pending(self, *, stored_before: datetime, limit: int = 500) -> list[dict[str, Any]]:
        """Outbox documents older than `stored_before`, as stored (`pending_of` reads one)."""
        cursor = self._outbox.find({"stored_at": {"$lt": stored_before}}).limit(limit)
        return [doc async for doc in cursor]

    async def set_aside(self, document: dict[str, Any], reason: str) -> None:
        """An outbox entry that cannot be finished leaves the outbox, kept whole with why."""
        await self._failed.replace_one({"_id": document["_id"]}, {**document, "reason": reason}, upsert=True)
        await self._outbox.delete_one({"_id": document["_id"]})

    # -- customers -----------------------------------------------------------

    async def claim_keys(self, tenant: str, claims: dict[str, str]) -> dict[str, str]:
        """Each customer key's owner: `claims` maps a key to the customer that takes it if it is
        free. Insert first, in one bulk write; only keys that turn out taken are read back, and
        owners are remembered, since a key never changes hands."""
        owners = {key: known for key in claims if (known := self._owner(f"{tenant}|{key}")) is not None}
        free = [
            {"_id": f"{tenant}|{key}", "customer_id": customer} for key, customer in claims.items() if key not in owners
        ]
        inserted = await _inserted(self._keys, free)
        taken = [doc["_id"] for doc in free if doc["_id"] not in inserted]
        found = {ident: doc["customer_id"] for ident, doc in (await by_ids(self._keys, taken)).items()}
        for doc in free:
            ident = doc["_id"]
            owner = doc["customer_id"] if ident in inserted else found.get(ident)
            if owner is None:
                raise LookupError(f"customer key {ident} neither free nor taken")
            owners[ident.split("|", 1)[1]] = self._remember(ident, owner)
        return owners

    def _owner(self, ident: str) -> str | None:
        owner = self._owners.get(ident)
        if owner is not None:
            self._owners.move_to_end(ident)
        return owner

    def _remember(self, ident: str, owner: str) -> str:
        self._owners[ident] = owner
        self._owners.move_to_end(ident)
        while len(self._owners) > KEYS_IN_MEMORY:
            self._owners.popitem(last=False)
        return owner

    async def create_customers(self, visits: list[Visit]) -> dict[str, Visited]:
        """New profiles, in one bulk write, each remembering its first contact's concern; by
        customer id, those created (a profile that exists already is left alone: visit it instead)."""
        profiles = [_new_profile(visit) for visit in visits]
        created = await _inserted(self._customers, profiles)
        return {doc["_id"]: Visited(_profile(doc), True, None) for doc in profiles if doc["_id"] in created}

    async def visit(self, visits: list[Visit]) -> list[Visited]:
        """Each visit in one atomic update of its customer's profile: the contact's concern is
        remembered, identifiers it linked are added, and the profile as it was before comes back —
        the repeat memory and the profile in one round trip. A missing profile is created. Visits of
        one customer are made in order; of different customers, concurrently."""
        results: dict[int, Visited] = {}
        by_customer: dict[str, list[int]] = {}
        for index, visit in enumerate(visits):
            by_customer.setdefault(visit.customer_id, []).append(index)
        gate = asyncio.Semaphore(CONCURRENT_UPDATES)

        async def in_order(indexes: list[int]) -> None:
            async with gate:
                for index in indexes:
                    results[index] = await self._visit(visits[index])

        await asyncio.gather(*(in_order(indexes) for indexes in by_customer.values()))
        return [results[index] for index in range(len(visits))]

    async def _visit(self, visit: Visit) -> Visited:
        fresh = _new_profile(visit)
        additions = {f: v for f, v in (("emails", visit.identity.email), ("phones", visit.identity.phone)) if v}
        update: dict[str, Any] = {
            "$set": {f"concerns.{visit.concern}": fresh["concerns"][visit.concern]},
            "$setOnInsert": {
                k: v for k, v in fresh.items() if k not in ("_id", "concerns", "emails", "phones", "reference")
            },
        }
        if additions:
            update["$addToSet"] = additions
        if visit.identity.reference:
            update["$set"]["reference"] = visit.identity.reference
        before = await self._customers.find_one_and_update(
            {"_id": visit.customer_id}, update, upsert=True, return_document=ReturnDocument.BEFORE
        )
        if before is None:
            return Visited(_profile(fresh), True, None)
        if before["tenant"] != visit.tenant:
            raise LookupError(f"customer {visit.customer_id} belongs to another tenant")
        after = {**before, "emails": _union(before.get("emails"), visit.identity.email)}
        after["phones"] = _union(before.get("phones"), visit.identity.phone)
        if visit.identity.reference:
            after["reference"] = visit.identity.reference
        last = (before.get("concerns") or {}).get(visit.concern)
        return Visited(
            _profile(after),
            created=False,
            last_same_concern=(date.fromisoformat(last["d"]), last["c"]) if last else None,
        )

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
        if update.reference:
            key = Identity(update.reference, None, None, None).keys()[0]
            if (await self.claim_keys(tenant, {key: customer_id}))[key] != customer_id:
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

    # -- labelled examples ---------------------------------------------------

    async def add_examples(self, tenant: str, examples: list[ExampleIn], *, by: str, now: datetime) -> ExampleSet:
        """Stores an upload as the tenant's next version of examples."""
        reserved = await self._example_sets.find_one_and_update(
            {"_id": tenant}, {"$inc": {"reserved": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert reserved is not None  # upserted
        version = int(reserved["reserved"])
        rows = [_row(example) for example in examples]
        chunks = [
            {"_id": _chunk_id(tenant, version, number), "rows": rows[start : start + EXAMPLES_PER_DOCUMENT]}
            for number, start in enumerate(range(0, len(rows), EXAMPLES_PER_DOCUMENT))
        ]
        await self._examples.insert_many(chunks, ordered=True)
        stored = ExampleSet(
            version=version,
            examples=len(rows),
            intents=len({row["i"] for row in rows if "i" in row}),
            concerns=len({row["c"] for row in rows if "c" in row}),
            by=by,
            stored_at=now,
            documents=len(chunks),
        )
        await self._example_sets.update_one({"_id": tenant}, {"$push": {"sets": asdict(stored)}})
        return stored

    async def example_sets(self, tenant: str) -> list[ExampleSet]:
        found = await self._example_sets.find_one({"_id": tenant})
        return [ExampleSet(**kept) for kept in (found or {}).get("sets", [])]

    async def examples(self, tenant: str, kept: ExampleSet) -> AsyncIterator[list[ExampleIn]]:
        """A stored set's examples, a document's worth at a time."""
        for number in range(kept.documents):
            found = await self._examples.find_one({"_id": _chunk_id(tenant, kept.version, number)})
            if found is None:
                raise LookupError(f"examples {kept.version}/{number} of {tenant} are missing")
            yield [_example(row) for row in found["rows"]]


@dataclass(frozen=True)
class ExampleSet:
    """One upload of labelled examples, as stored."""

    version: int
    examples: int
    intents: int
    concerns: int
    by: str
    stored_at: datetime
    documents: int


def _chunk_id(tenant: str, version: int, number: int) -> str:
    return f"{tenant}|{version:08d}|{number:06d}"


def _row(example: ExampleIn) -> dict[str, str]:
    row = {"t": example.text, "i": example.intent, "c": example.concern, "l": example.language}
    return {key: value for key, value in row.items() if value is not None}


def _example(row: dict[str, Any]) -> ExampleIn:
    return ExampleIn(text=row["t"], intent=row.get("i"), concern=row.get("c"), language=row.get("l"))


async def _inserted(collection: Collection, documents: list[dict[str, Any]]) -> set[str]:
    """Inserts the documents whose `_id` is free; the ids this call inserted."""
    taken = set(await insert_new(collection, documents))
    return {doc["_id"] for index, doc in enumerate(documents) if index not in taken}


def _new_profile(visit: Visit) -> dict[str, Any]:
    identity = visit.identity
    return {
        "_id": visit.customer_id,
        "tenant": visit.tenant,
        "reference": identity.reference,
        "emails": [identity.email] if identity.email else [],
        "phones": [identity.phone] if identity.phone else [],
        "name": identity.name,
        "created_at": visit.now,
        "updated_at": visit.now,
        "concerns": {visit.concern: {"d": visit.day.isoformat(), "c": visit.contact_id}},
    }


def _union(values: list[str] | None, added: str | None) -> list[str]:
    values = list(values or [])
    return [*values, added] if added and added not in values else values


def pending_of(doc: dict[str, Any]) -> Pending:
    return Pending(ContactReceived.model_validate(doc["event"]), doc["customer_id"], doc["stored_at"])


def _profile(doc: dict[str, Any]) -> CustomerProfile:
    return CustomerProfile.model_validate({**doc, "customer_id": doc["_id"]})


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _due(state: dict[str, Any] | None, *, now: datetime, upload: bool) -> bool:
    """Whether a tenant whose examples changed, or whose training was left unfinished, is trained now:
    nobody holds its lease, and an upload waits for nothing, a change for the pause after the last."""
    if state is None:
        return True
    if state["lease_until"] >= now:
        return False
    return upload or bool(state.get("unfinished")) or state["not_before"] < now


MODEL_PART_BYTES = 4 * 1024 * 1024
CONFUSIONS_KEPT = 50


@dataclass(frozen=True)
class Correction:
    """What an agent said a contact was about, at wrap-up, beside the contact's redacted text."""

    tenant: str
    contact_id: str
    text: str
    intent: str | None
    concern: str | None
    at: datetime


@dataclass(frozen=True)
class Learning:
    """A tenant's learning state: the live model version (who made it live, since when), whether
    examples changed since the last training (and when the next may start), and how the last went."""

    live: int | None
    pending: bool
    last_training: dict[str, Any] | None
    live_by: str | None = None
    live_since: datetime | None = None
    next_training: datetime | None = None


MARKS_READ = 10_000  # change marks a training round reads at most (a process leaves one per tenant)


class ModelStore:
    """Model versions and what they learn from. Each document has one kind of writer, so no update
    races another (FerretDB applies an update as a read then a write: two concurrent updates of one
    document can lose one, even of different fields; MongoDB would not).

    - `intake_learning`     `_id` = tenant: the live version, who made it live and when (a training
                            that promotes, or a supervisor)
    - `intake_training`     `_id` = tenant, the trainer's own: a lease, `unfinished` while a training
                            runs, the earliest next training and how the last one went
    - `intake_changes`      `_id` = `tenant|random`: a mark that the tenant's examples changed, inserted
                            after they are stored (an upload's also before, and marked `now`); a
                            training deletes the marks it saw before it reads the examples
    - `intake_models`       `_id` = `tenant|version`: a version's evaluation and verdict
    - `intake_model_parts`  `_id` = `tenant|version|part`: the model's bytes, 4 MiB to a document;
                            written before the version's document, so a listed version is whole
    - `intake_corrections`  `_id` = `tenant|contact id`: the concern or intent an agent gave at wrap-up;
                            the newest a training reads are kept, older ones pruned after it
    """

    def __init__(self, db: Database) -> None:
        self._learning = db["intake_learning"]
        self._training = db["intake_training"]
        self._changes = db["intake_changes"]
        self._models = db["intake_models"]
        self._parts = db["intake_model_parts"]
        self._corrections = db["intake_corrections"]
        self._left: dict[str, str] = {}  # the mark this process left last, by tenant

    async def changed(self, tenant: str, *, now: bool = False) -> None:
        """Marks the tenant's examples as changed: a training round trains it once its pause since the
        last training is over, or at once if `now` (an upload). Called after the examples are stored:
        if the mark this process left last is still there, no training has started reading since, so
        the next one reads them too."""
        left = self._left.get(tenant)
        if not now and left is not None and await self._changes.find_one({"_id": left}, {"_id": 1}):
            return
        mark = f"{tenant}|{uuid.uuid4().hex}"
        await self._changes.insert_one({"_id": mark, "tenant": tenant, "now": now})
        if not now:
            if len(self._left) >= MARKS_READ:
                self._left.clear()
            self._left[tenant] = mark

    async def live(self, tenant: str) -> int | None:
        """The tenant's live version (none: the keyword taxonomy classifies)."""
        found = await self._learning.find_one({"_id": tenant}, {"live": 1})
        return found.get("live") if found else None

    async def learning(self, tenant: str) -> Learning:
        found = await self._learning.find_one({"_id": tenant}) or {}
        state = await self._training.find_one({"_id": tenant}) or {}
        marks = [mark async for mark in self._changes.find(_prefixed(tenant), {"now": 1}).limit(MARKS_READ)]
        pending = bool(marks) or bool(state.get("unfinished"))
        at_once = state.get("unfinished") or any(mark["now"] for mark in marks)
        return Learning(
            found.get("live"),
            pending,
            state.get("last_training"),
            found.get("live_by"),
            found.get("live_since"),
            None if not pending or at_once else state.get("not_before"),
        )

    async def claim(self, *, now: datetime, lease: timedelta, limit: int = 10) -> list[str]:
        """Tenants due a training whose lease this call took: examples changed and the pause since the
        last training is over (or an upload), or a training left unfinished by a process that died.
        The change marks seen are deleted before the caller reads the examples."""
        marks: dict[str, list[dict[str, Any]]] = {}
        async for mark in self._changes.find({}, {"tenant": 1, "now": 1}).limit(MARKS_READ):
            marks.setdefault(mark["tenant"], []).append(mark)
        unfinished = self._training.find({"unfinished": True, "lease_until": {"$lt": now}}, {"_id": 1})
        waiting = dict.fromkeys([doc["_id"] async for doc in unfinished.limit(limit)] + list(marks))
        claimed = []
        for tenant in waiting:
            seen = marks.get(tenant, [])
            state = await self._training.find_one({"_id": tenant})
            if not _due(state, now=now, upload=any(mark["now"] for mark in seen)):
                continue
            if not await self._take_lease(tenant, state, until=now + lease):
                continue
            if seen:
                await self._changes.delete_many({"_id": {"$in": [mark["_id"] for mark in seen]}})
            claimed.append(tenant)
            if len(claimed) == limit:
                break
        return claimed

    async def _take_lease(self, tenant: str, state: dict[str, Any] | None, *, until: datetime) -> bool:
        if state is None:
            document = {"_id": tenant, "lease_until": until, "unfinished": True, "not_before": EPOCH}
            return bool(await _inserted(self._training, [document]))
        taken = await self._training.find_one_and_update(
            {"_id": tenant, "lease_until": state["lease_until"]}, {"$set": {"lease_until": until, "unfinished": True}}
        )
        return taken is not None

    async def trained(self, tenant: str, outcome: dict[str, Any], *, next_after: datetime) -> None:
        """Ends a training: the lease freed, the next training not before `next_after` (unless
        examples are uploaded)."""
        await self._training.update_one(
            {"_id": tenant},
            {"$set": {"lease_until": EPOCH, "unfinished": False, "not_before": next_after, "last_training": outcome}},
        )

    async def add_corrections(self, corrections: list[Correction]) -> dict[str, int]:
        """Stores the corrections not seen before; how many were new, by tenant."""
        documents: list[dict[str, Any]] = [
            {
                "_id": f"{c.tenant}|{c.contact_id}",
                "tenant": c.tenant,
                **_row(ExampleIn(text=c.text, intent=c.intent, concern=c.concern)),
                "at": c.at,
            }
            for c in corrections
        ]
        inserted = await _inserted(self._corrections, documents)
        return dict(Counter(doc["tenant"] for doc in documents if doc["_id"] in inserted))

    async def corrections(self, tenant: str, *, limit: int) -> list[ExampleIn]:
        """The tenant's corrections, newest first."""
        cursor = self._corrections.find(_prefixed(tenant)).sort("at", -1).limit(limit)
        return [_example(doc) async for doc in cursor]

    async def prune_corrections(self, tenant: str, *, keep: int) -> int:
        """Deletes the tenant's corrections older than its newest `keep` (those no training reads
        any more); how many. Corrections made at the same moment as the oldest kept one stay."""
        oldest_kept = await self._corrections.find_one(_prefixed(tenant), {"at": 1}, sort=[("at", -1)], skip=keep - 1)
        if oldest_kept is None:
            return 0
        done = await self._corrections.delete_many(_prefixed(tenant) | {"at": {"$lt": oldest_kept["at"]}})
        return done.deleted_count

    async def save(self, tenant: str, model: bytes, summary: dict[str, Any], *, live: bool, now: datetime) -> int:
        """Stores a model version with its evaluation; makes it live if `live`. Its version number."""
        newest = await self._models.find_one(_prefixed(tenant), {"version": 1}, sort=[("_id", -1)])
        version = (newest["version"] if newest else 0) + 1
        await self._parts.delete_many(_prefixed(f"{tenant}|{version:08d}"))  # what a save cut short left
        parts = [
            {"_id": f"{tenant}|{version:08d}|{number:04d}", "data": Binary(model[start : start + MODEL_PART_BYTES])}
            for number, start in enumerate(range(0, len(model), MODEL_PART_BYTES))
        ]
        await self._parts.insert_many(parts, ordered=True)
        await self._models.insert_one(
            {"_id": f"{tenant}|{version:08d}", "tenant": tenant, "version": version, "parts": len(parts), **summary}
        )
        if live:
            await self.set_live(tenant, version, by="training", now=now)
        return version

    async def set_live(self, tenant: str, version: int | None, *, by: str, now: datetime) -> None:
        await self._learning.update_one(
            {"_id": tenant},
            {
                "$set": {"live": version, "live_by": by, "live_since": now},
            },
            upsert=True,
        )

    async def prune(self, tenant: str, *, keep: int) -> list[int]:
        """Drops the bytes of all but the newest `keep` versions and the live one (their evaluations
        stay listed); the versions pruned."""
        live = await self.live(tenant)
        stored = [found for found in await self.versions(tenant) if found["parts"] > 0]
        pruned = [found for found in stored[: max(0, len(stored) - keep)] if found["version"] != live]
        for found in pruned:
            number = found["version"]
            await self._parts.delete_many(_prefixed(f"{tenant}|{number:08d}"))
            await self._models.update_one({"_id": found["_id"]}, {"$set": {"parts": 0}})
        return [found["version"] for found in pruned]

    async def versions(self, tenant: str) -> list[dict[str, Any]]:
        """Every stored version's summary, oldest first."""
        cursor = self._models.find(_prefixed(tenant)).sort("_id", 1)
        return [doc async for doc in cursor]

    async def version(self, tenant: str, version: int) -> dict[str, Any] | None:
        return await self._models.find_one({"_id": f"{tenant}|{version:08d}"})

    async def model(self, tenant: str, version: int) -> tuple[bytes, dict[str, Any]] | None:
        """A version's bytes and summary."""
        summary = await self.version(tenant, version)
        if summary is None:
            return None
        ids = [f"{tenant}|{version:08d}|{number:04d}" for number in range(summary["parts"])]
        found = await by_ids(self._parts, ids)
        if len(found) != len(ids):
            raise LookupError(f"model {version} of {tenant} is missing parts")
        return b"".join(bytes(found[ident]["data"]) for ident in ids), summary


def _prefixed(prefix: str) -> dict[str, Any]:
    """Documents whose `_id` starts with `prefix|`."""
    return {"_id": {"$gt": f"{prefix}|", "$lt": f"{prefix}}}"}}
