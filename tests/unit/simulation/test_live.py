"""The live run's pure parts: policies scaled to the run's speed, and the tally of what the services said."""

from datetime import UTC, datetime

import pytest

from frontline.contracts import routing
from frontline.contracts.envelope import Event
from simulation import tenant
from simulation.live import Tally, scaled
from tests.unit.factories import contact_received
from wallboard.app import summary

AT = datetime(2026, 12, 2, 10, tzinfo=UTC)


def _fact(model: type[Event], **data: object) -> Event:
    fields = model.model_fields["data"].annotation.model_validate(data)  # type: ignore[union-attr]
    return model.new(data=fields, tenant="demo", source="routing", occurred_at=AT)


def test_every_duration_of_a_policy_runs_speed_times_faster_and_nothing_else_changes():
    [billing] = [p for p in tenant.queues("skills") if p.queue == "billing"]
    fast = scaled(billing, 60)
    assert fast["wrap_up_seconds"] == billing.wrap_up_seconds / 60
    assert [s["after_seconds"] for s in fast["steps"]] == [s.after_seconds / 60 for s in billing.steps]
    assert [c["max_wait_seconds"] for c in fast["service_classes"]] == [
        c.max_wait_seconds / 60 for c in billing.service_classes
    ]
    assert fast["offer_timeout_seconds"] == billing.offer_timeout_seconds, "agents answer in wall time"
    assert (fast["concerns"], fast["order"]) == (billing.concerns, billing.order)
    [paced] = [p for p in tenant.queues("value") if p.queue == "billing"]
    assert scaled(paced, 60)["answer_within"] == {c.value: goal / 60 for c, goal in paced.answer_within.items()}


def test_the_tally_counts_waits_in_simulated_seconds_and_service_level_on_live_channels_only():
    tally = Tally(speed=60, submitted=3)
    tally.see(contact_received(contact_id="v", channel="voice"), wall=0)
    tally.see(contact_received(contact_id="e", channel="email"), wall=0)
    tally.see(contact_received(contact_id="late", channel="chat"), wall=0)
    tally.see(
        _fact(routing.ContactAssigned, contact_id="v", agent_id="a", offer_id="o1", queue="q", waited_seconds=0.25), 1
    )
    tally.see(
        _fact(routing.ContactAssigned, contact_id="e", agent_id="a", offer_id="o2", queue="q", waited_seconds=9), 9
    )
    tally.see(
        _fact(routing.ContactAbandoned, contact_id="late", queue="q", waited_seconds=2, reason="customer_left"), 2
    )
    figures = tally.figures(wall=10)
    assert tally.waits == [15, 540]
    assert figures["service_level"] == 0.5, "voice in 15 s of 2 live contacts; the email does not count"
    assert figures["abandonment"] == pytest.approx(1 / 3)
    assert tally.open == 2


def test_occupancy_is_working_time_over_staffed_time():
    tally = Tally(speed=1)
    tally.agent_state = {"a": ("available", 0.0), "b": ("available", 0.0)}
    tally.see(_fact(routing.AgentStateChanged, agent_id="a", state="busy", presence="available"), wall=2)
    tally.see(_fact(routing.AgentStateChanged, agent_id="a", state="wrap_up", presence="available"), wall=6)
    tally.see(_fact(routing.AgentStateChanged, agent_id="b", state="away", presence="away"), wall=5)
    # a: available 2, busy 4, wrap-up 4 (to 10); b: available 5, away 5 (not staffed)
    assert tally.occupancy(wall=10) == pytest.approx(8 / 15)
    assert tally.agents_by_state() == {"wrap_up": 1, "away": 1}


def test_the_wallboard_summarises_the_services_answers_and_scales_durations():
    stats = [
        {
            "queue": "billing",
            "waiting": 2,
            "oldest_wait_seconds": 1.5,
            "estimated_wait_seconds": 0.5,
            "staffed_agents": 4,
        }
    ]
    agents = [
        {"profile": {"agent_id": "b", "name": "Bo"}, "state": "busy"},
        {"profile": {"agent_id": "a", "name": "Al"}, "state": "available"},
        {"profile": {"agent_id": "c", "name": "Cy"}, "state": "busy"},
    ]
    kpis = [
        {
            "offered": 10,
            "answered": 9,
            "abandonment_rate": 0.1,
            "service_level": 0.8,
            "service_level_seconds": 20,
            "asa": 0.5,
            "occupancy": 0.7,
        }
    ]
    performance = [
        {"impressions": 5, "accepted": 1, "declined": 2, "ignored": 1},
        {"impressions": 3, "accepted": 1, "declined": 0, "ignored": 0},
    ]
    board = summary(stats, agents, kpis, performance, tenant_label="demo", time_scale=60, now=AT)
    assert board["queues"][0]["oldest_wait_seconds"] == 90
    assert board["agents"] == {"busy": 2, "available": 1}
    assert [a["agent_id"] for a in board["agent_list"]] == ["a", "b", "c"]
    assert board["today"]["asa_seconds"] == 30
    assert board["today"]["service_level_seconds"] == 1200
    assert board["upsell"] == {"shown": 8, "accepted": 2, "acceptance": 2 / 5}


def test_an_empty_day_shows_no_figures_rather_than_zeros():
    board = summary([], [], [], [], tenant_label="demo", time_scale=1, now=AT)
    assert board["today"]["service_level"] is None
    assert board["today"]["asa_seconds"] is None
    assert board["upsell"]["acceptance"] is None
