"""The live run's pure parts: policies scaled to the run's speed, and the tally of what the services said."""

from datetime import UTC, datetime

import pytest

from frontline.contracts import routing
from frontline.contracts.envelope import Event
from simulation import tenant
from simulation.live import Tally, scaled
from tests.unit.factories import contact_received

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
    floors = [s["not_before_seconds"] for s in scaled(paced, 60)["steps"]]
    assert floors == [s.not_before_seconds / 60 for s in paced.steps]
    assert floors[-1] == tenant.ANYONE_AFTER / 60


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


def test_the_tally_counts_each_contact_against_the_goal_it_was_queued_under():
    tally = Tally(speed=60)

    def queued(contact_id: str, goal: float | None, because: str = "arrived") -> Event:
        fields = {"policy_version": 1, "channel": "voice", "priority": 0, "service_class": "standard"}
        return _fact(
            routing.ContactQueued,
            contact_id=contact_id,
            queue="q",
            because=because,
            arrived_at=AT,
            queued_at=AT,
            answer_within=goal,
            **fields,
        )

    for contact_id, goal in (("fast", 0.5), ("slow", 0.5), ("left", 0.5), ("no-goal", None)):
        tally.see(queued(contact_id, goal), wall=0)
    tally.see(queued("slow", 9.0, because="transferred"), wall=0)
    for contact_id, waited in (("fast", 0.25), ("slow", 2.0), ("no-goal", 0.1)):
        assigned = {"agent_id": "a", "offer_id": f"o-{contact_id}", "queue": "q", "waited_seconds": waited}
        tally.see(_fact(routing.ContactAssigned, contact_id=contact_id, **assigned), wall=1)
    tally.see(_fact(routing.ContactAbandoned, contact_id="left", queue="q", waited_seconds=2, reason="x"), wall=2)
    assert (tally.with_goal, tally.goal_met) == (3, 1), "the goal of the queue it arrived in; no goal, not counted"
    assert tally.figures(wall=3)["within_goal"] == pytest.approx(1 / 3)


def test_occupancy_is_working_time_over_staffed_time():
    tally = Tally(speed=1)
    tally.agent_state = {"a": ("available", 0.0), "b": ("available", 0.0)}
    tally.see(_fact(routing.AgentStateChanged, agent_id="a", state="busy", presence="available"), wall=2)
    tally.see(_fact(routing.AgentStateChanged, agent_id="a", state="wrap_up", presence="available"), wall=6)
    tally.see(_fact(routing.AgentStateChanged, agent_id="b", state="away", presence="away"), wall=5)
    # a: available 2, busy 4, wrap-up 4 (to 10); b: available 5, away 5 (not staffed)
    assert tally.occupancy(wall=10) == pytest.approx(8 / 15)
    assert tally.agents_by_state() == {"wrap_up": 1, "away": 1}
