"""A pool's state as one document, and back: so that recovery replays only the facts written since.

`take` keeps what decides future routing; `restore` rebuilds the indices and timers from it. The
policy versions kept are the current ones and those live contacts were queued under; a customer's
last agent is kept while some queue's sticky window could still prefer them.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from frontline.contracts.agents import AgentProfile, Presence
from frontline.contracts.contacts import Channel
from frontline.contracts.policies import QueuePolicy
from frontline.contracts.routing import AgentState, QueuedContact
from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact, Stage
from services.routing.core.outcomes import Outcomes, Record
from services.routing.core.state import RECENT_HANDLE_TIMES, PoolState


class PolicySnapshot(BaseModel):
    policy: QueuePolicy
    version: int


class AgentSnapshot(BaseModel):
    profile: AgentProfile
    presence: Presence
    reason: str | None
    reported_state: AgentState
    idle_since: AwareDatetime
    wrap_up_until: AwareDatetime | None
    missed_offers: int
    work: dict[str, Channel]
    offers: dict[str, tuple[str, Channel]]


class ContactSnapshot(BaseModel):
    queued: QueuedContact
    stage: Stage
    offer_id: str | None
    offer_expires_at: AwareDatetime | None
    agent_id: str | None
    assigned_at: AwareDatetime | None
    offers_made: int
    declined_by: list[str]
    step: int


Counts = tuple[float, float, float]  # a Record: contacts, resolved, handle seconds


class OutcomesSnapshot(BaseModel):
    overall: Counts = (0.0, 0.0, 0.0)
    skills: dict[str, Counts] = Field(default_factory=dict)
    levels: list[tuple[str, int, Counts]] = Field(default_factory=list)
    agents: dict[str, dict[str, Counts]] = Field(default_factory=dict)


class PoolSnapshot(BaseModel):
    tenant: str
    policies: list[PolicySnapshot]
    queued_under: list[PolicySnapshot]
    agents: list[AgentSnapshot]
    contacts: list[ContactSnapshot]
    class_served: list[tuple[str, str, float]]
    last_agent: dict[str, tuple[str, float]]
    handle_times: dict[str, list[float]]
    outcomes: OutcomesSnapshot = Field(default_factory=OutcomesSnapshot)  # absent from older snapshots


def take(state: PoolState, now: datetime) -> PoolSnapshot:
    current = {(queue, version) for queue, version in state.policy_versions.items()}
    live = {(c.queued.queue, c.queued.policy_version) for c in state.contacts.values()} - current
    sticky = max((p.sticky_agent_seconds for p in state.policies.values()), default=0.0)
    return PoolSnapshot(
        tenant=state.tenant,
        policies=[PolicySnapshot(policy=state.policies[q], version=v) for q, v in state.policy_versions.items()],
        queued_under=[PolicySnapshot(policy=state.policy_history[key], version=key[1]) for key in sorted(live)],
        agents=[_agent(agent, state.reported_states[agent_id]) for agent_id, agent in state.agents.items()],
        contacts=[_contact(contact) for contact in state.contacts.values()],
        class_served=[(queue, name, at) for (queue, name), at in state.class_served.items()],
        last_agent={
            customer: last for customer, last in state.last_agent.items() if now.timestamp() - last[1] <= sticky
        },
        handle_times={queue: list(times) for queue, times in state.handle_times.items()},
        outcomes=_outcomes(state.outcomes),
    )


def _outcomes(outcomes: Outcomes) -> OutcomesSnapshot:
    return OutcomesSnapshot(
        overall=outcomes.overall.as_tuple(),
        skills={skill: record.as_tuple() for skill, record in outcomes.skills.items()},
        levels=[(skill, level, record.as_tuple()) for (skill, level), record in outcomes.levels.items()],
        agents={
            agent_id: {skill: record.as_tuple() for skill, record in records.items()}
            for agent_id, records in outcomes.agents.items()
        },
    )


def _agent(agent: Agent, reported: AgentState) -> AgentSnapshot:
    return AgentSnapshot(
        profile=agent.profile,
        presence=agent.presence,
        reason=agent.reason,
        reported_state=reported,
        idle_since=agent.idle_since,
        wrap_up_until=agent.wrap_up_until,
        missed_offers=agent.missed_offers,
        work=agent.work,
        offers=agent.offers,
    )


def _contact(contact: Contact) -> ContactSnapshot:
    return ContactSnapshot(
        queued=contact.queued,
        stage=contact.stage,
        offer_id=contact.offer_id,
        offer_expires_at=contact.offer_expires_at,
        agent_id=contact.agent_id,
        assigned_at=contact.assigned_at,
        offers_made=contact.offers_made,
        declined_by=sorted(contact.declined_by),
        step=contact.step,
    )


def restore(state: PoolState, snapshot: PoolSnapshot) -> None:
    """Fill an empty `state` (a PoolState or a Router) from `snapshot`, indices and timers included."""
    for kept in (*snapshot.queued_under, *snapshot.policies):
        state.policy_history[(kept.policy.queue, kept.version)] = kept.policy
    for kept in snapshot.policies:
        state.policies[kept.policy.queue] = kept.policy
        state.policy_versions[kept.policy.queue] = kept.version
    state.queue_order = sorted(state.policies.values(), key=lambda queue: (queue.order, queue.queue))
    for saved in snapshot.agents:
        agent = Agent(profile=saved.profile, idle_since=saved.idle_since, presence=saved.presence, reason=saved.reason)
        agent.wrap_up_until, agent.missed_offers = saved.wrap_up_until, saved.missed_offers
        for contact_id, channel in saved.work.items():
            agent.hold_contact(contact_id, channel)
        for offer_id, (contact_id, channel) in saved.offers.items():
            agent.hold_offer(offer_id, contact_id, channel)
        state.agents[agent.agent_id] = agent
        state.reported_states[agent.agent_id] = saved.reported_state
        state._index_skills(agent, [])
        state._reindex_agent(agent)
        if agent.wrap_up_until is not None:
            state._set_timer(agent.wrap_up_until.timestamp(), "wrap_up", agent.agent_id)
    for saved_contact in snapshot.contacts:
        _restore_contact(state, saved_contact)
    state.class_served = {(queue, name): at for queue, name, at in snapshot.class_served}
    state.last_agent = dict(snapshot.last_agent)
    for queue, times in snapshot.handle_times.items():
        state.handle_times[queue] = _recent(times)
    learned = snapshot.outcomes
    state.outcomes = Outcomes(
        overall=Record(*learned.overall),
        skills={skill: Record(*counts) for skill, counts in learned.skills.items()},
        levels={(skill, level): Record(*counts) for skill, level, counts in learned.levels},
        agents={agent_id: {s: Record(*c) for s, c in records.items()} for agent_id, records in learned.agents.items()},
    )


def _restore_contact(state: PoolState, saved: ContactSnapshot) -> None:
    policy = state.policy_history[(saved.queued.queue, saved.queued.policy_version)]
    contact = Contact(queued=saved.queued, policy=policy, stage=saved.stage, step=saved.step)
    contact.offer_id, contact.offer_expires_at, contact.agent_id = (
        saved.offer_id,
        saved.offer_expires_at,
        saved.agent_id,
    )
    contact.assigned_at, contact.offers_made, contact.declined_by = (
        saved.assigned_at,
        saved.offers_made,
        set(saved.declined_by),
    )
    state.contacts[contact.contact_id] = contact
    if contact.stage is Stage.WAITING:
        state._line_up(contact)
    if contact.offer_id is not None and contact.offer_expires_at is not None:
        state.offers[contact.offer_id] = contact.contact_id
        state._set_timer(contact.offer_expires_at.timestamp(), "offer", contact.offer_id)
    state._schedule_contact(contact)


def _recent(times: list[float]) -> deque[float]:
    return deque(times, maxlen=RECENT_HANDLE_TIMES)
