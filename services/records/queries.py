"""What records answers from its store, as of each tenant's committed log state: timelines, the checks
of histories and whole logs against signed tree heads, proofs for outside parties, KPI buckets, the
backlog, exports, and the purge after retention."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

import pymongo

from frontline.plumbing.mongo import Collection, Document
from services.records.core.audit import Entry, Finding, Stored, TreeHead, audit_log, verify_history
from services.records.core.kpis import metrics, open_state_seconds
from services.records.core.merkle import Node, Tree, nodes_needed
from services.records.core.sealing import signature_valid, unseal
from services.records.core.tiles import HASH, WIDTH, leaf_tiles, node_in, tiles_for
from services.records.store import LogState, RecordStore, committed, day_id, hour_id, record_id

Bucket = Literal["minute", "quarter", "hour", "day"]  # quarter: the 15-minute interval of contact-center reports
MAX_SPAN = {
    "minute": timedelta(hours=48),
    "quarter": timedelta(days=8),
    "hour": timedelta(days=62),
    "day": timedelta(days=400),
}
SIZES = {
    "minute": timedelta(minutes=1),
    "quarter": timedelta(minutes=15),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


class NotRecorded(LookupError):
    """Nothing is recorded for what was asked."""


class TooWide(ValueError):
    """A KPI query spans more buckets than it may."""


@dataclass
class Item:
    """One record as a timeline shows it."""

    subject: str
    seq: int
    index: int
    event_id: str
    type: str
    occurred_at: str
    event: dict[str, Any] | None
    withheld: str | None  # "erased" (the customer's key was destroyed) or "purged" (past retention)


@dataclass
class Verification:
    tenant: str
    subjects: list[str]
    intact: bool
    records_checked: int
    tree_size: int
    root: str
    signed_at: str
    findings: list[dict[str, Any]] = field(default_factory=list)


class Records:
    def __init__(self, store: RecordStore, public_key: bytes, *, audit_seconds: float) -> None:
        self._store = store
        self.public_key = public_key
        self._audit_seconds = audit_seconds

    async def state(self, tenant: str) -> LogState:
        state = await self._store.log_state(tenant)
        if state.head is None:
            raise NotRecorded(f"nothing is recorded for tenant {tenant!r} yet")
        return state

    async def subject_head(self, state: LogState, subject: str) -> Document:
        return await self._committed(self._store.subjects, state, subject, f"nothing is recorded about {subject}")

    async def customer(self, state: LogState, customer: str) -> Document:
        missing = f"nothing is recorded about customer {customer}"
        return await self._committed(self._store.customers, state, customer, missing)

    async def _committed(self, collection: Collection, state: LogState, key: str, missing: str) -> Document:
        value = committed(await collection.find_one({"_id": f"{state.tenant}|{key}"}), state)
        if value is None:
            raise NotRecorded(missing)
        return value

    async def _records(self, state: LogState, subject: str, seqs: range) -> list[Document]:
        ids = [record_id(state.tenant, subject, seq) for seq in seqs]
        found = await self._store.by_ids(self._store.records, ids)
        return [found[i] for i in ids if i in found and state.committed(found[i].get("b", 0))]

    async def _open(self, doc: Document, keys: dict[str, bytes | None]) -> tuple[dict[str, Any] | None, str | None]:
        if "payload" in doc:
            return doc["payload"], None
        if "sealed" not in doc:
            return None, "purged"
        customer = doc.get("customer") or ""
        if customer not in keys:
            keys[customer] = await self._store.existing_key(doc["tenant"], customer)
        key = keys[customer]
        payload = None if key is None else unseal(key, bytes(doc["sealed"]), doc["_id"])
        return payload, None if payload is not None else "erased"

    async def timeline(
        self,
        tenant: str,
        subject: str,
        *,
        after: int = -1,
        limit: int = 100,
        types: set[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> tuple[list[Item], int | None]:
        """The subject's records that pass the filters, from place `after + 1`, up to `limit`; and the
        place to continue after (None at the end). A contact's story, which several topics tell, is in
        the order things happened (ties in the order recorded); other histories in the order recorded."""
        state = await self.state(tenant)
        head = await self.subject_head(state, subject)
        count = head["count"]
        if subject.startswith("contact:"):
            docs = [d for d in await self._records(state, subject, range(count)) if _passes(d, types, start, end)]
            docs.sort(key=lambda d: (d["entry"]["occurred_at"], d["entry"]["seq"]))
            page = docs[after + 1 : after + 1 + limit]
            following = after + len(page) if after + 1 + limit < len(docs) else None
        else:  # seq is the place: read only what the page needs
            page, last = [], after
            while last + 1 < count and len(page) < limit:
                chunk = range(last + 1, min(count, last + 1 + max(limit, 32)))
                last = chunk.stop - 1
                for doc in await self._records(state, subject, chunk):
                    if _passes(doc, types, start, end):
                        page.append(doc)
                        if len(page) == limit:
                            last = doc["entry"]["seq"]
                            break
            following = last if last + 1 < count else None
        keys: dict[str, bytes | None] = {}
        return [_item(d["entry"], *(await self._open(d, keys))) for d in page], following

    # --- verification ---------------------------------------------------------------------------

    async def verify(self, tenant: str, subjects: list[str]) -> Verification:
        """Each subject's history against the latest signed tree head, by inclusion proofs."""
        state = await self.state(tenant)
        head, findings = self._signed_head(state)
        checked = 0
        keys: dict[str, bytes | None] = {}
        for subject in subjects:
            history = await self.subject_head(state, subject)
            docs = await self._records(state, subject, range(history["count"] + 2))
            stored, broken = await self._stored(docs, keys)
            checked += len(docs)
            indices = sorted({s.entry.index for s in stored if s.entry.index < head.size})
            leaves = await self._nodes(state, {(0, i) for i in indices})
            tree = await self._tree(state, head.size, partial(_proofs, indices=indices))
            found = verify_history(
                stored,
                head=head,
                tree=tree,
                leaves={i: leaf for (_, i), leaf in leaves.items()},
                count=history["count"],
                last_leaf=history.get("last_leaf"),
            )
            findings += [_described(f, subject) for f in [*broken, *found]]
        return self._verification(state, subjects, checked, findings)

    async def audit(self, tenant: str) -> Verification:
        """The whole log: every record against every leaf, and the leaves against the signed head.
        It reads every record of the tenant (on FerretDB, every record of the store: a batch of a
        tenant's records may take long to gather), so its reads share one longer deadline, and the
        checks run off the event loop."""
        state = await self.state(tenant)
        head, findings = self._signed_head(state)
        leaves: list[bytes | None] = [None] * head.size
        with pymongo.timeout(self._audit_seconds):
            docs = [
                d
                async for d in self._store.scan(self._store.records, {"tenant": tenant}, {"entry": 1, "b": 1})
                if state.committed(d.get("b", 0))
            ]
            tiles = leaf_tiles(state.size)
            stored = await self._store.tiles_of(tenant, tiles)
        for tile in tiles:
            hashes = stored.get(tile, b"")
            for i in range(min(tile.width, len(hashes) // HASH, head.size - tile.index * WIDTH)):
                leaves[tile.index * WIDTH + i] = hashes[i * HASH : (i + 1) * HASH]

        def check() -> list[Finding]:
            kept, broken = entries(docs)
            return [*broken, *audit_log([Stored(entry, None) for _, entry in kept], leaves, head)]

        findings += [_described(f, None) for f in await asyncio.to_thread(check)]
        return self._verification(state, ["*"], len(docs), findings)

    def _signed_head(self, state: LogState) -> tuple[TreeHead, list[dict[str, Any]]]:
        signed = dict(state.head or {})
        signature = bytes.fromhex(signed.pop("signature", ""))
        findings = []
        if not signature_valid(self.public_key, signed, signature):
            findings.append(
                {"problem": "log_altered", "detail": "the tree head's signature does not verify with the log's key"}
            )
        return TreeHead(signed["size"], bytes.fromhex(signed["root"])), findings

    def _verification(
        self, state: LogState, subjects: list[str], checked: int, findings: list[dict[str, Any]]
    ) -> Verification:
        head = state.head or {}
        return Verification(
            tenant=state.tenant,
            subjects=subjects,
            intact=not findings,
            records_checked=checked,
            tree_size=head["size"],
            root=head["root"],
            signed_at=head["at"],
            findings=findings,
        )

    async def _stored(self, docs: list[Document], keys: dict[str, bytes | None]) -> tuple[list[Stored], list[Finding]]:
        """Records as the checks take them, their payloads opened."""
        kept, broken = entries(docs)
        return [Stored(entry, (await self._open(doc, keys))[0]) for doc, entry in kept], broken

    async def _tree(self, state: LogState, size: int, ask: Callable[[Tree], object]) -> Tree:
        """A tree of `size` leaves over the stored hashes `ask` needs; one a store lacks hashes as empty."""
        nodes = await self._nodes(state, nodes_needed(size, ask))
        return Tree(size, lambda level, index: nodes.get((level, index), b""))

    async def _nodes(self, state: LogState, wanted: set[Node]) -> dict[Node, bytes]:
        """The hashes of complete subtrees, from the tiles of the committed log; those it lacks (beyond
        its size, or a tile missing or cut short) are left out."""
        within = {(level, index) for level, index in wanted if (index + 1) << level <= state.size}
        tiles = tiles_for(state.size, within)
        stored = await self._store.tiles_of(state.tenant, set(tiles.values()))
        nodes = {}
        for (level, index), tile in tiles.items():
            if tile in stored:
                with contextlib.suppress(ValueError):
                    nodes[(level, index)] = node_in(tile, stored[tile], level, index)
        return nodes

    # --- proofs for outside parties ---------------------------------------------------------------

    async def consistency(self, tenant: str, old_size: int, new_size: int) -> list[str]:
        state = await self.state(tenant)
        if not 0 < old_size <= new_size <= state.size:
            raise ValueError(f"sizes must satisfy 0 < from ≤ to ≤ {state.size}")
        tree = await self._tree(state, new_size, lambda t: t.consistency_proof(old_size))
        return [h.hex() for h in tree.consistency_proof(old_size)]

    async def inclusion(self, tenant: str, index: int, size: int) -> tuple[str, list[str]]:
        """The stored leaf hash at `index`, and its audit path in the tree of `size` leaves."""
        state = await self.state(tenant)
        if not 0 <= index < size <= state.size:
            raise ValueError(f"need 0 ≤ index < size ≤ {state.size}")
        tree = await self._tree(state, size, lambda t: t.inclusion_proof(index))
        leaf = (await self._nodes(state, {(0, index)})).get((0, index), b"")
        return leaf.hex(), [h.hex() for h in tree.inclusion_proof(index)]

    async def root_at(self, tenant: str, size: int) -> str:
        state = await self.state(tenant)
        if not 0 < size <= state.size:
            raise ValueError(f"size must be between 1 and {state.size}")
        return (await self._tree(state, size, lambda t: t.root())).root().hex()

    # --- KPIs -----------------------------------------------------------------------------------

    async def kpis(
        self,
        tenant: str,
        dimension: str,
        keys: list[str] | None,
        bucket: Bucket,
        start: datetime,
        end: datetime,
        service_levels: dict[str, int],
        default_service_level: int,
        now: datetime,
    ) -> list[dict[str, Any]]:
        if end <= start or end - start > MAX_SPAN[bucket]:
            raise TooWide(f"{bucket} buckets span at most {MAX_SPAN[bucket]} and end must follow start")
        state = await self.state(tenant)
        keys = keys if keys is not None else sorted(state.keys.get(dimension, []))
        out = []
        for key in keys:
            counters = await self._buckets(state, dimension, key, bucket, start, end)
            for at, seconds in open_state_seconds(state.agents, dimension, key, start, end, now, SIZES[bucket]).items():
                summed = counters.setdefault(at, {})
                for name, amount in seconds.items():
                    summed[name] = summed.get(name, 0) + amount
            threshold = (
                service_levels.get(key, default_service_level) if dimension == "queue" else default_service_level
            )
            for at, summed in sorted(counters.items()):
                out.append(
                    {
                        "dimension": dimension,
                        "key": key,
                        "bucket": bucket,
                        "start": at,
                        "service_level_seconds": threshold,
                        **metrics(summed, threshold),
                    }
                )
        return out

    async def _buckets(
        self, state: LogState, dimension: str, key: str, bucket: Bucket, start: datetime, end: datetime
    ) -> dict[datetime, dict[str, float]]:
        tenant = state.tenant
        if bucket in ("minute", "quarter"):
            hours = _steps(start.replace(minute=0, second=0, microsecond=0), end, timedelta(hours=1))
            ids = {hour_id(tenant, dimension, key, h): h for h in hours}
        else:
            days = _steps(start.replace(hour=0, minute=0, second=0, microsecond=0), end, timedelta(days=1))
            ids = {day_id(tenant, dimension, key, d): d for d in days}
        docs = await self._store.by_ids(self._store.kpis, ids)
        buckets: dict[datetime, dict[str, float]] = {}
        for ident, doc in docs.items():
            value = committed(doc, state) or {}
            base = ids[ident]
            for slot, counters in value.items():
                at = base + (timedelta(hours=int(slot)) if bucket in ("hour", "day") else timedelta(minutes=int(slot)))
                if not start <= at < end:
                    continue
                target = _bucket_start(bucket, base, at)
                summed = buckets.setdefault(target, {})
                for name, amount in counters.items():
                    summed[name] = summed.get(name, 0) + amount
        return buckets

    async def backlog(self, tenant: str, now: datetime) -> dict[str, Any]:
        state = await self.state(tenant)
        queues: dict[str, dict[str, Any]] = {}
        for contact in state.waiting.values():
            since = datetime.fromisoformat(contact["since"])
            line = queues.setdefault(contact["queue"], {"waiting": 0, "oldest_wait_seconds": 0.0, "by_channel": {}})
            line["waiting"] += 1
            line["oldest_wait_seconds"] = max(line["oldest_wait_seconds"], (now - since).total_seconds())
            line["by_channel"][contact["channel"]] = line["by_channel"].get(contact["channel"], 0) + 1
        return {"at": now, "waiting": len(state.waiting), "queues": queues}

    # --- export and purge -----------------------------------------------------------------------

    async def export(
        self,
        tenant: str,
        *,
        types: set[str] | None,
        start: datetime | None,
        end: datetime | None,
        subjects: list[str] | None,
    ) -> AsyncIterator[Item]:
        """Every record that passes the filters, one at a time (constant memory): by subject through
        its history, else by a scan in store order."""
        if subjects is not None:
            for subject in subjects:
                after = -1
                while True:
                    items, cursor = await self.timeline(
                        tenant, subject, after=after, limit=500, types=types, start=start, end=end
                    )
                    for item in items:
                        yield item
                    if cursor is None:
                        break
                    after = cursor
            return
        state = await self.state(tenant)
        query: Document = {"tenant": tenant}
        if start or end:
            query["at"] = {**({"$gte": start} if start else {}), **({"$lt": end} if end else {})}
        keys: dict[str, bytes | None] = {}
        async for doc in self._store.scan(self._store.records, query):
            entry = doc["entry"]
            if not state.committed(doc.get("b", 0)) or (types and entry["type"] not in types):
                continue
            event, withheld = await self._open(doc, keys)
            yield _item(entry, event, withheld)

    async def purge(self, tenant: str, *, retention_days: int, holds: Document, now: datetime) -> dict[str, Any]:
        """Removes the payloads of records older than the retention, except under a legal hold; their
        entries stay, so every leaf, head and proof still verifies."""
        before = now - timedelta(days=retention_days)
        held_contacts = {f"contact:{c}" for c in holds.get("contacts", [])}
        held_customers = set(holds.get("customers", []))
        purged = held = 0
        query = {"tenant": tenant, "at": {"$lt": before}, "purged_at": {"$exists": False}}
        async for doc in self._store.scan(self._store.records, query):
            if doc["entry"]["subject"] in held_contacts or doc.get("customer") in held_customers:
                held += 1
                continue
            await self._store.records.update_one(
                {"_id": doc["_id"]}, {"$unset": {"payload": "", "sealed": ""}, "$set": {"purged_at": now}}
            )
            purged += 1
        return {"before": before, "records": purged, "held": held}


def _bucket_start(bucket: Bucket, base: datetime, at: datetime) -> datetime:
    """The start of the `bucket` holding the minute or hour `at` of the document starting at `base`."""
    if bucket == "day":
        return base
    if bucket == "quarter":
        return at.replace(minute=at.minute - at.minute % 15)
    return at


def _passes(doc: Document, types: set[str] | None, start: datetime | None, end: datetime | None) -> bool:
    entry = doc["entry"]
    at = datetime.fromisoformat(entry["occurred_at"])
    return not ((types and entry["type"] not in types) or (start and at < start) or (end and at >= end))


def _proofs(tree: Tree, indices: list[int]) -> list[list[bytes]]:
    return [tree.inclusion_proof(i) for i in indices]


def _item(entry: Document, event: dict[str, Any] | None, withheld: str | None) -> Item:
    return Item(
        entry["subject"],
        entry["seq"],
        entry["index"],
        entry["event_id"],
        entry["type"],
        entry["occurred_at"],
        event,
        withheld,
    )


def _steps(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out = []
    at = start
    while at < end:
        out.append(at)
        at += step
    return out


def _described(finding: Finding, subject: str | None) -> dict[str, Any]:
    return {
        "problem": finding.problem,
        "subject": subject,
        "index": finding.index,
        "seq": finding.seq,
        "event_id": finding.event_id,
        "detail": finding.detail,
    }


def entries(docs: list[Document]) -> tuple[list[tuple[Document, Entry]], list[Finding]]:
    """Each record with the entry it holds; a record whose entry is no longer well formed is edited,
    one stored at another record's place was moved."""
    kept, broken = [], []
    for doc in docs:
        try:
            entry = Entry(**doc["entry"])
        except (KeyError, TypeError):
            broken.append(Finding("edited", None, None, doc.get("_id"), "its entry is no longer well formed"))
            continue
        if doc["_id"] != record_id(entry.tenant, entry.subject, entry.seq):
            detail = f"stored at {doc['_id']}, another record's place: the history was reordered"
            broken.append(Finding("edited", entry.index, entry.seq, entry.event_id, detail))
        kept.append((doc, entry))
    return kept, broken
