"""One registry: event type → model → topic → message key."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Union

from pydantic import Field, TypeAdapter, ValidationError

from frontline.contracts import agents, policies, records, routing, upsell
from frontline.contracts.contacts import ContactReceived, ContactSubmitted
from frontline.contracts.envelope import Event
from frontline.contracts.topics import Topic


class ContractViolation(ValueError):
    """A message that is not a valid Frontline event; `reason` says why, for the DLQ."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EventSpec:
    """An event type: its model, topic and key, and who may write it — the service that owns it
    (for any tenant), and whether systems outside Frontline may (each for its own tenant only)."""

    model: type[Event]
    topic: Topic
    key: Callable[[Event], str]
    key_description: str
    owner: str | None
    external: bool = False

    @property
    def type(self) -> str:
        return self.model.type_name

    @property
    def version(self) -> int:
        return self.model.type_version


def _by_external_id(event: Event) -> str:
    return getattr(event.data, "external_id", None) or event.contact_id or str(event.id)


def _by_tenant(event: Event) -> str:
    return event.tenant


AGENT_EVENTS: tuple[type[Event], ...] = (
    agents.AgentProfileSaved,
    agents.AgentProfileRemoved,
    agents.AgentStateRequested,
    agents.OfferAnswered,
    agents.ContactHandled,
    agents.TransferRequested,
    agents.WrapUpEnded,
)
ROUTING_REQUESTS: tuple[type[Event], ...] = (policies.QueuePolicySaved, policies.CustomerLeft)
ROUTING_FACTS: tuple[type[Event], ...] = (
    routing.PolicyChanged,
    routing.AgentChanged,
    routing.AgentRemoved,
    routing.AgentStateChanged,
    routing.ContactQueued,
    routing.ContactEscalated,
    routing.RoutingDecision,
    routing.OfferCreated,
    routing.OfferAccepted,
    routing.OfferRejected,
    routing.OfferExpired,
    routing.OfferWithdrawn,
    routing.ContactAssigned,
    routing.ContactTransferred,
    routing.ContactAbandoned,
    routing.ContactCompleted,
    routing.WrapUpFinished,
)

REGISTRY: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        EventSpec(
            ContactSubmitted,
            Topic.CONTACTS_INBOUND,
            _by_external_id,
            "external_id, else contact_id, else the event id",
            owner=None,
            external=True,
        ),
        EventSpec(ContactReceived, Topic.CONTACTS_RECEIVED, _by_tenant, "tenant (the routing pool)", owner="intake"),
        *(
            EventSpec(
                model, Topic.AGENTS_EVENTS, _by_tenant, "tenant (the routing pool)", owner="routing", external=True
            )
            for model in AGENT_EVENTS
        ),
        *(
            EventSpec(
                model, Topic.ROUTING_REQUESTS, _by_tenant, "tenant (the routing pool)", owner="routing", external=True
            )
            for model in ROUTING_REQUESTS
        ),
        *(
            EventSpec(model, Topic.ROUTING_EVENTS, _by_tenant, "tenant (the routing pool)", owner="routing")
            for model in ROUTING_FACTS
        ),
        EventSpec(upsell.OfferSuggested, Topic.UPSELL_SUGGESTIONS, _by_tenant, "tenant", owner="upsell"),
        EventSpec(upsell.NoOfferSuggested, Topic.UPSELL_SUGGESTIONS, _by_tenant, "tenant", owner="upsell"),
        EventSpec(upsell.InterestMarked, Topic.UPSELL_OUTCOMES, _by_tenant, "tenant", owner="upsell", external=True),
        EventSpec(
            upsell.SuggestionAnswered, Topic.UPSELL_OUTCOMES, _by_tenant, "tenant", owner="upsell", external=True
        ),
        EventSpec(
            records.CustomerErasureRequested,
            Topic.RECORDS_EVENTS,
            _by_tenant,
            "tenant",
            owner="records",
            external=True,
        ),
        EventSpec(records.RecordsPurged, Topic.RECORDS_EVENTS, _by_tenant, "tenant", owner="records"),
    )
}


def spec_for(event_type: str) -> EventSpec:
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise ContractViolation(f"unknown event type {event_type!r}") from None


# every registered event, told apart by its "type": validated from JSON in one pass in pydantic-core
_EVENT_MODELS = tuple(spec.model for spec in REGISTRY.values())
_ANY_EVENT: TypeAdapter[Event] = TypeAdapter(
    Annotated[Union[_EVENT_MODELS], Field(discriminator="type")]  # type: ignore[arg-type]  # noqa: UP007
)


def parse_event(raw: bytes | str | dict[str, object]) -> Event:
    """The typed event in `raw`, or ContractViolation naming what is wrong with it."""
    if isinstance(raw, bytes | str):
        try:
            return _ANY_EVENT.validate_json(raw)
        except ValidationError:
            pass  # the careful path below names what is wrong
        try:
            raw = json.loads(raw)
        except ValueError as error:  # malformed, not UTF-8, or an integer of more digits than Python reads
            raise ContractViolation(f"not JSON: {str(error)[:200]}") from None
    if not isinstance(raw, dict):
        raise ContractViolation(f"an event must be a JSON object, not {type(raw).__name__}")
    event_type = raw.get("type")
    if not isinstance(event_type, str):
        raise ContractViolation("missing field 'type'")
    spec = spec_for(event_type)
    try:
        return spec.model.model_validate(raw)
    except ValidationError as error:
        raise ContractViolation(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """`data.channel: Input should be 'voice', …; id: …` — every bad field, named."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or '(event)'}: {problem['msg']}" for problem in error.errors()
    )
