"""The intake store's rules, against the real MongoDB-wire server."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio

from services.intake.core.customers import ProfileUpdate
from services.intake.core.identity import Identity
from services.intake.store import ContactStore, Correction, ModelStore, ReferenceTaken, Visit

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def store(db):
    return ContactStore(db)


def visit(customer: str, concern: str, contact: str, *, tenant: str = "acme", on: date | None = None, **ids) -> Visit:
    identity = Identity(ids.get("reference"), ids.get("email"), ids.get("phone"), ids.get("name"))
    return Visit(tenant, customer, identity, concern, on or NOW.date(), contact, NOW)


async def test_a_visit_returns_the_last_other_contact_about_the_same_concern(store):
    who = f"cust-{uuid.uuid4().hex[:8]}"
    created = await store.create_customers([visit(who, "billing", "c1", on=date(2026, 11, 20), email="a@x.nl")])
    assert created[who].created
    assert created[who].profile.emails == ["a@x.nl"]
    [second, third, other] = await store.visit(
        [
            visit(who, "billing", "c2", phone="+31612345678"),
            visit(who, "billing", "c3"),
            visit(who, "returns_refunds", "c4"),
        ]
    )
    assert (second.created, second.last_same_concern) == (False, (date(2026, 11, 20), "c1"))
    assert second.profile.phones == ["+31612345678"]
    assert second.profile.emails == ["a@x.nl"]
    assert third.last_same_concern == (NOW.date(), "c2"), "visits of one customer are made in order"
    assert other.last_same_concern is None
    assert await store.create_customers([visit(who, "billing", "c5")]) == {}, "a profile is created once"


async def test_a_visit_to_a_missing_profile_creates_it_and_never_crosses_tenants(store):
    who = f"cust-{uuid.uuid4().hex[:8]}"
    [first] = await store.visit([visit(who, "billing", "c1", reference="R-1")])
    assert first.created
    assert first.profile.reference == "R-1"
    with pytest.raises(LookupError):
        await store.visit([visit(who, "billing", "c2", tenant="globex")])


async def test_a_customer_key_names_one_customer_and_is_remembered(store, db):
    unique = uuid.uuid4().hex[:8]
    key = f"email:{unique}@x.nl"
    assert await store.claim_keys("acme", {key: "first"}) == {key: "first"}
    assert await store.claim_keys("acme", {key: "second"}) == {key: "first"}
    assert await ContactStore(db).claim_keys("acme", {key: "third"}) == {key: "first"}, "read back when not known"
    assert await store.claim_keys("globex", {key: "other"}) == {key: "other"}


async def test_a_reference_number_names_one_customer_only(store):
    unique = uuid.uuid4().hex[:8]
    first, second = f"cust-{unique}-1", f"cust-{unique}-2"
    await store.claim_keys("acme", {f"ref:R-{unique}": first})
    await store.create_customers([visit(first, "billing", "c1"), visit(second, "billing", "c2")])
    with pytest.raises(ReferenceTaken):
        await store.update_customer("acme", second, ProfileUpdate(reference=f"R-{unique}"), now=NOW)
    assert await store.update_customer("globex", first, ProfileUpdate(tier="gold"), now=NOW) is None
    updated = await store.update_customer("acme", first, ProfileUpdate(tier="gold"), now=NOW)
    assert updated is not None
    assert updated.tier == "gold"


async def test_corrections_older_than_the_newest_a_training_reads_are_pruned(db):
    models = ModelStore(db)
    tenant = f"prune-{uuid.uuid4().hex[:8]}"
    other = f"prune-{uuid.uuid4().hex[:8]}"
    corrections = [
        Correction(t, f"c-{i}", f"text {i}", None, "billing", NOW + timedelta(minutes=i))
        for t in (tenant, other)
        for i in range(5)
    ]
    assert await models.add_corrections(corrections) == {tenant: 5, other: 5}
    assert await models.prune_corrections(tenant, keep=3) == 2
    assert [e.text for e in await models.corrections(tenant, limit=10)] == ["text 4", "text 3", "text 2"]
    assert len(await models.corrections(other, limit=10)) == 5  # another tenant's are left alone
    assert await models.prune_corrections(tenant, keep=3) == 0
    assert await models.prune_corrections(f"none-{uuid.uuid4().hex[:8]}", keep=3) == 0


async def test_a_tenant_is_due_after_its_pause_at_once_after_an_upload_and_again_after_a_crash(db):
    models = ModelStore(db)
    tenant = f"due-{uuid.uuid4().hex[:8]}"
    hour = timedelta(hours=1)
    assert not (await models.learning(tenant)).pending
    await models.changed(tenant)
    assert (await models.learning(tenant)).pending
    assert tenant in await models.claim(now=NOW, lease=hour, limit=1000)
    assert tenant not in await models.claim(now=NOW, lease=hour, limit=1000), "leased"
    await models.trained(tenant, {"outcome": "promoted"}, next_after=NOW + hour)
    learning = await models.learning(tenant)
    assert (learning.pending, learning.last_training) == (False, {"outcome": "promoted"})

    await models.changed(tenant)  # an agent's correction waits for the pause
    assert (await models.learning(tenant)).next_training == NOW + hour
    assert tenant not in await models.claim(now=NOW + hour / 2, lease=hour, limit=1000)
    await models.changed(tenant, now=True)  # an upload does not
    assert (await models.learning(tenant)).next_training is None
    assert tenant in await models.claim(now=NOW + hour / 2, lease=hour, limit=1000)

    # the process training it dies: once the lease runs out the training is done again
    assert (await models.learning(tenant)).pending
    assert tenant not in await models.claim(now=NOW + hour, lease=hour, limit=1000)
    assert tenant in await models.claim(now=NOW + 2 * hour, lease=hour, limit=1000)


async def test_no_change_is_lost_while_trainings_start_and_end_beside_many_writers(db):
    """FerretDB applies an update as a read then a write, so updates of one document from several
    writers can lose one: each change is its own insert, and a training deletes only what it saw."""
    tenant = f"race-{uuid.uuid4().hex[:8]}"
    writers, trainer = [ModelStore(db) for _ in range(4)], ModelStore(db)
    clock = iter(range(1_000_000))
    changes: list[int] = []
    claims: list[int] = []

    async def write(store: ModelStore) -> None:
        for _ in range(40):
            await store.changed(tenant)
            changes.append(next(clock))

    async def train() -> None:  # until most changes are made: the last ones race the last trainings
        while len(changes) < 120:
            if tenant in await trainer.claim(now=NOW, lease=timedelta(hours=1), limit=1000):
                claims.append(next(clock))  # the training reads the examples after this
                await trainer.trained(tenant, {"outcome": "kept"}, next_after=NOW - timedelta(hours=1))

    await asyncio.gather(train(), *(write(store) for store in writers))
    assert len(changes) == 160
    assert claims, "trainings ran while the changes were made"
    assert changes[-1] > claims[-1]
    assert (await trainer.learning(tenant)).pending, "a change after the last training began is waiting"
    assert tenant in await trainer.claim(now=NOW, lease=timedelta(hours=1), limit=1000)
