"""The learning loop: estimates from completed contacts, shrunk toward the pool, and routing by them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontline.contracts.routing import OfferCreated, RoutingDecision
from services.routing.core.outcomes import MEMORY, OWN_EVIDENCE, STARTING, Outcomes, value_band
from tests.unit.factories import (
    agent_saved,
    contact_handled,
    contact_received,
    offer_answered,
    state_requested,
    wrap_up_ended,
)
from tests.unit.routing.desk import Desk


def test_before_any_contact_every_agent_is_expected_alike() -> None:
    outcomes = Outcomes()
    assert outcomes.estimate("ann", {"billing": 3}) == STARTING
    assert outcomes.estimate("bob", {}) == STARTING


def test_an_agents_own_record_counts_only_once_it_is_evidence_and_their_level_learns_before() -> None:
    outcomes = Outcomes()
    for _ in range(int(OWN_EVIDENCE) - 1):
        outcomes.learn("ann", {"billing": 3}, resolved=False, handle_seconds=900)
    ann, bob = outcomes.estimate("ann", {"billing": 3}), outcomes.estimate("bob", {"billing": 3})
    assert ann == bob, "ann's few contacts speak for her level, not yet for her"
    assert ann.resolution < STARTING.resolution
    assert ann.handle_seconds > STARTING.handle_seconds
    assert outcomes.estimate("cid", {"billing": 5}).resolution > ann.resolution, "another level: less evidence"
    outcomes.learn("ann", {"billing": 3}, resolved=False, handle_seconds=900)
    assert outcomes.estimate("ann", {"billing": 3}).resolution < outcomes.estimate("bob", {"billing": 3}).resolution


def test_old_contacts_fade_so_an_agent_who_changes_is_seen_to() -> None:
    outcomes = Outcomes()
    for _ in range(int(MEMORY)):
        outcomes.learn("ann", {"billing": 3}, resolved=True, handle_seconds=300)
    for _ in range(int(MEMORY)):
        outcomes.learn("ann", {"billing": 3}, resolved=False, handle_seconds=300)
    record = outcomes.agents["ann"]["billing"]
    assert record.contacts == pytest.approx(MEMORY)
    assert outcomes.estimate("ann", {"billing": 3}).resolution < 0.5


@given(
    st.lists(
        st.tuples(st.sampled_from(["ann", "bob"]), st.booleans(), st.floats(0, 10_000), st.integers(0, 5)),
        max_size=300,
    )
)
def test_estimates_stay_probabilities_and_durations_in_range(history: list[tuple[str, bool, float, int]]) -> None:
    outcomes = Outcomes()
    for agent_id, resolved, handle, level in history:
        outcomes.learn(agent_id, {"billing": level} if level else {}, resolved=resolved, handle_seconds=handle)
    for agent_id in ("ann", "bob", "cid"):
        for levels in ({}, {"billing": 3}, {"billing": 3, "tech": 1}):
            estimate = outcomes.estimate(agent_id, levels)
            assert 0 <= estimate.resolution <= 1
            assert 0 <= estimate.handle_seconds <= 10_000
            value_band(estimate)


def _serve(desk: Desk, contact_id: str, agent_id: str, *, resolved: bool, seconds: float) -> None:
    desk.do(contact_received(contact_id=contact_id, customer={"customer_id": f"cust-{contact_id}"}))
    desk.do(offer_answered(desk.open_offer(agent_id).offer_id, agent_id))
    desk.wait(seconds)
    desk.do(contact_handled(contact_id, agent_id, resolution="resolved" if resolved else "unresolved"))
    desk.do(wrap_up_ended(agent_id))


def test_among_equal_fits_the_agent_who_resolves_more_per_hour_is_chosen_and_the_decision_says_why() -> None:
    desk = Desk()
    for agent_id in ("ann", "bob"):
        desk.do(agent_saved(agent_id, skills=[{"skill": "billing", "proficiency": 3}]))
    desk.do(state_requested("ann"))
    for n in range(int(OWN_EVIDENCE)):  # ann alone: quick and resolving
        _serve(desk, f"a-{n}", "ann", resolved=True, seconds=120)
    desk.do(state_requested("bob", state="away"))
    desk.do(state_requested("ann", state="away"))
    desk.do(state_requested("bob"))
    for n in range(int(OWN_EVIDENCE)):  # bob alone: slow and leaving customers to come back
        _serve(desk, f"b-{n}", "bob", resolved=False, seconds=900)
    desk.do(state_requested("ann"))
    desk.wait(5)  # bob has been idle longer than ann
    facts = desk.do(contact_received(contact_id="next", customer={"customer_id": "someone"}))
    [offer] = desk.of(OfferCreated, facts)
    assert offer.agent_id == "ann"
    [decision] = desk.of(RoutingDecision, facts)
    ann, bob = decision.candidates
    assert ann.resolution_chance > 0.8 > bob.resolution_chance
    assert ann.expected_handle_seconds < 300 < bob.expected_handle_seconds
    assert ann.learned_from == bob.learned_from == OWN_EVIDENCE
    arrived = contact_received().occurred_at  # the factory's arrival time; the desk's clock ran on since
    assert decision.waited_seconds == (desk.now - arrived).total_seconds()
    restored = desk.restored()
    assert restored.outcomes == desk.router.outcomes, "the learned records survive a restart"
