"""The front door's one behaviour, whichever door a contact comes through: accept it exactly once,
a batch of contacts at a time.

Idempotent by construction: the contact id is derived from the idempotency key, or from the
submitting system and its external id, and is the document `_id`. Every step inserts first and
reads only what exists (a duplicate `_id` says "seen before"), because that is what every
MongoDB-wire server does fast. The `contact.received` events go into an outbox before the contacts
are stored and leave it once published; a crash anywhere in between is healed by
`republish_pending`, which finishes a contact with the same event id, or drops the outbox entry
of a duplicate whose contact another delivery stored.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from uuid import UUID, uuid4

from frontline.contracts import Event
from frontline.contracts.contacts import ContactReceived, ContactReceivedData, ContactSubmittedData
from frontline.contracts.envelope import EventTooLarge
from frontline.plumbing.kernel import caused_by_infrastructure, reason_of
from frontline.plumbing.logging import get_logger
from services.intake.core.identity import Identity, InvalidIdentifier, normalise
from services.intake.core.language import LanguageDetector, detect, written_in
from services.intake.core.learned import ConcernModel, LearnedClassifier
from services.intake.core.learning import IntentModel
from services.intake.core.taxonomy import Classifier, Taxonomy
from services.intake.core.understanding import ContactInFuture, Understanding, check_arrival, repeats, understand
from services.intake.store import ContactStore, ModelStore, Pending, Visit, Visited, pending_of
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


class Classifiers:
    """Each tenant's classifier, cached for a while: its live concern model once one has beaten the
    keywords, else its keyword taxonomy (the shipped default when it has none). Models are loaded
    once per version, the least recently used dropped beyond `in_memory`."""

    def __init__(
        self, store: ContactStore, models: ModelStore, *, cache_seconds: float, unsure_below: float, in_memory: int
    ) -> None:
        self._store, self._models, self._cache_seconds = store, models, cache_seconds
        self._unsure_below, self._in_memory = unsure_below, in_memory
        self._cache: dict[str, tuple[float, Classifier | LearnedClassifier]] = {}
        self._loaded: OrderedDict[tuple[str, int], ConcernModel] = OrderedDict()

    async def classifier(self, tenant: str) -> Classifier | LearnedClassifier:
        cached = self._cache.get(tenant)
        if cached and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        taxonomy = await self.taxonomy(tenant)
        live = await self.live(tenant)
        classifier: Classifier | LearnedClassifier = (
            LearnedClassifier(live, taxonomy, unsure_below=self._unsure_below) if live else Classifier(taxonomy)
        )
        self._cache[tenant] = (time.monotonic(), classifier)
        return classifier

    async def taxonomy(self, tenant: str) -> Taxonomy:
        return await self._store.taxonomy(tenant) or default_taxonomy()

    async def live(self, tenant: str) -> ConcernModel | None:
        """The tenant's live model, loaded once per version (away from the event loop). A live
        version that cannot be read classifies nothing: the tenant's keywords do, and it is logged."""
        version = await self._models.live(tenant)
        if version is None:
            return None
        loaded = self._loaded.get((tenant, version))
        if loaded is None:
            try:
                loaded = await self._load(tenant, version)
            except Exception as error:
                if caused_by_infrastructure(error):
                    raise
                log.error("the live model cannot be read", tenant=tenant, version=version, error=reason_of(error))
                return None
            self._loaded[(tenant, version)] = loaded
            while len(self._loaded) > self._in_memory:
                self._loaded.popitem(last=False)
        self._loaded.move_to_end((tenant, version))
        return loaded

    async def _load(self, tenant: str, version: int) -> ConcernModel:
        found = await self._models.model(tenant, version)
        if found is None:
            raise LookupError(f"model version {version} is not stored")
        data, summary = found
        model = await asyncio.to_thread(IntentModel.from_bytes, data)
        return ConcernModel(model, summary["concerns"], version=version, languages=summary.get("languages"))

    def forget(self, tenant: str) -> None:
        self._cache.pop(tenant, None)


@dataclass(frozen=True)
class Refused:
    """A submission that cannot be accepted, and why: an identifier that is none, a date in the
    future, an event too large to store."""

    submission: Submission
    error: InvalidIdentifier | ContactInFuture | EventTooLarge

    @property
    def location(self) -> tuple[str, ...]:
        """Where in the submission the problem is, as a path of field names."""
        if isinstance(self.error, InvalidIdentifier):
            return tuple(self.error.field.split("."))
        return ("occurred_at",) if isinstance(self.error, ContactInFuture) else ()

    @property
    def reason(self) -> str:
        if isinstance(self.error, InvalidIdentifier):
            return f"data.{self.error.field}: {self.error.problem}"
        return f"{'.'.join(self.location) or 'event'}: {self.error}"


