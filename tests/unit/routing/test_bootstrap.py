"""The bootstrap file: validated whole before anything is sent, queues ordered for their overflows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.routing.bootstrap import PoolFile, events_for, read

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy/routing/pool.example.json"


def test_the_example_file_becomes_queue_agent_and_state_events() -> None:
    events = events_for(read(EXAMPLE), tenant="acme", source="test", now=datetime(2026, 11, 22, tzinfo=UTC))
    assert [e.type for e in events[:2]] == ["queue.policy_saved", "queue.policy_saved"]
    assert [e.type for e in events[2:4]] == ["agent.profile_saved", "agent.state_requested"]
    assert {e.tenant for e in events} == {"acme"}


def test_a_queue_is_sent_after_the_queue_it_overflows_into() -> None:
    pool = PoolFile.model_validate(
        {
            "queues": [
                {"queue": "first", "overflow": {"to_queue": "second", "after_seconds": 10}},
                {"queue": "second"},
            ]
        }
    )
    assert [q.queue for q in pool.queues_in_order()] == ["second", "first"]


def test_overflow_in_a_circle_is_refused() -> None:
    pool = PoolFile.model_validate(
        {
            "queues": [
                {"queue": "a", "overflow": {"to_queue": "b", "after_seconds": 10}},
                {"queue": "b", "overflow": {"to_queue": "a", "after_seconds": 10}},
            ]
        }
    )
    with pytest.raises(ValueError, match="circle"):
        pool.queues_in_order()


def test_a_bad_file_names_every_problem_and_sends_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "pool.json"
    bad.write_text(json.dumps({"agents": [{"agent_id": "ann", "skills": [{"skill": "billing", "proficiency": 7}]}]}))
    with pytest.raises(SystemExit, match=r"agents\.0\.skills\.0\.proficiency: Input should be less than or equal to 5"):
        read(bad)
