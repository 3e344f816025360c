"""What routing learns from completed contacts: per agent and skill, how often the agent resolves
such a contact and how long it takes them — the learning loop over `contact.completed` facts.

Each estimate is shrunk toward a prior worth `PRIOR_CONTACTS` contacts (empirical Bayes): an
agent's record on a skill toward the pooled record of every agent at the same proficiency in it,
that toward the skill's, that toward every contact's, that toward `STARTING`. With no record of its
own an agent is estimated as its proficiency's pool, and before any contact every agent alike, so
routing starts as the profiles say and moves only on evidence; an agent's own record counts once it
holds `OWN_EVIDENCE` contacts on the skill (one quick contact says little). Records fade: once one holds
`MEMORY` contacts, each new contact pushes the oldest weight out, so an agent who gets better (or
worse) is seen to.

The value of an agent for a contact is the expected resolutions per hour of their time,
P(resolved) x 3600 / expected handle seconds: an unresolved contact comes back and costs another
handle, so this is what an hour of the agent buys — the cμ of generalised-cμ routing with the
service rate counted in resolutions (docs/design/routing.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact

PRIOR_CONTACTS = 10.0
OWN_EVIDENCE = 20.0  # an agent's own record counts from this many contacts on the skill; before, their level's
MEMORY = 200.0
NO_SKILL = ""  # the record of contacts that require no skill
VALUE_BAND = 1.10  # values within about 10 % rank alike, so the longest idle of them is chosen


@dataclass(frozen=True)
class Estimate:
    resolution: float  # P(resolved at first contact)
    handle_seconds: float
    evidence: float  # the agent's own contacts behind it (faded)

    @property
    def resolutions_per_hour(self) -> float:
        return self.resolution * 3600 / max(self.handle_seconds, 1.0)


STARTING = Estimate(resolution=0.8, handle_seconds=300.0, evidence=0.0)


@dataclass
class Record:
    contacts: float = 0.0
    resolved: float = 0.0
    handle_seconds: float = 0.0

    def add(self, resolved: bool, handle_seconds: float) -> None:
        if self.contacts >= MEMORY:
            keep = (MEMORY - 1) / self.contacts
            self.contacts, self.resolved, self.handle_seconds = (
                self.contacts * keep,
                self.resolved * keep,
                self.handle_seconds * keep,
            )
        self.contacts += 1
        self.resolved += resolved
        self.handle_seconds += handle_seconds

    def toward(self, prior: Estimate) -> Estimate:
        weight = self.contacts + PRIOR_CONTACTS
        return Estimate(
            resolution=(self.resolved + PRIOR_CONTACTS * prior.resolution) / weight,
            handle_seconds=(self.handle_seconds + PRIOR_CONTACTS * prior.handle_seconds) / weight,
            evidence=self.contacts,
        )

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.contacts, self.resolved, self.handle_seconds)


EMPTY = Record()


@dataclass
class Outcomes:
    """The records of one pool: every contact's, per skill, per (skill, proficiency), per (agent, skill)."""

    overall: Record = field(default_factory=Record)
    skills: dict[str, Record] = field(default_factory=dict)
    levels: dict[tuple[str, int], Record] = field(default_factory=dict)
    agents: dict[str, dict[str, Record]] = field(default_factory=dict)
    _pooled: dict[tuple[str, int], Estimate] = field(default_factory=dict, compare=False, repr=False)

    def learn(self, agent_id: str, levels: dict[str, int], *, resolved: bool, handle_seconds: float) -> None:
        """A contact `agent_id` completed; `levels` holds the agent's proficiency in each skill the
        contact required (0 without it), empty when it required none."""
        self._pooled.clear()
        self.overall.add(resolved, handle_seconds)
        for skill, level in (levels or {NO_SKILL: 0}).items():
            self.skills.setdefault(skill, Record()).add(resolved, handle_seconds)
            self.levels.setdefault((skill, level), Record()).add(resolved, handle_seconds)
            self.agents.setdefault(agent_id, {}).setdefault(skill, Record()).add(resolved, handle_seconds)

    def estimate(self, agent_id: str, levels: dict[str, int]) -> Estimate:
        """What `agent_id` is expected to do with a contact requiring these skills (their levels in
        them): the mean over the skills of each skill's estimate."""
        own = self.agents.get(agent_id, {})
        per_skill = []
        for skill, level in (levels or {NO_SKILL: 0}).items():
            pooled = self._pooled.get((skill, level))
            if pooled is None:
                prior = self.skills.get(skill, EMPTY).toward(self.overall.toward(STARTING))
                pooled = self._pooled[(skill, level)] = self.levels.get((skill, level), EMPTY).toward(prior)
            record = own.get(skill, EMPTY)
            per_skill.append(record.toward(pooled) if record.contacts >= OWN_EVIDENCE else pooled)
        if len(per_skill) == 1:
            return per_skill[0]
        return Estimate(
            resolution=sum(e.resolution for e in per_skill) / len(per_skill),
            handle_seconds=sum(e.handle_seconds for e in per_skill) / len(per_skill),
            evidence=min(e.evidence for e in per_skill),
        )

    def forget_agent(self, agent_id: str) -> None:
        self.agents.pop(agent_id, None)


def levels_of(agent: Agent, contact: Contact) -> dict[str, int]:
    """The agent's proficiency in each skill the contact's queue routes it by (its first step's; 0
    for one the agent lacks). A queue that routes by no skill learns nothing per skill."""
    skills = agent.skills
    return {skill: skills.get(skill, 0) for skill in contact.strictest_skills()}


def value_band(estimate: Estimate) -> int:
    """The estimate's resolutions per hour on a log scale of `VALUE_BAND` steps (higher is better)."""
    return math.floor(math.log(max(estimate.resolutions_per_hour, 1e-9)) / math.log(VALUE_BAND))
