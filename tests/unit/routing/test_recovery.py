"""Routing's memory is the facts it wrote: a fact another producer put on its topic is skipped, not
applied — unsigned, signed by another writer, or signed by routing's key but not routing's own."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import SecretStr

from frontline.contracts.agents import AgentProfile, Presence
from frontline.contracts.policies import QueuePolicy
from frontline.contracts.routing import AgentState, PolicyChanged, QueuePolicyChanged
from frontline.plumbing.settings import Settings
from frontline.plumbing.signing import EventKey, EventKeys, KeySigner
from services.routing.core.snapshot import AgentSnapshot, PoolSnapshot, take
from services.routing.core.state import PoolState
from services.routing.recovery import (
    SNAPSHOT_PIECE_BYTES,
    Pieces,
    Skipped,
    SnapshotRecord,
    apply_fact,
    snapshot_messages,
)
from services.routing.settings import RoutingSettings
from services.routing.view import RoutingView
from tests.unit.factories import contact_assigned

ROUTING = EventKey(id="routing-1", secret=SecretStr("r" * 40), service="routing")
INTAKE = EventKey(id="intake-1", secret=SecretStr("i" * 40), service="intake")
KEYS = EventKeys([ROUTING, INTAKE], development=False)
NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


@dataclass
class Record:
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "frontline.routing.events"
    partition: int = 0
    offset: int = 7
    key: bytes | None = None


def fact(source: str, key: EventKey | None) -> Record:
    event = contact_assigned("c-never-queued", "ann").model_copy(update={"source": source})
    value = event.to_json()
    return Record(value, KeySigner(key).headers(event, value) if key else [])


def test_a_fact_routing_did_not_write_is_skipped_on_replay_and_counted() -> None:
    pools: dict[str, PoolState] = {}
    skipped = Skipped()
    for forged in (fact("routing", None), fact("routing", INTAKE), fact("desk", ROUTING), fact("desk", ROUTING)):
        assert apply_fact(pools, {}, forged, PoolState, KEYS, skipped) is None
    assert pools == {}
    assert sum(skipped.counts.values()) == 4
    assert skipped.counts["not written by routing: source desk"] == 2


def test_a_fact_routing_wrote_is_applied() -> None:
    pools: dict[str, PoolState] = {}
    event = PolicyChanged.new(
        data=QueuePolicyChanged(policy=QueuePolicy(queue="vip"), policy_version=1),
        tenant="acme",
        source="routing",
        occurred_at=NOW,
    )
    value = event.to_json()
    signed = Record(value, KeySigner(ROUTING).headers(event, value))
    assert apply_fact(pools, {}, signed, PoolState, KEYS, Skipped()) is not None
    assert "vip" in pools["acme"].policies


def big_pool(agents: int) -> PoolSnapshot:
    """A pool of agents whose names do not compress (each profile near its contract's bound)."""
    profiles = [
        AgentSnapshot(
            profile=AgentProfile(agent_id=f"agent-{n}", name=os.urandom(250).hex(), team=os.urandom(250).hex()),
            presence=Presence.AVAILABLE,
            reason=None,
            reported_state=AgentState.AVAILABLE,
            idle_since=NOW,
            wrap_up_until=None,
            missed_offers=0,
            work={},
            offers={},
        )
        for n in range(agents)
    ]
    return take(PoolState("acme"), NOW).model_copy(update={"agents": profiles})


def test_a_snapshot_of_any_size_travels_in_pieces_under_the_limit_and_comes_back_whole() -> None:
    big = SnapshotRecord(facts_offset=41, taken_at=NOW, pool=big_pool(4_000))
    messages = snapshot_messages("acme", big, KeySigner(ROUTING))
    assert len(messages) > 2
    assert all(len(value) <= SNAPSHOT_PIECE_BYTES for _, value, _ in messages)
    pieces = Pieces(KEYS)
    for key, value, headers in messages:
        pieces.add(key, value, headers)
    assert pieces.snapshots() == {"acme": big}


def test_snapshot_pieces_routing_did_not_sign_are_passed_over() -> None:
    snapshot = SnapshotRecord(facts_offset=1, taken_at=NOW, pool=take(PoolState("acme"), NOW))
    pieces = Pieces(KEYS)
    for key, value, headers in snapshot_messages("acme", snapshot, KeySigner(INTAKE)):
        pieces.add(key, value, headers)
    assert pieces.snapshots() == {}


def policy_fact(queue: str) -> PolicyChanged:
    return PolicyChanged.new(
        data=QueuePolicyChanged(policy=QueuePolicy(queue=queue), policy_version=1),
        tenant="acme",
        source="routing",
        occurred_at=NOW,
    )


def test_the_view_reads_the_facts_its_own_worker_committed_as_handed_over_and_parses_the_rest() -> None:
    view = RoutingView(Settings(event_keys=[ROUTING]), RoutingSettings())
    view.written(0, [(7, policy_fact("vip")), (8, policy_fact("gold"))])
    view._apply(Record(b"not even json", offset=7))  # handed over: never parsed
    assert "vip" in view.pool("acme").policies
    event = policy_fact("silver")
    value = event.to_json()
    view._apply(Record(value, KeySigner(ROUTING).headers(event, value), offset=9))  # another writer's: read
    assert "silver" in view.pool("acme").policies
    view.written(0, [(9, policy_fact("late"))])  # a fact the view has read already is not kept
    view._apply(Record(b"not even json", offset=10))
    assert "late" not in view.pool("acme").policies
    assert sum(view._skipped.counts.values()) == 1
