"""MongoDB through PyMongo's async API. Only features FerretDB 1.x also has are relied on:
single-document writes, unique indexes, plain queries and aggregation without $lookup."""

from __future__ import annotations

from pymongo import AsyncMongoClient

from frontline.plumbing.settings import Settings


def connect(settings: Settings, *, app_name: str) -> AsyncMongoClient:
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


async def ping(client: AsyncMongoClient) -> None:
    await client.admin.command("ping")
