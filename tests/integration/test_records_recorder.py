"""The recorder against the real store, without Kafka: a worker that does not hold a subject or a
customer in memory takes it for new; one that is stored after all is read and the batch computed
again, so a restarted worker continues every history where the last one left it."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.records.core.sealing import Signer
from services.records.queries import Records
from services.records.service import Recorder
from services.records.settings import RecordsSettings
from services.records.store import RecordStore
from tests.unit.factories import contact_assigned, contact_completed, contact_received


@pytest.fixture
async def own_db(mongo_client, settings):
    name = f"{settings.mongodb_database}_recorder"
    yield mongo_client[name]
    await mongo_client.drop_database(name)


def recorder(store: RecordStore, signer: Signer, **settings: int) -> Recorder:
    """A worker as it starts: nothing in memory."""
    return Recorder(RecordsSettings(**settings), store=store, signer=signer, clock=lambda: datetime.now(UTC))


async def test_a_worker_that_starts_afresh_continues_the_stored_histories(own_db) -> None:
    store, signer = RecordStore(own_db), Signer(os.urandom(32))
    tenant, contact, other = "acme", f"k-{uuid.uuid4().hex[:8]}", f"k-{uuid.uuid4().hex[:8]}"
    received = contact_received(tenant=tenant, contact_id=contact, customer={"customer_id": "cust-1"})
    await recorder(store, signer).append(tenant, [received])

    later = received.occurred_at + timedelta(seconds=5)
    second = [
        contact_assigned(contact, "ann", tenant=tenant).model_copy(update={"occurred_at": later}),
        contact_completed(contact, "ann", tenant=tenant).model_copy(update={"occurred_at": later}),
        contact_received(tenant=tenant, contact_id=other, customer={"customer_id": "cust-1"}),
    ]
    await recorder(store, signer).append(tenant, second)  # took the contact and its customer for new

    records = Records(store, signer.public_key, audit_seconds=60)
    items, _ = await records.timeline(tenant, f"contact:{contact}")
    assert [item.seq for item in items] == [0, 1, 2], "the history goes on after the first worker's record"
    state = await records.state(tenant)
    assert (await records.subject_head(state, f"contact:{contact}"))["count"] == 3
    history = (await records.customer(state, "cust-1"))["contacts"]
    assert {entry["contact"] for entry in history} == {contact, other}, "the customer's first contact kept"
    verification = await records.verify(tenant, [f"contact:{contact}", f"contact:{other}"])
    assert verification.intact
    assert verification.records_checked == 4


async def test_a_batch_of_more_documents_than_the_worker_keeps_in_memory_is_recorded(own_db) -> None:
    """What a batch learns is stored is kept for the batch, whatever the cache drops meanwhile."""
    store, signer = RecordStore(own_db), Signer(os.urandom(32))
    tenant, contacts = "acme", [f"k-{uuid.uuid4().hex[:8]}" for _ in range(60)]
    received = [
        contact_received(tenant=tenant, contact_id=contact, customer={"customer_id": f"cust-{n}"})
        for n, contact in enumerate(contacts)
    ]
    await recorder(store, signer).append(tenant, received)
    later = received[0].occurred_at + timedelta(seconds=5)
    await recorder(store, signer, documents_in_memory=100).append(
        tenant,
        [contact_assigned(c, "ann", tenant=tenant).model_copy(update={"occurred_at": later}) for c in contacts],
    )
    records = Records(store, signer.public_key, audit_seconds=60)
    state = await records.state(tenant)
    for contact in contacts[::7]:
        assert (await records.subject_head(state, f"contact:{contact}"))["count"] == 2
    verification = await records.verify(tenant, [f"contact:{c}" for c in contacts])
    assert verification.intact
    assert verification.records_checked == 120
