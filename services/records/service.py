"""Records' use case: a tenant's events appended, once, to its log — over a batch.

- A batch, per tenant: claim each event id (`records_ids`; an id claimed by a committed batch is a
  duplicate), append the new events' leaves, store records, Merkle tiles, subject heads, customers
  and KPI buckets, then commit the tenant's log state — the one write that makes the batch count.
  A crash anywhere repeats the batch; nothing is lost or counted twice.
- Subject heads, customers and KPI buckets the worker does not hold in memory are taken for new and
  inserted with the batch's values: an insert is the cheapest write on FerretDB, and most are new.
  One that turns out stored is read, and the batch computed again knowing it (nothing counts until
  the commit).
- Personal payloads (anything about a known customer) are sealed with the customer's key; an
  erasure request destroys the key when it is recorded.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from frontline.contracts import Event
from frontline.contracts.contacts import ContactReceived
from frontline.contracts.records import CustomerErasureRequested
from frontline.contracts.routing import ContactCompleted
from frontline.plumbing.logging import get_logger
from frontline.plumbing.mongo import Collection, Document, insert_new
from services.records.core.audit import Entry, payload_digest
from services.records.core.kpis import Delta, Kpis
from services.records.core.merkle import Frontier
from services.records.core.sealing import Signer, new_key, seal
from services.records.core.tiles import HASH, Tiler, last_tiles
from services.records.settings import RecordsSettings
from services.records.store import (
    LogState,
    RecordStore,
    committed,
    day_id,
    hour_id,
    record_id,
    versioned,
)

log = get_logger(__name__)
Clock = Callable[[], datetime]
CUSTOMER_CHANGES = (ContactReceived, ContactCompleted)  # what the KPI fold changes a customer's history on
VERSIONED = ("subjects", "customers", "kpis")


def subject_of(event: Event) -> str:
    """Whose history the event belongs to: its contact, else its agent or customer, else the tenant."""
    if event.contact_id is not None:
        return f"contact:{event.contact_id}"
    data = event.data
    profile = getattr(data, "profile", None)
    agent = getattr(data, "agent_id", None) or getattr(profile, "agent_id", None)
    if agent is not None:
        return f"agent:{agent}"
    customer = getattr(data, "customer_id", None)
    return f"customer:{customer}" if customer is not None else "tenant"


def customer_in(event: Event) -> str | None:
    if isinstance(event, ContactReceived):
        return event.data.customer.customer_id
    customer = getattr(event.data, "customer_id", None)
    return customer if isinstance(customer, str) else None


class Cache:
    """Committed values of versioned documents, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self._values: OrderedDict[str, Document | None] = OrderedDict()
        self._capacity = capacity

    def get(self, ident: str) -> tuple[bool, Document | None]:
        if ident not in self._values:
            return False, None
        self._values.move_to_end(ident)
        return True, self._values[ident]

    def put(self, ident: str, value: Document | None) -> None:
        self._values[ident] = value
        self._values.move_to_end(ident)
        while len(self._values) > self._capacity:
            self._values.popitem(last=False)

    def clear(self) -> None:
        self._values.clear()


class Batch:
    """One tenant's share of a consumer batch: what it read, and what it will write."""

    def __init__(self, state: LogState, number: int) -> None:
        self.state = state
        self.number = number
        self.values: dict[tuple[str, str], Document | None] = {}  # (collection, id) → new value
        self.before: dict[tuple[str, str], Document | None] = {}  # committed value
        self.assumed: dict[str, set[str]] = {}  # collection → ids neither cached nor known: taken as new
        # committed values read while working the batch, kept across its passes (the cache may drop them)
        self.known: dict[tuple[str, str], Document | None] = {}

    def reset(self) -> None:
        """Forgets what a pass computed, before the batch is computed again."""
        self.values.clear()
        self.before.clear()
        self.assumed.clear()


