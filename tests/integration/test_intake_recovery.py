"""A crash between storing a contact and publishing its event loses nothing: the event goes out later,
with the same id, and only once it is stale (a fresh duplicate does not publish it a second time)."""

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from frontline.contracts.contacts import ContactSubmittedData
from services.intake.intake import Intake, Submission, Taxonomies
from services.intake.store import ContactStore


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


async def test_a_contact_stored_but_not_published_is_published_once_it_is_stale(own_db):
    store, clock, publish = ContactStore(own_db), Clock(), CrashOnce()
    await store.ensure_indexes()
    intake = Intake(
        store=store,
        taxonomies=Taxonomies(store, cache_seconds=0),
        detector=English(),
        publish=publish,
        clock=clock,
        region="NL",
        stale_after=timedelta(seconds=10),
    )
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
    assert publish.published == []
    assert await intake.republish_pending() == 0
    clock.now += timedelta(seconds=11)
    assert await intake.republish_pending() == 1
    assert publish.published == [str(duplicate.event.id)]
    assert await intake.republish_pending() == 0
    assert (await intake.accept(submission)).event.id == duplicate.event.id
    assert publish.published == [str(duplicate.event.id)]
