"""Records' collections. Everything is read and written by `_id` (FerretDB answers any other filter by
scanning), and a tenant's log has one writer at a time, so no write needs a transaction:

- `records_logs` (`_id` tenant) is the commit point: the tenant's tree size, right edge and signed
  head, its batch number, its agents and waiting contacts. A batch writes everything else first and
  this last; a crash in between leaves *provisional* documents, marked with a batch number above the
  committed one, that readers ignore and the next writer overwrites.
- Documents that change (subject heads, customers, KPI hours and days) keep the committed value
  beside the new one: `{v: new, p: committed before, b: batch}`; a reader whose committed batch is
  below `b` takes `p`. Each value is one BSON blob: FerretDB replaces a document field by field, and
  two blobs replace faster than the same values as nested documents (measured, see
  BENCHMARKS.md); nothing filters on what is inside them.
- `records` (`tenant|subject|seq`), `records_tiles` (`tenant|tier|index`, a partial tile
  `tenant|tier|index.width`: the log's hashes, 256 to a document, see `core/tiles.py`) and
  `records_ids` (`event id`, the idempotence gate) are written once, except provisional ones, which
  are replaced. A partial tile outgrown stays: a reader of the log at an earlier size may be reading it.
- `records_keys` (`tenant|customer`) holds each customer's payload key until erasure destroys it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import bson
from bson import Binary
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from pymongo import ReplaceOne
from pymongo.errors import DuplicateKeyError

from frontline.plumbing.mongo import Collection, Database, Document, by_ids, insert_new
from services.records.core.tiles import WIDTH, Tile

UPDATE_STATEMENTS = 50
BLOBS: CodecOptions[Document] = CodecOptions(
    tz_aware=True, tzinfo=UTC, uuid_representation=UuidRepresentation.STANDARD
)  # as the client


def record_id(tenant: str, subject: str, seq: int) -> str:
    return f"{tenant}|{subject}|{seq:09d}"


def tile_id(tenant: str, tile: Tile) -> str:
    ident = f"{tenant}|{tile.tier}|{tile.index}"
    return ident if tile.width == WIDTH else f"{ident}.{tile.width}"


def hour_id(tenant: str, dimension: str, key: str, hour: datetime) -> str:
    return f"{tenant}|h|{dimension}|{key}|{hour:%Y-%m-%dT%H}"


def day_id(tenant: str, dimension: str, key: str, day: datetime) -> str:
    return f"{tenant}|d|{dimension}|{key}|{day:%Y-%m-%d}"


@dataclass
class LogState:
    """A tenant's committed log state, as `records_logs` holds it."""

    tenant: str
    batch: int = 0  # the last batch committed
    reserved: int = 0  # the last batch number handed out
    abandoned: list[int] = field(default_factory=list)  # numbers a crashed writer used and never committed
    size: int = 0
    edge: list[tuple[int, int, bytes]] = field(default_factory=list)
    head: Document | None = None  # the latest signed tree head
    agents: dict[str, Document] = field(default_factory=dict)
    waiting: dict[str, Document] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)  # dimension → keys seen, for KPI listings
    partial: dict[int, bytes] = field(default_factory=dict)  # each tier's partial tile, as the tiles hold it

    def document(self) -> Document:
        return {
            "_id": self.tenant,
            "batch": self.batch,
            "reserved": self.reserved,
            "abandoned": self.abandoned,
            "size": self.size,
            "edge": [{"l": level, "i": index, "h": digest} for level, index, digest in self.edge],
            "head": self.head,
            "agents": self.agents,
            "waiting": self.waiting,
            "keys": self.keys,
            "partial": {str(tier): hashes for tier, hashes in self.partial.items()},
            "updated_at": datetime.now(UTC),
        }

    def committed(self, batch: int) -> bool:
        """Whether documents written by `batch` count."""
        return batch <= self.batch and batch not in self.abandoned

    @classmethod
    def of(cls, tenant: str, doc: Document | None) -> LogState:
        if doc is None:
            return cls(tenant)
        return cls(
            tenant=tenant,
            batch=doc.get("batch", 0),
            reserved=doc.get("reserved", 0),
            abandoned=doc.get("abandoned", []),
            size=doc.get("size", 0),
            edge=[(node["l"], node["i"], bytes(node["h"])) for node in doc.get("edge", [])],
            head=doc.get("head"),
            agents=doc.get("agents", {}),
            waiting=doc.get("waiting", {}),
            keys=doc.get("keys", {}),
            partial={int(tier): bytes(hashes) for tier, hashes in doc.get("partial", {}).items()},
        )


