"""The intake store's rules, against the real MongoDB-wire server."""

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
