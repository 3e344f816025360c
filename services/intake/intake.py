"""The front door's one behaviour, whichever door a contact comes through: accept it exactly once.

Idempotent by construction: the contact id is derived from the idempotency key, or from the
submitting system and its external id, and stored as the document `_id`. The `contact.received`
event is stored with the contact and published after; a crash in between is healed by the
next duplicate delivery or by `republish_pending`, always with the same event id.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from frontline.contracts import Event
from frontline.contracts.contacts import ContactReceived, ContactReceivedData, ContactSubmittedData
from services.intake.domain.identity import normalise
from services.intake.domain.language import LanguageDetector
from services.intake.domain.taxonomy import Classifier
from services.intake.domain.understanding import REPEAT_WINDOW, Understanding, check_arrival, understand
from services.intake.store import ContactStore, StoredContact
from services.intake.taxonomy import default_taxonomy

_CONTACT_NAMESPACE = UUID("0b6f9a52-63d4-4f0e-9d0e-4e1f6c2b7a31")
SOURCE = "intake"


@dataclass(frozen=True)
class Submission:
    """A contact as it comes through either door."""

    tenant: str
    source: str
    occurred_at: datetime
    data: ContactSubmittedData
    idempotency_key: str | None = None
    submitted_event: Event | None = None  # the inbound event, when it came by Kafka

    def contact_id(self) -> str:
        key = self.idempotency_key or self.data.idempotency_key
        if key:
            return str(uuid.uuid5(_CONTACT_NAMESPACE, f"{self.tenant}|key|{key}"))
        if self.data.external_id:
            return str(uuid.uuid5(_CONTACT_NAMESPACE, f"{self.tenant}|ext|{self.source}|{self.data.external_id}"))
        return str(uuid4())


@dataclass(frozen=True)
class Accepted:
    event: ContactReceived
    duplicate: bool


Publish = Callable[[Event], Awaitable[None]]
Clock = Callable[[], datetime]


class Taxonomies:
    """Each tenant's classifier, cached for a while; the shipped default when a tenant has none."""

    def __init__(self, store: ContactStore, *, cache_seconds: float) -> None:
        self._store, self._cache_seconds = store, cache_seconds
        self._cache: dict[str, tuple[float, Classifier]] = {}
        self._default = Classifier(default_taxonomy())

    async def classifier(self, tenant: str) -> Classifier:
        cached = self._cache.get(tenant)
        if cached and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        taxonomy = await self._store.taxonomy(tenant)
        classifier = Classifier(taxonomy) if taxonomy else self._default
        self._cache[tenant] = (time.monotonic(), classifier)
        return classifier

    def forget(self, tenant: str) -> None:
        self._cache.pop(tenant, None)


class Intake:
    def __init__(
        self,
        *,
        store: ContactStore,
        taxonomies: Taxonomies,
        detector: LanguageDetector,
        publish: Publish,
        clock: Clock,
        region: str,
        stale_after: timedelta,
    ) -> None:
        self._store, self._taxonomies, self._detector = store, taxonomies, detector
        self._publish, self._clock, self._region = publish, clock, region
        self._stale_after = stale_after

    async def accept(self, submission: Submission) -> Accepted:
        """The contact's `contact.received`, published once; the same one again for a duplicate.

        Raises InvalidIdentifier or ContactInFuture for a submission that cannot be accepted."""
        contact_id = submission.contact_id()
        stored = await self._store.contact(submission.tenant, contact_id)
        if stored:
            return await self._replayed(stored)
        now = self._clock()
        check_arrival(submission.occurred_at, now)
        identity = normalise(submission.data.customer, region=self._region)
        customer, new = await self._store.identify(submission.tenant, identity, now=now)
        recent = await self._store.recent_concerns(
            submission.tenant, customer.customer_id, since=submission.occurred_at - REPEAT_WINDOW
        )
        data = understand(
            submission.data,
            Understanding(customer, new, recent, self._region),
            classifier=await self._taxonomies.classifier(submission.tenant),
            detector=self._detector,
            arrived_at=submission.occurred_at,
        )
        event = self._received_event(submission, contact_id, data, now)
        if not await self._store.add_contact(event, customer_id=customer.customer_id, now=now):
            stored = await self._store.contact(submission.tenant, contact_id)
            if stored is None:
                raise LookupError(f"contact {contact_id} neither stored nor found")
            return await self._replayed(stored)
        await self._publish(event)
        await self._store.mark_published(contact_id)
        return Accepted(event, duplicate=False)

    async def republish_pending(self) -> int:
        """Publishes events stored but not published (a crash between the two); returns how many."""
        pending = await self._store.unpublished(stored_before=self._clock() - self._stale_after)
        for event in pending:
            await self._publish(event)
            await self._store.mark_published(str(event.contact_id))
        return len(pending)

    async def _replayed(self, stored: StoredContact) -> Accepted:
        """A duplicate gets the stored contact. It publishes the event only if the first delivery
        stored it long ago without publishing (that one crashed); a fresh one is still publishing."""
        if not stored.published and self._clock() - stored.stored_at >= self._stale_after:
            await self._publish(stored.event)
            await self._store.mark_published(str(stored.event.contact_id))
        return Accepted(stored.event, duplicate=True)

    @staticmethod
    def _received_event(
        submission: Submission, contact_id: str, data: ContactReceivedData, now: datetime
    ) -> ContactReceived:
        inbound = submission.submitted_event
        if inbound is not None:
            return inbound.caused(ContactReceived, data=data, source=SOURCE, occurred_at=now, contact_id=contact_id)
        return ContactReceived.new(
            data=data, tenant=submission.tenant, source=SOURCE, occurred_at=now, contact_id=contact_id
        )
