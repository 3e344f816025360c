"""Properties of the routing engine over any sequence of requests (hypothesis)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from frontline.contracts.routing import (
    ContactAbandoned,
    ContactAssigned,
    ContactCompleted,
    ContactQueued,
    OfferCreated,
)
from services.routing.core.contacts import Stage
from services.routing.core.errors import RoutingRefused
from tests.unit.factories import (
    agent_saved,
    contact_handled,
    contact_received,
    customer_left,
    offer_answered,
    policy_saved,
    state_requested,
    transfer_requested,
    wrap_up_ended,
)
from tests.unit.routing.desk import Desk, check_invariants, snapshot

AGENTS = ["ann", "bob", "cid", "dee"]
CHANNELS = ["voice", "chat", "email"]

profiles = st.fixed_dictionaries(
    {
        "skills": st.lists(
            st.fixed_dictionaries({"skill": st.sampled_from(["billing", "tech"]), "proficiency": st.integers(1, 5)}),
            max_size=2,
            unique_by=lambda level: level["skill"],
        ),
        "languages": st.lists(st.sampled_from(["en", "de"]), max_size=2, unique=True),
        "capacity": st.fixed_dictionaries(
            {"voice": st.integers(0, 1), "chat": st.integers(0, 3), "email": st.integers(0, 5)}
        ),
        "tier": st.sampled_from(["agent", "agent", "supervisor"]),
        "interruptible_channels": st.lists(st.sampled_from(["chat", "email"]), max_size=2, unique=True),
    }
)

actions = st.one_of(
    st.tuples(
        st.just("arrive"),
        st.sampled_from(CHANNELS),
        st.sampled_from(["billing", "tech"]),
        st.integers(1, 5),
        st.integers(0, 100),
        st.booleans(),
        st.sampled_from(["en", "de"]),
    ),
    st.tuples(st.just("answer"), st.sampled_from(AGENTS), st.booleans()),
    st.tuples(st.just("handle"), st.sampled_from(AGENTS)),
    st.tuples(st.just("transfer"), st.sampled_from(AGENTS), st.sampled_from([*AGENTS, "general", "tech"])),
    st.tuples(st.just("presence"), st.sampled_from(AGENTS), st.sampled_from(["available", "away", "offline"])),
    st.tuples(st.just("leave"), st.integers(0, 30)),
    st.tuples(st.just("wrap_up_ended"), st.sampled_from(AGENTS)),
    st.tuples(st.just("wait"), st.floats(0.5, 120)),
)


def _open_pool(agent_profiles: list[dict[str, Any]]) -> Desk:
    desk = Desk()
    desk.do(policy_saved("general", offer_timeout_seconds=10, wrap_up_seconds=5, max_missed_offers=2))
    desk.do(policy_saved("tech", concerns=["tech"], order=1, overflow={"to_queue": "general", "after_seconds": 90}))
    for agent_id, profile in zip(AGENTS, agent_profiles, strict=True):
        desk.do(agent_saved(agent_id, **profile))
        desk.do(state_requested(agent_id))
    return desk


def _act(desk: Desk, action: tuple[Any, ...], arrivals: list[str]) -> None:
    router = desk.router
    match action:
        case ("arrive", channel, skill, level, priority, angry, language):
            contact_id = f"c-{len(arrivals)}"
            arrivals.append(contact_id)
            desk.do(
                contact_received(
                    contact_id=contact_id,
                    channel=channel,
                    concern={"code": skill, "confidence": 0.9},
                    required_skills=[{"skill": skill, "min_proficiency": level}],
                    priority=priority,
                    sentiment={"score": -0.9 if angry else 0.1, "angry": angry},
                    language={"code": language, "confidence": 0.9, "method": "detected"},
                    customer={"customer_id": f"cust-{len(arrivals) % 3}"},
                )
            )
        case ("answer", agent_id, accepted):
            for offer_id in list(router.agents[agent_id].offers)[:1]:
                desk.do(offer_answered(offer_id, agent_id, accepted=accepted))
        case ("handle", agent_id):
            for contact_id in list(router.agents[agent_id].work)[:1]:
                desk.do(contact_handled(contact_id, agent_id))
        case ("transfer", agent_id, target):
            for contact_id in list(router.agents[agent_id].work)[:1]:
                where = {"to_agent": target} if target in AGENTS else {"to_queue": target}
                desk.do(transfer_requested(contact_id, agent_id, **where))
        case ("presence", agent_id, presence):
            desk.do(state_requested(agent_id, presence))
        case ("leave", index):
            if index < len(arrivals):
                desk.do(customer_left(arrivals[index]))
        case ("wrap_up_ended", agent_id):
            desk.do(wrap_up_ended(agent_id))
        case ("wait", seconds):
            desk.wait(seconds)


_IDLE = {"skills": [], "languages": [], "capacity": {"voice": 0, "chat": 0, "email": 0}, "tier": "agent"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agent_profiles=st.lists(profiles, min_size=4, max_size=4), script=st.lists(actions, max_size=60))
@example(  # found by hypothesis: a rejected offer freed room on a busy agent without reindexing her
    agent_profiles=[
        {"skills": [{"skill": "tech", "proficiency": 1}], "languages": [], "capacity": {"chat": 2}, "tier": "agent"},
        _IDLE,
        _IDLE,
        _IDLE,
    ],
    script=[
        ("arrive", "chat", "tech", 1, 0, False, "en"),
        ("arrive", "chat", "tech", 1, 0, False, "en"),
        ("answer", "ann", False),
    ],
)
def test_no_request_sequence_breaks_capacity_doubles_an_assignment_or_strands_an_agent(
    agent_profiles: list[dict[str, Any]], script: list[tuple[Any, ...]]
) -> None:
    desk = _open_pool(agent_profiles)
    arrivals: list[str] = []
    for action in script:
        before = snapshot(desk.router, now=desk.now)
        try:
            _act(desk, action, arrivals)
        except RoutingRefused:
            assert snapshot(desk.router, now=desk.now) == before, "a refused request changed the pool"
        check_invariants(desk.router)
        for contact in desk.router.contacts.values():
            if contact.stage is Stage.OFFERED:
                offer = next(o for o in desk.of(OfferCreated) if o.offer_id == contact.offer_id)
                assert offer.expires_at > desk.now, "an offer outlived its deadline: its agent is stuck reserved"
    queued = Counter(q.contact_id for q in desk.of(ContactQueued))
    assigned = Counter(a.contact_id for a in desk.of(ContactAssigned))
    assert all(assigned[c] <= queued[c] for c in assigned), "assigned more often than queued"
    finished = {f.contact_id for f in desk.of(ContactCompleted)} | {f.contact_id for f in desk.of(ContactAbandoned)}
    assert set(arrivals) == set(desk.router.contacts) | finished, "a contact got lost"
    assert snapshot(desk.replayed(), now=desk.now) == snapshot(desk.router, now=desk.now)
    assert snapshot(desk.restored(), now=desk.now) == snapshot(desk.router, now=desk.now)


LOW_MAX_WAIT = 300.0
HANDLE_SECONDS = 40.0
WRAP_UP_SECONDS = 5.0
TICK_SECONDS = 1.0


@settings(max_examples=40, deadline=None)
@given(
    overload=st.floats(1.5, 4.0),  # at 1.2 a short horizon leaves a backlog of ~9, too few to call it overloaded
    low_arrivals=st.lists(st.integers(0, 3000), min_size=1, max_size=5, unique=True),
    horizon=st.integers(2000, 5000),
)
def test_a_lower_class_never_waits_past_its_maximum_while_a_higher_class_is_overloaded(
    overload: float, low_arrivals: list[int], horizon: int
) -> None:
    """High-priority contacts arrive `overload` times faster than the one agent can serve them;
    every low-priority contact is still offered within its class's maximum wait plus one service."""
    desk = Desk()
    classes = [
        {"name": "high", "min_priority": 50, "max_wait_seconds": 60},
        {"name": "low", "min_priority": 0, "max_wait_seconds": LOW_MAX_WAIT},
    ]
    desk.do(policy_saved("general", service_classes=classes, wrap_up_seconds=WRAP_UP_SECONDS))
    desk.do(agent_saved("ann"))
    desk.do(state_requested("ann"))
    spacing = 3 * (HANDLE_SECONDS + WRAP_UP_SECONDS)
    low_times = sorted({round(t / spacing) * spacing for t in low_arrivals})
    high_every = (HANDLE_SECONDS + WRAP_UP_SECONDS) / overload
    next_high, busy_until, arrived, offered = 0.0, None, {}, {}
    for second in range(horizon):
        if second in low_times:
            desk.do(_contact(f"low-{second}", priority=10, channel="voice"))
            arrived[f"low-{second}"] = second
        while next_high <= second:
            desk.do(_contact(f"high-{next_high:.2f}", priority=90, channel="voice"))
            next_high += high_every
        if busy_until is not None and second >= busy_until:
            desk.do(contact_handled(next(iter(desk.router.agents["ann"].work)), "ann"))
            busy_until = None
        for offer in list(desk.router.agents["ann"].offers):
            contact_id = desk.router.offers[offer]
            offered.setdefault(contact_id, second)
            desk.do(offer_answered(offer, "ann"))
            busy_until = second + HANDLE_SECONDS
        desk.wait(TICK_SECONDS)
    bound = LOW_MAX_WAIT + HANDLE_SECONDS + WRAP_UP_SECONDS + 2 * TICK_SECONDS
    for contact_id, at in arrived.items():
        waited = offered.get(contact_id, horizon) - at
        if at + bound < horizon:
            assert waited <= bound, f"{contact_id} waited {waited}s, more than {bound}s"
    assert len(desk.router.contacts) > 10, "the high class was not overloaded"


def _contact(contact_id: str, *, priority: int, channel: str) -> Any:
    return contact_received(
        contact_id=contact_id, priority=priority, channel=channel, customer={"customer_id": contact_id}
    )
