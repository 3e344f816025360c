"""Intake's Kafka doors.

- `contact.submitted` on `frontline.contacts.inbound`, a fetched batch at a time, the same behaviour
  as REST. A contact intake refuses goes to the DLQ with the reason; the offsets are committed once
  the batch's events are published.
- `contact.handled` on `frontline.agents.events`: the concern or intent an agent gave at wrap-up
  becomes a labelled example of the tenant (the contact's text as intake kept it, redacted)."""

from __future__ import annotations

from frontline.contracts import Topic
from frontline.contracts.agents import ContactHandled
from frontline.contracts.contacts import ContactSubmitted
from frontline.plumbing.kernel import Door, KeyedWorker, Received
from frontline.plumbing.logging import event_context, get_logger
from frontline.plumbing.settings import Settings
from services.intake.core.learned import model_text
from services.intake.service import Intake, Refused, Submission
from services.intake.store import ContactStore, Correction, ModelStore

INBOUND = Topic.CONTACTS_INBOUND.value
AGENTS = Topic.AGENTS_EVENTS.value
log = get_logger(__name__)


class InboundWorker(KeyedWorker):
    tenant_keyed = False  # other systems key their contacts by their own ids (see the README)

    def __init__(self, settings: Settings, *, intake: Intake, max_batch: int, door: Door) -> None:
        super().__init__(settings, name="intake", topics=[INBOUND], max_batch=max_batch, door=door)
        self._intake = intake

    async def handle(self, received: list[Received], *, reassigned: bool) -> None:
        submitted = []
        for item in received:
            if isinstance(item.event, ContactSubmitted):
                submitted.append(item)
            elif item.event is not None:
                await self.dead_letter(item.record, f"{INBOUND} takes contact.submitted events, not {item.event.type}")
        outcomes = await self._intake.accept_many([_submission(item) for item in submitted])
        for item, outcome in zip(submitted, outcomes, strict=True):
            if isinstance(outcome, Refused):
                with event_context(tenant=outcome.submission.tenant, event_id=str(item.event and item.event.id)):
                    log.info("contact refused", reason=outcome.reason)
                await self.dead_letter(item.record, outcome.reason)

    def forget(self) -> None:
        """Intake keeps nothing per partition in memory."""


def _submission(item: Received) -> Submission:
    event = item.event
    assert isinstance(event, ContactSubmitted)
    return Submission(
        tenant=event.tenant, source=event.source, occurred_at=event.occurred_at, data=event.data, submitted_event=event
    )


class CorrectionsWorker(KeyedWorker):
    """Agents' wrap-ups that name a concern or intent → the tenant's labelled examples. A wrap-up of
    a contact intake does not hold (or holds for another tenant) teaches nothing; the other agent
    events on the topic are routing's."""

    def __init__(
        self, settings: Settings, *, store: ContactStore, models: ModelStore, max_batch: int, door: Door
    ) -> None:
        super().__init__(settings, name="intake-learning", topics=[AGENTS], max_batch=max_batch, door=door)
        self._store, self._models = store, models

    async def handle(self, received: list[Received], *, reassigned: bool) -> None:
        labelled = [
            item.event
            for item in received
            if isinstance(item.event, ContactHandled)
            and item.event.contact_id is not None
            and (item.event.data.concern or item.event.data.intent)
        ]
        contacts = await self._store.contacts_by_id([str(event.contact_id) for event in labelled])
        corrections = []
        for event in labelled:
            contact = contacts.get(str(event.contact_id))
            if contact is None or contact.tenant != event.tenant:
                log.info("a wrap-up of a contact intake does not hold teaches nothing", contact_id=event.contact_id)
                continue
            text = model_text(contact.data.subject, contact.data.text)
            if text.strip():
                corrections.append(
                    Correction(
                        tenant=event.tenant,
                        contact_id=str(event.contact_id),
                        text=text,
                        intent=event.data.intent,
                        concern=event.data.concern,
                        at=event.occurred_at,
                    )
                )
        await self._models.add_corrections(corrections)
        for tenant in dict.fromkeys(correction.tenant for correction in corrections):  # also those read again
            await self._models.changed(tenant)

    def forget(self) -> None:
        """Nothing is kept per partition in memory."""
