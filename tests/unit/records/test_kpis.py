"""The KPI fold against a hand-computed morning (tests/unit/records/scenario.py), and its invariants."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontline.contracts import Event
from frontline.contracts.agents import Presence
from frontline.contracts.routing import AgentState, AgentStateChanged, AgentStateData
from services.records.core.kpis import Kpis, metrics, open_state_seconds, split_minutes
from tests.unit.records.scenario import (
    EXPECTED_OCCUPANCY,
    EXPECTED_QUEUE_HOUR,
    EXPECTED_UPSELL_ACCEPTANCE,
    at,
    morning,
)


def fold(events: list[Event]) -> dict[tuple[str, str], dict[str, float]]:
    """Counters summed over the whole morning, by (dimension, key)."""
    kpis = Kpis()
    contacts: dict[str, dict] = defaultdict(dict)
    customers: dict[str, dict] = defaultdict(dict)
    summed: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for event in events:
        contact = contacts[event.contact_id] if event.contact_id else None
        customer_id = getattr(getattr(event.data, "customer", None), "customer_id", None) or (contact or {}).get(
            "customer"
        )
        customer = customers[customer_id] if customer_id else None
        for delta in kpis.fold(event, contact, customer):
            summed[(delta.dimension, delta.key)][delta.counter] += delta.amount
    return summed


def test_the_hand_computed_morning() -> None:
    summed = fold(morning("acme"))
    queue = metrics(summed[("queue", "billing")], 20)
    for name, expected in EXPECTED_QUEUE_HOUR.items():
        assert queue[name] == pytest.approx(expected), name
    assert metrics(summed[("queue", "billing")], 30)["service_level"] == pytest.approx(0.5)
    tenant = metrics(summed[("tenant", "*")], 20)
    assert tenant["offered"] == 4
    assert tenant["asa"] == pytest.approx(140 / 3)
    assert metrics(summed[("channel", "voice")], 20)["abandoned"] == 1
    for who, occupancy in EXPECTED_OCCUPANCY.items():
        dimension = "team" if who == "red" else "agent"
        assert metrics(summed[(dimension, who)], 20)["occupancy"] == pytest.approx(occupancy), who
    assert metrics(summed[("agent", "ann")], 20)["answered"] == 2
    assert tenant["upsell_acceptance"] == pytest.approx(EXPECTED_UPSELL_ACCEPTANCE)


def test_a_transfer_is_offered_again_to_its_new_queue_but_not_to_the_tenant() -> None:
    events = morning("acme")
    first_queued = next(e for e in events if e.type == "contact.queued")
    again = first_queued.model_copy(
        update={"data": first_queued.data.model_copy(update={"queue": "sales", "because": "transferred"})}
    )
    summed = fold([*events, again])
    assert summed[("tenant", "*")]["offered"] == 4
    assert summed[("queue", "sales")]["offered"] == 1


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
    seconds=st.floats(0, 7200),
)
def test_agent_time_split_by_minute_adds_up(start: datetime, seconds: float) -> None:
    from datetime import timedelta

    begin = start.replace(tzinfo=UTC)
    parts = split_minutes(begin, begin + timedelta(seconds=seconds))
    assert sum(s for _, s in parts) == pytest.approx(seconds, abs=1e-6)
    assert all(0 < s <= 60 for _, s in parts)
    assert [m for m, _ in parts] == sorted({m for m, _ in parts})


def test_an_answer_read_before_its_suggestion_still_counts() -> None:
    events = morning("acme")
    answers = [e for e in events if e.type == "upsell.outcome"]
    reordered = answers + [e for e in events if e.type != "upsell.outcome"]
    summed = fold(reordered)
    assert metrics(summed[("tenant", "*")], 20)["upsell_acceptance"] == pytest.approx(EXPECTED_UPSELL_ACCEPTANCE)


def _with_goals(events: list[Event], goals: dict[str, float | None]) -> list[Event]:
    """The morning with each contact queued under the given service goal (answer_within)."""
    return [
        e.model_copy(update={"data": e.data.model_copy(update={"answer_within": goals[e.data.contact_id]})})
        if e.type == "contact.queued"
        else e
        for e in events
    ]


def test_the_service_level_in_the_tenants_terms_counts_each_contact_against_its_own_goal() -> None:
    events = _with_goals(morning("acme"), {"c1": 30.0, "c2": 20.0, "c3": 60.0, "c4": 120.0})
    summed = fold(events)
    for dimension, key in (("tenant", "*"), ("queue", "billing"), ("channel", "voice")):
        figures = metrics(summed[(dimension, key)], 20)
        # c1 waited 5 of 30 (met), c2 25 of 20 (missed), c3 left after 40 of 60 (missed), c4 110 of 120 (met)
        assert (figures["with_goal"], figures["goal_met"]) == (4, 2), dimension
        assert figures["within_goal"] == pytest.approx(0.5), dimension


def test_contacts_without_a_goal_are_left_out_of_the_goal_figures() -> None:
    events = _with_goals(morning("acme"), {"c1": None, "c2": None, "c3": 60.0, "c4": 120.0})
    figures = metrics(fold(events)[("tenant", "*")], 20)
    assert (figures["offered"], figures["with_goal"], figures["goal_met"]) == (4, 2, 1)
    assert metrics(fold(morning("acme"))[("tenant", "*")], 20)["within_goal"] is None


def _by_minute(kpis: Kpis, events: list[Event], dimension: str, key: str) -> dict[datetime, dict[str, float]]:
    counted: dict[datetime, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for event in events:
        for delta in kpis.fold(event, {}, {}):
            if (delta.dimension, delta.key) == (dimension, key) and delta.counter.endswith("_seconds"):
                counted[delta.minute][delta.counter] += delta.amount
    return counted


@pytest.mark.parametrize(("dimension", "key"), [("agent", "ann"), ("agent", "bob"), ("team", "red"), ("tenant", "*")])
def test_a_query_counts_the_states_agents_are_in_now_as_the_fold_will_once_they_end(dimension: str, key: str) -> None:
    now = at(150.5)  # ann busy since 10:02:20, bob busy since 10:00:35
    events = morning("acme")
    so_far = [e for e in events if e.occurred_at <= now]
    kpis = Kpis()
    counted = _by_minute(kpis, so_far, dimension, key)
    hour = datetime(2026, 11, 2, 10, tzinfo=UTC), datetime(2026, 11, 2, 11, tzinfo=UTC)
    for minute, seconds in open_state_seconds(kpis.agents, dimension, key, *hour, now, timedelta(minutes=1)).items():
        for counter, amount in seconds.items():
            counted[minute][counter] += amount
    ended = [
        _state_event(agent, AgentState.OFFLINE, now)
        for agent, state in sorted(kpis.agents.items())
        if state.get("state") in ("available", "busy", "wrap_up")
    ]
    assert ended, "the scenario has agents in a staffed state at this moment"
    expected = _by_minute(Kpis(), [*so_far, *ended], dimension, key)
    assert {m: dict(c) for m, c in counted.items()} == {m: pytest.approx(dict(c)) for m, c in expected.items()}


def test_open_states_are_clipped_to_the_query_and_skip_what_no_kpi_reads() -> None:
    agents = {
        "ann": {"team": "red", "state": "available", "since": "2026-11-02T09:59:30+00:00"},
        "bob": {"team": "blue", "state": "busy", "since": "2026-11-02T10:00:40+00:00"},
        "cy": {"team": "red", "state": "offline", "since": "2026-11-01T10:00:00+00:00"},
        "dee": {"team": "red"},  # a profile, no state seen yet
    }
    start, end, now = at(0), at(3600), at(100)
    quarter = timedelta(minutes=15)
    assert open_state_seconds(agents, "team", "red", start, end, now, quarter) == {at(0): {"available_seconds": 100}}
    assert open_state_seconds(agents, "tenant", "*", start, end, now, timedelta(minutes=1)) == {
        at(0): {"available_seconds": 60, "busy_seconds": 20},
        at(60): {"available_seconds": 40, "busy_seconds": 40},
    }
    assert open_state_seconds(agents, "agent", "bob", start, at(50), now, quarter) == {at(0): {"busy_seconds": 10}}
    assert open_state_seconds(agents, "queue", "billing", start, end, now, quarter) == {}
    assert open_state_seconds(agents, "agent", "cy", start, end, now, quarter) == {}
    assert open_state_seconds(agents, "tenant", "*", at(200), end, now, quarter) == {}


def _state_event(agent: str, state: AgentState, when: datetime) -> Event:
    data = AgentStateData(agent_id=agent, state=state, presence=Presence.OFFLINE)
    return AgentStateChanged.new(data=data, tenant="acme", source="scenario", occurred_at=when)
