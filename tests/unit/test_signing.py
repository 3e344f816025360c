"""Who may write what: a tenant's key acts for its tenant on what outside systems may write; a
service's key acts for any tenant on what its service owns; nothing unsigned or tampered counts."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from frontline.contracts import REGISTRY
from frontline.plumbing.signing import EventKey, EventKeys, KeySigner, WriterSigner
from tests.unit.factories import agent_saved, contact_received

SECRET = SecretStr("s" * 40)
ACME = EventKey(id="acme-crm", secret=SECRET, tenant="acme")
ROUTING = EventKey(id="routing-1", secret=SecretStr("r" * 40), service="routing")
PRODUCTION = EventKeys([ACME, ROUTING], development=False)


def check(keys: EventKeys, key: EventKey, event, topic: str | None = None) -> str | None:
    value = event.to_json()
    headers = KeySigner(key).headers(event, value)
    return keys.refusal(event, value, headers, topic or REGISTRY[event.type].topic.value)


def test_a_tenant_key_writes_what_outside_systems_may_for_its_own_tenant() -> None:
    assert check(PRODUCTION, ACME, agent_saved("ann", tenant="acme")) is None
    assert "acts for tenant 'acme', not 'globex'" in check(PRODUCTION, ACME, agent_saved("ann", tenant="globex"))


def test_a_tenant_key_cannot_write_a_services_facts() -> None:
    assert "written by the intake service only" in check(PRODUCTION, ACME, contact_received(tenant="acme"))


def test_a_service_key_writes_only_what_its_service_owns_for_any_tenant() -> None:
    assert check(PRODUCTION, ROUTING, agent_saved("ann", tenant="globex")) is None
    assert "may not write contact.received" in check(PRODUCTION, ROUTING, contact_received())


def test_unsigned_tampered_and_unknown_messages_are_refused() -> None:
    event = agent_saved("ann", tenant="acme")
    value = event.to_json()
    assert "unsigned" in PRODUCTION.refusal(event, value, [], "frontline.agents.events")
    headers = KeySigner(ACME).headers(event, value)
    tampered = value.replace(b"ann", b"bob")
    assert "does not match" in PRODUCTION.refusal(event, tampered, headers, "frontline.agents.events")
    stranger = EventKey(id="stranger", secret=SECRET, tenant="acme")
    assert "unknown key" in check(PRODUCTION, stranger, event)


def test_an_event_on_another_frontline_topic_is_refused() -> None:
    refusal = check(PRODUCTION, ACME, agent_saved("ann", tenant="acme"), topic="frontline.routing.events")
    assert refusal == "agent.profile_saved events belong on frontline.agents.events, not frontline.routing.events"


def test_development_keys_exist_only_outside_production() -> None:
    development = EventKeys([], development=True)
    event = agent_saved("ann", tenant="anyone")
    value = event.to_json()
    headers = WriterSigner(development).headers(event, value)
    assert development.refusal(event, value, headers, "frontline.agents.events") is None
    assert "unknown key 'dev-tenant:anyone'" in PRODUCTION.refusal(event, value, headers, "frontline.agents.events")
    with pytest.raises(LookupError):
        PRODUCTION.for_service("upsell")
    assert PRODUCTION.for_service("routing").key == ROUTING
