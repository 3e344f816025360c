"""Routing's memory is the facts it wrote: a fact another producer put on its topic is skipped, not applied."""

from services.routing.core.state import PoolState
from services.routing.recovery import apply_fact
from tests.unit.factories import contact_assigned


def test_a_fact_routing_did_not_write_is_skipped_on_replay() -> None:
    pools: dict[str, PoolState] = {}
    forged = contact_assigned("c-never-queued", "ann")  # written by someone else (source "desk")
    assert apply_fact(pools, {}, forged.to_json(), 7, PoolState) is None
    assert pools == {}