Outcome = Accepted | Refused
FOUND_IN_MEMORY = 10_000


@dataclass(frozen=True)
class _Arrival:
    """A submission past its checks: its contact id and its customer's identifiers."""

    submission: Submission
    contact_id: str
    identity: Identity


class Intake:
    def __init__(
        self,
        *,
        store: ContactStore,
        classifiers: Classifiers,
        detector: LanguageDetector,
        publish: Publish,
        clock: Clock,
        region: str,
        stale_after: timedelta,
    ) -> None:
        self._store, self._classifiers, self._detector = store, classifiers, detector
        self._publish, self._clock, self._region = publish, clock, region
        self._stale_after = stale_after
        # what the first attempt at a contact found (new customer, repeat): a batch retried after a
        # failure answers the same, although that attempt already changed the customer's profile
        self._found: OrderedDict[str, tuple[bool, bool]] = OrderedDict()

    async def accept(self, submission: Submission) -> Accepted:
        """The contact's `contact.received`, published once; the same one again for a duplicate.

        Raises InvalidIdentifier, ContactInFuture or EventTooLarge if it cannot be accepted."""
        [outcome] = await self.accept_many([submission])
        if isinstance(outcome, Refused):
            raise outcome.error
        return outcome

    def refusals(self, submissions: list[Submission]) -> list[tuple[int, Refused]]:
        """The submissions (by index) refused before anything is stored, for all-or-nothing doors."""
        now = self._clock()
        arrivals = [self._arrival(submission, now) for submission in submissions]
        return [(index, arrival) for index, arrival in enumerate(arrivals) if isinstance(arrival, Refused)]

    async def accept_many(self, submissions: list[Submission]) -> list[Outcome]:
        """Each submission's outcome, in order, a batch at a time: one bulk write per collection,
        one atomic update per returning customer, the batch's events published together. A
        contact submitted twice in one batch is accepted once; the second is its duplicate."""
        now = self._clock()
        arrivals = [self._arrival(submission, now) for submission in submissions]
        outcomes: list[Outcome | None] = [arrival if isinstance(arrival, Refused) else None for arrival in arrivals]
        first: dict[str, int] = {}
        for index, arrival in enumerate(arrivals):
            if isinstance(arrival, _Arrival):
                first.setdefault(arrival.contact_id, index)
        pendings = await self._understood({index: cast(_Arrival, arrivals[index]) for index in first.values()}, now)
        for index, pending in list(pendings.items()):
            try:
                pending.event.to_json()  # EventTooLarge now, before anything is stored or put in the outbox
            except EventTooLarge as too_large:
                outcomes[index] = Refused(submissions[index], too_large)
                del pendings[index]
        published = await self._stored_and_published(list(pendings.values()))
        late = [index for index, pending in pendings.items() if pending.contact_id not in published]
        for index in pendings.keys() - set(late):
            outcomes[index] = Accepted(pendings[index].event, duplicate=False)
        found = await asyncio.gather(
            *(self._concurrent_duplicate(submissions[i].tenant, pendings[i].contact_id) for i in late)
        )
        for index, duplicate in zip(late, found, strict=True):
            outcomes[index] = duplicate
        for index, arrival in enumerate(arrivals):
            if outcomes[index] is None:  # the same contact again in this batch
                earlier = outcomes[first[cast(_Arrival, arrival).contact_id]]
                outcomes[index] = Accepted(earlier.event, duplicate=True) if isinstance(earlier, Accepted) else earlier
        return cast(list[Outcome], outcomes)

    async def _stored_and_published(self, pendings: list[Pending]) -> set[str]:
        """Outbox, then contacts, then the events: the contact ids this call published. A contact
        already in the outbox is a concurrent duplicate; one already stored, a late one."""
        reserved = await self._store.reserve(pendings)
        ours = [pending for pending in pendings if pending.contact_id in reserved]
        added = await self._store.add_contacts(ours)
        fresh = [pending for pending in ours if pending.contact_id in added]
        await asyncio.gather(*(self._publish(pending.event) for pending in fresh))
        await self._store.published(pending.contact_id for pending in ours)
        return {pending.contact_id for pending in fresh}

    def _arrival(self, submission: Submission, now: datetime) -> _Arrival | Refused:
        try:
            check_arrival(submission.occurred_at, now)
            identity = normalise(submission.data.customer, region=self._region)
        except (InvalidIdentifier, ContactInFuture) as refused:
            return Refused(submission, refused)
        return _Arrival(submission, submission.contact_id(), identity)

    async def _understood(self, arrivals: dict[int, _Arrival], now: datetime) -> dict[int, Pending]:
        """Each arrival's customer identified, its concern classified and remembered, and its
        `contact.received` event made."""
        customers = await self._identified(arrivals)
        visits: dict[int, Visit] = {}
        classifications = {}
        detected = {}
        for index, arrival in arrivals.items():
            submission = arrival.submission
            sent = submission.data
            detected[index] = detect(f"{sent.subject or ''} {sent.text}", detector=self._detector)
            classifier = await self._classifiers.classifier(submission.tenant)
            classifications[index] = classifier.classify(
                subject=sent.subject, text=sent.text, language=written_in(detected[index], hint=sent.language_hint)
            )
            customer_id, linked = customers[index]
            visits[index] = Visit(
                tenant=submission.tenant,
                customer_id=customer_id,
                identity=arrival.identity.only(linked),
                concern=classifications[index].guess.code,
                day=submission.occurred_at.date(),
                contact_id=arrival.contact_id,
                now=now,
            )
        visited = await self._visited(visits, arrivals)
        pendings = {}
        for index, arrival in arrivals.items():
            new, repeat = self._found_for(arrival.contact_id, visited[index], visits[index])
            data = understand(
                arrival.submission.data,
                Understanding(visited[index].profile, new, repeat, self._region),
                classification=classifications[index],
                detected=detected[index],
                arrived_at=arrival.submission.occurred_at,
            )
            event = self._received_event(arrival.submission, arrival.contact_id, data, now)
            pendings[index] = Pending(event, visits[index].customer_id, now)
        return pendings

    async def _identified(self, arrivals: dict[int, _Arrival]) -> dict[int, tuple[str, list[str]]]:
        """Each arrival's customer and the keys linked to it. The strongest identifier decides
        (reference, then e-mail, then phone; a new customer if it is unknown); weaker ones not yet
        known are linked to that customer."""
        customers: dict[int, tuple[str, list[str]]] = {}
        for tenant in {arrival.submission.tenant for arrival in arrivals.values()}:
            mine = {index: arrival for index, arrival in arrivals.items() if arrival.submission.tenant == tenant}
            strongest: dict[str, str] = {}
            for arrival in mine.values():
                strongest.setdefault(arrival.identity.keys()[0], arrival.identity.customer_id_for(tenant))
            owners = await self._store.claim_keys(tenant, strongest)
            weaker: dict[str, str] = {}
            for arrival in mine.values():
                for key in arrival.identity.keys()[1:]:
                    weaker.setdefault(key, owners[arrival.identity.keys()[0]])
            owners |= await self._store.claim_keys(tenant, weaker)
            for index, arrival in mine.items():
                keys = arrival.identity.keys()
                customer = owners[keys[0]]
                customers[index] = (customer, [key for key in keys if owners[key] == customer])
        return customers

    async def _visited(self, visits: dict[int, Visit], arrivals: dict[int, _Arrival]) -> dict[int, Visited]:
        """Creates the new customers in one bulk write (the first contact of each); every other
        contact visits its customer's profile."""
        creators: dict[str, int] = {}
        for index, visit in visits.items():
            if visit.customer_id == arrivals[index].identity.customer_id_for(visit.tenant):
                creators.setdefault(visit.customer_id, index)
        created = await self._store.create_customers([visits[index] for index in creators.values()])
        visited = {
            index: created[visits[index].customer_id]
            for index in creators.values()
            if visits[index].customer_id in created
        }
        others = [index for index in visits if index not in visited]
        for index, result in zip(others, await self._store.visit([visits[index] for index in others]), strict=True):
            visited[index] = result
        return visited

    def _found_for(self, contact_id: str, visited: Visited, visit: Visit) -> tuple[bool, bool]:
        """(new customer, repeat) for the contact, as its first attempt found them."""
        found = self._found.get(contact_id)
        if found is None:
            found = (visited.created, repeats(visited.last_same_concern, day=visit.day, contact_id=contact_id))
            self._found[contact_id] = found
            while len(self._found) > FOUND_IN_MEMORY:
                self._found.popitem(last=False)
        return found

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
            await self._store.published([pending.contact_id])
        return len(stale)

    async def _is_stored_as(self, pending: Pending) -> bool:
        """Stores the pending contact if need be; False if another delivery stored it with another event."""
        if await self._store.add_contacts([pending]):
            return True
        stored = await self._store.contact(pending.event.tenant, str(pending.contact_id))
        return stored is not None and stored.id == pending.event.id

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
