"""MongoDB through PyMongo's async API. Only features FerretDB 1.x also has are relied on:
single-document writes, unique indexes, plain queries and aggregation without $lookup."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from frontline.plumbing.settings import Settings

Document = dict[str, Any]
Client = AsyncMongoClient[Document]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]


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
