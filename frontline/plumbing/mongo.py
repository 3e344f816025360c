"""MongoDB through PyMongo's async API. Only features FerretDB 1.x also has are relied on:
bulk writes, unique indexes, plain queries and aggregation without $lookup; and the two bulk
helpers every store uses, shaped by what every MongoDB-wire server does fast."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from frontline.plumbing.settings import Settings

Document = dict[str, Any]
Client = AsyncMongoClient[Document]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]
DUPLICATE_KEY = 11000
LOOKUPS_AT_ONCE = 32


def connect(settings: Settings, *, app_name: str) -> Client:
    """A client that fails fast (5 s) when the server is away, instead of hanging a request."""
    return AsyncMongoClient(
        settings.mongodb_url,
        appname=app_name,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        timeoutMS=10_000,
    )


async def ping(client: Client) -> None:
    await client.admin.command("ping")


async def insert_new(collection: Collection, docs: list[Document]) -> list[int]:
    """Inserts the documents in one unordered bulk write; the positions of those whose `_id` was
    already taken (read from the write errors per document). Any other write error is raised."""
    if not docs:
        return []
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return sorted(e["index"] for e in errors)
    return []


async def by_ids(collection: Collection, ids: Iterable[str]) -> dict[str, Document]:
    """The documents with these `_id`s, each read by its `_id`, LOOKUPS_AT_ONCE at a time: an `$in`
    filter is a scan of the whole collection on FerretDB 1.x, whichever backend."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Document] = {}
    for start in range(0, len(wanted), LOOKUPS_AT_ONCE):
        chunk = wanted[start : start + LOOKUPS_AT_ONCE]
        for doc in await asyncio.gather(*(collection.find_one({"_id": ident}) for ident in chunk)):
            if doc is not None:
                found[doc["_id"]] = doc
    return found
