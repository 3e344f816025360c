"""A crash between storing a contact and publishing its event loses nothing: the event goes out later,
with the same id, and only once it is stale (a fresh duplicate does not publish it a second time)."""

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from frontline.contracts.contacts import ContactSubmittedData
from services.intake.service import Classifiers, Intake, Submission
from services.intake.store import ContactStore, ModelStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class CrashOnce:
    def __init__(self) -> None:
        self.published: list[str] = []
        self.crashed = False

    async def __call__(self, event) -> None:
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("broker went away")
        self.published.append(str(event.id))


class English:
    def detect(self, text: str) -> tuple[str, float]:
        return "en", 0.9


@pytest_asyncio.fixture(loop_scope="session")
async def own_db(mongo_client, settings):
    """A database of its own, so that no running intake service's republisher gets there first."""
    name = f"{settings.mongodb_database}_recovery"
    yield mongo_client[name]
    await mongo_client.drop_database(name)


def intake_on(db, store: ContactStore, clock: Clock, publish) -> Intake:
    return Intake(
        store=store,
        classifiers=Classifiers(store, ModelStore(db), cache_seconds=0, unsure_below=0.5, in_memory=1),
        detector=English(),
        publish=publish,
        clock=clock,
        region="NL",
        stale_after=timedelta(seconds=10),
    )


async def test_a_crash_before_publishing_is_finished_by_the_sweeper_with_the_same_event(own_db):
    store, clock, publish = ContactStore(own_db), Clock(), CrashOnce()
    intake = intake_on(own_db, store, clock, publish)
    submission = Submission(
        tenant="acme",
        source="recovery-test",
        occurred_at=clock.now,
        data=(
            ContactSubmittedData.model_validate(
                {
                    "channel": "sms",
                    "customer": {"phone": "+31612345678"},
                    "text": "where is my parcel",
                    "external_id": str(clock.now),
                }
            )
        ),
    )
    with pytest.raises(ConnectionError):
        await intake.accept(submission)
    duplicate = await intake.accept(submission)
    assert duplicate.duplicate
    assert publish.published == [], "a duplicate leaves publishing to the sweeper"
    assert await intake.republish_pending() == 0, "not yet stale: its first delivery may still be publishing"
    clock.now += timedelta(seconds=11)
    assert await intake.republish_pending() == 1
    assert publish.published == [str(duplicate.event.id)]
    assert await intake.republish_pending() == 0
    assert (await intake.accept(submission)).event.id == duplicate.event.id
    assert publish.published == [str(duplicate.event.id)]


async def test_a_crash_before_the_contact_is_stored_is_finished_from_the_outbox(own_db):
    store, clock = ContactStore(own_db), Clock()
    published: list[str] = []

    async def publish(event) -> None:
        published.append(str(event.id))

    intake = intake_on(own_db, store, clock, publish)
    data = ContactSubmittedData.model_validate(
        {
            "channel": "chat",
            "customer": {"email": "o@example.com"},
            "text": "refund please",
            "external_id": f"outbox-{clock.now}",
        }
    )
    submission = Submission(tenant="acme", source="recovery-test", occurred_at=clock.now, data=data)
    [pending] = (await intake._understood({0: intake._arrival(submission, clock.now)}, clock.now)).values()
    assert await store.reserve([pending])
    clock.now += timedelta(seconds=11)
    assert await intake.republish_pending() == 1
    assert published == [str(pending.event.id)]
    assert await store.contact("acme", submission.contact_id()) == pending.event
    assert (await intake.accept(submission)).duplicate


async def test_an_outbox_entry_that_cannot_be_finished_is_set_aside_and_the_others_go_out(own_db):
    store, clock = ContactStore(own_db), Clock()
    published: list[str] = []

    async def publish(event) -> None:
        if event.data.text == "poison":
            raise OverflowError("date value out of range")  # what a message of its own causes
        published.append(str(event.id))

    intake = intake_on(own_db, store, clock, publish)
    pendings = []
    for text in ("poison", "fine"):
        data = ContactSubmittedData.model_validate(
            {
                "channel": "chat",
                "customer": {"email": "o@example.com"},
                "text": text,
                "external_id": f"{text}-{clock.now}",
            }
        )
        submission = Submission(tenant="acme", source="recovery-test", occurred_at=clock.now, data=data)
        [pending] = (await intake._understood({0: intake._arrival(submission, clock.now)}, clock.now)).values()
        assert await store.reserve([pending])
        pendings.append(pending)
    await own_db["intake_outbox"].insert_one({"_id": "corrupt", "stored_at": clock.now, "event": {"type": "x"}})
    clock.now += timedelta(seconds=11)
    assert await intake.republish_pending() == 3
    assert published == [str(pendings[1].event.id)]
    failed = {doc["_id"]: doc["reason"] async for doc in own_db["intake_outbox_failed"].find({})}
    assert failed[pendings[0].event.contact_id] == "OverflowError: date value out of range"
    assert "validation error" in failed["corrupt"]
    assert await own_db["intake_outbox"].count_documents({}) == 0
    assert await intake.republish_pending() == 0