class Recorder:
    """Appends tenants' events to their logs. The only writer of a tenant's log while it holds the
    tenant's partitions; `forget` drops what it remembers when another may have written meanwhile."""

    def __init__(self, records: RecordsSettings, *, store: RecordStore, signer: Signer, clock: Clock) -> None:
        self._records = records
        self._store = store
        self._signer = signer
        self._clock = clock
        self._states: dict[str, LogState] = {}
        self._cache = Cache(records.documents_in_memory)
        self._keys: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._last_checkpoint: dict[str, datetime] = {}

    def forget(self) -> None:
        self._states.clear()
        self._cache.clear()
        self._keys.clear()

    async def _state(self, tenant: str) -> LogState:
        state = self._states.get(tenant)
        if state is None:
            state = self._states[tenant] = await self._store.log_state(tenant)
        return state

    async def append(self, tenant: str, events: list[Event]) -> None:
        """Appends the tenant's events to its log, once each: see the module's docstring."""
        state = await self._state(tenant)
        batch = Batch(state, await self._store.reserve(state))
        unique = list({str(e.id): e for e in events}.values())
        gates = [{"_id": str(e.id), "t": tenant, "b": batch.number} for e in unique]
        taken = await self._store.claim(gates)
        duplicates = {gate["_id"] for gate in taken if state.committed(gate["b"])}
        for gate in taken:  # claimed by a batch that never committed: this batch takes it over
            if gate["_id"] not in duplicates:
                await self._store.ids.replace_one({"_id": gate["_id"]}, gate | {"b": batch.number})
        new = [e for e in unique if str(e.id) not in duplicates]
        if duplicates:
            log.info("duplicate events ignored", tenant=tenant, count=len(duplicates))
        if not new:
            await self._commit(batch, Frontier(state.size, state.edge), state.partial, self._clock())
            return
        while True:  # a pass that took a stored document for a new one is computed again, knowing it
            batch.reset()
            await self._load(batch, new)
            records, frontier, tiler, kpis, now = await self._compute(batch, new)
            if await self._new_as_assumed(batch):
                break
        # one write at a time: FerretDB 1.24 hangs once concurrent update statements hold 100 connections
        await self._store.write_once(self._store.records, records)
        await self._store.add_tiles(tenant, tiler.changed())
        for name in VERSIONED:
            known = [doc for doc in self._versioned(batch, name) if doc["_id"] not in batch.assumed.get(name, ())]
            await self._store.write_versioned(self._collection(name), known)
        state.agents, state.waiting = kpis.agents, kpis.waiting
        await self._commit(batch, frontier, tiler.partial(), now)

    async def _compute(self, batch: Batch, new: list[Event]) -> tuple[list[Document], Frontier, Tiler, Kpis, datetime]:
        """The batch's records, tree, tiles and KPI state, its changed documents in `batch.values`."""
        tenant, state = batch.state.tenant, batch.state
        frontier = Frontier(state.size, state.edge)
        tiler = self._tiler(state)
        kpis = Kpis(copy.deepcopy(state.agents), copy.deepcopy(state.waiting))
        records: list[Document] = []
        deltas: list[Delta] = []
        now = self._clock()
        for event in new:
            subject = subject_of(event)
            head = self._value(batch, "subjects", f"{tenant}|{subject}") or {"count": 0}
            customer = customer_in(event) or head.get("customer")
            payload = event.model_dump(mode="json")
            entry = Entry(
                tenant=tenant,
                index=frontier.size,
                event_id=str(event.id),
                type=event.type,
                subject=subject,
                occurred_at=payload["occurred_at"],
                payload_sha256=payload_digest(payload),
                seq=head["count"],
                previous=head.get("last_leaf"),
            )
            leaf = entry.leaf()
            tiler.add(frontier.append(leaf))
            ident = record_id(tenant, subject, entry.seq)
            record: Document = {
                "_id": ident,
                "tenant": tenant,
                "b": batch.number,
                "entry": asdict(entry),
                "at": event.occurred_at,
                "customer": customer,
                "stored_at": now,
            }
            if isinstance(event, CustomerErasureRequested):
                record["payload"] = payload  # the pseudonymous id is the proof of the erasure
                await self._erase(tenant, event.data.customer_id)
            elif customer is not None:
                record["sealed"] = seal(await self._key(tenant, customer), payload, ident)
            else:
                record["payload"] = payload
            records.append(record)
            head.update(
                count=entry.seq + 1,
                last_leaf=leaf.hex(),
                last_index=entry.index,
                last_at=payload["occurred_at"],
                last_type=event.type,
            )
            head.setdefault("first_at", payload["occurred_at"])
            if customer is not None:
                head["customer"] = customer
            self._set(batch, "subjects", f"{tenant}|{subject}", head)
            customer_doc = None if customer is None else self._value(batch, "customers", f"{tenant}|{customer}") or {}
            deltas += kpis.fold(event, head if event.contact_id is not None else None, customer_doc)
            if customer is not None and isinstance(event, CUSTOMER_CHANGES):
                self._set(batch, "customers", f"{tenant}|{customer}", customer_doc)
        self._fold_kpis(batch, deltas)
        return records, frontier, tiler, kpis, now

    def _tiler(self, state: LogState) -> Tiler:
        try:
            return Tiler(state.size, state.partial)
        except ValueError as error:  # a log kept before tiles, or an altered store: never stop the worker
            log.error("the log's partial tiles do not fit its size; its audit will report them", error=str(error))
            return Tiler(state.size, {tile.tier: bytes(tile.width * HASH) for tile in last_tiles(state.size)})

    async def _load(self, batch: Batch, events: list[Event]) -> None:
        """Marks the batch's subjects and customers not in the cache as taken for new, and brings
        its customers' payload keys into memory."""
        tenant = batch.state.tenant
        subjects = {f"{tenant}|{subject_of(e)}" for e in events}
        self._take_for_new(batch, "subjects", subjects)
        customers = {c for e in events if (c := customer_in(e)) is not None}
        for subject in subjects:
            _, head = self._known(batch, "subjects", subject)
            if head is not None and head.get("customer"):
                customers.add(head["customer"])
        self._take_for_new(batch, "customers", {f"{tenant}|{c}" for c in customers})
        unkeyed = {c: new_key() for c in customers if (tenant, c) not in self._keys}
        if unkeyed:
            for customer, key in (await self._store.customer_keys(tenant, unkeyed)).items():
                self._remember_key(tenant, customer, key)

    def _take_for_new(self, batch: Batch, name: str, ids: set[str]) -> None:
        """Documents not in the cache are taken for new (no value): most are, and an insert costs a
        tenth of a lookup on FerretDB. `_new_as_assumed` checks it once the batch is computed."""
        batch.assumed.setdefault(name, set()).update(i for i in ids if not self._known(batch, name, i)[0])

    async def _new_as_assumed(self, batch: Batch) -> bool:
        """Inserts the documents taken for new — with the batch's value, or a placeholder (no value,
        this batch's number, read as missing) where the batch left one as is — and brings the
        committed values of those already stored into the cache. False if there were any: the batch
        must be computed again."""
        all_new = True
        for name, assumed in batch.assumed.items():
            if not assumed:
                continue
            docs = [versioned(ident, batch.values.get((name, ident)), None, batch.number) for ident in sorted(assumed)]
            stored = [docs[i]["_id"] for i in await insert_new(self._collection(name), docs)]
            found = await self._store.by_ids(self._collection(name), stored)
            for ident in assumed:
                batch.known[(name, ident)] = committed(found.get(ident), batch.state)
                self._cache.put(f"{name}/{ident}", batch.known[(name, ident)])
            all_new = all_new and not stored
        return all_new

    def _collection(self, name: str) -> Collection:
        collection: Collection = getattr(self._store, name)
        return collection

    def _known(self, batch: Batch, name: str, ident: str) -> tuple[bool, Document | None]:
        """Whether the committed value is known, and it: as read during this batch, else as cached."""
        if (name, ident) in batch.known:
            return True, batch.known[(name, ident)]
        return self._cache.get(f"{name}/{ident}")

    def _value(self, batch: Batch, name: str, ident: str) -> Document | None:
        """The value as this batch left it so far, else as committed (a copy to change)."""
        if (name, ident) in batch.values:
            return batch.values[(name, ident)]
        _, value = self._known(batch, name, ident)
        batch.before[(name, ident)] = value
        return copy.deepcopy(value)

    def _set(self, batch: Batch, name: str, ident: str, value: Document | None) -> None:
        if (name, ident) not in batch.before:
            batch.before[(name, ident)] = self._known(batch, name, ident)[1]
        batch.values[(name, ident)] = value

    def _versioned(self, batch: Batch, name: str) -> list[Document]:
        docs = []
        for (collection, ident), value in batch.values.items():
            if collection == name:
                docs.append(versioned(ident, value, batch.before.get((collection, ident)), batch.number))
        return docs

    def _fold_kpis(self, batch: Batch, deltas: list[Delta]) -> None:
        """Adds the deltas to their hour (by minute) and day (by hour) documents."""
        tenant = batch.state.tenant
        summed: dict[tuple[str, str, datetime], dict[str, float]] = {}
        for delta in deltas:
            counters = summed.setdefault((delta.dimension, delta.key, delta.minute), {})
            counters[delta.counter] = counters.get(delta.counter, 0) + delta.amount
        slots = []
        for (dimension, key, minute), counters in summed.items():
            hour = minute.replace(minute=0)
            slots.append((hour_id(tenant, dimension, key, hour), f"{minute:%M}", counters))
            slots.append((day_id(tenant, dimension, key, hour), f"{hour:%H}", counters))
            keys = batch.state.keys.setdefault(dimension, [])
            if key not in keys:
                keys.append(key)
        self._take_for_new(batch, "kpis", {ident for ident, _, _ in slots})
        for ident, slot, counters in slots:
            value = self._value(batch, "kpis", ident) or {}
            kept = value.setdefault(slot, {})
            for name, amount in counters.items():
                kept[name] = kept.get(name, 0) + amount
            self._set(batch, "kpis", ident, value)

    async def _commit(self, batch: Batch, frontier: Frontier, partial: dict[int, bytes], now: datetime) -> None:
        state = batch.state
        state.batch, state.size, state.edge, state.partial = batch.number, frontier.size, frontier.edge, partial
        head: dict[str, Any] = {
            "tenant": state.tenant,
            "size": frontier.size,
            "root": frontier.root().hex(),
            "at": now.astimezone(UTC).isoformat(),
        }
        state.head = {**head, "signature": self._signer.sign(head).hex()}
        await self._store.commit(state)
        last = self._last_checkpoint.get(state.tenant)
        if last is None or now - last >= timedelta(seconds=self._records.checkpoint_seconds):
            self._last_checkpoint[state.tenant] = now
            await self._store.add_head({"_id": f"{state.tenant}|{frontier.size:012d}", **state.head})
        for (name, ident), value in batch.values.items():
            self._cache.put(f"{name}/{ident}", value)

    async def _key(self, tenant: str, customer: str) -> bytes:
        key = self._keys.get((tenant, customer))
        if key is None:  # erased earlier in this batch, or dropped from memory
            key = await self._store.customer_key(tenant, customer, new_key())
            self._remember_key(tenant, customer, key)
        return key

    def _remember_key(self, tenant: str, customer: str, key: bytes) -> None:
        self._keys[(tenant, customer)] = key
        self._keys.move_to_end((tenant, customer))
        while len(self._keys) > self._records.documents_in_memory:
            self._keys.popitem(last=False)

    async def _erase(self, tenant: str, customer: str) -> None:
        self._keys.pop((tenant, customer), None)
        await self._store.destroy_key(tenant, customer)
        log.info("customer key destroyed", tenant=tenant, customer=customer)
