"""The intake store's rules, against the real MongoDB-wire server."""

import uuid
from datetime import UTC, date, datetime

import pytest
import pytest_asyncio

from services.intake.domain.customers import ProfileUpdate
from services.intake.domain.identity import Identity
from services.intake.store import ContactStore, ReferenceTaken

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def store(db):
    return ContactStore(db)


def customer() -> str:
    return f"cust-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(("days_before", "repeat"), [(0, True), (1, True), (7, True), (8, False), (30, False)])
async def test_a_repeat_is_the_same_concern_on_the_same_day_or_the_7_days_before(store, days_before, repeat):
    who = customer()
    earlier = date.fromordinal(date(2026, 11, 22).toordinal() - days_before)
    assert not await store.raised_recently("acme", who, "billing", contact_id="first", on=earlier)
    assert await store.raised_recently("acme", who, "billing", contact_id="second", on=date(2026, 11, 22)) is repeat


async def test_another_concern_or_the_same_contact_again_is_no_repeat(store):
    who = customer()
    assert not await store.raised_recently("acme", who, "billing", contact_id="c1", on=date(2026, 11, 22))
    assert not await store.raised_recently("acme", who, "billing", contact_id="c1", on=date(2026, 11, 22))
    assert not await store.raised_recently("acme", who, "returns_refunds", contact_id="c2", on=date(2026, 11, 22))
    assert not await store.raised_recently("globex", who, "billing", contact_id="c3", on=date(2026, 11, 22))


async def test_the_strongest_identifier_decides_and_new_ones_are_linked(store):
    unique = uuid.uuid4().hex[:8]
    by_email, created = await store.identify("acme", Identity(None, f"{unique}@x.nl", None, "Ann"), now=NOW)
    assert created
    again, created = await store.identify("acme", Identity(None, f"{unique}@x.nl", "+31612345678", None), now=NOW)
    assert (again.customer_id, created) == (by_email.customer_id, False)
    assert again.phones == ["+31612345678"]
    by_phone, _ = await store.identify("acme", Identity(None, None, "+31612345678", None), now=NOW)
    assert by_phone.customer_id == by_email.customer_id
    other_tenant, created = await store.identify("globex", Identity(None, f"{unique}@x.nl", None, None), now=NOW)
    assert created
    assert other_tenant.customer_id != by_email.customer_id


async def test_a_reference_number_names_one_customer_only(store):
    unique = uuid.uuid4().hex[:8]
    first, _ = await store.identify("acme", Identity(f"R-{unique}", None, None, None), now=NOW)
    second, _ = await store.identify("acme", Identity(None, f"{unique}@y.nl", None, None), now=NOW)
    with pytest.raises(ReferenceTaken):
        await store.update_customer("acme", second.customer_id, ProfileUpdate(reference=f"R-{unique}"), now=NOW)
    assert await store.update_customer("globex", first.customer_id, ProfileUpdate(tier="gold"), now=NOW) is None
