"""Queues and their routing policies: versioned data, on `frontline.routing.requests` and in REST."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from frontline.contracts.agents import QueueName, Tier
from frontline.contracts.contacts import MAX_SKILLS, Channel, ShortText, SkillRequirement
from frontline.contracts.envelope import Event, EventData

ClassName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
MAX_POLICY_SECONDS = 366 * 86400


class RelaxationStep(EventData):
    """From `after_seconds` of waiting on, these requirements hold (like Amazon Connect's routing steps)."""

    after_seconds: float = Field(ge=0, le=MAX_POLICY_SECONDS)
    proficiency_relaxed_by: int = Field(default=0, ge=0, le=4, description="Lowers every minimum proficiency.")
    require_language: bool = True
    require_skills: bool = True
    not_before_seconds: float = Field(
        default=0,
        ge=0,
        le=MAX_POLICY_SECONDS,
        description=(
            "On a channel with a service goal (the queue's answer_within), this step does not start before the"
            " contact has waited this long since arrival, even past the goal: e.g. keep 'anyone' for callers"
            " who have waited a minute. Without a goal the step starts at after_seconds."
        ),
    )


class ServiceClass(EventData):
    """Contacts with at least `min_priority` belong here; none of them waits past `max_wait_seconds`
    while agents keep serving others (past it, a contact is overdue and overdue classes take turns)."""

    name: ClassName
    min_priority: int = Field(ge=0, le=100)
    max_wait_seconds: float = Field(gt=0, le=MAX_POLICY_SECONDS)


class Escalation(EventData):
    tier: Tier = Tier.SUPERVISOR
    after_seconds: float | None = Field(
        default=None, gt=0, le=MAX_POLICY_SECONDS, description="Escalate a contact waiting this long."
    )
    on_anger: bool = True
    on_repeat_contact: bool = False


class Overflow(EventData):
    to_queue: QueueName
    after_seconds: float = Field(gt=0, le=MAX_POLICY_SECONDS)


def _default_steps() -> list[RelaxationStep]:
    return [
        RelaxationStep(after_seconds=0),
        RelaxationStep(after_seconds=60, proficiency_relaxed_by=2),
        RelaxationStep(after_seconds=180, proficiency_relaxed_by=4, require_language=False),
    ]


def _default_classes() -> list[ServiceClass]:
    return [
        ServiceClass(name="urgent", min_priority=75, max_wait_seconds=60),
        ServiceClass(name="high", min_priority=50, max_wait_seconds=120),
        ServiceClass(name="normal", min_priority=20, max_wait_seconds=300),
        ServiceClass(name="low", min_priority=0, max_wait_seconds=900),
    ]


class QueueSettings(EventData):
    """A queue's policy as REST takes it; the queue name comes from the path."""

    description: ShortText = ""
    order: int = Field(
        default=100, ge=-1_000_000, le=1_000_000, description="Queues are tried in this order to place a contact."
    )
    concerns: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=200, description="Concern codes this queue takes; empty takes every concern."
    )
    channels: list[Channel] = Field(
        default_factory=list, max_length=len(Channel), description="Channels this queue takes; empty takes all."
    )
    skills: list[SkillRequirement] = Field(
        default_factory=list,
        max_length=MAX_SKILLS,
        description="Required on top of the skills intake derived for the contact.",
    )
    steps: list[RelaxationStep] = Field(default_factory=_default_steps, min_length=1, max_length=20)
    answer_within: dict[Channel, Annotated[float, Field(gt=0, le=MAX_POLICY_SECONDS)]] = Field(
        default_factory=dict,
        max_length=len(Channel),
        description=(
            "The service goal per channel: answer within this many seconds of the contact's arrival. On a channel"
            " with a goal the steps start as soon as waiting for an agent who qualifies at the current step is"
            " expected to miss it, and all have started by the goal; on other channels at their after_seconds."
        ),
    )
    service_classes: list[ServiceClass] = Field(default_factory=_default_classes, min_length=1, max_length=10)
    priority_boost: int = Field(default=0, ge=-100, le=100)
    escalation: Escalation | None = Field(default_factory=Escalation)
    overflow: Overflow | None = None
    offer_timeout_seconds: float = Field(default=20, gt=0, le=600)
    wrap_up_seconds: float = Field(default=30, ge=0, le=3600)
    max_missed_offers: int = Field(default=2, ge=1, le=20, description="Then the agent is set away.")
    sticky_agent_seconds: float = Field(
        default=7 * 86400,
        ge=0,
        le=MAX_POLICY_SECONDS,
        description="Prefer the customer's last agent within this window; 0 turns it off.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        starts = [step.after_seconds for step in self.steps]
        if not starts or starts[0] != 0:
            raise ValueError("steps: the first step starts at after_seconds 0")
        if any(later <= earlier for earlier, later in itertools.pairwise(starts)):
            raise ValueError("steps: after_seconds must increase from step to step")
        names = [service_class.name for service_class in self.service_classes]
        if len(names) != len(set(names)):
            raise ValueError("service_classes: names must be unique")
        if 0 not in {service_class.min_priority for service_class in self.service_classes}:
            raise ValueError("service_classes: one class needs min_priority 0 so that every contact has a class")
        return self

    def step_at(self, waited_seconds: float) -> int:
        """The index of the relaxation step in force after waiting this long."""
        index = 0
        for position, step in enumerate(self.steps):
            if waited_seconds >= step.after_seconds:
                index = position
        return index

    def service_class_for(self, priority: int) -> ServiceClass:
        eligible = [c for c in self.service_classes if priority >= c.min_priority]
        return max(eligible, key=lambda c: c.min_priority)

    def takes(self, *, concern: str, channel: Channel) -> bool:
        return (not self.concerns or concern in self.concerns) and (not self.channels or channel in self.channels)


class QueuePolicy(QueueSettings):
    queue: QueueName

    @model_validator(mode="after")
    def _not_into_itself(self) -> Self:
        if self.overflow is not None and self.overflow.to_queue == self.queue:
            raise ValueError("overflow.to_queue: a queue cannot overflow into itself")
        return self


DEFAULT_QUEUE = "general"


def default_policy() -> QueuePolicy:
    """The catch-all queue every pool starts with; saving a policy named `general` replaces it."""
    return QueuePolicy(queue=DEFAULT_QUEUE, description="Everything no other queue takes.", order=1_000_000)


class QueuePolicySaved(Event):
    """An administrator saved a queue's policy; routing versions it and applies it to waiting contacts."""

    type_name = "queue.policy_saved"
    type: Literal["queue.policy_saved"] = "queue.policy_saved"
    version: Literal[1] = 1
    data: QueuePolicy


class CustomerLeaving(EventData):
    reason: ShortText = "customer_left"


class CustomerLeft(Event):
    """The channel reports the customer gone (hung up, closed the chat) before the contact was completed."""

    type_name = "customer.left"
    type: Literal["customer.left"] = "customer.left"
    version: Literal[1] = 1
    data: CustomerLeaving
