"""What routing decided, on `frontline.routing.events`, keyed by the routing pool (tenant).

These facts are also routing's own memory: replaying a pool's facts in order rebuilds its state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from frontline.contracts.agents import AgentProfile, Presence, QueueName, Resolution, Tier
from frontline.contracts.contacts import MAX_SKILLS, Channel, LanguageCode, ShortText, SkillRequirement
from frontline.contracts.envelope import (
    MAX_SECONDS,
    Count,
    DocumentKey,
    Event,
    EventData,
    Identifier,
    Timestamp,
    Version,
)
from frontline.contracts.policies import MAX_POLICY_SECONDS, ClassName, QueuePolicy, RelaxationStep


class AgentState(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class QueuedBecause(StrEnum):
    ARRIVED = "arrived"
    TRANSFERRED = "transferred"
    OVERFLOWED = "overflowed"


class Trigger(StrEnum):
    """What made routing look for a match."""

    CONTACT_QUEUED = "contact_queued"
    CAPACITY_FREED = "capacity_freed"
    STEP_RELAXED = "step_relaxed"
    OFFER_RETURNED = "offer_returned"


class QueuePolicyChanged(EventData):
    policy: QueuePolicy
    policy_version: Version


class PolicyChanged(Event):
    """A queue's policy took effect, with its version."""

    type_name = "queue.policy_changed"
    type: Literal["queue.policy_changed"] = "queue.policy_changed"
    version: Literal[1] = 1
    data: QueuePolicyChanged


class AgentProfileChanged(EventData):
    profile: AgentProfile


class AgentChanged(Event):
    """An agent's profile took effect in the pool."""

    type_name = "agent.profile_changed"
    type: Literal["agent.profile_changed"] = "agent.profile_changed"
    version: Literal[1] = 1
    data: AgentProfileChanged


class AgentGone(EventData):
    agent_id: Identifier


class AgentRemoved(Event):
    """An agent left the pool."""

    type_name = "agent.removed"
    type: Literal["agent.removed"] = "agent.removed"
    version: Literal[1] = 1
    data: AgentGone


class AgentStateData(EventData):
    agent_id: Identifier
    state: AgentState = Field(description="What dashboards show: presence, then wrap-up, then busy.")
    presence: Presence
    reason: ShortText | None = None


class AgentStateChanged(Event):
    """An agent's state changed: by request, by missing offers, or by taking or finishing work."""

    type_name = "agent.state_changed"
    type: Literal["agent.state_changed"] = "agent.state_changed"
    version: Literal[1] = 1
    data: AgentStateData


class QueuedContact(EventData):
    contact_id: Identifier
    queue: QueueName
    policy_version: Version
    because: QueuedBecause
    channel: Channel
    priority: int = Field(ge=0, le=200)
    service_class: ClassName
    skills: list[SkillRequirement] = Field(default_factory=list, max_length=MAX_SKILLS)
    language: LanguageCode | None = None
    customer_id: Identifier | None = None
    escalated_to: Tier | None = None
    escalation_reason: ShortText | None = None
    only_agent: Identifier | None = Field(default=None, description="Set by a transfer to one agent.")
    arrived_at: Timestamp = Field(description="When the customer made contact.")
    queued_at: Timestamp = Field(description="When this queue took it; steps relax from here.")
    answer_within: float | None = Field(
        default=None,
        gt=0,
        le=MAX_POLICY_SECONDS,
        description="The queue's service goal for the contact's channel: answer within this many seconds of arrival.",
    )


class ContactQueued(Event):
    """A contact waits in a queue: on arrival, after a transfer, or after overflowing."""

    type_name = "contact.queued"
    type: Literal["contact.queued"] = "contact.queued"
    version: Literal[1] = 1
    data: QueuedContact


class Escalated(EventData):
    contact_id: Identifier
    tier: Tier
    reason: ShortText


class ContactEscalated(Event):
    """A waiting contact now needs a supervisor or technician."""

    type_name = "contact.escalated"
    type: Literal["contact.escalated"] = "contact.escalated"
    version: Literal[1] = 1
    data: Escalated


class Candidate(EventData):
    agent_id: Identifier
    fit: float = Field(ge=-100, le=100, description="Mean proficiency above the minimum over the required skills.")
    idle_seconds: float = Field(ge=0, le=MAX_SECONDS, description="Since the end of the agent's last contact.")
    preferred: bool = Field(description="The customer's last agent, within the sticky window.")
    resolution_chance: float | None = Field(
        default=None, ge=0, le=1, description="Learned: how likely this agent resolves such a contact at first contact."
    )
    expected_handle_seconds: float | None = Field(
        default=None, ge=0, le=MAX_SECONDS, description="Learned: how long this agent takes with such a contact."
    )
    learned_from: float | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="The agent's own completed contacts behind the estimates (older ones fade); 0 = the pool's.",
    )


class Exclusion(EventData):
    agent_id: Identifier
    reason: ShortText