def versioned(ident: str, value: Document | None, before: Document | None, batch: int) -> Document:
    """A versioned document: the batch's value and the committed one before it, each one blob."""
    return {"_id": ident, "v": _blob(value), "p": _blob(before), "b": batch}


def _blob(value: Document | None) -> Binary | None:
    return None if value is None else Binary(bson.encode(value, codec_options=BLOBS))


def _unblob(blob: bytes | Document | None) -> Document | None:
    if blob is None or isinstance(blob, dict):  # a value stored as a document, before blobs
        return blob
    value: Document = bson.decode(blob, codec_options=BLOBS)
    return value


def committed(doc: Document | None, state: LogState) -> Document | None:
    """The value of a versioned document as of the tenant's committed state."""
    if doc is None:
        return None
    return _unblob(doc["v"] if state.committed(doc["b"]) else doc.get("p"))


class Fenced(RuntimeError):
    """Another worker reserved a batch of this tenant since: this one no longer owns the log."""


class RecordStore:
    def __init__(self, db: Database) -> None:
        self.logs: Collection = db["records_logs"]
        self.ids: Collection = db["records_ids"]
        self.records: Collection = db["records"]
        self.tiles: Collection = db["records_tiles"]
        self.subjects: Collection = db["records_subjects"]
        self.customers: Collection = db["records_customers"]
        self.kpis: Collection = db["records_kpis"]
        self.heads: Collection = db["records_heads"]
        self.keys: Collection = db["records_keys"]
        self.policies: Collection = db["records_policies"]
        self.dead_letters: Collection = db["records_dead_letters"]
        self.signing: Collection = db["records_signing"]

    async def ensure_indexes(self) -> None:
        """Nothing on the hot path needs one beyond `_id`; purge and export filter by time (a scan on
        FerretDB, an index on MongoDB)."""
        await self.records.create_index([("tenant", 1), ("at", 1)], name="by_time")

    async def log_state(self, tenant: str) -> LogState:
        return LogState.of(tenant, await self.logs.find_one({"_id": tenant}))

    async def reserve(self, state: LogState) -> int:
        """The next batch's number, written down before the batch writes anything: a number a crashed
        writer reserved and never committed is abandoned, so its leftovers never count."""
        if state.reserved > state.batch and state.reserved not in state.abandoned:
            state.abandoned.append(state.reserved)
        state.reserved = max(state.batch, state.reserved) + 1
        await self.logs.update_one(
            {"_id": state.tenant},
            {"$set": {"reserved": state.reserved, "abandoned": state.abandoned}},
            upsert=True,
        )
        return state.reserved

    async def commit(self, state: LogState) -> None:
        """Writes the committed state, unless another worker reserved a batch since (a filter on two
        fields: FerretDB scans, but this collection holds one document per tenant)."""
        done = await self.logs.replace_one({"_id": state.tenant, "reserved": state.batch}, state.document())
        if done.matched_count != 1:
            raise Fenced(f"tenant {state.tenant}: another worker reserved a batch since batch {state.batch}")

    async def tenants(self) -> list[str]:
        return [doc["_id"] async for doc in self.logs.find({}, {"_id": 1})]

    async def claim(self, docs: list[Document]) -> list[Document]:
        """Inserts idempotence gates; returns the existing gates of those already there."""
        taken = await insert_new(self.ids, docs)
        return list((await self.by_ids(self.ids, [docs[i]["_id"] for i in taken])).values())

    async def by_ids(self, collection: Collection, ids: Iterable[str]) -> dict[str, Document]:
        return await by_ids(collection, ids)

    async def tiles_of(self, tenant: str, tiles: Iterable[Tile]) -> dict[Tile, bytes]:
        """The stored hashes of each tile found."""
        wanted = {tile_id(tenant, tile): tile for tile in tiles}
        return {wanted[ident]: bytes(doc["h"]) for ident, doc in (await self.by_ids(self.tiles, wanted)).items()}

    async def add_tiles(self, tenant: str, tiles: dict[Tile, bytes]) -> None:
        docs = [{"_id": tile_id(tenant, tile), "t": tenant, "h": hashes} for tile, hashes in tiles.items()]
        await self.write_once(self.tiles, docs)

    async def write_once(self, collection: Collection, docs: list[Document]) -> None:
        """Inserts documents; ones already there (left by an uncommitted batch) are replaced."""
        for i in await insert_new(collection, docs):
            await collection.replace_one({"_id": docs[i]["_id"]}, docs[i])

    async def write_versioned(self, collection: Collection, docs: list[Document]) -> None:
        """Replaces (or inserts) the documents, UPDATE_STATEMENTS at a time: FerretDB 1.24 (SQLite) keeps
        a connection per statement of an update command, and one of more than ~100 statements that
        match existing documents exhausts its pool of 100 and hangs the database."""
        for start in range(0, len(docs), UPDATE_STATEMENTS):
            chunk = docs[start : start + UPDATE_STATEMENTS]
            await collection.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in chunk], ordered=False)

    async def customer_key(self, tenant: str, customer: str, fresh: bytes) -> bytes:
        """The customer's payload key, made with `fresh` if the customer has none (or was erased)."""
        ident = f"{tenant}|{customer}"
        try:
            await self.keys.insert_one({"_id": ident, "key": fresh, "created_at": datetime.now(UTC)})
        except DuplicateKeyError:
            doc = await self.keys.find_one({"_id": ident})
            if doc is not None:
                return bytes(doc["key"])
            return await self.customer_key(tenant, customer, fresh)
        return fresh

    async def customer_keys(self, tenant: str, fresh: dict[str, bytes]) -> dict[str, bytes]:
        """Each customer's payload key: the stored one, else the fresh one given (stored now)."""
        now = datetime.now(UTC)
        docs = [{"_id": f"{tenant}|{c}", "key": key, "created_at": now} for c, key in fresh.items()]
        taken = [str(docs[i]["_id"]) for i in await insert_new(self.keys, docs)]
        found = {d["_id"]: bytes(d["key"]) for d in (await self.by_ids(self.keys, taken)).values()}
        keys = {}
        for customer, key in fresh.items():
            ident = f"{tenant}|{customer}"
            if ident not in taken:
                keys[customer] = key
            elif ident in found:
                keys[customer] = found[ident]
            else:  # erased between the insert and the lookup
                keys[customer] = await self.customer_key(tenant, customer, key)
        return keys

    async def existing_key(self, tenant: str, customer: str) -> bytes | None:
        doc = await self.keys.find_one({"_id": f"{tenant}|{customer}"})
        return None if doc is None else bytes(doc["key"])

    async def destroy_key(self, tenant: str, customer: str) -> None:
        await self.keys.delete_one({"_id": f"{tenant}|{customer}"})

    async def policy(self, tenant: str) -> Document:
        return await self.policies.find_one({"_id": tenant}) or {"_id": tenant}

    async def save_policy(self, doc: Document) -> None:
        await self.policies.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def add_head(self, doc: Document) -> None:
        try:
            await self.heads.insert_one(doc)
        except DuplicateKeyError:
            return  # the same size was signed before a crash

    async def scan(
        self, collection: Collection, query: Document, projection: Document | None = None, *, batch_size: int = 1000
    ) -> AsyncIterator[Document]:
        async for doc in collection.find(query, projection, batch_size=batch_size):
            yield doc
