"""A contact center in virtual time around the real routing engine (`services.routing.core.Router`,
no broker, no clock). The events the engine gets are the ones routing gets from Kafka; its facts
drive the simulation: an offer is answered by the agent model (accept or reject), an assigned
contact is handled for the model's handle time, wrap-up runs on routing's own timers, and a
customer whose patience runs out before an agent takes the contact leaves.

`simulate(pool, …)` is the setting of Erlang C and Erlang A (one queue, identical agents,
Poisson arrivals, exponential handle times and patience), against which it is tested
(tests/unit/simulation/test_engine.py); `run(…)` takes any queues, agents and behaviour,
e.g. the demo tenant's (simulation/day.py).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import math
import random
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

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
    Resolution,
    StateRequest,
)
from frontline.contracts.contacts import ContactReceived, ContactReceivedData
from frontline.contracts.policies import CustomerLeaving, CustomerLeft, QueuePolicy, QueuePolicySaved
from frontline.contracts.routing import ContactAbandoned, ContactAssigned, OfferCreated
from services.routing.core.outcomes import Outcomes
from services.routing.core.router import Router

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
TENANT = "sim"


@dataclass(frozen=True)
class Incoming:
    """A contact as routing receives it, when it arrives (s), and how long its customer waits."""

    contact_id: str
    at: float
    data: ContactReceivedData
    patience: float | None = None  # None: waits for ever
    concern: str = "general"


class Behaviour(Protocol):
    """How agents answer offers and handle contacts, and whether a customer comes back."""

    def accepts(self, agent: AgentProfile, contact: Incoming) -> bool: ...

    def handle_seconds(self, agent: AgentProfile, contact: Incoming) -> float: ...

    def completes(self, agent: AgentProfile, contact: Incoming) -> tuple[str, Resolution]: ...

    def matched(self, agent: AgentProfile, contact: Incoming) -> bool: ...

    def comes_back(self, contact: Incoming, resolution: Resolution, at: float) -> Incoming | None:
        """The customer's next contact about the same matter, if the one handled at `at` left it open."""
        ...


@dataclass
class Outcome:
    """What happened to the contacts that arrived in the measured span, in arrival order."""

    waits: list[float] = field(default_factory=list)  # answered contacts' waits
    answered_at: list[float] = field(default_factory=list)  # arrival time of each answered contact
    abandoned_at: list[float] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # contact ids, as waits
    abandoned: list[str] = field(default_factory=list)  # contact ids, as abandoned_at
    handles: list[float] = field(default_factory=list)
    matched: int = 0  # answered by an agent with the skill, the level and the language
    resolved: int = 0
    repeats: int = 0  # contacts that are a customer coming back about a matter left unresolved
    agent_busy: dict[str, float] = field(default_factory=dict)  # handling or wrapping up, s
    seconds: float = 0.0
    agents: int = 0
    learned: Outcomes = field(default_factory=Outcomes)  # what routing learned by the end

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
        return sum(self.agent_busy.values()) / (self.agents * self.seconds)

    def agent_occupancy(self) -> dict[str, float]:
        return {agent: busy / self.seconds for agent, busy in self.agent_busy.items()}


def confidence_interval(values: list[float], z: float = 2.09) -> tuple[float, float]:
    """Mean ± t(0.975, 19)·s/√n for 20 batch means."""
    mean = statistics.fmean(values)
    half = z * statistics.stdev(values) / math.sqrt(len(values))
    return mean - half, mean + half


@dataclass
class _Busy:
    """An agent's time with at least one contact in hand or in wrap-up, from `start` on."""

    start: float
    active: int = 0
    since: float = 0.0
    seconds: float = 0.0

    def take(self, at: float) -> None:
        if self.active == 0:
            self.since = at
        self.active += 1

    def release(self, at: float) -> None:
        self.active -= 1
        if self.active == 0:
            self.seconds += max(0.0, at - max(self.since, self.start))

    def until(self, end: float) -> float:
        open_span = max(0.0, end - max(self.since, self.start)) if self.active else 0.0
        return self.seconds + open_span


