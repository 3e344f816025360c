"""Hostile requests at every service's REST door, as found from outside (issue 15): each answers a
4xx naming the problem — never a 500, never a 503 for the client's fault — and what it refused
leaves nothing behind. All four services run as processes against the real servers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

SERVICES = ("intake", "routing", "upsell", "records")
ADMIN = {"Authorization": "Bearer dev-acme-admin"}
SYSTEM = {"Authorization": "Bearer dev-acme-system"}
AGENT = {"Authorization": "Bearer dev-acme-agent"}
JSON = {"Content-Type": "application/json"}
OFFER = {"product": "p", "value": 1, "scripts": {"en": "Try it"}}


def contact(**changes: Any) -> dict[str, Any]:
    return {"channel": "email", "customer": {"email": f"c-{uuid.uuid4().hex[:8]}@example.com"}, "text": "hi"} | changes


def named(answer: httpx.Response, *fragments: str) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:500])
    for fragment in fragments:
        assert fragment in answer.text, answer.text[:500]


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("intake", "POST", "/v1/contacts"),
        ("routing", "PUT", "/v1/queues/q"),
        ("upsell", "PUT", "/v1/offers/o"),
        ("records", "POST", "/v1/customers/c-1/erasure"),
    ],
)
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"text": "\\ud800", "reason": "\\ud800", "description": "\\ud800", "product": "\\ud800"}', "surrogate"),
        (b'{"attributes": {"a\\u0000b": "x"}, "reason": "x"}', "NUL"),
        (
            b'{"order": 100000000000000000000, "value": 100000000000000000000}',
            "100000000000000000000 is outside 64-bit",
        ),
        (b'{"value": NaN, "sticky_agent_seconds": NaN}', "value: NaN is not a JSON number"),
        (b'{"value": Infinity, "sticky_agent_seconds": Infinity}', "value: Infinity is not a JSON number"),
        (b'{"value": 1e309, "sticky_agent_seconds": 1e309}', "value: 1e309 is too large for a double"),
    ],
)
async def test_json_no_field_can_hold_is_refused_at_every_door(doors, service, method, path, body, problem) -> None:
    answer = await doors[service].request(method, path, content=body, headers=JSON)
    assert answer.status_code == 422, answer.text
    assert problem in answer.json()["detail"]


@pytest.mark.parametrize("service", SERVICES)
async def test_a_body_over_the_cap_is_413_before_it_is_read(doors, service) -> None:
    answer = await doors[service].post("/v1/anything", content=b"x" * (5 * 1024 * 1024), headers=JSON)
    assert answer.status_code == 413


async def test_a_validation_error_echoes_only_a_short_piece_of_what_was_sent(doors) -> None:
    answer = await doors["intake"].post("/v1/contacts", json=contact(channel="x" * 100_000))
    named(answer, "channel")
    assert len(answer.content) < 2_000


async def test_a_contact_of_1500_long_attributes_is_refused_and_leaves_nothing_behind(doors) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    huge = contact(attributes={f"a{i}": "x" * 900 for i in range(1500)})
    named(await doors["intake"].post("/v1/contacts", json=huge, headers=SYSTEM | key), "attributes")
    again = await doors["intake"].post("/v1/contacts", json=contact(), headers=SYSTEM | key)
    assert again.status_code == 201, again.text
    assert again.json()["duplicate"] is False


@pytest.mark.parametrize("key", ["$where", "a.b"])
async def test_keys_that_would_be_store_operators_or_paths_are_422_not_503(doors, key) -> None:
    named(await doors["intake"].post("/v1/contacts", json=contact(attributes={key: "x"})), "attributes")


async def test_a_queue_order_beyond_any_integer_the_store_keeps_is_refused(doors) -> None:
    named(await doors["routing"].put("/v1/queues/big", json={"order": 10**20}), "order")
    named(await doors["routing"].put("/v1/queues/big", json={"order": 10**7}), "order", "less than or equal")


async def test_infinite_durations_are_refused_not_turned_into_null(doors) -> None:
    raw = b'{"sticky_agent_seconds": Infinity}'
    named(await doors["routing"].put("/v1/queues/inf", content=raw, headers=JSON), "sticky_agent_seconds: Infinity")
    assert (await doors["routing"].get("/v1/queues/inf")).status_code == 404


async def test_money_beyond_any_real_revenue_is_refused(doors) -> None:
    answer = await doors["upsell"].put("/v1/offers/huge", json=OFFER | {"value": 1e308})
    named(answer, "value", "less than or equal")
    named(await doors["upsell"].post("/v1/suggestions/s-1/outcome", json={"outcome": "accepted", "revenue": 1e308}))


@pytest.mark.parametrize("header", ["²".encode(), b"3x", b"99999999999999999999", b"-1"])
async def test_an_if_match_that_is_not_a_version_is_400(doors, header) -> None:
    answer = await doors["upsell"].put("/v1/offers/im", json=OFFER, headers={"If-Match": header})
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize(
    "window",
    [
        {"start": "0001-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        {"start": "2026-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"},
        {"start": "0001-01-01T00:30:00+01:00", "end": "2026-01-01T00:00:00Z"},
    ],
)
async def test_dates_near_year_1_or_9999_are_refused_by_records_queries(doors, window) -> None:
    named(await doors["records"].get("/v1/kpis", params=window), "between the years")
    named(await doors["records"].get("/v1/export", params=window), "between the years")


async def test_an_export_naming_an_unknown_contact_fails_before_a_line_is_sent(doors) -> None:
    submitted = await doors["intake"].post("/v1/contacts", json=contact())
    known = submitted.json()["contact_id"]
    answer = await doors["records"].get("/v1/export", params=[("contact", known), ("contact", "unknown-contact")])
    assert answer.status_code == 404, answer.text[:300]


async def test_an_agent_key_cannot_claim_a_system_source(doors) -> None:
    squat = contact(source="crm", external_id=f"T-{uuid.uuid4().hex[:8]}")
    answer = await doors["intake"].post("/v1/contacts", json=squat, headers=AGENT)
    assert answer.status_code == 403
    real = await doors["intake"].post("/v1/contacts", json=squat, headers=SYSTEM)
    assert real.status_code == 201
    assert real.json()["duplicate"] is False


async def test_an_idempotency_key_is_scoped_to_its_caller(doors) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = await doors["intake"].post("/v1/contacts", json=contact(), headers=AGENT | key)
    assert first.status_code == 201
    other = await doors["intake"].post("/v1/contacts", json=contact(), headers=SYSTEM | key)
    assert other.status_code == 201
    assert other.json()["duplicate"] is False
    assert other.json()["contact_id"] != first.json()["contact_id"]


async def test_an_unbound_agent_key_acts_for_no_agent(doors) -> None:
    answer = await doors["routing"].post("/v1/agents/someone/state", json={"state": "offline"}, headers=AGENT)
    assert answer.status_code == 403
    assert "not bound to an agent" in answer.json()["detail"]


@pytest.mark.parametrize("content_type", ["application/JSON", "application/vnd.api+json; charset=UTF-8"])
async def test_the_json_guard_reads_every_spelling_of_a_json_body(doors, content_type) -> None:
    body = b'{"channel": "email", "customer": {"email": "a@example.com"}, "attributes": {"a": ' + b"9" * 5000 + b"}}"
    answer = await doors["intake"].post("/v1/contacts", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 422, answer.text[:300]
    assert "is outside 64-bit integers" in answer.json()["detail"]


async def test_a_profile_field_that_always_holds_a_value_cannot_be_set_to_null(doors) -> None:
    submitted = await doors["intake"].post("/v1/contacts", json=contact())
    customer = submitted.json()["contact"]["customer"]["customer_id"]
    answer = await doors["intake"].patch(f"/v1/customers/{customer}", json={"marketing_consent": None, "name": None})
    named(answer, "marketing_consent: may not be null")
    assert (await doors["intake"].patch(f"/v1/customers/{customer}", json={"name": None})).status_code == 200
