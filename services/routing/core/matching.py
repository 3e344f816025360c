"""Who may take a contact, and who fits best: qualification, score and the explanation of a decision."""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from frontline.contracts.routing import Candidate, Exclusion
from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact
from services.routing.core.outcomes import Estimate, Outcomes, levels_of, value_band

EXPLAINED_CANDIDATES = 5
EXPLAINED_EXCLUSIONS = 10
EXCLUSIONS_KEPT = 4096  # built exclusions kept for reuse


def why_not(agent: Agent, contact: Contact) -> str | None:
    """The first reason `agent` may not take `contact` now, or None if they qualify."""
    if not agent.routable:
        return "in wrap-up" if agent.wrap_up_until is not None else f"{agent.presence.value}"
    return agent.room_problem(contact.channel) or unfit(agent, contact)


@functools.lru_cache(maxsize=EXCLUSIONS_KEPT)
def exclusion(agent_id: str, reason: str) -> Exclusion:
    """One agent ruled out, as an explanation lists them. Immutable, and the same few recur (the
    busy agents heading every sample), so each is built once: building one costs ~2 µs."""
    return Exclusion(agent_id=agent_id, reason=reason)


def unfit(agent: Agent, contact: Contact) -> str | None:
    """Why `agent` does not fit `contact` (target, tier, skills, language), availability and room aside."""
    queued = contact.queued
    if queued.only_agent is not None and agent.agent_id != queued.only_agent:
        return "not the transfer target"
    if queued.escalated_to is not None and agent.profile.tier is not queued.escalated_to:
        return f"not in the {queued.escalated_to.value} tier"
    skills = agent.skills
    for skill, minimum in contact.required_skills().items():
        level = skills.get(skill)
        if level is None:
            return f"lacks skill {skill}"
        if level < minimum:
            return f"{skill} proficiency {level} below {minimum}"
    language = contact.required_language()
    if language is not None and agent.languages and language not in agent.languages:
        return f"does not speak {language}"
    return None


def fit_gap(agent: Agent, contact: Contact) -> tuple[bool, int]:
    """How far `agent` is from a full fit: whether they speak the customer's language, and the
    proficiency levels they are short of the first step's minimums (a missing skill counts whole)."""
    language = contact.strictest_language()
    speaks = language is None or not agent.languages or language in agent.languages
    skills = agent.skills
    return speaks, sum(max(0, level - skills.get(skill, 0)) for skill, level in contact.strictest_skills().items())


@dataclass(frozen=True)
class Score:
    """The terms an agent is ranked by (see `search_agents`), as the explanation shows them."""

    agent: Agent
    declined: bool
    preferred: bool
    fit: float
    idle_seconds: float
    expected: Estimate

    def as_candidate(self) -> Candidate:
        return Candidate(
            agent_id=self.agent.agent_id,
            fit=round(self.fit, 3),
            idle_seconds=round(self.idle_seconds, 3),
            preferred=self.preferred,
            resolution_chance=round(self.expected.resolution, 4),
            expected_handle_seconds=round(self.expected.handle_seconds, 1),
            learned_from=round(self.expected.evidence, 1),
        )


def score(agent: Agent, contact: Contact, *, preferred_agent: str | None, now: datetime, outcomes: Outcomes) -> Score:
    required = contact.required_skills()
    fit = sum(agent.skills[skill] for skill in required) / len(required) if required else 0.0
    return Score(
        agent=agent,
        declined=agent.agent_id in contact.declined_by,
        preferred=agent.agent_id == preferred_agent,
        fit=fit,
        idle_seconds=agent.idle_seconds(now),
        expected=outcomes.estimate(agent.agent_id, levels_of(agent, contact)),
    )


@dataclass
class Search:
    """The outcome of looking for an agent for one contact, with what the explanation needs."""

    ranked: list[Score]  # the best few, best first
    excluded: list[Exclusion]
    excluded_counts: Counter[str]

    @property
    def best(self) -> Score | None:
        return self.ranked[0] if self.ranked else None

    def candidates(self) -> list[Candidate]:
        return [s.as_candidate() for s in self.ranked[:EXPLAINED_CANDIDATES]]


def search_agents(
    contact: Contact, considered: Iterable[Agent], *, preferred_agent: str | None, now: datetime, outcomes: Outcomes
) -> Search:
    """Every considered agent either qualifies (and is ranked) or is excluded with a reason."""
    qualified: list[Agent] = []
    excluded: list[Exclusion] = []
    counts: Counter[str] = Counter()
    for agent in considered:
        reason = why_not(agent, contact)
        if reason is None:
            qualified.append(agent)
            continue
        counts[reason] += 1
        if len(excluded) < EXPLAINED_EXCLUSIONS:
            excluded.append(exclusion(agent.agent_id, reason))
    wanted = contact.strictest_skills()
    declined = contact.declined_by

    def rank(agent: Agent) -> tuple[bool, bool, bool, int, int, float, float, str]:
        """Best first: not having declined this contact, the customer's last agent, speaking the
        customer's language, the fewest proficiency levels short of the strictest step's, the most
        resolutions expected per hour of the agent's time on its skills (learned, in 10 % bands; not
        where the queue routes by no skill: there every agent is alike), proficiency, then
        longest idle (the earliest end of a last contact); the id settles ties."""
        speaks, short = fit_gap(agent, contact)
        fit = sum(agent.skills.get(skill, 0) for skill in wanted) / len(wanted) if wanted else 0.0
        idle_since = -agent.idle_since.timestamp()
        return (
            agent.agent_id not in declined,
            agent.agent_id == preferred_agent,
            speaks,
            -short,
            value_band(outcomes.estimate(agent.agent_id, levels_of(agent, contact))) if wanted else 0,
            fit,
            idle_since,
            agent.agent_id,
        )

    best = heapq.nlargest(EXPLAINED_CANDIDATES, qualified, key=rank)
    return Search(
        ranked=[score(agent, contact, preferred_agent=preferred_agent, now=now, outcomes=outcomes) for agent in best],
        excluded=excluded,
        excluded_counts=counts,
    )