class Decision(EventData):
    contact_id: Identifier
    queue: QueueName
    trigger: Trigger
    step: int = Field(ge=0, le=100, description="Index of the policy's relaxation step in force.")
    requirements: RelaxationStep
    chosen: Candidate | None = None
    candidates: list[Candidate] = Field(
        default_factory=list, max_length=100, description="The best qualified agents, best first."
    )
    excluded: list[Exclusion] = Field(
        default_factory=list, max_length=100, description="A sample of agents ruled out, with why."
    )
    excluded_counts: dict[DocumentKey, Count] = Field(
        default_factory=dict, max_length=50, description="Agents ruled out, by reason."
    )
    waited_seconds: float | None = Field(
        default=None, ge=0, le=MAX_SECONDS, description="How long the customer had waited since arrival."
    )
    answer_within: float | None = Field(
        default=None, ge=0, le=MAX_SECONDS, description="The queue's service goal for the contact's channel."
    )


class RoutingDecision(Event):
    """Why a contact was offered to an agent, or why it still waits."""

    type_name = "routing.decision"
    type: Literal["routing.decision"] = "routing.decision"
    version: Literal[1] = 1
    data: Decision


class Offer(EventData):
    offer_id: Identifier
    contact_id: Identifier
    agent_id: Identifier
    channel: Channel
    queue: QueueName
    expires_at: Timestamp


class OfferCreated(Event):
    """The contact is reserved for one agent until the offer is answered or expires."""

    type_name = "offer.created"
    type: Literal["offer.created"] = "offer.created"
    version: Literal[1] = 1
    data: Offer


class OfferOutcome(EventData):
    offer_id: Identifier
    contact_id: Identifier
    agent_id: Identifier
    reason: ShortText | None = None


class OfferAccepted(Event):
    type_name = "offer.accepted"
    type: Literal["offer.accepted"] = "offer.accepted"
    version: Literal[1] = 1
    data: OfferOutcome


class OfferRejected(Event):
    """The agent turned the offer down; the contact is routed again at once."""

    type_name = "offer.rejected"
    type: Literal["offer.rejected"] = "offer.rejected"
    version: Literal[1] = 1
    data: OfferOutcome


class OfferExpired(Event):
    """Nobody answered in time; the contact is routed again at once and the agent's miss counted."""

    type_name = "offer.expired"
    type: Literal["offer.expired"] = "offer.expired"
    version: Literal[1] = 1
    data: OfferOutcome


class OfferWithdrawn(Event):
    """Routing took the offer back: the agent left or the customer did."""

    type_name = "offer.withdrawn"
    type: Literal["offer.withdrawn"] = "offer.withdrawn"
    version: Literal[1] = 1
    data: OfferOutcome


class Assignment(EventData):
    contact_id: Identifier
    agent_id: Identifier
    offer_id: Identifier
    queue: QueueName
    waited_seconds: float = Field(ge=0, le=MAX_SECONDS, description="From the customer's arrival to assignment.")


class ContactAssigned(Event):
    """An agent accepted the contact and is handling it."""

    type_name = "contact.assigned"
    type: Literal["contact.assigned"] = "contact.assigned"
    version: Literal[1] = 1
    data: Assignment


class Transfer(EventData):
    contact_id: Identifier
    from_agent: Identifier
    to_queue: QueueName | None = None
    to_agent: Identifier | None = None
    reason: ShortText | None = None


class ContactTransferred(Event):
    """An agent handed the contact on; it is queued again (see the following contact.queued)."""

    type_name = "contact.transferred"
    type: Literal["contact.transferred"] = "contact.transferred"
    version: Literal[1] = 1
    data: Transfer


class Abandonment(EventData):
    contact_id: Identifier
    queue: QueueName
    waited_seconds: float = Field(ge=0, le=MAX_SECONDS)
    reason: ShortText


class ContactAbandoned(Event):
    """The customer left before an agent took the contact."""

    type_name = "contact.abandoned"
    type: Literal["contact.abandoned"] = "contact.abandoned"
    version: Literal[1] = 1
    data: Abandonment


class Completion(EventData):
    contact_id: Identifier
    agent_id: Identifier
    queue: QueueName
    disposition: ShortText
    resolution: Resolution
    handle_seconds: float = Field(ge=0, le=MAX_SECONDS)
    wrap_up_until: Timestamp


class ContactCompleted(Event):
    """The agent finished the contact, with disposition and resolution; wrap-up runs until `wrap_up_until`."""

    type_name = "contact.completed"
    type: Literal["contact.completed"] = "contact.completed"
    version: Literal[1] = 1
    data: Completion


class WrapUp(EventData):
    agent_id: Identifier


class WrapUpFinished(Event):
    """The agent's after-contact work ended (by time or by the agent); capacity is free again."""

    type_name = "agent.wrap_up_finished"
    type: Literal["agent.wrap_up_finished"] = "agent.wrap_up_finished"
    version: Literal[1] = 1
    data: WrapUp
