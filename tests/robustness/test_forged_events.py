"""Events prove their tenant (issue 15): a message forged for another tenant — unsigned, or signed with
one tenant's key for another, or a service's fact written with a tenant's key — is dead-lettered
with the reason and changes nothing, whichever client wrote it. Written here with Kafka's own Java
console producer, a client that shares no code with Frontline, against the real broker; a properly
signed event from the same client is acted on."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from frontline.contracts import Topic, dlq_topic
from frontline.contracts.agents import AgentProfile, AgentProfileSaved
from frontline.contracts.records import CustomerErasureRequested, Erasure
from frontline.contracts.routing import AgentChanged, AgentProfileChanged
from frontline.plumbing.signing import KEY_HEADER, SIGNATURE_HEADER, EventKeys
from tests.conftest import ROOT
from tests.integration.helpers import (
    end_offsets,
    eventually,
    free_port,
    read_until,
    running_service,
    service_environment,
)
from tests.unit.factories import contact_received

KAFKA_LIBS = ROOT / ".local" / "kafka" / "libs"
NOW = datetime.now(UTC)
DEVELOPMENT = EventKeys([], development=True)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def services(settings, tmp_path_factory) -> AsyncIterator[dict[str, str]]:
    logs = tmp_path_factory.mktemp("forged")
    async with AsyncExitStack() as stack:
        urls = {}
        for name in ("records", "routing"):
            port = free_port()
            env = service_environment(settings, port) | {
                "FRONTLINE_KAFKA_GROUP_PREFIX": f"forged-{uuid.uuid4().hex[:6]}"
            }
            env["FRONTLINE_KAFKA_OFFSET_RESET"] = "latest"
            urls[name] = (await stack.enter_async_context(running_service(name, env, port, logs))).url
        yield urls


def console_produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    """Kafka's Java console producer from the broker's own jars: `headers<TAB>key|value` a line."""
    java = shutil.which("java")
    assert java, "Java runs the local broker, so it is here"
    lines = []
    for key, value, headers in messages:
        labelled = [("x-client", b"kafka-console-producer"), *headers]  # the tool needs one header at least
        header_text = ",".join(f"{name}:{content.decode()}" for name, content in labelled)
        assert b"\n" not in value
        lines.append(f"{header_text}\t{key.decode()}|{value.decode()}")
    command = [
        java,
        "-cp",
        f"{KAFKA_LIBS}/*",
        "org.apache.kafka.tools.ConsoleProducer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--reader-property",
        "parse.key=true",
        "--reader-property",
        "key.separator=|",
        "--reader-property",
        "parse.headers=true",
        "--reader-property",
        "ignore.error=false",
    ]
    done = subprocess.run(command, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def signed_as(tenant: str, event) -> list[tuple[str, bytes]]:
    """Headers as the key `dev-tenant:<tenant>` signs them: a real key (the services under test accept
    development keys), used for the wrong tenant where it differs from the event's."""
    return DEVELOPMENT.for_tenant(tenant).headers(event, event.to_json())