def run(
    queues: list[QueuePolicy],
    agents: list[AgentProfile],
    contacts: Iterable[Incoming],
    behaviour: Behaviour,
    *,
    measure_from: float = 0.0,
    learned: Outcomes | None = None,
) -> Outcome:
    """Route `contacts` (in arrival order) to `agents`; measure those arriving from `measure_from` on.
    `learned`: what routing has learned from earlier days (the simulated router starts from it)."""
    router = Router(TENANT)
    if learned is not None:
        router.outcomes = copy.deepcopy(learned)
    now = EPOCH
    for policy in queues:
        router.apply(_event(QueuePolicySaved, policy, now), now)
    profiles = {a.agent_id: a for a in agents}
    for agent in agents:
        router.apply(_event(AgentProfileSaved, agent, now), now)
        router.apply(
            _event(AgentStateRequested, StateRequest(agent_id=agent.agent_id, state=Presence.AVAILABLE), now), now
        )
    wrap_up = {p.queue: p.wrap_up_seconds for p in queues}
    pending: list[tuple[float, int, str, str]] = []  # (virtual s, order, what, contact)
    order = itertools.count()
    incoming: dict[str, Incoming] = {}
    handled_by: dict[str, tuple[str, str]] = {}  # contact → (agent, queue)
    done_at: dict[str, float] = {}  # contact in hand → when its handling ends (later if put aside)
    busy = {a.agent_id: _Busy(measure_from) for a in agents}
    outcome = Outcome(agents=len(agents))
    last = measure_from
    for arrival in contacts:
        incoming[arrival.contact_id] = arrival
        heapq.heappush(pending, (arrival.at, next(order), "arrive", arrival.contact_id))
        last = arrival.at
    while pending:
        due = router.next_due()
        if due is not None and due - EPOCH.timestamp() < pending[0][0]:
            at, what, contact_id = due - EPOCH.timestamp(), "tick", ""
        else:
            at, _, what, contact_id = heapq.heappop(pending)
        now = EPOCH + timedelta(seconds=at)
        contact = incoming.get(contact_id)
        if what == "tick":
            facts = router.tick(now)
        elif what == "arrive" and contact is not None:
            if contact.patience is not None:
                heapq.heappush(pending, (at + contact.patience, next(order), "leave", contact_id))
            facts = router.apply(_received(contact, now), now)
        elif what == "leave":
            facts = router.apply(_event(CustomerLeft, CustomerLeaving(), now, contact_id), now)
        elif what == "handled" and done_at.get(contact_id) != at:
            continue  # put aside for an exclusive contact: it ends later
        elif what == "released":
            busy[handled_by[contact_id][0]].release(at)
            continue
        else:  # handled
            agent_id, queue = handled_by[contact_id]
            del done_at[contact_id]
            assert contact is not None
            disposition, resolution = behaviour.completes(profiles[agent_id], contact)
            done = Handled(agent_id=agent_id, disposition=disposition, resolution=resolution)
            facts = router.apply(_event(ContactHandled, done, now, contact_id), now)
            heapq.heappush(pending, (at + wrap_up.get(queue, 0.0), next(order), "released", contact_id))
            if contact.at >= measure_from and resolution is Resolution.RESOLVED:
                outcome.resolved += 1
            again = behaviour.comes_back(contact, resolution, at)
            if again is not None and again.at <= last:
                incoming[again.contact_id] = again
                heapq.heappush(pending, (again.at, next(order), "arrive", again.contact_id))
                outcome.repeats += again.at >= measure_from
        while facts:
            fact = facts.pop(0)
            data = fact.data
            if fact.kind is OfferCreated:
                accepted = behaviour.accepts(profiles[data.agent_id], incoming[data.contact_id])
                answer = OfferAnswer(offer_id=data.offer_id, agent_id=data.agent_id, accepted=accepted)
                facts += router.apply(_event(OfferAnswered, answer, now), now)
            elif fact.kind is ContactAssigned:
                taken = incoming[data.contact_id]
                agent = profiles[data.agent_id]
                handle = behaviour.handle_seconds(agent, taken)
                if taken.data.channel in agent.exclusive_channels:
                    for held, ends in list(done_at.items()):  # the agent's put-aside work waits for the call
                        if handled_by[held][0] == data.agent_id:
                            done_at[held] = ends + handle
                            heapq.heappush(pending, (ends + handle, next(order), "handled", held))
                handled_by[data.contact_id] = (data.agent_id, data.queue)
                busy[data.agent_id].take(at)
                done_at[data.contact_id] = at + handle
                heapq.heappush(pending, (at + handle, next(order), "handled", data.contact_id))
                if taken.at >= measure_from:
                    outcome.waits.append(at - taken.at)
                    outcome.answered_at.append(taken.at - measure_from)
                    outcome.answered.append(data.contact_id)
                    outcome.handles.append(handle)
                    outcome.matched += behaviour.matched(agent, taken)
            elif fact.kind is ContactAbandoned and incoming[data.contact_id].at >= measure_from:
                outcome.abandoned_at.append(incoming[data.contact_id].at - measure_from)
                outcome.abandoned.append(data.contact_id)
    outcome.seconds = last - measure_from
    outcome.agent_busy = {agent: b.until(last) for agent, b in busy.items()}
    outcome.learned = router.outcomes
    return outcome


