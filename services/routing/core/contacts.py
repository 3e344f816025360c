"""A contact in routing's hands: waiting in a queue, offered to an agent, or assigned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from frontline.contracts.contacts import Channel, SkillRequirement
from frontline.contracts.envelope import MAX_SECONDS
from frontline.contracts.policies import QueuePolicy, RelaxationStep
from frontline.contracts.routing import QueuedContact

# Priority buys a head start over older contacts: 3 s of waiting per priority point, so a
# priority-100 contact goes before a priority-0 one that has waited up to 5 minutes.
AGING_SECONDS_PER_POINT = 3.0
# On a channel with a service goal a waiting contact is looked at this many times per goal (`pace`).
LOOKS = 4


class Stage(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ASSIGNED = "assigned"


@dataclass
class Contact:
    queued: QueuedContact
    policy: QueuePolicy
    stage: Stage = Stage.WAITING
    offer_id: str | None = None
    offer_expires_at: datetime | None = None
    agent_id: str | None = None
    assigned_at: datetime | None = None
    offers_made: int = 0
    declined_by: set[str] = field(default_factory=set)
    step: int = 0
    bucket: tuple[Channel, str | None] | None = field(default=None, repr=False, compare=False)  # PoolState.waiting_by
    _skills_at_step: tuple[int, dict[str, int]] | None = field(default=None, repr=False, compare=False)
    _strictest: dict[str, int] | None = field(default=None, repr=False, compare=False)
    # Waiting contacts are served in aging-key order (smallest first) unless one is overdue (epoch
    # seconds past its class's maximum wait); neither changes while routing holds the contact.
    aging_key: float = field(init=False, repr=False, compare=False)
    overdue_at: float = field(init=False, repr=False, compare=False)
    # What identifies it in routing, as plain attributes (a requeued contact is a new Contact).
    contact_id: str = field(init=False, repr=False, compare=False)
    queue: str = field(init=False, repr=False, compare=False)
    channel: Channel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.contact_id, self.queue, self.channel = self.queued.contact_id, self.queued.queue, self.queued.channel
        arrived = self.queued.arrived_at.timestamp()
        self.aging_key = arrived - self.queued.priority * AGING_SECONDS_PER_POINT
        service_class = next(c for c in self.policy.service_classes if c.name == self.queued.service_class)
        self.overdue_at = arrived + service_class.max_wait_seconds

    @property
    def class_key(self) -> tuple[str, str]:
        """Overdue contacts take turns by (queue, service class)."""
        return (self.queued.queue, self.queued.service_class)

    def requirements(self) -> RelaxationStep:
        return self.policy.steps[self.step]

    def required_skills(self) -> dict[str, int]:
        """Skill → minimum proficiency in force at the current step (queue's and contact's, strictest wins)."""
        if self._skills_at_step is None or self._skills_at_step[0] != self.step:
            self._skills_at_step = (self.step, self._skills_for(self.requirements()))
        return self._skills_at_step[1]

    def strictest_skills(self) -> dict[str, int]:
        """Skill → minimum proficiency at the first step: what a fully fitting agent has."""
        if self._strictest is None:
            self._strictest = self._skills_for(self.policy.steps[0])
        return self._strictest

    def _skills_for(self, step: RelaxationStep) -> dict[str, int]:
        if not step.require_skills:
            return {}
        merged: dict[str, int] = {}
        requirement: SkillRequirement
        for requirement in (*self.policy.skills, *self.queued.skills):
            merged[requirement.skill] = max(merged.get(requirement.skill, 1), requirement.min_proficiency)
        return {skill: max(1, level - step.proficiency_relaxed_by) for skill, level in merged.items()}

    def required_language(self) -> str | None:
        return self._language_for(self.requirements())

    def strictest_language(self) -> str | None:
        """The language a fully fitting agent speaks (the first step's requirement)."""
        return self._language_for(self.policy.steps[0])

    def _language_for(self, step: RelaxationStep) -> str | None:
        if not step.require_language or self.queued.language is None:
            return None
        return self.queued.language.split("-")[0]

    def waited_seconds(self, now: datetime) -> float:
        """Since the customer's arrival; a stated arrival decades back counts as the longest wait a
        fact can carry, so the contact is still routed."""
        return min(MAX_SECONDS, max(0.0, (now - self.queued.arrived_at).total_seconds()))

    def goal(self) -> float | None:
        """Its queue's service goal for its channel (`answer_within`), seconds from arrival."""
        return self.policy.answer_within.get(self.channel)

    def looks(self) -> set[float]:
        """When (epoch seconds) routing looks again at a contact on a channel with a service goal: at
        each quarter of the goal, and when a step's `not_before_seconds` has passed."""
        goal = self.goal()
        if goal is None or len(self.policy.steps) < 2:
            return set()
        arrived, queued = self.queued.arrived_at.timestamp(), self.queued.queued_at.timestamp()
        looks = {arrived + goal * n / LOOKS for n in range(1, LOOKS + 1)}
        looks |= {arrived + step.not_before_seconds for step in self.policy.steps[1:] if step.not_before_seconds}
        return {at for at in looks if at > queued}
