"""A routing pool's state, and the one way it changes: `evolve(fact)`.

Replaying a pool's facts through `evolve` rebuilds exactly the state that produced them, which is
how routing recovers after a crash or a rebalance.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sortedcontainers import SortedList

from frontline.contracts.agents import Presence, Resolution
from frontline.contracts.contacts import Channel
from frontline.contracts.envelope import Event
from frontline.contracts.policies import DEFAULT_QUEUE, QueuePolicy, default_policy
from frontline.contracts.routing import (
    AgentChanged,
    AgentRemoved,
    AgentState,
    AgentStateChanged,
    ContactAbandoned,
    ContactAssigned,
    ContactCompleted,
    ContactEscalated,
    ContactQueued,
    ContactTransferred,
    OfferCreated,
    OfferExpired,
    OfferRejected,
    OfferWithdrawn,
    PolicyChanged,
    RoutingDecision,
    WrapUpFinished,
)
from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact, Stage
from services.routing.core.outcomes import Outcomes, levels_of

RECENT_HANDLE_TIMES = 50
_NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fact:
    """Something routing decided, at `at`; the edge publishes it as a `kind` event."""

    kind: type[Event]
    data: Any
    at: datetime


class PoolState:
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.policies: dict[str, QueuePolicy] = {DEFAULT_QUEUE: default_policy()}
        self.policy_versions: dict[str, int] = {DEFAULT_QUEUE: 1}
        self.policy_history: dict[tuple[str, int], QueuePolicy] = {(DEFAULT_QUEUE, 1): default_policy()}
        self.queue_order: list[QueuePolicy] = list(self.policies.values())  # by `order`: where a contact goes
        self.agents: dict[str, Agent] = {}
        self.reported_states: dict[str, AgentState] = {}
        self.contacts: dict[str, Contact] = {}
        self.offers: dict[str, str] = {}  # open offer id → contact id
        # waiting contacts as (aging key, contact id), by (channel, one skill they require now — None
        # if none): an agent looks only where a contact it could take can be (`Selection._best_contact_for`)
        self.waiting_by: dict[tuple[Channel, str | None], SortedList] = {}
        self.overdue_lines: dict[tuple[str, str], SortedList] = {}  # class key → (overdue at, contact id)
        self.class_served: dict[tuple[str, str], float] = {}
        # Read through `free_on` and `routable_count`: agents whose state changed are re-indexed when
        # the index is next read, so an agent freed and offered the next contact at once costs nothing.
        self._routable: set[str] = set()  # available and not in wrap-up
        self._free: dict[Channel, set[str]] = {}  # routable with room for one more contact on the channel
        self._free_peak: dict[Channel, int] = {}
        self._unindexed: dict[int, Agent] = {}  # by id(): a removed agent and a new one of its id both count
        self.by_skill: dict[str, set[str]] = {}
        self.last_agent: dict[str, tuple[str, float]] = {}  # customer id → (agent id, when assigned)
        self.timers: list[tuple[float, int, str, str]] = []  # (due, sequence, kind, id)
        self.handle_times: dict[str, deque[float]] = {}
        self.outcomes = Outcomes()  # learned per agent and skill from completed contacts
        self._timer_sequence = 0

    def evolve(self, fact: Fact) -> None:
        handler = _EVOLUTIONS.get(fact.kind)
        if handler is not None:
            handler(self, fact.data, fact.at)

    # --- indices -------------------------------------------------------------------------------

    def _reindex_agent(self, agent: Agent) -> None:
        """The agent's availability or room may have changed: `free_on` and `routable_count` see it."""
        self._unindexed[id(agent)] = agent

    def free_on(self, channel: Channel) -> AbstractSet[str]:
        """The agents who may be offered one more contact on `channel` now (do not change the set)."""
        self._index_pending()
        return self._free.get(channel, _NOBODY)

    def routable_count(self) -> int:
        """How many agents are available and not in after-contact work."""
        self._index_pending()
        return len(self._routable)

    def _index_pending(self) -> None:
        pending, self._unindexed = self._unindexed, {}
        for agent in pending.values():
            self._index_agent(agent)

    def _index_agent(self, agent: Agent) -> None:
        agent_id = agent.agent_id
        routable = agent.routable and self.agents.get(agent_id) is agent
        free = set(agent.free_channels()) if routable else set()
        indexed = agent.indexed_free
        if free != indexed:
            for channel in indexed - free:
                self._free[channel].discard(agent_id)
                self._compact(channel)
            for channel in free - indexed:
                self._free.setdefault(channel, set()).add(agent_id)
                self._free_peak[channel] = max(self._free_peak.get(channel, 0), len(self._free[channel]))
            agent.indexed_free = free
        if routable:
            self._routable.add(agent_id)
        else:
            self._routable.discard(agent_id)

    def _compact(self, channel: Channel) -> None:
        """A set keeps the table of its largest size: one emptied from 10,000 agents takes ~0.1 ms to
        iterate, or to intersect with. Copied once it holds under a quarter of its peak."""
        free = self._free[channel]
        if len(free) * 4 < self._free_peak.get(channel, 0):
            self._free[channel] = set(free)
            self._free_peak[channel] = len(free)

    def _index_skills(self, agent: Agent, skills: Iterable[str]) -> None:
        for skill in skills:
            self.by_skill.get(skill, set()).discard(agent.agent_id)
        if agent.agent_id in self.agents:
            for skill in agent.skills:
                self.by_skill.setdefault(skill, set()).add(agent.agent_id)

    def _line_up(self, contact: Contact) -> None:
        self._bucket(contact)
        line = self.overdue_lines.setdefault(contact.class_key, SortedList())
        line.add((contact.overdue_at, contact.contact_id))

    def _step_out_of_line(self, contact: Contact) -> None:
        self._unbucket(contact)
        line = self.overdue_lines.get(contact.class_key)
        if line is not None:
            line.discard((contact.overdue_at, contact.contact_id))

    def _bucket(self, contact: Contact) -> None:
        """Files a waiting contact under its channel and one skill it requires at its step (the one
        fewest agents have; None when it requires none). An agent who can take it has that skill."""
        required = contact.required_skills()
        skill = min(required, key=lambda s: (len(self.by_skill.get(s, ())), s)) if required else None
        key = (contact.channel, skill)
        if contact.bucket != key:
            self._unbucket(contact)
            self.waiting_by.setdefault(key, SortedList()).add((contact.aging_key, contact.contact_id))
            contact.bucket = key

    def _unbucket(self, contact: Contact) -> None:
        if contact.bucket is not None:
            self.waiting_by[contact.bucket].discard((contact.aging_key, contact.contact_id))
            contact.bucket = None

    def _set_timer(self, due: float, kind: str, key: str) -> None:
        self._timer_sequence += 1
        heapq.heappush(self.timers, (due, self._timer_sequence, kind, key))

    def _schedule_contact(self, contact: Contact) -> None:
        for due in sorted(contact_timers(contact)):
            self._set_timer(due, "contact", contact.contact_id)

    def _release_offer(self, offer_id: str, *, declined: bool) -> Contact | None:
        contact_id = self.offers.pop(offer_id, None)
        contact = self.contacts.get(contact_id) if contact_id else None
        if contact is None:
            return None
        agent = self.agents.get(contact.agent_id or "")
        if agent is not None:
            agent.drop_offer(offer_id)
            self._reindex_agent(agent)  # room freed: the agent may stay busy, with no state change to reindex
            if declined:
                contact.declined_by.add(agent.agent_id)
        contact.stage, contact.offer_id, contact.agent_id, contact.offer_expires_at = Stage.WAITING, None, None, None
        self._line_up(contact)
        return contact

    def _drop_contact(self, contact_id: str) -> Contact | None:
        contact = self.contacts.pop(contact_id, None)
        if contact is not None and contact.stage is Stage.WAITING:
            self._step_out_of_line(contact)
        return contact