# --- Erlang's setting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """One queue, `agents` identical agents, Poisson arrivals, exponential handle times and patience."""

    rate: float  # arrivals per second
    handle: float  # mean handle time, s
    agents: int
    patience: float | None = None  # mean patience, s; None: customers wait for ever


@dataclass(frozen=True)
class _Exponential:
    rng: random.Random
    mean: float

    def accepts(self, agent: AgentProfile, contact: Incoming) -> bool:
        return True

    def handle_seconds(self, agent: AgentProfile, contact: Incoming) -> float:
        return self.rng.expovariate(1 / self.mean)

    def completes(self, agent: AgentProfile, contact: Incoming) -> tuple[str, Resolution]:
        return "done", Resolution.RESOLVED

    def matched(self, agent: AgentProfile, contact: Incoming) -> bool:
        return True

    def comes_back(self, contact: Incoming, resolution: Resolution, at: float) -> Incoming | None:
        return None


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


def simulate(pool: Pool, *, contacts: int, seed: int, warm_up: int = 500) -> Outcome:
    """`contacts` Poisson arrivals to `pool`; the first `warm_up` are not measured."""
    rng = random.Random(seed)
    arrivals: list[Incoming] = []
    t = 0.0
    for n in range(contacts):
        t += rng.expovariate(pool.rate)
        patience = None if pool.patience is None else rng.expovariate(1 / pool.patience)
        customer = RECEIVED.customer.model_copy(update={"customer_id": f"c{n}"})
        arrivals.append(Incoming(f"c{n}", t, RECEIVED.model_copy(update={"customer": customer}), patience))
    queue = QueuePolicy.model_validate({"queue": "general", "wrap_up_seconds": 0})
    agents = [AgentProfile(agent_id=f"a{n}") for n in range(pool.agents)]
    return run([queue], agents, arrivals, _Exponential(rng, pool.handle), measure_from=arrivals[warm_up].at)


def _event(model: type[Event], data: object, at: datetime, contact: str | None = None) -> Event:
    return model.new(data=data, tenant=TENANT, source="simulator", occurred_at=at, contact_id=contact)  # type: ignore[arg-type]


def _received(contact: Incoming, at: datetime) -> Event:
    data = contact.data.model_copy(update={"arrived_at": at})
    return ContactReceived.new(
        data=data, tenant=TENANT, source="simulator", occurred_at=at, contact_id=contact.contact_id
    )
