"""Intake's use case, a batch at a time, against an in-memory repository with the store's contract
(the real one is tested against the real server in tests/integration)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from frontline.contracts.contacts import ContactSubmittedData
from services.intake.core.customers import CustomerProfile
from services.intake.service import Accepted, Classifiers, Intake, Refused, Submission
from services.intake.store import Pending, Visit, Visited

NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)


class MemoryStore:
    """The ContactStore contract, kept in dicts; `fail_once` makes the next call of that name fail."""

    def __init__(self) -> None:
        self.outbox: dict[str, Pending] = {}
        self.contacts: dict[str, Pending] = {}
        self.keys: dict[str, str] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.fail_once: set[str] = set()

    def _maybe_fail(self, name: str) -> None:
        if name in self.fail_once:
            self.fail_once.discard(name)
            raise ConnectionError(f"{name}: the store went away")

    async def taxonomy(self, tenant: str) -> None:
        return None

    async def reserve(self, pendings: list[Pending]) -> set[str]:
        self._maybe_fail("reserve")
        return _insert(self.outbox, {p.contact_id: p for p in pendings})

    async def add_contacts(self, pendings: list[Pending]) -> set[str]:
        return _insert(self.contacts, {p.contact_id: p for p in pendings})

    async def published(self, ids) -> None:
        for ident in list(ids):
            self.outbox.pop(ident, None)

    async def contact(self, tenant: str, contact_id: str):
        found = self.contacts.get(contact_id)
        return found.event if found and found.event.tenant == tenant else None

    async def pending(self, contact_id: str):
        return self.outbox.get(contact_id)

    async def claim_keys(self, tenant: str, claims: dict[str, str]) -> dict[str, str]:
        return {key: self.keys.setdefault(f"{tenant}|{key}", customer) for key, customer in claims.items()}

    async def create_customers(self, visits: list[Visit]) -> dict[str, Visited]:
        created = {}
        for visit in visits:
            if visit.customer_id not in self.profiles:
                self.profiles[visit.customer_id] = _profile_doc(visit)
                created[visit.customer_id] = Visited(_profile(self.profiles[visit.customer_id]), True, None)
        return created

    async def visit(self, visits: list[Visit]) -> list[Visited]:
        results = []
        for visit in visits:
            before = copy.deepcopy(self.profiles.get(visit.customer_id))
            if before is None:
                self.profiles[visit.customer_id] = _profile_doc(visit)
                results.append(Visited(_profile(self.profiles[visit.customer_id]), True, None))
                continue
            self.profiles[visit.customer_id]["concerns"][visit.concern] = (visit.day, visit.contact_id)
            results.append(Visited(_profile(before), False, before["concerns"].get(visit.concern)))
        return results


def _insert(into: dict[str, Pending], new: dict[str, Pending]) -> set[str]:
    fresh = {ident for ident in new if ident not in into}
    into.update({ident: new[ident] for ident in fresh})
    return fresh


def _profile_doc(visit: Visit) -> dict[str, Any]:
    return {
        "customer_id": visit.customer_id,
        "tenant": visit.tenant,
        "created_at": visit.now,
        "updated_at": visit.now,
        "concerns": {visit.concern: (visit.day, visit.contact_id)},
    }


def _profile(doc: dict[str, Any]) -> CustomerProfile:
    return CustomerProfile.model_validate({k: v for k, v in doc.items() if k != "concerns"})


class NoModels:
    """The ModelStore contract for a tenant that never trained a model."""

    async def live(self, tenant: str) -> int | None:
        return None


class English:
    def detect(self, text: str) -> tuple[str, float]:
        return "en", 0.9


class Published(list):
    async def __call__(self, event) -> None:
        self.append(event)


def intake_on(store: MemoryStore, published: Published) -> Intake:
    return Intake(
        store=store,  # type: ignore[arg-type]
        classifiers=Classifiers(
            store,  # type: ignore[arg-type]
            NoModels(),  # type: ignore[arg-type]
            cache_seconds=60,
            unsure_below=0.5,
            in_memory=1,
        ),
        detector=English(),
        publish=published,
        clock=lambda: NOW,
        region="NL",
        stale_after=timedelta(seconds=10),
    )


def submission(text: str, *, key: str | None = None, email: str = "ann@example.com", **fields: Any) -> Submission:
    data = {"channel": "chat", "customer": {"email": email}, "text": text} | fields
    occurred_at = fields.pop("occurred_at", NOW)
    return Submission(
        tenant="acme",
        source="test",
        occurred_at=occurred_at,
        data=ContactSubmittedData.model_validate({k: v for k, v in data.items() if k != "occurred_at"}),
        idempotency_key=key,
    )


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


async def test_a_batch_is_accepted_in_order_with_refusals_and_duplicates_in_place(store):
    published = Published()
    outcomes = await intake_on(store, published).accept_many(
        [
            submission("my invoice is wrong", key="a"),
            submission("hello", email="not an address"),
            submission("my invoice is wrong", key="a"),
            submission("where is my parcel", key="b", occurred_at=NOW + timedelta(hours=1)),
            submission("where is my parcel", key="c", email="bob@example.com"),
        ]
    )
    first, bad, again, future, other = outcomes
    assert isinstance(first, Accepted)
    assert not first.duplicate
    assert isinstance(bad, Refused)
    assert bad.location == ("customer", "email")
    assert isinstance(again, Accepted)
    assert again.duplicate
    assert again.event == first.event
    assert isinstance(future, Refused)
    assert future.location == ("occurred_at",)
    assert isinstance(other, Accepted)
    assert not other.duplicate
    assert [event.id for event in published] == [first.event.id, other.event.id], "each contact published once"
    assert store.outbox == {}, "the outbox is emptied once the events are out"


async def test_the_same_customer_twice_in_a_batch_is_one_customer_and_the_second_contact_repeats(store):
    outcomes = await intake_on(store, Published()).accept_many(
        [submission("my invoice is wrong", key="1"), submission("my invoice is wrong again", key="2")]
    )
    first, second = (outcome.event.data for outcome in outcomes)
    assert first.customer.customer_id == second.customer.customer_id
    assert (first.customer.new_customer, first.repeat_contact) == (True, False)
    assert (second.customer.new_customer, second.repeat_contact) == (False, True)


async def test_a_batch_retried_after_a_failure_answers_as_its_first_attempt(store):
    published = Published()
    intake = intake_on(store, published)
    await intake.accept(submission("my invoice is wrong", key="earlier"))
    store.fail_once.add("reserve")
    batch = [submission("my invoice is still wrong", key="later"), submission("new here", key="n", email="c@x.nl")]
    with pytest.raises(ConnectionError):
        await intake.accept_many(batch)
    later, new = await intake.accept_many(batch)
    assert later.event.data.repeat_contact, "the first attempt's memory, not the profile it already changed"
    assert new.event.data.customer.new_customer
    assert len(published) == 3


async def test_a_redelivered_contact_is_its_duplicate_and_is_not_published_again(store):
    published = Published()
    intake = intake_on(store, published)
    first = await intake.accept(submission("refund please", key="k"))
    again = await intake.accept(submission("refund please", key="k"))
    assert again.duplicate
    assert again.event == first.event
    assert len(published) == 1


def test_refusals_name_every_bad_submission_before_anything_is_stored(store):
    intake = intake_on(store, Published())
    refusals = intake.refusals([submission("fine"), submission("bad", email="nope"), submission("bad", email="x")])
    assert [index for index, _ in refusals] == [1, 2]
    assert store.profiles == {}
    assert store.outbox == {}
