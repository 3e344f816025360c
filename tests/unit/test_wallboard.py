"""The wallboard's figures from the services' answers: durations and goals in the tenant's terms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wallboard.app import Answers, summary

AT = datetime(2026, 12, 2, 10, tzinfo=UTC)


def answers(**given: list[dict[str, Any]]) -> Answers:
    return Answers(**{"stats": [], "agents": [], "queues": [], "today": [], "trend": [], "performance": [], **given})


def queue(name: str, **answer_within: float) -> dict[str, Any]:
    return {"policy": {"queue": name, "answer_within": answer_within}, "policy_version": 1}


def test_the_wallboard_summarises_the_services_answers_and_scales_durations() -> None:
    board = summary(
        answers(
            stats=[
                {
                    "queue": "billing",
                    "waiting": 2,
                    "oldest_wait_seconds": 1.5,
                    "estimated_wait_seconds": 0.5,
                    "staffed_agents": 4,
                }
            ],
            agents=[
                {"profile": {"agent_id": "b", "name": "Bo"}, "state": "busy"},
                {"profile": {"agent_id": "a", "name": "Al"}, "state": "available"},
                {"profile": {"agent_id": "c", "name": "Cy"}, "state": "busy"},
            ],
            today=[
                {
                    "offered": 10,
                    "answered": 9,
                    "abandonment_rate": 0.1,
                    "service_level": 0.8,
                    "service_level_seconds": 20,
                    "with_goal": 0,
                    "within_goal": None,
                    "asa": 0.5,
                    "occupancy": 0.7,
                }
            ],
            performance=[
                {"impressions": 5, "accepted": 1, "declined": 2, "ignored": 1},
                {"impressions": 3, "accepted": 1, "declined": 0, "ignored": 0},
            ],
        ),
        tenant_label="demo",
        time_scale=60,
        now=AT,
    )
    assert board["queues"][0]["oldest_wait_seconds"] == 90
    assert board["agents"] == {"busy": 2, "available": 1}
    assert [a["agent_id"] for a in board["agent_list"]] == ["a", "b", "c"]
    assert board["today"]["asa_seconds"] == 30
    assert board["today"]["service_level_seconds"] == 1200
    assert board["today"]["within_goal"] is None
    assert board["goals"] == []
    assert board["upsell"] == {"shown": 8, "accepted": 2, "acceptance": 2 / 5}


def test_goals_are_named_in_the_tenants_time_with_the_channels_that_have_them() -> None:
    speed = 60
    queues = [
        queue("billing", voice=20 / speed, chat=20 / speed, email=3600 / speed),
        queue("support", voice=20 / speed, mail=7200 / speed),
        queue("general"),
    ]
    today = [{"offered": 10, "with_goal": 8, "goal_met": 6, "within_goal": 0.75}]
    board = summary(answers(queues=queues, today=today), tenant_label="demo", time_scale=speed, now=AT)
    assert board["goals"] == [
        {"seconds": 20, "channels": ["chat", "voice"]},
        {"seconds": 3600, "channels": ["email"]},
        {"seconds": 7200, "channels": ["mail"]},
    ]
    assert board["today"]["within_goal"] == 0.75


def test_the_trend_comes_in_quarters_in_production_and_in_the_tenants_time_in_a_demo() -> None:
    points = [
        {"start": "2026-12-02T09:00:00Z", "offered": 0, "service_level": None},
        {
            "start": "2026-12-02T09:15:00Z",
            "offered": 4,
            "with_goal": 4,
            "within_goal": 0.5,
            "service_level": 0.25,
            "asa": 12.0,
            "abandonment_rate": 0.25,
        },
        {
            "start": "2026-12-02T09:30:00Z",
            "offered": 2,
            "with_goal": 0,
            "within_goal": None,
            "service_level": 1.0,
            "asa": 3.0,
            "abandonment_rate": 0.0,
        },
    ]
    live = summary(answers(trend=points), tenant_label="acme", time_scale=1, now=AT)["trend"]
    assert (live["interval_seconds"], live["time_scale"]) == (900, 1)
    assert [p["start"] for p in live["points"]] == ["2026-12-02T09:15:00Z", "2026-12-02T09:30:00Z"]
    assert [p["service_level"] for p in live["points"]] == [0.5, 1.0], "against goals where there are goals"
    assert [p["asa_seconds"] for p in live["points"]] == [12.0, 3.0]
    demo = summary(answers(trend=points), tenant_label="demo", time_scale=60, now=AT)["trend"]
    assert demo["interval_seconds"] == 3600, "a minute of a x60 demo is an hour of its day"
    assert [p["asa_seconds"] for p in demo["points"]] == [720.0, 180.0]


def test_an_empty_day_shows_no_figures_rather_than_zeros() -> None:
    board = summary(answers(), tenant_label="demo", time_scale=1, now=AT)
    assert board["today"]["service_level"] is None
    assert board["today"]["within_goal"] is None
    assert board["today"]["asa_seconds"] is None
    assert board["upsell"]["acceptance"] is None
    assert board["trend"]["points"] == []