async def test_forged_events_from_a_java_client_are_dead_lettered_and_change_nothing(settings, producer, services):
    bootstrap = settings.kafka_bootstrap_servers
    customer, contact_id, agent = (
        f"cust-{uuid.uuid4().hex[:8]}",
        f"c-{uuid.uuid4().hex[:8]}",
        f"a-{uuid.uuid4().hex[:6]}",
    )
    globex = {"Authorization": "Bearer dev-globex-admin"}
    acme = {"Authorization": "Bearer dev-acme-admin"}
    async with httpx.AsyncClient(timeout=10) as http:
        # globex has a customer on record, written by intake (signed with intake's key); re-sent until
        # recorded, since the services' groups start at the end of the topics when they join
        received = contact_received(tenant="globex", contact_id=contact_id, customer={"customer_id": customer})
        timeline = f"{services['records']}/v1/contacts/{contact_id}/timeline"

        async def recorded() -> bool:
            answer = await http.get(timeline, headers=globex)
            if answer.status_code == 200 and str(received.id) in {i["event_id"] for i in answer.json()["items"]}:
                return True
            await producer.publish(received)
            return False

        await eventually(recorded, within=90, what="globex's contact recorded")
        probe = AgentProfileSaved.new(
            data=AgentProfile(agent_id=f"probe-{agent}"), tenant="acme", source="crm", occurred_at=NOW
        )

        async def routing_reads() -> bool:
            if (await http.get(f"{services['routing']}/v1/agents/probe-{agent}", headers=acme)).status_code == 200:
                return True
            await producer.publish(probe)
            return False

        await eventually(routing_reads, within=90, what="routing reading agents' events")

        starts = {
            topic: await end_offsets(bootstrap, dlq_topic(topic))
            for topic in (Topic.RECORDS_EVENTS.value, Topic.AGENTS_EVENTS.value, Topic.ROUTING_EVENTS.value)
        }
        erasure = CustomerErasureRequested.new(
            data=Erasure(customer_id=customer, reason="forged", requested_by="attacker"),
            tenant="globex",
            source="attacker",
            occurred_at=NOW,
        )
        forged_agent = AgentProfileSaved.new(
            data=AgentProfile(agent_id=agent), tenant="globex", source="attacker", occurred_at=NOW
        )
        forged_fact = AgentChanged.new(
            data=AgentProfileChanged(profile=AgentProfile(agent_id=agent)),
            tenant="globex",
            source="routing",
            occurred_at=NOW,
        )
        own_agent = AgentProfileSaved.new(
            data=AgentProfile(agent_id=agent), tenant="acme", source="crm", occurred_at=NOW
        )
        console_produce(
            bootstrap,
            Topic.RECORDS_EVENTS.value,
            [
                (b"globex", erasure.to_json(), []),
                (b"globex", erasure.to_json(), signed_as("acme", erasure)),
            ],
        )
        console_produce(
            bootstrap,
            Topic.AGENTS_EVENTS.value,
            [
                (b"globex", forged_agent.to_json(), signed_as("acme", forged_agent)),
                (b"acme", own_agent.to_json(), signed_as("acme", own_agent)),
            ],
        )
        console_produce(
            bootstrap,
            Topic.ROUTING_EVENTS.value,
            [(b"globex", forged_fact.to_json(), signed_as("globex", forged_fact))],
        )

        expected = {
            Topic.RECORDS_EVENTS.value: {
                f"unsigned: the {KEY_HEADER} and {SIGNATURE_HEADER} headers are missing",
                "key 'dev-tenant:acme' acts for tenant 'acme', not 'globex'",
            },
            Topic.AGENTS_EVENTS.value: {"key 'dev-tenant:acme' acts for tenant 'acme', not 'globex'"},
            Topic.ROUTING_EVENTS.value: {
                "agent.profile_changed is written by the routing service only, not by a tenant's key"
            },
        }
        for topic, reasons in expected.items():
            seen: set[str] = set()

            def found(letter: dict, seen: set[str] = seen, reasons: set[str] = reasons) -> bool:
                seen.add(letter["reason"])
                return reasons <= seen

            await read_until(bootstrap, starts[topic], found, within=90)

        # the properly signed event from the same Java client was acted on ...
        async def own_agent_known() -> bool:
            return (await http.get(f"{services['routing']}/v1/agents/{agent}", headers=acme)).status_code == 200

        await eventually(own_agent_known, within=90, what="acme's agent from the Java client")
        # ... and nothing forged was: globex has no such agent, its customer is not erased
        assert (await http.get(f"{services['routing']}/v1/agents/{agent}", headers=globex)).status_code == 404
        items = (await http.get(timeline, headers=globex)).json()["items"]
        [kept] = [item for item in items if item["event_id"] == str(received.id)]
        assert kept["withheld"] is None
        assert kept["event"]["data"]["customer"]["customer_id"] == customer


@pytest.mark.parametrize("secret_length", [31])
def test_a_signing_key_too_short_to_resist_guessing_is_refused(secret_length: int) -> None:
    from pydantic import ValidationError

    from frontline.plumbing.signing import EventKey

    with pytest.raises(ValidationError):
        EventKey(id="k", secret="x" * secret_length, tenant="acme")
    assert json.loads(EventKey(id="k", secret="x" * 32, tenant="acme").model_dump_json())["secret"] == "**********"
