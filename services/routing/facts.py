"""Facts of the core as events on `frontline.routing.events`, and back (for replay)."""

from __future__ import annotations

from uuid import uuid4

from frontline.contracts.envelope import Event
from services.routing.core.state import Fact

SOURCE = "routing"


def as_event(fact: Fact, *, tenant: str, cause: Event | None) -> Event:
    """Routing's facts about a contact are correlated by the contact id; the others by their cause."""
    contact_id = fact.data.__dict__.get("contact_id")
    correlation = contact_id or (cause.correlation_id if cause else None) or fact.data.__dict__.get("agent_id")
    event_id = uuid4()
    return fact.kind(
        id=event_id,
        type=fact.kind.type_name,
        version=fact.kind.type_version,
        occurred_at=fact.at,
        source=SOURCE,
        tenant=tenant,
        contact_id=contact_id,
        correlation_id=correlation or str(event_id),
        causation_id=str(cause.id) if cause else None,
        data=fact.data,
    )


def as_fact(event: Event) -> Fact:
    return Fact(kind=type(event), data=event.data, at=event.occurred_at)
