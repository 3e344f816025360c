"""A routing pool driven in virtual time, with the facts it produced, for unit and property tests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from frontline.contracts.contacts import Channel
from frontline.contracts.envelope import Event
from frontline.contracts.routing import Offer, OfferCreated
from services.routing.core.contacts import Stage
from services.routing.core.router import Router
from services.routing.core.selection import FIT_HEAD_START, first_in_line, fits_fully, takes
from services.routing.core.snapshot import PoolSnapshot, restore, take
from services.routing.core.state import Fact, PoolState, contact_timers

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)


class Desk:
    def __init__(self, tenant: str = "acme") -> None:
        self.router = Router(tenant)
        self.now = T0
        self.facts: list[Fact] = []

    def do(self, event: Event) -> list[Fact]:
        facts = self.router.apply(event, self.now)
        self.facts += facts
        return facts

    def wait(self, seconds: float) -> list[Fact]:
        self.now += timedelta(seconds=seconds)
        facts = self.router.tick(self.now)
        self.facts += facts
        return facts

    def of(self, kind: type[Event], facts: list[Fact] | None = None) -> list[Any]:
        return [fact.data for fact in (self.facts if facts is None else facts) if fact.kind is kind]

    def open_offer(self, agent_id: str) -> Offer:
        """The offer this agent holds now (the test fails if there is not exactly one)."""
        held = [offer for offer in self.of(OfferCreated) if offer.offer_id in self.router.agents[agent_id].offers]
        assert len(held) == 1, f"{agent_id} holds {len(held)} offers"
        return held[0]

    def restored(self) -> PoolState:
        """A pool rebuilt from a snapshot of this one."""
        state = PoolState(self.router.tenant)
        restore(state, PoolSnapshot.model_validate_json(take(self.router, self.now).model_dump_json()))
        return state

    def replayed(self) -> PoolState:
        state = PoolState(self.router.tenant)
        for fact in self.facts:
            state.evolve(fact)
        return state


def snapshot(state: PoolState, *, now: datetime = T0) -> dict[str, Any]:
    """Everything that decides routing after `now`, in comparable form."""
    return {
        "policies": {queue: (policy, state.policy_versions[queue]) for queue, policy in state.policies.items()},
        "agents": {
            agent_id: (
                agent.profile,
                agent.presence,
                agent.reason,
                agent.idle_since,
                agent.wrap_up_until,
                agent.missed_offers,
                dict(agent.work),
                dict(agent.offers),
            )
            for agent_id, agent in state.agents.items()
        },
        "contacts": {
            contact_id: (
                contact.queued,
                contact.stage,
                contact.offer_id,
                contact.offer_expires_at,
                contact.agent_id,
                contact.assigned_at,
                contact.offers_made,
                sorted(contact.declined_by),
                contact.step,
            )
            for contact_id, contact in state.contacts.items()
        },
        "offers": dict(state.offers),
        "waiting": sorted(entry for line in state.waiting_by.values() for entry in line),
        "routable": state.routable_count(),
        "free": {channel: sorted(state.free_on(channel)) for channel in Channel if state.free_on(channel)},
        "by_skill": {skill: sorted(agents) for skill, agents in state.by_skill.items() if agents},
        "overdue_lines": {key: list(line) for key, line in state.overdue_lines.items() if line},
        "queue_order": [policy.queue for policy in state.queue_order],
        "last_agent": dict(state.last_agent),
        "class_served": dict(state.class_served),
        "outcomes": state.outcomes,
        "due": sorted({(due, kind, key) for due, _, kind, key in state.timers if _live(state, kind, key, due, now)}),
    }


def _live(state: PoolState, kind: str, key: str, due: float, now: datetime) -> bool:
    """A timer that will still do something: not yet due, and its offer, wrap-up or contact still there."""
    if due <= now.timestamp():
        return False
    if kind == "offer":
        contact = state.contacts.get(state.offers.get(key, ""))
        return (
            contact is not None and contact.offer_expires_at is not None and contact.offer_expires_at.timestamp() == due
        )
    if kind == "wrap_up":
        agent = state.agents.get(key)
        return agent is not None and agent.wrap_up_until is not None and agent.wrap_up_until.timestamp() == due
    contact = state.contacts.get(key)
    return contact is not None and due in contact_timers(contact)


def holdings(state: PoolState) -> Counter[str]:
    """How many agents hold each contact, by offer or assignment."""
    held: Counter[str] = Counter()
    for agent in state.agents.values():
        held.update(agent.work.keys())
        held.update(contact_id for contact_id, _ in agent.offers.values())
    return held


def check_invariants(state: PoolState) -> None:
    """Capacity, single holder, and offers that agree between contact, agent and pool."""
    held = holdings(state)
    assert all(count == 1 for count in held.values()), f"contacts held twice: {+held}"
    for agent in state.agents.values():
        in_hand = agent.channels_in_hand()
        assert +Counter(agent.load) == Counter(in_hand), f"{agent.agent_id}'s load counter drifted"
        profile = agent.profile
        assert agent.exclusive_held == sum(c in profile.exclusive_channels for c in in_hand), agent.agent_id
        assert agent.uninterruptible_held == sum(c not in profile.interruptible_channels for c in in_hand), agent
        for channel in set(in_hand):
            assert in_hand.count(channel) <= agent.profile.capacity.get(channel, 0), f"{agent.agent_id} over capacity"
        exclusive = [channel for channel in in_hand if channel in agent.profile.exclusive_channels]
        if exclusive:
            beside = [c for c in in_hand if c not in agent.profile.interruptible_channels]
            assert len(exclusive) == 1, f"{agent.agent_id} holds two exclusive contacts"
            assert len(beside) == 1, f"{agent.agent_id} holds more than put-aside work beside an exclusive contact"
        for offer_id, (contact_id, _) in agent.offers.items():
            contact = state.contacts[contact_id]
            assert state.offers[offer_id] == contact_id
            assert contact.stage is Stage.OFFERED
            assert contact.agent_id == agent.agent_id
    for contact in state.contacts.values():
        if contact.stage is Stage.WAITING:
            assert contact.contact_id not in held
        else:
            assert held[contact.contact_id] == 1
    check_waiting_index(state)
    check_free_index(state)


def check_free_index(state: PoolState) -> None:
    """The agents indexed as free on a channel, and the routable count, are what each agent says now."""
    routable = [agent for agent in state.agents.values() if agent.routable]
    assert state.routable_count() == len(routable), "the routable count drifted"
    for channel in Channel:
        free = {agent.agent_id for agent in routable if channel in agent.free_channels()}
        assert set(state.free_on(channel)) == free, f"the free index on {channel.value} drifted"


def check_waiting_index(state: PoolState) -> None:
    """The buckets hold each waiting contact once, under its channel and a skill it requires now (or
    none), and an agent's look into them finds what a scan of every waiting contact finds (oldest by
    aging, a contact the agent fully fits with its head start)."""
    waiting = sorted(
        ((c.aging_key, c.contact_id) for c in state.contacts.values() if c.stage is Stage.WAITING),
    )
    filed = [(entry, key) for key, line in state.waiting_by.items() for entry in line]
    assert sorted(entry for entry, _ in filed) == waiting, "the waiting index drifted"
    for (_, contact_id), (channel, skill) in filed:
        contact = state.contacts[contact_id]
        required = contact.required_skills()
        assert channel == contact.queued.channel
        assert (skill in required) if required else skill is None, f"{contact_id} filed under {skill}"
    for agent in state.agents.values():
        rooms = set(agent.free_channels())
        takeable = [(key, c) for key, c in waiting if takes(agent, rooms, state.contacts[c])]
        ordered = sorted(
            (key - FIT_HEAD_START if fits_fully(agent, state.contacts[c]) else key, c) for key, c in takeable
        )
        scanned = state.contacts[ordered[0][1]] if ordered else None
        assert first_in_line(state, agent, rooms) is scanned, f"{agent.agent_id} looked in the wrong place"