def contact_timers(contact: Contact) -> set[float]:
    """When a waiting contact's routing may change by itself: relaxation steps (and looks on a channel
    with a service goal), escalation, overflow."""
    policy, queued_at = contact.policy, contact.queued.queued_at.timestamp()
    due = contact.looks() or {queued_at + step.after_seconds for step in policy.steps[1:]}
    if policy.escalation is not None and policy.escalation.after_seconds is not None:
        due.add(queued_at + policy.escalation.after_seconds)
    if policy.overflow is not None:
        due.add(queued_at + policy.overflow.after_seconds)
    return due


def _policy_changed(state: PoolState, data: Any, at: datetime) -> None:
    policy = data.policy
    state.policies[policy.queue] = policy
    state.policy_versions[policy.queue] = data.policy_version
    state.policy_history[(policy.queue, data.policy_version)] = policy
    state.queue_order = sorted(state.policies.values(), key=lambda queue: (queue.order, queue.queue))


def _agent_changed(state: PoolState, data: Any, at: datetime) -> None:
    profile = data.profile
    agent = state.agents.get(profile.agent_id)
    previous_skills: list[str] = []
    if agent is None:
        agent = state.agents[profile.agent_id] = Agent(profile=profile, idle_since=at)
        state.reported_states[agent.agent_id] = agent.state
    else:
        previous_skills = list(agent.skills)
        agent.reprofile(profile)
    state._index_skills(agent, previous_skills)
    state._reindex_agent(agent)


