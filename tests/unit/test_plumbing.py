import asyncio
import base64
import json
from datetime import UTC, datetime

from frontline.plumbing.health import run_checks
from frontline.plumbing.kafka import DLQ_REASON_HEADER, all_topics, dead_letter

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def test_a_dead_letter_keeps_the_original_and_says_why():
    body, headers = dead_letter(
        reason="data.channel: bad",
        topic="frontline.contacts.inbound",
        partition=2,
        offset=41,
        key=b"T-1",
        value=b'{"type": "x"}',
        service="intake",
        now=NOW,
    )
    record = json.loads(body)
    assert record == {
        "reason": "data.channel: bad",
        "topic": "frontline.contacts.inbound",
        "partition": 2,
        "offset": 41,
        "key": "T-1",
        "service": "intake",
        "failed_at": "2026-11-22T10:15:00+00:00",
        "payload": '{"type": "x"}',
    }
    assert (DLQ_REASON_HEADER, b"data.channel: bad") in headers


def test_a_dead_letter_keeps_binary_payloads_as_base64():
    body, _ = dead_letter(
        reason="not JSON", topic="t", partition=0, offset=0, key=None, value=b"\xff\xfe\x00", service="records", now=NOW
    )
    record = json.loads(body)
    assert base64.b64decode(record["payload_base64"]) == b"\xff\xfe\x00"
    assert record["key"] is None


def test_every_event_topic_has_its_dead_letter_twin_and_internal_state_has_none():
    topics = all_topics()
    assert "frontline.contacts.received" in topics
    assert "frontline.routing.snapshots" in topics
    assert "frontline.routing.snapshots.dlq" not in topics
    events = [topic for topic in topics if not topic.endswith(".dlq") and topic != "frontline.routing.snapshots"]
    assert all(f"{topic}.dlq" in topics for topic in events)


def test_readiness_reports_each_failure_and_timeout_by_name(monkeypatch):
    monkeypatch.setattr("frontline.plumbing.health.CHECK_TIMEOUT_SECONDS", 0.05)

    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionError("broker away")

    async def stuck() -> None:
        await asyncio.sleep(1)

    outcomes = asyncio.run(run_checks({"mongodb": fine, "kafka": broken, "streams": stuck}))
    assert outcomes == {"mongodb": "ok", "kafka": "ConnectionError: broker away", "streams": "timed out after 0.05s"}
