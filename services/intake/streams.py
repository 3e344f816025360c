"""Intake's Kafka door: `contact.submitted` on `frontline.contacts.inbound`, same behaviour as REST."""

from __future__ import annotations

from frontline.contracts import Event, Topic
from frontline.contracts.contacts import ContactSubmitted
from frontline.plumbing.kernel import Handler, Unprocessable
from services.intake.domain.identity import InvalidIdentifier
from services.intake.domain.understanding import ContactInFuture
from services.intake.intake import Intake, Submission

INBOUND = Topic.CONTACTS_INBOUND.value


def inbound_handler(intake: Intake) -> Handler:
    async def accept(event: Event) -> None:
        if not isinstance(event, ContactSubmitted):
            raise Unprocessable(f"{INBOUND} takes contact.submitted events, not {event.type}")
        submission = Submission(
            tenant=event.tenant,
            source=event.source,
            occurred_at=event.occurred_at,
            data=event.data,
            submitted_event=event,
        )
        try:
            await intake.accept(submission)
        except InvalidIdentifier as invalid:
            raise Unprocessable(f"data.{invalid.field}: {invalid.problem}") from None
        except ContactInFuture as future:
            raise Unprocessable(f"occurred_at: {future}") from None

    return accept
