"""Live statistics of a pool: per queue, and a waiting contact's position and estimated wait.

The estimate is deliberately simple and stated: a contact at position k (0 = next) waits about
(k + 1) x the queue's average handle time / the agents staffed for it, where the handle time is the
mean of the queue's last 50 completions (300 s before the first one).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from frontline.contracts.agents import Presence
from frontline.contracts.routing import AgentState
from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact, Stage
from services.routing.core.state import PoolState

DEFAULT_HANDLE_SECONDS = 300.0


@dataclass(frozen=True)
class SkillStaffing:
    available: int
    busy: int


@dataclass(frozen=True)
class QueueStats:
    queue: str
    policy_version: int
    waiting: int
    offered: int
    assigned: int
    oldest_wait_seconds: float
    average_handle_seconds: float
    staffed_agents: int
    estimated_wait_seconds: float  # for a contact joining the queue now
    agents_by_skill: dict[str, SkillStaffing] = field(default_factory=dict)


def serving_order(pool: PoolState, queue: str, now: datetime) -> list[Contact]:
    """The queue's waiting contacts in the order agents take them: overdue first, then by aging."""
    epoch = now.timestamp()
    waiting = [c for c in pool.contacts.values() if c.queue == queue and c.stage is Stage.WAITING]
    return sorted(waiting, key=lambda c: (c.overdue_at > epoch, c.aging_key))


def _staffed(pool: PoolState, queue: str) -> list[Agent]:
    """Agents signed in (available, busy or in wrap-up) with every skill the queue itself requires."""
    required = pool.policies[queue].skills
    return [
        agent
        for agent in pool.agents.values()
        if agent.presence is Presence.AVAILABLE
        and all(agent.skills.get(r.skill, 0) >= r.min_proficiency for r in required)
    ]


def average_handle_seconds(pool: PoolState, queue: str) -> float:
    recent = pool.handle_times.get(queue)
    return statistics.fmean(recent) if recent else DEFAULT_HANDLE_SECONDS


def estimated_wait(pool: PoolState, queue: str, position: int, *, staffed: int | None = None) -> float:
    staffed = len(_staffed(pool, queue)) if staffed is None else staffed
    return (position + 1) * average_handle_seconds(pool, queue) / max(1, staffed)


def queue_stats(pool: PoolState, queue: str, now: datetime) -> QueueStats:
    contacts = [c for c in pool.contacts.values() if c.queue == queue]
    stages = Counter(c.stage for c in contacts)
    waiting = [c for c in contacts if c.stage is Stage.WAITING]
    skills = {r.skill for r in pool.policies[queue].skills} | {
        skill for contact in waiting for skill in contact.required_skills()
    }
    by_skill = {}
    for skill in sorted(skills):
        holders = [pool.agents[a] for a in pool.by_skill.get(skill, ())]
        by_skill[skill] = SkillStaffing(
            available=sum(1 for a in holders if a.state is AgentState.AVAILABLE),
            busy=sum(1 for a in holders if a.state in (AgentState.BUSY, AgentState.WRAP_UP)),
        )
    staffed = len(_staffed(pool, queue))
    return QueueStats(
        queue=queue,
        policy_version=pool.policy_versions[queue],
        waiting=len(waiting),
        offered=stages[Stage.OFFERED],
        assigned=stages[Stage.ASSIGNED],
        oldest_wait_seconds=max((c.waited_seconds(now) for c in waiting), default=0.0),
        average_handle_seconds=average_handle_seconds(pool, queue),
        staffed_agents=staffed,
        estimated_wait_seconds=estimated_wait(pool, queue, len(waiting), staffed=staffed),
        agents_by_skill=by_skill,
    )


def position_of(pool: PoolState, contact: Contact, now: datetime) -> int | None:
    """0 for the next contact to be served in its queue; None unless the contact waits."""
    if contact.stage is not Stage.WAITING:
        return None
    order = serving_order(pool, contact.queue, now)
    return next(i for i, waiting in enumerate(order) if waiting.contact_id == contact.contact_id)
