"""Every field of every event is bounded in the published schema: strings, lists, dicts and their
keys, numbers on both sides, timestamps inside a window. A new unbounded field fails here."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontline.contracts import REGISTRY, ContractViolation, parse_event
from frontline.contracts.contacts import ContactSubmitted
from frontline.contracts.envelope import MAX_EVENT_BYTES, EventTooLarge

Schema = dict[str, Any]


def unbounded(schema: Schema, root: Schema, path: str = "$") -> list[str]:
    """The places in `schema` that accept values of any size."""
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    found = [p for branch in schema.get("anyOf", []) for p in unbounded(branch, root, path)]
    kind = schema.get("type")
    if "const" in schema or "enum" in schema:
        return found
    if kind == "string" and schema.get("format") == "date-time":
        found += [] if {"formatMinimum", "formatMaximum"} <= schema.keys() else [f"{path}: timestamp without a window"]
    elif kind == "string" and schema.get("format") != "uuid" and not {"maxLength", "pattern"} & schema.keys():
        found.append(f"{path}: string without maxLength")
    if kind in ("integer", "number"):
        low = {"minimum", "exclusiveMinimum"} & schema.keys()
        high = {"maximum", "exclusiveMaximum"} & schema.keys()
        found += [] if low and high else [f"{path}: {kind} not bounded on both sides"]
    if kind == "array":
        found += [] if "maxItems" in schema else [f"{path}: array without maxItems"]
        found += unbounded(schema.get("items", {}), root, f"{path}[]")
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            found += [] if "maxProperties" in schema else [f"{path}: dict without maxProperties"]
            keys = schema.get("propertyNames", {})
            if not ({"pattern", "enum", "maxLength"} & keys.keys() or "$ref" in keys):
                found.append(f"{path}: dict keys unbounded")
            found += unbounded(values, root, f"{path}{{}}")
        for name, field in schema.get("properties", {}).items():
            found += unbounded(field, root, f"{path}.{name}")
    return found


@pytest.mark.parametrize("event_type", sorted(REGISTRY))
def test_every_field_of_the_event_is_bounded(event_type: str) -> None:
    schema = REGISTRY[event_type].model.model_json_schema()
    assert unbounded(schema, schema) == []


def test_the_bounds_check_finds_unbounded_fields() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "integer", "minimum": 0},
            "c": {"type": "array", "items": {"type": "string", "maxLength": 3}},
            "d": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}},
            "e": {"type": "string", "format": "date-time"},
        },
    }
    assert len(unbounded(schema, schema)) == 6


def inbound(**changes: Any) -> dict[str, Any]:
    event = {
        "id": str(uuid4()),
        "type": "contact.submitted",
        "version": 1,
        "occurred_at": "2026-11-22T10:15:00Z",
        "source": "crm",
        "tenant": "acme",
        "correlation_id": "c-1",
        "data": {"channel": "email", "customer": {"email": "anna@example.com"}, "text": "hello"},
    }
    for dotted, value in changes.items():
        target = event
        *parents, leaf = dotted.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return event


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"occurred_at": "0001-01-01T12:00:00Z"}, "occurred_at"),
        ({"occurred_at": "9999-12-31T23:59:59+00:00"}, "occurred_at"),
        ({"occurred_at": "0001-01-01T00:30:00+01:00"}, "occurred_at"),
        ({"data__attributes": {"$where": "x"}}, "data.attributes"),
        ({"data__attributes": {"a.b": "x"}}, "data.attributes"),
        ({"data__attributes": {"a\u0000": "x"}}, "data.attributes"),
        ({"data__attributes": {f"k{i}": "v" for i in range(51)}}, "data.attributes"),
    ],
)
def test_hostile_values_are_named_contract_violations(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(ContractViolation, match=named.replace(".", r"\.")):
        parse_event(json.dumps(inbound(**changes)))


def test_an_integer_of_more_digits_than_python_reads_is_a_named_violation() -> None:
    raw = json.dumps(inbound()).replace('"version": 1', '"version": ' + "9" * 5000)
    with pytest.raises(ContractViolation, match="not JSON: Exceeds the limit"):
        parse_event(raw.encode())


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_numbers_are_refused_not_turned_into_null(number: str) -> None:
    policy = {"queue": "q", "sticky_agent_seconds": "__N__"}
    raw = json.dumps(inbound(type="queue.policy_saved", data=policy)).replace('"__N__"', number)
    with pytest.raises(ContractViolation, match="sticky_agent_seconds"):
        parse_event(raw)


def test_integers_beyond_the_store_are_refused() -> None:
    policy = {"queue": "q", "order": 10**20}
    with pytest.raises(ContractViolation, match="order"):
        parse_event(json.dumps(inbound(type="queue.policy_saved", data=policy)))


def test_an_event_too_large_for_the_broker_is_refused_before_it_is_sent() -> None:
    """The contract's bounds keep events far below the limit; a producer that bypasses validation
    (model_copy does) is still stopped before the broker."""
    event = parse_event(json.dumps(inbound()))
    assert isinstance(event, ContactSubmitted)
    big = event.model_copy(update={"data": event.data.model_copy(update={"text": "x" * MAX_EVENT_BYTES})})
    with pytest.raises(EventTooLarge, match=f"{MAX_EVENT_BYTES:,}"):
        big.to_json()


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    st.dictionaries(
        st.text(max_size=80),
        st.one_of(st.text(max_size=600), st.integers(), finite, st.none(), st.booleans()),
        max_size=60,
    ),
    st.one_of(st.integers(), st.floats(), st.text(max_size=40)),
    st.datetimes(timezones=st.just(UTC)),
)
def test_any_generated_inbound_contact_either_parses_within_bounds_or_is_named(
    attributes: dict[str, Any], order: Any, when: datetime
) -> None:
    """Whatever arrives, the answer is an event inside the contract or a ContractViolation — never
    another exception, and never a value the store or the date arithmetic cannot take."""
    raw = json.dumps(inbound(occurred_at=when.isoformat(), data__attributes=attributes), allow_nan=True)
    try:
        event = parse_event(raw)
    except ContractViolation:
        return
    assert 1970 < event.occurred_at.year < 2099
    for key, value in event.data.attributes.items():  # type: ignore[attr-defined]
        assert not key.startswith("$")
        assert "." not in key
        assert "\x00" not in key
        assert isinstance(value, str)
        assert len(value) <= 500
    policy = json.dumps(inbound(type="queue.policy_saved", data={"queue": "q", "order": order}), allow_nan=True)
    try:
        saved = parse_event(policy)
    except ContractViolation:
        return
    assert math.isfinite(saved.data.order)
    assert abs(saved.data.order) <= 1_000_000


hostile_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=50),
        st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-22T10:15:00Z", "\ud800", "$x"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10) | st.sampled_from(["$a", "a.b"]), inner)
    ),
    max_leaves=30,
)


@given(st.sampled_from(sorted(REGISTRY)), st.dictionaries(st.text(max_size=20), hostile_json, max_size=8))
def test_whatever_data_an_event_carries_it_parses_or_is_a_named_violation(
    event_type: str, data: dict[str, Any]
) -> None:
    """Only ever an event or a ContractViolation naming the problem: never another exception."""
    raw = inbound(type=event_type, data=data)
    reasons = []
    for encoded in (json.dumps(raw, allow_nan=True).encode(), raw):
        try:
            parse_event(encoded)
        except ContractViolation as violation:
            reasons.append(violation.reason)
    assert all(reason.strip() for reason in reasons)
