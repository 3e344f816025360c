"""Service goals: a contact's steps start when waiting for a qualifying agent stops paying, not on timers."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from frontline.contracts.policies import QueuePolicy
from frontline.contracts.routing import ContactQueued, OfferCreated, RoutingDecision
from services.routing.core.contacts import Stage
from tests.unit.factories import (
    agent_saved,
    contact_handled,
    contact_received,
    offer_answered,
    policy_saved,
    state_requested,
)
from tests.unit.routing.desk import Desk, check_invariants

VOICE_GOAL, EMAIL_GOAL = 20.0, 3600.0


def floor(*agents: tuple[str, int, list[str]]) -> Desk:
    """The general queue with goals for voice and e-mail (default steps: proficiency -2 after 60 s,
    any language after 180 s), and these (agent, billing proficiency, languages), all available."""
    desk = Desk()
    desk.do(policy_saved("general", answer_within={"voice": VOICE_GOAL, "email": EMAIL_GOAL}, order=1_000_000))
    for agent_id, level, languages in agents:
        hire(desk, agent_id, level, languages)
    return desk


def hire(desk: Desk, agent_id: str, level: int, languages: list[str], **profile: Any) -> None:
    """An available agent with billing at `level` and a skill of their own (see `keep_busy`)."""
    skills = [{"skill": "billing", "proficiency": level}, {"skill": f"own-{agent_id}", "proficiency": 1}]
    desk.do(agent_saved(agent_id, skills=skills, languages=languages, **profile))
    desk.do(state_requested(agent_id))


def call(contact_id: str, *, channel: str = "voice", language: str = "en") -> Any:
    return contact_received(
        contact_id=contact_id,
        channel=channel,
        required_skills=[{"skill": "billing", "min_proficiency": 4}],
        language={"code": language, "confidence": 0.9, "method": "detected"},
        customer={"customer_id": f"cust-{contact_id}"},
    )


def keep_busy(desk: Desk, agent_id: str) -> None:
    """Give `agent_id` a call only they may take (their own skill, in a language they speak) to handle."""
    language = sorted(desk.router.agents[agent_id].languages)[0]
    desk.do(
        contact_received(
            contact_id=f"busy-{agent_id}",
            channel="voice",
            required_skills=[{"skill": f"own-{agent_id}", "min_proficiency": 1}],
            language={"code": language, "confidence": 0.9, "method": "detected"},
        )
    )
    desk.do(offer_answered(desk.open_offer(agent_id).offer_id, agent_id))


def offers(desk: Desk, facts: Any = None) -> list[tuple[str, str]]:
    return [(offer.contact_id, offer.agent_id) for offer in desk.of(OfferCreated, facts)]


def test_with_nobody_qualifying_on_the_floor_the_contact_widens_at_once_not_after_the_steps_timer() -> None:
    desk = floor(("ann", 2, ["en"]))
    facts = desk.do(call("c-1"))
    [decision] = desk.of(RoutingDecision, facts)
    assert decision.step == 1
    assert decision.chosen is not None
    assert decision.chosen.agent_id == "ann"


def test_a_contact_waits_for_the_busy_expert_while_the_goal_allows_then_takes_who_is_free() -> None:
    desk = floor(("exp", 4, ["en"]), ("ann", 2, ["en"]))
    keep_busy(desk, "exp")
    assert not offers(desk, desk.do(call("c-1")))  # ann is free, but the goal leaves time to wait for exp
    for _ in range(2):
        assert not offers(desk, desk.wait(VOICE_GOAL / 4))
    # at three quarters of the goal, one more look would leave no time to answer an offer: widen now
    assert offers(desk, desk.wait(VOICE_GOAL / 4)) == [("c-1", "ann")]


def test_the_expert_freeing_up_in_time_takes_the_contact() -> None:
    desk = floor(("exp", 4, ["en"]), ("ann", 2, ["en"]))
    keep_busy(desk, "exp")
    desk.do(call("c-1"))
    desk.wait(VOICE_GOAL / 4)
    facts = desk.do(contact_handled("busy-exp", "exp"))
    facts += desk.wait(30)  # the wrap-up
    assert offers(desk, facts) == [("c-1", "exp")]


def test_written_contacts_wait_for_a_fitting_agent_past_the_steps_timers_until_their_goal_needs_them() -> None:
    desk = floor(("exp", 4, ["en"]), ("ann", 2, ["en"]))
    keep_busy(desk, "exp")  # on a call: e-mail waits, and exp is expected back within the hour
    desk.do(call("m-1", channel="email"))
    for _ in range(3):  # far past the steps' 60 and 180 s
        assert not offers(desk, desk.wait(EMAIL_GOAL / 4))
    assert offers(desk, desk.wait(EMAIL_GOAL / 4)) == [("m-1", "ann")]


def test_an_agent_speaking_the_customers_language_goes_before_a_more_proficient_one() -> None:
    desk = floor(("pro", 3, ["en"]), ("nl", 2, ["en", "nl"]))
    assert offers(desk, desk.do(call("c-1", language="nl"))) == [("c-1", "nl")]


def test_a_free_agent_takes_a_contact_they_fully_fit_before_an_older_one_they_do_not() -> None:
    desk = floor(("exp", 4, ["en", "de"]), ("bob", 4, ["en", "fr"]))
    keep_busy(desk, "exp")
    keep_busy(desk, "bob")
    desk.do(call("fr-1", language="fr"))
    desk.wait(5)
    desk.do(call("de-1", language="de"))
    desk.wait(1)
    facts = desk.do(contact_handled("busy-exp", "exp")) + desk.wait(30)
    assert ("de-1", "exp") in offers(desk, facts)


@pytest.mark.parametrize("goals", [{"voice": 0}, {"voice": -5}, {"voice": math.inf}, {"voice": 10**9}, {"pigeon": 20}])
def test_a_service_goal_out_of_bounds_is_refused(goals: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="answer_within"):
        QueuePolicy.model_validate({"queue": "general", "answer_within": goals})


levels = st.lists(st.tuples(st.integers(1, 5), st.sampled_from([["en"], ["de"], ["en", "de"]])), max_size=4)
arrivals = st.lists(
    st.tuples(st.sampled_from(["voice", "chat", "email"]), st.sampled_from(["en", "de"]), st.floats(0, 30)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(staff=levels, busy=st.sets(st.integers(0, 3)), contacts=arrivals, floor=st.sampled_from([0, 15, 45.5, 90]))
def test_no_contact_waits_past_its_goal_for_requirements_nobody_meets(
    staff: list[tuple[int, list[str]]], busy: set[int], contacts: list[tuple[str, str, float]], floor: float
) -> None:
    """Whoever is on the floor and however busy, a contact still waiting at its goal — or at the widest
    step's not_before_seconds, if later — is at its widest step."""
    desk = Desk()
    goals = {"voice": VOICE_GOAL, "chat": 60.0, "email": 600.0}
    steps = [
        {"after_seconds": 0},
        {"after_seconds": 60, "proficiency_relaxed_by": 2},
        {"after_seconds": 180, "require_language": False, "not_before_seconds": floor},
    ]
    desk.do(policy_saved("general", answer_within=goals, steps=steps, order=1_000_000))
    for n, (level, languages) in enumerate(staff):
        hire(desk, f"a-{n}", level, languages)
        if n in busy:
            keep_busy(desk, f"a-{n}")
    due: dict[str, float] = {}
    for n, (channel, language, gap) in enumerate(contacts):
        desk.wait(gap)
        desk.do(call(f"c-{n}", channel=channel, language=language))
        due[f"c-{n}"] = desk.now.timestamp() + max(goals[channel], floor)
    for _ in range(int(max(*goals.values(), floor) / 5) + 1):
        desk.wait(5)
        check_invariants(desk.router)
        for contact_id, at in due.items():
            contact = desk.router.contacts.get(contact_id)
            if contact is not None and contact.stage is Stage.WAITING and desk.now.timestamp() >= at:
                assert contact.step == len(contact.policy.steps) - 1, f"{contact_id} still at step {contact.step}"


def test_a_queued_contact_carries_its_channels_goal_for_the_records() -> None:
    desk = floor()
    [voice] = desk.of(ContactQueued, desk.do(call("c-voice")))
    [chat] = desk.of(ContactQueued, desk.do(call("c-chat", channel="chat")))
    assert (voice.answer_within, chat.answer_within) == (VOICE_GOAL, None)


def test_a_step_kept_for_those_who_waited_long_enough_does_not_start_before_even_with_nobody_qualifying() -> None:
    desk = Desk()
    steps = [{"after_seconds": 0}, {"after_seconds": 600, "require_language": False, "not_before_seconds": 45}]
    desk.do(policy_saved("general", answer_within={"voice": VOICE_GOAL}, steps=steps, order=1_000_000))
    hire(desk, "sven", 5, ["sv"])
    waited = desk.do(call("c-1", language="de")) + desk.wait(44)
    assert offers(desk, waited) == [], "nobody speaks German, but the caller has not waited 45 s"
    assert offers(desk, desk.wait(1)) == [("c-1", "sven")]
