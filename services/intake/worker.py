"""Intake's Kafka door: `contact.submitted` on `frontline.contacts.inbound`, a fetched batch at a
time, the same behaviour as REST. A contact intake refuses goes to the DLQ with the reason; the
offsets are committed once the batch's events are published."""

from __future__ import annotations

from frontline.contracts import Topic
from frontline.contracts.contacts import ContactSubmitted
from frontline.plumbing.kernel import Door, KeyedWorker, Received
from frontline.plumbing.logging import event_context, get_logger
from frontline.plumbing.settings import Settings
from services.intake.service import Intake, Refused, Submission

INBOUND = Topic.CONTACTS_INBOUND.value
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
