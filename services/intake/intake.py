"""The front door's one behaviour, whichever door a contact comes through: accept it exactly once.

Idempotent by construction: the contact id is derived from the idempotency key, or from the
submitting system and its external id, and is the document `_id`. Every step inserts first and
reads only what exists (a duplicate `_id` says "seen before"), because that is what every
MongoDB-wire server does fast. The `contact.received` event goes into an outbox before the contact
is stored and leaves it once published; a crash anywhere in between is healed by
`republish_pending`, which finishes the contact with the same event id, or drops the outbox entry
of a duplicate whose contact another delivery stored.
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
from frontline.plumbing.kernel import caused_by_infrastructure, reason_of
from frontline.plumbing.logging import get_logger
from services.intake.domain.identity import normalise
from services.intake.domain.language import LanguageDetector
from services.intake.domain.taxonomy import Classifier
from services.intake.domain.understanding import Understanding, check_arrival, understand
from services.intake.store import ContactStore, Pending, pending_of
from services.intake.taxonomy import default_taxonomy

_CONTACT_NAMESPACE = UUID("0b6f9a52-63d4-4f0e-9d0e-4e1f6c2b7a31")
SOURCE = "intake"
log = get_logger(__name__)


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
            # scoped to the source: one caller's key can never claim another caller's contact
            return str(uuid.uuid5(_CONTACT_NAMESPACE, f"{self.tenant}|key|{self.source}|{key}"))
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
        now = self._clock()
        check_arrival(submission.occurred_at, now)
        pending = await self._understood(submission, contact_id, now)
        pending.event.to_json()  # EventTooLarge now, before anything is stored or put in the outbox
        if not await self._store.reserve(pending):
            return await self._concurrent_duplicate(submission.tenant, contact_id)
        if not await self._store.add_contact(pending):
            await self._store.published(contact_id)  # ours was a late duplicate of a finished contact
            return await self._concurrent_duplicate(submission.tenant, contact_id)
        await self._publish(pending.event)
        await self._store.published(contact_id)
        return Accepted(pending.event, duplicate=False)

    async def republish_pending(self) -> int:
        """Finishes contacts left in the outbox by a crash: stored (again, idempotently) and published
        with their original event id. Returns how many.

        An outage stops the round (the next one tries again); an entry that fails for a reason of
        its own is set aside with the reason, kept whole, so it never blocks the others."""
        stale = await self._store.stale_pending(stored_before=self._clock() - self._stale_after)
        for document in stale:
            try:
                pending = pending_of(document)
                if await self._is_stored_as(pending):
                    await self._publish(pending.event)
            except Exception as error:
                if caused_by_infrastructure(error):
                    raise
                log.error("outbox entry set aside", contact_id=document.get("_id"), error=reason_of(error))
                await self._store.set_aside(document, reason_of(error))
                continue
            await self._store.published(str(pending.event.contact_id))
        return len(stale)

    async def _is_stored_as(self, pending: Pending) -> bool:
        """Stores the pending contact if need be; False if another delivery stored it with another event."""
        if await self._store.add_contact(pending):
            return True
        stored = await self._store.contact(pending.event.tenant, str(pending.event.contact_id))
        return stored is not None and stored.id == pending.event.id

    async def _understood(self, submission: Submission, contact_id: str, now: datetime) -> Pending:
        identity = normalise(submission.data.customer, region=self._region)
        customer, new = await self._store.identify(submission.tenant, identity, now=now)
        classifier = await self._taxonomies.classifier(submission.tenant)
        classification = classifier.classify(subject=submission.data.subject, text=submission.data.text)
        repeat = await self._store.raised_recently(
            submission.tenant,
            customer.customer_id,
            classification.guess.code,
            contact_id=contact_id,
            on=submission.occurred_at.date(),
        )
        data = understand(
            submission.data,
            Understanding(customer, new, repeat, self._region),
            classification=classification,
            detector=self._detector,
            arrived_at=submission.occurred_at,
        )
        return Pending(self._received_event(submission, contact_id, data, now), customer.customer_id, now)

    async def _concurrent_duplicate(self, tenant: str, contact_id: str) -> Accepted:
        """Another delivery of the same contact got there first: answer with its event."""
        stored = await self._store.contact(tenant, contact_id)
        if stored is None:
            pending = await self._store.pending(contact_id)
            if pending is None or pending.event.tenant != tenant:
                raise LookupError(f"contact {contact_id} is neither stored nor pending")
            stored = pending.event
        return Accepted(stored, duplicate=True)

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
