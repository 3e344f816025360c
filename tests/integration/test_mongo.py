"""What the services rely on from the MongoDB-wire server, checked against the real one."""

import pytest
from pymongo.errors import DuplicateKeyError


async def test_the_server_answers_ping(mongo_client):
    assert (await mongo_client.admin.command("ping"))["ok"] == 1.0


async def test_a_unique_index_refuses_a_duplicate(db):
    await db.uniqueness.create_index([("tenant", 1), ("external_id", 1)], unique=True)
    await db.uniqueness.insert_one({"tenant": "acme", "external_id": "T-1"})
    with pytest.raises(DuplicateKeyError):
        await db.uniqueness.insert_one({"tenant": "acme", "external_id": "T-1"})
    await db.uniqueness.insert_one({"tenant": "globex", "external_id": "T-1"})
    assert await db.uniqueness.count_documents({}) == 2
