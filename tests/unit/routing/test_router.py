"""The routing engine's stories, in virtual time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from frontline.contracts.envelope import MAX_SECONDS
from frontline.contracts.routing import (
    AgentState,
    AgentStateChanged,
    ContactAbandoned,
    ContactAssigned,
    ContactCompleted,
    ContactEscalated,
    ContactQueued,
    OfferCreated,
    OfferExpired,
    OfferWithdrawn,
    RoutingDecision,
    WrapUpFinished,
)
from services.routing.core.errors import NotHandling, OfferNotOpen, UnknownAgent, UnknownQueue
from tests.unit.factories import (
    agent_removed,
    agent_saved,
    contact_handled,
    contact_received,
    customer_left,
    offer_answered,
    policy_saved,
    state_requested,
    transfer_requested,
    wrap_up_ended,
)
from tests.unit.routing.desk import Desk, check_invariants, snapshot


def staffed(*agents: tuple[str, int], **profile: object) -> Desk:
    """A pool with these (agent, billing proficiency) pairs, all available."""
    desk = Desk()
    for agent_id, level in agents:
        desk.do(agent_saved(agent_id, skills=[{"skill": "billing", "proficiency": level}], **profile))
        desk.do(state_requested(agent_id))
    return desk


def test_contact_is_offered_to_the_best_fitting_available_agent() -> None:
    desk = staffed(("ann", 2), ("bob", 5), ("cid", 3))
    facts = desk.do(contact_received(contact_id="c-1"))
    [offer] = desk.of(OfferCreated, facts)
    assert offer.agent_id == "bob"
    [decision] = desk.of(RoutingDecision, facts)
    assert decision.chosen.agent_id == "bob"
    assert decision.chosen.fit == 5
    assert [c.agent_id for c in decision.candidates] == ["bob", "cid", "ann"]


def test_among_equal_fits_the_agent_idle_longest_since_their_last_contact_wins() -> None:
    desk = staffed(("ann", 3), ("bob", 3))
    desk.do(contact_received(contact_id="c-1"))
    first = desk.open_offer(desk.of(OfferCreated)[-1].agent_id)
    desk.do(offer_answered(first.offer_id, first.agent_id))
    desk.wait(10)
    desk.do(contact_handled("c-1", first.agent_id))
    desk.do(wrap_up_ended(first.agent_id))
    desk.wait(1)
    facts = desk.do(contact_received(contact_id="c-2", customer={"customer_id": "someone-else"}))
    [offer] = desk.of(OfferCreated, facts)
    assert offer.agent_id != first.agent_id, "the other agent has been idle since they went available"


def test_accepted_offer_assigns_and_completion_starts_wrap_up_then_frees_the_agent() -> None:
    desk = staffed(("ann", 3))
    desk.do(contact_received(contact_id="c-1", channel="voice"))
    offer = desk.open_offer("ann")
    facts = desk.do(offer_answered(offer.offer_id, "ann"))
    [assignment] = desk.of(ContactAssigned, facts)
    assert assignment.agent_id == "ann"
    assert desk.router.agents["ann"].state is AgentState.BUSY
    desk.wait(120)
    facts = desk.do(contact_handled("c-1", "ann"))
    [completion] = desk.of(ContactCompleted, facts)
    assert completion.handle_seconds == 120
    assert completion.disposition == "answered"
    assert desk.router.agents["ann"].state is AgentState.WRAP_UP
    desk.do(contact_received(contact_id="c-2"))
    assert not desk.router.agents["ann"].offers, "no offers during wrap-up"
    facts = desk.wait(30)
    assert desk.of(WrapUpFinished, facts)
    assert desk.of(OfferCreated, facts)[0].contact_id == "c-2", "the backlog drains as soon as wrap-up ends"


def test_rejected_offer_reroutes_at_once_without_stranding_the_agent() -> None:
    desk = staffed(("ann", 5), ("bob", 3))
    desk.do(contact_received(contact_id="c-1"))
    offer = desk.open_offer("ann")
    facts = desk.do(offer_answered(offer.offer_id, "ann", accepted=False))
    assert [o.agent_id for o in desk.of(OfferCreated, facts)] == ["bob"]
    assert not desk.router.agents["ann"].offers
    assert desk.router.agents["ann"].state is AgentState.AVAILABLE


def test_a_rejected_contact_returns_to_the_same_agent_when_nobody_else_qualifies() -> None:
    desk = staffed(("ann", 5))
    desk.do(contact_received(contact_id="c-1"))
    offer = desk.open_offer("ann")
    facts = desk.do(offer_answered(offer.offer_id, "ann", accepted=False))
    [again] = desk.of(OfferCreated, facts)
    assert again.agent_id == "ann"
    assert again.offer_id != offer.offer_id


def test_expired_offers_reroute_and_an_agent_who_misses_too_many_goes_away() -> None:
    desk = staffed(("ann", 5), ("bob", 3))
    desk.do(policy_saved("general", offer_timeout_seconds=10, max_missed_offers=2))
    desk.do(contact_received(contact_id="c-1"))
    assert desk.open_offer("ann").contact_id == "c-1"
    facts = desk.wait(10)
    assert [o.agent_id for o in desk.of(OfferExpired, facts)] == ["ann"]
    assert desk.open_offer("bob").contact_id == "c-1"
    desk.do(contact_received(contact_id="c-2"))
    assert desk.open_offer("ann").contact_id == "c-2"
    facts = desk.wait(10)
    away = [s for s in desk.of(AgentStateChanged, facts) if s.agent_id == "ann"]
    assert away[-1].state is AgentState.AWAY
    assert away[-1].reason == "missed 2 offers in a row"
    assert not desk.router.agents["ann"].offers
    check_invariants(desk.router)


def test_an_agent_going_offline_has_their_offer_withdrawn_and_the_contact_rerouted() -> None:
    desk = staffed(("ann", 5), ("bob", 3))
    desk.do(contact_received(contact_id="c-1"))
    desk.open_offer("ann")
    facts = desk.do(state_requested("ann", "offline", reason="end of shift"))
    [withdrawn] = desk.of(OfferWithdrawn, facts)
    assert withdrawn.reason == "agent went offline"
    assert desk.open_offer("bob").contact_id == "c-1"


def test_requirements_relax_step_by_step_while_a_contact_waits() -> None:
    desk = staffed(("ann", 2))
    facts = desk.do(contact_received(contact_id="c-1", required_skills=[{"skill": "billing", "min_proficiency": 4}]))
    [decision] = desk.of(RoutingDecision, facts)
    assert decision.chosen is None
    assert decision.step == 0
    assert decision.excluded[0].reason == "billing proficiency 2 below 4"
    assert not desk.wait(59)
    facts = desk.wait(1)
    [decision] = desk.of(RoutingDecision, facts)
    assert decision.step == 1
    assert decision.requirements.proficiency_relaxed_by == 2
    assert decision.chosen is not None
    assert decision.chosen.agent_id == "ann"


def test_the_language_requirement_is_dropped_only_at_its_step() -> None:
    desk = staffed(("ann", 3), languages=["de"])
    facts = desk.do(contact_received(contact_id="c-1"))
    assert desk.of(RoutingDecision, facts)[0].excluded[0].reason == "does not speak en"
    desk.wait(60)
    assert not desk.router.agents["ann"].offers
    facts = desk.wait(120)
    assert desk.of(OfferCreated, facts)[0].agent_id == "ann"


def test_an_angry_customer_goes_to_the_supervisor_tier() -> None:
    desk = staffed(("ann", 5))
    desk.do(agent_saved("sue", tier="supervisor"))
    desk.do(state_requested("sue"))
    facts = desk.do(contact_received(contact_id="c-1", sentiment={"score": -0.9, "angry": True}))
    [queued] = desk.of(ContactQueued, facts)
    assert queued.escalated_to == "supervisor"
    assert queued.escalation_reason == "angry customer"
    assert desk.of(OfferCreated, facts)[0].agent_id == "sue"


def test_a_contact_waiting_too_long_escalates() -> None:
    desk = staffed(("ann", 3))
    desk.do(policy_saved("general", escalation={"tier": "technician", "after_seconds": 30}))
    desk.do(agent_saved("tom", tier="technician", skills=[]))
    desk.do(state_requested("tom", "away"))
    desk.do(contact_received(contact_id="c-1", channel="voice"))
    offer = desk.open_offer("ann")
    desk.do(offer_answered(offer.offer_id, "ann"))
    desk.do(contact_received(contact_id="c-2", channel="voice", required_skills=[]))
    facts = desk.wait(30)
    assert desk.of(ContactEscalated, facts)[0].tier == "technician"
    facts = desk.do(state_requested("tom"))
    assert desk.of(OfferCreated, facts)[0].agent_id == "tom"


def test_a_queue_overflows_into_another_after_its_timeout() -> None:
    desk = Desk()
    desk.do(policy_saved("backup"))
    desk.do(
        policy_saved("billing", concerns=["billing"], order=1, overflow={"to_queue": "backup", "after_seconds": 45})
    )
    facts = desk.do(contact_received(contact_id="c-1"))
    assert desk.of(ContactQueued, facts)[0].queue == "billing"
    facts = desk.wait(45)
    [moved] = desk.of(ContactQueued, facts)
    assert moved.queue == "backup"
    assert moved.because == "overflowed"


def test_a_policy_overflowing_into_an_unknown_queue_is_refused() -> None:
    with pytest.raises(UnknownQueue):
        Desk().do(policy_saved("billing", overflow={"to_queue": "nowhere", "after_seconds": 45}))


def test_transfer_to_another_agent_offers_only_to_them() -> None:
    desk = staffed(("ann", 5), ("bob", 3), ("cid", 4))
    desk.do(contact_received(contact_id="c-1", channel="voice"))
    desk.do(offer_answered(desk.open_offer("ann").offer_id, "ann"))
    facts = desk.do(transfer_requested("c-1", "ann", to_agent="bob"))
    assert [o.agent_id for o in desk.of(OfferCreated, facts)] == ["bob"]
    assert not desk.router.agents["ann"].work


def test_only_the_agent_handling_a_contact_may_complete_or_transfer_it() -> None:
    desk = staffed(("ann", 5), ("bob", 3))
    desk.do(contact_received(contact_id="c-1"))
    with pytest.raises(NotHandling):
        desk.do(contact_handled("c-1", "ann"))
    desk.do(offer_answered(desk.open_offer("ann").offer_id, "ann"))
    with pytest.raises(NotHandling):
        desk.do(transfer_requested("c-1", "bob", to_queue="general"))
    with pytest.raises(UnknownQueue):
        desk.do(transfer_requested("c-1", "ann", to_queue="nowhere"))
    with pytest.raises(UnknownAgent):
        desk.do(state_requested("zed"))


def test_a_late_answer_is_refused_and_changes_nothing() -> None:
    desk = staffed(("ann", 5), ("bob", 3))
    desk.do(contact_received(contact_id="c-1"))
    offer = desk.open_offer("ann")
    desk.wait(20)
    before = snapshot(desk.router)
    with pytest.raises(OfferNotOpen):
        desk.do(offer_answered(offer.offer_id, "ann"))
    assert snapshot(desk.router) == before


def test_a_customer_who_leaves_is_abandoned_and_frees_the_offered_agent() -> None:
    desk = staffed(("ann", 5))
    desk.do(contact_received(contact_id="c-1"))
    desk.do(contact_received(contact_id="c-2", channel="voice"))
    desk.wait(5)
    facts = desk.do(customer_left("c-2"))
    assert desk.of(ContactAbandoned, facts)[0].waited_seconds == 5
    facts = desk.do(customer_left("c-1"))
    assert desk.of(OfferWithdrawn, facts)[0].agent_id == "ann"
    assert not desk.router.contacts
    assert not desk.router.agents["ann"].offers


def test_the_customers_last_agent_is_preferred_and_skipped_at_once_when_offline() -> None:
    desk = staffed(("ann", 2), ("bob", 5))
    desk.do(contact_received(contact_id="c-1", channel="voice"))
    desk.do(offer_answered(desk.open_offer("bob").offer_id, "bob"))
    desk.do(contact_handled("c-1", "bob"))
    desk.do(wrap_up_ended("bob"))
    desk.do(agent_saved("bob", skills=[{"skill": "billing", "proficiency": 2}]))
    desk.do(agent_saved("ann", skills=[{"skill": "billing", "proficiency": 5}]))
    facts = desk.do(contact_received(contact_id="c-2", channel="voice"))
    [decision] = desk.of(RoutingDecision, facts)
    assert decision.chosen.agent_id == "bob"
    assert decision.chosen.preferred
    facts = desk.do(state_requested("bob", "offline"))
    assert desk.open_offer("ann").contact_id == "c-2"


def test_a_voice_contact_blocks_other_channels_and_chat_takes_three_at_once() -> None:
    desk = staffed(("ann", 3))
    for n in range(4):
        desk.do(contact_received(contact_id=f"chat-{n}", channel="chat"))
    assert len(desk.router.agents["ann"].offers) == 3
    desk.do(contact_received(contact_id="call", channel="voice"))
    decision = desk.of(RoutingDecision)[-1]
    assert decision.contact_id == "call"
    assert decision.excluded[0].reason == "voice needs the agent free of other contacts"
    check_invariants(desk.router)


def test_a_blended_agent_puts_e_mail_aside_for_a_call_but_not_chat() -> None:
    desk = staffed(("ann", 3), interruptible_channels=["email"])
    desk.do(contact_received(contact_id="mail", channel="email"))
    desk.do(offer_answered(desk.open_offer("ann").offer_id, "ann"))
    desk.do(contact_received(contact_id="call", channel="voice"))
    assert desk.open_offer("ann").contact_id == "call"
    desk.do(offer_answered(desk.open_offer("ann").offer_id, "ann"))
    facts = desk.do(contact_received(contact_id="mail-2", channel="email"))
    assert desk.of(RoutingDecision, facts)[0].excluded[0].reason == "busy on an exclusive channel"
    check_invariants(desk.router)
    chatting = staffed(("bob", 3), interruptible_channels=["email"])
    chatting.do(contact_received(contact_id="chat", channel="chat"))
    facts = chatting.do(contact_received(contact_id="call", channel="voice"))
    assert chatting.of(RoutingDecision, facts)[0].excluded[0].reason == "voice needs the agent free of other contacts"


def test_removing_an_agent_requeues_their_contacts() -> None:
    desk = staffed(("ann", 5), ("bob", 3))
    desk.do(contact_received(contact_id="c-1", channel="voice"))
    desk.do(offer_answered(desk.open_offer("ann").offer_id, "ann"))
    facts = desk.do(agent_removed("ann"))
    assert desk.of(ContactQueued, facts)[0].because == "transferred"
    assert desk.open_offer("bob").contact_id == "c-1"


def test_a_duplicate_contact_is_routed_once() -> None:
    desk = staffed(("ann", 5))
    event = contact_received(contact_id="c-1")
    desk.do(event)
    assert desk.do(event) == []


def test_replaying_the_facts_rebuilds_the_same_pool() -> None:
    desk = staffed(("ann", 5), ("bob", 3))
    desk.do(policy_saved("general", offer_timeout_seconds=10))
    for n in range(5):
        desk.do(contact_received(contact_id=f"c-{n}", channel="voice"))
    desk.do(offer_answered(desk.open_offer("ann").offer_id, "ann"))
    desk.wait(10)
    desk.do(customer_left("c-3"))
    assert snapshot(desk.replayed(), now=desk.now) == snapshot(desk.router, now=desk.now)


def test_a_contact_that_says_it_arrived_decades_ago_is_still_routed_assigned_and_completed() -> None:
    desk = staffed(("ann", 3))
    facts = desk.do(contact_received(contact_id="old", arrived_at=datetime(1971, 6, 1, tzinfo=UTC)))
    [decision] = desk.of(RoutingDecision, facts)
    assert decision.waited_seconds == MAX_SECONDS
    facts = desk.do(offer_answered(desk.open_offer("ann").offer_id, "ann"))
    [assigned] = desk.of(ContactAssigned, facts)
    assert assigned.waited_seconds == MAX_SECONDS
    assert desk.of(ContactCompleted, desk.do(contact_handled("old", "ann")))