def _agent_removed(state: PoolState, data: Any, at: datetime) -> None:
    agent = state.agents.pop(data.agent_id, None)
    state.reported_states.pop(data.agent_id, None)
    if agent is not None:
        state._index_skills(agent, list(agent.skills))
        state._reindex_agent(agent)
        state.outcomes.forget_agent(agent.agent_id)


def _agent_state_changed(state: PoolState, data: Any, at: datetime) -> None:
    agent = state.agents.get(data.agent_id)
    if agent is None:
        return
    if data.presence is Presence.AVAILABLE and agent.presence is not Presence.AVAILABLE:
        agent.missed_offers = 0
        if not agent.work:
            agent.idle_since = at
    agent.presence, agent.reason = data.presence, data.reason
    state.reported_states[agent.agent_id] = data.state
    state._reindex_agent(agent)


def _contact_queued(state: PoolState, data: Any, at: datetime) -> None:
    previous = state.contacts.get(data.contact_id)
    if previous is not None:
        if previous.stage is Stage.WAITING:
            state._step_out_of_line(previous)
        elif previous.offer_id is not None:
            state._release_offer(previous.offer_id, declined=False)
            state._step_out_of_line(previous)
    policy = state.policy_history[(data.queue, data.policy_version)]
    contact = state.contacts[data.contact_id] = Contact(queued=data, policy=policy)
    if previous is not None:
        contact.offers_made = previous.offers_made  # offer ids count every offer of the contact
    state._line_up(contact)
    state._schedule_contact(contact)


def _contact_escalated(state: PoolState, data: Any, at: datetime) -> None:
    contact = state.contacts.get(data.contact_id)
    if contact is not None:
        contact.queued = contact.queued.model_copy(update={"escalated_to": data.tier, "escalation_reason": data.reason})


def _decision(state: PoolState, data: Any, at: datetime) -> None:
    contact = state.contacts.get(data.contact_id)
    if contact is not None:
        contact.step = data.step
        if contact.bucket is not None:
            state._bucket(contact)  # a relaxed step may require other skills, or none


