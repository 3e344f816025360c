"""When a waiting contact's requirements widen: at its queue's fixed step times, or — on a channel
with a service goal (`answer_within`) — when waiting for an agent who qualifies now stops paying.

On a goal channel the contact is looked at on arrival and at each quarter of its goal. It stays at
its step while an agent who qualifies there is expected to take it within the goal; otherwise it
stays only while the next step would still be expected to answer it within the goal after the next
look, with a quarter of the goal kept for the offer to be answered — a threshold rule: wait for a
good match as long as the goal allows, and no longer. A step with `not_before_seconds` does not start
before the contact has waited that long (a queue may keep its widest step, "anyone", for callers who
have waited a minute). By the goal, or a step's later `not_before_seconds`, every step has started,
so no contact waits past that for requirements nobody on the floor meets (`docs/design/routing.md`).

The expected wait for agents who qualify is the queue estimate of `stats` narrowed to them: 0 when
one is free with room; else (contacts ahead of it in its line + 1) x (average handle + wrap-up) /
their room on the channel, counting every signed-in one (busy or in wrap-up); endless when none is.
"""

from __future__ import annotations

import math
from datetime import datetime

from frontline.contracts.agents import Presence
from services.routing.core.contacts import LOOKS, Contact
from services.routing.core.matching import unfit
from services.routing.core.state import PoolState
from services.routing.core.stats import average_handle_seconds

CLOCK_SLACK = 1e-3  # a look timed for a step's not_before_seconds may come a float rounding early


def step_due(pool: PoolState, contact: Contact, now: datetime) -> int:
    """The step `contact` should be at `now` (never one it has passed)."""
    policy = contact.policy
    goal = contact.goal()
    if goal is None:
        return max(contact.step, policy.step_at((now - contact.queued.queued_at).total_seconds()))
    waited, last, step = contact.waited_seconds(now), len(policy.steps) - 1, contact.step
    held = step
    look = goal / LOOKS  # the time to the next look, and what is kept for the offer's answer
    try:
        while step < last and waited + CLOCK_SLACK >= policy.steps[step + 1].not_before_seconds:
            contact.step = step
            expected = qualified_wait(pool, contact)
            if waited + expected <= goal:
                break
            contact.step = step + 1
            if math.isinf(expected):
                step += 1
                continue
            if waited + look + qualified_wait(pool, contact) <= goal - look:
                break
            step += 1
    finally:
        contact.step = held
    return step


def qualified_wait(pool: PoolState, contact: Contact) -> float:
    """Seconds until an agent who qualifies for `contact` at its current step is expected to take it."""
    channel = contact.channel
    required = contact.required_skills()
    if required:
        scarcest = min(required, key=lambda skill: len(pool.by_skill.get(skill, ())))
        holders = [pool.agents[agent_id] for agent_id in pool.by_skill.get(scarcest, ())]
    else:
        holders = list(pool.agents.values())
    free, room = pool.free_on(channel), 0
    for agent in holders:
        if agent.presence is Presence.AVAILABLE and unfit(agent, contact) is None:
            if agent.agent_id in free and agent.agent_id not in contact.declined_by:
                return 0.0
            room += agent.capacity.get(channel, 0)
    if room == 0:
        return math.inf
    handle = average_handle_seconds(pool, contact.queue) + contact.policy.wrap_up_seconds
    return (_ahead(pool, contact) + 1) * handle / room


def _ahead(pool: PoolState, contact: Contact) -> int:
    """Contacts before this one in its line (its bucket), 0 when it is not lined up."""
    line = pool.waiting_by.get(contact.bucket) if contact.bucket is not None else None
    return line.bisect_left((contact.aging_key, contact.contact_id)) if line is not None else 0
