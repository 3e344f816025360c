"""A contact center in virtual time around the real routing engine (`services.routing.core.Router`,
no broker, no clock): customers arrive, agents take every offer at once and handle for an
exponential time, customers whose patience ends before an agent takes them leave. The events
the engine gets are the ones routing gets from Kafka; its facts drive the simulation.

This first version models one pool of identical agents on the catch-all queue — the setting of
Erlang C and Erlang A, against which it is tested (tests/unit/simulation/test_engine.py).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from frontline.contracts import Event
from frontline.contracts.agents import (
    AgentProfile,
    AgentProfileSaved,
    AgentStateRequested,
    ContactHandled,
    Handled,
    OfferAnswer,
    OfferAnswered,
    Presence,
    StateRequest,
)
from frontline.contracts.contacts import ContactReceived, ContactReceivedData
from frontline.contracts.policies import CustomerLeaving, CustomerLeft, QueuePolicy, QueuePolicySaved
from frontline.contracts.routing import ContactAbandoned, ContactAssigned, OfferCreated
from services.routing.core.router import Router

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
TENANT = "sim"


@dataclass(frozen=True)
class Pool:
    """One queue, `agents` identical agents, Poisson arrivals, exponential handle times and patience."""

    rate: float  # arrivals per second
    handle: float  # mean handle time, s
    agents: int
    patience: float | None = None  # mean patience, s; None: customers wait for ever


@dataclass
class Outcome:
    """What happened to the contacts that arrived after the warm-up, in arrival order."""

    waits: list[float] = field(default_factory=list)  # answered contacts' waits
    answered_at: list[float] = field(default_factory=list)  # arrival time of each answered contact
    abandoned_at: list[float] = field(default_factory=list)
    busy_seconds: float = 0.0
    seconds: float = 0.0
    agents: int = 0

    def batches(self, metric: Callable[[list[float], int], float], count: int = 20) -> list[float]:
        """`metric(waits, offered)` over `count` equal spans of arrival time: batch means for a CI."""
        span = self.seconds / count
        out = []
        for b in range(count):
            lo, hi = b * span, (b + 1) * span
            waits = [w for w, at in zip(self.waits, self.answered_at, strict=True) if lo <= at < hi]
            abandoned = sum(1 for at in self.abandoned_at if lo <= at < hi)
            out.append(metric(waits, len(waits) + abandoned))
        return out

    @property
    def occupancy(self) -> float:
        return self.busy_seconds / (self.agents * self.seconds)


def confidence_interval(values: list[float], z: float = 2.09) -> tuple[float, float]:
    """Mean ± t(0.975, 19)·s/√n for 20 batch means."""
    mean = statistics.fmean(values)
    half = z * statistics.stdev(values) / math.sqrt(len(values))
    return mean - half, mean + half


def simulate(pool: Pool, *, contacts: int, seed: int, warm_up: int = 500) -> Outcome:
    rng = random.Random(seed)
    router = Router(TENANT)
    now = EPOCH
    queue = QueuePolicy.model_validate({"queue": "general", "wrap_up_seconds": 0})
    router.apply(_event(QueuePolicySaved, queue, now), now)
    for n in range(pool.agents):
        agent = f"a{n}"
        router.apply(_event(AgentProfileSaved, AgentProfile(agent_id=agent), now), now)
        router.apply(_event(AgentStateRequested, StateRequest(agent_id=agent, state=Presence.AVAILABLE), now), now)
    pending: list[tuple[float, int, str, str]] = []  # (virtual seconds, order, kind, contact)
    order = itertools.count()
    arrived: dict[str, float] = {}
    outcome = Outcome(agents=pool.agents)
    started = 0.0
    t = 0.0
    for n in range(contacts):
        t += rng.expovariate(pool.rate)
        heapq.heappush(pending, (t, next(order), "arrive", f"c{n}"))
    while pending:
        at, _, kind, contact = heapq.heappop(pending)
        now = EPOCH + timedelta(seconds=at)
        due = router.next_due()
        facts = router.tick(now) if due is not None and due <= now.timestamp() else []
        if kind == "arrive":
            arrived[contact] = at
            if contact == f"c{warm_up}":
                started = at
            if pool.patience is not None:
                heapq.heappush(pending, (at + rng.expovariate(1 / pool.patience), next(order), "leave", contact))
            facts += router.apply(_received(contact, now), now)
        elif kind == "leave":
            facts += router.apply(_event(CustomerLeft, CustomerLeaving(), now, contact), now)
        else:  # handled
            facts += router.apply(
                _event(ContactHandled, Handled(agent_id=kind[8:], disposition="done"), now, contact), now
            )
        while facts:
            fact = facts.pop(0)
            contact_id: str = getattr(fact.data, "contact_id", None) or ""
            measured = contact_id != "" and int(contact_id[1:]) >= warm_up
            if fact.kind is OfferCreated:
                answer = OfferAnswer(offer_id=fact.data.offer_id, agent_id=fact.data.agent_id, accepted=True)
                facts += router.apply(_event(OfferAnswered, answer, now), now)
            elif fact.kind is ContactAssigned:
                handle = rng.expovariate(1 / pool.handle)
                heapq.heappush(pending, (at + handle, next(order), f"handled:{fact.data.agent_id}", contact_id))
                if measured:
                    outcome.waits.append(at - arrived[contact_id])
                    outcome.answered_at.append(arrived[contact_id])
                    outcome.busy_seconds += handle
            elif fact.kind is ContactAbandoned and measured:
                outcome.abandoned_at.append(arrived[contact_id])
    outcome.seconds = t - started
    outcome.answered_at = [a - started for a in outcome.answered_at]
    outcome.abandoned_at = [a - started for a in outcome.abandoned_at]
    return outcome


def _event(model: type[Event], data: object, at: datetime, contact: str | None = None) -> Event:
    return model.new(data=data, tenant=TENANT, source="simulator", occurred_at=at, contact_id=contact)  # type: ignore[arg-type]


RECEIVED = ContactReceivedData.model_validate(
    {
        "channel": "voice",
        "customer": {"customer_id": "sim"},
        "language": {"code": "en", "confidence": 1.0, "method": "default"},
        "concern": {"code": "general", "confidence": 1.0},
        "priority": 40,
        "sentiment": {"score": 0.0, "angry": False},
    }
)


def _received(contact: str, at: datetime) -> Event:
    data = RECEIVED.model_copy(
        update={"customer": RECEIVED.customer.model_copy(update={"customer_id": contact}), "arrived_at": at}
    )
    return ContactReceived.new(data=data, tenant=TENANT, source="simulator", occurred_at=at, contact_id=contact)
