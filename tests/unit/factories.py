"""Valid events for tests, with every field a caller does not care about filled in."""

from datetime import UTC, datetime
from typing import TypeVar

from frontline.contracts import agents, policies, routing
from frontline.contracts.contacts import ContactReceived, ContactReceivedData
from frontline.contracts.envelope import Event

E = TypeVar("E", bound=Event)


def contact_received(*, tenant: str = "acme", contact_id: str = "c-1", **data: object) -> ContactReceived:
    fields = {
        "channel": "chat",
        "customer": {"customer_id": "cust-1", "tier": "gold"},
        "text": "My invoice is wrong",
        "language": {"code": "en", "confidence": 0.97, "method": "detected"},
        "concern": {"code": "billing", "confidence": 0.8},
        "required_skills": [{"skill": "billing", "min_proficiency": 2}],
        "priority": 40,
        "sentiment": {"score": -0.2, "angry": False},
    } | data
    return ContactReceived.new(
        data=ContactReceivedData.model_validate(fields),
        tenant=tenant,
        source="intake",
        occurred_at=datetime(2026, 11, 22, 10, tzinfo=UTC),
        contact_id=contact_id,
    )


def _agent_event(model: type[E], data: object, *, tenant: str, contact_id: str | None = None) -> E:
    return model.new(
        data=data,  # type: ignore[arg-type]
        tenant=tenant,
        source="desk",
        occurred_at=datetime(2026, 11, 22, 10, tzinfo=UTC),
        contact_id=contact_id,
    )


def agent_saved(agent_id: str, *, tenant: str = "acme", **profile: object) -> agents.AgentProfileSaved:
    fields = {"agent_id": agent_id, "skills": [{"skill": "billing", "proficiency": 3}], "languages": ["en"]} | profile
    return _agent_event(agents.AgentProfileSaved, agents.AgentProfile.model_validate(fields), tenant=tenant)


def agent_removed(agent_id: str, *, tenant: str = "acme") -> agents.AgentProfileRemoved:
    return _agent_event(agents.AgentProfileRemoved, agents.AgentRef(agent_id=agent_id), tenant=tenant)


def state_requested(
    agent_id: str, state: str = "available", *, reason: str | None = None, tenant: str = "acme"
) -> agents.AgentStateRequested:
    request = agents.StateRequest(agent_id=agent_id, state=agents.Presence(state), reason=reason)
    return _agent_event(agents.AgentStateRequested, request, tenant=tenant)


def offer_answered(
    offer_id: str, agent_id: str, *, accepted: bool = True, tenant: str = "acme"
) -> agents.OfferAnswered:
    answer = agents.OfferAnswer(offer_id=offer_id, agent_id=agent_id, accepted=accepted)
    return _agent_event(agents.OfferAnswered, answer, tenant=tenant)


def contact_handled(
    contact_id: str, agent_id: str, *, tenant: str = "acme", resolution: str = "resolved"
) -> agents.ContactHandled:
    handled = agents.Handled(agent_id=agent_id, disposition="answered", resolution=resolution)
    return _agent_event(agents.ContactHandled, handled, tenant=tenant, contact_id=contact_id)


def transfer_requested(
    contact_id: str, agent_id: str, *, to_queue: str | None = None, to_agent: str | None = None, tenant: str = "acme"
) -> agents.TransferRequested:
    request = agents.TransferRequest(agent_id=agent_id, to_queue=to_queue, to_agent=to_agent)
    return _agent_event(agents.TransferRequested, request, tenant=tenant, contact_id=contact_id)


def wrap_up_ended(agent_id: str, *, tenant: str = "acme") -> agents.WrapUpEnded:
    return _agent_event(agents.WrapUpEnded, agents.AgentRef(agent_id=agent_id), tenant=tenant)


def policy_saved(queue: str, *, tenant: str = "acme", **policy: object) -> policies.QueuePolicySaved:
    saved = policies.QueuePolicy.model_validate({"queue": queue} | policy)
    return _agent_event(policies.QueuePolicySaved, saved, tenant=tenant)


def customer_left(contact_id: str, *, tenant: str = "acme") -> policies.CustomerLeft:
    return _agent_event(policies.CustomerLeft, policies.CustomerLeaving(), tenant=tenant, contact_id=contact_id)


def contact_assigned(contact_id: str, agent_id: str, *, tenant: str = "acme") -> routing.ContactAssigned:
    assignment = routing.Assignment(
        contact_id=contact_id, agent_id=agent_id, offer_id=f"o-{contact_id}", queue="general", waited_seconds=3
    )
    return _agent_event(routing.ContactAssigned, assignment, tenant=tenant, contact_id=contact_id)


def contact_completed(
    contact_id: str, agent_id: str, *, resolution: str = "resolved", tenant: str = "acme"
) -> routing.ContactCompleted:
    completion = routing.Completion(
        contact_id=contact_id,
        agent_id=agent_id,
        queue="general",
        disposition="answered",
        resolution=agents.Resolution(resolution),
        handle_seconds=120,
        wrap_up_until=datetime(2026, 11, 22, 10, 5, tzinfo=UTC),
    )
    return _agent_event(routing.ContactCompleted, completion, tenant=tenant, contact_id=contact_id)


def contact_escalated(contact_id: str, *, tenant: str = "acme") -> routing.ContactEscalated:
    escalated = routing.Escalated(contact_id=contact_id, tier=agents.Tier.SUPERVISOR, reason="angry")
    return _agent_event(routing.ContactEscalated, escalated, tenant=tenant, contact_id=contact_id)