def _offer_created(state: PoolState, data: Any, at: datetime) -> None:
    contact = state.contacts[data.contact_id]
    state._step_out_of_line(contact)
    contact.stage, contact.offer_id, contact.agent_id = Stage.OFFERED, data.offer_id, data.agent_id
    contact.offer_expires_at = data.expires_at
    contact.offers_made += 1
    state.offers[data.offer_id] = data.contact_id
    agent = state.agents[data.agent_id]
    agent.hold_offer(data.offer_id, data.contact_id, data.channel)
    state._reindex_agent(agent)
    state.class_served[contact.class_key] = at.timestamp()
    state._set_timer(data.expires_at.timestamp(), "offer", data.offer_id)


def _offer_declined(state: PoolState, data: Any, at: datetime) -> None:
    state._release_offer(data.offer_id, declined=True)


def _offer_expired(state: PoolState, data: Any, at: datetime) -> None:
    state._release_offer(data.offer_id, declined=True)
    agent = state.agents.get(data.agent_id)
    if agent is not None:
        agent.missed_offers += 1


def _offer_withdrawn(state: PoolState, data: Any, at: datetime) -> None:
    state._release_offer(data.offer_id, declined=False)


def _contact_assigned(state: PoolState, data: Any, at: datetime) -> None:
    contact = state.contacts[data.contact_id]
    agent = state.agents[data.agent_id]
    state.offers.pop(data.offer_id, None)
    agent.drop_offer(data.offer_id)
    agent.hold_contact(data.contact_id, contact.channel)
    agent.missed_offers = 0
    contact.stage, contact.offer_id, contact.offer_expires_at, contact.assigned_at = Stage.ASSIGNED, None, None, at
    if contact.queued.customer_id is not None:
        state.last_agent[contact.queued.customer_id] = (agent.agent_id, at.timestamp())


def _agent_freed_of(state: PoolState, agent_id: str, contact_id: str, at: datetime) -> Agent | None:
    agent = state.agents.get(agent_id)
    if agent is not None and agent.drop_contact(contact_id):
        agent.idle_since = at
        state._reindex_agent(agent)
    return agent


def _contact_transferred(state: PoolState, data: Any, at: datetime) -> None:
    _agent_freed_of(state, data.from_agent, data.contact_id, at)


def _contact_abandoned(state: PoolState, data: Any, at: datetime) -> None:
    state._drop_contact(data.contact_id)


def _contact_completed(state: PoolState, data: Any, at: datetime) -> None:
    contact = state._drop_contact(data.contact_id)
    state.handle_times.setdefault(data.queue, deque(maxlen=RECENT_HANDLE_TIMES)).append(data.handle_seconds)
    agent = _agent_freed_of(state, data.agent_id, data.contact_id, at)
    if contact is not None and agent is not None:
        state.outcomes.learn(
            agent.agent_id,
            levels_of(agent, contact),
            resolved=data.resolution is Resolution.RESOLVED,
            handle_seconds=data.handle_seconds,
        )
    if agent is not None and data.wrap_up_until > at:
        agent.wrap_up_until = data.wrap_up_until
        state._set_timer(data.wrap_up_until.timestamp(), "wrap_up", agent.agent_id)
        state._reindex_agent(agent)


def _wrap_up_finished(state: PoolState, data: Any, at: datetime) -> None:
    agent = state.agents.get(data.agent_id)
    if agent is not None:
        agent.wrap_up_until = None
        state._reindex_agent(agent)


_EVOLUTIONS: dict[type[Event], Any] = {
    PolicyChanged: _policy_changed,
    AgentChanged: _agent_changed,
    AgentRemoved: _agent_removed,
    AgentStateChanged: _agent_state_changed,
    ContactQueued: _contact_queued,
    ContactEscalated: _contact_escalated,
    RoutingDecision: _decision,
    OfferCreated: _offer_created,
    OfferRejected: _offer_declined,
    OfferExpired: _offer_expired,
    OfferWithdrawn: _offer_withdrawn,
    ContactAssigned: _contact_assigned,
    ContactTransferred: _contact_transferred,
    ContactAbandoned: _contact_abandoned,
    ContactCompleted: _contact_completed,
    WrapUpFinished: _wrap_up_finished,
}
